// ValidatingAdmissionPolicy bindings and params, and DeletingPolicy results, as the Kyverno
// CLI evaluates them offline (pkg/admissionpolicy, the dpol engine and `kyverno test`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyCelPolicy } from '../../engine/cel/index';
import { selectBindingParams } from '../../engine/cel/params';
import type { ApplyOptions } from '../../engine/apply';
import type { ClusterState, JsonObject, Operation } from '../../engine/core/types';

function cluster(partial: Partial<ClusterState> = {}): ClusterState {
  return { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [], ...partial };
}

function opts(object: JsonObject, state = cluster(), operation: Operation = 'CREATE'): ApplyOptions {
  return {
    request: {
      operation,
      object: operation === 'DELETE' ? null : object,
      oldObject: operation === 'CREATE' ? null : structuredClone(object),
      requestInfo: { roles: [], clusterRoles: [], userInfo: { username: 'admin' } },
    },
    cluster: state,
    now: new Date('2025-01-01T00:00:00Z'),
  };
}

const deploy = (name: string, replicas: number, labels: Record<string, string> = {}, namespace = 'default'): JsonObject =>
  ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace, labels }, spec: { replicas } });

const deploymentRules = { resourceRules: [{ apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['deployments'] }] };

function vap(spec: JsonObject = {}, name = 'max-replicas'): JsonObject {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy', metadata: { name },
    spec: { matchConstraints: deploymentRules, validations: [{ expression: 'object.spec.replicas <= 2' }], ...spec },
  };
}

function binding(name: string, spec: JsonObject, policyName = 'max-replicas'): JsonObject {
  return { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding', metadata: { name }, spec: { policyName, validationActions: ['Deny'], ...spec } };
}

const statusOf = (policy: JsonObject, options: ApplyOptions) => applyCelPolicy(policy, options).rules.map((r) => r.status);

test('VAP bindings: a resource no binding selects gets no result (objectSelector, resourceNames, excludeResourceRules)', () => {
  const byLabel = cluster({ resources: [binding('b', { matchResources: { objectSelector: { matchLabels: { app: 'nginx' } } } })] });
  assert.deepEqual(statusOf(vap(), opts(deploy('n', 4, { app: 'nginx' }), byLabel)), ['fail']);
  assert.deepEqual(statusOf(vap(), opts(deploy('b', 4, { app: 'busybox' }), byLabel)), []);

  const byName = cluster({ resources: [binding('b', { matchResources: { resourceRules: [{ ...deploymentRules.resourceRules[0], resourceNames: ['n'] }] } })] });
  assert.deepEqual(statusOf(vap(), opts(deploy('n', 1), byName)), ['pass']);
  assert.deepEqual(statusOf(vap(), opts(deploy('other', 1), byName)), []);

  // matchResources with only exclusions select everything else.
  const excluding = cluster({ resources: [binding('b', { matchResources: { excludeResourceRules: [{ ...deploymentRules.resourceRules[0], resourceNames: ['skip-me'] }] } })] });
  assert.deepEqual(statusOf(vap(), opts(deploy('kept', 4), excluding)), ['fail']);
  assert.deepEqual(statusOf(vap(), opts(deploy('skip-me', 4), excluding)), []);
});

test('VAP bindings: namespaceSelector sees only the labels the values file gives the namespace', () => {
  const selectByEnv = binding('b', { matchResources: { namespaceSelector: { matchExpressions: [{ key: 'environment', operator: 'In', values: ['staging'] }] } } });
  const state = cluster({ resources: [selectByEnv], namespaceLabels: { staging: { environment: 'staging' }, testing: { environment: 'testing' } } });
  assert.deepEqual(statusOf(vap(), opts(deploy('s', 4, {}, 'staging'), state)), ['fail']);
  assert.deepEqual(statusOf(vap(), opts(deploy('t', 4, {}, 'testing'), state)), []);
  // No kubernetes.io/metadata.name label is added to a namespace the values file declares.
  const byName = binding('b', { matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'staging' } } } });
  assert.deepEqual(statusOf(vap(), opts(deploy('s', 4, {}, 'staging'), cluster({ resources: [byName], namespaceLabels: { staging: { environment: 'staging' } } }))), []);
  // namespaceObject carries the same name and labels.
  const nsPolicy = vap({ validations: [{ expression: "namespaceObject.metadata.labels.environment == 'staging'" }] });
  assert.deepEqual(statusOf(nsPolicy, opts(deploy('s', 1, {}, 'staging'), state)), ['pass']);
});

