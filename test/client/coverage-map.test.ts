// The Test Explorer's coverage mapping (pure): coverage of several test results merged per
// policy file, one statement per rule and per CEL validation at the loader's positions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runTestText } from '../../engine/testing';
import { coverageStatements } from '../../client/src/testing/coverage-map';

const POLICY = `apiVersion: policies.kyverno.io/v1alpha1
kind: ValidatingPolicy
metadata:
  name: vpol
spec:
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE]
      resources: [pods]
  validations:
  - expression: "has(object.metadata.labels)"
    message: labels
  - expression: "object.metadata.name != 'bad'"
    message: name
`;

const run = (name: string, labels: string) => {
  const pod = `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n  namespace: default\n${labels}spec:\n  containers:\n  - {name: c, image: nginx}\n`;
  const test = `apiVersion: cli.kyverno.io/v1alpha1\nkind: Test\nmetadata: {name: t}\npolicies: [policy.yaml]\nresources: [pod.yaml]\nresults:\n- {isValidatingPolicy: true, policy: vpol, resources: [${name}], kind: Pod, result: fail}\n`;
  return runTestText('/w/kyverno-test.yaml', test, new Map([['/w/policy.yaml', POLICY], ['/w/pod.yaml', pod], ['/w/kyverno-test.yaml', test]]), { coverage: true })[0];
};

test('coverageStatements: one statement per policy unit and CEL validation, merged over tests, at their lines', () => {
  const first = run('a', '');
  const files = coverageStatements([first], (p) => (p === '/w/policy.yaml' ? POLICY : undefined));
  assert.equal(files.length, 1);
  const lines = POLICY.split('\n');
  assert.deepEqual(files[0].statements.map((s) => [s.kind, lines[s.start.line].trim(), s.exercised]), [
    ['rule', 'matchConstraints:', true],
    ['validation', '- expression: "has(object.metadata.labels)"', true],
    ['validation', '- expression: "object.metadata.name != \'bad\'"', false],
  ]);
  assert.deepEqual([files[0].covered, files[0].total], [2, 3]);
  const both = coverageStatements([first, run('bad', '  labels: {a: b}\n')], () => POLICY);
  assert.deepEqual([both[0].covered, both[0].total], [3, 3]);
  assert.deepEqual(coverageStatements([first], () => undefined), []);
});
