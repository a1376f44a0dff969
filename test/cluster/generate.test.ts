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
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CertificateSet } from '../../tls/certificates';
import type { JsonObject } from '../../kube-api/client';
import { runDeploy } from '../../deploy/run';
import { VALIDATING_CONFIG } from '../../deploy/plan';
import { bundleWebhook, recordingUI, startCluster, type TestCluster } from './harness';
import { REQUIRE_TEAM, startInClusterWebhook, waitFor, type InClusterWebhook } from './fixtures';

let cluster: TestCluster;
let child: ChildProcess;
let url = '';
let certs: CertificateSet;
let log = '';
let bundle = '';
let webhook: InClusterWebhook;

// Success events too (Kyverno's generateSuccessEvents), for the events test.
const RETRY = ['--leader-election-retry-period', '500ms', '--generate-success-events'];
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

const WIDGET_CRD: JsonObject = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.example.com' },
  spec: {
    group: 'example.com',
    scope: 'Namespaced',
    names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
    versions: [{ name: 'v1', served: true, storage: true, subresources: { status: {} }, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
  },
};

before(async () => {
  cluster = startCluster();
  // The namespace of the leader-election Leases: the leader keeps the webhook rules in step.
  await cluster.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kyverno-studio' } });
  // A kind with a status subresource, served before the webhook first asks about its group.
  await cluster.client.apply(WIDGET_CRD, { force: true });
  await waitFor('the Widget CRD to be served', async () => (cluster.client.forgetDiscovery(), await cluster.client.resourceFor('example.com/v1', 'Widget')));
  bundle = await bundleWebhook();
  // A short Lease retry period: the restart test waits out a killed leader's Lease (6x).
  webhook = await startInClusterWebhook(bundle, cluster.kubeconfig, (c) => (log += c), RETRY);
  ({ child, url, certs } = webhook);
});

/** Webhook processes a test starts besides `child`, killed at the end whatever happened. */
const extra: ChildProcess[] = [];

after(async () => {
  for (const c of extra) c.kill('SIGKILL');
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

const mutatedBy = (o: JsonObject | undefined) => labelsOf(o)['mutated-by'];
const cm = (name: string, namespace: string, labels: Record<string, string>) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, labels: { team: 'platform', ...labels } }, data: { k: 'v' } });

/**
 * ConfigMaps named trigger* stamp the ConfigMaps labelled target=yes in their namespace with
 * their name; a target named skip-me is left out by the target's own preconditions.
 */
const STAMP_TARGETS: JsonObject = {
  apiVersion: 'kyverno.io/v1',
  kind: 'ClusterPolicy',
  metadata: { name: 'stamp-targets' },
  spec: {
    mutateExistingOnPolicyUpdate: true,
    rules: [
      {
        name: 'stamp',
        match: { any: [{ resources: { kinds: ['ConfigMap'], names: ['trigger*'] } }] },
        mutate: {
          targets: [{
            apiVersion: 'v1', kind: 'ConfigMap', namespace: '{{request.object.metadata.namespace}}', selector: { matchLabels: { target: 'yes' } },
            preconditions: { all: [{ key: '{{target.metadata.name}}', operator: 'NotEquals', value: 'skip-me' }] },
          }],
          patchStrategicMerge: { metadata: { labels: { 'mutated-by': '{{request.object.metadata.name}}' } } },
        },
      },
    ],
  },
};