test('VAP bindings: every selecting binding is evaluated and the last one answers', () => {
  const state = cluster({
    resources: [
      binding('deny', { validationActions: ['Deny'] }),
      binding('other-policy', { validationActions: ['Deny'] }, 'someone-else'),
      binding('audit', { validationActions: ['Audit'] }),
    ],
  });
  const rules = applyCelPolicy(vap(), opts(deploy('d', 4), state)).rules;
  assert.deepEqual(rules.map((r) => [r.name, r.status, r.failureAction]), [['max-replicas', 'fail', 'Audit']]);
});

test("VAP: the policy's own matchConstraints still apply when a binding has no matchResources", () => {
  const state = cluster({ resources: [binding('all', {})] });
  const podObject: JsonObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: {} };
  assert.deepEqual(statusOf(vap(), opts(podObject, state)), []);
  // Without any resourceRules the policy selects every resource, as Kyverno's CEL matcher does.
  const anyKind = vap({ matchConstraints: {}, validations: [{ expression: "object.kind == 'Pod'" }] });
  assert.deepEqual(statusOf(anyKind, opts(podObject, state)), ['pass']);
});

test('VAP: the CLI always evaluates a CREATE of the resource, whatever the test operation', () => {
  const policy = vap({ validations: [{ expression: "request.operation == 'CREATE' && oldObject == null && object.metadata.name == 'd'" }] });
  assert.deepEqual(statusOf(policy, opts(deploy('d', 1), cluster(), 'UPDATE')), ['pass']);
  assert.deepEqual(statusOf(policy, opts(deploy('d', 1), cluster(), 'DELETE')), ['pass']);
  const createOnly = vap({ matchConstraints: { resourceRules: [{ ...deploymentRules.resourceRules[0], operations: ['UPDATE'] }] } });
  assert.deepEqual(statusOf(createOnly, opts(deploy('d', 1), cluster(), 'UPDATE')), []);
});

test('paramRef: by name (the name decides over the namespace), by selector (a list), nothing found', () => {
  const cm = (name: string, namespace: string, labels: Record<string, string> = {}): JsonObject =>
    ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, labels }, data: { max: name.length.toString() } });
  const params = [cm('limits', 'a', { tier: 'x' }), cm('limits', 'b'), cm('other', 'a', { tier: 'x' })];
  assert.deepEqual(selectBindingParams({ name: 'limits' }, params), params[0]);
  assert.deepEqual(selectBindingParams({ name: 'limits', namespace: 'b' }, params), params[0]);
  assert.deepEqual(selectBindingParams({ namespace: 'a' }, params), params[0]);
  assert.deepEqual(selectBindingParams({ selector: { matchLabels: { tier: 'x' } } }, params), { items: [params[0], params[2]] });
  assert.deepEqual(selectBindingParams({ selector: {} }, params), { items: params });
  assert.equal(selectBindingParams({ name: 'missing', parameterNotFoundAction: 'Deny' }, params), null);
  assert.equal(selectBindingParams({}, params), null);
});

