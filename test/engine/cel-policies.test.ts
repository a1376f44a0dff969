import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { applyCelPolicy, isCelPolicy, validateClassicCel, evaluateCelPreconditions } from '../../engine/cel/index';
import type { ApplyOptions } from '../../engine/apply';
import type { ClusterState, JsonObject, Operation } from '../../engine/core/types';

function cluster(partial: Partial<ClusterState> = {}): ClusterState {
  return { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [], ...partial };
}

function opts(object: JsonObject | null, extra: { cluster?: ClusterState; operation?: Operation; oldObject?: JsonObject | null; username?: string } = {}): ApplyOptions {
  return {
    request: {
      operation: extra.operation ?? 'CREATE', object, oldObject: extra.oldObject ?? null,
      requestInfo: { roles: [], clusterRoles: [], userInfo: { username: extra.username ?? 'admin' } },
    },
    cluster: extra.cluster ?? cluster(),
    now: new Date('2025-01-01T00:00:00Z'),
  };
}

const pod = (name: string, spec: JsonObject, labels: Record<string, string> = {}, namespace = 'default'): JsonObject =>
  ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels }, spec });

const podRules = { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['pods'] }] };

function vpol(spec: JsonObject, name = 'check'): JsonObject {
  return { apiVersion: 'policies.kyverno.io/v1', kind: 'ValidatingPolicy', metadata: { name }, spec: { matchConstraints: podRules, ...spec } };
}

const noLatest = vpol({
  validationActions: ['Deny'],
  variables: [{ name: 'images', expression: 'object.spec.containers.map(c, c.image)' }],
  validations: [
    { expression: 'variables.images.all(i, !i.endsWith(":latest"))', messageExpression: '"latest tag used by " + object.metadata.name' },
    { expression: 'size(variables.images) < 3' },
  ],
});

