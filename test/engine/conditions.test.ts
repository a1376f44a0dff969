import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateConditions, operatorHandler } from '../../engine/conditions';

const op = (name: string, key: unknown, value: unknown): boolean => {
  const h = operatorHandler(name);
  assert.ok(h, `operator ${name} exists`);
  return h(key, value);
};

// Cases ported from kyverno pkg/engine/variables/evaluate_test.go (TestEvaluate).
test('conditions: Equals across types, quantities, durations and wildcards', () => {
  const cases: Array<[unknown, unknown, boolean]> = [
    ['string', 'string', true],
    [1, 1, true],
    [1.0, 1.0, true],
    [true, true, true],
    [false, false, true],
    ['1024', '1Ki', true],
    ['1Ki', '1024', true],
    ['1Gi', '1Gi', true],
    ['1Gi', '1024Mi', true],
    ['1h', '1h', true],
    ['1h', '60m', true],
    ['1h', 3600, true],
    [{ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 }, true],
    [['a', 'b'], ['a', 'b'], true],
    ['nginx:latest', 'nginx:*', true],
    ['string', 'other', false],
    [1, 2, false],
    [1, '1', true],
    [true, 'true', false],
    ['1Gi', '1Mi', false],
    [null, null, false],
    [['a'], ['b'], false],
  ];
  for (const [k, v, want] of cases) assert.equal(op('Equals', k, v), want, `Equals ${JSON.stringify(k)} ${JSON.stringify(v)}`);
  assert.equal(op('equal', 'a', 'a'), true, 'operator names are case-insensitive');
});

test('conditions: NotEquals mirrors Equals (and Kyverno quirks for odd types)', () => {
  assert.equal(op('NotEquals', 'a', 'b'), true);
  assert.equal(op('NotEquals', 'a', 'a'), false);
  assert.equal(op('NotEquals', '1Gi', '1024Mi'), false);
  // A quantity key against a value that is no quantity (the empty string included) is not equal.
  assert.equal(op('NotEquals', '300Mi', ''), true);
  assert.equal(op('NotEquals', '300Mi', 'abc'), true);
  assert.equal(op('Equals', '300Mi', ''), false);
  assert.equal(op('NotEquals', true, 'x'), true);
  assert.equal(op('NotEquals', null, 'x'), false);
  assert.equal(op('NotEquals', 'prod-1', 'prod-*'), false);
});

test('conditions: numeric comparisons on numbers, strings, quantities, durations and versions', () => {
  assert.equal(op('GreaterThan', 10, 5), true);
  assert.equal(op('GreaterThan', '10', 5), true);
  assert.equal(op('GreaterThan', 5, '10'), false);
  assert.equal(op('GreaterThanOrEquals', 5, 5), true);
  assert.equal(op('LessThan', '1Gi', '2Gi'), true);
  assert.equal(op('LessThan', '500m', '1'), true);
  assert.equal(op('GreaterThan', '2h', '30m'), true);
  assert.equal(op('LessThanOrEquals', '1.10.0', '1.9.0'), false);
  assert.equal(op('GreaterThan', '1.10.0', '1.9.0'), true);
  assert.equal(op('GreaterThan', 'abc', 'abd'), false);
  assert.equal(op('GreaterThan', true, 1), false);
});

test('conditions: Duration* operators (deprecated) compare seconds', () => {
  assert.equal(op('DurationGreaterThan', '1h', '30m'), true);
  assert.equal(op('DurationLessThan', 30, '1m'), true);
  assert.equal(op('DurationGreaterThanOrEquals', '1m', 60), true);
  assert.equal(op('DurationLessThanOrEquals', 'abc', '1m'), false);
});

test('conditions: set operators with lists, JSON strings, wildcards and ranges', () => {
  assert.equal(op('AnyIn', 'a', ['a', 'b']), true);
  assert.equal(op('AnyIn', ['a', 'c'], ['a', 'b']), true);
  assert.equal(op('AnyIn', ['x', 'y'], ['a', 'b']), false);
  assert.equal(op('AllIn', ['a', 'b'], ['a', 'b', 'c']), true);
  assert.equal(op('AllIn', ['a', 'd'], ['a', 'b', 'c']), false);
  assert.equal(op('AnyNotIn', ['a', 'd'], ['a', 'b']), true);
  assert.equal(op('AnyNotIn', ['a'], ['a', 'b']), false);
  assert.equal(op('AllNotIn', ['x', 'y'], ['a', 'b']), true);
  assert.equal(op('AllNotIn', ['x', 'a'], ['a', 'b']), false);
  assert.equal(op('AnyIn', 'kube-system', ['kube-*']), true, 'value wildcard');
  assert.equal(op('AnyIn', 'kube-*', ['kube-system']), true, 'key wildcard');
  assert.equal(op('AnyIn', 'a', '["a","b"]'), true, 'JSON array string');
  assert.equal(op('AnyIn', 5, '1-10'), true, 'range');
  assert.equal(op('AnyIn', 15, '1-10'), false);
  assert.equal(op('AllNotIn', 15, '1-10'), true);
  assert.equal(op('AnyIn', 8080, [80, 8080]), true, 'numbers compare as Go prints them');
  assert.equal(op('AnyIn', { a: 1 }, ['a']), false);
});

