// Expected values from kyverno/kyverno pkg/engine/jmespath/arithmetic_test.go.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jmesSearch, JmespathError } from '../../engine/jmespath';

const ok: Array<[string, unknown]> = [
  ['add(`12`, `13`)', 25],
  ["add('12Ki', '13Ki')", '25Ki'],
  ["add('12Ki', '13')", '12301'],
  ["add('12s', '13s')", '25s'],
  ["add('1Gi', '512Mi')", '1536Mi'],
  ['sum([`12`])', 12],
  ['sum([`12`, `13`, `1`, `4`])', 30],
  ["sum(['12Ki', '13Ki', '1Ki', '4Ki'])", '30Ki'],
  ["sum(['12Ki', '13'])", '12301'],
  ["sum(['12s', '13s', '1s', '4s'])", '30s'],
  ['subtract(`12`, `13`)', -1],
  ["subtract('12Ki', '13Ki')", '-1Ki'],
  ["subtract('12Ki', '13')", '12275'],
  ["subtract('12s', '13s')", '-1s'],
  ["multiply('12Ki', `2`)", '24Ki'],
  ["multiply('12s', `2`)", '24s'],
  ['multiply(`2.5`, `2.5`)', 6.25],
  ["multiply(`2.5`, '12Ki')", '30Ki'],
  ["multiply(`2.5`, '12')", '30'],
  ["multiply(`2.5`, '40s')", '1m40s'],
  ["divide('256M', '256M')", 1],
  ["divide('512M', '256M')", 2],
  ["divide('8', '3')", 8 / 3],
  ["divide('128M', '256M')", 0.5],
  ["divide('12Ki', `3`)", '4Ki'],
  ["divide('12Ki', '2Ki')", 6],
  ["divide('12Ki', '200')", 61.44],
  ["divide('12s', `3`)", '4s'],
  ["divide('12s', '5s')", 2.4],
  ['divide(`14`, `3`)', 4.666666666666667],
  ["modulo('12Ki', '5Ki')", '2Ki'],
  ["modulo('13s', '2s')", '1s'],
  ['modulo(`13`, `5`)', 3],
  ['round(`3.14159`, `2`)', 3.14],
  ['round(`2.5`, `0`)', 3],
  ['round(`-2.5`, `0`)', -3],
];

const failing: Array<[string, RegExp]> = [
  ["add('12', '13s')", /Types mismatch/],
  ["add(`12`, '13Ki')", /Types mismatch/],
  ["add('12Ki', `13`)", /Types mismatch/],
  ["add('12s', '13')", /Types mismatch/],
  ["add('1h', '30m')", /Types mismatch/], // '30m' is 30 milli, a quantity
  ["add('abc', `1`)", /JMESPath function 'add': invalid operands/],
  ['sum([])', /./],
  ['sum(`[]`)', /at least one element in the array is required/],
  ["sum([`12`, '13Ki'])", /Types mismatch/],
  ["multiply('12Ki', '12Ki')", /Types mismatch/],
  ["multiply('12s', '12s')", /Types mismatch/],
  ["divide('12Ki', '2s')", /Types mismatch/],
  ["divide(`14`, '5')", /Types mismatch/],
  ['divide(`14`, `0`)', /JMESPath function 'divide': Zero divisor passed/],
  ["divide('4Ki', `0`)", /Zero divisor passed/],
  ["divide('4Ki', '0Ki')", /Zero divisor passed/],
  ["divide('4s', '0s')", /Zero divisor passed/],
  ["modulo('12Ki', `13`)", /Types mismatch/],
  ['modulo(`14`, `0`)', /JMESPath function 'modulo': Zero divisor passed/],
  ["modulo('4', '1.5')", /Non-integer argument\(s\) passed for modulo/],
  ['modulo(`14.5`, `2`)', /Non-integer argument\(s\) passed for modulo/],
  ['round(`1.5`, `1.5`)', /Non-integer argument\(s\) passed for round off/],
];

test('arithmetic: numbers, quantities and durations (Kyverno arithmetic_test.go)', () => {
  for (const [expr, expected] of ok) assert.deepEqual(jmesSearch(expr, ''), expected, expr);
});

test('arithmetic: type mismatches, zero divisors and non-integers are errors', () => {
  for (const [expr, message] of failing) {
    assert.throws(() => jmesSearch(expr, ''), (e: unknown) => e instanceof JmespathError && message.test((e as Error).message), expr);
  }
});

test('arithmetic: quantity / scalar truncates at the operands scale (inf.Dec QuoRound)', () => {
  assert.equal(jmesSearch("divide('10', `3`)", null), '3');
  assert.equal(jmesSearch("divide('1.0', `3`)", null), '300m');
  assert.equal(jmesSearch("divide('10Mi', `3`)", null), '3495253');
});

test('arithmetic: corpus-style usage on resource data', () => {
  const pod = { spec: { containers: [{ resources: { limits: { memory: '400Mi' }, requests: { memory: '100Mi' } } }] } };
  const expr = "divide(spec.containers[0].resources.limits.memory, spec.containers[0].resources.requests.memory)";
  assert.equal(jmesSearch(expr, pod), 4);
  assert.equal(jmesSearch('sum(restarts[*].n)', { restarts: [{ n: 1 }, { n: 2 }] }), 3);
});
