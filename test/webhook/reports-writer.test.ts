/** ReportWriter against an in-memory API server: batching, pruning, migration, sweeping. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeError, type KubeClient, type ObjectRef } from '../../kube-api/client';
import { ReportWriter, type ReportItem, type ReportWriterOptions } from '../../webhook/reports';

type Json = Record<string, unknown>;
const LABELS = { 'app.kubernetes.io/managed-by': 'kyverno-studio' };
const REPORTS = 'wgpolicyk8s.io/v1alpha2';

/** Just enough of KubeClient: get/list/apply/delete over a map, with resourceVersions. */
class FakeApi {
  objects = new Map<string, Json>();
  calls: string[] = [];
  private rv = 1;
  /** Runs before an apply is stored; may change the store (another writer) or throw. */
  beforeApply?: (obj: Json) => void;

  private key(apiVersion: string, kind: string, namespace: string | undefined, name: string): string {
    return `${apiVersion}|${kind}|${namespace ?? ''}|${name}`;
  }

  put(o: Json, created = '2020-01-01T00:00:00Z'): Json {
    const m = o.metadata as Json;
    const stored = { ...o, metadata: { creationTimestamp: created, ...m, resourceVersion: String(this.rv++) } };
    this.objects.set(this.key(String(o.apiVersion), String(o.kind), m.namespace as string | undefined, String(m.name)), stored);
    return stored;
  }

  report(kind: string, name: string, namespace?: string): Json | undefined {
    return this.objects.get(this.key(REPORTS, kind, namespace, name));
  }

  reports(): Json[] {
    return [...this.objects.values()].filter((o) => o.apiVersion === REPORTS);
  }

  writes(): string[] {
    return this.calls.filter((c) => !c.startsWith('get ') && !c.startsWith('list '));
  }

  client(): KubeClient {
    const api = this;
    return {
      async get(ref: ObjectRef) {
        api.calls.push(`get ${ref.kind} ${ref.namespace ?? ''}/${ref.name}`);
        return api.objects.get(api.key(ref.apiVersion, ref.kind, ref.namespace, ref.name));
      },
      async list(apiVersion: string, kind: string, namespace?: string, selector?: string) {
        api.calls.push(`list ${kind}`);
        const [k, v] = (selector ?? '=').split('=');
        return [...api.objects.values()].filter((o) => {
          const m = o.metadata as Json;
          return o.apiVersion === apiVersion && o.kind === kind && (!namespace || m.namespace === namespace) && (!k || ((m.labels ?? {}) as Json)[k] === v);
        });
      },
      async apply(o: Json) {
        const m = o.metadata as Json;
        api.calls.push(`apply ${String(o.kind)} ${String(m.namespace ?? '')}/${String(m.name)}`);
        api.beforeApply?.(o);
        const current = api.objects.get(api.key(String(o.apiVersion), String(o.kind), m.namespace as string | undefined, String(m.name)));
        if (m.resourceVersion !== undefined && (current?.metadata as Json | undefined)?.resourceVersion !== m.resourceVersion) {
          throw new KubeError(409, 'Conflict', 'the object has been modified');
        }
        const { resourceVersion: _ignored, ...meta } = m;
        return api.put({ ...o, metadata: { ...meta, ...(current ? { creationTimestamp: (current.metadata as Json).creationTimestamp } : {}) } });
      },
      async delete(ref: ObjectRef) {
        api.calls.push(`delete ${ref.kind} ${ref.namespace ?? ''}/${ref.name}`);
        return api.objects.delete(api.key(ref.apiVersion, ref.kind, ref.namespace, ref.name));
      },
    } as unknown as KubeClient;
  }
}

function cm(name: string, uid?: string, namespace = 'default'): Json {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, ...(uid ? { uid } : {}) } };
}

function item(policy: string, rule: string, status: string, resource: Json, time = 100): ReportItem {
  return { policy, rule, status, message: `${policy}/${rule}: ${status}`, resource, time };
}

function cpol(name: string, ...rules: string[]): Json {
  return {
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name },
    spec: { rules: rules.map((r) => ({ name: r, match: { any: [{ resources: { kinds: ['ConfigMap'] } }] }, validate: { pattern: { metadata: { name: '?*' } } } })) },
  };
}

function results(report: Json | undefined): string[] {
  return ((report?.results ?? []) as Json[]).map((r) => `${String(r.policy)}/${String(r.rule)}=${String(r.result)}`);
}

