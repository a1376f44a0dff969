// MutatingAdmissionPolicy as the Kyverno CLI evaluates it (pkg/admissionpolicy/mutate.go).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyCelPolicy } from '../../engine/cel/index';
import { mutateAdmissionRequest } from '../../engine/cel/mutating-admission-policy';
import { mergeApplyConfiguration } from '../../engine/cel/apply-configuration';
import { selectBindingParams } from '../../engine/cel/params';
import type { ApplyOptions } from '../../engine/apply';
import type { ClusterState, JsonObject, Operation } from '../../engine/core/types';

function cluster(partial: Partial<ClusterState> = {}): ClusterState {
  return { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [], ...partial };
}

function opts(object: JsonObject, state = cluster(), operation: Operation = 'CREATE'): ApplyOptions {
  return {
    request: { operation, object, oldObject: operation === 'UPDATE' ? object : null, requestInfo: { roles: [], clusterRoles: [], userInfo: { username: 'admin' } } },
    cluster: state,
    now: new Date('2025-01-01T00:00:00Z'),
  };
}

const cm = (name: string, namespace: string, labels: Record<string, string> = {}): JsonObject =>
  ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, labels }, data: { a: '1' } });
const rules = (resources: string[], operations = ['CREATE']) => ({ resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations, resources }] });

function map(spec: JsonObject, name = 'add-label'): JsonObject {
  return { apiVersion: 'admissionregistration.k8s.io/v1beta1', kind: 'MutatingAdmissionPolicy', metadata: { name }, spec: { matchConstraints: rules(['configmaps']), ...spec } };
}

function binding(name: string, spec: JsonObject = {}): JsonObject {
  return { apiVersion: 'admissionregistration.k8s.io/v1beta1', kind: 'MutatingAdmissionPolicyBinding', metadata: { name }, spec: { policyName: 'add-label', ...spec } };
}

const apply = (expression: string) => ({ patchType: 'ApplyConfiguration', applyConfiguration: { expression } });
const setLabel = (key: string, value: string) => apply(`Object{metadata: Object.metadata{labels: {"${key}": ${value}}}}`);
const labelsOf = (o: JsonObject) => (o.metadata as JsonObject).labels;
const statuses = (policy: JsonObject, o: ApplyOptions) => applyCelPolicy(policy, o).rules.map((r) => [r.name, r.status, r.message]);

test('one result named after the policy; mutations chain, each seeing the object as patched so far', () => {
  const policy = map({ mutations: [setLabel('x', '"1"'), setLabel('y', 'object.metadata.labels.x + "2"')] });
  const res = applyCelPolicy(policy, opts(cm('c', 'default')));
  assert.deepEqual(res.rules.map((r) => [r.name, r.type, r.status, r.message]), [['add-label', 'Mutation', 'pass', 'mutation is successfully applied']]);
  assert.deepEqual(labelsOf(res.patchedResource), { x: '1', y: '12' });
  // No mutations: a pass with the object unchanged.
  const none = applyCelPolicy(map({ mutations: [] }), opts(cm('c', 'default')));
  assert.deepEqual([none.rules[0].status, labelsOf(none.patchedResource)], ['pass', {}]);
});

test('a failing mutation leaves no result at all (the CLI only logs it), even after a good one', () => {
  const policy = map({ mutations: [setLabel('x', '"1"'), { patchType: 'JSONPatch', jsonPatch: { expression: '"not a list"' } }] });
  assert.deepEqual(applyCelPolicy(policy, opts(cm('c', 'default'))).rules, []);
});

test('a JSONPatch whose test operation fails is dropped without error', () => {
  const patch = (value: string) => ({ patchType: 'JSONPatch', jsonPatch: { expression: `[JSONPatch{op: "test", path: "/data/a", value: "${value}"}, JSONPatch{op: "add", path: "/data/b", value: "2"}]` } });
  const dropped = applyCelPolicy(map({ mutations: [patch('other')] }), opts(cm('c', 'default')));
  assert.deepEqual([dropped.rules[0].status, dropped.patchedResource.data], ['pass', { a: '1' }]);
  const applied = applyCelPolicy(map({ mutations: [patch('1')] }), opts(cm('c', 'default')));
  assert.deepEqual(applied.patchedResource.data, { a: '1', b: '2' });
});

