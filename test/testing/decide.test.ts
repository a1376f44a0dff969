// Row-deciding semantics of `kyverno test`, on hand-made suites with a scripted engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runTestDocument } from '../../engine/testing';
import type { JsonObject } from '../../engine/core/types';
import { clusterPolicy, deployment, pod, rule, scriptedEngine, suite, TEST_PATH, yamlDocs, type Script } from './helpers';

function run(testDoc: JsonObject, files: Record<string, string>, script: Script) {
  return runTestDocument(TEST_PATH, testDoc, suite(files), { engine: scriptedEngine(script) });
}

const labelsPolicy = clusterPolicy('require-labels', [{ name: 'check-labels', match: {}, validate: {} }]);
const byLabel: Script = (_p, r) => {
  const labels = ((r.metadata as JsonObject).labels ?? {}) as Record<string, string>;
  const status = labels.app ? 'pass' : 'fail';
  return { rules: [rule(r.kind === 'Pod' ? 'check-labels' : 'autogen-check-labels', status)] };
};

test('expected results are compared with the rule status', () => {
  const res = run(
    {
      policies: ['policy.yaml'],
      resources: ['resources.yaml'],
      results: [
        { policy: 'require-labels', rule: 'check-labels', kind: 'Pod', resources: ['good'], result: 'pass' },
        { policy: 'require-labels', rule: 'check-labels', kind: 'Pod', resources: ['bad'], result: 'pass' },
      ],
    },
    { 'policy.yaml': yamlDocs(labelsPolicy), 'resources.yaml': yamlDocs(pod('good', 'ns', { app: 'x' }), pod('bad', 'ns')) },
    byLabel,
  );
  assert.equal(res.error, null);
  assert.deepEqual(
    res.rows.map((r) => [r.resource, r.actual, r.ok, r.reason]),
    [
      ['ns/good', 'pass', true, 'Ok'],
      ['ns/bad', 'fail', false, 'Want pass, got fail'],
    ],
  );
});

test('autogen rule names answer for the rule, and names match across kinds', () => {
  const res = run(
    {
      policies: ['policy.yaml'],
      resources: ['resources.yaml'],
      results: [{ policy: 'require-labels', rule: 'check-labels', kind: 'Pod', resources: ['web'], result: 'fail' }],
    },
    { 'policy.yaml': yamlDocs(labelsPolicy), 'resources.yaml': yamlDocs(pod('web'), deployment('web')) },
    byLabel,
  );
  assert.deepEqual(
    res.rows.map((r) => [r.kind, r.resource, r.actual, r.ok]),
    [
      ['Pod', 'default/web', 'fail', true],
      ['Deployment', 'default/web', 'fail', true],
    ],
  );
});

test('ns/name selects only the resource of that namespace', () => {
  const res = run(
    {
      policies: ['policy.yaml'],
      resources: ['resources.yaml'],
      results: [{ policy: 'require-labels', rule: 'check-labels', kind: 'Pod', resources: ['b/web'], result: 'pass' }],
    },
    { 'policy.yaml': yamlDocs(labelsPolicy), 'resources.yaml': yamlDocs(pod('web', 'a'), pod('web', 'b', { app: 'y' })) },
    byLabel,
  );
  assert.deepEqual(res.rows.map((r) => [r.resource, r.ok]), [['b/web', true]]);
});

test('policies.kyverno.io/scored "false" turns a failure into a warning', () => {
  const unscored = clusterPolicy('soft', [{ name: 'check-labels' }], { 'policies.kyverno.io/scored': 'false' });
  const files = { 'policy.yaml': yamlDocs(unscored), 'resources.yaml': yamlDocs(pod('bad')) };
  const expect = (result: string) =>
    run({ policies: ['policy.yaml'], resources: ['resources.yaml'], results: [{ policy: 'soft', rule: 'check-labels', kind: 'Pod', resources: ['bad'], result }] }, files, byLabel)
      .rows[0];
  assert.deepEqual([expect('warn').ok, expect('warn').actual], [true, 'warn']);
  assert.equal(expect('fail').ok, false);
});

