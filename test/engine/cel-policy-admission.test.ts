import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkMutatingPolicyForAdmission } from '../../engine/cel/mutating-policy';
import { checkDeletingPolicyForAdmission } from '../../engine/cleanup/policy';

const rules = { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'], operations: ['CREATE'] }] };
const mpol = (spec: unknown) => ({ apiVersion: 'policies.kyverno.io/v1', kind: 'MutatingPolicy', metadata: { name: 'm' }, spec });

test('a MutatingPolicy is refused without a spec, without resource rules, or with both evaluation modes off', () => {
  assert.deepEqual(checkMutatingPolicyForAdmission({ apiVersion: 'policies.kyverno.io/v1', kind: 'MutatingPolicy', metadata: { name: 'm' } }), {
    error: 'spec: Required value: spec must not be nil',
    warnings: ['spec: Required value: spec must not be nil'],
  });
  assert.equal(checkMutatingPolicyForAdmission(mpol({ matchConstraints: rules })).error, undefined);
  assert.equal(checkMutatingPolicyForAdmission(mpol({})).error, 'spec.matchConstraints: Required value: a matchConstraints with at least one resource rule is required');
  const off = checkMutatingPolicyForAdmission(mpol({ matchConstraints: rules, evaluation: { admission: { enabled: false } } }));
  assert.equal(off.error, 'spec.evaluation: Forbidden: disabling both admission and mutateExisting evaluation modes is not allowed');
  assert.deepEqual(off.warnings, [off.error]);
  assert.equal(checkMutatingPolicyForAdmission(mpol({ matchConstraints: rules, evaluation: { admission: { enabled: false }, mutateExisting: { enabled: true } } })).error, undefined);
  // Both errors at once are aggregated as a field.ErrorList is.
  assert.match(checkMutatingPolicyForAdmission(mpol({ evaluation: { admission: { enabled: false } } })).error ?? '', /^\[spec\.matchConstraints: .*, spec\.evaluation: Forbidden: .*\]$/);
});

test('a DeletingPolicy shares the spec and resource-rule checks, then needs a cron schedule', () => {
  const dpol = (spec: unknown) => ({ apiVersion: 'policies.kyverno.io/v1', kind: 'DeletingPolicy', metadata: { name: 'd' }, spec });
  assert.equal(checkDeletingPolicyForAdmission({ apiVersion: 'policies.kyverno.io/v1', kind: 'DeletingPolicy', metadata: { name: 'd' } }).error, 'spec: Required value: spec must not be nil');
  assert.equal(checkDeletingPolicyForAdmission(dpol({ matchConstraints: rules, schedule: '*/5 * * * *' })).error, undefined);
  assert.equal(checkDeletingPolicyForAdmission(dpol({ matchConstraints: rules })).error, 'spec.schedule: Required value: schedule is required');
});

test('CEL and cleanup policy errors carry the path of the value at fault', async () => {
  const { admissionVerdict } = await import('../../engine/policy/admission');
  const mpol = admissionVerdict({ apiVersion: 'policies.kyverno.io/v1', kind: 'MutatingPolicy', metadata: { name: 'm' }, spec: { evaluation: { admission: { enabled: false } } } });
  assert.deepEqual(mpol?.errors.map((e) => e.path), [['spec', 'matchConstraints'], ['spec', 'evaluation']]);
  assert.deepEqual(mpol?.warnings, mpol?.errors.map((e) => e.message));
  const dpol = admissionVerdict({ apiVersion: 'policies.kyverno.io/v1', kind: 'DeletingPolicy', metadata: { name: 'd' }, spec: { matchConstraints: { resourceRules: [{ resources: ['pods'] }] }, schedule: 'often' } });
  assert.deepEqual(dpol?.errors.map((e) => e.path), [['spec', 'schedule']]);
  const cleanup = admissionVerdict({ apiVersion: 'kyverno.io/v2', kind: 'ClusterCleanupPolicy', metadata: { name: 'c' }, spec: { schedule: '@daily', match: { any: [{ resources: { kinds: ['Pod'] }, roles: ['a:b'] }] } } });
  assert.deepEqual(cleanup?.errors.map((e) => e.path), [['spec', 'match', 'any', 0, 'roles']]);
  // Kyverno's policy webhook validates ValidatingPolicies, ImageValidatingPolicies and GeneratingPolicies too (pkg/webhooks/policy/handlers.go).
  for (const kind of ['ValidatingPolicy', 'NamespacedValidatingPolicy', 'ImageValidatingPolicy', 'GeneratingPolicy']) {
    const verdict = admissionVerdict({ apiVersion: 'policies.kyverno.io/v1', kind, metadata: { name: 'v' }, spec: {} });
    assert.deepEqual(verdict?.errors.map((e) => e.path), [['spec', 'matchConstraints']], kind);
    assert.deepEqual(admissionVerdict({ apiVersion: 'policies.kyverno.io/v1', kind, metadata: { name: 'v' }, spec: { matchConstraints: { resourceRules: [{ resources: ['pods'] }] } } })?.errors, [], kind);
  }
  assert.equal(admissionVerdict({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'v' } }), undefined, 'no webhook check for this kind');
});