test('match conditions: false skips; an evaluation error leaves no result unless failurePolicy is Ignore', () => {
  const unmet = map({ matchConditions: [{ name: 'never', expression: 'false' }], mutations: [setLabel('x', '"1"')] });
  assert.deepEqual(statuses(unmet, opts(cm('c', 'default'))), [['add-label', 'skip', "match conditions aren't met"]]);
  const failing = (failurePolicy: string) => map({ failurePolicy, matchConditions: [{ name: 'err', expression: 'object.missing.field == 1' }], mutations: [setLabel('x', '"1"')] });
  assert.deepEqual(statuses(failing('Fail'), opts(cm('c', 'default'))), []);
  assert.deepEqual(statuses(failing('Ignore'), opts(cm('c', 'default'))), [['add-label', 'skip', "match conditions aren't met"]]);
});

test('the request is always a CREATE of the resource, whatever the test operation', () => {
  const policy = map({ mutations: [setLabel('op', 'request.operation + "-" + string(oldObject == null)')] });
  const res = applyCelPolicy(policy, opts(cm('c', 'default'), cluster(), 'UPDATE'));
  assert.deepEqual(labelsOf(res.patchedResource), { op: 'CREATE-true' });
  const updateOnly = map({ matchConstraints: rules(['configmaps'], ['UPDATE']), mutations: [setLabel('x', '"1"')] });
  assert.deepEqual(applyCelPolicy(updateOnly, opts(cm('c', 'default'), cluster(), 'UPDATE')).rules, []);
});

test('the Namespace object carries the values file labels only, for namespaceObject and namespaceSelector', () => {
  const showNamespace = setLabel('n', 'namespaceObject.metadata.name + "/" + namespaceObject.metadata.labels.env');
  const state = cluster({ namespaceLabels: { default: { env: 'prod' } } });
  assert.deepEqual(labelsOf(applyCelPolicy(map({ mutations: [showNamespace] }), opts(cm('c', 'default'), state)).patchedResource), { n: 'default/prod' });
  const hasLabels = setLabel('l', 'string(has(namespaceObject.metadata.labels)) + "/" + string(has(namespaceObject.apiVersion))');
  assert.deepEqual(labelsOf(applyCelPolicy(map({ mutations: [hasLabels] }), opts(cm('c', 'default'))).patchedResource), { l: 'false/false' });
  // A Namespace object among the cluster resources is not consulted, nor is the name label added.
  const live = cluster({ resources: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default', labels: { env: 'dev' } } }] });
  const byName = map({ matchConstraints: { ...rules(['configmaps']), namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'default' } } }, mutations: [setLabel('x', '"1"')] });
  assert.deepEqual(applyCelPolicy(byName, opts(cm('c', 'default'), live)).rules, []);
  const byEnv = map({ matchConstraints: { ...rules(['configmaps']), namespaceSelector: { matchLabels: { env: 'prod' } } }, mutations: [setLabel('x', '"1"')] });
  assert.deepEqual(applyCelPolicy(byEnv, opts(cm('c', 'default'), live)).rules, []);
  assert.equal(applyCelPolicy(byEnv, opts(cm('c', 'default'), state)).rules[0].status, 'pass');
});

