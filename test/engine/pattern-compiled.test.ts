import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { validatePattern, walkPattern } from '../../engine/pattern';
import { compilePattern, reusedPatternCheck } from '../../engine/pattern/compiled';

// The compiled checker may only ever answer "pass" where the walk passes; validatePattern
// (checker first, then the walk) must answer exactly what the walk alone answers.

const plainKeys = ['a', 'b', 'name', 'image', 'metadata', 'labels', 'app1', 'containers'];
const anchoredKeys = ['(a)', '(name)', '=(b)', '=(labels)', 'X(a)', 'X(b)', '^(containers)', '<(a)', '<(name)', '+(b)', 'app*', 'metadata'];
const patternStrings = ['*', '?*', 'x', 'x*', '!x', '>1', '<=2', '1-3', '1!-3', 'a | b', 'x* & !xy', '', 'null', 'true', '10Mi', '>5Mi', '>5m', 'conditional anchor mismatch', '!*:latest', '*:*'];
const resourceStrings = ['x', 'xy', 'a', 'b', '1', '2', '10Mi', '5m', '', 'true', 'nginx:latest', 'nginx:1.2', 'conditional anchor mismatch: zz', 'global anchor mismatch'];

const patternScalar = fc.oneof(fc.constantFrom(...patternStrings), fc.constantFrom(0, 1, 2.5, -1), fc.boolean(), fc.constant(null));
const resourceScalar = fc.oneof(fc.constantFrom(...resourceStrings), fc.constantFrom(0, 1, 2, 2.5, 10), fc.boolean(), fc.constant(null));

const { pattern } = fc.letrec<{ pattern: unknown; map: Record<string, unknown>; list: unknown[] }>((tie) => ({
  pattern: fc.oneof({ depthSize: 'small', withCrossShrink: true }, patternScalar, tie('map'), tie('list')),
  map: fc.dictionary(fc.constantFrom(...plainKeys, ...anchoredKeys), tie('pattern'), { maxKeys: 4 }),
  list: fc.array(tie('pattern'), { maxLength: 3 }),
}));

const { resource } = fc.letrec<{ resource: unknown; map: Record<string, unknown>; list: unknown[] }>((tie) => ({
  resource: fc.oneof({ depthSize: 'small', withCrossShrink: true }, resourceScalar, tie('map'), tie('list')),
  map: fc.dictionary(fc.constantFrom(...plainKeys), tie('resource'), { maxKeys: 5 }),
  list: fc.array(tie('resource'), { maxLength: 3 }),
}));

test('compiled pattern checks: a pass only where the walk passes, and validatePattern answers as the walk', () => {
  let checkerPasses = 0;
  let walkPasses = 0;
  fc.assert(
    fc.property(pattern, resource, (p, r) => {
      const walked = walkPattern(r, p);
      if (walked.status === 'pass') walkPasses++;
      if (compilePattern(p)(r)) {
        checkerPasses++;
        assert.equal(walked.status, 'pass', 'the checker passed what the walk does not');
      }
      // Twice: the second use goes through the pattern's compiled checker.
      assert.deepEqual(validatePattern(r, p), walked);
      assert.deepEqual(validatePattern(r, p), walked);
    }),
    { numRuns: 4000 },
  );
  // The property is only worth something when both answers occur often.
  assert.ok(checkerPasses > 200, `only ${checkerPasses} checker passes`);
  assert.ok(walkPasses < 4000 * 2, 'sanity');
});

test('compiled pattern checks: resources built to fit the pattern pass both ways', () => {
  // Random resources rarely satisfy deep patterns: derive the resource from the pattern.
  const fitting = (p: unknown): unknown => {
    if (Array.isArray(p)) return p.map(fitting);
    if (p && typeof p === 'object') return Object.fromEntries(Object.entries(p).map(([k, v]) => [k.replace(/^[=<(]+|\)$/g, ''), fitting(v)]));
    return p === '?*' || p === '*' ? 'x' : p;
  };
  const shapes = fc.letrec<{ p: unknown; m: Record<string, unknown> }>((tie) => ({
    p: fc.oneof({ depthSize: 'small' }, fc.constantFrom('?*', '*', 'x', 'true', 1, true), tie('m'), fc.array(tie('m'), { minLength: 1, maxLength: 2 })),
    m: fc.dictionary(fc.constantFrom('a', 'b', 'c', '=(d)', '(e)', '<(f)'), tie('p'), { minKeys: 1, maxKeys: 3 }),
  })).m;
  let passes = 0;
  fc.assert(
    fc.property(shapes, (p) => {
      const r = fitting(p);
      const walked = walkPattern(r, p);
      if (compilePattern(p)(r)) {
        passes++;
        assert.equal(walked.status, 'pass');
      }
      assert.deepEqual(validatePattern(r, p), walked);
      assert.deepEqual(validatePattern(r, p), walked);
    }),
    { numRuns: 1500 },
  );
  assert.ok(passes > 500, `only ${passes} passes`);
});

test('compiled pattern checks: the usual policy shapes', () => {
  const p = {
    metadata: { labels: { 'app.kubernetes.io/name': '?*' } },
    spec: {
      '=(securityContext)': { '=(privileged)': 'false' },
      containers: [{ image: '!*:latest', '=(ports)': [{ 'X(hostPort)': 'null' }], resources: { limits: { memory: '<=1Gi' } } }],
    },
  };
  const pod = (image: string, extra: Record<string, unknown> = {}) => ({
    metadata: { labels: { 'app.kubernetes.io/name': 'web' } },
    spec: { containers: [{ image, ports: [{ containerPort: 80 }], resources: { limits: { memory: '512Mi' } }, ...extra }] },
  });
  const check = compilePattern(p);
  assert.equal(check(pod('nginx:1.2')), true);
  assert.equal(check(pod('nginx:latest')), false);
  assert.equal(check(pod('nginx:1.2', { resources: { limits: { memory: '2Gi' } } })), false);
  assert.equal(check(pod('nginx:1.2', { ports: [{ hostPort: 80 }] })), false);
  assert.equal(check({ ...pod('nginx:1.2'), metadata: {} }), false);
  // A conditional anchor that does not hold on one item is a skip the walk absorbs: the
  // checker leaves it to the walk, and validatePattern still passes.
  const conditional = { spec: { containers: [{ '(name)': 'app*', image: 'registry/*' }] } };
  const twoContainers = { spec: { containers: [{ name: 'app', image: 'registry/x' }, { name: 'sidecar', image: 'other/y' }] } };
  assert.equal(compilePattern(conditional)(twoContainers), false);
  assert.equal(walkPattern(twoContainers, conditional).status, 'pass');
  assert.equal(validatePattern(twoContainers, conditional).status, 'pass');
  assert.equal(validatePattern(twoContainers, conditional).status, 'pass');
  // Nested lists are matched position by position: a shorter resource list fails.
  const nested = { a: [['x*'], ['y']] };
  assert.equal(compilePattern(nested)({ a: [['x1'], ['y'], ['z']] }), true);
  assert.equal(compilePattern(nested)({ a: [['x1']] }), false);
  assert.equal(walkPattern({ a: [['x1']] }, nested).status, 'error');
});

test('compiled pattern checks: compiled on the second use of the same pattern object', () => {
  const p = { a: '?*' };
  assert.equal(reusedPatternCheck(p), undefined);
  const check = reusedPatternCheck(p);
  assert.ok(check);
  assert.equal(reusedPatternCheck(p), check);
  assert.equal(reusedPatternCheck('?*'), undefined);
});
