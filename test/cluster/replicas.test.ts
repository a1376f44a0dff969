/**
 * Two in-cluster replicas against a real kube-apiserver (local processes: no kubelet here).
 * Both answer admission; the leader work Kyverno gives to one replica per controller runs
 * on the holder of that controller's Lease only: exactly one holder per Lease, one background
 * scan, and a new leader after the leader is killed (within the lease duration) or stopped
 * (at once: it releases the Lease).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import type { JsonObject } from '../../kube-api/client';
import { crdIndex, loadCrd } from '../../deploy/crds';
import { LEASE_NAMES, leaseTimings } from '../../webhook/leader';
import { bundleWebhook, startCluster, type TestCluster } from './harness';
import { AUDIT_OWNER, configMap, startInClusterWebhook, waitFor } from './fixtures';

const NS = 'kyverno-studio';
let cluster: TestCluster;
let bundle = '';
const logs: Record<string, string> = { a: '', b: '' };
const children: Record<string, ChildProcess> = {};
const allLogs = () => Object.entries(logs).map(([k, v]) => `--- replica ${k}\n${v.slice(-2500)}`).join('\n');
const until = <T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs?: number) => waitFor(what, probe, allLogs, timeoutMs);

async function startReplica(name: 'a' | 'b'): Promise<void> {
  logs[name] += `--- started\n`;
  const { child } = await startInClusterWebhook(bundle, cluster.kubeconfig, (c) => (logs[name] += c), ['--namespace', NS, '--report-interval-ms', '300'], { KYVERNO_POD_NAME: `replica-${name}` });
  children[name] = child;
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
