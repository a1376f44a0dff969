import { test } from 'node:test';
import assert from 'node:assert/strict';
import { wildcardMatch } from '../../engine/wildcard/wildcard';

test('wildcard: star and question mark', () => {
  assert.equal(wildcardMatch('*', ''), true);
  assert.equal(wildcardMatch('kube-*', 'kube-system'), true);
  assert.equal(wildcardMatch('kube-?', 'kube-ab'), false);
  assert.equal(wildcardMatch('a*b*c', 'axxbyyc'), true);
  assert.equal(wildcardMatch('a*b*c', 'axxbyy'), false);
});