test('a policy that answered without the rule means the resource was excluded (a pass)', () => {
  const res = run(
    {
      policies: ['policy.yaml'],
      resources: ['resources.yaml'],
      results: [{ policy: 'require-labels', rule: 'check-labels', kind: 'Pod', resources: ['web'], result: 'fail' }],
    },
    { 'policy.yaml': yamlDocs(labelsPolicy), 'resources.yaml': yamlDocs(pod('web')) },
    () => ({ rules: [] }),
  );
  assert.deepEqual(res.rows.map((r) => [r.ok, r.reason]), [[true, 'Excluded']]);
});

test('a resource without any response of the policy is not found (a failure)', () => {
  // A plain kind selection: the CLI drops a validating policy's answer without rules.
  const spec = { matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['configmaps'] }] } };
  const vpol = { apiVersion: 'policies.kyverno.io/v1', kind: 'ValidatingPolicy', metadata: { name: 'vp' }, spec };
  const res = run(
    {
      policies: ['policy.yaml'],
      resources: ['resources.yaml'],
      results: [{ policy: 'vp', kind: 'Pod', resources: ['web'], result: 'pass', isValidatingPolicy: true }],
    },
    { 'policy.yaml': yamlDocs(vpol), 'resources.yaml': yamlDocs(pod('web')) },
    () => ({ rules: [] }),
  );
  assert.deepEqual(res.rows.map((r) => [r.resource, r.ok, r.reason]), [['default/web', false, 'Not found']]);
});

test('CEL policy results match whatever rule name the engine reports; flags ignore key case', () => {
  const mpol = { apiVersion: 'policies.kyverno.io/v1', kind: 'MutatingPolicy', metadata: { name: 'mp' }, spec: {} };
  const res = run(
    {
      policies: ['policy.yaml'],
      resources: ['resources.yaml'],
      results: [{ policy: 'mp', kind: 'Pod', resources: ['web'], result: 'pass', isMUtatingPolicy: true }],
    },
    { 'policy.yaml': yamlDocs(mpol), 'resources.yaml': yamlDocs(pod('web')) },
    () => ({ rules: [rule('mp', 'pass', { type: 'Mutation' })] }),
  );
  assert.deepEqual(res.rows.map((r) => [r.actual, r.ok]), [['pass', true]]);
});

test('an unknown result name falls back to every resource, as kyverno does', () => {
  const res = run(
    {
      policies: ['policy.yaml'],
      resources: ['resources.yaml'],
      results: [{ policy: 'require-labels', rule: 'check-labels', kind: 'Pod', resources: ['typo'], result: 'pass' }],
    },
    { 'policy.yaml': yamlDocs(labelsPolicy), 'resources.yaml': yamlDocs(pod('a', undefined, { app: '1' }), pod('b')) },
    byLabel,
  );
  assert.deepEqual(res.rows.map((r) => [r.resource, r.ok]), [['default/a', true], ['default/b', false]]);
});

test('an engine exception becomes an error row, not a crash', () => {
  const res = run(
    {
      policies: ['policy.yaml'],
      resources: ['resources.yaml'],
      results: [{ policy: 'require-labels', rule: 'check-labels', kind: 'Pod', resources: ['web'], result: 'pass' }],
    },
    { 'policy.yaml': yamlDocs(labelsPolicy), 'resources.yaml': yamlDocs(pod('web')) },
    () => {
      throw new Error('boom\nstack');
    },
  );
  assert.equal(res.error, null);
  assert.deepEqual(res.rows.map((r) => [r.actual, r.ok, r.reason]), [['error', false, 'engine error: boom']]);
});

