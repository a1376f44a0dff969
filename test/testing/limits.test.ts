// Structural limits of the loaders: nesting depth and policy shape, with one-line messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nestingDepth, parseYamlDocuments } from '../../engine/loader';
import { runTestDocument } from '../../engine/testing';
import { policyShapeProblem } from '../../engine/testing/policy-shape';
import { scriptedEngine, suite, TEST_PATH, yamlDocs, pod } from './helpers';

test('nesting depth is measured without recursion, and stops at the limit', () => {
  let deep: unknown = 'x';
  for (let i = 0; i < 100_000; i++) deep = [deep];
  assert.equal(nestingDepth({ a: [1, { b: {} }] }), 4);
  assert.equal(nestingDepth(deep, 10), 11);
});

test('documents deeper than the limit are refused with their line; shallower ones load', () => {
  const nested = (n: number) => `a: ${'['.repeat(n)}${']'.repeat(n)}\n`;
  const ok = parseYamlDocuments(`x: 1\n---\n${nested(5)}`, 'd.yaml', { maxDepth: 10 });
  assert.equal(ok.documents.length, 2);
  const bad = parseYamlDocuments(`x: 1\n---\n${nested(20)}`, 'd.yaml', { maxDepth: 10 });
  assert.deepEqual(bad.documents.map((d) => d.value), [{ x: 1 }]);
  assert.deepEqual(bad.errors, [{ file: 'd.yaml', line: 3, message: 'YAML nested too deeply (more than 10 levels)' }]);
});

test('nesting that exhausts the parser is one error, not a crash', () => {
  const r = parseYamlDocuments(`a: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`, 'deep.yaml');
  assert.equal(r.documents.length, 0);
  assert.equal(r.errors.length, 1);
  assert.match(r.errors[0].message, /^YAML nested too deeply/);
});

test('policy shape: what the CRDs require and type', () => {
  const cp = (spec: unknown) => ({ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'p' }, ...(spec === undefined ? {} : { spec }) });
  assert.equal(policyShapeProblem(cp(undefined)), 'spec is required');
  assert.equal(policyShapeProblem(cp([])), 'spec must be a mapping, not a list');
  assert.equal(policyShapeProblem(cp({ rules: {} })), 'spec.rules must be a list, not a mapping');
  assert.equal(policyShapeProblem(cp({ rules: [{ match: {} }] })), 'spec.rules[0].name is required');
  assert.equal(policyShapeProblem(cp({ rules: [{ name: 'r' }] })), 'spec.rules[0].match is required');
  assert.equal(policyShapeProblem(cp({ rules: [{ name: 'r', match: {}, validate: { message: 1 } }] })), 'spec.rules[0].validate.message must be a string, not a number');
  assert.equal(policyShapeProblem(cp({ rules: [{ name: 'r', match: {}, validate: { pattern: 1 } }] })), null);
  const vpol = (spec: unknown) => ({ apiVersion: 'policies.kyverno.io/v1', kind: 'ValidatingPolicy', metadata: { name: 'v' }, spec });
  assert.equal(policyShapeProblem(vpol({ validations: 'x' })), 'spec.validations must be a list, not a string');
  assert.equal(policyShapeProblem(vpol({ validations: [{ expression: 'true' }, 3] })), 'spec.validations[1] must be a mapping, not a number');
  assert.equal(policyShapeProblem({ ...vpol({}), kind: 'NamespacedGeneratingPolicy' }), 'spec.generate is required');
  assert.equal(policyShapeProblem({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy', metadata: { name: 'a' } }), null);
});

test('a malformed policy is a file error naming file, line and field; the engine is not called', () => {
  const calls: string[] = [];
  const policy = 'apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: p\nspec:\n  rules: 3\n';
  const res = runTestDocument(
    TEST_PATH,
    { policies: ['p.yaml'], resources: ['r.yaml'], results: [] },
    suite({ 'p.yaml': `x: 1\n---\n${policy}`, 'r.yaml': yamlDocs(pod('web')) }),
    { engine: scriptedEngine(() => ({ rules: [] }), calls) },
  );
  assert.equal(res.error, 'suite/p.yaml:8:10: invalid policy p: spec.rules must be a list, not a number', 'the line and column of the value');
  assert.deepEqual(calls, []);
});
