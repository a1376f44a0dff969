import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyCelPolicy } from '../../engine/cel/index';
import type { ApplyOptions } from '../../engine/apply';
import type { ClusterState, JsonObject } from '../../engine/core/types';

function cluster(partial: Partial<ClusterState> = {}): ClusterState {
  return { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [], ...partial };
}

function opts(object: JsonObject, state = cluster()): ApplyOptions {
  return {
    request: { operation: 'CREATE', object, oldObject: null, requestInfo: { roles: [], clusterRoles: [], userInfo: { username: 'admin' } } },
    cluster: state,
    now: new Date('2025-01-01T00:00:00Z'),
  };
}

const ns = (name: string, labels: Record<string, string> = {}): JsonObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
const cm = (name: string, namespace: string, labels: Record<string, string> = {}): JsonObject =>
  ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, labels }, data: { a: '1' } });

const rules = (resources: string[]) => ({ resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources }] });

function mpol(spec: JsonObject): JsonObject {
  return {
    apiVersion: 'policies.kyverno.io/v1alpha1', kind: 'MutatingPolicy', metadata: { name: 'label-existing' },
    spec: {
      evaluation: { mutateExisting: { enabled: true } },
      matchConstraints: rules(['namespaces']),
      mutations: [{ patchType: 'ApplyConfiguration', applyConfiguration: { expression: 'Object{metadata: Object.metadata{labels: {"mykey": request.name}}}' } }],
      ...spec,
    },
  };
}

test('mutateExisting without targetMatchConstraints: existing resources matching matchConstraints are targets', () => {
  const state = cluster({ resources: [ns('old-a'), ns('old-b'), cm('c', 'old-a')] });
  const res = applyCelPolicy(mpol({}), opts(ns('trigger'), state));
  const targets = res.rules.filter((r) => r.patchedResource && (r.patchedResource.metadata as JsonObject).name !== 'trigger');
  assert.deepEqual(targets.map((r) => [r.name, r.status, r.message, (r.patchedResource!.metadata as JsonObject).name]), [['', 'pass', 'success', 'old-a'], ['', 'pass', 'success', 'old-b']]);
  // `object` is the target, `request` the trigger's admission request.
  assert.deepEqual((targets[0].patchedResource!.metadata as JsonObject).labels, { mykey: 'trigger' });
  // The trigger itself is still mutated at admission.
  assert.equal(res.rules[0].status, 'pass');
  assert.deepEqual(((res.patchedResource.metadata as JsonObject).labels as JsonObject).mykey, 'trigger');
});

test('mutateExisting is off unless evaluation.mutateExisting.enabled', () => {
  const state = cluster({ resources: [ns('old-a')] });
  const policy = mpol({ evaluation: { admission: { enabled: true } } });
  assert.equal(applyCelPolicy(policy, opts(ns('trigger'), state)).rules.length, 1);
});

test('targetMatchConstraints resourceRules select other kinds, with label selectors', () => {
  const state = cluster({ resources: [cm('keep', 'a', { team: 'x' }), cm('other', 'a', { team: 'y' }), ns('a')] });
  const policy = mpol({ targetMatchConstraints: { ...rules(['configmaps']), objectSelector: { matchLabels: { team: 'x' } } } });
  const targets = applyCelPolicy(policy, opts(ns('trigger'), state)).rules.slice(1);
  assert.deepEqual(targets.map((r) => `${r.status}:${(r.patchedResource?.metadata as JsonObject)?.name}`), ['pass:keep']);
});

test('targetMatchConstraints expression: the resources it returns (by namespace/name) are the targets', () => {
  const state = cluster({ resources: [cm('one', 'a'), cm('two', 'a'), cm('three', 'b')] });
  const policy = mpol({ targetMatchConstraints: { expression: 'resource.List("v1", "configmaps", "a")' } });
  const targets = applyCelPolicy(policy, opts(ns('trigger'), state)).rules.slice(1);
  assert.deepEqual(targets.map((r) => (r.patchedResource?.metadata as JsonObject)?.name), ['one', 'two']);
  const bad = mpol({ targetMatchConstraints: { expression: '[1]' } });
  const failed = applyCelPolicy(bad, opts(ns('trigger'), state)).rules.slice(1);
  assert.deepEqual(failed.map((r) => [r.name, r.status]), [['evaluation', 'error']]);
  assert.match(failed[0].message, /must be a map/);
});

