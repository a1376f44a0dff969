import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareWithOperator, matchStringPatterns, matchStringTerm, matchValue, numberToString } from '../../engine/pattern/value';
import { IN_RANGE_RE, NOT_IN_RANGE_RE, operatorOf, splitRange } from '../../engine/pattern/operator';

// Cases ported from kyverno pkg/engine/pattern/pattern_test.go. JavaScript has one number
// type: integral resource numbers behave as Kyverno's int64, others as float64; Go cases
// that hinge on a float64 with no fraction (e.g. 7.0 vs "1E+*") are noted where they apply.

test('pattern value: float patterns (validateFloatPattern)', () => {
  assert.equal(matchValue(7.9914, 7.9914), true);
  assert.equal(matchValue(7.9914, 7.99141), false);
  assert.equal(matchValue(7, 7.0), true);
  assert.equal(matchValue(7.000001, 7), false);
  assert.equal(matchValue(8, 7), false);
});

test('pattern value: Kyverno TestValidate table', () => {
  const cases: Array<[unknown, unknown, boolean]> = [
    [true, true, true],
    [true, false, false],
    [false, true, false],
    [false, false, true],
    ['value', null, false],
    ['', null, true],
    [0.0, null, true],
    [0, null, true],
    [false, null, true],
    ['10.100.11.54', '192.168.88.1 | 10.100.11.*', true],
    ['10', '>1 & <20', true],
    ['10', '>1 & <20 | >31 & <33', true],
    ['32', '>1 & <20 | >31 & <33', true],
    ['21', '>1 & <20 | >31 & <33', false],
    [7.0, 7.0, true],
    [10, 10, true],
    [8, 10, false],
    [null, [], false],
    [{ a: true }, { a: true }, true],
    [{ a: true }, { b: false }, true],
    [null, false, false],
    [8.0, 8, true],
    [8.1, 8, false],
    ['8', 8, true],
    ['8.1', 8, false],
    [false, 8, false],
    [8, 8.0, true],
    [8, 8.1, false],
    ['8', 8.0, true],
    ['8.1', 8.1, true],
    ['abc', 8.1, false],
    [false, 8.0, false],
  ];
  for (const [value, pattern, want] of cases) {
    assert.equal(matchValue(value, pattern), want, `${JSON.stringify(value)} vs ${JSON.stringify(pattern)}`);
  }
});

test('pattern value: map patterns only check the value is a map (validateMapPattern)', () => {
  for (const v of [null, true, 8, '', 'abc', []]) assert.equal(matchValue(v, {}), false, JSON.stringify(v));
  for (const v of [{}, { a: true }]) assert.equal(matchValue(v, { b: 1 }), true);
});

test('pattern value: null pattern (validateNilPattern)', () => {
  for (const v of [null, undefined, 0.0, 0, '', false]) assert.equal(matchValue(v, null), true, String(v));
  for (const v of [{}, [], 1.0, 1, 'abc', true]) assert.equal(matchValue(v, null), false, JSON.stringify(v));
});

test('pattern value: operators with spaces and ranges (validateStringPattern)', () => {
  assert.equal(matchStringTerm(4, '>= 3'), true);
  const t = (v: unknown, p: string) => matchStringTerm(v, p);
  assert.equal(t(0, '0-2'), true);
  assert.equal(t(1, '0-2'), true);
  assert.equal(t(2, '0-2'), true);
  assert.equal(t(3, '0-2'), false);
  assert.equal(t(0, '10!-20'), true);
  assert.equal(t(15, '10!-20'), false);
  assert.equal(t(25, '10!-20'), true);
  assert.equal(t(0, '0.00001-2.00001'), false);
  assert.equal(t(1, '0.00001-2.00001'), true);
  assert.equal(t(2, '0.00001-2.00001'), true);
  assert.equal(t(2.0001, '0.00001-2.00001'), false);
  assert.equal(t(0, '0.00001!-2.00001'), true);
  assert.equal(t(1, '0.00001!-2.00001'), false);
  assert.equal(t(2, '0.00001!-2.00001'), false);
  assert.equal(t(2.0001, '0.00001!-2.00001'), true);
  assert.equal(t(2, '2-2'), true);
  assert.equal(t(2, '2!-2'), false);
  assert.equal(t(2.99999, '2.99998-3'), true);
  assert.equal(t(2.99997, '2.99998!-3'), true);
  assert.equal(t(3.00001, '2.99998!-3'), true);
  assert.equal(t('256Mi', '128Mi-512Mi'), true);
  assert.equal(t('1024Mi', '128Mi-512Mi'), false);
  assert.equal(t('64Mi', '128Mi-512Mi'), false);
  assert.equal(t('256Mi', '128Mi!-512Mi'), false);
  assert.equal(t('1024Mi', '128Mi!-512Mi'), true);
  assert.equal(t('64Mi', '128Mi!-512Mi'), true);
  assert.equal(t(-9, '-10-8'), true);
  assert.equal(t(9, '-10--8'), false);
  assert.equal(t(9, '-10!--8'), true);
  assert.equal(t('9Mi', '-10Mi!--8Mi'), true);
  assert.equal(t(-9, '-10!--8'), false);
  assert.equal(t('-9Mi', '-10Mi-8Mi'), true);
  assert.equal(t('9Mi', '-10Mi!-8Mi'), true);
  assert.equal(t(0, '-10-+8'), true);
  assert.equal(t('7Mi', '-10Mi-+8Mi'), true);
  assert.equal(t(10, '-10!-+8'), true);
  assert.equal(t('10Mi', '-10Mi!-+8Mi'), true);
  assert.equal(t(0, '+0-+1'), true);
  assert.equal(t('10Mi', '+0Mi-+1024Mi'), true);
  assert.equal(t(10, '+0!-+1'), true);
  assert.equal(t('1025Mi', '+0Mi!-+1024Mi'), true);
});