test('isCelPolicy recognises CEL policy kinds only', () => {
  assert.equal(isCelPolicy(noLatest), true);
  assert.equal(isCelPolicy({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy' }), true);
  assert.equal(isCelPolicy({ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy' }), false);
  assert.equal(isCelPolicy({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding' }), false);
});

test('ValidatingPolicy: pass, fail with messageExpression, default message with index', () => {
  const good = applyCelPolicy(noLatest, opts(pod('good', { containers: [{ name: 'a', image: 'nginx:1.2' }] })));
  assert.deepEqual(good.rules.map((r) => [r.name, r.status, r.failureAction]), [['', 'pass', 'Enforce']]);
  const bad = applyCelPolicy(noLatest, opts(pod('bad', { containers: [{ name: 'a', image: 'nginx:latest' }] })));
  assert.equal(bad.rules[0].status, 'fail');
  assert.equal(bad.rules[0].message, 'latest tag used by bad');
  const many = applyCelPolicy(noLatest, opts(pod('many', { containers: [1, 2, 3].map((i) => ({ name: `c${i}`, image: 'x:1' })) })));
  assert.equal(many.rules[0].message, 'CEL expression validation failed at index 1');
  assert.equal(bad.policy.name, 'check');
  assert.equal(bad.resource.name, 'bad');
});

test('ValidatingPolicy: non-matching resources give no result; matchConditions false gives skip', () => {
  const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'default' } };
  assert.deepEqual(applyCelPolicy(noLatest, opts(svc)).rules, []);
  const del = applyCelPolicy(noLatest, opts(null, { operation: 'DELETE', oldObject: pod('p', { containers: [] }) }));
  assert.deepEqual(del.rules, []);
  const conditional = vpol({ matchConditions: [{ name: 'labelled', expression: '"team" in object.metadata.labels' }], validations: [{ expression: 'false', message: 'no' }] });
  assert.equal(applyCelPolicy(conditional, opts(pod('p', { containers: [] }))).rules[0].status, 'skip');
  assert.equal(applyCelPolicy(conditional, opts(pod('p', { containers: [] }, { team: 'a' }))).rules[0].status, 'fail');
});

test('ValidatingPolicy: evaluation errors and Audit action', () => {
  const policy = vpol({ validationActions: ['Audit'], validations: [{ expression: 'object.spec.nothing.here == 1' }] });
  const res = applyCelPolicy(policy, opts(pod('p', { containers: [] })));
  assert.equal(res.rules[0].status, 'error');
  assert.equal(res.rules[0].failureAction, 'Audit');
  assert.match(res.rules[0].message, /nothing/);
});

test('ValidatingPolicy: namespaceSelector and objectSelector', () => {
  const policy = vpol({
    matchConstraints: { ...podRules, namespaceSelector: { matchLabels: { env: 'prod' } }, objectSelector: { matchExpressions: [{ key: 'skip', operator: 'DoesNotExist' }] } },
    validations: [{ expression: 'false', message: 'blocked' }],
  });
  const state = cluster({ namespaceLabels: { prod: { env: 'prod' } } });
  assert.equal(applyCelPolicy(policy, opts(pod('p', {}, {}, 'prod'), { cluster: state })).rules[0].status, 'fail');
  assert.deepEqual(applyCelPolicy(policy, opts(pod('p', {}, {}, 'dev'), { cluster: state })).rules, []);
  assert.deepEqual(applyCelPolicy(policy, opts(pod('p', {}, { skip: 'y' }, 'prod'), { cluster: state })).rules, []);
});

test('ValidatingPolicy: autogen applies pod policies to controllers with template paths', () => {
  const deployment = (image: string): JsonObject => ({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'default' },
    spec: { template: { metadata: { labels: {} }, spec: { containers: [{ name: 'a', image }] } } },
  });
  assert.equal(applyCelPolicy(noLatest, opts(deployment('nginx:latest'))).rules[0].status, 'fail');
  assert.equal(applyCelPolicy(noLatest, opts(deployment('nginx:1'))).rules[0].status, 'pass');
  const cron: JsonObject = {
    apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'c', namespace: 'default' },
    spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: 'a', image: 'x:latest' }] } } } } },
  };
  assert.equal(applyCelPolicy(noLatest, opts(cron)).rules[0].status, 'fail');
  const onlyDeployments = vpol({ ...(noLatest.spec as JsonObject), autogen: { podControllers: { controllers: ['deployments'] } } });
  assert.deepEqual(applyCelPolicy(onlyDeployments, opts(cron)).rules, []);
});

test('ValidatingPolicy: JSON evaluation mode validates any payload', () => {
  const policy = vpol({ evaluation: { mode: 'JSON' }, matchConstraints: undefined, validations: [{ expression: 'object.replicas <= 5', message: 'too many' }] });
  assert.equal(applyCelPolicy(policy, opts({ replicas: 9 })).rules[0].status, 'fail');
  assert.equal(applyCelPolicy(policy, opts({ replicas: 2 })).rules[0].status, 'pass');
});

test('CEL PolicyException skips (or passes) a matching policy', () => {
  const exception = (reportResult?: string): JsonObject => ({
    apiVersion: 'policies.kyverno.io/v1', kind: 'PolicyException', metadata: { name: 'allow-test', namespace: 'kyverno' },
    spec: { policyRefs: [{ name: 'check', kind: 'ValidatingPolicy' }], matchConditions: [{ name: 'n', expression: 'object.metadata.name == "exempt"' }], ...(reportResult ? { reportResult } : {}) },
  });
  const bad = { containers: [{ name: 'a', image: 'x:latest' }] };
  const skipped = applyCelPolicy(noLatest, opts(pod('exempt', bad), { cluster: cluster({ exceptions: [exception()] }) }));
  assert.deepEqual([skipped.rules[0].name, skipped.rules[0].status, skipped.rules[0].exceptions], ['exception', 'skip', ['kyverno/allow-test']]);
  const passed = applyCelPolicy(noLatest, opts(pod('exempt', bad), { cluster: cluster({ exceptions: [exception('pass')] }) }));
  assert.equal(passed.rules[0].status, 'pass');
  const other = applyCelPolicy(noLatest, opts(pod('other', bad), { cluster: cluster({ exceptions: [exception()] }) }));
  assert.equal(other.rules[0].status, 'fail');
});

