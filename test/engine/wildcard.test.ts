import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { wildcardMatch, wildcardMatcher } from '../../engine/wildcard/wildcard';

test('wildcard: star and question mark', () => {
  assert.equal(wildcardMatch('*', ''), true);
  assert.equal(wildcardMatch('kube-*', 'kube-system'), true);
  assert.equal(wildcardMatch('kube-?', 'kube-ab'), false);
  assert.equal(wildcardMatch('a*b*c', 'axxbyyc'), true);
  assert.equal(wildcardMatch('a*b*c', 'axxbyy'), false);
});

test('wildcardMatcher answers as wildcardMatch for every pattern and text', () => {
  const pattern = fc.array(fc.constantFrom('a', 'b', 'ab', '*', '*', '?', ':', '.'), { maxLength: 8 }).map((p) => p.join(''));
  const text = fc.array(fc.constantFrom('a', 'b', ':', '.', 'ba'), { maxLength: 10 }).map((t) => t.join(''));
  let matched = 0;
  fc.assert(
    fc.property(pattern, text, (p, t) => {
      const expected = wildcardMatch(p, t);
      if (expected) matched++;
      assert.equal(wildcardMatcher(p)(t), expected, `${p} against ${t}`);
    }),
    { numRuns: 20000 },
  );
  assert.ok(matched > 1000, `only ${matched} matches`);
  for (const [p, t, want] of [['*:*', 'nginx:1.2', true], ['*:*', 'nginx', false], ['registry.example.com/*', 'registry.example.com/a', true], ['a*a', 'a', false], ['?*', '', false], ['*:latest', 'x:latest', true]] as const) {
    assert.equal(wildcardMatcher(p)(t), want, `${p} against ${t}`);
  }
});