function writer(api: FakeApi, options: ReportWriterOptions = {}, log: string[] = []): ReportWriter {
  return new ReportWriter(api.client(), (l) => log.push(l), 60_000, { sweepIntervalMs: 0, ...options });
}

test('one report per resource; each touched report gets one read and one write per flush', async () => {
  const api = new FakeApi();
  const w = writer(api);
  const a = cm('a', 'uid-a');
  const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team', uid: 'uid-ns' } };
  w.add([item('p', 'r', 'fail', a, 100), item('q', 'r', 'pass', a, 100), item('p', 'r', 'pass', a, 101)]);
  w.add([item('p', 'r', 'fail', ns)]);
  await w.flush();
  assert.deepEqual(api.calls.sort(), ['apply ClusterPolicyReport /uid-ns', 'apply PolicyReport default/uid-a', 'get ClusterPolicyReport /uid-ns', 'get PolicyReport default/uid-a']);
  const ra = api.report('PolicyReport', 'uid-a', 'default')!;
  assert.deepEqual(results(ra), ['p/r=pass', 'q/r=pass'], 'coalesced: the newest result per (policy, rule)');
  assert.deepEqual(ra.scope, { apiVersion: 'v1', kind: 'ConfigMap', name: 'a', namespace: 'default', uid: 'uid-a' });
  assert.deepEqual((ra.metadata as Json).ownerReferences, [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'a', uid: 'uid-a' }]);
  assert.deepEqual(ra.summary, { pass: 2, fail: 0, warn: 0, error: 0, skip: 0 });
  assert.deepEqual(results(api.report('ClusterPolicyReport', 'uid-ns')), ['p/r=fail']);

  api.calls = [];
  await w.flush();
  assert.deepEqual(api.calls, [], 'nothing pending, nothing written');
  w.add([item('p', 'r', 'fail', a, 200)]);
  await w.flush();
  assert.deepEqual(results(api.report('PolicyReport', 'uid-a', 'default')), ['p/r=fail', 'q/r=pass'], 'merged with what is stored');
});

test("--allowed-results (Kyverno's --allowedResults): only results of those statuses are written; a resource left with none gets no report", async () => {
  const api = new FakeApi();
  const w = writer(api, { allowedResults: ['fail'] });
  const bad = cm('bad', 'uid-bad');
  const good = cm('good', 'uid-good');
  w.add([item('p', 'r', 'fail', bad), item('p', 'other', 'pass', bad), item('p', 'r', 'pass', good), item('p', 'w', 'warn', good)]);
  await w.flush();
  assert.deepEqual(api.reports().map((r) => (r.metadata as Json).name), ['uid-bad']);
  assert.deepEqual(results(api.report('PolicyReport', 'uid-bad', 'default')), ['p/r=fail']);
});

test("--openreports-enabled (Kyverno's --openreportsEnabled): the same reports as openreports.io Report and ClusterReport", async () => {
  const api = new FakeApi();
  const w = writer(api, { openreports: true });
  await w.start();
  await w.retainPolicies([cpol('p', 'r')]);
  const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team', uid: 'uid-ns' } };
  w.add([item('p', 'r', 'fail', cm('a', 'uid-a')), item('p', 'r', 'pass', ns)]);
  await w.flush();
  assert.deepEqual(api.calls.filter((c) => c.startsWith('apply')).sort(), ['apply ClusterReport /uid-ns', 'apply Report default/uid-a']);
  const stored = [...api.objects.values()].filter((o) => o.apiVersion === 'openreports.io/v1alpha1');
  assert.equal(stored.length, 2);
  assert.deepEqual(api.reports(), [], 'no wgpolicyk8s.io report');
  const report = stored.find((o) => o.kind === 'Report')!;
  assert.deepEqual(results(report), ['p/r=fail']);
  assert.deepEqual(report.summary, { pass: 0, fail: 1, warn: 0, error: 0, skip: 0 });
  // Maintenance finds and prunes its own kind.
  await w.retainPolicies([]);
  assert.equal([...api.objects.values()].filter((o) => o.apiVersion === 'openreports.io/v1alpha1').length, 0);
});

