import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCelExpression, type CelCheckContext } from '../../engine/cel/diagnostics';

/** The diagnostics as [message, the text they underline]. */
function problems(expression: string, context: CelCheckContext = {}): Array<[string, string]> {
  return checkCelExpression(expression, context).map((d) => [d.message, expression.slice(d.offset, d.offset + d.length)]);
}

const variables = [
  { name: 'replicas', expression: 'object.spec.replicas + 1' },
  { name: 'names', expression: '["a", "b"]' },
  { name: 'count', expression: 'variables.names.size()' },
];

test('variables.<name> must be declared when the policy variables are given', () => {
  assert.deepEqual(problems('variables.replicas > 1 && variables.count == 2', { variables }), []);
  const [[message, text]] = problems('variables.replicas > 1 && variables.nope', { variables });
  assert.match(message, /undeclared variable 'variables\.nope'/);
  assert.match(message, /'replicas', 'names', 'count'/);
  assert.equal(text, 'nope');
  // Without declarations `variables` stays dyn (compatible with callers that pass none).
  assert.deepEqual(problems('variables.anything == 1'), []);
});

test('declared variables are typed by their expressions', () => {
  const [[message, text]] = problems('variables.names.all(n, n.startsWith("a")) && variables.count.startsWith("x")', { variables });
  assert.match(message, /no matching overload for 'int\.startsWith\(string\)'/);
  assert.equal(text, 'variables.count.startsWith("x")');
  assert.deepEqual(problems('variables.names.all(n, n.startsWith("a"))', { variables }), []);
  assert.deepEqual(problems('variables.replicas > 1', { variables, expect: 'bool' }), []);
  assert.match(problems('variables.names', { variables, expect: 'bool' })[0][0], /must evaluate to bool, but evaluates to list<string>/);
});

test('params exists only when the policy sets paramKind', () => {
  assert.deepEqual(problems('params.maxReplicas > 1', { hasParams: true }), []);
  assert.deepEqual(problems('params.maxReplicas > 1'), []);
  const [[message, text]] = problems('object.x == 1 && params.maxReplicas > 1', { hasParams: false });
  assert.match(message, /params/);
  assert.equal(text, 'params');
});

test('errors inside Object{…} literals point at the exact text', () => {
  const expr = 'Object{spec: Object.spec{replicas: 1 + "a"}}';
  assert.deepEqual(problems(expr), [['no such overload: int + string', '1 + "a"']]);
  const typo = 'Object{metadata: Object.metadata{labels: {"a": objec.x}}}';
  assert.deepEqual(problems(typo), [['Unknown variable: objec', 'objec']]);
  const afterHas = 'has(object.spec.x) && objecx.y';
  assert.deepEqual(problems(afterHas), [['Unknown variable: objecx', 'objecx']]);
});
