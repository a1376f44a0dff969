// The `kyverno test` contract: what passes, what fails, and which test files Kyverno 1.19 refuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runTestDocument, runTestText, testFilePassed } from '../../engine/testing';
import { clusterPolicy, pod, rule, scriptedEngine, suite, TEST_PATH, yamlDocs } from './helpers';

const policy = yamlDocs(clusterPolicy('p', [{ name: 'r', validate: {} }]));
const passing = scriptedEngine(() => ({ rules: [rule('r', 'pass')] }));
const header = 'apiVersion: cli.kyverno.io/v1alpha1\nkind: Test\nmetadata:\n  name: t\n';
const body = 'policies: [p.yaml]\nresources: [r.yaml]\nresults:\n- policy: p\n  rule: r\n  kind: Pod\n  resources: [a]\n  result: pass\n';

function files(extra: Record<string, string> = {}) {
  return suite({ 'p.yaml': policy, 'r.yaml': yamlDocs(pod('a')), ...extra });
}

test('a test whose rows all pass passes', () => {
  const [res] = runTestText(TEST_PATH, header + body, files(), { engine: passing });
  assert.equal(res.ok, true);
  assert.equal(res.reason, '');
  assert.ok(testFilePassed(res));
});

test('a test without results fails: nothing was checked', () => {
  const [res] = runTestText(TEST_PATH, `${header}policies: [p.yaml]\nresources: [r.yaml]\n`, files(), { engine: passing });
  assert.equal(res.error, null);
  assert.deepEqual(res.rows, []);
  assert.equal(res.ok, false);
  assert.match(res.reason, /no results to check/);
});

test('a result that produced no row is a failed row, not a silent pass', () => {
  // No resource at all: the policy had nothing to answer for.
  const res = runTestDocument(
    TEST_PATH,
    { policies: ['p.yaml'], resources: [], results: [{ policy: 'p', rule: 'r', kind: 'Pod', resources: ['a'], result: 'pass' }] },
    files(),
    { engine: passing },
  );
  assert.equal(res.rows.length, 1);
  assert.equal(res.rows[0].ok, false);
  assert.match(res.rows[0].reason, /^Not evaluated/);
  assert.equal(res.ok, false);
});

test('every YAML document of a test file is a test of its own', () => {
  const second = body.replace('result: pass', 'result: fail');
  const results = runTestText(TEST_PATH, `${header}${body}---\n${header}${second}`, files(), { engine: passing });
  assert.equal(results.length, 2);
  assert.deepEqual(results.map((r) => [r.document, r.ok]), [[1, true], [2, false]]);
  assert.match(results[1].rows[0].reason, /Want fail, got pass/);
});

test('a result without a rule name checks every rule of the policy', () => {
  const twoRules = scriptedEngine(() => ({ rules: [rule('r', 'pass'), rule('s', 'fail')] }));
  const [res] = runTestText(TEST_PATH, header + body.replace('  rule: r\n', ''), files(), { engine: twoRules });
  assert.deepEqual(res.rows.map((r) => [r.ok, r.actual]), [[true, 'pass'], [false, 'fail']]);
});

test('the legacy format is refused with the file, the line and what to change', () => {
  const legacy = 'name: old\npolicies: [p.yaml]\nresources: [r.yaml]\nresults:\n- policy: p\n  rule: r\n  resource: a\n  kind: Pod\n  status: pass\n';
  const [noHeader] = runTestText(TEST_PATH, legacy, files(), { engine: passing });
  assert.equal(noHeader.ok, false);
  assert.match(noHeader.error ?? '', /^suite\/kyverno-test\.yaml:1: legacy test format.*apiVersion: cli\.kyverno\.io\/v1alpha1.*kind: Test/);
  const [topName] = runTestText(TEST_PATH, header.replace('metadata:\n  name: t\n', '') + legacy, files(), { engine: passing });
  assert.match(topName.error ?? '', /^suite\/kyverno-test\.yaml:3: legacy test format.*move "name: old" to "metadata\.name"/);
  const [resource] = runTestText(TEST_PATH, header + legacy.replace('name: old\n', ''), files(), { engine: passing });
  assert.match(resource.error ?? '', /^suite\/kyverno-test\.yaml:10: legacy test format.*"resource: a" with "resources: \[a\]"/);
  const [status] = runTestText(TEST_PATH, header + legacy.replace('name: old\n', '').replace('  resource: a\n', '  resources: [a]\n'), files(), { engine: passing });
  assert.match(status.error ?? '', /^suite\/kyverno-test\.yaml:12: legacy test format.*"status: pass" with "result: pass"/);
});

test('fields unknown to the Test type are refused, as a strict decoding does', () => {
  const [res] = runTestText(TEST_PATH, `${header}${body}resoruces: [x.yaml]\n`, files(), { engine: passing });
  assert.match(res.error ?? '', /^suite\/kyverno-test\.yaml:13: unknown field "resoruces"/);
  const [inResult] = runTestText(TEST_PATH, header + body.replace('  result: pass', '  result: pass\n  patchedResource: x.yaml'), files(), { engine: passing });
  assert.match(inResult.error ?? '', /unknown field "patchedResource" in results\[0\]/);
});

test('a document of another kind in a test file is not a test', () => {
  const [res] = runTestText(TEST_PATH, yamlDocs(pod('x')), files(), { engine: passing });
  assert.match(res.error ?? '', /not a test: kind Pod/);
});
