import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  standardCronError,
  nextScheduledTime,
  ttlDeletionTime,
  ttlLabelWarning,
  parseStrfmtDuration,
  cleanupPolicySelects,
  deletingPolicySelects,
  policyExecutionTime,
  checkCleanupPolicyForAdmission,
  checkDeletingPolicyForAdmission,
  cleanupPolicyKinds,
} from '../../engine/cleanup';
import type { ClusterState, JsonObject } from '../../engine/core/types';

const at = (iso: string) => Date.parse(iso);
const next = (schedule: string, from: string) => {
  const r = nextScheduledTime(schedule, at(from));
  if ('error' in r) return r.error;
  return r.time === null ? null : new Date(r.time).toISOString();
};

test('cronexpr next run: strictly after the reference, whole seconds, UTC', () => {
  assert.equal(next('*/1 * * * *', '2024-01-01T12:00:30.500Z'), '2024-01-01T12:01:00.000Z');
  assert.equal(next('*/1 * * * *', '2024-01-01T12:01:00.000Z'), '2024-01-01T12:02:00.000Z', 'a matching instant is not its own next');
  assert.equal(next('0 0 * * *', '2024-01-01T00:00:00Z'), '2024-01-02T00:00:00.000Z');
  assert.equal(next('30 2 * * *', '2024-12-31T23:00:00Z'), '2025-01-01T02:30:00.000Z');
  assert.equal(next('@daily', '2024-03-10T05:00:00Z'), '2024-03-11T00:00:00.000Z');
  assert.equal(next('@hourly', '2024-03-10T05:20:00Z'), '2024-03-10T06:00:00.000Z');
  assert.equal(next('0 9 * jan,jul mon-fri', '2024-02-01T00:00:00Z'), '2024-07-01T09:00:00.000Z');
  // supercronic keeps gorhill's intersection when both day fields are restricted: the 1st AND a Monday.
  assert.equal(next('0 0 1 * 1', '2024-01-01T00:00:00Z'), '2024-04-01T00:00:00.000Z');
  assert.equal(next('0 12 L * *', '2024-02-10T00:00:00Z'), '2024-02-29T12:00:00.000Z');
  assert.equal(next('0 0 * * 5#2', '2024-01-01T00:00:00Z'), '2024-01-12T00:00:00.000Z');
  assert.equal(next('0 0 * * 5L', '2024-01-01T00:00:00Z'), '2024-01-26T00:00:00.000Z');
  assert.equal(next('0 0 15W 6 *', '2024-06-01T00:00:00Z'), '2024-06-14T00:00:00.000Z', 'the 15th is a Saturday: the Friday before');
  assert.equal(next('0 0 * * 7', '2024-01-01T00:00:00Z'), '2024-01-07T00:00:00.000Z', '7 is Sunday');
  assert.equal(next('*/10 * * * * * *', '2024-01-01T12:00:03Z'), '2024-01-01T12:00:10.000Z', 'seven fields: seconds first');
  assert.equal(next('0 0 1 1 * 2020', '2024-01-01T00:00:00Z'), null, 'six fields: a year already past');
  assert.equal(next('0 0 29 2 *', '2025-01-01T00:00:00Z'), '2028-02-29T00:00:00.000Z');
});

test('cronexpr parse errors (the DeletingPolicy schedule check)', () => {
  assert.equal(next('* * *', '2024-01-01T00:00:00Z'), 'missing field(s)');
  assert.equal(next('a * * * *', '2024-01-01T00:00:00Z'), "syntax error in minute field: 'a'");
  assert.equal(next('*/0 * * * *', '2024-01-01T00:00:00Z'), 'invalid interval */0');
  assert.equal(next('0 0 * * 1-7', '2024-01-01T00:00:00Z'), 'invalid interval 1-7 (normalized to 1-0)');
  assert.equal(next('0 0 32 * *', '2024-01-01T00:00:00Z'), "syntax error in day-of-month field: '32'");
  assert.equal(next('@every 1h', '2024-01-01T00:00:00Z'), 'missing field(s)');
});

test('robfig ParseStandard (the cleanup policy schedule check)', () => {
  for (const ok of ['*/1 * * * *', '0 0 * * 0', '0 12 1-15/2 jan-jun MON', '@daily', '@midnight', '@every 1h30m', 'CRON_TZ=UTC 0 0 * * *', 'TZ=Europe/Paris 0 0 * * *', '5/10 * * * *']) {
    assert.equal(standardCronError(ok), undefined, ok);
  }
  assert.equal(standardCronError(''), 'empty spec string');
  assert.equal(standardCronError('0 0 * * 7'), 'end of range (7) above maximum (6): 7');
  assert.equal(standardCronError('* * * * * *'), 'expected exactly 5 fields, found 6: * * * * * *');
  assert.equal(standardCronError('*/0 * * * *'), 'step of range should be a positive number: */0');
  assert.equal(standardCronError('1-2-3 * * * *'), 'too many hyphens: 1-2-3');
  assert.equal(standardCronError('5-1 * * * *'), 'beginning of range (5) beyond end of range (1): 5-1');
  assert.equal(standardCronError('@weekdays'), 'unrecognized descriptor: @weekdays');
  assert.match(standardCronError('@every soon')!, /^failed to parse duration @every soon: /);
  assert.match(standardCronError('TZ=Nowhere/Land 0 0 * * *')!, /^provided bad location Nowhere\/Land/);
  assert.match(standardCronError('0 0 L * *')!, /^failed to parse int from L/);
});

