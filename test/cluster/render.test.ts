/**
 * `deploy --render DIR` against the real kube-apiserver: the rendered manifests are the
 * objects the live deploy applies (each rendered field present with the same value in the
 * live object; the server only adds fields), and nothing changes while rendering.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runDeploy } from '../../deploy/run';
import { runUndeploy } from '../../deploy/undeploy';
import { makeCertificates } from '../../tls/certificates';
import { certificateHosts, DEFAULT_NAMESPACE } from '../../deploy/plan';
import { describeRef, refOf, type JsonObject } from '../../kube-api/client';
import { bundleWebhook, recordingUI, simulatedReadiness, snapshot, startCluster, type TestCluster } from './harness';
import { ADD_LABEL, REQUIRE_TEAM } from './fixtures';

let cluster: TestCluster;
let bundle: string;
let pristine: string[];

before(async () => {
  cluster = startCluster();
  bundle = await bundleWebhook();
  pristine = await snapshot(cluster.client);
});

after(() => cluster?.stop());

/** Every field of `want` is in `got` with the same value (the server adds defaults and metadata). */
function missingFields(want: unknown, got: unknown, path = ''): string[] {
  if (want === null || typeof want !== 'object') return want === got ? [] : [`${path}: rendered ${JSON.stringify(want)}, live ${JSON.stringify(got)}`];
  if (Array.isArray(want)) {
    if (!Array.isArray(got) || got.length !== want.length) return [`${path}: rendered ${want.length} item(s), live ${JSON.stringify(got)?.slice(0, 200)}`];
    return want.flatMap((w, i) => missingFields(w, got[i], `${path}[${i}]`));
  }
  if (got === null || typeof got !== 'object') return [`${path}: missing in the live object`];
  return Object.entries(want as JsonObject).flatMap(([k, v]) => missingFields(v, (got as JsonObject)[k], `${path}.${k}`));
}

