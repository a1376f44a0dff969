/** Kubernetes events as Kyverno's pkg/event builds them, and the rate-limited writer. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PolicyResponse } from '../../engine/core/types';
import { admissionEvents, backgroundFailedEvent, backgroundSuccessEvents, eventNamePrefix, eventObject, resourceGenerationEvent, scanEvents } from '../../webhook/event-info';
import { EventWriter } from '../../webhook/events';
import { microTime } from '../../webhook/leader';
import type { KubeClient } from '../../kube-api/client';
import { KubeError } from '../../kube-api/client';

const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'team', uid: 'u1' } };
const policy = { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'require-team', uid: 'pu' }, spec: { rules: [{ name: 'r', validate: {} }] } };
const response = (statuses: Array<[string, string]>, enforce = true): PolicyResponse => ({
  policy: { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', name: 'require-team' },
  resource: { apiVersion: 'v1', kind: 'Pod', name: 'p', namespace: 'team' },
  rules: statuses.map(([name, status]) => ({ name, type: 'Validation', status, message: `${name} says ${status}`, failureAction: enforce ? 'Enforce' : 'Audit' }) as PolicyResponse['rules'][number]),
  patchedResource: pod,
});
const of = () => policy;

/**
 * The writer's pacing timer is unref'd (it must not keep a stopping server alive), so the test
 * holds the event loop open while it waits, or node's runner ends the file with the promise pending.
 */
async function idle(w: EventWriter): Promise<void> {
  const keepAlive = setInterval(() => {}, 1000);
  try {
    await w.idle();
  } finally {
    clearInterval(keepAlive);
  }
}