test('bindings: the policy matchConstraints are not consulted; every matching binding runs, the last answer wins', () => {
  const policy = map({ matchConstraints: rules(['secrets']), mutations: [setLabel('b', 'params == null ? "none" : params.metadata.name')] });
  const sel = binding('sel', { matchResources: { namespaceSelector: { matchLabels: { env: 'prod' } } } });
  // No matchResources: the binding applies to anything.
  const bare = applyCelPolicy(policy, opts(cm('c', 'default'), cluster({ resources: [binding('bare')] })));
  assert.deepEqual([bare.rules[0].status, labelsOf(bare.patchedResource)], ['pass', { b: 'none' }]);
  // A binding whose matchResources do not match is passed over; none left: no result.
  assert.deepEqual(applyCelPolicy(policy, opts(cm('c', 'default'), cluster({ resources: [sel] }))).rules, []);
  // Two bindings: each patches the admitted object (not the previous binding's output).
  const twoParams = cluster({
    resources: [binding('one', { paramRef: { name: 'p1' } }), binding('two', { paramRef: { name: 'p2' } })],
    parameters: [cm('p1', 'default'), cm('p2', 'default')],
  });
  const both = applyCelPolicy(policy, opts(cm('c', 'default'), twoParams));
  assert.deepEqual([both.rules.length, labelsOf(both.patchedResource)], [1, { b: 'p2' }]);
  // Bindings of other policies do not count.
  const foreign = { ...binding('x'), spec: { policyName: 'other' } };
  assert.deepEqual(applyCelPolicy(policy, opts(cm('c', 'default'), cluster({ resources: [foreign] }))).rules, []);
});

test('params: by name (any kind, from the parameter objects only), by selector as a list, missing means no result', () => {
  const policy = map({ mutations: [setLabel('p', 'has(params.items) ? params.items.map(i, i.metadata.name).join(",") : params.metadata.name')] });
  const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'p1', namespace: 'default', labels: { type: 'param' } } };
  const parameters = [secret, cm('p2', 'default', { type: 'param' }), cm('p3', 'other', { type: 'other' })];
  const run = (paramRef: JsonObject, extra: JsonObject[] = []) => {
    const state = cluster({ resources: [binding('b', { paramRef }), ...extra], parameters });
    return applyCelPolicy(policy, opts(cm('c', 'default', { type: 'param' }), state));
  };
  assert.deepEqual(labelsOf(run({ name: 'p2', namespace: 'default' }).patchedResource), { type: 'param', p: 'p2' });
  assert.deepEqual(labelsOf(run({ namespace: 'default' }).patchedResource), { type: 'param', p: 'p1' });
  // The selector ignores the namespace and leaves the resource under test (also in the cluster) out.
  const selected = run({ namespace: 'other', selector: { matchLabels: { type: 'param' } } }, [cm('c', 'default', { type: 'param' })]);
  assert.deepEqual(labelsOf(selected.patchedResource), { type: 'param', p: 'p1,p2' });
  assert.deepEqual(run({ name: 'missing' }).rules, []);
});

test('selectBindingParams follows the CLI: a name wins over a namespace, a selector gathers every match', () => {
  const objects = [cm('a', 'ns1', { t: 'x' }), cm('b', 'ns2', { t: 'x' }), cm('a', 'ns2')];
  assert.equal(selectBindingParams({ name: 'a', namespace: 'ns2' }, objects), objects[0]);
  assert.equal(selectBindingParams({ namespace: 'ns2' }, objects), objects[1]);
  assert.deepEqual(selectBindingParams({ selector: { matchLabels: { t: 'x' } } }, objects), { items: [objects[0], objects[1]] });
  assert.deepEqual(selectBindingParams({ selector: {} }, objects), { items: objects });
  assert.equal(selectBindingParams({ selector: { matchLabels: { t: 'y' } } }, objects), null);
  assert.equal(selectBindingParams({}, objects), null);
  assert.equal(selectBindingParams(undefined, objects), null);
});

