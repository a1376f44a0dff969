/**
 * Two in-cluster replicas against a real kube-apiserver (local processes: no kubelet here).
 * Both answer admission; the leader work Kyverno gives to one replica per controller runs
 * on the holder of that controller's Lease only: exactly one holder per Lease, one background
 * scan, and a new leader after the leader is killed (within the lease duration) or stopped
 * (at once: it releases the Lease). A generate trigger admitted by one replica is generated
 * once, by the background leader.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import type { JsonObject } from '../../kube-api/client';
import { crdIndex, loadCrd } from '../../deploy/crds';
import { runDeploy } from '../../deploy/run';
import { LEASE_NAMES, leaseTimings } from '../../webhook/leader';
import { bundleWebhook, recordingUI, startCluster, type TestCluster } from './harness';
import { AUDIT_OWNER, configMap, startInClusterWebhook, waitFor, type InClusterWebhook } from './fixtures';

const NS = 'kyverno-studio';
let cluster: TestCluster;
let bundle = '';
const logs: Record<string, string> = { a: '', b: '' };
const children: Record<string, ChildProcess> = {};
const servers: Record<string, InClusterWebhook> = {};
const allLogs = () => Object.entries(logs).map(([k, v]) => `--- replica ${k}\n${v.slice(-2500)}`).join('\n');
const until = <T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs?: number) => waitFor(what, probe, allLogs, timeoutMs);

async function startReplica(name: 'a' | 'b'): Promise<void> {
  logs[name] += `--- started\n`;
  servers[name] = await startInClusterWebhook(bundle, cluster.kubeconfig, (c) => (logs[name] += c), ['--namespace', NS, '--report-interval-ms', '300', '--generate-success-events'], { KYVERNO_POD_NAME: `replica-${name}` });
  children[name] = servers[name].child;
}

function stopped(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
}

async function lease(name: string): Promise<JsonObject | undefined> {
  return cluster.client.get({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', name, namespace: NS });
}
const holder = async (name: string) => String(((await lease(name))?.spec as JsonObject | undefined)?.holderIdentity ?? '');

before(async () => {
  cluster = startCluster();
  const index = crdIndex();
  for (const e of index.filter((x) => x.group === 'kyverno.io' || x.group === 'wgpolicyk8s.io')) await cluster.client.apply(loadCrd(e), { force: true });
  await cluster.client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }, { force: true });
  await until('the CRDs to be served', async () => (cluster.client.forgetDiscovery(), await cluster.client.resourceFor('kyverno.io/v1', 'ClusterPolicy')) && (await cluster.client.resourceFor('wgpolicyk8s.io/v1alpha2', 'PolicyReport')));
  bundle = await bundleWebhook();
  await Promise.all([startReplica('a'), startReplica('b')]);
});

after(async () => {
  for (const c of Object.values(children)) c.kill('SIGKILL');
  cluster?.stop();
});

test('two replicas: one holder per Lease, one background scan, failover on kill within the lease duration, hand-over on stop', async () => {
  const timings = leaseTimings();
  assert.deepEqual(timings, { retryPeriodMs: 2000, leaseDurationMs: 12_000, renewDeadlineMs: 10_000 }, "Kyverno's defaults");
  const names = Object.values(LEASE_NAMES);
  const holders = await until('every Lease to have a holder', async () => {
    const h = await Promise.all(names.map(holder));
    return h.every((x) => x === 'replica-a' || x === 'replica-b') && h;
  });
  for (const name of names) {
    const spec = (await lease(name))!.spec as JsonObject;
    assert.equal(spec.leaseDurationSeconds, 12);
    assert.match(String(spec.renewTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, 'MicroTime');
  }
  // Each Lease stays with its holder while it renews; its log says it leads, the other's does not.
  await new Promise((r) => setTimeout(r, timings.leaseDurationMs / 2));
  assert.deepEqual(await Promise.all(names.map(holder)), holders, 'no flapping');
  names.forEach((name, i) => {
    const other = holders[i] === 'replica-a' ? 'b' : 'a';
    assert.match(logs[holders[i].slice(-1)], new RegExp(`leader election ${name}: replica-${holders[i].slice(-1)} started leading`));
    assert.doesNotMatch(logs[other], new RegExp(`leader election ${name}: replica-${other} started leading`));
  });

  // One background scan, by the reports leader; one report with the result.
  const cm = await cluster.client.create(configMap('existing', { team: 'a' }));
  await cluster.client.apply(AUDIT_OWNER, { force: true });
  const uid = String((cm.metadata as JsonObject).uid);
  const report = await until('the scan report', async () => {
    const r = await cluster.client.get({ apiVersion: 'wgpolicyk8s.io/v1alpha2', kind: 'PolicyReport', name: uid, namespace: 'default' });
    return ((r?.results ?? []) as JsonObject[]).some((x) => x.policy === 'audit-owner-annotation' && x.result === 'fail') && r;
  });
  assert.equal((report.results as JsonObject[]).length, 1);
  const scanLine = /background scan audit-owner-annotation: \d+ resource\(s\) evaluated/g;
  await new Promise((r) => setTimeout(r, 1000));
  const reportsLeader = await holder(LEASE_NAMES.reports);
  const scans = { a: (logs.a.match(scanLine) ?? []).length, b: (logs.b.match(scanLine) ?? []).length };
  assert.deepEqual(scans, reportsLeader === 'replica-a' ? { a: 1, b: 0 } : { a: 0, b: 1 }, 'scanned once, by the leader');

  // Kill the reports leader: the other replica takes every Lease it held once the lease expires.
  const leader = reportsLeader.slice(-1) as 'a' | 'b';
  const follower = leader === 'a' ? 'b' : 'a';
  const killedAt = Date.now();
  children[leader].kill('SIGKILL');
  await stopped(children[leader]);
  const mark = logs[follower].length;
  await until('the follower to take the reports Lease', async () => (await holder(LEASE_NAMES.reports)) === `replica-${follower}`, 30_000);
  const failoverMs = Date.now() - killedAt;
  // As in client-go, a candidate times the lease from when it last saw the record change (its
  // own clock): it reads at most 2.2 retry periods apart (jitter), so it may see the last
  // renewal that late, and tries again at most that long after the lease ran out.
  assert.ok(failoverMs <= timings.leaseDurationMs + 2 * 2.2 * timings.retryPeriodMs + 1000, `failover took ${failoverMs} ms`);
  assert.ok(failoverMs >= timings.leaseDurationMs - timings.retryPeriodMs - 500, `not before the lease ran out (${failoverMs} ms)`);
  process.stderr.write(`lease failover after SIGKILL: ${failoverMs} ms\n`);
  await until('every Lease to move to the follower', async () => (await Promise.all(names.map(holder))).every((h) => h === `replica-${follower}`), 30_000);
  assert.equal(Number(((await lease(LEASE_NAMES.reports))!.spec as JsonObject).leaseTransitions) >= 1, true);
  await until('the new leader to rescan', async () => (logs[follower].slice(mark).match(scanLine) ?? []).length > 0);

  // Restart the killed replica, then stop the leader gracefully: it releases, the other takes over at once.
  await startReplica(leader);
  await new Promise((r) => setTimeout(r, timings.retryPeriodMs * 2));
  assert.equal(await holder(LEASE_NAMES.reports), `replica-${follower}`, 'a new replica does not take a held Lease');
  const stoppedAt = Date.now();
  children[follower].kill('SIGTERM');
  await stopped(children[follower]);
  await until('the restarted replica to take the released Lease', async () => (await holder(LEASE_NAMES.reports)) === `replica-${leader}`, 20_000);
  const handoverMs = Date.now() - stoppedAt;
  process.stderr.write(`lease hand-over after SIGTERM: ${handoverMs} ms\n`);
  assert.ok(handoverMs < timings.leaseDurationMs - timings.retryPeriodMs, `released, not waited out (${handoverMs} ms)`);
});

/** Every Namespace labelled replicas=generate gets a ConfigMap `defaults`. */
const NAMESPACE_DEFAULTS: JsonObject = {
  apiVersion: 'kyverno.io/v1',
  kind: 'ClusterPolicy',
  metadata: { name: 'namespace-defaults' },
  spec: {
    rules: [{
      name: 'defaults',
      match: { any: [{ resources: { kinds: ['Namespace'], selector: { matchLabels: { replicas: 'generate' } } } }] },
      generate: { apiVersion: 'v1', kind: 'ConfigMap', name: 'defaults', namespace: '{{request.object.metadata.name}}', data: { data: { namespace: '{{request.object.metadata.name}}' } } },
    }],
  },
};

