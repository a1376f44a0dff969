import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Quantity,
  QuantityError,
  compareQuantities,
  formatDuration,
  parseDuration,
  parseDurationExact,
  parseQuantity,
} from '../../engine/units';

test('quantity: canonical String() of parsed values (k8s resource.Quantity)', () => {
  const cases: Array<[string, string]> = [
    ['1Gi', '1Gi'],
    ['1024Mi', '1Gi'],
    ['1.5Gi', '1536Mi'],
    ['0.5Ki', '512'],
    ['1023Ki', '1023Ki'],
    ['1536', '1536'],
    ['1.5', '1500m'],
    ['0.1', '100m'],
    ['1000m', '1'],
    ['1k', '1k'],
    ['1000', '1k'],
    ['12E', '12E'],
    ['1e3', '1e3'],
    ['1E3', '1e3'],
    ['0.1n', '1n'],
    ['-1.5Gi', '-1536Mi'],
    ['0', '0'],
    ['00', '0'],
    ['.5', '500m'],
  ];
  for (const [input, canonical] of cases) {
    assert.equal(Quantity.parse(input).toString(), canonical, input);
  }
});

test('quantity: Go parse rejects bad suffixes and formats', () => {
  for (const bad of ['', '1Gb', '1ki', 'abc', '1.2.3', ' 1', '1 ', '1e']) {
    assert.throws(() => Quantity.parse(bad), QuantityError, JSON.stringify(bad));
  }
  assert.equal(parseQuantity('1Gb'), null);
});

test('quantity: numeric value and comparison are exact', () => {
  assert.equal(parseQuantity('500m'), 0.5);
  assert.equal(parseQuantity('2Ki'), 2048);
  assert.equal(parseQuantity('1e3'), 1000);
  assert.equal(compareQuantities('1Gi', '1024Mi'), 0);
  assert.equal(compareQuantities('1G', '1Gi'), -1);
  assert.equal(compareQuantities('2', '1999m'), 1);
});

test('quantity: arithmetic keeps the first operand format (Quantity.Add/Sub)', () => {
  assert.equal(Quantity.parse('1Gi').add(Quantity.parse('512Mi')).toString(), '1536Mi');
  assert.equal(Quantity.parse('12Ki').add(Quantity.parse('13')).toString(), '12301');
  assert.equal(Quantity.parse('12Ki').sub(Quantity.parse('13Ki')).toString(), '-1Ki');
  assert.equal(Quantity.parse('0').add(Quantity.parse('1Ki')).toString(), '1Ki');
  assert.equal(Quantity.parse('100m').add(Quantity.parse('900m')).toString(), '1');
});

test('duration: Go ParseDuration and Duration.String()', () => {
  const cases: Array<[string, string]> = [
    ['1h', '1h0m0s'],
    ['1h30m', '1h30m0s'],
    ['1.5h', '1h30m0s'],
    ['90m', '1h30m0s'],
    ['300ms', '300ms'],
    ['1.5s', '1.5s'],
    ['-1.5s', '-1.5s'],
    ['1us', '1µs'],
    ['1µs', '1µs'],
    ['1μs', '1µs'],
    ['100ns', '100ns'],
    ['0', '0s'],
    ['+5s', '5s'],
    ['2562047h47m16.854775807s', '2562047h47m16.854775807s'],
  ];
  for (const [input, out] of cases) assert.equal(formatDuration(parseDurationExact(input)), out, input);
  assert.equal(parseDuration('1m'), 60e9);
});

test('duration: errors carry Go messages', () => {
  assert.throws(() => parseDurationExact('1'), /time: missing unit in duration "1"/);
  assert.throws(() => parseDurationExact(''), /time: invalid duration ""/);
  assert.throws(() => parseDurationExact('1d'), /time: unknown unit "d" in duration "1d"/);
  assert.throws(() => parseDurationExact('.s'), /time: invalid duration/);
  assert.throws(() => parseDurationExact('9223372036854775808ns'), /invalid duration/);
  assert.equal(parseDuration('nope'), null);
});