test('VAP params: the binding paramRef picks the parameters; none found means null params', () => {
  const policy = vap({
    paramKind: { apiVersion: 'v1', kind: 'ConfigMap' },
    validations: [{ expression: 'object.spec.replicas <= int(params.data.maxReplicas)', message: 'too many' }],
  });
  const limits: JsonObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'limits', namespace: 'default' }, data: { maxReplicas: '5' } };
  const state = cluster({ resources: [binding('b', { paramRef: { name: 'limits' } })], parameters: [limits] });
  assert.deepEqual(statusOf(policy, opts(deploy('small', 1), state)), ['pass']);
  const big = applyCelPolicy(policy, opts(deploy('big', 10), state)).rules[0];
  assert.deepEqual([big.status, big.message], ['fail', 'too many']);
  // Offline the CLI evaluates with null params when nothing is found, even with Deny.
  const missing = cluster({ resources: [binding('b', { paramRef: { name: 'absent', parameterNotFoundAction: 'Deny' } })], parameters: [limits] });
  const error = applyCelPolicy(policy, opts(deploy('d', 1), missing)).rules[0];
  assert.equal(error.status, 'error');
  assert.match(error.message, /^expression 'object.spec.replicas <= int\(params.data.maxReplicas\)' resulted in error: /);
  // A selector hands the policy every match as `params.items`.
  const listPolicy = vap({ paramKind: { apiVersion: 'v1', kind: 'ConfigMap' }, validations: [{ expression: 'size(params.items) == 2' }] });
  const two = cluster({
    resources: [binding('b', { paramRef: { selector: { matchLabels: { role: 'limits' } } } })],
    parameters: [1, 2, 3].map((i) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `c${i}`, namespace: 'default', labels: { role: i < 3 ? 'limits' : 'none' } } })),
  });
  assert.deepEqual(statusOf(listPolicy, opts(deploy('d', 1), two)), ['pass']);
});

const podRules = { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }] };
const pod = (name: string, namespace = 'default', labels: Record<string, string> = {}): JsonObject =>
  ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels }, spec: {} });

function dpol(spec: JsonObject, name = 'cleanup'): JsonObject {
  return { apiVersion: 'policies.kyverno.io/v1beta1', kind: 'DeletingPolicy', metadata: { name }, spec: { schedule: '0 1 * * *', matchConstraints: podRules, ...spec } };
}

test('DeletingPolicy: pass "resource matched", fail "resource did not match", no result when not selected, error', () => {
  const policy = dpol({ conditions: [{ name: 'ns', expression: "object.metadata.namespace == 'test'" }, { name: 'n', expression: "object.metadata.name == 'a'" }] });
  const verdict = (o: JsonObject) => applyCelPolicy(policy, opts(o)).rules.map((r) => [r.name, r.type, r.status, r.message]);
  assert.deepEqual(verdict(pod('a', 'test')), [['cleanup', 'Deletion', 'pass', 'resource matched']]);
  assert.deepEqual(verdict(pod('b', 'test')), [['cleanup', 'Deletion', 'fail', 'resource did not match']]);
  assert.deepEqual(verdict({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'test' } }), []);
  const broken = dpol({ conditions: [{ name: 'x', expression: 'object.spec.missing.field == 1' }] });
  assert.equal(applyCelPolicy(broken, opts(pod('a'))).rules[0].status, 'error');
  // A false condition wins over an error in another one.
  const falseAndBroken = dpol({ conditions: [{ name: 'x', expression: 'object.spec.missing.field == 1' }, { name: 'no', expression: 'false' }] });
  assert.equal(applyCelPolicy(falseAndBroken, opts(pod('a'))).rules[0].status, 'fail');
});

test('DeletingPolicy: any operation of resourceRules matches; excludeResourceRules keep their operations', () => {
  const policy = dpol({
    matchConstraints: {
      resourceRules: [{ ...podRules.resourceRules[0], operations: ['DELETE'] }],
      excludeResourceRules: [{ ...podRules.resourceRules[0], operations: ['DELETE'], resourceNames: ['kept'] }],
    },
    conditions: [{ name: 'all', expression: 'true' }],
  });
  assert.deepEqual(statusOf(policy, opts(pod('any'))), ['pass']);
  // The CLI evaluates a CREATE: an exclusion for DELETE does not apply to it.
  assert.deepEqual(statusOf(policy, opts(pod('kept'))), ['pass']);
  const excludeAll = dpol({ matchConstraints: { ...podRules, excludeResourceRules: [{ ...podRules.resourceRules[0], operations: ['*'], resourceNames: ['kept'] }] }, conditions: [] });
  assert.deepEqual(statusOf(excludeAll, opts(pod('kept'))), []);
});

