import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  combineAnyPatternOutcomes,
  formatAnyPatternFailure,
  formatPatternFailure,
  formatPatternPath,
  validatePattern,
  type PatternOutcome,
} from '../../engine/pattern';
import { goFloatE, goFloatF, goFloatG, goParseFloat, goTypeName, goValueString } from '../../engine/pattern/goformat';

// Wording from kyverno pkg/engine/handlers/validation/validate_resource.go.

const fail = (path: Array<string | number>): PatternOutcome => ({ status: 'fail', path, message: 'x' });
const skip: PatternOutcome = { status: 'skip', path: [], message: 'conditional anchor mismatch: y' };
const error: PatternOutcome = { status: 'error', message: 'validate Array failed, array length mismatch, resource Array len is 1 and pattern Array len is 2' };

test('pattern messages: Kyverno path rendering', () => {
  assert.equal(formatPatternPath([]), '/');
  assert.equal(formatPatternPath(['spec', 'containers', 0, 'image']), '/spec/containers/0/image/');
  assert.equal(formatPatternPath(['metadata', 'labels', 'app.kubernetes.io/name']), '/metadata/labels/app.kubernetes.io/name/');
});

test('pattern messages: pattern rule messages', () => {
  const path = ['spec', 'containers', 0, 'image'];
  assert.equal(
    formatPatternFailure('check-image', 'An image tag is required', fail(path)),
    'validation error: An image tag is required. rule check-image failed at path /spec/containers/0/image/',
  );
  assert.equal(
    formatPatternFailure('check-image', 'An image tag is required.', fail(path)),
    'validation error: An image tag is required. rule check-image failed at path /spec/containers/0/image/',
  );
  assert.equal(formatPatternFailure('check-image', undefined, fail(path)), 'validation error: rule check-image failed at path /spec/containers/0/image/');
  assert.equal(formatPatternFailure('check-image', '', fail(path)), 'validation error: rule check-image failed at path /spec/containers/0/image/');
  assert.equal(formatPatternFailure('r', 'msg', { status: 'pass' }), "validation rule 'r' passed.");
  assert.equal(formatPatternFailure('r', 'msg', skip), 'conditional anchor mismatch: y');
  assert.equal(
    formatPatternFailure('r', undefined, error),
    'validation error: rule r execution error: validate Array failed, array length mismatch, resource Array len is 1 and pattern Array len is 2',
  );
  assert.equal(
    formatPatternFailure('r', 'Bad', error),
    'validation error: Bad. rule r execution error: validate Array failed, array length mismatch, resource Array len is 1 and pattern Array len is 2',
  );
});

test('pattern messages: anyPattern failures list each failed pattern', () => {
  const outcomes = [fail(['spec', 'a']), error, skip, fail(['spec', 'b'])];
  assert.equal(
    formatAnyPatternFailure('any', 'One must hold', outcomes),
    'validation error: One must hold. rule any[0] failed at path /spec/a/ ' +
      'rule any[1] failed: validate Array failed, array length mismatch, resource Array len is 1 and pattern Array len is 2 ' +
      'rule any[3] failed at path /spec/b/',
  );
  assert.equal(formatAnyPatternFailure('any', 'Ends.', [fail(['a'])]), 'validation error: Ends. rule any[0] failed at path /a/');
  assert.equal(formatAnyPatternFailure('any', undefined, [fail(['a'])]), 'validation error: rule any[0] failed at path /a/');
});

