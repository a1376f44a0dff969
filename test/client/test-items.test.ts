import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { declaredTest, expectationOf } from '../../client/src/testing/test-items';
import { runTestFile } from '../../client/src/testing/run-test';
import { PODS, REQUIRE_TEAM } from './fixtures';

const TEST = `apiVersion: cli.kyverno.io/v1alpha1
kind: Test
metadata:
  name: team
policies: [../policy.yaml]
resources: [../pods.yaml]
results:
  - policy: require-team
    rule: check-team
    resources: [good]
    kind: Pod
    result: pass
  - policy: require-team
    rule: check-team
    resources:
      - bad
    kind: Pod
    result: pass
`;

test('each results entry × resource is an expectation located on its resource', () => {
  const d = declaredTest(TEST);
  assert.equal(d.name, 'team');
  assert.deepEqual(d.expectations.map((e) => [e.resource, e.result]), [['good', 'pass'], ['bad', 'pass']]);
  const bad = d.expectations[1];
  assert.equal(TEST.slice(bad.span!.start, bad.span!.end), 'bad');
});

test('a non-test file says why', () => {
  assert.match(declaredTest('kind: Pod\napiVersion: v1\n').error ?? '', /no cli\.kyverno\.io Test/);
});

test('running from disk decides the rows like kyverno test; open buffers win over the disk', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ks-client-'));
  mkdirSync(join(dir, '.kyverno-test'));
  writeFileSync(join(dir, 'policy.yaml'), REQUIRE_TEAM);
  writeFileSync(join(dir, 'pods.yaml'), PODS);
  const testPath = join(dir, '.kyverno-test', 'kyverno-test.yaml');
  writeFileSync(testPath, TEST);
  const result = runTestFile(testPath);
  assert.equal(result.error, null);
  const d = declaredTest(TEST);
  const byResource = Object.fromEntries(result.rows.map((r) => [r.resource.replace(/^default\//, ''), r]));
  assert.equal(byResource.good.ok, true);
  assert.equal(byResource.bad.ok, false);
  assert.equal(byResource.bad.actual, 'fail');
  assert.equal(expectationOf(byResource.bad, d.expectations), d.expectations[1]);
  // An unsaved edit that fixes the bad pod makes the row pass.
  const fixed = PODS.replace('app: x', 'team: b');
  const again = runTestFile(testPath, new Map([[join(dir, 'pods.yaml'), fixed]]));
  assert.ok(again.rows.every((r) => r.ok), JSON.stringify(again.rows));
});

test('a missing test file is a file error', () => {
  assert.match(runTestFile('/nonexistent/kyverno-test.yaml').error ?? '', /cannot read/);
});
