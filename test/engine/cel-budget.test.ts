import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evalCel, CelError } from '../../engine/cel/environment';
import { setCostLimit, DEFAULT_COST_LIMIT } from '../../engine/cel/budget';
import { installVariables, type CelActivation } from '../../engine/cel/context';
import { instrumentComprehensions } from '../../engine/cel/rewrite';
import { toCel } from '../../engine/cel/values';

const items = toCel(Array.from({ length: 3000 }, (_, i) => i));

/** Runs a hostile expression: it must end with the cost error, and quickly. */
function exceeds(expr: string, vars: Record<string, unknown> = { object: { items } }, maxMs = 15000): void {
  const started = Date.now();
  assert.throws(() => evalCel(expr, vars), (e: unknown) => e instanceof CelError && /actual cost limit exceeded/.test(e.message), expr);
  assert.ok(Date.now() - started < maxMs, `${expr} took ${Date.now() - started} ms`);
}

test('built-in comprehension steps are wrapped in cost ticks (runtime text only)', () => {
  assert.equal(instrumentComprehensions('a.all(x, b.map(y, y))'), 'a.all(x,kyTickAll( b.map(y,kyTick( y))))');
  assert.equal(instrumentComprehensions('a.map(x, x > 1, x)'), 'a.map(x,kyTick( x > 1), x)');
  assert.equal(instrumentComprehensions('"a.all(x, y)".size() + all(1)'), '"a.all(x, y)".size() + all(1)');
  assert.equal(instrumentComprehensions('a . exists ( x, x )'), 'a . exists( x,kyTickExists( x ))');
  assert.equal(instrumentComprehensions('a.size() > 1 && b.mapX(y)'), 'a.size() > 1 && b.mapX(y)');
});

test('nested all/exists over large lists end with a cost error instead of running for minutes', () => {
  exceeds('object.items.all(i, object.items.all(j, true))');
  exceeds('object.items.exists(i, object.items.exists(j, false))');
  exceeds('object.items.map(i, object.items.filter(j, j > 0).size()).size() > 0');
  exceeds('object.items.all(i, object.items.transformList(j, w, w).size() > 0)');
  exceeds('object.items.exists_one(i, object.items.exists_one(j, j == i))');
});

test('generated lists and string growth are charged', () => {
  exceeds('lists.range(100000000).size() > 0', {});
  exceeds('lists.range(2000).map(i, lists.range(2000)).size() > 0', {});
  exceeds('lists.range(1000).all(i, lists.range(1000).exists(j, j == 999))', {});
});

test('work under the limit is not affected; the limit is per top-level evaluation', () => {
  assert.equal(evalCel('object.items.all(i, i >= 0)', { object: { items } }), true);
  assert.equal(evalCel('lists.range(500).map(i, lists.range(500).size()).size()', {}), 500n);
  // Repeating a large evaluation does not accumulate cost across evaluations.
  for (let k = 0; k < 3; k++) assert.equal(evalCel('lists.range(600000).size()', {}), 600000n);
});

test('lazily evaluated variables share the budget of the expression using them', () => {
  const previous = setCostLimit(5000);
  try {
    const act: CelActivation = { vars: { object: { items } } as Record<string, unknown>, runtime: { cluster: { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] }, now: new Date(), generated: [] } };
    installVariables(act, [{ name: 'big', expression: 'object.items.map(i, i * 2)' }]);
    assert.throws(() => evalCel('variables.big.all(x, x >= 0)', act.vars), /actual cost limit exceeded/);
    assert.equal(evalCel('object.items.size()', act.vars), 3000n);
  } finally {
    setCostLimit(previous);
  }
  assert.equal(setCostLimit(DEFAULT_COST_LIMIT), DEFAULT_COST_LIMIT);
});

test('values built by concatenation are charged at cel-go\'s 0.1 per element: doubling a list 25 times ends with the cost error', () => {
  // Under the budget: concatenation still works and yields the same values.
  assert.deepEqual(evalCel('[1, 2] + [3]', {}), [1n, 2n, 3n]);
  assert.equal(evalCel('"ab" + "c"', {}), 'abc');
  assert.equal(evalCel('(b"ab" + b"c").size()', {}), 3n);
  const act: CelActivation = { vars: {} as Record<string, unknown>, runtime: { cluster: { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] }, now: new Date(), generated: [] } };
  const doubling = [{ name: 'v0', expression: '[1, 2, 3, 4]' }, ...Array.from({ length: 25 }, (_, i) => ({ name: `v${i + 1}`, expression: `variables.v${i} + variables.v${i}` }))];
  installVariables(act, doubling);
  const started = Date.now();
  assert.throws(() => evalCel('size(variables.v25) > 0', act.vars), /actual cost limit exceeded \(CEL cost budget of 1000000/);
  assert.ok(Date.now() - started < 10000);
  // The same for strings and for flatten().
  installVariables(act, [{ name: 's0', expression: '"abcd"' }, ...Array.from({ length: 30 }, (_, i) => ({ name: `s${i + 1}`, expression: `variables.s${i} + variables.s${i}` }))]);
  assert.throws(() => evalCel('size(variables.s30) > 0', act.vars), /actual cost limit exceeded/);
  installVariables(act, [{ name: 'f0', expression: '[1, 2, 3, 4]' }, ...Array.from({ length: 30 }, (_, i) => ({ name: `f${i + 1}`, expression: `[variables.f${i}, variables.f${i}].flatten()` }))]);
  assert.throws(() => evalCel('size(variables.f30) > 0', act.vars), /actual cost limit exceeded/);
  exceeds('sets.contains(lists.range(5000), lists.range(5000))', {});
});