test('DeletingPolicy: namespaceObject is the namespace the values declare, else null; a Namespace stands for itself', () => {
  const policy = dpol({ conditions: [{ name: 'env', expression: "has(namespaceObject.metadata.labels) && namespaceObject.metadata.labels.?environment.orValue('') == 'test'" }] });
  const state = cluster({ namespaceLabels: { test: { environment: 'test' }, default: { environment: 'default' } } });
  assert.deepEqual(statusOf(policy, opts(pod('a', 'test'), state)), ['pass']);
  assert.deepEqual(statusOf(policy, opts(pod('b', 'default'), state)), ['fail']);
  const isNull = dpol({ conditions: [{ name: 'none', expression: 'namespaceObject == null' }] });
  assert.deepEqual(statusOf(isNull, opts(pod('c', 'undeclared'), state)), ['pass']);
  const namespaces = dpol({
    matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], resources: ['namespaces'] }] },
    conditions: [{ name: 'self', expression: "namespaceObject.metadata.labels.team == 'x'" }],
  });
  const ns: JsonObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-x', labels: { team: 'x' } } };
  assert.deepEqual(statusOf(namespaces, opts(ns)), ['pass']);
});

test('DeletingPolicy: an object without apiVersion/kind (a JSON payload) is only judged by the conditions', () => {
  const payload: JsonObject = { MetaArgs: [{ Key: 'BUILD_PLATFORM' }] };
  const yes = dpol({ matchConstraints: undefined, conditions: [{ name: 'k', expression: "object.MetaArgs[0].Key == 'BUILD_PLATFORM'" }] });
  const no = dpol({ conditions: [{ name: 'k', expression: "object.MetaArgs[0].Key == 'BUILDER_IMAGE'" }] });
  assert.deepEqual(statusOf(yes, opts(payload)), ['pass']);
  assert.deepEqual(statusOf(no, opts(payload)), ['fail']);
});

test('DeletingPolicy: a matching CEL PolicyException keeps the resource (reported as did not match)', () => {
  const policy = dpol({ conditions: [{ name: 'all', expression: 'true' }] });
  const exception: JsonObject = {
    apiVersion: 'policies.kyverno.io/v1beta1', kind: 'PolicyException', metadata: { name: 'keep', namespace: 'default' },
    spec: { policyRefs: [{ name: 'cleanup', kind: 'DeletingPolicy' }], matchConditions: [{ name: 'k', expression: "object.metadata.name == 'keep-me'" }] },
  };
  const state = cluster({ exceptions: [exception] });
  assert.deepEqual(applyCelPolicy(policy, opts(pod('keep-me'), state)).rules.map((r) => [r.status, r.message]), [['fail', 'resource did not match']]);
  assert.deepEqual(statusOf(policy, opts(pod('other'), state)), ['pass']);
});

test('without a user (a background scan, a CLI run) the request carries Kyverno\'s background sentinel in username, uid and groups; a given value is kept (ResolveUser)', () => {
  const policy = vap({ validations: [
    { expression: 'request.userInfo.username == "system:kyverno:background-scan"', message: 'username' },
    { expression: 'request.userInfo.uid == "system:kyverno:background-scan"', message: 'uid' },
    { expression: 'request.userInfo.groups == ["system:kyverno:background-scan"]', message: 'groups' },
  ] });
  const o = opts(deploy('d', 1));
  const anonymous: ApplyOptions = { ...o, request: { ...o.request, requestInfo: { roles: [], clusterRoles: [], userInfo: {} } } };
  assert.deepEqual(applyCelPolicy(policy, anonymous).rules.map((r) => [r.status, r.message]), [['pass', '']]);
  const named: ApplyOptions = { ...o, request: { ...o.request, requestInfo: { roles: [], clusterRoles: [], userInfo: { username: 'alice', groups: ['dev'] } } } };
  assert.deepEqual(applyCelPolicy(policy, named).rules.map((r) => [r.status, r.message]), [['fail', 'username']]);
  const kept = vap({ validations: [{ expression: 'request.userInfo.username == "alice" && request.userInfo.groups == ["dev"] && request.userInfo.uid == "system:kyverno:background-scan"' }] });
  assert.equal(applyCelPolicy(kept, named).rules[0].status, 'pass');
});