test('pattern value: numbers against string operands (TestValidateNumberWithStr_LessFloatAndInt)', () => {
  assert.equal(compareWithOperator(7.00001, '7.000001', '>'), true);
  assert.equal(compareWithOperator(7.00001, '7', '!'), true);
  assert.equal(compareWithOperator(7.0, '7', ''), true);
  // Floats print with six decimals before being parsed as quantities: 6.000000001 reads as 6.
  assert.equal(compareWithOperator(6.000000001, '6', '<'), false);
});

test('pattern value: invalid quantities fall back to strings', () => {
  assert.equal(compareWithOperator('1024Gi', '', ''), false);
  assert.equal(compareWithOperator('gii', '1024Gi', ''), false);
});

test('pattern value: durations (TestValidateDuration)', () => {
  const c = compareWithOperator;
  assert.equal(c('12s', '12s', ''), true);
  assert.equal(c('12s', '15s', '!'), true);
  assert.equal(c('12s', '15s', '<'), true);
  assert.equal(c('12s', '15s', '<='), true);
  assert.equal(c('12s', '12s', '<='), true);
  assert.equal(c('15s', '12s', '<'), false);
  assert.equal(c('15s', '12s', '<='), false);
  assert.equal(c('15s', '12s', '>'), true);
  assert.equal(c('15s', '12s', '>='), true);
  assert.equal(c('12s', '12s', '>='), true);
  assert.equal(c('12s', '15s', '>'), false);
  assert.equal(c('12s', '15s', '>='), false);
  // Durations compare by value, not text.
  assert.equal(c('60s', '1m', ''), true);
  assert.equal(c('1h30m', '90m', ''), true);
});

test('pattern value: quantities (TestValidateQuantity_Equal / _Operation)', () => {
  const c = compareWithOperator;
  assert.equal(c('1024Gi', '1024Gi', ''), true);
  assert.equal(c('1024Mi', '1Gi', ''), true);
  assert.equal(c('0.2', '200m', ''), true);
  assert.equal(c('500', '500', ''), true);
  assert.equal(c('2048', '1024', ''), false);
  assert.equal(c(1024, '1024', ''), true);
  assert.equal(c('1Gi', '1000Mi', '>'), true);
  assert.equal(c('1G', '1Gi', '<'), true);
  assert.equal(c('500m', '0.5', '>='), true);
  assert.equal(c('1', '500m', '>='), true);
  assert.equal(c('0.5', '.5', '<='), true);
  assert.equal(c('0.2', '.5', '<='), true);
  assert.equal(c('0.2', '.5', '!'), true);
  // Both parse as quantities, so the string comparison is never reached.
  assert.equal(c('500m', '0.6', '>='), false);
});

test('pattern value: operator detection', () => {
  assert.equal(operatorOf('f'), '');
  assert.equal(operatorOf(''), '');
  assert.equal(operatorOf('>=1'), '>=');
  assert.equal(operatorOf('<=1'), '<=');
  assert.equal(operatorOf('>1'), '>');
  assert.equal(operatorOf('<1'), '<');
  assert.equal(operatorOf('!1'), '!');
  assert.equal(operatorOf('1-5'), '-');
  assert.equal(operatorOf('1!-5'), '!-');
  assert.equal(operatorOf('1Mi-5Gi'), '-');
  assert.equal(operatorOf('5.10.84-1'), '');
  assert.equal(operatorOf('!1-5'), '!');
  assert.deepEqual(splitRange('', IN_RANGE_RE), null);
  assert.deepEqual(splitRange('', NOT_IN_RANGE_RE), null);
  assert.deepEqual(splitRange('-10--8', IN_RANGE_RE), ['-10', '-8']);
  assert.deepEqual(splitRange('128Mi!-512Mi', NOT_IN_RANGE_RE), ['128Mi', '512Mi']);
});