test('matchConditions apply to implicit targets; mutation errors are reported per target', () => {
  const state = cluster({ resources: [ns('keep', { tier: 'gold' }), ns('skip-me')] });
  const policy = mpol({ matchConditions: [{ name: 'gold', expression: 'has(object.metadata.labels) && "tier" in object.metadata.labels' }] });
  const results = applyCelPolicy(policy, opts(ns('trigger', { tier: 'gold' }), state)).rules.slice(1);
  assert.deepEqual(results.map((r) => [r.status, r.message]), [['pass', 'success'], ['skip', 'skip']]);
  const broken = mpol({ mutations: [{ patchType: 'JSONPatch', jsonPatch: { expression: '"not a list"' } }] });
  const errors = applyCelPolicy(broken, opts(ns('trigger'), cluster({ resources: [ns('x')] }))).rules.slice(1);
  assert.deepEqual(errors.map((r) => [r.name, r.status]), [['evaluation', 'error']]);
});

test('targetMatchConstraints expression: a single object (resource.get, the camelCase alias of Kyverno 1.18+) is the target', () => {
  const state = cluster({ resources: [cm('one', 'a'), cm('two', 'a')] });
  const byGet = mpol({ targetMatchConstraints: { expression: 'resource.get("v1", "configmaps", "a", "two")' } });
  assert.deepEqual(applyCelPolicy(byGet, opts(ns('trigger'), state)).rules.slice(1).map((r) => [r.status, (r.patchedResource?.metadata as JsonObject)?.name]), [['pass', 'two']]);
  const byList = mpol({ targetMatchConstraints: { expression: 'resource.list("v1", "configmaps", "a")' } });
  assert.deepEqual(applyCelPolicy(byList, opts(ns('trigger'), state)).rules.slice(1).map((r) => (r.patchedResource?.metadata as JsonObject)?.name), ['one', 'two']);
});

test('MutatingPolicy autogen: only matchConditions and ApplyConfiguration are rewritten; the root Object{} is wrapped into the pod template; metadata.namespace stays the controller\'s', () => {
  const policy: JsonObject = {
    apiVersion: 'policies.kyverno.io/v1beta1', kind: 'MutatingPolicy', metadata: { name: 'sc' },
    spec: {
      autogen: { podControllers: { controllers: ['deployments', 'cronjobs'] } },
      matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }] },
      matchConditions: [{ name: 'ns', expression: "object.metadata.namespace == 'apps' && object.spec.containers.size() > 0" }],
      mutations: [{ patchType: 'ApplyConfiguration', applyConfiguration: { expression: 'Object{spec: Object.spec{containers: object.spec.containers.map(c, Object.spec.containers{name: c.name, securityContext: Object.spec.containers.securityContext{allowPrivilegeEscalation: false}})}}' } }],
    },
  };
  const container = { name: 'c', image: 'nginx' };
  const deploy = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'apps' }, spec: { template: { metadata: {}, spec: { containers: [container] } } } };
  const request = (object: JsonObject, kind: string, group: string, version: string) => ({ ...opts(object), request: { ...opts(object).request, kind: { group, version, kind }, namespace: 'apps' } });
  const res = applyCelPolicy(policy, request(deploy, 'Deployment', 'apps', 'v1'));
  assert.equal(res.rules[0]?.status, 'pass', JSON.stringify(res.rules));
  assert.deepEqual(((((res.patchedResource as JsonObject).spec as JsonObject).template as JsonObject).spec as JsonObject).containers, [{ ...container, securityContext: { allowPrivilegeEscalation: false } }]);
  assert.equal(((res.patchedResource as JsonObject).spec as JsonObject).containers, undefined);
  const cron = { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'j', namespace: 'apps' }, spec: { jobTemplate: { spec: { template: { spec: { containers: [container] } } } } } };
  const cronRes = applyCelPolicy(policy, request(cron, 'CronJob', 'batch', 'v1'));
  assert.equal(cronRes.rules[0]?.status, 'pass', JSON.stringify(cronRes.rules));
  assert.deepEqual(JSON.parse(JSON.stringify(cronRes.patchedResource)).spec.jobTemplate.spec.template.spec.containers[0].securityContext, { allowPrivilegeEscalation: false });
  // Another namespace: the condition reads the controller's own namespace.
  assert.equal(applyCelPolicy(policy, request({ ...deploy, metadata: { name: 'd', namespace: 'other' } }, 'Deployment', 'apps', 'v1')).rules[0]?.status, 'skip');
});