test('mutate existing: creating the policy stamps the targets of existing triggers (mutateExistingOnPolicyUpdate); a new trigger stamps them again', async () => {
  await cluster.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'mx' } });
  for (const o of [cm('trigger-1', 'mx', {}), cm('a', 'mx', { target: 'yes' }), cm('skip-me', 'mx', { target: 'yes' }), cm('other', 'mx', {})]) await cluster.client.create(o);
  await cluster.client.apply(STAMP_TARGETS, { force: true });
  await until('the existing target to be stamped on policy creation', async () => mutatedBy(await configMap('a', 'mx')) === 'trigger-1');
  assert.equal(mutatedBy(await configMap('skip-me', 'mx')), undefined, "the target's preconditions leave it out");
  assert.equal(mutatedBy(await configMap('other', 'mx')), undefined, 'only selected targets');
  // Admission of a new trigger: the webhook's validating configuration now sends ConfigMaps there.
  await until('a new trigger to stamp the target', async () => {
    await cluster.client.apply(cm('trigger-2', 'mx', {}), { force: true });
    return mutatedBy(await configMap('a', 'mx')) === 'trigger-2';
  });
  assert.equal(mutatedBy(await configMap('skip-me', 'mx')), undefined);
  await until('the UpdateRequests to be done and removed', async () => (await cluster.client.list('kyverno.io/v2', 'UpdateRequest', 'kyverno-studio')).length === 0);
});

/** Events of the background controller: namespaced ones beside their object, cluster-scoped ones in default (kube-system before 1.22). */
async function eventsFrom(controller: string, namespaces: string[]): Promise<JsonObject[]> {
  const all: JsonObject[] = [];
  for (const ns of namespaces) all.push(...(await cluster.client.list('events.k8s.io/v1', 'Event', ns)));
  return all.filter((e) => e.reportingController === controller);
}

test('events: generate and mutate existing write Kyverno\'s PolicyApplied events (generateSuccessEvents on)', async () => {
  const generated = await until('the generate events', async () => {
    const list = await eventsFrom('kyverno-generate', ['team-a', 'default', 'kube-system']);
    const onObject = list.find((e) => e.note === 'Created ConfigMap defaults as a result of applying policy namespace-defaults/defaults');
    const onPolicy = list.find((e) => e.note === 'resource generated' && (e.regarding as JsonObject).name === 'namespace-defaults' && (e.related as JsonObject | undefined)?.name === 'defaults');
    return onObject && onPolicy && { onObject, onPolicy };
  });
  assert.deepEqual([generated.onObject.reason, generated.onObject.action, generated.onObject.type], ['PolicyApplied', 'None', 'Normal']);
  assert.deepEqual(generated.onObject.regarding, { apiVersion: 'v1', kind: 'ConfigMap', name: 'defaults', namespace: 'team-a' });
  assert.equal((generated.onPolicy.regarding as JsonObject).kind, 'ClusterPolicy');
  assert.equal((generated.onPolicy.regarding as JsonObject).apiVersion, 'kyverno.io/v1');
  assert.equal(generated.onPolicy.action, 'Resource Generated');
  const mutated = await until('the mutate-existing event', async () => (await eventsFrom('kyverno-mutate', ['default', 'kube-system'])).find((e) => e.note === 'resource mutated' && (e.related as JsonObject | undefined)?.name === 'a'));
  assert.deepEqual([mutated.reason, mutated.action, (mutated.regarding as JsonObject).name], ['PolicyApplied', 'Resource Mutated', 'stamp-targets']);
  assert.deepEqual(mutated.related, { kind: 'ConfigMap', name: 'a', namespace: 'mx' });
});

test('mutate existing: a target of the status subresource is written through /status', async () => {
  await cluster.client.create({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'mx' }, spec: { size: 1 } });
  await cluster.client.apply({
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name: 'widget-phase' },
    spec: {
      rules: [{
        name: 'phase',
        match: { any: [{ resources: { kinds: ['ConfigMap'], names: ['phase-*'] } }] },
        mutate: {
          targets: [{ apiVersion: 'example.com/v1', kind: 'Widget/status', namespace: '{{request.object.metadata.namespace}}', name: 'w' }],
          patchStrategicMerge: { status: { phase: '{{request.object.metadata.name}}' } },
        },
      }],
    },
  }, { force: true });
  const widgetPhase = async () => ((await cluster.client.get({ apiVersion: 'example.com/v1', kind: 'Widget', name: 'w', namespace: 'mx' }))?.status as JsonObject | undefined)?.phase;
  // Until the webhook has taken the policy in, a ConfigMap may be admitted before it knows the rule.
  await until('the status written by the background controller', async () => {
    await cluster.client.apply(cm('phase-ready', 'mx', {}), { force: true });
    return (await widgetPhase()) === 'phase-ready';
  });
});