test('admission: a blocked request gives one PolicyViolation per failed rule on the policy, "Resource Blocked"', () => {
  const events = admissionEvents([response([['a', 'fail'], ['b', 'pass']])], of, pod, true, false);
  assert.deepEqual(events, [{
    regarding: { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', name: 'require-team', uid: 'pu' },
    related: { apiVersion: 'v1', kind: 'Pod', name: 'p', namespace: 'team', uid: 'u1' },
    reason: 'PolicyViolation', action: 'Resource Blocked', source: 'kyverno-admission',
    message: 'Pod team/p: [a] fail (blocked); a says fail',
  }]);
  assert.deepEqual(admissionEvents([response([['a', 'fail']], false)], of, pod, true, false), [], 'only enforcing policies count when blocked');
});

test('admission: an admitted violation also puts an event on the resource for every rule of the policy', () => {
  const events = admissionEvents([response([['a', 'fail'], ['b', 'pass']], false)], of, pod, false, false);
  assert.deepEqual(events.map((e) => [e.regarding.kind, e.action, e.message]), [
    ['ClusterPolicy', 'Resource Passed', 'Pod team/p: [a] fail; a says fail'],
    ['Pod', 'Resource Passed', 'policy require-team/a fail: a says fail'],
    ['Pod', 'Resource Passed', 'policy require-team/b pass: b says pass'],
  ]);
});

test('admission: PolicyApplied only with success events, never for skips or nameless resources', () => {
  assert.deepEqual(admissionEvents([response([['a', 'pass']])], of, pod, false, false), []);
  const applied = admissionEvents([response([['a', 'pass']])], of, pod, false, true);
  assert.deepEqual(applied.map((e) => [e.reason, e.action, e.message, e.type]), [['PolicyApplied', 'Resource Passed', 'Pod team/p: pass', 'Normal']]);
  const mutator = { ...policy, spec: { rules: [{ name: 'm', mutate: {} }] } };
  assert.deepEqual(admissionEvents([response([['m', 'pass']])], () => mutator, pod, false, true).map((e) => [e.action, e.message]), [['Resource Mutated', 'Pod team/p is successfully mutated']]);
  assert.deepEqual(admissionEvents([response([['a', 'pass'], ['b', 'skip']])], of, pod, false, true), []);
  assert.deepEqual(admissionEvents([response([['a', 'fail']])], of, { ...pod, metadata: { generateName: 'p-' } }, false, false), []);
});

test('scan: each rule neither passed nor skipped gives an event on the resource and one on the policy (kyverno-scan)', () => {
  const events = scanEvents([response([['a', 'fail'], ['b', 'error'], ['c', 'skip']], false)], of, pod, false);
  assert.deepEqual(events.map((e) => [e.source, e.regarding.kind, e.message]), [
    ['kyverno-scan', 'Pod', 'policy require-team/a fail: a says fail'],
    ['kyverno-scan', 'ClusterPolicy', 'Pod team/p: [a] fail; a says fail'],
    ['kyverno-scan', 'Pod', 'policy require-team/b error: b says error'],
    ['kyverno-scan', 'ClusterPolicy', 'Pod team/p: [b] error; b says error'],
  ]);
});

test("event objects: Kyverno's name, namespace, reporting fields and 1024-character note", () => {
  const [info] = admissionEvents([response([['a', 'fail']])], of, pod, true, false);
  const e = eventObject({ ...info, message: 'x'.repeat(2000) }, 'host', Date.UTC(2026, 0, 1), microTime);
  assert.match(String((e.metadata as { name: string }).name), /^require-team\.[0-9a-f]+$/);
  assert.equal((e.metadata as { namespace: string }).namespace, 'default', 'cluster-wide policies: events in default');
  assert.equal(e.reportingController, 'kyverno-admission');
  assert.equal(e.reportingInstance, 'kyverno-admission-host');
  assert.equal(e.eventTime, '2026-01-01T00:00:00.000000Z');
  assert.equal(e.type, 'Warning');
  assert.equal(String(e.note).length, 1024);
  assert.ok(String(e.note).endsWith('...'));
  assert.equal(eventNamePrefix('My:Policy/'), 'my-policy-z');
  assert.equal(eventNamePrefix('-x'), 'a-x');
});

test('writer: bounded queue, omitted reasons, retries then drop, 404 not retried', async () => {
  const created: unknown[] = [];
  let failures = 0;
  const client = {
    create: async (o: unknown) => {
      if (failures > 0) {
        failures--;
        throw new KubeError(500, '', 'boom');
      }
      if (((o as { regarding: { name: string } }).regarding.name) === 'gone') throw new KubeError(404, '', 'namespace gone');
      created.push(o);
      return o;
    },
  } as unknown as KubeClient;
  const log: string[] = [];
  const w = new EventWriter(client, (l) => log.push(l), { maxQueued: 3, omit: ['PolicyApplied'] });
  const base = admissionEvents([response([['a', 'fail']])], of, pod, true, false)[0];
  failures = 2;
  w.add([base, { ...base, reason: 'PolicyApplied' }, { ...base, regarding: { ...base.regarding, name: 'gone' } }, base, base, base]);
  await idle(w);
  assert.equal(created.length, 2, 'three queued (the queue holds 3), the 404 not retried, the first written on its third attempt');
  assert.ok(log.some((l) => /dropping events/.test(l)));
  failures = 5;
  w.add([base]);
  await idle(w);
  assert.equal(created.length, 2);
  assert.ok(log.some((l) => /dropping a PolicyViolation event/.test(l)), 'given up after 3 attempts');
});

test('writer: a client-side rate limit spaces writes once the burst is used', async () => {
  const times: number[] = [];
  const client = { create: async (o: unknown) => (times.push(Date.now()), o) } as unknown as KubeClient;
  const w = new EventWriter(client, () => {}, { qps: 20, burst: 2 });
  const base = admissionEvents([response([['a', 'fail']])], of, pod, true, false)[0];
  w.add([base, base, base, base]);
  await idle(w);
  assert.equal(times.length, 4);
  assert.ok(times[3] - times[0] >= 80, `4 writes at 20/s after a burst of 2 take ≥ 100 ms (took ${times[3] - times[0]})`);
});

test('writer: PolicyApplied is written only with generateSuccessEvents, and then only for the listed successEventActions; nameless objects never', async () => {
  const written: Array<{ reason: string; action: string }> = [];
  const client = { create: async (o: { reason: string; action: string }) => (written.push(o), o) } as unknown as KubeClient;
  const applied = backgroundSuccessEvents('kyverno-generate', policy, [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'cm', namespace: 'team' }])[0];
  const mutated = backgroundSuccessEvents('kyverno-mutate', policy, [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'cm', namespace: 'team' }])[0];
  const violation = admissionEvents([response([['a', 'fail']])], of, pod, true, false)[0];
  const nameless = { ...violation, regarding: { ...violation.regarding, name: '' } };

  const off = new EventWriter(client, () => {});
  off.add([applied, mutated, violation, nameless]);
  await idle(off);
  assert.deepEqual(written.map((e) => e.reason), ['PolicyViolation'], 'success events are off by default, as in Kyverno');

  written.length = 0;
  const on = new EventWriter(client, () => {}, { successEvents: true, successActions: ['Resource Mutated'] });
  on.add([applied, mutated, violation]);
  await idle(on);
  assert.deepEqual(written.map((e) => `${e.reason}/${e.action}`), ['PolicyApplied/Resource Mutated', 'PolicyViolation/Resource Blocked']);

  // Kyverno's ConfigMap changes generateSuccessEvents / successEventActions while the writer runs.
  written.length = 0;
  on.setSuccessEvents(true, []);
  on.add([applied, mutated]);
  await idle(on);
  assert.deepEqual(written.map((e) => `${e.reason}/${e.action}`), ['PolicyApplied/Resource Generated', 'PolicyApplied/Resource Mutated']);
  written.length = 0;
  on.setSuccessEvents(false, []);
  on.add([applied, violation]);
  await idle(on);
  assert.deepEqual(written.map((e) => e.reason), ['PolicyViolation']);
});