test('MutatingPolicy exceptions: one with images does not exempt, it fills exceptions.allowedImages; one without exempts', () => {
  const policy: JsonObject = {
    apiVersion: 'policies.kyverno.io/v1', kind: 'MutatingPolicy', metadata: { name: 'img' },
    spec: {
      matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }] },
      matchConditions: [{ name: 'allowed', expression: 'object.spec.containers.all(c, string(c.image) in exceptions.allowedImages)' }],
      mutations: [{ patchType: 'ApplyConfiguration', applyConfiguration: { expression: 'Object{metadata: Object.metadata{labels: Object.metadata.labels{foo: "bar"}}}' } }],
    },
  };
  const pod = (image: string): JsonObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'apps' }, spec: { containers: [{ name: 'c', image }] } });
  const exception = (extra: JsonObject): JsonObject => ({ apiVersion: 'policies.kyverno.io/v1', kind: 'PolicyException', metadata: { name: 'ex', namespace: 'apps' }, spec: { policyRefs: [{ name: 'img', kind: 'MutatingPolicy' }], ...extra } });
  const withImages = cluster({ exceptions: [exception({ images: ['nginx:latest'] })] });
  const run = (image: string, state: ClusterState) => applyCelPolicy(policy, { ...opts(pod(image), state), request: { ...opts(pod(image), state).request, kind: { group: '', version: 'v1', kind: 'Pod' }, namespace: 'apps' } });
  const allowed = run('nginx:latest', withImages);
  assert.equal(allowed.rules[0]?.status, 'pass', JSON.stringify(allowed.rules));
  assert.deepEqual(((allowed.patchedResource as JsonObject).metadata as JsonObject).labels, { foo: 'bar' });
  assert.equal(run('ubuntu:latest', withImages).rules[0]?.status, 'skip');
  assert.equal(run('nginx:latest', cluster({ exceptions: [exception({})] })).rules[0]?.name, 'exception');
});

test('mutate existing in the background: a target sees the admission request, its oldObject included (a DELETE trigger)', async () => {
  const { mutateExistingTargets } = await import('../../engine/cel/mutate-existing');
  const sa = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'gone', namespace: 'default' } };
  const crb = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'b' }, subjects: [{ kind: 'ServiceAccount', name: 'gone', namespace: 'default' }, { kind: 'User', name: 'u' }] };
  const policy: JsonObject = {
    apiVersion: 'policies.kyverno.io/v1', kind: 'MutatingPolicy', metadata: { name: 'unbind' },
    spec: {
      evaluation: { mutateExisting: { enabled: true } },
      matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['DELETE'], resources: ['serviceaccounts'] }] },
      targetMatchConstraints: { resourceRules: [{ apiGroups: ['rbac.authorization.k8s.io'], apiVersions: ['v1'], resources: ['clusterrolebindings'] }] },
      variables: [{ name: 'saName', expression: 'request.oldObject.metadata.name' }],
      mutations: [{ patchType: 'JSONPatch', jsonPatch: { expression: "object.subjects.filter(s, s.name == variables.saName).map(s, JSONPatch{op: 'remove', path: '/subjects/' + string(object.subjects.indexOf(s))})" } }],
    },
  };
  const cluster: ClusterState = { resources: [crb], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] };
  const request = { operation: 'DELETE' as const, kind: { group: '', version: 'v1', kind: 'ServiceAccount' }, namespace: 'default', object: sa, oldObject: sa, requestInfo: { roles: [], clusterRoles: [], userInfo: {} } };
  const results = mutateExistingTargets(policy, { request, cluster }, { background: true });
  assert.deepEqual(results.map((r) => [r.status, r.message]), [['pass', 'success']]);
  assert.deepEqual(results[0].patchedResource?.subjects, [{ kind: 'User', name: 'u' }]);
});