test('generate existing: a policy created with generateExisting generates for Namespaces that already exist', async () => {
  await cluster.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'old-ns', labels: { legacy: 'yes' } } });
  await cluster.client.apply({
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name: 'legacy-defaults' },
    spec: {
      rules: [{
        name: 'legacy',
        match: { any: [{ resources: { kinds: ['Namespace'], selector: { matchLabels: { legacy: 'yes' } } } }] },
        generate: {
          generateExisting: true,
          apiVersion: 'v1', kind: 'ConfigMap', name: 'legacy', namespace: '{{request.object.metadata.name}}',
          data: { metadata: { labels: { team: 'platform' } }, data: { legacy: 'true' } },
        },
      }],
    },
  }, { force: true });
  const generated = await until('the ConfigMap in the Namespace that existed before the policy', () => configMap('legacy', 'old-ns'));
  assert.equal(labelsOf(generated)['generate.kyverno.io/policy-name'], 'legacy-defaults');
  assert.equal(await configMap('legacy', 'team-b'), undefined, 'only matching triggers');
});

test('synchronize: a synchronized downstream edited or deleted by hand is put back without touching its trigger', async () => {
  await cluster.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-c', labels: { synced: 'yes' } } });
  const synced = await until('the synchronized ConfigMap in team-c', () => configMap('synced', 'team-c'));
  await cluster.client.replace({ ...synced, data: { tier: 'bronze' } });
  await until('the edited downstream to be restored', async () => (await configMap('synced', 'team-c'))?.data && JSON.stringify((await configMap('synced', 'team-c'))!.data) === '{"tier":"gold"}');
  await cluster.client.delete({ apiVersion: 'v1', kind: 'ConfigMap', name: 'synced', namespace: 'team-c' });
  const back = await until('the deleted downstream to be generated again', () => configMap('synced', 'team-c'));
  assert.deepEqual(back.data, { tier: 'gold' });
  // Without synchronize a hand edit stays.
  const defaults = (await until('the defaults of team-c', () => configMap('defaults', 'team-c')))!;
  await cluster.client.replace({ ...defaults, data: { mine: 'yes' } });
  await new Promise((r) => setTimeout(r, 1500));
  assert.deepEqual((await configMap('defaults', 'team-c'))!.data, { mine: 'yes' });
});

/** Copies ConfigMap clone-src/<name> into every Namespace labelled clone=yes. */
const clonePolicy = (policy: string, name: string, synchronize: boolean): JsonObject => ({
  apiVersion: 'kyverno.io/v1',
  kind: 'ClusterPolicy',
  metadata: { name: policy },
  spec: {
    rules: [{
      name: 'copy',
      match: { any: [{ resources: { kinds: ['Namespace'], selector: { matchLabels: { clone: 'yes' } } } }] },
      generate: {
        // Whether the Namespaces come before or after the webhook loads the policy, each gets its copy.
        generateExisting: true,
        apiVersion: 'v1', kind: 'ConfigMap', name, namespace: '{{request.object.metadata.name}}', synchronize, clone: { namespace: 'clone-src', name },
      },
    }],
  },
});

