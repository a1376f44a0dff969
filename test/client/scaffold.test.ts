import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { runTestText } from '../../engine/testing';
import { readFileContents } from '../../client/src/policies/documents';
import { runPolicies } from '../../client/src/run/report';
import { relativePath, scaffoldTest } from '../../client/src/testing/scaffold';
import { ADD_ENV, PODS, REQUIRE_TEAM } from './fixtures';

test('relative paths between folders', () => {
  assert.equal(relativePath('/w/policies/.kyverno-test', '/w/policies/p.yaml'), '../p.yaml');
  assert.equal(relativePath('/w/a', '/w/b/c.yaml'), '../b/c.yaml');
  assert.equal(relativePath('/w/a', '/w/a/c.yaml'), 'c.yaml');
});

test('a scaffolded test passes when run by engine/testing on the same files', () => {
  const policies = `${REQUIRE_TEAM}---\n${ADD_ENV}`;
  const report = runPolicies('t', {
    policies: readFileContents(policies).policies.map((o) => ({ ...o, file: 'p' })),
    resources: readFileContents(PODS).resources.map((o) => ({ ...o, file: 'r' })),
  });
  const text = scaffoldTest({ name: 'drafted', policyPaths: ['../policy.yaml'], resourcePaths: ['../pods.yaml'], report });
  const doc = parse(text);
  assert.equal(doc.kind, 'Test');
  assert.deepEqual(doc.policies, ['../policy.yaml']);
  const failing = doc.results.find((r: { rule: string; result: string }) => r.rule === 'check-image' && r.result === 'fail');
  assert.deepEqual(failing.resources, ['bad']);
  const files = new Map([
    ['/w/policy.yaml', policies],
    ['/w/pods.yaml', PODS],
  ]);
  const [result] = runTestText('/w/.kyverno-test/kyverno-test.yaml', text, files);
  assert.equal(result.error, null);
  assert.ok(result.rows.length >= 5, `rows: ${result.rows.length}`);
  assert.deepEqual(result.rows.filter((r) => !r.ok), []);
});