test('a GeneratingPolicy whose CEL does not compile is refused: the first failing section, behind the compiler\'s placeholder', async () => {
  const { admissionVerdict } = await import('../../engine/policy/admission');
  const gpol = (spec: Record<string, unknown>) => ({ apiVersion: 'policies.kyverno.io/v1beta1', kind: 'GeneratingPolicy', metadata: { name: 'g' }, spec: { matchConstraints: rules, ...spec } });
  const variables = [{ name: 'cm', expression: "[{'kind': dyn('ConfigMap')}]" }];
  const ok = gpol({ matchConditions: [{ name: 'red', expression: "object.metadata.labels['color'] == 'red'" }], variables, generate: [{ expression: "generator.Apply('ns', variables.cm)" }] });
  assert.deepEqual(admissionVerdict(ok)?.errors, []);
  const wrongArity = admissionVerdict(gpol({ variables, generate: [{ expression: 'generator.apply(variables.cm)' }, { expression: 'nope(' }] }));
  assert.deepEqual(wrongArity?.errors.map((e) => e.path), [['spec'], ['spec', 'generate', 0, 'expression']]);
  assert.equal(wrongArity?.errors[0].message, '<nil>: Internal error: generating policy compiler 2.0 error: failed to compile policy');
  assert.equal(wrongArity?.errors[0].unplaced, true, 'no value at fault: editors and file:line reports leave it out');
  assert.equal(wrongArity?.errors[1].unplaced, undefined);
  assert.match(wrongArity?.errors[1].message ?? '', /^spec\.generate\[0\]\.expression: Invalid value: "generator\.apply\(variables\.cm\)": found no matching overload/);
  // A NamespacedGeneratingPolicy's generator has a one-argument apply: not checked here.
  assert.deepEqual(admissionVerdict({ ...gpol({ generate: [{ expression: 'generator.apply([])' }] }), kind: 'NamespacedGeneratingPolicy', metadata: { name: 'g', namespace: 'n' } })?.errors, []);
  // Match conditions are compiled first, each of them, and must be boolean; nothing after them is looked at.
  const conditions = admissionVerdict(gpol({ matchConditions: [{ name: 'a', expression: "'red'" }, { name: 'b', expression: 'object.(' }], generate: [{ expression: 'nope(' }] }));
  assert.deepEqual(conditions?.errors.map((e) => e.path), [['spec'], ['spec', 'matchConditions', 0, 'expression'], ['spec', 'matchConditions', 1, 'expression']]);
  assert.equal(conditions?.errors[1].message, 'spec.matchConditions[0].expression: Invalid value: "\'red\'": output is expected to be of type bool');
});

test('a ValidatingPolicy is compiled too: a validation\'s expression, then its messageExpression; JSON mode has no placeholder', async () => {
  const { admissionVerdict } = await import('../../engine/policy/admission');
  const vpol = (spec: Record<string, unknown>) => ({ apiVersion: 'policies.kyverno.io/v1', kind: 'ValidatingPolicy', metadata: { name: 'v' }, spec: { matchConstraints: rules, ...spec } });
  assert.deepEqual(admissionVerdict(vpol({ validations: [{ expression: "object.metadata.name != ''", messageExpression: "'bad ' + object.metadata.name" }] }))?.errors, []);
  const message = admissionVerdict(vpol({ validations: [{ expression: 'true', messageExpression: '1 + 1' }, { expression: 'nope(' }] }));
  assert.deepEqual(message?.errors.map((e) => [e.path, e.message]), [
    [['spec'], '<nil>: Internal error: validating policy compiler 1.0 error: failed to compile policy'],
    [['spec', 'validations', 0, 'messageExpression'], 'spec.validations[0].messageExpression: Invalid value: "1 + 1": output is expected to be of type string'],
  ]);
  // Authorization-mode policies compile in another environment: not checked here.
  assert.deepEqual(admissionVerdict(vpol({ evaluation: { mode: 'Envoy' }, validations: [{ expression: 'envoy.Allowed().Response()' }] }))?.errors, []);
  const json = admissionVerdict(vpol({ evaluation: { mode: 'JSON' }, validations: [{ expression: 'nope(' }] }));
  assert.deepEqual(json?.errors.map((e) => e.path), [['spec', 'validations', 0, 'expression']]);
});