test('ttl label: strfmt durations, then the two UTC layouts', () => {
  const created = at('2024-01-01T00:00:00Z');
  assert.equal(ttlDeletionTime('1h', created), created + 3_600_000);
  assert.equal(ttlDeletionTime('1h30m', created), created + 5_400_000);
  assert.equal(ttlDeletionTime('2d', created), created + 2 * 86_400_000);
  assert.equal(ttlDeletionTime('3 days', created), created + 3 * 86_400_000);
  assert.equal(ttlDeletionTime('1w', created), created + 7 * 86_400_000);
  assert.equal(ttlDeletionTime('10 seconds', created), created + 10_000);
  assert.equal(ttlDeletionTime('2024-03-05', created), at('2024-03-05T00:00:00Z'));
  assert.equal(ttlDeletionTime('2024-03-05T153000Z', created), at('2024-03-05T15:30:00Z'));
  assert.deepEqual(parseStrfmtDuration('1 week'), { error: 'unable to parse 1 week as duration' }, '"week" is not a prefix of "weeks"');
  assert.deepEqual(ttlDeletionTime('soon', created), { error: 'parsing time "soon" as "2006-01-02": cannot parse "soon" as "2006"' });
  assert.deepEqual(ttlDeletionTime('2024-02-30', created), { error: 'parsing time "2024-02-30": day out of range' });
  assert.deepEqual(ttlDeletionTime('2024-13-01', created), { error: 'parsing time "2024-13-01": month out of range' });
  assert.deepEqual(ttlDeletionTime('2024-01-01 10:00', created), { error: 'parsing time "2024-01-01 10:00": extra text: " 10:00"' });
  assert.equal(ttlLabelWarning({ 'cleanup.kyverno.io/ttl': '1h' }), undefined);
  assert.equal(ttlLabelWarning({ other: 'x' }), undefined);
  assert.equal(ttlLabelWarning({ 'cleanup.kyverno.io/ttl': 'soon' }), 'cleanup.kyverno.io/ttl label value cannot be parsed as any recognizable format (parsing time "soon" as "2006-01-02": cannot parse "soon" as "2006")');
});

const cluster: ClusterState = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] };
const cm = (name: string, labels: Record<string, string> = {}, namespace = 'default'): JsonObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, labels } });

test('cleanup policy: namespace, match, exclude, conditions on target', () => {
  const policy: JsonObject = {
    apiVersion: 'kyverno.io/v2',
    kind: 'ClusterCleanupPolicy',
    metadata: { name: 'p', creationTimestamp: '2024-01-01T00:00:00Z' },
    spec: {
      schedule: '*/5 * * * *',
      match: { any: [{ resources: { kinds: ['ConfigMap'], selector: { matchLabels: { purge: 'yes' } } } }] },
      exclude: { any: [{ resources: { names: ['keep-*'] } }] },
      context: [{ name: 'wanted', variable: { value: 'dev' } }],
      conditions: { all: [{ key: "{{ target.metadata.labels.env || '' }}", operator: 'Equals', value: '{{ wanted }}' }] },
    },
  };
  assert.deepEqual(cleanupPolicyKinds(policy), ['ConfigMap']);
  assert.deepEqual(cleanupPolicySelects(policy, cm('a', { purge: 'yes', env: 'dev' }), {}, cluster), { delete: true });
  assert.equal(cleanupPolicySelects(policy, cm('b', { purge: 'yes', env: 'prod' }), {}, cluster).reason, 'conditions did not pass');
  assert.equal(cleanupPolicySelects(policy, cm('keep-c', { purge: 'yes', env: 'dev' }), {}, cluster).reason, 'excluded');
  assert.equal(cleanupPolicySelects(policy, cm('d', { env: 'dev' }), {}, cluster).reason, 'not matched');
  const namespaced = { ...policy, kind: 'CleanupPolicy', metadata: { name: 'p', namespace: 'team' } };
  assert.equal(cleanupPolicySelects(namespaced, cm('a', { purge: 'yes', env: 'dev' }), {}, cluster).delete, false, 'outside its namespace');
  assert.equal(cleanupPolicySelects(namespaced, cm('a', { purge: 'yes', env: 'dev' }, 'team'), {}, cluster).delete, true);
  const broken = { ...policy, spec: { ...(policy.spec as JsonObject), conditions: { all: [{ key: '{{ target.metadata.nope.deeper }}', operator: 'Bogus', value: 1 }] } } };
  assert.ok(cleanupPolicySelects(broken, cm('a', { purge: 'yes' }), {}, cluster).error);
  // An exclude block with no any/all excludes everything (pkg/utils/match returns no error).
  const emptyExclude = { ...policy, spec: { ...(policy.spec as JsonObject), exclude: {}, conditions: undefined } };
  assert.equal(cleanupPolicySelects(emptyExclude, cm('a', { purge: 'yes' }), {}, cluster).reason, 'excluded');
});