test('resources without a namespace are loaded into "default", as the kyverno CLI does', () => {
  const res = run(
    {
      policies: ['policy.yaml'],
      resources: ['resources.yaml'],
      results: [{ policy: 'require-labels', rule: 'check-labels', kind: 'Pod', resources: ['default/web'], result: 'fail' }],
    },
    { 'policy.yaml': yamlDocs(labelsPolicy), 'resources.yaml': yamlDocs(pod('web'), pod('web', 'other', { app: 'x' })) },
    byLabel,
  );
  assert.deepEqual(res.rows.map((r) => [r.resource, r.actual, r.ok]), [['default/web', 'fail', true]]);
});

test('a generate rule that generated nothing is checked on its result alone', () => {
  const gpol = { apiVersion: 'policies.kyverno.io/v1', kind: 'GeneratingPolicy', metadata: { name: 'gen' }, spec: { generate: [{ expression: 'true' }] } };
  const res = run(
    {
      policies: ['policy.yaml'],
      resources: ['resources.yaml'],
      results: [{ policy: 'gen', kind: 'Pod', resources: ['web'], result: 'pass', generatedResource: 'generated.yaml', isGeneratingPolicy: true }],
    },
    { 'policy.yaml': yamlDocs(gpol), 'resources.yaml': yamlDocs(pod('web')), 'generated.yaml': yamlDocs(pod('other')) },
    () => ({ rules: [rule('', 'skip', { type: 'Generation' })] }),
  );
  assert.deepEqual(res.rows.map((r) => [r.resource, r.actual, r.ok, r.reason]), [['default/web', 'skip', false, 'Want pass, got skip']]);
});

test('the policy kind, not the result flags, decides whether rule names are compared', () => {
  const vap = { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy', metadata: { name: 'vap' }, spec: {} };
  const files = { 'policy.yaml': yamlDocs(vap, labelsPolicy), 'resources.yaml': yamlDocs(pod('web')) };
  const script: Script = (p) => ({ rules: [rule(String((p.metadata as JsonObject).name), 'fail')] });
  const res = run(
    {
      policies: ['policy.yaml'],
      resources: ['resources.yaml'],
      results: [
        // No isValidatingAdmissionPolicy flag and an unrelated rule name: the VAP result still counts.
        { policy: 'vap', rule: 'anything', kind: 'Pod', resources: ['web'], result: 'fail' },
        // A classic policy with no rule named: all its rules are checked.
        { policy: 'require-labels', kind: 'Pod', resources: ['web'], result: 'fail' },
        // A CEL flag does not make a classic policy's rule names irrelevant.
        { policy: 'require-labels', rule: 'other', kind: 'Pod', resources: ['web'], result: 'fail', isValidatingPolicy: true },
      ],
    },
    files,
    script,
  );
  assert.deepEqual(res.rows.map((r) => [r.policy, r.actual, r.ok, r.reason]), [
    ['vap', 'fail', true, 'Ok'],
    ['require-labels', 'fail', true, 'Ok'],
    ['require-labels', '', true, 'Excluded'],
  ]);
});

test('every Mutation rule, MutatingAdmissionPolicy included, is compared through the patched resource', () => {
  const map = { apiVersion: 'admissionregistration.k8s.io/v1alpha1', kind: 'MutatingAdmissionPolicy', metadata: { name: 'map' }, spec: {} };
  const patched = pod('web', 'default', { team: 'a' });
  const run1 = (type: 'Mutation' | 'Validation') =>
    run(
      {
        policies: ['policy.yaml'],
        resources: ['resources.yaml'],
        results: [{ policy: 'map', kind: 'Pod', resources: ['web'], result: 'pass', isMutatingAdmissionPolicy: true, patchedResources: 'patched.yaml' }],
      },
      { 'policy.yaml': yamlDocs(map), 'resources.yaml': yamlDocs(pod('web')), 'patched.yaml': yamlDocs(patched) },
      () => ({ rules: [rule('map', 'pass', { type })], patched }),
    ).rows.map((r) => [r.ok, r.reason]);
  assert.deepEqual(run1('Mutation'), [[true, 'Ok']]);
  // A non-mutation rule is compared through the resource as given, which lacks the label.
  assert.deepEqual(run1('Validation'), [[false, "Resource diff: Patched resource didn't match patched.yaml"]]);
});
