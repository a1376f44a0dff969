// The --test-case-selector semantics of Kyverno's test/filter package.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTestCaseSelector, selectsResult, selectTestResults } from '../../cli/commands/test-selector';

const result = (policy: string, rule: string, resources: string[] = []) => ({ policy, rule, resources });

test('each key matches by wildcard; a result without the field always matches', () => {
  const s = parseTestCaseSelector('policy=disallow-*,rule=*-tag');
  assert.equal(selectsResult(s, result('disallow-latest', 'validate-tag')), true);
  assert.equal(selectsResult(s, result('allow-latest', 'validate-tag')), false);
  assert.equal(selectsResult(s, result('disallow-latest', 'validate-image')), false);
  assert.equal(selectsResult(s, result('', '')), true);
  const r = parseTestCaseSelector('resource=nginx*');
  assert.equal(selectsResult(r, result('p', 'r', ['web', 'nginx-1'])), true);
  assert.equal(selectsResult(r, result('p', 'r', ['web'])), false);
  assert.equal(selectsResult(r, result('p', 'r')), true);
});

test('an explicit value matches only itself, an empty value only empty fields', () => {
  assert.equal(selectsResult(parseTestCaseSelector('policy='), result('p', 'r')), false);
  assert.equal(selectsResult(parseTestCaseSelector('policy=p'), result('p', 'r')), true);
});

test('malformed terms are Kyverno\'s errors; resource values up to the first * override resources', () => {
  assert.deepEqual(parseTestCaseSelector('policy').errors, ['Invalid test-case-selector argument (policy). Parameter must be in the form `<key>=<value>`.']);
  assert.deepEqual(parseTestCaseSelector('kind=Pod').errors, ['Invalid test-case-selector (kind=Pod). Parameter can only be policy, rule or resource.']);
  assert.deepEqual(parseTestCaseSelector('policy=*,rule=*,resource=*').resourceOverride, []);
  assert.deepEqual(parseTestCaseSelector('resource=web,resource=*,resource=db').resourceOverride, ['web']);
});

test('selectTestResults keeps the selected results (any key case), overrides resources, or skips', () => {
  const doc = { file: 't.yaml', line: 1, index: 0, value: { kind: 'Test', Results: [
    { policy: 'a', rule: 'r', Resources: ['web', 'db'], result: 'pass' },
    { policy: 'b', rule: 'r', resources: ['web'], result: 'fail' },
  ] } };
  const kept = selectTestResults(doc, parseTestCaseSelector('policy=a,resource=db'));
  assert.deepEqual((kept?.value as { Results: unknown[] }).Results, [{ policy: 'a', rule: 'r', Resources: ['db'], result: 'pass' }]);
  assert.equal(selectTestResults(doc, parseTestCaseSelector('policy=c')), null);
  assert.equal(selectTestResults({ ...doc, value: { kind: 'Test', results: [] } }, parseTestCaseSelector('policy=c'))?.file, 't.yaml');
});