test('two replicas and generate: a trigger admitted by the follower is one UpdateRequest, processed once by the background leader: one downstream write, no conflict', async () => {
  for (const name of ['a', 'b'] as const) if (!children[name] || children[name].exitCode !== null || children[name].signalCode !== null) await startReplica(name);
  const bgLeader = (await until('a background leader', async () => {
    const h = await holder(LEASE_NAMES.background);
    return (h === 'replica-a' || h === 'replica-b') && h;
  })).slice(-1) as 'a' | 'b';
  const admitting = bgLeader === 'a' ? 'b' : 'a';
  // The API server calls the replica that does not lead the background controller.
  const deployMarks = { a: logs.a.length, b: logs.b.length };
  const ui = recordingUI();
  const r = await runDeploy({ client: cluster.client, ui, mode: 'local', policies: [NAMESPACE_DEFAULTS], localUrl: servers[admitting].url, certs: servers[admitting].certs, smokeCheck: false });
  assert.equal(r.outcome, 'deployed', `${r.error}\n${ui.lines.join('\n')}\n${allLogs()}`);
  const policyCount = (await cluster.client.list('kyverno.io/v1', 'ClusterPolicy')).length;
  await until('both replicas to serve the generate policy', async () => (['a', 'b'] as const).every((x) => logs[x].slice(deployMarks[x]).includes(`serving ${policyCount} policies from the cluster`)));

  // Every write of UpdateRequests and of the downstream, from before the trigger.
  const target = 'gen-two';
  const watching = new AbortController();
  const watchErrors: string[] = [];
  const urEvents: string[] = [];
  const urNames = new Set<string>();
  const downstreamEvents: Array<{ type: string; resourceVersion: string }> = [];
  const watchers = [
    cluster.client.watch(`/apis/kyverno.io/v2/namespaces/${NS}/updaterequests`, '', (e) => {
      if ((((e.object.spec ?? {}) as JsonObject).resource as JsonObject | undefined)?.name !== target) return;
      urEvents.push(e.type);
      urNames.add(String((e.object.metadata as JsonObject).name));
    }, watching.signal),
    cluster.client.watch(`/api/v1/namespaces/${target}/configmaps`, '', (e) => {
      const m = (e.object.metadata ?? {}) as JsonObject;
      if (m.name === 'defaults') downstreamEvents.push({ type: e.type, resourceVersion: String(m.resourceVersion) });
    }, watching.signal),
  ].map((w) => w.catch((e: Error) => void watchErrors.push(e.message)));
  const marks = { a: logs.a.length, b: logs.b.length };
  await new Promise((res) => setTimeout(res, 500));

  await cluster.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: target, labels: { replicas: 'generate' } } });
  const downstream = await until('the generated ConfigMap', () => cluster.client.get({ apiVersion: 'v1', kind: 'ConfigMap', name: 'defaults', namespace: target }));
  assert.deepEqual(downstream.data, { namespace: target });
  await until('the UpdateRequest to be processed and removed', async () => urEvents.includes('DELETED'));
  // Two lease retry periods more: a second processor would have written by then.
  await new Promise((res) => setTimeout(res, 2 * leaseTimings().retryPeriodMs));
  watching.abort();
  await Promise.all(watchers);
  assert.deepEqual(watchErrors, []);

  const since = { a: logs.a.slice(marks.a), b: logs.b.slice(marks.b) };
  const created = /generate: policy namespace-defaults rule defaults created ConfigMap gen-two\/defaults/g;
  assert.deepEqual(urEvents.filter((t) => t === 'ADDED'), ['ADDED'], `one UpdateRequest for the trigger: ${urEvents.join(', ')}`);
  const [urName] = [...urNames];
  const synced = new RegExp(`background: synced UpdateRequest ${urName}:`, 'g');
  assert.deepEqual({ [bgLeader]: (since[bgLeader].match(synced) ?? []).length, [admitting]: (since[admitting].match(synced) ?? []).length }, { [bgLeader]: 1, [admitting]: 0 }, 'processed once, by the background leader');
  assert.deepEqual(downstreamEvents.map((e) => e.type), ['ADDED'], 'one write of the downstream');
  assert.equal(downstreamEvents[0].resourceVersion, String((downstream.metadata as JsonObject).resourceVersion));
  assert.deepEqual({ [bgLeader]: (since[bgLeader].match(created) ?? []).length, [admitting]: (since[admitting].match(created) ?? []).length }, { [bgLeader]: 1, [admitting]: 0 }, 'generated by the background leader only');
  for (const x of ['a', 'b'] as const) assert.doesNotMatch(since[x], /conflict|already exists|409|generate: .*cannot|background: .*(failed|cannot)/i, `replica ${x}`);
  const applied = (await cluster.client.list('events.k8s.io/v1', 'Event', target)).filter((e) => e.reportingController === 'kyverno-generate' && ((e.regarding ?? {}) as JsonObject).name === 'defaults');
  assert.equal(applied.length, 1, 'one PolicyApplied event on the downstream');
  assert.equal(Number(((applied[0].series ?? {}) as JsonObject).count ?? 1), 1);
});
