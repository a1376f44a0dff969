/** Policy status as Kyverno's webhook controller writes it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { desiredPolicyStatus, desiredStatus } from '../../webhook/policy-status';

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

test('CEL policies get the conditionStatus of Kyverno policy status controller', () => {
  const now = '2026-01-01T00:00:00Z';
  const vpol = { apiVersion: 'policies.kyverno.io/v1', kind: 'ValidatingPolicy', metadata: { name: 'v' }, spec: {} };
  const status = desiredPolicyStatus(vpol, now) as { conditionStatus: { conditions: Array<Record<string, unknown>>; ready: boolean } };
  assert.deepEqual(status.conditionStatus.conditions.map((c) => [c.type, c.status, c.reason, c.message]), [
    ['WebhookConfigured', 'True', 'Succeeded', 'Webhook configured.'],
    ['RBACPermissionsGranted', 'True', 'Succeeded', 'Policy is ready for reporting.'],
  ]);
  assert.equal(status.conditionStatus.ready, true);
  // Background only: no webhook condition; admission only: no reporting permissions needed.
  const backgroundOnly = desiredPolicyStatus({ ...vpol, spec: { evaluation: { admission: { enabled: false } } } }, now) as typeof status;
  assert.deepEqual(backgroundOnly.conditionStatus.conditions.map((c) => c.type), ['RBACPermissionsGranted']);
  const admissionOnly = desiredPolicyStatus({ ...vpol, kind: 'MutatingPolicy', spec: { evaluation: { background: { enabled: false } } } }, now) as typeof status;
  assert.equal(admissionOnly.conditionStatus.conditions[1].message, 'Background scanning disabled; reporting permissions not required.');
  // The transition time holds while the condition does; kinds without a status controller get none.
  const later = desiredPolicyStatus({ ...vpol, status }, '2026-02-01T00:00:00Z') as typeof status;
  assert.equal(later.conditionStatus.conditions[0].lastTransitionTime, now);
  assert.equal(desiredPolicyStatus({ apiVersion: 'policies.kyverno.io/v1', kind: 'DeletingPolicy', metadata: { name: 'd' }, spec: {} }, now), undefined);
});
