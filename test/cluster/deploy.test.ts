/**
 * deploy/undeploy against a real kube-apiserver 1.20 (see harness.ts). Pods never run there
 * (no kubelet): cluster-mode readiness is simulated by writing the Deployment's status, and
 * the cluster-mode webhook cannot answer, so local mode (clientConfig.url to a webhook on
 * this machine) carries the admission tests.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { runDeploy } from '../../deploy/run';
import { runUndeploy } from '../../deploy/undeploy';
import { KubeError, type JsonObject } from '../../kube-api/client';
import { MUTATING_CONFIG, SERVICE_NAME, VALIDATING_CONFIG, WEBHOOK_NAME } from '../../deploy/plan';
import { bundleCli, bundleWebhook, kubectl, recordingUI, simulatedReadiness, snapshot, startCluster, type TestCluster } from './harness';
import { ADD_LABEL, AUDIT_OWNER, REQUIRE_TEAM, configMap, startLocalWebhook, waitFor, type LocalWebhook } from './fixtures';
import { makeCertificates, trustBundle } from '../../tls/certificates';
import { webhookConfigurations } from '../../webhook/configurations';
import { classicWebhookNeeds } from '../../webhook/rules';
import { knownKindTable } from '../../engine/kube';

let cluster: TestCluster;
let bundle: string;
let local: LocalWebhook;
let pristine: string[];

before(async () => {
  cluster = startCluster();
  bundle = await bundleWebhook();
  local = await startLocalWebhook(bundle, [REQUIRE_TEAM, AUDIT_OWNER, ADD_LABEL]);
  pristine = await snapshot(cluster.client);
});

after(async () => {
  await local?.close();
  cluster?.stop();
});

const undeploy = () => runUndeploy({ client: cluster.client, ui: recordingUI(), namespaceTimeoutMs: 60_000 });

test('dry run: reports what would be created and changes nothing', async () => {
  const ui = recordingUI();
  const r = await runDeploy({ client: cluster.client, ui, mode: 'local', policies: [REQUIRE_TEAM], localUrl: local.url, certs: local.certs, dryRunOnly: true });
  assert.equal(r.outcome, 'dry-run', r.error);
  assert.equal(ui.confirmations.length, 0, 'a dry run never asks');
  const described = r.changes.map((c) => `${c.kind} ${c.ref.kind} ${c.ref.name}`);
  assert.ok(described.includes('create CustomResourceDefinition clusterpolicies.kyverno.io'), described.join('\n'));
  assert.ok(described.includes(`create ValidatingWebhookConfiguration ${VALIDATING_CONFIG}`));
  assert.ok(described.includes('create ClusterPolicy require-team-label'));
  assert.ok(ui.lines.some((l) => l.includes('context:  local-test')), 'the target is shown first');
  assert.deepEqual(await snapshot(cluster.client), pristine);
});

test('a declined confirmation changes nothing and names the context', async () => {
  const ui = recordingUI(false);
  const r = await runDeploy({ client: cluster.client, ui, mode: 'local', policies: [REQUIRE_TEAM], localUrl: local.url, certs: local.certs });
  assert.equal(r.outcome, 'cancelled');
  assert.equal(ui.confirmations[0].context, 'local-test');
  assert.match(ui.confirmations[0].summary, /context "local-test"/);
  assert.deepEqual(await snapshot(cluster.client), pristine);
});

test('local mode: the API server calls our webhook by URL; deny, audit-admit and mutate work; undeploy restores the cluster', async () => {
  const ui = recordingUI();
  const r = await runDeploy({ client: cluster.client, ui, mode: 'local', policies: [REQUIRE_TEAM, AUDIT_OWNER, ADD_LABEL], localUrl: local.url, certs: local.certs });
  try {
    await localModeChecks(r);
  } finally {
    await undeploy();
  }
  assert.deepEqual(await snapshot(cluster.client), pristine);
});

async function localModeChecks(r: Awaited<ReturnType<typeof runDeploy>>): Promise<void> {
  assert.equal(r.outcome, 'deployed', r.error);
  assert.match(r.smoke ?? '', /require-team-label/, 'the smoke check saw our denial');
  const vwc = await cluster.client.get({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', name: VALIDATING_CONFIG });
  const hook = ((vwc!.webhooks as JsonObject[])[0]) as JsonObject;
  assert.equal((hook.clientConfig as JsonObject).url, `${local.url}/validate/fail`);
  assert.deepEqual((hook.rules as JsonObject[]).flatMap((x) => x.resources as string[]), ['configmaps'], 'only kinds some policy matches');
  assert.equal(hook.sideEffects, 'NoneOnDryRun', "Kyverno's with admission reports on");
  assert.equal(hook.matchPolicy, 'Equivalent');

  await assert.rejects(cluster.client.create(configMap('no-team')), (e: KubeError) => {
    assert.equal(e.status, 403);
    assert.match(e.message, /require-team-label/);
    assert.match(e.message, /label ''team'' is required/, 'Kyverno quotes the message as a YAML scalar');
    return true;
  });
  const created = await cluster.client.create(configMap('with-team', { team: 'a' }));
  assert.equal(((created.metadata as JsonObject).labels as JsonObject).stamped, 'by-kyverno-studio', 'the mutating webhook patched it');
  assert.ok(await cluster.client.delete({ apiVersion: 'v1', kind: 'ConfigMap', name: 'with-team', namespace: 'default' }));

  const second = await runDeploy({ client: cluster.client, ui: recordingUI(), mode: 'local', policies: [REQUIRE_TEAM, AUDIT_OWNER, ADD_LABEL], localUrl: local.url, certs: local.certs });
  assert.equal(second.outcome, 'deployed', second.error);
  assert.deepEqual(second.changes.filter((c) => c.kind !== 'unchanged').map((c) => `${c.kind} ${c.ref.name}`), [], 'a second deploy is idempotent');
  assert.deepEqual(second.created, []);

  const u = await undeploy();
  assert.equal(u.outcome, 'undeployed', u.error);
  assert.equal(u.deleted[0].kind, 'ValidatingWebhookConfiguration', 'webhook configurations go first');
  assert.equal(u.deleted[1].kind, 'MutatingWebhookConfiguration');
  assert.deepEqual(await snapshot(cluster.client), pristine);
  await cluster.client.create(configMap('after-undeploy'));
  await cluster.client.delete({ apiVersion: 'v1', kind: 'ConfigMap', name: 'after-undeploy', namespace: 'default' });
}

const REQUIRE_OWNER: JsonObject = {
  apiVersion: 'policies.kyverno.io/v1beta1',
  kind: 'ValidatingPolicy',
  metadata: { name: 'require-owner-label' },
  spec: {
    validationActions: ['Deny'],
    matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['configmaps'] }] },
    validations: [{ expression: "has(object.metadata.labels) && 'owner' in object.metadata.labels", message: 'an owner label is required' }],
  },
};

test("a ValidatingPolicy's webhook: the real API server calls /vpol/<name>, answered by that policy alone", async () => {
  // The configuration as the controller writes it (the CEL CRDs need a newer API server than
  // this one, so the policies live in the webhook only).
  const vpolWebhook = await startLocalWebhook(bundle, [REQUIRE_TEAM, REQUIRE_OWNER]);
  const policies = [REQUIRE_TEAM, REQUIRE_OWNER];
  const [vwcWanted] = webhookConfigurations({ namespace: 'kyverno-studio', caPem: trustBundle(vpolWebhook.certs), localUrl: vpolWebhook.url, needs: classicWebhookNeeds(policies, knownKindTable()), policies, keepEmpty: false });
  try {
    await cluster.client.apply(vwcWanted, { force: true });
    const vwc = await cluster.client.get({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', name: VALIDATING_CONFIG });
    assert.deepEqual((vwc!.webhooks as JsonObject[]).map((w) => [w.name, (w.clientConfig as JsonObject).url, w.sideEffects]), [
      ['validate.kyverno.svc-fail', `${vpolWebhook.url}/validate/fail`, 'NoneOnDryRun'],
      ['vpol.validate.kyverno.svc-fail', `${vpolWebhook.url}/vpol/require-owner-label`, 'NoneOnDryRun'],
    ]);
    // Each webhook answers with its own policies: the classic path never runs the ValidatingPolicy, nor the reverse.
    const denial = async (labels: Record<string, string>, name: string) => {
      const e = await cluster.client.create(configMap(name, labels)).then(() => undefined, (err: KubeError) => err);
      return e?.message ?? 'admitted';
    };
    const ownerMissing = await waitFor('the vpol webhook to deny', async () => {
      const m = await denial({ team: 'a' }, 'owner-missing');
      return m === 'admitted' ? (await cluster.client.delete({ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner-missing', namespace: 'default' }), undefined) : m;
    });
    assert.match(ownerMissing, /vpol\.validate\.kyverno\.svc-fail/);
    assert.match(ownerMissing, /an owner label is required/);
    assert.doesNotMatch(ownerMissing, /team/);
    const teamMissing = await denial({ owner: 'b' }, 'team-missing');
    assert.match(teamMissing, /"validate\.kyverno\.svc-fail"/);
    assert.doesNotMatch(teamMissing, /owner label/);
    assert.equal(await denial({ team: 'a', owner: 'b' }, 'both'), 'admitted');
    assert.ok(await cluster.client.delete({ apiVersion: 'v1', kind: 'ConfigMap', name: 'both', namespace: 'default' }));
  } finally {
    await cluster.client.delete({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', name: VALIDATING_CONFIG }).catch(() => false);
    await vpolWebhook.close();
  }
  assert.deepEqual(await snapshot(cluster.client), pristine);
});

test('local mode: the API server verifies the webhook certificate against caBundle', async () => {
  const ui = recordingUI();
  const wrong = { ...local.certs, ca: (await import('../../tls/certificates')).makeCertificates({ hosts: ['127.0.0.1'] }).ca };
  const r = await runDeploy({ client: cluster.client, ui, mode: 'local', policies: [REQUIRE_TEAM], localUrl: local.url, certs: wrong, smokeTimeoutMs: 4000 });
  assert.equal(r.outcome, 'failed');
  assert.match(r.error ?? '', /x509|certificate/i, r.error);
  assert.ok(r.rolledBack.length > 0);
  assert.deepEqual(await snapshot(cluster.client), pristine, 'the failed run rolled back what it created');
});

test('server-side apply conflicts are reported with the other field manager, and --force-conflicts takes over', async () => {
  await cluster.client.request({
    method: 'PATCH',
    path: '/api/v1/namespaces/default/configmaps/owned',
    query: { fieldManager: 'other-tool' },
    contentType: 'application/apply-patch+yaml',
    body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'owned', namespace: 'default', labels: { team: 'x' } }, data: { k: 'theirs' } },
  });
  const { planDeploy } = await import('../../deploy/plan');
  const { dryRun } = await import('../../deploy/diff');
  const { knownKindTable } = await import('../../engine/kube');
  const plan = planDeploy({ mode: 'policies-only', policies: [], kinds: knownKindTable() });
  plan.objects.push({ phase: 'policies', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'owned', namespace: 'default' }, data: { k: 'ours' } } });
  const refused = await dryRun(cluster.client, plan, { newCrdKinds: new Set() });
  assert.equal(refused.conflicts.length, 1);
  assert.match(refused.conflicts[0], /other-tool/);
  assert.match(refused.conflicts[0], /data\.k/);
  const forced = await dryRun(cluster.client, plan, { newCrdKinds: new Set(), force: true });
  assert.deepEqual(forced.conflicts, []);
  assert.deepEqual(forced.changes.map((c) => `${c.kind} ${(c.fields ?? []).join(',')}`), ['update data'], "other managers' labels stay");
  const cm = await cluster.client.get({ apiVersion: 'v1', kind: 'ConfigMap', name: 'owned', namespace: 'default' });
  assert.equal((cm!.data as JsonObject).k, 'theirs', 'dry runs never change the object');
  await cluster.client.delete({ apiVersion: 'v1', kind: 'ConfigMap', name: 'owned', namespace: 'default' });
});

test('cluster mode: everything is created in order, readiness is awaited, and undeploy leaves the cluster as found', async () => {
  const ui = recordingUI();
  const code = readFileSync(bundle);
  const r = await runDeploy({
    client: cluster.client, ui, mode: 'cluster', policies: [REQUIRE_TEAM, ADD_LABEL], webhookCode: code, readiness: simulatedReadiness(), smokeCheck: false,
  });
  assert.equal(r.outcome, 'deployed', `${r.error}\n${ui.lines.join('\n')}`);
  const order = r.created.map((c) => c.kind);
  assert.deepEqual(order.slice(0, 2), ['Namespace', 'CustomResourceDefinition']);
  assert.ok(order.indexOf('Deployment') < order.indexOf('ValidatingWebhookConfiguration'));
  assert.ok(order.indexOf('ValidatingWebhookConfiguration') < order.indexOf('ClusterPolicy'));
  assert.ok(ui.lines.indexOf('==> Waiting for the webhook to be ready') < ui.lines.indexOf('==> Webhook configurations'));
  const dep = await cluster.client.get({ apiVersion: 'apps/v1', kind: 'Deployment', name: WEBHOOK_NAME, namespace: 'kyverno-studio' });
  const pod = ((dep!.spec as JsonObject).template as JsonObject).spec as JsonObject;
  assert.equal((pod.securityContext as JsonObject).runAsNonRoot, true);
  const cm = await cluster.client.get({ apiVersion: 'v1', kind: 'ConfigMap', name: `${WEBHOOK_NAME}-code`, namespace: 'kyverno-studio' });
  assert.equal(((cm!.metadata as JsonObject).annotations as JsonObject)['kyverno-studio.io/code-sha256'], (await import('../../deploy/plan')).sha256(code));
  const mwc = await cluster.client.get({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', name: MUTATING_CONFIG });
  assert.deepEqual(((mwc!.webhooks as JsonObject[])[0].clientConfig as JsonObject).service, { namespace: 'kyverno-studio', name: SERVICE_NAME, path: '/mutate/fail', port: 443 });
  assert.equal(SERVICE_NAME, 'kyverno-svc', "Kyverno's Service name");
  assert.ok(await cluster.client.get({ apiVersion: 'v1', kind: 'Service', name: SERVICE_NAME, namespace: 'kyverno-studio' }), 'the Service the configurations call exists');

  const again = await runDeploy({ client: cluster.client, ui: recordingUI(), mode: 'cluster', policies: [REQUIRE_TEAM, ADD_LABEL], webhookCode: code, readiness: simulatedReadiness(), smokeCheck: false });
  assert.equal(again.outcome, 'deployed', again.error);
  assert.deepEqual(again.changes.filter((c) => c.kind !== 'unchanged').map((c) => `${c.ref.kind} ${(c.fields ?? []).join(',')}`), [], 'idempotent: same certificates, same code');

  const u = await undeploy();
  assert.equal(u.outcome, 'undeployed', u.error);
  assert.deepEqual(await snapshot(cluster.client), pristine);
});

test('cluster mode: a failing smoke check rolls back everything the run created', async () => {
  const ui = recordingUI();
  const r = await runDeploy({
    client: cluster.client, ui, mode: 'cluster', policies: [REQUIRE_TEAM], webhookCode: readFileSync(bundle), readiness: simulatedReadiness(), smokeTimeoutMs: 3000,
  });
  assert.equal(r.outcome, 'failed');
  assert.match(r.error ?? '', /smoke check failed/);
  assert.deepEqual(
    r.rolledBack.map((x) => x.kind).slice(0, 7),
    ['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration', 'ClusterPolicy'],
    'webhook configurations first (ttl, verify, policy mutating, policy validating, resource mutating, resource validating: newest first), then the rest newest first',
  );
  for (let i = 0; i < 120 && (await snapshot(cluster.client)).join() !== pristine.join(); i++) await new Promise((res) => setTimeout(res, 500));
  assert.deepEqual(await snapshot(cluster.client), pristine);
});

function withoutMessage(policy: JsonObject, message?: string): JsonObject {
  const copy = JSON.parse(JSON.stringify(policy)) as JsonObject;
  const validate = (((copy.spec as JsonObject).rules as JsonObject[])[0].validate ?? {}) as JsonObject;
  if (message === undefined) delete validate.message;
  else validate.message = message;
  return copy;
}

test('a failed second deploy puts back what it changed (policy content and field managers, webhook configuration) and deletes what it created', async () => {
  const policyRef = { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', name: 'require-team-label' };
  const vwcRef = { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', name: VALIDATING_CONFIG };
  const first = await runDeploy({ client: cluster.client, ui: recordingUI(), mode: 'local', policies: [REQUIRE_TEAM], localUrl: local.url, certs: local.certs });
  try {
    assert.equal(first.outcome, 'deployed', first.error);
    const policyBefore = (await cluster.client.get(policyRef))!;
    const vwcBefore = (await cluster.client.get(vwcRef))!;

    // Second run: a changed policy, a new one, and a CA the local webhook does not use, so the
    // API server cannot call it and the smoke check fails.
    const ui = recordingUI();
    const wrongCa = { ...local.certs, ca: (await import('../../tls/certificates')).makeCertificates({ hosts: ['127.0.0.1'] }).ca };
    const second = await runDeploy({
      client: cluster.client, ui, mode: 'local', policies: [withoutMessage(REQUIRE_TEAM, 'second version'), AUDIT_OWNER], localUrl: local.url, certs: wrongCa, smokeTimeoutMs: 4000,
    });
    assert.equal(second.outcome, 'failed');
    assert.match(second.error ?? '', /smoke check failed/);
    assert.deepEqual(second.created.map((c) => `${c.kind} ${c.name}`), ['ClusterPolicy audit-owner-annotation']);
    assert.deepEqual(second.restored.map((c) => `${c.kind} ${c.name}`), ['ValidatingWebhookConfiguration kyverno-ttl-validating-webhook-cfg', 'MutatingWebhookConfiguration kyverno-verify-mutating-webhook-cfg', 'MutatingWebhookConfiguration kyverno-policy-mutating-webhook-cfg', 'ValidatingWebhookConfiguration kyverno-policy-validating-webhook-cfg', `ValidatingWebhookConfiguration ${VALIDATING_CONFIG}`, 'ClusterPolicy require-team-label']);
    assert.deepEqual(second.rollbackFailures, []);
    assert.ok(ui.lines.includes('  rolled back: restored ClusterPolicy require-team-label to its previous version'), ui.lines.join('\n'));
    assert.ok(ui.lines.includes('  rolled back: deleted ClusterPolicy audit-owner-annotation'));

    const policyAfter = (await cluster.client.get(policyRef))!;
    const vwcAfter = (await cluster.client.get(vwcRef))!;
    assert.deepEqual(policyAfter.spec, policyBefore.spec, 'the first version is back');
    assert.deepEqual((policyAfter.metadata as JsonObject).labels, (policyBefore.metadata as JsonObject).labels);
    assert.deepEqual((policyAfter.metadata as JsonObject).managedFields, (policyBefore.metadata as JsonObject).managedFields, 'the same field managers own the same fields');
    assert.deepEqual(vwcAfter.webhooks, vwcBefore.webhooks, 'the caBundle the local webhook matches is back');
    assert.deepEqual((vwcAfter.metadata as JsonObject).managedFields, (vwcBefore.metadata as JsonObject).managedFields);
    assert.equal(await cluster.client.get({ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', name: 'audit-owner-annotation' }), undefined);

    // The restored configuration works: the API server calls the webhook again.
    await assert.rejects(cluster.client.create(configMap('after-rollback')), (e: KubeError) => e.status === 403 && /require-team-label/.test(e.message));
    // Ownership is kyverno-studio's apply again: a deploy that drops the message removes it.
    const third = await runDeploy({ client: cluster.client, ui: recordingUI(), mode: 'policies-only', policies: [withoutMessage(REQUIRE_TEAM)] });
    assert.equal(third.outcome, 'deployed', third.error);
    const rule = (((await cluster.client.get(policyRef))!.spec as JsonObject).rules as JsonObject[])[0];
    assert.equal((rule.validate as JsonObject).message, undefined);
  } finally {
    await undeploy();
  }
  assert.deepEqual(await snapshot(cluster.client), pristine);
});

test('bad input is a clear error before anything changes', async () => {
  const r = await runDeploy({ client: cluster.client, ui: recordingUI(), mode: 'cluster', policies: [REQUIRE_TEAM], readiness: simulatedReadiness() });
  assert.equal(r.outcome, 'failed');
  assert.match(r.error ?? '', /webhook bundle/);
  const bad = await runDeploy({ client: cluster.client, ui: recordingUI(), mode: 'local', policies: [{ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: {} }], localUrl: local.url, certs: local.certs });
  assert.match(bad.error ?? '', /no metadata.name/);
  assert.deepEqual(await snapshot(cluster.client), pristine);
});

test('CLI: --dry-run prints the target and summary; without --yes and without a terminal it refuses', async () => {
  const { deployCli, undeployCli } = await import('../../deploy/cli');
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'ks-cli-'));
  writeFileSync(join(dir, 'policy.yaml'), JSON.stringify(REQUIRE_TEAM));
  const io = () => {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) } };
  };
  const a = io();
  const code = await deployCli([join(dir, 'policy.yaml'), '--kubeconfig', cluster.kubeconfig, '--dry-run', '--webhook-bundle', bundle], a.io);
  assert.equal(code, 0, a.err.join('\n'));
  assert.ok(a.out.some((l) => l.includes('context:  local-test')));
  assert.ok(a.out.some((l) => /\+ create\s+Deployment kyverno-studio\/kyverno-studio-webhook/.test(l)), a.out.join('\n'));
  const b = io();
  assert.equal(await deployCli([join(dir, 'policy.yaml'), '--kubeconfig', cluster.kubeconfig, '--webhook-bundle', bundle], b.io), 3);
  assert.match(b.err.join('\n'), /Refusing to deploy context "local-test" without --yes/);
  const c = io();
  assert.equal(await undeployCli(['--kubeconfig', cluster.kubeconfig, '--yes'], c.io), 0);
  assert.match(c.out.join('\n'), /nothing of kyverno-studio found/);
  assert.deepEqual(await snapshot(cluster.client), pristine);
});

test('upstream Kyverno found: only the policies are deployed (when accepted), and its CRD is left alone on undeploy', async () => {
  const { crdIndex, loadCrd } = await import('../../deploy/crds');
  const { waitEstablished } = await import('../../deploy/discovery');
  const entry = crdIndex().find((e) => e.name === 'clusterpolicies.kyverno.io')!;
  await cluster.client.apply(loadCrd(entry), { force: true });
  await waitEstablished(cluster.client, [entry.name]);
  const fake = {
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration',
    metadata: { name: 'kyverno-resource-validating-webhook-cfg', labels: { 'webhook.kyverno.io/managed-by': 'kyverno' } }, webhooks: [],
  };
  await cluster.client.apply(fake);
  try {
    const declined = await runDeploy({ client: cluster.client, ui: recordingUI(true, false), mode: 'cluster', policies: [REQUIRE_TEAM], webhookCode: readFileSync(bundle) });
    assert.equal(declined.outcome, 'cancelled');
    assert.match(declined.error ?? '', /Kyverno's webhooks are installed \(kyverno-resource-validating-webhook-cfg\)/);
    const ui = recordingUI(true, true);
    const r = await runDeploy({ client: cluster.client, ui, mode: 'cluster', policies: [REQUIRE_TEAM], webhookCode: readFileSync(bundle), readiness: simulatedReadiness() });
    assert.equal(r.outcome, 'deployed', r.error);
    assert.equal(r.mode, 'policies-only');
    assert.deepEqual(r.created.map((c) => `${c.kind} ${c.name}`), ['ClusterPolicy require-team-label']);
    const u = await undeploy();
    assert.deepEqual(u.deleted.map((c) => c.kind), ['ClusterPolicy'], 'a CRD we did not install stays');
    assert.ok(await cluster.client.get({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', name: fake.metadata.name }), "Kyverno's configuration (same name as ours) is not ours to delete");
    // Kyverno's CRDs alone (labelled by its chart) are enough to tell.
    await cluster.client.delete({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', name: fake.metadata.name });
    const crd = await cluster.client.get({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: entry.name });
    await cluster.client.replace({ ...crd!, metadata: { ...(crd!.metadata as JsonObject), labels: { 'app.kubernetes.io/part-of': 'kyverno' } } });
    const byCrd = await runDeploy({ client: cluster.client, ui: recordingUI(true, false), mode: 'local', policies: [REQUIRE_TEAM], localUrl: 'https://127.0.0.1:1', certs: makeCertificates({ hosts: ['127.0.0.1'] }) });
    assert.equal(byCrd.outcome, 'cancelled');
    assert.match(byCrd.error ?? '', /Kyverno's CRDs are installed \(CustomResourceDefinition clusterpolicies.kyverno.io is labelled part of Kyverno\)/);
  } finally {
    await cluster.client.delete({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', name: fake.metadata.name }).catch(() => false);
    await cluster.client.delete({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: entry.name });
  }
  for (let i = 0; i < 60 && (await snapshot(cluster.client)).join() !== pristine.join(); i++) await new Promise((res) => setTimeout(res, 500));
  assert.deepEqual(await snapshot(cluster.client), pristine);
});

const REQUIRE_POD_OWNER: JsonObject = {
  apiVersion: 'kyverno.io/v1',
  kind: 'ClusterPolicy',
  metadata: { name: 'require-pod-owner' },
  spec: {
    validationFailureAction: 'Enforce',
    background: true,
    rules: [{ name: 'owner', match: { any: [{ resources: { kinds: ['Pod'] } }] }, validate: { message: "label 'owner' is required", pattern: { metadata: { labels: { owner: '?*' } } } } }],
  },
};

const pod = (name: string, labels: Record<string, string>): JsonObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels }, spec: { containers: [{ name: 'c', image: 'nginx' }] } });

/** A free loopback port (closed again: the caller's process listens on it). */
async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise<number>((r) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => r(p));
    });
  });
}