test('ValidatingPolicy: resource.Get and namespaceObject come from cluster state', () => {
  const policy = vpol({
    variables: [{ name: 'cm', expression: 'resource.Get("v1", "configmaps", "default", "allowed")' }],
    validations: [{ expression: 'object.spec.priorityClassName in variables.cm.data.classes.split(",") && namespaceObject.metadata.labels.tier == "gold"' }],
  });
  const state = cluster({
    resources: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'allowed', namespace: 'default' }, data: { classes: 'high,low' } }],
    namespaceLabels: { default: { tier: 'gold' } },
  });
  assert.equal(applyCelPolicy(policy, opts(pod('p', { priorityClassName: 'high' }), { cluster: state })).rules[0].status, 'pass');
  assert.equal(applyCelPolicy(policy, opts(pod('p', { priorityClassName: 'mid' }), { cluster: state })).rules[0].status, 'fail');
});

function mpol(mutations: JsonObject[], extra: JsonObject = {}): JsonObject {
  return { apiVersion: 'policies.kyverno.io/v1alpha1', kind: 'MutatingPolicy', metadata: { name: 'm' }, spec: { matchConstraints: podRules, mutations, ...extra } };
}

test('MutatingPolicy: JSONPatch mutations produce the patched resource', () => {
  const policy = mpol([{ patchType: 'JSONPatch', jsonPatch: { expression: '[JSONPatch{op: "add", path: "/metadata/labels/" + jsonpatch.escapeKey("team/name"), value: "core"}]' } }]);
  const res = applyCelPolicy(policy, opts(pod('p', { containers: [] })));
  assert.equal(res.rules[0].status, 'pass');
  assert.equal(res.rules[0].type, 'Mutation');
  assert.deepEqual((res.patchedResource.metadata as JsonObject).labels, { 'team/name': 'core' });
});

test('MutatingPolicy: ApplyConfiguration merges lists by key and keeps other fields', () => {
  const policy = mpol([{
    patchType: 'ApplyConfiguration',
    applyConfiguration: { expression: 'Object{spec: Object.spec{containers: object.spec.containers.map(c, Object.spec.containers{name: c.name, imagePullPolicy: "Always"})}}' },
  }]);
  const res = applyCelPolicy(policy, opts(pod('p', { containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'y' }] })));
  assert.deepEqual((res.patchedResource.spec as JsonObject).containers, [
    { name: 'a', image: 'x', imagePullPolicy: 'Always' },
    { name: 'b', image: 'y', imagePullPolicy: 'Always' },
  ]);
});

test('MutatingPolicy: mutations chain, variables visible to matchConditions, errors reported', () => {
  const chained = mpol([
    { patchType: 'JSONPatch', jsonPatch: { expression: '[JSONPatch{op: "add", path: "/metadata/annotations", value: {"a": "1"}}]' } },
    { patchType: 'ApplyConfiguration', applyConfiguration: { expression: 'Object{metadata: Object.metadata{annotations: {"b": object.metadata.annotations.a + "2"}}}' } },
  ], { variables: [{ name: 'enabled', expression: 'object.metadata.name != "off"' }], matchConditions: [{ name: 'on', expression: 'variables.enabled' }] });
  const res = applyCelPolicy(chained, opts(pod('p', {})));
  assert.deepEqual((res.patchedResource.metadata as JsonObject).annotations, { a: '1', b: '12' });
  assert.equal(applyCelPolicy(chained, opts(pod('off', {}))).rules[0].status, 'skip');
  const broken = mpol([{ patchType: 'JSONPatch', jsonPatch: { expression: '[JSONPatch{op: "replace", path: "/spec/missing/x", value: 1}]' } }]);
  assert.equal(applyCelPolicy(broken, opts(pod('p', {}))).rules[0].status, 'error');
});