test('background events: Kyverno\'s shapes for generate and mutate existing', () => {
  const target = { apiVersion: 'v1', kind: 'ConfigMap', name: 'cm', namespace: 'team' };
  const [success] = backgroundSuccessEvents('kyverno-mutate', { ...policy, apiVersion: 'kyverno.io/v2beta1' }, [target]);
  assert.deepEqual(success, {
    regarding: { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', name: 'require-team', uid: 'pu' },
    related: target, reason: 'PolicyApplied', action: 'Resource Mutated', source: 'kyverno-mutate', message: 'resource mutated',
  });
  assert.equal(backgroundSuccessEvents('kyverno-generate', policy, [target])[0].message, 'resource generated');
  assert.equal(backgroundSuccessEvents('kyverno-generate', policy, [target])[0].action, 'Resource Generated');
  const failed = backgroundFailedEvent('kyverno-generate', policy, 'gen', { kind: 'Namespace', name: 'team' }, 'boom');
  assert.equal(failed.reason, 'PolicyError');
  assert.equal(failed.action, 'None');
  assert.equal(failed.message, 'policy require-team/gen error: boom');
  assert.equal(backgroundFailedEvent('kyverno-generate', policy, '', { kind: 'Namespace', name: 'team' }, 'boom').message, 'policy require-team error: boom');
  // Kyverno names the related object by kind and name only: no empty apiVersion in the Event.
  const written = eventObject(failed, 'host', 0, microTime);
  assert.deepEqual(written.related, { kind: 'Namespace', name: 'team' });
  assert.equal(written.type, 'Warning');
  assert.equal(written.reportingController, 'kyverno-generate');
  const created = resourceGenerationEvent('team/defaults', 'gen', target);
  assert.deepEqual(created, { regarding: target, reason: 'PolicyApplied', action: 'None', source: 'kyverno-generate', message: 'Created ConfigMap cm as a result of applying policy team/defaults/gen' });
  assert.equal(eventObject(created, 'host', 0, microTime).type, 'Normal');
  assert.equal((eventObject(created, 'host', 0, microTime).metadata as { namespace: string }).namespace, 'team', 'written beside the generated object');
});

test('PolicyExceptions: a rule skipped by exceptions gives PolicySkipped on each exception and on the policy (admission when not blocked, scans)', () => {
  const skipped: PolicyResponse = {
    ...response([['a', 'pass']]),
    rules: [{ name: 'a', type: 'Validation', status: 'skip', message: 'rule skipped due to policy exception', exceptions: ['allow-ci', 'allow-ops'] } as PolicyResponse['rules'][number]],
  };
  const exceptionOf = (name: string) => (name === 'allow-ci' ? { metadata: { name, namespace: 'policies', uid: 'eu' } } : undefined);
  const events = admissionEvents([skipped], of, pod, false, false, exceptionOf);
  assert.deepEqual(events, [
    {
      regarding: { apiVersion: 'kyverno.io/v2', kind: 'PolicyException', name: 'allow-ci', namespace: 'policies', uid: 'eu' },
      related: { apiVersion: 'v1', kind: 'Pod', name: 'p', namespace: 'team', uid: 'u1' },
      reason: 'PolicySkipped', action: 'Resource Passed', source: 'kyverno-admission',
      message: 'resource Pod/team/p was skipped from policy rule require-team/a',
    },
    {
      regarding: { apiVersion: 'kyverno.io/v2', kind: 'PolicyException', name: 'allow-ops' },
      related: { apiVersion: 'v1', kind: 'Pod', name: 'p', namespace: 'team', uid: 'u1' },
      reason: 'PolicySkipped', action: 'Resource Passed', source: 'kyverno-admission',
      message: 'resource Pod/team/p was skipped from policy rule require-team/a',
    },
    {
      regarding: { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', name: 'require-team', uid: 'pu' },
      related: { apiVersion: 'v1', kind: 'Pod', name: 'p', namespace: 'team', uid: 'u1' },
      reason: 'PolicySkipped', action: 'Resource Passed', source: 'kyverno-admission',
      message: 'resource Pod/team/p was skipped from rule a due to policy exceptions policies/allow-ci, /allow-ops',
    },
  ]);
  assert.equal(eventObject(events[0], 'h', 0, microTime).type, 'Normal');
  assert.deepEqual(admissionEvents([skipped], of, pod, true, false, exceptionOf), [], 'not when the request is blocked');
  assert.deepEqual(scanEvents([skipped], of, pod, false, exceptionOf).map((e) => [e.source, e.reason, e.regarding.kind]), [
    ['kyverno-scan', 'PolicySkipped', 'PolicyException'], ['kyverno-scan', 'PolicySkipped', 'PolicyException'], ['kyverno-scan', 'PolicySkipped', 'ClusterPolicy'],
  ]);
  // A namespaced Policy names its namespace in the rule key.
  const namespaced = { ...skipped, policy: { ...skipped.policy, kind: 'Policy', namespace: 'team' } };
  assert.match(admissionEvents([namespaced], of, pod, false, false, exceptionOf)[0].message, /from policy rule team\/require-team\/a$/);
});