interface LocalDeploy {
  child: import('node:child_process').ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/** `kyverno-studio deploy --local` as a child process, resolved once it says the cluster calls it. */
async function deployLocal(cli: string, args: string[]): Promise<LocalDeploy> {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [cli, 'deploy', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (out += c));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  // Once the wait is over, an exit is the caller's to check, not a failure of the wait.
  let settled = false;
  try {
    await Promise.race([
      waitFor('deploy --local to be deployed', async () => out.includes('The cluster now calls this machine'), () => out, 90_000),
      exited.then((code) => (settled ? undefined : Promise.reject(new Error(`deploy --local exited (${code}):\n${out}`)))),
    ]);
  } catch (e) {
    child.kill('SIGINT');
    throw e;
  } finally {
    settled = true;
  }
  return { child, output: () => out, exited };
}

test('deploy --local watches the cluster: a policy applied with kubectl afterwards denies a bad Pod, a report appears, and a redeploy does not conflict', async () => {
  const { spawnSync } = await import('node:child_process');
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const cli = await bundleCli(bundle);
  const dir = mkdtempSync(join(tmpdir(), 'ks-local-cli-'));
  const policyFile = join(dir, 'require-team.yaml');
  writeFileSync(policyFile, JSON.stringify(REQUIRE_TEAM));
  const port = await freePort();
  const args = [policyFile, '--local', '--url', `https://127.0.0.1:${port}`, '--yes', '--kubeconfig', cluster.kubeconfig, '--tls-dir', join(dir, 'tls')];
  const { child, output, exited } = await deployLocal(cli, args);
  try {
    // Applied afterwards with kubectl (client-side apply): the local webhook picks it up.
    const podPolicy = join(dir, 'require-pod-owner.yaml');
    writeFileSync(podPolicy, JSON.stringify(REQUIRE_POD_OWNER));
    kubectl(cluster, 'apply', '-f', podPolicy);
    await waitFor('a Pod without an owner to be denied', async () => {
      try {
        await cluster.client.create(pod('no-owner', {}), { dryRun: true });
        return false;
      } catch (e) {
        return e instanceof KubeError && /require-pod-owner/.test(e.message) && /owner/.test(e.message);
      }
    }, output);
    const good = await cluster.client.create(pod('has-owner', { owner: 'me' }));
    const uid = String((good.metadata as JsonObject).uid);
    const report = await waitFor('a PolicyReport for the admitted Pod', async () => {
      const reports = await cluster.client.list('wgpolicyk8s.io/v1alpha2', 'PolicyReport', 'default');
      return reports.find((r) => (r.metadata as JsonObject).name === uid);
    }, output);
    const results = (report.results ?? []) as JsonObject[];
    assert.ok(results.some((r) => r.policy === 'require-pod-owner' && r.result === 'pass'), JSON.stringify(results));

    // kubectl changes a deployed policy; deploying the file again does not conflict with kubectl's field manager.
    writeFileSync(join(dir, 'edited.yaml'), JSON.stringify({ ...REQUIRE_TEAM, spec: { ...(REQUIRE_TEAM.spec as JsonObject), validationFailureAction: 'Audit' } }));
    kubectl(cluster, 'apply', '-f', join(dir, 'edited.yaml'));
    const again = spawnSync(process.execPath, [cli, 'deploy', ...args, '--dry-run'], { encoding: 'utf8' });
    assert.equal(again.status, 0, `${again.stdout}\n${again.stderr}`);
    assert.doesNotMatch(again.stderr + again.stdout, /conflict/i);
    assert.match(again.stdout, /~ update\s+ClusterPolicy require-team-label/);
  } finally {
    child.kill('SIGINT');
  }
  assert.equal(await exited, 0, output());
  assert.match(output(), /webhook configurations removed; the local webhook stopped/);
  await cluster.client.delete({ apiVersion: 'v1', kind: 'Pod', name: 'has-owner', namespace: 'default' });
  await cluster.client.delete({ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', name: 'require-pod-owner' });
  for (const r of await cluster.client.list('wgpolicyk8s.io/v1alpha2', 'PolicyReport', 'default')) await cluster.client.delete({ apiVersion: 'wgpolicyk8s.io/v1alpha2', kind: 'PolicyReport', name: String((r.metadata as JsonObject).name), namespace: 'default' });
  const u = await undeploy();
  assert.equal(u.outcome, 'undeployed', u.error);
  assert.deepEqual(await snapshot(cluster.client), pristine);
});

test('hand-over: once a stopped deploy --local says its configurations are removed, no admission request is answered by it; a deploy started right after on the same URL answers every later one with its own policies', async () => {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const cli = await bundleCli(bundle);
  const dir = mkdtempSync(join(tmpdir(), 'ks-handover-'));
  writeFileSync(join(dir, 'old.yaml'), JSON.stringify(REQUIRE_TEAM));
  const ownerMessage = 'ConfigMaps need an owner label';
  const newPolicy = { ...REQUIRE_TEAM, metadata: { name: 'require-owner-label' }, spec: { ...(REQUIRE_TEAM.spec as JsonObject), rules: [{ name: 'check-owner', match: { any: [{ resources: { kinds: ['ConfigMap'] } }] }, validate: { message: ownerMessage, pattern: { metadata: { labels: { owner: '?*' } } } } }] } };
  writeFileSync(join(dir, 'new.yaml'), JSON.stringify(newPolicy));
  // The same URL and certificates: an API server still holding the old configuration, or a
  // pooled connection to the old process, would reach this port; only the new process may answer.
  const common = ['--local', '--url', `https://127.0.0.1:${await freePort()}`, '--yes', '--kubeconfig', cluster.kubeconfig, '--tls-dir', join(dir, 'tls')];
  const old = await deployLocal(cli, [join(dir, 'old.yaml'), ...common]);
  let next: LocalDeploy | undefined;
  // The denial quotes the message as YAML: its apostrophes come doubled.
  const teamDenial = /require-team-label[\s\S]*label '+team'+ is required/;
  // Unlabelled ConfigMaps, sent one after another for the whole hand-over: each answer with when it was sent.
  const answers: Array<{ sentAt: number; answer: string }> = [];
  let sending = true;
  const sender = (async () => {
    for (let i = 0; sending; i++) {
      const sentAt = Date.now();
      const answer = await cluster.client.create(configMap(`handover-${i}`), { dryRun: true }).then(() => 'admitted', (e: Error) => e.message);
      answers.push({ sentAt, answer });
    }
  })();
  try {
    await waitFor('the old deploy to deny', async () => answers.some((a) => teamDenial.test(a.answer)), old.output);
    old.child.kill('SIGINT');
    await waitFor('the old deploy to say its configurations are removed', async () => /webhook configurations removed; the local webhook stopped/.test(old.output()), old.output, 60_000);
    const removedAt = Date.now();
    // The new set replaces the old in the cluster before the new process starts: from here on
    // a denial for a missing team label can only come from the old process.
    await cluster.client.delete({ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', name: 'require-team-label' });
    next = await deployLocal(cli, [join(dir, 'new.yaml'), ...common]);
    const nextUp = Date.now();
    await waitFor('the new deploy to deny', async () => answers.some((a) => a.sentAt > nextUp && a.answer.includes(ownerMessage)), next.output);
    sending = false;
    await sender;
    const after = answers.filter((a) => a.sentAt >= removedAt);
    assert.ok(answers.some((a) => a.sentAt < removedAt && teamDenial.test(a.answer)), 'the old process answered before');
    assert.ok(after.length >= 3, `requests during the hand-over: ${after.length}`);
    assert.deepEqual(after.filter((a) => teamDenial.test(a.answer)), [], 'no request sent after "removed" is answered with the old policies');
    // Every later answer: no webhook configured yet (admitted), an API server's stale configuration
    // finding nobody or the new process (which refuses or is not yet serving), or the new policy.
    for (const a of after) assert.match(a.answer, new RegExp(`^admitted$|failed calling webhook|${ownerMessage}`), a.answer);
    process.stderr.write(`hand-over: ${after.length} request(s) after "removed": ${[...new Set(after.map((a) => (a.answer.includes(ownerMessage) ? 'new policy' : a.answer === 'admitted' ? 'admitted' : 'webhook call failed')))].join(', ')}\n`);
    assert.equal(await old.exited, 0, old.output());
  } finally {
    sending = false;
    await sender;
    old.child.kill('SIGINT');
    next?.child.kill('SIGINT');
  }
  assert.equal(await next!.exited, 0, next!.output());
  await cluster.client.delete({ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', name: 'require-owner-label' });
  const u = await undeploy();
  assert.equal(u.outcome, 'undeployed', u.error);
  assert.deepEqual(await snapshot(cluster.client), pristine);
});