test("reports managed by someone else (Kyverno's own use the same names) are left alone", async () => {
  const api = new FakeApi();
  const log: string[] = [];
  const w = writer(api, {}, log);
  const theirs = api.put({ apiVersion: REPORTS, kind: 'PolicyReport', metadata: { name: 'uid-a', namespace: 'default', labels: { 'app.kubernetes.io/managed-by': 'kyverno' } }, results: [] });
  w.add([item('p', 'r', 'fail', cm('a', 'uid-a'))]);
  await w.flush();
  w.add([item('p', 'r', 'fail', cm('a', 'uid-a'))]);
  await w.flush();
  assert.deepEqual(api.writes(), []);
  assert.equal(api.report('PolicyReport', 'uid-a', 'default'), theirs);
  assert.equal(log.filter((l) => /managed by someone else/.test(l)).length, 1, 'said once');
});

test('retainPolicies: removed policies and rules leave every report; emptied reports are deleted', async () => {
  const api = new FakeApi();
  const w = writer(api);
  await w.start();
  await w.retainPolicies([cpol('keep', 'r', 'old'), cpol('drop', 'r')]);
  w.add([item('keep', 'r', 'pass', cm('a', 'uid-a')), item('keep', 'old', 'fail', cm('a', 'uid-a')), item('drop', 'r', 'fail', cm('a', 'uid-a'))]);
  w.add([item('drop', 'r', 'fail', cm('b', 'uid-b'))]);
  await w.flush();
  assert.deepEqual(results(api.report('PolicyReport', 'uid-a', 'default')), ['drop/r=fail', 'keep/old=fail', 'keep/r=pass']);

  api.calls = [];
  await w.retainPolicies([cpol('keep', 'r', 'old'), cpol('drop', 'r'), cpol('new', 'r')]);
  assert.deepEqual(api.calls, [], 'adding a policy removes nothing: no listing');

  w.add([item('drop', 'r', 'fail', cm('c', 'uid-c'))]);
  await w.retainPolicies([cpol('keep', 'r')]);
  assert.deepEqual(results(api.report('PolicyReport', 'uid-a', 'default')), ['keep/r=pass']);
  assert.equal(api.report('PolicyReport', 'uid-b', 'default'), undefined, 'emptied, deleted');
  assert.deepEqual(api.report('PolicyReport', 'uid-a', 'default')!.summary, { pass: 1, fail: 0, warn: 0, error: 0, skip: 0 });
  await w.flush();
  assert.equal(api.report('PolicyReport', 'uid-c', 'default'), undefined, 'pending results of a removed policy are not written');
});

test('the leader prunes what was left while the webhook was down; followers never prune', async () => {
  const api = new FakeApi();
  api.put({ apiVersion: REPORTS, kind: 'PolicyReport', metadata: { name: 'uid-a', namespace: 'default', labels: LABELS }, scope: cm('a', 'uid-a'), results: [{ policy: 'gone', rule: 'r', result: 'fail' }] });
  api.put({ apiVersion: REPORTS, kind: 'PolicyReport', metadata: { name: 'uid-k', namespace: 'default', labels: { 'app.kubernetes.io/managed-by': 'kyverno' } }, results: [{ policy: 'gone', rule: 'r', result: 'fail' }] });
  const follower = writer(api);
  await follower.retainPolicies([cpol('other', 'r')]);
  assert.ok(api.report('PolicyReport', 'uid-a', 'default'), 'a replica that does not lead the reports Lease prunes nothing');
  await follower.start();
  assert.equal(api.report('PolicyReport', 'uid-a', 'default'), undefined, 'on becoming leader it prunes with the policies it knows');
  follower.stopMaintenance();
  api.put({ apiVersion: REPORTS, kind: 'PolicyReport', metadata: { name: 'uid-b', namespace: 'default', labels: LABELS }, scope: cm('b', 'uid-b'), results: [{ policy: 'other', rule: 'r', result: 'fail' }] });
  await follower.retainPolicies([]);
  assert.ok(api.report('PolicyReport', 'uid-b', 'default'), 'after losing the lease it prunes nothing again');
  assert.ok(api.report('PolicyReport', 'uid-k', 'default'), "Kyverno's reports are not ours to prune");
});

