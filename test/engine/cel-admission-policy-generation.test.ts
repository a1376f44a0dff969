// Kubernetes admission policies generated from Kyverno policies (pkg/admissionpolicy builder and
// checker, pkg/controllers/admissionpolicygenerator), and the API server's enforcement of a
// ValidatingAdmissionPolicy through its bindings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  generatedForApiServer,
  mutatingAdmissionPolicyPlan,
  validatingAdmissionPolicyPlan,
  withGenerationStatus,
  type GenerationPlan,
  type VapGenerationOptions,
} from '../../engine/cel/admission-policy-generation';
import { apiServerValidatingAdmission } from '../../engine/cel/validating-admission-policy';
import { applyPolicy } from '../../engine/apply';
import { findResources, knownKindTable } from '../../engine/kube';
import type { ApplyOptions } from '../../engine/apply';
import type { ClusterState, JsonObject } from '../../engine/core/types';

const table = knownKindTable();
const vapOptions = (exceptions: JsonObject[] = []): VapGenerationOptions => ({
  enabled: true,
  exceptions,
  nowMs: Date.parse('2026-01-01T00:00:00Z'),
  findResources: (g, v, k, s) => findResources(table, g, v, k, s),
});

function clusterPolicy(rule: JsonObject, spec: JsonObject = {}): JsonObject {
  return {
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name: 'disallow-host-path', uid: 'uid-1' },
    spec: { ...spec, rules: [{ name: 'host-path', ...rule }] },
  };
}

const celValidate = (extra: JsonObject = {}): JsonObject => ({
  cel: { generate: true, expressions: [{ expression: '!has(object.spec.hostPath)', message: 'no hostPath' }] },
  ...extra,
});

function generated(plan: GenerationPlan): { policy: JsonObject; binding: JsonObject } {
  assert.equal(plan.action, 'generate', plan.action === 'skip' ? plan.reason : plan.action === 'error' ? plan.message : '');
  return plan as { action: 'generate'; policy: JsonObject; binding: JsonObject } & GenerationPlan;
}

function skipReason(plan: GenerationPlan): string {
  assert.equal(plan.action, 'skip');
  return (plan as { reason: string }).reason;
}

test('a ClusterPolicy with a PolicyException: the exception becomes excludeResourceRules, Audit binds Audit and Warn', () => {
  const policy = clusterPolicy(
    {
      match: { any: [{ resources: { kinds: ['Deployment', 'StatefulSet', 'ReplicaSet', 'DaemonSet'], operations: ['CREATE', 'UPDATE'], namespaceSelector: { matchExpressions: [{ key: 'type', operator: 'In', values: ['connector'] }] } } }] },
      validate: celValidate(),
    },
    { validationFailureAction: 'Audit' },
  );
  const exception = {
    apiVersion: 'kyverno.io/v2',
    kind: 'PolicyException',
    metadata: { name: 'e' },
    spec: { exceptions: [{ policyName: 'disallow-host-path', ruleNames: ['host-*'] }], match: { any: [{ resources: { kinds: ['Deployment'], names: ['important-tool'], operations: ['CREATE', 'UPDATE'] } }] } },
  };
  const { policy: vap, binding } = generated(validatingAdmissionPolicyPlan(policy, vapOptions([exception])));
  const owner = [{ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', name: 'disallow-host-path', uid: 'uid-1' }];
  assert.deepEqual(vap, {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name: 'cpol-disallow-host-path', labels: { 'app.kubernetes.io/managed-by': 'kyverno' }, ownerReferences: owner },
    spec: {
      matchConstraints: {
        resourceRules: [{ apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['daemonsets', 'deployments', 'replicasets', 'statefulsets'] }],
        namespaceSelector: { matchExpressions: [{ key: 'type', operator: 'In', values: ['connector'] }] },
        excludeResourceRules: [{ resourceNames: ['important-tool'], apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['deployments'] }],
      },
      validations: [{ expression: '!has(object.spec.hostPath)', message: 'no hostPath' }],
    },
  });
  assert.deepEqual(binding, {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name: 'cpol-disallow-host-path-binding', labels: { 'app.kubernetes.io/managed-by': 'kyverno' }, ownerReferences: owner },
    spec: { policyName: 'cpol-disallow-host-path', validationActions: ['Audit', 'Warn'] },
  });
});