test('render writes exactly what the live deploy applies, and the private key only when asked', async () => {
  const code = readFileSync(bundle);
  const certs = makeCertificates({ hosts: certificateHosts('cluster', DEFAULT_NAMESPACE) });
  const request = { client: cluster.client, mode: 'cluster' as const, policies: [REQUIRE_TEAM, ADD_LABEL], webhookCode: code, certs, readiness: simulatedReadiness(), smokeCheck: false };

  const plain = mkdtempSync(join(tmpdir(), 'ks-render-'));
  const ui = recordingUI();
  const r = await runDeploy({ ...request, ui, render: { dir: plain } });
  assert.equal(r.outcome, 'rendered', r.error);
  assert.equal(ui.confirmations.length, 0, 'rendering asks nothing and changes nothing');
  assert.deepEqual(await snapshot(cluster.client), pristine);
  assert.ok(r.rendered!.omitted.some((o) => o.includes('Secret kyverno-studio/')), r.rendered!.omitted.join('\n'));
  for (const f of r.rendered!.files) assert.doesNotMatch(readFileSync(join(plain, f), 'utf8'), /PRIVATE KEY|^\s*tls\.key:/m, f);
  assert.deepEqual(parse(readFileSync(join(plain, 'kustomization.yaml'), 'utf8')).resources, r.rendered!.files);

  const full = mkdtempSync(join(tmpdir(), 'ks-render-secrets-'));
  const withSecrets = await runDeploy({ ...request, ui: recordingUI(), render: { dir: full, secrets: true } });
  assert.equal(withSecrets.outcome, 'rendered', withSecrets.error);
  assert.deepEqual(withSecrets.rendered!.omitted, []);
  const rendered = readdirSync(full).filter((f) => f !== 'kustomization.yaml').sort().map((f) => parse(readFileSync(join(full, f), 'utf8')) as JsonObject);
  const kinds = new Set(rendered.map((o) => o.kind));
  for (const k of ['Namespace', 'CustomResourceDefinition', 'ServiceAccount', 'Secret', 'ConfigMap', 'Deployment', 'Service', 'PodDisruptionBudget', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration', 'ClusterPolicy']) {
    assert.ok(kinds.has(k), `rendered a ${k}`);
  }

  const live = await runDeploy({ ...request, ui: recordingUI() });
  try {
    assert.equal(live.outcome, 'deployed', live.error);
    const applied = [...live.created, ...live.updated].map(describeRef).sort();
    assert.deepEqual(rendered.map((o) => describeRef(refOf(o))).sort(), applied, 'the same objects');
    for (const want of rendered) {
      const got = await cluster.client.get(refOf(want));
      assert.ok(got, `${describeRef(refOf(want))} exists`);
      assert.deepEqual(missingFields(want, got), [], describeRef(refOf(want)));
    }
  } finally {
    const u = await runUndeploy({ client: cluster.client, ui: recordingUI(), namespaceTimeoutMs: 60_000 });
    assert.equal(u.outcome, 'undeployed', u.error);
  }
});

test('RBAC follows the served policies: widened by a namespaced generate Policy (a Role there), narrowed when it is gone', async () => {
  const code = readFileSync(bundle);
  const rbacApi = 'rbac.authorization.k8s.io/v1';
  const request = { client: cluster.client, mode: 'cluster' as const, webhookCode: code, readiness: simulatedReadiness(), smokeCheck: false };
  const roleRef = { apiVersion: rbacApi, kind: 'Role', name: 'kyverno-studio:kyverno-studio-webhook', namespace: 'default' };
  const clusterRules = async () => (await cluster.client.get({ apiVersion: rbacApi, kind: 'ClusterRole', name: 'kyverno-studio:kyverno-studio-webhook' }))!.rules as JsonObject[];
  const generator: JsonObject = {
    apiVersion: 'kyverno.io/v1', kind: 'Policy', metadata: { name: 'team-secret', namespace: 'default' },
    spec: { rules: [{ name: 'g', match: { any: [{ resources: { kinds: ['ConfigMap'] } }] }, generate: { apiVersion: 'v1', kind: 'Secret', name: 'generated', namespace: 'default', data: { data: {} } } }] },
  };
  try {
    const first = await runDeploy({ ...request, ui: recordingUI(), policies: [REQUIRE_TEAM] });
    assert.equal(first.outcome, 'deployed', first.error);
    const narrow = await clusterRules();
    assert.ok(!narrow.some((r) => (r.resources as string[]).includes('*')), 'no */* read');
    assert.ok(!narrow.some((r) => (r.resources as string[]).includes('secrets')), 'no Secret access');
    assert.ok(narrow.some((r) => (r.resources as string[]).includes('configmaps')), 'reads what the policy matches');
    assert.equal(await cluster.client.get(roleRef), undefined);

    const ui = recordingUI();
    const wider = await runDeploy({ ...request, ui, policies: [generator] });
    assert.equal(wider.outcome, 'deployed', wider.error);
    const role = await cluster.client.get(roleRef);
    assert.ok(role, 'a Role in the Policy namespace');
    assert.ok((role!.rules as JsonObject[]).some((r) => (r.resources as string[]).includes('secrets') && (r.verbs as string[]).includes('create')));
    assert.ok(!(await clusterRules()).some((r) => (r.resources as string[]).includes('secrets')), 'no cluster-wide write for a namespaced Policy');
    assert.ok((await clusterRules()).some((r) => (r.resources as string[]).includes('configmaps')), 'the installed ClusterPolicy still gets its reads');
    assert.ok(ui.lines.some((l) => /lacks Role default: .*secrets/.test(l)), `the missing permission is named:\n${ui.lines.join('\n')}`);

    await cluster.client.delete({ apiVersion: 'kyverno.io/v1', kind: 'Policy', name: 'team-secret', namespace: 'default' });
    const again = await runDeploy({ ...request, ui: recordingUI(), policies: [REQUIRE_TEAM] });
    assert.equal(again.outcome, 'deployed', again.error);
    assert.equal(await cluster.client.get(roleRef), undefined, 'narrowed: the Role went away with the Policy');
  } finally {
    const u = await runUndeploy({ client: cluster.client, ui: recordingUI(), namespaceTimeoutMs: 60_000 });
    assert.equal(u.outcome, 'undeployed', u.error);
  }
  assert.deepEqual(await snapshot(cluster.client), pristine);
});
