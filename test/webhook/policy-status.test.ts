/** Policy status as Kyverno's webhook controller writes it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { desiredStatus } from '../../webhook/policy-status';

const podPolicy = {
  apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'p', generation: 3 },
  spec: { rules: [
    { name: 'check', match: { any: [{ resources: { kinds: ['Pod'] } }] }, validate: { pattern: { metadata: { labels: { a: '?*' } } } } },
    { name: 'stamp', match: { any: [{ resources: { kinds: ['ConfigMap'] } }] }, mutate: { patchStrategicMerge: { metadata: { labels: { b: 'c' } } } } },
  ] },
  status: { ready: true, conditions: [{ type: 'Other', status: 'True' }] },
};

test('Ready condition, autogen rule names and counts of the policy’s own rules', () => {
  const s = desiredStatus(podPolicy, '2026-01-01T00:00:00Z');
  assert.deepEqual(s.conditions, [
    { type: 'Other', status: 'True' },
    { type: 'Ready', status: 'True', reason: 'Succeeded', message: 'Ready', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 3 },
  ]);
  assert.deepEqual(((s.autogen as { rules: Array<{ name: string }> }).rules).map((r) => r.name), ['autogen-check', 'autogen-cronjob-check']);
  assert.deepEqual(s.rulecount, { validate: 1, generate: 0, mutate: 1, verifyimages: 0 });
  assert.equal(s.ready, undefined, 'the deprecated field is dropped, as SetReady does');
  const again = desiredStatus({ ...podPolicy, status: s }, '2026-02-02T00:00:00Z');
  assert.deepEqual(again, s, 'unchanged: the transition time stays, nothing to write');
});