test('kinds translate as Kyverno does: pods add ephemeralcontainers, a subresource stays itself, * is every resource, namespaces select by name', () => {
  const rules = (kinds: string[], extra: JsonObject = {}) => {
    const plan = validatingAdmissionPolicyPlan(clusterPolicy({ match: { any: [{ resources: { kinds, ...extra } }] }, validate: celValidate({ failureAction: 'Enforce' }) }), vapOptions());
    return generated(plan);
  };
  const pods = rules(['Pod', 'Deployment'], { names: ['staging'] });
  assert.deepEqual((pods.policy.spec as JsonObject).matchConstraints, {
    resourceRules: [
      { resourceNames: ['staging'], apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE', 'CONNECT', 'DELETE'], resources: ['pods', 'pods/ephemeralcontainers'] },
      { resourceNames: ['staging'], apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE', 'CONNECT', 'DELETE'], resources: ['deployments'] },
    ],
  });
  assert.deepEqual((pods.binding.spec as JsonObject).validationActions, ['Deny']);
  const exec = rules(['Pod/exec']);
  assert.deepEqual(((exec.policy.spec as JsonObject).matchConstraints as JsonObject).resourceRules, [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE', 'CONNECT', 'DELETE'], resources: ['pods/exec'] }]);
  const all = rules(['*'], { namespaces: ['production', 'staging'], operations: ['CREATE'] });
  assert.deepEqual((all.policy.spec as JsonObject).matchConstraints, {
    resourceRules: [{ apiGroups: ['*'], apiVersions: ['*'], operations: ['CREATE'], resources: ['*'] }],
    namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['production', 'staging'] }] },
  });
});

test('celPreconditions become matchConditions; an exception excluding namespaces excludes the Namespace objects by name', () => {
  const policy = clusterPolicy({ match: { any: [{ resources: { kinds: ['Deployment'] } }] }, celPreconditions: [{ name: 'c', expression: "request.operation == 'CREATE'" }], validate: celValidate() });
  const exception = { apiVersion: 'kyverno.io/v2', kind: 'PolicyException', metadata: { name: 'e' }, spec: { exceptions: [{ policyName: 'disallow-host-path', ruleNames: ['host-path'] }], match: { any: [{ resources: { namespaces: ['testing-ns'], operations: ['CREATE'] } }] } } };
  const spec = generated(validatingAdmissionPolicyPlan(policy, vapOptions([exception]))).policy.spec as JsonObject;
  assert.deepEqual(spec.matchConditions, [{ name: 'c', expression: "request.operation == 'CREATE'" }]);
  assert.deepEqual((spec.matchConstraints as JsonObject).excludeResourceRules, [{ resourceNames: ['testing-ns'], apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['namespaces'] }]);
});

test('ClusterPolicies a ValidatingAdmissionPolicy cannot express are refused with Kyverno\'s reasons', () => {
  const match = { any: [{ resources: { kinds: ['Pod'] } }] };
  const cases: Array<[JsonObject, string, JsonObject[]?]> = [
    [clusterPolicy({ match, validate: { pattern: { spec: {} } } }), 'skip generating ValidatingAdmissionPolicy for non CEL rules.'],
    [clusterPolicy({ match, validate: { cel: { expressions: [{ expression: 'true' }] } } }), 'skip generating ValidatingAdmissionPolicy: validate.cel.generate is not set to true.'],
    [{ ...clusterPolicy({ match, validate: celValidate() }), spec: { rules: [{ name: 'a', match, validate: celValidate() }, { name: 'b', match, validate: celValidate() }] } }, 'skip generating ValidatingAdmissionPolicy: multiple rules are not applicable.'],
    [clusterPolicy({ match: { any: [{ resources: { kinds: ['Pod'], names: ['web-*'] } }] }, validate: celValidate() }), 'skip generating ValidatingAdmissionPolicy: wildcards in resource name is not applicable.'],
    [clusterPolicy({ match: { any: [{ resources: { kinds: ['Pod'], namespaces: ['prod-*'] } }] }, validate: celValidate() }), 'skip generating ValidatingAdmissionPolicy: wildcards in namespace name is not applicable.'],
    [clusterPolicy({ match: { any: [{ resources: { kinds: ['Pod'], annotations: { a: 'b' } } }] }, validate: celValidate() }), 'skip generating ValidatingAdmissionPolicy: Annotations in resource description is not applicable.'],
    [clusterPolicy({ match: { any: [{ resources: { kinds: ['Pod'], selector: { matchLabels: { a: 'b' } } } }, { resources: { kinds: ['Service'] } }] }, validate: celValidate() }), 'skip generating ValidatingAdmissionPolicy: NamespaceSelector / ObjectSelector across multiple resources in the match block are not applicable.'],
    [clusterPolicy({ match: { all: [{ resources: { kinds: ['Pod'] } }, { resources: { kinds: ['Service'] } }] }, validate: celValidate() }), "skip generating ValidatingAdmissionPolicy: multiple 'all' in the match block is not applicable."],
    [clusterPolicy({ match: { any: [{ resources: { kinds: ['Pod'] }, subjects: [{ kind: 'User', name: 'u' }] }] }, validate: celValidate() }), 'skip generating ValidatingAdmissionPolicy: Roles / ClusterRoles / Subjects in `any/all` is not applicable.'],
    [clusterPolicy({ match, exclude: { any: [{ resources: { kinds: ['Pod'], namespaces: ['kube-system'] } }] }, validate: celValidate() }), 'skip generating ValidatingAdmissionPolicy: excluding a resource within a namespace is not applicable.'],
    [clusterPolicy({ match, exclude: { any: [{ resources: { namespaceSelector: { matchLabels: { a: 'b' } } } }] }, validate: celValidate() }), 'skip generating ValidatingAdmissionPolicy: NamespaceSelector / ObjectSelector in the exclude block is not applicable.'],
    [clusterPolicy({ match, validate: celValidate() }, { validationFailureActionOverrides: [{ action: 'Enforce', namespaces: ['a'] }] }), 'skip generating ValidatingAdmissionPolicy: Namespaces in validationFailureActionOverrides is not applicable.'],
    [
      clusterPolicy({ match, validate: celValidate() }),
      'skip generating ValidatingAdmissionPolicy: Conditions in PolicyException is not applicable.',
      [{ apiVersion: 'kyverno.io/v2', kind: 'PolicyException', metadata: { name: 'e' }, spec: { exceptions: [{ policyName: 'disallow-host-path', ruleNames: ['host-path'] }], match: { any: [{ resources: { kinds: ['Pod'] } }] }, conditions: { any: [] } } }],
    ],
  ];
  for (const [policy, reason, exceptions] of cases) {
    const plan = validatingAdmissionPolicyPlan(policy, vapOptions(exceptions));
    assert.equal(skipReason(plan), reason);
    assert.equal(plan.action === 'skip' && plan.target.policyName, 'cpol-disallow-host-path');
  }
  // An exception naming another policy or rule plays no part.
  const other = { apiVersion: 'kyverno.io/v2', kind: 'PolicyException', metadata: { name: 'e' }, spec: { exceptions: [{ policyName: 'other', ruleNames: ['host-path'] }], match: { any: [{ resources: { kinds: ['Pod'] } }] }, conditions: { any: [] } } };
  assert.equal(validatingAdmissionPolicyPlan(clusterPolicy({ match, validate: celValidate() }), vapOptions([other])).action, 'generate');
});

test('what the generator leaves alone, and a kind discovery cannot resolve to one resource', () => {
  const match = { any: [{ resources: { kinds: ['Pod'] } }] };
  assert.equal(validatingAdmissionPolicyPlan(clusterPolicy({ match, validate: celValidate() }), { ...vapOptions(), enabled: false }).action, 'none');
  assert.equal(validatingAdmissionPolicyPlan(clusterPolicy({ match, mutate: { patchStrategicMerge: {} } }), vapOptions()).action, 'none');
  assert.equal(validatingAdmissionPolicyPlan({ ...clusterPolicy({ match, validate: celValidate() }), kind: 'Policy' }, vapOptions()).action, 'none');
  const plan = validatingAdmissionPolicyPlan(clusterPolicy({ match: { any: [{ resources: { kinds: ['Widget'] } }] }, validate: celValidate() }), vapOptions());
  assert.deepEqual(plan.action === 'error' && plan.message, 'no unique match for kind Widget');
});

const validatingPolicy = (autogen: JsonObject | undefined, extra: JsonObject = {}): JsonObject => ({
  apiVersion: 'policies.kyverno.io/v1beta1',
  kind: 'ValidatingPolicy',
  metadata: { name: 'allow-values', uid: 'uid-2' },
  spec: {
    ...(autogen ? { autogen } : {}),
    matchConstraints: { resourceRules: [{ apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE'], resources: ['deployments'] }] },
    validations: [{ expression: "exceptions.allowedValues.exists(v, v == 'x') || exceptions.allowedImages.size() > 0", message: 'm' }],
    ...extra,
  },
});

test('a ValidatingPolicy: generated only when asked and not autogen-ing; CEL exceptions become negated matchConditions and variables', () => {
  assert.equal(skipReason(validatingAdmissionPolicyPlan(validatingPolicy(undefined), vapOptions())), 'skip generating ValidatingAdmissionPolicy: not enabled.');
  // Deployments are no pod controllers' target: only pods autogen.
  const pods = validatingPolicy({ validatingAdmissionPolicy: { enabled: true } }, { matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }] } });
  assert.equal(skipReason(validatingAdmissionPolicyPlan(pods, vapOptions())), 'skip generating ValidatingAdmissionPolicy: pod controllers autogen is enabled.');
  const noControllers = { ...pods, spec: { ...(pods.spec as JsonObject), autogen: { podControllers: { controllers: [] }, validatingAdmissionPolicy: { enabled: true } } } };
  assert.equal(validatingAdmissionPolicyPlan(noControllers, vapOptions()).action, 'generate');

  const exception = {
    apiVersion: 'policies.kyverno.io/v1alpha1',
    kind: 'PolicyException',
    metadata: { name: 'e' },
    spec: { policyRefs: [{ name: 'allow-values', kind: 'ValidatingPolicy' }], matchConditions: [{ name: 'skip', expression: "object.metadata.name == 'skipped'" }], images: ['nginx:latest'], allowedValues: ['FOO', 'BAR'] },
  };
  const expired = { ...exception, metadata: { name: 'old' }, spec: { ...exception.spec, matchConditions: [{ name: 'old', expression: 'true' }], expiresAt: '2020-01-01T00:00:00Z' } };
  const { policy: vap, binding } = generated(validatingAdmissionPolicyPlan(validatingPolicy({ validatingAdmissionPolicy: { enabled: true } }), vapOptions([exception, expired])));
  const spec = vap.spec as JsonObject;
  assert.deepEqual(spec.matchConditions, [{ name: 'skip', expression: "!(object.metadata.name == 'skipped')" }]);
  assert.deepEqual(spec.variables, [{ name: 'allowedImages', expression: "['nginx:latest']" }, { name: 'allowedValues', expression: "['FOO', 'BAR']" }]);
  assert.deepEqual(spec.validations, [{ expression: "variables.allowedValues.exists(v, v == 'x') || variables.allowedImages.size() > 0", message: 'm' }]);
  assert.deepEqual((vap.metadata as JsonObject).ownerReferences, [{ apiVersion: 'policies.kyverno.io/v1beta1', kind: 'ValidatingPolicy', name: 'allow-values', uid: 'uid-2' }]);
  // No validationActions: Kyverno's default, Deny.
  assert.deepEqual(binding.spec, { policyName: 'vpol-allow-values', validationActions: ['Deny'] });
});

const mutatingPolicy = (extra: JsonObject = {}, labels: JsonObject = {}): JsonObject => ({
  apiVersion: 'policies.kyverno.io/v1beta1',
  kind: 'MutatingPolicy',
  metadata: { name: 'add-label', uid: 'uid-3', labels },
  spec: {
    autogen: { mutatingAdmissionPolicy: { enabled: true } },
    matchConstraints: { resourceRules: [{ apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE'], resources: ['deployments'] }], namespaceSelector: { matchLabels: { a: 'b' } } },
    matchConditions: [{ name: 'dev', expression: "request.namespace == 'dev'" }],
    mutations: [{ patchType: 'JSONPatch', jsonPatch: { expression: '[]' }, extra: 'kept only by v1alpha1' }],
    ...extra,
  },
});

test('a MutatingPolicy: the served version shapes the MutatingAdmissionPolicy; exceptions come first, negated', () => {
  const exception = { apiVersion: 'policies.kyverno.io/v1alpha1', kind: 'PolicyException', metadata: { name: 'e' }, spec: { policyRefs: [{ name: 'add-label', kind: 'MutatingPolicy' }], matchConditions: [{ name: 'n', expression: "object.metadata.name == 'skip'" }] } };
  const opts = { enabled: true, version: 'v1beta1' as const, exceptions: [exception], nowMs: 0 };
  const { policy: map, binding } = generated(mutatingAdmissionPolicyPlan(mutatingPolicy({}, { 'reports.kyverno.io/disabled': 'x' }), opts));
  assert.deepEqual(map, {
    apiVersion: 'admissionregistration.k8s.io/v1beta1',
    kind: 'MutatingAdmissionPolicy',
    metadata: {
      name: 'mpol-add-label',
      labels: { 'app.kubernetes.io/managed-by': 'kyverno', 'reports.kyverno.io/disabled': 'true' },
      ownerReferences: [{ apiVersion: 'policies.kyverno.io/v1beta1', kind: 'MutatingPolicy', name: 'add-label', uid: 'uid-3' }],
    },
    spec: {
      // Only the resource rules carry over.
      matchConstraints: { resourceRules: [{ operations: ['CREATE'], apiGroups: ['apps'], apiVersions: ['v1'], resources: ['deployments'] }] },
      mutations: [{ patchType: 'JSONPatch', jsonPatch: { expression: '[]' } }],
      reinvocationPolicy: 'Never',
      matchConditions: [{ name: 'n', expression: "!(object.metadata.name == 'skip')" }, { name: 'dev', expression: "request.namespace == 'dev'" }],
    },
  });
  assert.deepEqual(binding.spec, { policyName: 'mpol-add-label' });
  assert.equal((binding.metadata as JsonObject).name, 'mpol-add-label-binding');
  const alpha = generated(mutatingAdmissionPolicyPlan(mutatingPolicy({ failurePolicy: 'Ignore', reinvocationPolicy: 'IfNeeded' }), { ...opts, version: 'v1alpha1' })).policy;
  assert.equal(alpha.apiVersion, 'admissionregistration.k8s.io/v1alpha1');
  assert.deepEqual(((alpha.spec as JsonObject).mutations as JsonObject[])[0].extra, 'kept only by v1alpha1');
  assert.equal((alpha.spec as JsonObject).failurePolicy, 'Ignore');
  assert.equal((alpha.spec as JsonObject).reinvocationPolicy, 'IfNeeded');
});

test('MutatingPolicies: feature off leaves unasked policies alone; refusals carry Kyverno\'s reasons', () => {
  const notAsked = mutatingPolicy({ autogen: {} });
  assert.equal(mutatingAdmissionPolicyPlan(notAsked, { enabled: false, version: 'v1', exceptions: [], nowMs: 0 }).action, 'none');
  assert.equal(skipReason(mutatingAdmissionPolicyPlan(notAsked, { enabled: true, version: 'v1', exceptions: [], nowMs: 0 })), 'skip generating MutatingAdmissionPolicy: not enabled.');
  // Asked for by the policy itself: generated even with the feature off.
  assert.equal(mutatingAdmissionPolicyPlan(mutatingPolicy(), { enabled: false, version: 'v1', exceptions: [], nowMs: 0 }).action, 'generate');
  assert.equal(skipReason(mutatingAdmissionPolicyPlan(mutatingPolicy(), { enabled: true, version: undefined, exceptions: [], nowMs: 0 })), 'skip generating MutatingAdmissionPolicy: requested but no MutatingAdmissionPolicy API/informers are available.');
  assert.equal(
    skipReason(mutatingAdmissionPolicyPlan(mutatingPolicy({ evaluation: { useServerSideApply: true } }), { enabled: true, version: 'v1', exceptions: [], nowMs: 0 })),
    'skip generating MutatingAdmissionPolicy: useServerSideApply is enabled, which mutates atomic fields that a native MutatingAdmissionPolicy rejects.',
  );
  const pods = mutatingPolicy({ autogen: { podControllers: { controllers: ['deployments'] }, mutatingAdmissionPolicy: { enabled: true } }, matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }] } });
  assert.equal(skipReason(mutatingAdmissionPolicyPlan(pods, { enabled: true, version: 'v1', exceptions: [], nowMs: 0 })), 'skip generating MutatingAdmissionPolicy: pod controllers autogen is enabled.');
  assert.equal(mutatingAdmissionPolicyPlan({ ...mutatingPolicy(), kind: 'NamespacedMutatingPolicy' }, { enabled: true, version: 'v1', exceptions: [], nowMs: 0 }).action, 'none');
});

test('generation status: where Kyverno records it, and which policies are then left to the API server', () => {
  const cpol = clusterPolicy({ match: {}, validate: celValidate() });
  const cstatus = withGenerationStatus({ ...cpol, status: { conditions: [] } }, true, '');
  assert.deepEqual(cstatus, { conditions: [], validatingadmissionpolicy: { generated: true, message: '' } });
  assert.equal(generatedForApiServer({ ...cpol, status: cstatus }), true);
  const vpol = validatingPolicy(undefined);
  const vstatus = withGenerationStatus({ ...vpol, status: { conditionStatus: { ready: true } } }, false, 'skip generating ValidatingAdmissionPolicy: not enabled.');
  assert.deepEqual(vstatus, { conditionStatus: { ready: true, message: 'skip generating ValidatingAdmissionPolicy: not enabled.' }, generated: false });
  assert.equal(generatedForApiServer({ ...vpol, status: vstatus }), false);
  assert.deepEqual(withGenerationStatus({ ...vpol, status: vstatus }, true, ''), { conditionStatus: { ready: true }, generated: true });
  assert.equal(generatedForApiServer({ ...mutatingPolicy(), status: { generated: true } }), true);
  assert.equal(generatedForApiServer({ ...mutatingPolicy(), kind: 'ImageValidatingPolicy', status: { generated: true } }), false);
});

test('the API server enforces a ValidatingAdmissionPolicy through its bindings: Deny refuses, Warn warns, no binding does nothing', () => {
  const cluster: ClusterState = { resources: [], namespaceLabels: { default: {} }, apiCallResponses: [], globalContext: {}, exceptions: [] };
  const vap = { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy', metadata: { name: 'p' }, spec: {
    matchConstraints: { resourceRules: [{ apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['deployments'] }] },
    matchConditions: [{ name: 'not-skipped', expression: "!(object.metadata.name == 'skipped')" }],
    validations: [{ expression: "has(object.metadata.labels) && 'env' in object.metadata.labels && object.metadata.labels['env'] == 'prod'", message: 'env must be prod' }],
  } };
  const binding = (actions: string[]) => ({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding', metadata: { name: 'p-binding' }, spec: { policyName: 'p', validationActions: actions } });
  const request = (name: string, labels: JsonObject = {}): ApplyOptions => ({
    request: {
      operation: 'UPDATE' as const,
      kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      namespace: 'default',
      requestInfo: { roles: [], clusterRoles: [], userInfo: { username: 'admin' } },
      object: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'default', labels } },
      oldObject: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'default' } },
    },
    cluster,
  });
  assert.deepEqual(apiServerValidatingAdmission([vap], [], request('bad')), { warnings: [] });
  assert.deepEqual(apiServerValidatingAdmission([vap], [binding(['Deny'])], request('bad')), {
    denial: { message: "ValidatingAdmissionPolicy 'p' with binding 'p-binding' denied request: env must be prod", reason: 'Invalid' },
    warnings: [],
  });
  assert.deepEqual(apiServerValidatingAdmission([vap], [binding(['Deny'])], request('good', { env: 'prod' })), { warnings: [] });
  assert.deepEqual(apiServerValidatingAdmission([vap], [binding(['Deny'])], request('skipped')), { warnings: [] });
  assert.deepEqual(apiServerValidatingAdmission([vap], [binding(['Audit', 'Warn'])], request('bad')), {
    warnings: ["Validation failed for ValidatingAdmissionPolicy 'p' with binding 'p-binding': env must be prod"],
  });
  // An expression that fails to evaluate refuses under failurePolicy Fail (the default), not under Ignore.
  const erring = { ...vap, spec: { ...vap.spec, validations: [{ expression: 'object.metadata.labels.env == "prod"' }] } };
  assert.match(apiServerValidatingAdmission([erring], [binding(['Deny'])], request('bad')).denial?.message ?? '', /^ValidatingAdmissionPolicy 'p' with binding 'p-binding' denied request: expression 'object.metadata.labels.env == "prod"' resulted in error: /);
  assert.deepEqual(apiServerValidatingAdmission([{ ...erring, spec: { ...erring.spec, failurePolicy: 'Ignore' } }], [binding(['Deny'])], request('bad')), { warnings: [] });
});

test('a ClusterPolicy whose ValidatingAdmissionPolicy was generated gives no validate.cel response (the API server enforces it)', () => {
  const policy = clusterPolicy({ match: { any: [{ resources: { kinds: ['Pod'] } }] }, validate: { failureAction: 'Enforce', cel: { generate: true, expressions: [{ expression: 'false', message: 'never' }] } } });
  const options: ApplyOptions = {
    request: { operation: 'CREATE', object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x', namespace: 'default' } }, oldObject: null, namespace: 'default', requestInfo: { roles: [], clusterRoles: [], userInfo: { username: 'admin' } } },
    cluster: { resources: [], namespaceLabels: { default: {} }, apiCallResponses: [], globalContext: {}, exceptions: [] },
  };
  assert.deepEqual(applyPolicy(policy, options).rules.map((r) => r.status), ['fail']);
  assert.deepEqual(applyPolicy({ ...policy, status: { validatingadmissionpolicy: { generated: true, message: '' } } }, options).rules, []);
});