test('clone sources: copies carry the source labels; editing the source updates every synchronized copy within a bound, not the others; deleting it deletes the synchronized copies', async (t) => {
  await cluster.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'clone-src' } });
  const sources: Record<string, JsonObject> = {};
  for (const name of ['base', 'fixed']) {
    sources[name] = await cluster.client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'clone-src', labels: { team: 'platform' } }, data: { v: '1' } });
  }
  await cluster.client.apply(clonePolicy('clone-base', 'base', true), { force: true });
  await cluster.client.apply(clonePolicy('clone-fixed', 'fixed', false), { force: true });
  const namespaces = ['copy-1', 'copy-2', 'copy-3'];
  for (const name of namespaces) await cluster.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { clone: 'yes' } } });
  for (const ns of namespaces) {
    const copy = await until(`the copy of base in ${ns}`, () => configMap('base', ns));
    assert.deepEqual(copy.data, { v: '1' });
    const l = labelsOf(copy);
    assert.equal(l['generate.kyverno.io/source-uid'], String((sources.base.metadata as JsonObject).uid));
    assert.deepEqual([l['generate.kyverno.io/source-kind'], l['generate.kyverno.io/source-version'], l['generate.kyverno.io/source-group'], l['generate.kyverno.io/source-namespace']], ['ConfigMap', 'v1', '', 'clone-src']);
    assert.equal(l['generate.kyverno.io/clone-source'], '');
    assert.equal(l['generate.kyverno.io/policy-name'], 'clone-base');
    assert.equal(l.team, 'platform', "the source's own labels");
    await until(`the copy of fixed in ${ns}`, () => configMap('fixed', ns));
  }
  // Kyverno labels the sources it copies; only then do their edits reach the generate handler.
  for (const name of ['base', 'fixed']) await until(`source ${name} labelled clone-source`, async () => labelsOf(await configMap(name, 'clone-src'))['generate.kyverno.io/clone-source'] === '');

  const edited = Date.now();
  for (const name of ['base', 'fixed']) {
    const live = (await configMap(name, 'clone-src'))!;
    await cluster.client.replace({ ...live, data: { v: '2' } });
  }
  for (const ns of namespaces) await until(`the synchronized copy in ${ns} to follow its source`, async () => ((await configMap('base', ns))?.data as JsonObject | undefined)?.v === '2', 15_000);
  t.diagnostic(`every synchronized copy followed the edited source in ${Date.now() - edited} ms`);
  await new Promise((r) => setTimeout(r, 2000));
  for (const ns of namespaces) assert.deepEqual((await configMap('fixed', ns))!.data, { v: '1' }, `without synchronize the copy in ${ns} keeps what it was given`);

  for (const name of ['base', 'fixed']) await cluster.client.delete({ apiVersion: 'v1', kind: 'ConfigMap', name, namespace: 'clone-src' });
  for (const ns of namespaces) await until(`the synchronized copy in ${ns} to go with its source`, async () => !(await configMap('base', ns)), 15_000);
  await new Promise((r) => setTimeout(r, 2000));
  for (const ns of namespaces) assert.ok(await configMap('fixed', ns), `without synchronize the copy in ${ns} stays`);
  assert.doesNotMatch(log, /generate: .*(cannot|not found)|background: cannot/, 'no generate failures (a copy we deleted with its source is not generated again)');
});

test('the generate queue is persisted: work enqueued by a leader killed before processing it is done by the next one', async () => {
  // Replace the webhook with one that persists work but never processes it (the test hook).
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  let heldLog = '';
  const held = await startInClusterWebhook(bundle, cluster.kubeconfig, (c) => ((heldLog += c), (log += c)), RETRY, { KYVERNO_STUDIO_HOLD_BACKGROUND: '1' }, webhook.certs, webhook);
  extra.push(held.child);
  await until('the held webhook to lead the background controller', async () => /kyverno-background-controller: \S+ started leading/.test(heldLog));
  await cluster.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'after-crash' } });
  const urs = await until('an UpdateRequest for the new Namespace', async () => {
    const items = await cluster.client.list('kyverno.io/v2', 'UpdateRequest', 'kyverno-studio');
    return items.filter((u) => ((u.spec as JsonObject).resource as JsonObject).name === 'after-crash').length ? items : undefined;
  });
  const ur = urs.find((u) => ((u.spec as JsonObject).resource as JsonObject).name === 'after-crash')!;
  assert.equal((ur.spec as JsonObject).requestType, 'generate');
  assert.equal((ur.spec as JsonObject).policy, 'namespace-defaults');
  assert.equal((((ur.spec as JsonObject).context as JsonObject).admissionRequestInfo as JsonObject).operation, 'CREATE');
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(await configMap('defaults', 'after-crash'), undefined, 'held: nothing processed yet');
  // Crash: no hand-over, the Lease runs out.
  held.child.kill('SIGKILL');
  await new Promise((r) => held.child.once('exit', r));
  webhook = await startInClusterWebhook(bundle, cluster.kubeconfig, (c) => (log += c), RETRY, {}, webhook.certs, webhook);
  child = webhook.child;
  const generated = await until('the next leader to process the persisted UpdateRequest', () => configMap('defaults', 'after-crash'));
  assert.deepEqual(generated.data, { namespace: 'after-crash' });
  await until('the processed UpdateRequest to be removed', async () => !(await cluster.client.get({ apiVersion: 'kyverno.io/v2', kind: 'UpdateRequest', name: String((ur.metadata as JsonObject).name), namespace: 'kyverno-studio' })));
});