test('ApplyConfiguration merge: typed lists merge by key, deduced (atomic) lists are replaced; maps merge either way', () => {
  const base = { metadata: { labels: { a: '1' } }, spec: { containers: [{ name: 'app', image: 'nginx' }], finalizers: ['f1'] } };
  const patch = { metadata: { labels: { b: '2' } }, spec: { containers: [{ name: 'side', image: 'busybox' }], finalizers: ['f2'] } };
  assert.deepEqual(mergeApplyConfiguration(base, patch, 'typed'), {
    metadata: { labels: { a: '1', b: '2' } },
    spec: { containers: [{ name: 'app', image: 'nginx' }, { name: 'side', image: 'busybox' }], finalizers: ['f1', 'f2'] },
  });
  assert.deepEqual(mergeApplyConfiguration(base, patch, 'atomic'), {
    metadata: { labels: { a: '1', b: '2' } },
    spec: { containers: [{ name: 'side', image: 'busybox' }], finalizers: ['f2'] },
  });
  const gates = mergeApplyConfiguration({ spec: { schedulingGates: [{ name: 'a' }] } }, { spec: { schedulingGates: [{ name: 'b' }] } }, 'typed');
  assert.deepEqual(gates, { spec: { schedulingGates: [{ name: 'a' }, { name: 'b' }] } });
  // An empty keyed list adds nothing under the typed schema, but replaces under the deduced one.
  assert.deepEqual(mergeApplyConfiguration({ spec: {} }, { spec: { volumes: [] } }, 'typed'), { spec: {} });
  assert.deepEqual(mergeApplyConfiguration({ spec: {} }, { spec: { volumes: [] } }, 'atomic'), { spec: { volumes: [] } });
});

test('MutatingAdmissionPolicy ApplyConfiguration replaces lists (the CLI merges with a deduced schema)', () => {
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'app', image: 'nginx' }] } };
  const policy = map({ matchConstraints: rules(['pods']), mutations: [apply('Object{spec: Object.spec{containers: [Object.spec.containers{name: "side", image: "busybox"}]}}')] });
  assert.deepEqual((applyCelPolicy(policy, opts(pod)).patchedResource.spec as JsonObject).containers, [{ name: 'side', image: 'busybox' }]);
});

test('a live admission request (the API server\'s plugin): the real operation and old object, the cluster\'s Namespace, errors handed back', () => {
  const policy = map({
    matchConditions: [{ name: 'updates', expression: 'request.operation == "UPDATE" && oldObject != null' }],
    mutations: [setLabel('team', 'namespaceObject.metadata.labels.team')],
  });
  const state = cluster({ resources: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default', labels: { team: 'a' } } }], namespaceLabels: { default: { team: 'a' } } });
  // The CLI's evaluation always admits a CREATE; the API server's keeps the request's operation.
  const updated = mutateAdmissionRequest(policy, opts(cm('c', 'default'), state, 'UPDATE'), null);
  assert.ok('object' in updated, JSON.stringify(updated));
  assert.deepEqual(labelsOf(updated.object), { team: 'a' });
  const created = mutateAdmissionRequest(policy, opts(cm('c', 'default'), state, 'CREATE'), null);
  assert.ok('object' in created);
  assert.deepEqual(labelsOf(created.object), {}, 'match conditions not met: the object goes on unchanged');
  const failing = mutateAdmissionRequest(map({ mutations: [{ patchType: 'JSONPatch', jsonPatch: { expression: '"not a list"' } }] }), opts(cm('c', 'default'), state), null);
  assert.ok('error' in failing && failing.error.length > 0);
});

test('without a user, the MutatingAdmissionPolicy sees Kyverno\'s background sentinel (ResolveUser), as the ValidatingAdmissionPolicy does', () => {
  const policy = map({ mutations: [setLabel('user', 'request.userInfo.username')] });
  const o = opts(cm('c', 'default'));
  const anonymous: ApplyOptions = { ...o, request: { ...o.request, requestInfo: { roles: [], clusterRoles: [], userInfo: {} } } };
  assert.deepEqual(labelsOf(applyCelPolicy(policy, anonymous).patchedResource), { user: 'system:kyverno:background-scan' });
  assert.deepEqual(labelsOf(applyCelPolicy(policy, o).patchedResource), { user: 'admin' });
});