test('GeneratingPolicy: generator.Apply collects generated resources', () => {
  const policy: JsonObject = {
    apiVersion: 'policies.kyverno.io/v1alpha1', kind: 'GeneratingPolicy', metadata: { name: 'g' },
    spec: {
      matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['namespaces'] }] },
      variables: [{ name: 'ns', expression: 'object.metadata.name' }],
      generate: [{ expression: 'generator.Apply(variables.ns, [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "defaults"}}])' }],
    },
  };
  const res = applyCelPolicy(policy, opts({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } }));
  assert.equal(res.rules[0].type, 'Generation');
  assert.equal(res.rules[0].status, 'pass');
  assert.deepEqual(res.rules[0].generatedResources, [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'defaults', namespace: 'team-a' } }]);
});

test('DeletingPolicy: conditions decide whether a resource would be deleted', () => {
  const policy: JsonObject = {
    apiVersion: 'policies.kyverno.io/v1alpha1', kind: 'DeletingPolicy', metadata: { name: 'd' },
    spec: { matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }] }, conditions: [{ name: 'bare', expression: '!has(object.metadata.ownerReferences)' }], schedule: '*/5 * * * *' },
  };
  assert.equal(applyCelPolicy(policy, opts(pod('bare', {}))).rules[0].status, 'pass');
  const owned = pod('owned', {});
  (owned.metadata as JsonObject).ownerReferences = [{ kind: 'ReplicaSet', name: 'r' }];
  assert.equal(applyCelPolicy(policy, opts(owned)).rules[0].status, 'fail');
});

test('ValidatingAdmissionPolicy: bindings select, CLI evaluates without params', () => {
  const vap: JsonObject = {
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy', metadata: { name: 'max-replicas' },
    spec: {
      matchConstraints: { resourceRules: [{ apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE'], resources: ['deployments'] }] },
      matchConditions: [{ name: 'not-system', expression: 'object.metadata.namespace != "kube-system"' }],
      validations: [{ expression: 'object.spec.replicas <= 3' }],
    },
  };
  const deploy = (replicas: number, namespace = 'default'): JsonObject => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace }, spec: { replicas } });
  const ok = applyCelPolicy(vap, opts(deploy(2)));
  assert.deepEqual([ok.rules[0].name, ok.rules[0].status, ok.rules[0].message], ['max-replicas', 'pass', '']);
  const bad = applyCelPolicy(vap, opts(deploy(5)));
  assert.deepEqual([bad.rules[0].status, bad.rules[0].message], ['fail', 'failed expression: object.spec.replicas <= 3']);
  assert.equal(applyCelPolicy(vap, opts(deploy(5, 'kube-system'))).rules[0].message, "match conditions aren't met");
  const binding: JsonObject = {
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding', metadata: { name: 'b' },
    spec: { policyName: 'max-replicas', validationActions: ['Audit'], matchResources: { namespaceSelector: { matchLabels: { env: 'prod' } } } },
  };
  const state = cluster({ resources: [binding], namespaceLabels: { prod: { env: 'prod' } } });
  assert.deepEqual(applyCelPolicy(vap, opts(deploy(5), { cluster: state })).rules, []);
  const audited = applyCelPolicy(vap, opts(deploy(5, 'prod'), { cluster: state }));
  assert.deepEqual([audited.rules[0].status, audited.rules[0].failureAction], ['fail', 'Audit']);
  const withParams = { ...vap, spec: { ...(vap.spec as JsonObject), validations: [{ expression: 'object.spec.replicas <= params.max' }] } };
  assert.equal(applyCelPolicy(withParams, opts(deploy(1))).rules[0].status, 'error');
});

