/**
 * The cleanup controller against a real kube-apiserver, with two in-cluster replicas (local
 * processes): a ClusterCleanupPolicy on `*\/1 * * * *` deletes the ConfigMaps it selects and no
 * others and records its run in status.lastExecutionTime; a DeletingPolicy deletes what its CEL
 * conditions select; a `cleanup.kyverno.io/ttl` label deletes its object once expired (and not
 * before); only the holder of the `kyverno-cleanup-controller` Lease deletes. The schedules'
 * clock runs 10x faster (KYVERNO_STUDIO_CLEANUP_CLOCK_SPEEDUP): a cron minute lasts 6 s, with
 * the real cron semantics; the ttl label runs on the real clock.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JsonObject } from '../../kube-api/client';
import { crdIndex, loadCrd } from '../../deploy/crds';
import { LEASE_NAMES } from '../../webhook/leader';
import { bundleWebhook, startCluster, type TestCluster } from './harness';
import { configMap, startInClusterWebhook, waitFor } from './fixtures';

const NS = 'kyverno-studio';
const SPEEDUP = 10;
let cluster: TestCluster;
const logs: Record<string, string> = { a: '', b: '' };
const children: ChildProcess[] = [];
const allLogs = () => Object.entries(logs).map(([k, v]) => `--- replica ${k}\n${v.slice(-2500)}`).join('\n');
const until = <T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs?: number) => waitFor(what, probe, allLogs, timeoutMs);
const cm = (name: string) => cluster.client.get({ apiVersion: 'v1', kind: 'ConfigMap', name, namespace: 'default' });
const holder = async () => String((((await cluster.client.get({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', name: LEASE_NAMES.cleanup, namespace: NS }))?.spec ?? {}) as JsonObject).holderIdentity ?? '');

before(async () => {
  cluster = startCluster();
  for (const e of crdIndex().filter((x) => x.group === 'kyverno.io' || /DeletingPolicy$/.test(x.kind))) await cluster.client.apply(loadCrd(e), { force: true });
  await cluster.client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }, { force: true });
  await until('the CRDs to be served', async () => (cluster.client.forgetDiscovery(), await cluster.client.resourceFor('kyverno.io/v2', 'ClusterCleanupPolicy')) && (await cluster.client.resourceFor('policies.kyverno.io/v1', 'DeletingPolicy')));
  const bundle = await bundleWebhook();
  for (const name of ['a', 'b'] as const) {
    const { child } = await startInClusterWebhook(bundle, cluster.kubeconfig, (c) => (logs[name] += c), ['--namespace', NS, '--ttl-reconciliation-interval', '5s', '--generate-success-events'], {
      KYVERNO_POD_NAME: `replica-${name}`,
      KYVERNO_STUDIO_CLEANUP_CLOCK_SPEEDUP: String(SPEEDUP),
    });
    children.push(child);
  }
});

after(() => {
  if (process.env.KS_CLUSTER_LOG_DIR) for (const [k, v] of Object.entries(logs)) writeFileSync(join(process.env.KS_CLUSTER_LOG_DIR, `cleanup-replica-${k}.log`), v);
  for (const c of children) c.kill('SIGKILL');
  cluster?.stop();
});

test('cleanup policies, deleting policies and the ttl label delete what they select, on the cleanup leader only', async () => {
  // Resources first: a cleanup run deletes what exists when it runs.
  await cluster.client.create(configMap('purge-me', { purge: 'yes', env: 'dev' }));
  await cluster.client.create(configMap('purge-prod', { purge: 'yes', env: 'prod' }));
  await cluster.client.create(configMap('keep-me', { purge: 'yes', env: 'dev' }));
  await cluster.client.create(configMap('unlabelled'));
  await cluster.client.create(configMap('stale-one', { stale: 'true' }));
  await cluster.client.create(configMap('fresh-one', { stale: 'false' }));
  await cluster.client.create(configMap('ttl-soon', { 'cleanup.kyverno.io/ttl': '4s' }));
  await cluster.client.create(configMap('ttl-later', { 'cleanup.kyverno.io/ttl': '1h' }));
  await cluster.client.create(configMap('ttl-unreadable', { 'cleanup.kyverno.io/ttl': 'soonish' }));

  await cluster.client.apply({
    apiVersion: 'kyverno.io/v2',
    kind: 'ClusterCleanupPolicy',
    metadata: { name: 'purge-dev' },
    spec: {
      schedule: '*/1 * * * *',
      match: { any: [{ resources: { kinds: ['ConfigMap'], selector: { matchLabels: { purge: 'yes' } } } }] },
      exclude: { any: [{ resources: { names: ['keep-*'] } }] },
      conditions: { all: [{ key: '{{ target.metadata.labels.env }}', operator: 'Equals', value: 'dev' }] },
    },
  }, { force: true });
  // apiGroups ['*']: this 1.20 API server's CRD validation reads [''] as null.
  await cluster.client.apply({
    apiVersion: 'policies.kyverno.io/v1',
    kind: 'DeletingPolicy',
    metadata: { name: 'delete-stale' },
    spec: {
      schedule: '*/1 * * * *',
      matchConstraints: { resourceRules: [{ apiGroups: ['*'], apiVersions: ['v1'], resources: ['configmaps'], operations: ['*'] }] },
      conditions: [{ name: 'stale', expression: "has(object.metadata.labels) && object.metadata.labels[?'stale'].orValue('') == 'true'" }],
    },
  }, { force: true });

  // The ttl label: due 4 s after its creationTimestamp (whole seconds, as the API server records
  // it, so up to 1 s before the create call returned), on the real clock.
  const soon = await cm('ttl-soon');
  assert.ok(soon, 'not deleted before it expires');
  const createdAt = Date.parse(String((soon.metadata as JsonObject).creationTimestamp));
  await until('the expired ttl ConfigMap to go', async () => !(await cm('ttl-soon')), 45_000);
  const ttlMs = Date.now() - createdAt;
  assert.ok(ttlMs >= 4000, `deleted after its ttl (${ttlMs} ms after creationTimestamp)`);
  process.stderr.write(`ttl 4s: deleted after ${ttlMs} ms\n`);

  await until('the cleanup policy to delete purge-me', async () => !(await cm('purge-me')), 40_000);
  await until('the deleting policy to delete stale-one', async () => !(await cm('stale-one')), 40_000);
  for (const kept of ['purge-prod', 'keep-me', 'unlabelled', 'fresh-one', 'ttl-later', 'ttl-unreadable']) assert.ok(await cm(kept), `${kept} is kept`);

  // Each run is recorded in status.lastExecutionTime.
  const status = await until('lastExecutionTime', async () => {
    const p = await cluster.client.get({ apiVersion: 'kyverno.io/v2', kind: 'ClusterCleanupPolicy', name: 'purge-dev' });
    return ((p?.status ?? {}) as JsonObject).lastExecutionTime as string | undefined;
  });
  assert.match(status, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  await until('the DeletingPolicy lastExecutionTime', async () => {
    const p = await cluster.client.get({ apiVersion: 'policies.kyverno.io/v1', kind: 'DeletingPolicy', name: 'delete-stale' });
    return ((p?.status ?? {}) as JsonObject).lastExecutionTime;
  });

  // The schedule keeps running: a matching ConfigMap created now goes at a later run.
  await cluster.client.create(configMap('purge-later', { purge: 'yes', env: 'dev' }));
  await until('a later run to delete purge-later', async () => !(await cm('purge-later')), 40_000);

  // PolicyApplied events from kyverno-cleanup name the policy and the deleted resource
  // (written with generateSuccessEvents, as Kyverno's event generator decides for every source).
  const events = await until('cleanup events', async () => {
    // Events about cluster-scoped policies: kube-system on API servers before 1.22 (see events.ts).
    const list = [...(await cluster.client.list('events.k8s.io/v1', 'Event', 'default')), ...(await cluster.client.list('events.k8s.io/v1', 'Event', 'kube-system'))];
    const mine = list.filter((e) => e.reportingController === 'kyverno-cleanup');
    return mine.length >= 3 && mine;
  });
  const notes = events.map((e) => String(e.note));
  assert.ok(notes.includes('successfully cleaned up the target resource ConfigMap/default/purge-me'), notes.join('\n'));
  assert.ok(notes.includes('successfully deleted the target resource ConfigMap/default/stale-one'), notes.join('\n'));

  // Only the Lease holder ran anything.
  const leader = (await holder()).slice(-1) as 'a' | 'b';
  const follower = leader === 'a' ? 'b' : 'a';
  const runs = /cleanup: (ClusterCleanupPolicy purge-dev|DeletingPolicy delete-stale): run done/g;
  assert.ok((logs[leader].match(runs) ?? []).length >= 3, `the leader ran the policies\n${allLogs()}`);
  assert.equal((logs[follower].match(runs) ?? []).length, 0, 'the follower never runs them');
  assert.match(logs[leader], /ttl: ConfigMap default\/ttl-soon deleted/);
  assert.doesNotMatch(logs[follower], /ttl: ConfigMap default\/ttl-soon deleted/);
  assert.match(logs[leader], /failed to parse label cleanup\.kyverno\.io\/ttl=soonish/);
});