test('start: the per-namespace reports of the earlier layout are deleted, nothing else', async () => {
  const api = new FakeApi();
  api.put({ apiVersion: REPORTS, kind: 'PolicyReport', metadata: { name: 'kyverno-studio', namespace: 'default', labels: LABELS }, results: [] });
  api.put({ apiVersion: REPORTS, kind: 'PolicyReport', metadata: { name: 'kyverno-studio', namespace: 'other', labels: LABELS }, results: [] });
  api.put({ apiVersion: REPORTS, kind: 'ClusterPolicyReport', metadata: { name: 'kyverno-studio', labels: LABELS }, results: [] });
  api.put({ apiVersion: REPORTS, kind: 'PolicyReport', metadata: { name: 'kyverno-studio', namespace: 'k', labels: { 'app.kubernetes.io/managed-by': 'kyverno' } }, results: [] });
  api.put({ apiVersion: REPORTS, kind: 'PolicyReport', metadata: { name: 'uid-a', namespace: 'default', labels: LABELS }, scope: cm('a', 'uid-a'), results: [{ policy: 'p', rule: 'r', result: 'pass' }] });
  const log: string[] = [];
  await writer(api, {}, log).start();
  assert.deepEqual(api.reports().map((r) => `${String(r.kind)} ${String((r.metadata as Json).namespace ?? '')}/${String((r.metadata as Json).name)}`).sort(), [
    'PolicyReport default/uid-a',
    'PolicyReport k/kyverno-studio',
  ]);
  assert.ok(log.some((l) => /removed 3 per-namespace report/.test(l)), log.join('\n'));
});

test('sweep: reports of deleted resources go, young ones wait, UID-less ones are re-keyed by UID', async () => {
  const api = new FakeApi();
  const w = writer(api, { sweepGraceMs: 60_000 });
  api.put(cm('live', 'uid-live'));
  api.put(cm('named', 'uid-named'));
  w.add([item('p', 'r', 'fail', cm('live', 'uid-live')), item('p', 'r', 'fail', cm('gone', 'uid-gone'))]);
  w.add([item('p', 'r', 'fail', cm('named')), item('p', 'r', 'pass', cm('vanished'))]);
  await w.flush();
  assert.ok(api.report('PolicyReport', 'configmap-named', 'default'), 'written by name while the UID is unknown');
  // A result for the same resource written since with its UID, in the same second: the re-keyed one must not replace it.
  const sameSecond = cm('twice');
  api.put(cm('twice', 'uid-twice'));
  w.add([item('q', 'r', 'fail', sameSecond, 100)]);
  await w.flush();
  w.add([item('q', 'r', 'pass', cm('twice', 'uid-twice'), 100)]);
  await w.flush();
  const young = api.put({ apiVersion: REPORTS, kind: 'PolicyReport', metadata: { name: 'uid-young', namespace: 'default', labels: LABELS }, scope: cm('young', 'uid-young'), results: [{ policy: 'p', rule: 'r', result: 'pass' }] }, new Date().toISOString());

  const log: string[] = [];
  const sweeper = writer(api, { sweepGraceMs: 60_000 }, log);
  await sweeper.sweep();
  assert.deepEqual(api.reports().map((r) => (r.metadata as Json).name).sort(), ['uid-live', 'uid-named', 'uid-twice', 'uid-young']);
  assert.deepEqual(results(api.report('PolicyReport', 'uid-twice', 'default')), ['q/r=pass'], 'the result written with the UID stays');
  assert.equal(api.report('PolicyReport', 'uid-young', 'default'), young, 'too young to judge');
  const rekeyed = api.report('PolicyReport', 'uid-named', 'default')!;
  assert.deepEqual(results(rekeyed), ['p/r=fail']);
  assert.deepEqual((rekeyed.metadata as Json).ownerReferences, [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'named', uid: 'uid-named' }]);
  assert.ok(log.some((l) => /2 report\(s\) of deleted resources removed, 2 re-keyed/.test(l)), log.join('\n'));
  assert.equal(api.calls.filter((c) => c === 'list ConfigMap').length, 1, 'one list per kind, not a read per report');
});

test('sweep deletes a bounded number of reports per pass', async () => {
  const api = new FakeApi();
  for (let i = 0; i < 5; i++) api.put({ apiVersion: REPORTS, kind: 'PolicyReport', metadata: { name: `uid-${i}`, namespace: 'default', labels: LABELS }, scope: cm(`c${i}`, `uid-${i}`), results: [] });
  const w = writer(api, { maxSweepDeletes: 2 });
  await w.sweep();
  assert.equal(api.reports().length, 3);
  await w.sweep();
  await w.sweep();
  assert.equal(api.reports().length, 0);
});