test('pattern value: Kyverno Test_validateStringPatterns table', () => {
  const cases: Array<[unknown, string, boolean]> = [
    ['5.16.5-arch1-1', '!5.10.84-1', true],
    ['5.10.84-1', '5.10.84-1', true],
    ['!5.10.84-1', '!5.10.84-1', true],
    ['5.10.84-1', '!5.10.84-1', false],
    ['5.16.5-arch1-1', '!5.10.84-1 & !5.15.2-1', true],
    ['5.10.84-1', '!5.10.84-1 & !5.15.2-1', false],
    ['5.15.2-1', '!5.10.84-1 & !5.15.2-1', false],
  ];
  for (const [value, pattern, want] of cases) assert.equal(matchStringPatterns(value, pattern), want, `${value} vs ${pattern}`);
});

test('pattern value: Kyverno Test_compareString table (wildcards)', () => {
  const cases: Array<[unknown, string, boolean]> = [
    ['anything', '*', true],
    ['', '*', true],
    ['leftright', '*right', true],
    ['right', '*right', true],
    ['leftmiddle', '*right', false],
    ['middle', '*right', false],
    ['abbeba', 'ab*ba', true],
    ['abbca', 'ab*ba', false],
    ['abbba', 'ab?ba', true],
    ['abbbba', 'ab?ba', false],
    [null, 'ab?ba', false],
    ['', 'ab?ba', false],
    ['', '', true],
    [1, '1', true],
    [true, 'true', true],
  ];
  for (const [value, pattern, want] of cases) assert.equal(matchStringPatterns(value, pattern), want, `${value} vs ${pattern}`);
  // Non-integral floats print as strconv 'E' (Kyverno's 1.0 vs "1E+*" case, with a fraction).
  assert.equal(matchStringPatterns(1.5, '1.5E+*'), true);
  assert.equal(matchStringPatterns(1.5, '1.5'), true); // still equal as quantities
  // Ordering operators never apply to plain strings.
  assert.equal(matchStringPatterns('b', '>a'), false);
});

test('pattern value: Kyverno Test_convertNumberToString table', () => {
  assert.equal(numberToString(null), '0');
  assert.equal(numberToString('123'), '123');
  assert.equal(numberToString(''), '');
  assert.equal(numberToString('abc'), 'abc');
  assert.equal(numberToString(3.1), '3.100000');
  assert.equal(numberToString(-3.1), '-3.100000');
  assert.equal(numberToString(-3), '-3');
  assert.equal(numberToString(3), '3');
  assert.equal(numberToString(0), '0');
  assert.equal(numberToString(false), null);
});

test('pattern value: "?*" means present and non-empty; absent values read as 0 for numbers', () => {
  assert.equal(matchValue('x', '?*'), true);
  assert.equal(matchValue('', '?*'), false);
  assert.equal(matchValue(undefined, '?*'), false);
  assert.equal(matchValue(undefined, '*'), false);
  // convertNumberToString(nil) == "0": a missing field satisfies numeric bounds that admit 0.
  assert.equal(matchValue(undefined, '<4'), true);
  assert.equal(matchValue(undefined, '>0'), false);
  assert.equal(matchValue(undefined, '<10s'), true);
  assert.equal(matchValue(undefined, '!*'), false);
  assert.equal(matchValue(0, '>0'), false);
  assert.equal(matchValue(1000, '>0'), true);
});

test('pattern value: or binds looser than and; terms are trimmed of spaces', () => {
  assert.equal(matchValue('nginx:latest', '*:latest | !*:*'), true);
  assert.equal(matchValue('nginx', '*:latest | !*:*'), true);
  assert.equal(matchValue('nginx:1.2.3', '*:latest | !*:*'), false);
  assert.equal(matchValue('istio-init', '!istio-init&!other'), false);
  assert.equal(matchValue('cache', '!istio-init&!other'), true);
  assert.equal(matchValue('b', ' a | b '), true);
  assert.equal(matchValue(true, 'true'), true);
  assert.equal(matchValue(false, '!true'), true);
  assert.equal(matchValue({}, '*'), false);
  assert.equal(matchValue([], 'x'), false);
});