test('classic validate.cel: messages, celPreconditions, errors deny', () => {
  const rule: JsonObject = {
    name: 'check-replicas',
    celPreconditions: [{ name: 'labelled', expression: 'has(object.metadata.labels) && "app" in object.metadata.labels' }],
    validate: { message: 'too many replicas', cel: { expressions: [{ expression: 'object.spec.replicas <= 3' }] } },
  };
  const deploy = (spec: JsonObject, labels: JsonObject = { app: 'x' }): JsonObject => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'default', labels }, spec });
  assert.deepEqual(validateClassicCel(rule, opts(deploy({ replicas: 2 }))), { name: 'check-replicas', type: 'Validation', status: 'pass', message: "Validation rule 'check-replicas' passed.", validationsEvaluated: 1 });
  assert.equal(validateClassicCel(rule, opts(deploy({ replicas: 9 }))).message, 'too many replicas');
  assert.equal(validateClassicCel(rule, opts(deploy({ replicas: 9 }, {}))).status, 'skip');
  const erroring = validateClassicCel(rule, opts(deploy({})));
  assert.equal(erroring.status, 'fail');
  assert.match(erroring.message, /^expression 'object.spec.replicas <= 3' resulted in error: /);
  assert.deepEqual(evaluateCelPreconditions(rule.celPreconditions, opts(deploy({}))), { pass: true });
  assert.equal(evaluateCelPreconditions(rule.celPreconditions, opts(deploy({}, {}))).pass, false);
  assert.ok(evaluateCelPreconditions([{ name: 'x', expression: 'object.nope.x' }], opts(deploy({}))).error);
});

test('classic validate.cel params: looked up by the param kind\'s scope, a Namespace being no namespace of its own (CollectParams)', () => {
  const crd = (scope: string): JsonObject => ({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'constraints.example.com' }, spec: { group: 'example.com', scope, names: { kind: 'Constraint', plural: 'constraints' } } });
  const constraint = (namespace?: string): JsonObject => ({ apiVersion: 'example.com/v1', kind: 'Constraint', metadata: { name: 'names', ...(namespace ? { namespace } : {}) }, name: 'prod-1' });
  const rule = (paramRef: JsonObject): JsonObject => ({ name: 'ns-name', validate: { cel: { paramKind: { apiVersion: 'example.com/v1', kind: 'Constraint' }, paramRef, expressions: [{ expression: 'object.metadata.name == params.name' }] } } });
  const namespace = (name: string, state: ClusterState): ApplyOptions => {
    const o = opts({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, { cluster: state });
    return { ...o, request: { ...o.request, namespace: name } };
  };
  const clusterScoped = cluster({ resources: [crd('Cluster'), constraint()] });
  assert.equal(validateClassicCel(rule({ name: 'names' }), namespace('prod-1', clusterScoped)).status, 'pass');
  assert.equal(validateClassicCel(rule({ name: 'names' }), namespace('dev-1', clusterScoped)).status, 'fail');
  assert.equal(validateClassicCel(rule({ name: 'names', namespace: 'x' }), namespace('prod-1', clusterScoped)).message, 'error in parameterized resource: paramRef.namespace must not be provided for a cluster-scoped `paramKind`');
  const namespaced = cluster({ resources: [crd('Namespaced'), constraint('prod-1')] });
  assert.equal(validateClassicCel(rule({ name: 'names' }), namespace('prod-1', namespaced)).message, "error in parameterized resource: can't use namespaced paramRef to match cluster-scoped resources");
  assert.equal(validateClassicCel(rule({ name: 'names', namespace: 'prod-1' }), namespace('prod-1', namespaced)).status, 'pass');
});

// Real corpus samples (read-only), exercised end to end through applyCelPolicy.
const corpus = '/work/shared/conformance/kyverno-policies';
function yamlDocs(path: string): JsonObject[] {
  return parseAllDocuments(readFileSync(path, 'utf8')).map((d) => d.toJSON() as JsonObject).filter(Boolean);
}