test('a concurrent write (another replica) is not lost: the write carries the resourceVersion and retries once', async () => {
  const api = new FakeApi();
  const w = writer(api);
  w.add([item('p', 'r', 'fail', cm('a', 'uid-a'))]);
  await w.flush();
  let raced = false;
  api.beforeApply = () => {
    if (raced) return;
    raced = true;
    const current = api.report('PolicyReport', 'uid-a', 'default')!;
    api.put({ ...current, results: [...(current.results as Json[]), { policy: 'other', rule: 'r', result: 'pass', timestamp: { seconds: 150 } }] });
  };
  w.add([item('p', 'r', 'pass', cm('a', 'uid-a'), 200)]);
  await w.flush();
  assert.deepEqual(results(api.report('PolicyReport', 'uid-a', 'default')), ['other/r=pass', 'p/r=pass']);
  assert.equal(api.calls.filter((c) => c.startsWith('apply')).length, 3, 'first write, conflicting write, retry');
});

test('pending reports are bounded; failures are logged, never thrown; the timer flushes; close flushes', async () => {
  const api = new FakeApi();
  const log: string[] = [];
  const w = writer(api, { maxPendingReports: 2 }, log);
  w.add([item('p', 'r', 'fail', cm('a', 'uid-a')), item('p', 'r', 'fail', cm('b', 'uid-b')), item('p', 'r', 'fail', cm('c', 'uid-c')), item('p', 'r', 'pass', cm('a', 'uid-a', 'default'), 300)]);
  assert.equal(log.filter((l) => /dropped/.test(l)).length, 1);
  api.beforeApply = (o) => {
    if ((o.metadata as Json).name === 'uid-b') throw new Error('boom');
  };
  await w.close();
  assert.deepEqual(results(api.report('PolicyReport', 'uid-a', 'default')), ['p/r=pass'], 'results for a pending report are still taken');
  assert.equal(api.report('PolicyReport', 'uid-c', 'default'), undefined);
  assert.ok(log.some((l) => /1 of 2 report writes failed; first: boom/.test(l)), log.join('\n'));

  const timed = new ReportWriter(api.client(), () => {}, 20, { sweepIntervalMs: 0 });
  timed.add([item('p', 'r', 'fail', cm('t', 'uid-t'))]);
  const deadline = Date.now() + 5000;
  while (!api.report('PolicyReport', 'uid-t', 'default') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.ok(api.report('PolicyReport', 'uid-t', 'default'), 'written by the interval timer');
});

test("a background scan of a policy on a resource replaces that policy's results there; others stay", async () => {
  const api = new FakeApi();
  const w = writer(api);
  const a = cm('a', 'uid-a');
  const vap = (status: string, time: number): ReportItem => ({ policy: 'p', policyKind: 'ValidatingAdmissionPolicy', rule: 'p', status, message: '', resource: a, time });
  w.add([item('p', 'r', 'pass', a), item('q', 'r', 'fail', a)]);
  w.add([vap('fail', 100)], { resource: a, policy: 'p', policyKind: 'ValidatingAdmissionPolicy' });
  await w.flush();
  assert.deepEqual(results(api.report('PolicyReport', 'uid-a', 'default')), ['p/p=fail', 'p/r=pass', 'q/r=fail']);
  // The binding no longer selects the resource: the scan gives nothing, and the VAP's result goes (the ClusterPolicy p's stays: another source).
  w.add([], { resource: a, policy: 'p', policyKind: 'ValidatingAdmissionPolicy' });
  await w.flush();
  assert.deepEqual(results(api.report('PolicyReport', 'uid-a', 'default')), ['p/r=pass', 'q/r=fail']);
  // A rule that no longer gives a result on a rescan of the ClusterPolicy goes too.
  w.add([item('q', 'other', 'pass', a, 300)], { resource: a, policy: 'q' });
  await w.flush();
  assert.deepEqual(results(api.report('PolicyReport', 'uid-a', 'default')), ['p/r=pass', 'q/other=pass']);
  // Results pending from before the rescan are superseded as well; an emptied report is deleted.
  const b = cm('b', 'uid-b');
  w.add([item('z', 'r', 'fail', b)]);
  w.add([], { resource: b, policy: 'z' });
  await w.flush();
  assert.equal(api.report('PolicyReport', 'uid-b', 'default'), undefined);
});