test('schedule: next run after the last execution, else after creation', () => {
  const p = (status?: JsonObject): JsonObject => ({ kind: 'ClusterCleanupPolicy', metadata: { name: 'p', creationTimestamp: '2024-01-01T00:00:10Z' }, spec: { schedule: '*/1 * * * *' }, ...(status ? { status } : {}) });
  assert.deepEqual(policyExecutionTime(p()), { time: at('2024-01-01T00:01:00Z') });
  assert.deepEqual(policyExecutionTime(p({ lastExecutionTime: '2024-01-01T05:00:00Z' })), { time: at('2024-01-01T05:01:00Z') });
});

test('deleting policy: CEL conditions decide; outside a namespaced policy namespace nothing', () => {
  const policy: JsonObject = {
    apiVersion: 'policies.kyverno.io/v1',
    kind: 'DeletingPolicy',
    metadata: { name: 'd' },
    spec: {
      schedule: '*/1 * * * *',
      matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'], operations: ['*'] }] },
      conditions: [{ name: 'stale', expression: "has(object.metadata.labels) && 'stale' in object.metadata.labels" }],
    },
  };
  assert.deepEqual(deletingPolicySelects(policy, cm('a', { stale: 'x' }), cluster), { delete: true });
  assert.equal(deletingPolicySelects(policy, cm('b'), cluster).delete, false);
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', labels: { stale: 'x' } } };
  assert.equal(deletingPolicySelects(policy, pod, cluster).delete, false, 'not a selected resource');
  const ns = { ...policy, kind: 'NamespacedDeletingPolicy', metadata: { name: 'd', namespace: 'team' } };
  assert.equal(deletingPolicySelects(ns, cm('a', { stale: 'x' }), cluster).delete, false);
  assert.equal(deletingPolicySelects(ns, cm('a', { stale: 'x' }, 'team'), cluster).delete, true);
});

test('admission: cleanup and deleting policies Kyverno would reject', () => {
  const cleanup = (spec: JsonObject, kind = 'ClusterCleanupPolicy'): JsonObject => ({ apiVersion: 'kyverno.io/v2', kind, metadata: { name: 'p', namespace: kind === 'CleanupPolicy' ? 'team' : undefined }, spec });
  const match = { any: [{ resources: { kinds: ['ConfigMap'] } }] };
  assert.equal(checkCleanupPolicyForAdmission(cleanup({ schedule: '*/5 * * * *', match })).error, undefined);
  assert.equal(checkCleanupPolicyForAdmission(cleanup({ schedule: '0 0 * * 7', match })).error, 'spec.schedule: Invalid value: "0 0 * * 7": schedule spec in the cleanupPolicy is not in proper cron format');
  assert.equal(
    checkCleanupPolicyForAdmission(cleanup({ schedule: '@daily', match: { any: [{ resources: { kinds: ['ConfigMap'] }, subjects: [{ kind: 'User', name: 'x' }] }] } })).error,
    'spec.match.any[0].subjects: Forbidden: Usage of user info is forbidden',
  );
  assert.equal(
    checkCleanupPolicyForAdmission(cleanup({ schedule: '@daily', match: { any: [{ resources: { kinds: ['Namespace'], namespaces: ['a'] } }] } }, 'CleanupPolicy'), { isClusterScoped: (k) => k === 'Namespace' }).error,
    "[spec.match.any[0].namespaces: Forbidden: Filtering namespaces not allowed in namespaced policies, spec.match.any[0].kinds[0]: Forbidden: Cluster wide resource 'Namespace' not allowed in namespaced policy]",
  );
  assert.match(checkCleanupPolicyForAdmission(cleanup({ schedule: '@daily', match, exclude: match })).error!, /CleanupPolicy is matching an empty set$/);
  assert.match(checkCleanupPolicyForAdmission(cleanup({ schedule: '@daily', match, context: [{ name: 'c', configMap: { name: 'x', namespace: 'y' } }] })).error!, /ConfigMap is not allowed in CleanUp Policy$/);
  const deleting = (spec: JsonObject): JsonObject => ({ apiVersion: 'policies.kyverno.io/v1', kind: 'DeletingPolicy', metadata: { name: 'd' }, spec });
  const rules = { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'] }] };
  assert.equal(checkDeletingPolicyForAdmission(deleting({ schedule: '0 0 * * 7', matchConstraints: rules })).error, undefined, 'cronexpr reads 7 as Sunday');
  assert.equal(
    checkDeletingPolicyForAdmission(deleting({ schedule: '@every 1h', matchConstraints: {} })).error,
    '[spec.matchConstraints: Required value: a matchConstraints with at least one resource rule is required, spec.schedule: Invalid value: "@every 1h": schedule spec in the deletingPolicy is not in proper cron format: missing field(s)]',
  );
});
