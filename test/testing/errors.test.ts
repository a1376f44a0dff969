// Bad test inputs give one file-level error naming file and line; nothing throws.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runTestDocument, runTestText } from '../../engine/testing';
import { clusterPolicy, pod, scriptedEngine, suite, TEST_PATH, yamlDocs } from './helpers';

const engine = scriptedEngine(() => ({ rules: [] }));
const policy = yamlDocs(clusterPolicy('p', [{ name: 'r' }]));

test('a missing policy file is named in the error', () => {
  const res = runTestDocument(TEST_PATH, { policies: ['nope.yaml'], resources: [], results: [] }, suite({}), { engine });
  assert.equal(res.error, 'suite/nope.yaml: file not found');
  assert.deepEqual(res.rows, []);
});

test('malformed YAML in a resource names file and line', () => {
  const res = runTestDocument(
    TEST_PATH,
    { policies: ['p.yaml'], resources: ['r.yaml'], results: [] },
    suite({ 'p.yaml': policy, 'r.yaml': 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n' }),
    { engine },
  );
  assert.match(res.error ?? '', /^suite\/r\.yaml:\d+: malformed YAML/);
});

test('malformed test file text is reported with its line', () => {
  const [res] = runTestText(TEST_PATH, 'policies:\n  - a.yaml\n results: [\n', new Map(), { engine });
  assert.match(res.error ?? '', /^suite\/kyverno-test\.yaml:\d+: malformed YAML/);
});

test('a policy without a name is invalid, with file and line', () => {
  const res = runTestDocument(
    TEST_PATH,
    { policies: ['p.yaml'], resources: ['r.yaml'], results: [] },
    suite({ 'p.yaml': `# comment\n${yamlDocs({ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: {}, spec: {} })}`, 'r.yaml': yamlDocs(pod('a')) }),
    { engine },
  );
  assert.match(res.error ?? '', /^suite\/p\.yaml:2: invalid policy ClusterPolicy/);
});

test('results of the wrong type are a clear error', () => {
  const res = runTestDocument(TEST_PATH, { policies: ['p.yaml'], results: { a: 1 } }, suite({ 'p.yaml': policy }), { engine });
  assert.equal(res.error, `${TEST_PATH}: field "results" must be a list`, 'the file is named');
  // With the text, the line and column of the value too.
  const text = 'apiVersion: cli.kyverno.io/v1alpha1\nkind: Test\nmetadata:\n  name: t\npolicies: [p.yaml]\nresults: "x"\n';
  assert.equal(runTestText(TEST_PATH, text, suite({ 'p.yaml': policy }), { engine })[0].error, `${TEST_PATH}:6:10: field "results" must be a list`);
  const row = text.replace('results: "x"', 'results:\n- policy: p\n  resources: 3');
  assert.equal(runTestText(TEST_PATH, row, suite({ 'p.yaml': policy }), { engine })[0].error, `${TEST_PATH}:8:14: results[0]: field "resources" must be a list of strings`);
});

test('an alias bomb is refused, not expanded', () => {
  const lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < 12; i++) {
    const prev = String.fromCharCode(96 + i);
    const cur = String.fromCharCode(97 + i);
    lines.push(`${cur}: &${cur} [${Array(10).fill(`*${prev}`).join(',')}]`);
  }
  const res = runTestDocument(TEST_PATH, { policies: ['p.yaml'], resources: ['r.yaml'], results: [] }, suite({ 'p.yaml': policy, 'r.yaml': lines.join('\n') }), { engine });
  assert.match(res.error ?? '', /^suite\/r\.yaml:1: too many YAML aliases/);
});