test('our own writes: a target updated by the background controller\'s service account does not trigger the rule again (skipBackgroundRequests)', async () => {
  // Run the webhook as a service account (Kyverno's background controller has its own): its token is in the kubeconfig.
  await cluster.client.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'bg', namespace: 'kyverno-studio' } });
  await cluster.client.create({
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'bg-admin' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
    subjects: [{ kind: 'ServiceAccount', name: 'bg', namespace: 'kyverno-studio' }],
  });
  const secret = await until('the service account token', async () => {
    const sa = await cluster.client.get({ apiVersion: 'v1', kind: 'ServiceAccount', name: 'bg', namespace: 'kyverno-studio' });
    const name = ((sa?.secrets ?? []) as JsonObject[])[0]?.name;
    return name ? cluster.client.get({ apiVersion: 'v1', kind: 'Secret', name: String(name), namespace: 'kyverno-studio' }) : undefined;
  });
  const token = Buffer.from(String((secret.data as JsonObject).token), 'base64').toString('utf8');
  const kubeconfig = join(mkdtempSync(join(tmpdir(), 'ks-sa-')), 'kubeconfig');
  writeFileSync(kubeconfig, readFileSync(cluster.kubeconfig, 'utf8').replace(/token: .*/, `token: ${token}`));
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  let saLog = '';
  webhook = await startInClusterWebhook(bundle, kubeconfig, (c) => ((saLog += c), (log += c)), RETRY, {}, webhook.certs, webhook);
  child = webhook.child;
  assert.match(saLog, /background work is written as system:serviceaccount:kyverno-studio:bg/);

  // Every ConfigMap of the namespace triggers the rule, targets included: without the skip, our update of pong would stamp it with its own name.
  await cluster.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'loop' } });
  await cluster.client.create(cm('pong', 'loop', { target: 'yes' }));
  await cluster.client.apply({
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name: 'stamp-loop' },
    spec: {
      rules: [{
        name: 'stamp',
        match: { any: [{ resources: { kinds: ['ConfigMap'], namespaces: ['loop'] } }] },
        mutate: {
          targets: [{ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'loop', selector: { matchLabels: { target: 'yes' } } }],
          patchStrategicMerge: { metadata: { annotations: { 'stamped-by': '{{request.object.metadata.name}}' } } },
        },
      }],
    },
  }, { force: true });
  const stamp = async () => (((await configMap('pong', 'loop'))?.metadata as JsonObject).annotations as Record<string, string> | undefined)?.['stamped-by'];
  await until('pong stamped by ping', async () => {
    await cluster.client.apply(cm('ping', 'loop', {}), { force: true });
    return (await stamp()) === 'ping';
  });
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(await stamp(), 'ping', 'our own update of pong queued no work for the rule');
  await until('no UpdateRequest left', async () => (await cluster.client.list('kyverno.io/v2', 'UpdateRequest', 'kyverno-studio')).length === 0);
});