test('conditions: deprecated In/NotIn are exact membership', () => {
  assert.equal(op('In', 'a', ['a', 'b']), true);
  assert.equal(op('In', ['a', 'b'], ['a', 'b', 'c']), true);
  assert.equal(op('In', ['a', 'z'], ['a', 'b']), false);
  assert.equal(op('NotIn', 'z', ['a', 'b']), true);
  assert.equal(op('NotIn', ['a', 'z'], ['a', 'b']), true);
  assert.equal(op('NotIn', ['a'], ['a', 'b']), false);
});

const scope = { data: { request: { operation: 'CREATE', object: { metadata: { name: 'web', labels: { app: 'x' } } } } } };

test('conditions: any/all blocks and messages', () => {
  const any = evaluateConditions(
    { any: [{ key: '{{request.operation}}', operator: 'Equals', value: 'DELETE', message: 'not a delete' }, { key: 'a', operator: 'Equals', value: 'b', message: 'a is not b' }] },
    scope,
  );
  assert.deepEqual(any, { passed: false, message: 'not a delete; a is not b' });
  const all = evaluateConditions({ all: [{ key: '{{request.object.metadata.name}}', operator: 'Equals', value: 'web', message: 'is web' }] }, scope);
  assert.deepEqual(all, { passed: true, message: 'is web' });
  const both = evaluateConditions(
    { any: [{ key: 1, operator: 'Equals', value: 1 }], all: [{ key: 1, operator: 'Equals', value: 2, message: 'one is not two' }] },
    scope,
  );
  assert.deepEqual(both, { passed: false, message: 'one is not two' });
});

test('conditions: absent and empty blocks pass; an empty any list does not', () => {
  assert.equal(evaluateConditions(undefined, scope).passed, true);
  assert.equal(evaluateConditions({}, scope).passed, true);
  assert.equal(evaluateConditions({ any: [] }, scope).passed, false);
});

test('conditions: the legacy list form is an AND', () => {
  assert.equal(evaluateConditions([{ key: 'a', operator: 'Equals', value: 'a' }, { key: 'b', operator: 'NotEquals', value: 'a' }], scope).passed, true);
  assert.equal(evaluateConditions([{ key: 'a', operator: 'Equals', value: 'a' }, { key: 'b', operator: 'Equals', value: 'a' }], scope).passed, false);
});

test('conditions: substitution failures and unknown operators are errors in Kyverno wording', () => {
  const bad = evaluateConditions({ all: [{ key: '{{ request.[ }}', operator: 'Equals', value: 'x' }] }, scope);
  assert.equal(bad.passed, false);
  assert.match(bad.error ?? '', /^failed to substitute variables in condition key: failed to resolve request\.\[ at path /);
  const badValue = evaluateConditions({ all: [{ key: 'x', operator: 'Equals', value: '{{ request.[ }}' }] }, scope);
  assert.match(badValue.error ?? '', /^failed to substitute variables in condition value: /);
  const unknown = evaluateConditions({ all: [{ key: 'x', operator: 'Matches', value: 'x' }] }, scope);
  assert.match(unknown.error ?? '', /failed to create handler for condition operator/);
});

test('conditions: an absent key in a condition is an error, as in Kyverno', () => {
  const r = evaluateConditions({ all: [{ key: '{{request.object.metadata.labels.missing}}', operator: 'Equals', value: 'x' }] }, scope);
  assert.equal(r.error, 'failed to substitute variables in condition key: failed to resolve request.object.metadata.labels.missing at path : JMESPath query failed: Unknown key "missing" in path');
});

test('conditions: set members are compared as Go prints float64 values', () => {
  assert.equal(op('AnyIn', 1000000, ['1e+06']), true);
  assert.equal(op('AnyIn', 123456, ['123456']), true);
  assert.equal(op('AnyIn', 0.5, ['0.5']), true);
});

// resource.Quantity.Cmp is exact: numbers beyond float64 (an RSA modulus printed in decimal) stay distinct.
test('conditions: quantities compare exactly, as Quantity.Cmp does', () => {
  const big = '2' + '0'.repeat(600);
  const bigger = '2' + '0'.repeat(599) + '1';
  assert.equal(op('Equals', big, bigger), false);
  assert.equal(op('NotEquals', big, bigger), true);
  assert.equal(op('Equals', big, big), true);
  assert.equal(op('GreaterThan', bigger, big), true);
  assert.equal(op('LessThan', bigger, big), false);
  // NotEquals with a value that is no quantity: Kyverno answers "not equal".
  assert.equal(op('NotEquals', '1Gi', 'abc'), true);
  assert.equal(op('Equals', '1Gi', 'abc'), false);
  assert.equal(op('AnyIn', '9007199254740992', '9007199254740992-9007199254740992'), true);
  assert.equal(op('AnyIn', '9007199254740993', '9007199254740992-9007199254740992'), false);
});
