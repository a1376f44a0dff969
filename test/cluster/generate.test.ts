/**
 * Generate rules in in-cluster mode against a real kube-apiserver: the webhook runs as a local
 * `--in-cluster` process (no kubelet here), registered by a local-mode deploy. Creating a
 * Namespace through the API server makes the webhook create a ConfigMap in it, labelled as
 * Kyverno labels downstream objects; an existing downstream is only brought back in line
 * when its rule synchronizes, and a synchronized one goes when its trigger stops matching.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import type { CertificateSet } from '../../tls/certificates';
import type { JsonObject } from '../../kube-api/client';
import { runDeploy } from '../../deploy/run';
import { VALIDATING_CONFIG } from '../../deploy/plan';
import { bundleWebhook, recordingUI, startCluster, type TestCluster } from './harness';
import { REQUIRE_TEAM, startInClusterWebhook, waitFor } from './fixtures';

let cluster: TestCluster;
let child: ChildProcess;
let url = '';
let certs: CertificateSet;
let log = '';

const until = <T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs?: number) => waitFor(what, probe, () => log, timeoutMs);

/** Every new Namespace gets `defaults`; Namespaces labelled synced=yes also get a synchronized `synced`. */
const NAMESPACE_DEFAULTS: JsonObject = {
  apiVersion: 'kyverno.io/v1',
  kind: 'ClusterPolicy',
  metadata: { name: 'namespace-defaults' },
  spec: {
    rules: [
      {
        name: 'defaults',
        match: { any: [{ resources: { kinds: ['Namespace'] } }] },
        generate: {
          apiVersion: 'v1', kind: 'ConfigMap', name: 'defaults', namespace: '{{request.object.metadata.name}}',
          // REQUIRE_TEAM also applies to what we generate: the downstream goes through admission.
          data: { metadata: { labels: { team: 'platform' } }, data: { namespace: '{{request.object.metadata.name}}' } },
        },
      },
      {
        name: 'synced',
        match: { any: [{ resources: { kinds: ['Namespace'], selector: { matchLabels: { synced: 'yes' } } } }] },
        generate: {
          apiVersion: 'v1', kind: 'ConfigMap', name: 'synced', namespace: '{{request.object.metadata.name}}', synchronize: true,
          data: { metadata: { labels: { team: 'platform' } }, data: { tier: 'gold' } },
        },
      },
    ],
  },
};

before(async () => {
  cluster = startCluster();
  // The namespace of the leader-election Leases: the leader keeps the webhook rules in step.
  await cluster.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kyverno-studio' } });
  const bundle = await bundleWebhook();
  ({ child, url, certs } = await startInClusterWebhook(bundle, cluster.kubeconfig, (c) => (log += c)));
});

after(async () => {
  child?.kill('SIGTERM');
  cluster?.stop();
});

const configMap = (name: string, namespace: string) => cluster.client.get({ apiVersion: 'v1', kind: 'ConfigMap', name, namespace });
const labelsOf = (o: JsonObject | undefined) => ((o?.metadata as JsonObject | undefined)?.labels ?? {}) as Record<string, string>;

test('a new Namespace gets the generated ConfigMap with Kyverno labels; synchronize keeps and removes its downstream', async () => {
  const ui = recordingUI();
  const r = await runDeploy({ client: cluster.client, ui, mode: 'local', policies: [REQUIRE_TEAM, NAMESPACE_DEFAULTS], localUrl: url, certs, smokeTimeoutMs: 45_000 });
  assert.equal(r.outcome, 'deployed', `${r.error}\n${ui.lines.join('\n')}\n${log}`);
  await until('the controller to send Namespace requests to the validating webhook', async () => {
    const vwc = await cluster.client.get({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', name: VALIDATING_CONFIG });
    const rules = ((vwc?.webhooks ?? []) as JsonObject[]).flatMap((w) => (w.rules ?? []) as JsonObject[]);
    return rules.some((x) => (x.resources as string[]).includes('namespaces') && (x.operations as string[]).includes('DELETE'));
  });

  const ns = await cluster.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a', labels: { synced: 'yes' } } });
  const uid = String((ns.metadata as JsonObject).uid);
  const defaults = await until('the generated ConfigMap in the new Namespace', () => configMap('defaults', 'team-a'));
  assert.deepEqual(defaults.data, { namespace: 'team-a' });
  const labels = labelsOf(defaults);
  assert.equal(labels['app.kubernetes.io/managed-by'], 'kyverno');
  assert.equal(labels['generate.kyverno.io/policy-name'], 'namespace-defaults');
  assert.equal(labels['generate.kyverno.io/rule-name'], 'defaults');
  assert.equal(labels['generate.kyverno.io/trigger-kind'], 'Namespace');
  assert.equal(labels['generate.kyverno.io/trigger-version'], 'v1');
  assert.equal(labels['generate.kyverno.io/trigger-uid'], uid, 'the stored Namespace is the trigger');
  assert.equal(labels.team, 'platform');
  const synced = await until('the synchronized ConfigMap', () => configMap('synced', 'team-a'));
  assert.equal(labelsOf(synced)['generate.kyverno.io/rule-name'], 'synced');

  // Hand edits: on the trigger's next UPDATE the synchronized downstream is brought back, the other is left.
  for (const name of ['defaults', 'synced']) {
    const live = (await configMap(name, 'team-a'))!;
    await cluster.client.replace({ ...live, data: { edited: 'by hand' } });
  }
  await cluster.client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a', labels: { synced: 'yes', touched: '1' } } }, { force: true });
  await until('the synchronized ConfigMap to be restored', async () => (await configMap('synced', 'team-a'))?.data && JSON.stringify((await configMap('synced', 'team-a'))!.data) === '{"tier":"gold"}');
  assert.deepEqual((await configMap('defaults', 'team-a'))!.data, { edited: 'by hand' }, 'without synchronize an existing downstream is not overwritten');

  // The Namespace no longer matches the synchronized rule: its downstream goes, the other stays.
  const current = await cluster.client.get({ apiVersion: 'v1', kind: 'Namespace', name: 'team-a' });
  const meta = current!.metadata as JsonObject;
  await cluster.client.replace({ ...current!, metadata: { ...meta, labels: { touched: '1' } } });
  await until('the synchronized ConfigMap to be deleted', async () => !(await configMap('synced', 'team-a')));
  assert.ok(await configMap('defaults', 'team-a'));

  // A Namespace outside the synchronized rule's selector gets only the defaults.
  await cluster.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-b' } });
  await until('the ConfigMap of team-b', () => configMap('defaults', 'team-b'));
  assert.equal(await configMap('synced', 'team-b'), undefined);
  assert.doesNotMatch(log, /generate: .*(cannot|failed|not stored)/, 'no generate failures');
});
