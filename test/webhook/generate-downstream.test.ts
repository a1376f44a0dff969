/**
 * The primary's downstream generator (webhook/generate.ts) against an in-memory API server:
 * create when absent, synchronize, waiting for the trigger, retries, deletions, clone sources.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeError, type JsonObject } from '../../kube-api/client';
import { FakeApi } from './fake-api';
import type { AdmissionRequest } from '../../engine/core/types';
import { DownstreamGenerator, cloneSources, isTransient } from '../../webhook/generate';
import type { GeneratedItem } from '../../webhook/protocol';

const meta = (o: JsonObject) => (o.metadata ?? {}) as JsonObject;

const NS = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a', uid: 'uid-a' } };
const trigger = { apiVersion: 'v1', kind: 'Namespace', name: 'team-a', uid: 'uid-a' };
function downstream(data: Record<string, string> = { owner: 'a' }, uid = 'uid-a'): JsonObject {
  return {
    apiVersion: 'v1', kind: 'ConfigMap', data,
    metadata: {
      name: 'defaults', namespace: 'team-a',
      labels: { 'app.kubernetes.io/managed-by': 'kyverno', 'generate.kyverno.io/policy-name': 'p', 'generate.kyverno.io/policy-namespace': '', 'generate.kyverno.io/rule-name': 'r', 'generate.kyverno.io/trigger-kind': 'Namespace', 'generate.kyverno.io/trigger-namespace': '', 'generate.kyverno.io/trigger-uid': uid },
    },
  };
}
const create = (extra: Partial<Extract<GeneratedItem, { action: 'create' }>> = {}): GeneratedItem => ({
  action: 'create', policy: 'p', rule: 'r', synchronize: false, serverSideApply: false, operation: 'CREATE', trigger, resources: [downstream()], ...extra,
});

function setup(options: Partial<ConstructorParameters<typeof DownstreamGenerator>[0]> = {}) {
  const api = new FakeApi();
  const lines: string[] = [];
  const gen = new DownstreamGenerator({ client: api, log: (l) => lines.push(l), backoffMs: 1, triggerWaitMs: 200, ...options });
  return { api, lines, gen };
}

test('creates the downstream once the trigger is stored; an existing one is left alone without synchronize', async () => {
  const { api, lines, gen } = setup();
  api.put(NS);
  gen.add([create()]);
  await gen.idle();
  assert.deepEqual(api.find('ConfigMap', 'defaults', 'team-a')?.data, { owner: 'a' });
  assert.match(lines.join('\n'), /policy p rule r created ConfigMap team-a\/defaults for Namespace team-a/);
  gen.add([create({ resources: [downstream({ owner: 'changed' })] })]);
  await gen.idle();
  assert.deepEqual(api.find('ConfigMap', 'defaults', 'team-a')?.data, { owner: 'a' }, 'not overwritten');
  assert.equal(api.calls.filter((c) => c.startsWith('apply')).length, 0);
});

test('with synchronize an existing downstream is replaced by ours, unless it already carries our fields', async () => {
  const { api, lines, gen } = setup();
  api.put(NS);
  api.put({ ...downstream({ owner: 'edited by hand' }), metadata: { ...(downstream().metadata as JsonObject), resourceVersion: '5' } });
  // Someone writes in between our read and our write: the conflict is read again and retried.
  api.failures.replace = [new KubeError(409, 'Conflict', 'the object has been modified')];
  gen.add([create({ synchronize: true, operation: 'UPDATE' })]);
  await gen.idle();
  assert.deepEqual(api.find('ConfigMap', 'defaults', 'team-a')?.data, { owner: 'a' });
  assert.equal(api.calls.filter((c) => c === 'replace ConfigMap/team-a/defaults').length, 2);
  assert.ok(!api.calls.some((c) => c.startsWith('get Namespace')), 'an UPDATE does not wait for its trigger');
  assert.equal(lines.filter((l) => /synchronized ConfigMap team-a\/defaults/.test(l)).length, 1);
  // Extra fields someone added do not make it differ (Kyverno matches ours as a pattern).
  const live = api.find('ConfigMap', 'defaults', 'team-a')!;
  api.put({ ...live, data: { owner: 'a', extra: 'kept' } });
  api.calls.length = 0;
  gen.add([create({ synchronize: true, operation: 'UPDATE' })]);
  await gen.idle();
  assert.deepEqual(api.calls.filter((c) => c.startsWith('replace')), []);
  assert.deepEqual(api.find('ConfigMap', 'defaults', 'team-a')?.data, { owner: 'a', extra: 'kept' });
});

test('useServerSideApply creates by apply, and still skips an existing object without synchronize', async () => {
  const { api, gen } = setup();
  api.put(NS);
  gen.add([create({ serverSideApply: true })]);
  await gen.idle();
  assert.ok(api.calls.includes('apply-force ConfigMap/team-a/defaults'));
  api.calls.length = 0;
  gen.add([create({ serverSideApply: true, resources: [downstream({ owner: 'new' })] })]);
  await gen.idle();
  assert.deepEqual(api.find('ConfigMap', 'defaults', 'team-a')?.data, { owner: 'a' });
  assert.deepEqual(api.calls.filter((c) => !c.startsWith('get')), []);
});

test('a trigger that never gets stored (refused later in admission) generates nothing', async () => {
  const { api, lines, gen } = setup({ triggerWaitMs: 50 });
  gen.add([create()]);
  await gen.idle();
  assert.equal(api.find('ConfigMap', 'defaults', 'team-a'), undefined);
  assert.match(lines.join('\n'), /policy p rule r: Namespace team-a was not stored .*nothing generated/);
  // A trigger with another UID is another object: not ours either.
  api.put({ ...NS, metadata: { name: 'team-a', uid: 'other' } });
  gen.add([create()]);
  await gen.idle();
  assert.equal(api.find('ConfigMap', 'defaults', 'team-a'), undefined);
});

test('transient errors are retried with backoff; a refusal is one log line naming policy, rule and object', async () => {
  const { api, lines, gen } = setup();
  api.put(NS);
  api.failures.create = [new KubeError(503, 'ServiceUnavailable', 'busy'), new Error('socket hang up')];
  gen.add([create()]);
  await gen.idle();
  assert.ok(api.find('ConfigMap', 'defaults', 'team-a'));
  assert.equal(api.calls.filter((c) => c.startsWith('create')).length, 3);
  api.objects.delete('ConfigMap/team-a/defaults');
  api.failures.create = [new KubeError(403, 'Forbidden', 'configmaps is forbidden: User "system:serviceaccount:x" cannot create')];
  gen.add([create()]);
  await gen.idle();
  const failures = lines.filter((l) => l.includes('cannot'));
  assert.deepEqual(failures, ['generate: policy p rule r: cannot create ConfigMap team-a/defaults: configmaps is forbidden: User "system:serviceaccount:x" cannot create']);
  assert.equal(isTransient(new KubeError(429, 'TooManyRequests', '')), true);
  assert.equal(isTransient(new KubeError(422, 'Invalid', '')), false);
  assert.equal(isTransient(new KubeError(409, 'AlreadyExists', '')), false);
});

test('a retry that keeps failing gives up after the configured attempts', async () => {
  const { api, lines, gen } = setup({ attempts: 3 });
  api.put(NS);
  api.failures.create = Array.from({ length: 5 }, () => new KubeError(500, 'InternalError', 'etcd timeout'));
  gen.add([create()]);
  await gen.idle();
  assert.equal(api.calls.filter((c) => c.startsWith('create')).length, 3);
  assert.equal(lines.filter((l) => /cannot create ConfigMap team-a\/defaults: etcd timeout/.test(l)).length, 1);
});

test('deletions touch only the downstream of this policy, rule and trigger', async () => {
  const { api, gen } = setup();
  api.put(downstream());
  const del: GeneratedItem = { action: 'delete', policy: 'p', rule: 'r', trigger, resources: [downstream()] };
  api.put({ ...downstream(), metadata: { name: 'mine-by-hand', namespace: 'team-a' } });
  gen.add([del, { ...del, resources: [{ ...downstream(), metadata: { name: 'mine-by-hand', namespace: 'team-a', labels: (downstream().metadata as JsonObject).labels } }] }]);
  await gen.idle();
  assert.equal(api.find('ConfigMap', 'defaults', 'team-a'), undefined);
  assert.ok(api.find('ConfigMap', 'mine-by-hand', 'team-a'), 'an object without our labels stays');
  api.put(downstream({ owner: 'a' }, 'another-trigger'));
  gen.add([del]);
  await gen.idle();
  assert.ok(api.find('ConfigMap', 'defaults', 'team-a'), 'generated for another trigger: stays');
});

test('the queue is bounded: work beyond it is dropped with a log line', async () => {
  const { api, lines, gen } = setup({ maxQueue: 2, concurrency: 1 });
  api.put(NS);
  const names = ['a', 'b', 'c', 'd', 'e'];
  gen.add(names.map((n) => create({ policy: `p-${n}`, resources: [{ ...downstream(), metadata: { ...(downstream().metadata as JsonObject), name: n } }] })));
  await gen.idle();
  assert.deepEqual(names.filter((n) => api.find('ConfigMap', n, 'team-a')), ['a', 'b']);
  assert.deepEqual(lines.filter((l) => /queue full/.test(l)).map((l) => /policy (\S+)/.exec(l)?.[1]), ['p-c', 'p-d', 'p-e']);
});

test('clone policies are evaluated again with their sources fetched from the API server', async () => {
  const { api, lines, gen } = setup();
  api.put(NS);
  api.put({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'regcred', namespace: 'default', uid: 's1', resourceVersion: '7' }, data: { token: 'eA==' } });
  api.put({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'tls', namespace: 'default', labels: { copy: 'yes' } }, data: {} });
  api.put({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'private', namespace: 'default' }, data: {} });
  const policy: JsonObject = {
    apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'copy' },
    spec: {
      rules: [
        { name: 'one', match: { any: [{ resources: { kinds: ['Namespace'] } }] }, generate: { apiVersion: 'v1', kind: 'Secret', name: 'regcred', namespace: '{{request.object.metadata.name}}', clone: { namespace: 'default', name: 'regcred' } } },
        { name: 'many', match: { any: [{ resources: { kinds: ['Namespace'] } }] }, generate: { namespace: '{{request.object.metadata.name}}', cloneList: { namespace: 'default', kinds: ['Secret'], selector: { matchLabels: { copy: 'yes' } } } } },
      ],
    },
  };
  const request: AdmissionRequest = { operation: 'CREATE', object: NS, oldObject: null, kind: { group: '', version: 'v1', kind: 'Namespace' }, requestInfo: { roles: [], clusterRoles: [], userInfo: { groups: [] } } };
  gen.add([{ action: 'request', type: 'generate', policy, rules: ['one', 'many'], request }]);
  await gen.idle();
  const copy = api.find('Secret', 'regcred', 'team-a');
  assert.deepEqual(copy?.data, { token: 'eA==' }, lines.join('\n'));
  assert.equal(meta(copy!).uid, undefined, 'server-set fields are not copied');
  assert.equal(((meta(copy!).labels ?? {}) as JsonObject)['generate.kyverno.io/policy-name'], 'copy');
  assert.ok(api.find('Secret', 'tls', 'team-a'), 'cloneList copies what its selector picks');
  assert.equal(api.find('Secret', 'private', 'team-a'), undefined);
  assert.ok(api.calls.includes('get Secret/default/regcred'), 'a literal clone source is one GET');
  assert.ok(api.calls.includes('list Secret/default'), 'a cloneList lists its source namespace');
});

test('clone sources named by variables are listed across namespaces; unresolvable kinds are reported', async () => {
  const api = new FakeApi();
  const lines: string[] = [];
  api.put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'base', namespace: 'templates' }, data: {} });
  const policy: JsonObject = {
    apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'vars' },
    spec: { rules: [
      { name: 'v', match: {}, generate: { apiVersion: 'v1', kind: 'ConfigMap', name: 'x', namespace: 'y', clone: { namespace: '{{request.object.metadata.labels.from}}', name: 'base' } } },
      { name: 'w', match: {}, generate: { namespace: 'y', cloneList: { namespace: 'default', kinds: ['Widget'] } } },
    ] },
  };
  const found = await cloneSources(api, policy, (l) => lines.push(l));
  assert.deepEqual(found.map((o) => meta(o).name), ['base']);
  assert.ok(api.calls.includes('list ConfigMap/*'));
  assert.match(lines.join('\n'), /cloneList kind Widget needs its apiVersion/);
});