test('corpus: best-practices-vpol/require-labels', () => {
  const [policy] = yamlDocs(`${corpus}/best-practices-vpol/require-labels/require-labels.yaml`);
  const resources = yamlDocs(`${corpus}/best-practices-vpol/require-labels/.kyverno-test/resource.yaml`);
  const status = (name: string) => applyCelPolicy(policy, opts(resources.find((r) => (r.metadata as JsonObject).name === name)!)).rules[0].status;
  assert.deepEqual(['badpod01', 'badpod02', 'goodpod01', 'goodpod02'].map(status), ['fail', 'fail', 'pass', 'pass']);
});

test('corpus: other-mpol/add-certificates-volume patched resource', () => {
  const dir = `${corpus}/other-mpol/add-certificates-volume`;
  const [policy] = yamlDocs(`${dir}/add-certificates-volume.yaml`);
  const [resource] = yamlDocs(`${dir}/.kyverno-test/resource.yaml`);
  const [expected] = yamlDocs(`${dir}/.kyverno-test/patchedResource.yaml`);
  const res = applyCelPolicy(policy, opts(resource));
  assert.equal(res.rules[0].status, 'pass');
  assert.deepEqual(res.patchedResource, expected);
});

test('NamespacedValidatingPolicy applies only in its namespace', () => {
  const policy = { ...noLatest, kind: 'NamespacedValidatingPolicy', metadata: { name: 'check', namespace: 'team' } };
  const bad = { containers: [{ name: 'a', image: 'x:latest' }] };
  assert.equal(applyCelPolicy(policy, opts(pod('p', bad, {}, 'team'))).rules[0].status, 'fail');
  assert.deepEqual(applyCelPolicy(policy, opts(pod('p', bad, {}, 'other'))).rules, []);
});

test('ImageValidatingPolicy: unmatched images pass, a tag fails verifyDigest, matched ones need a registry', () => {
  const policy = (verifyDigest?: boolean): JsonObject => ({
    apiVersion: 'policies.kyverno.io/v1alpha1', kind: 'ImageValidatingPolicy', metadata: { name: 'iv' },
    spec: {
      matchConstraints: podRules, matchImageReferences: [{ glob: 'ghcr.io/org/*' }], attestors: [{ name: 'n', notary: {} }],
      validations: [{ expression: 'images.containers.all(i, verifyImageSignatures(i, [attestors.n]) > 0)' }],
      ...(verifyDigest === undefined ? {} : { validationConfigurations: { verifyDigest } }),
    },
  });
  // Kyverno's evaluator: no matching image leaves nothing to verify, the policy passes.
  const none = applyCelPolicy(policy(), opts(pod('p', { containers: [{ name: 'a', image: 'docker.io/nginx' }] }))).rules[0];
  assert.deepEqual([none.name, none.status, none.message], ['iv', 'pass', 'success']);
  const tag = applyCelPolicy(policy(), opts(pod('p', { containers: [{ name: 'a', image: 'ghcr.io/org/app:1' }] }))).rules[0];
  assert.deepEqual([tag.status, tag.message], ['fail', 'image ghcr.io/org/app:1 does not have a digest']);
  const matched = applyCelPolicy(policy(false), opts(pod('p', { containers: [{ name: 'a', image: 'ghcr.io/org/app:1' }] })));
  assert.equal(matched.rules[0].status, 'error');
  assert.match(matched.rules[0].message, /^failed to evaluate policy: failed to get imagedata: image verification needs registry access/);
});

test('classic validate.cel: namespaceObject is the live Namespace in a cluster, only its name outside one', () => {
  const rule: JsonObject = { name: 'env', validate: { cel: { expressions: [{ expression: "'environment' in namespaceObject.metadata.labels" }] } } };
  const pod: JsonObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'prod' }, spec: {} };
  const live: ClusterState = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [], namespaceObjects: { prod: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'prod', labels: { environment: 'prod' } } } } };
  assert.equal(validateClassicCel(rule, opts(pod, { cluster: live })).status, 'pass');
  const offline = validateClassicCel(rule, opts(pod));
  assert.equal(offline.status, 'fail', 'the CLI’s Namespace has no labels');
  assert.match(offline.message, /No such key: labels/);
});