test('pattern messages: anyPattern decision', () => {
  assert.deepEqual(combineAnyPatternOutcomes('r', 'm', [fail(['a']), { status: 'pass' }, fail(['b'])]), {
    status: 'pass',
    message: "validation rule 'r' anyPattern[1] passed.",
    passedIndex: 1,
    failures: [],
  });
  const f = combineAnyPatternOutcomes('r', 'm', [skip, fail(['a'])]);
  assert.equal(f.status, 'fail');
  assert.equal(f.message, 'validation error: m. rule r[1] failed at path /a/');
  assert.deepEqual(f.failures, [{ index: 1, path: ['a'] }]);
  const s = combineAnyPatternOutcomes('r', 'm', [skip, skip]);
  assert.deepEqual(s, {
    status: 'skip',
    message: 'rule r[0] skipped: conditional anchor mismatch: y rule r[1] skipped: conditional anchor mismatch: y',
    failures: [],
  });
  assert.deepEqual(combineAnyPatternOutcomes('r', 'm', []), { status: 'pass', message: 'm', failures: [] });
});

test('pattern messages: end to end with a real resource', () => {
  const pod = { spec: { containers: [{ name: 'a', image: 'nginx:latest' }] } };
  const o = validatePattern(pod, { spec: { containers: [{ image: '!*:latest' }] } });
  assert.equal(
    formatPatternFailure('disallow-latest', 'Using a mutable image tag is not allowed', o),
    'validation error: Using a mutable image tag is not allowed. rule disallow-latest failed at path /spec/containers/0/image/',
  );
  const any = combineAnyPatternOutcomes('run-as-non-root', 'Running as root is not allowed', [
    validatePattern(pod, { spec: { securityContext: { runAsNonRoot: true } } }),
    validatePattern(pod, { spec: { containers: [{ securityContext: { runAsNonRoot: true } }] } }),
  ]);
  assert.equal(
    any.message,
    'validation error: Running as root is not allowed. rule run-as-non-root[0] failed at path /spec/securityContext/ ' +
      'rule run-as-non-root[1] failed at path /spec/containers/0/securityContext/',
  );
});

test('goformat: %v and %T of decoded JSON', () => {
  assert.equal(goFloatG(8), '8');
  assert.equal(goFloatG(0.5), '0.5');
  assert.equal(goFloatG(100000), '100000');
  assert.equal(goFloatG(1000000), '1e+06');
  assert.equal(goFloatG(1234567), '1.234567e+06');
  assert.equal(goFloatG(0.0001), '0.0001');
  assert.equal(goFloatG(0.00001), '1e-05');
  assert.equal(goFloatG(-2.5), '-2.5');
  assert.equal(goFloatE(1.0), '1E+00');
  assert.equal(goFloatE(7.5), '7.5E+00');
  assert.equal(goFloatE(100), '1E+02');
  assert.equal(goFloatE(0.015), '1.5E-02');
  assert.equal(goFloatF(0), '0.000000');
  assert.equal(goFloatF(6.000000001), '6.000000');
  assert.equal(goTypeName(1, 'resource'), 'int64');
  assert.equal(goTypeName(1, 'pattern'), 'float64');
  assert.equal(goTypeName(1.5, 'resource'), 'float64');
  assert.equal(goTypeName(null, 'resource'), '<nil>');
  assert.equal(goTypeName([], 'pattern'), '[]interface {}');
  assert.equal(goTypeName({}, 'pattern'), 'map[string]interface {}');
  assert.equal(goValueString({ b: 1, a: ['x', null, true] }, 'resource'), 'map[a:[x <nil> true] b:1]');
  assert.equal(goValueString(1e6, 'resource'), '1000000');
  assert.equal(goValueString(1e6, 'pattern'), '1e+06');
});

test('goformat: strconv.ParseFloat subset', () => {
  assert.equal(goParseFloat('8'), 8);
  assert.equal(goParseFloat('8.1'), 8.1);
  assert.equal(goParseFloat('.5'), 0.5);
  assert.equal(goParseFloat('5.'), 5);
  assert.equal(goParseFloat('1e3'), 1000);
  assert.equal(goParseFloat('-Inf'), -Infinity);
  assert.ok(Number.isNaN(goParseFloat('nan')));
  for (const bad of ['', 'abc', '8 ', ' 8', '1_000', '0x10', '1e', '.', '1e999']) assert.equal(goParseFloat(bad), null, bad);
});
