/**
 * The runner's cleanup controller and scenario time: `sleep` and assert/error timeouts advance
 * the scenario's clock, on which Kyverno's cleanup controller runs (cron schedules, the ttl
 * label); cleanup policies go through the policy admission check.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runScenario, Scenario } from './runner';
import { VirtualClock } from './clock';
import { timeoutMs } from './timeouts';
import type { KyvernoInstall } from './install';

const pod = (name: string, labels: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels }, spec: { containers: [{ name: 'c', image: 'nginx' }] } });
const podRef = (name: string) => ({ apiVersion: 'v1', kind: 'Pod', name, namespace: 'default' });
/**
 * A chart whose cleanup controller role holds only what the values' `extraResources` add, in
 * the shape of Kyverno's chart (chart-rbac.ts renders it): an aggregated ClusterRole bound to
 * the controller's service account, and the extra rules in a role its selector picks.
 */
function fixtureChart(): string {
  const chart = mkdtempSync(join(tmpdir(), 'chainsaw-chart-'));
  const folder = join(chart, 'templates', 'cleanup-controller');
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'serviceaccount.yaml'), [
    'apiVersion: v1', 'kind: ServiceAccount', 'metadata:', '  name: {{ template "kyverno.cleanup-controller.serviceAccountName" . }}', '  namespace: {{ template "kyverno.namespace" . }}', '',
  ].join('\n'));
  writeFileSync(join(folder, 'clusterrole.yaml'), [
    'apiVersion: rbac.authorization.k8s.io/v1', 'kind: ClusterRole', 'metadata:', '  name: {{ template "kyverno.cleanup-controller.roleName" . }}',
    'aggregationRule:', '  clusterRoleSelectors:', '    - matchLabels:', '        {{- include "kyverno.cleanup-controller.matchLabels" . | nindent 8 }}',
    '{{- with .Values.cleanupController.rbac.clusterRole.extraResources }}', '---', 'apiVersion: rbac.authorization.k8s.io/v1', 'kind: ClusterRole', 'metadata:',
    '  name: {{ template "kyverno.cleanup-controller.roleName" $ }}:additional', '  labels:', '    {{- include "kyverno.cleanup-controller.labels" $ | nindent 4 }}', 'rules:', '  {{- toYaml . | nindent 2 }}', '{{- end }}', '',
  ].join('\n'));
  writeFileSync(join(folder, 'clusterrolebinding.yaml'), [
    'apiVersion: rbac.authorization.k8s.io/v1', 'kind: ClusterRoleBinding', 'metadata:', '  name: {{ template "kyverno.cleanup-controller.roleName" . }}',
    'roleRef:', '  apiGroup: rbac.authorization.k8s.io', '  kind: ClusterRole', '  name: {{ template "kyverno.cleanup-controller.roleName" . }}',
    'subjects:', '  - kind: ServiceAccount', '    name: {{ template "kyverno.cleanup-controller.serviceAccountName" . }}', '    namespace: {{ template "kyverno.namespace" . }}', '',
  ].join('\n'));
  return chart;
}
const CHART = fixtureChart();
/** An install whose cleanup controller may list, delete and watch Pods (Kyverno's CI `ttl` config). */
const TTL_INSTALL: KyvernoInstall = {
  testsPath: 'ttl',
  configs: ['standard', 'ttl'],
  values: { cleanupController: { rbac: { clusterRole: { extraResources: [{ apiGroups: [''], resources: ['pods'], verbs: ['list', 'delete', 'watch'] }] } } }, features: { ttlController: { reconciliationInterval: '1m' } } },
  quarantined: [],
  chart: CHART,
};
/** The same chart without the extra rules: the cleanup controller may do nothing with Pods. */
const NO_POD_INSTALL: KyvernoInstall = { testsPath: '', configs: ['standard'], values: {}, quarantined: [], chart: CHART };

test('the virtual clock fires timers in time order, those set by a fired timer included, and stands still otherwise', async () => {
  const fired: string[] = [];
  const clock = new VirtualClock(1_000, async () => undefined);
  clock.after(500, () => {
    fired.push(`a@${clock.now()}`);
    clock.after(100, () => fired.push(`c@${clock.now()}`));
  });
  const cancel = clock.after(550, () => fired.push('cancelled'));
  clock.after(700, () => fired.push(`b@${clock.now()}`));
  cancel();
  assert.equal(clock.nextDue(), 1_500);
  await clock.advance(650);
  assert.deepEqual(fired, ['a@1501', 'c@1602']);
  assert.equal(clock.now(), 1_650);
  await clock.advance(100);
  assert.deepEqual(fired, ['a@1501', 'c@1602', 'b@1701']);
  assert.equal(clock.nextDue(), undefined);
});

test('chainsaw timeouts: the operation\'s own, else those in force, else chainsaw\'s default', () => {
  assert.equal(timeoutMs('error', '5s', { error: '1m30s' }), 5_000);
  assert.equal(timeoutMs('error', undefined, { error: '1m30s' }), 90_000);
  assert.equal(timeoutMs('assert', undefined, {}), 30_000);
});

test('a cleanup policy deletes what it selects once its schedule comes on the scenario\'s clock', async () => {
  const scenario = new Scenario(tmpdir());
  try {
    assert.equal(await scenario.write('apply', pod('example')), undefined);
    assert.equal(await scenario.write('apply', pod('other')), undefined);
    const policy = {
      apiVersion: 'kyverno.io/v2',
      kind: 'ClusterCleanupPolicy',
      metadata: { name: 'cleanup-example' },
      spec: { schedule: '*/1 * * * *', match: { any: [{ resources: { kinds: ['Pod'] } }] }, conditions: { all: [{ key: '{{ target.metadata.name }}', operator: 'Equals', value: 'example' }] } },
    };
    assert.equal(await scenario.write('apply', policy), undefined);
    assert.ok(scenario.store.get(podRef('example')), 'no run before the schedule');
    await scenario.clock.advance(65_000);
    assert.equal(scenario.store.get(podRef('example')), undefined);
    assert.ok(scenario.store.get(podRef('other')));
    const stored = scenario.store.get({ apiVersion: 'kyverno.io/v2', kind: 'ClusterCleanupPolicy', name: 'cleanup-example' });
    assert.match(String((stored?.status as { lastExecutionTime?: string })?.lastExecutionTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:00Z$/, 'the run is recorded at the minute');
  } finally {
    await scenario.close();
  }
});

test('a cleanup policy Kyverno refuses is refused with its message (the policy webhook serves cleanup policies)', async () => {
  const scenario = new Scenario(tmpdir());
  try {
    const error = await scenario.write('apply', { apiVersion: 'kyverno.io/v2', kind: 'CleanupPolicy', metadata: { name: 'p', namespace: 'default' }, spec: { schedule: 'invalid-schedule', match: { any: [{ resources: { kinds: ['Pod'] } }] } } });
    assert.match(error ?? '', /spec\.schedule: Invalid value: "invalid-schedule": schedule spec in the cleanupPolicy is not in proper cron format/);
    const withRoles = await scenario.write('apply', { apiVersion: 'kyverno.io/v2', kind: 'ClusterCleanupPolicy', metadata: { name: 'q' }, spec: { schedule: '* * * * *', match: { any: [{ resources: { kinds: ['Pod'] }, roles: ['admin'] }] } } });
    assert.match(withRoles ?? '', /spec\.match\.any\[0\]\.roles: Forbidden: Usage of user info is forbidden/);
  } finally {
    await scenario.close();
  }
});

test('the ttl label: deleted once its time has passed where the install lets the cleanup controller watch the kind, kept where it does not', async () => {
  const withWatch = new Scenario(tmpdir(), 'chainsaw-offline', TTL_INSTALL);
  const standard = new Scenario(tmpdir(), 'chainsaw-offline', NO_POD_INSTALL);
  try {
    for (const s of [withWatch, standard]) assert.equal(await s.write('apply', pod('short-lived', { 'cleanup.kyverno.io/ttl': '10s' })), undefined);
    await withWatch.clock.advance(5_000);
    assert.ok(withWatch.store.get(podRef('short-lived')));
    await withWatch.clock.advance(10_000);
    assert.equal(withWatch.store.get(podRef('short-lived')), undefined);
    await standard.clock.advance(15_000);
    assert.ok(standard.store.get(podRef('short-lived')), 'an install that grants no watch on Pods');
  } finally {
    await withWatch.close();
    await standard.close();
  }
});

test('an error step waits up to its timeout for the ttl deletion', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'chainsaw-ttl-'));
  writeFileSync(join(dir, 'pod.yaml'), JSON.stringify(pod('test-pod', { 'cleanup.kyverno.io/ttl': '10s' })));
  writeFileSync(join(dir, 'pod-assert.yaml'), JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'test-pod', namespace: 'default' } }));
  const steps = (error: Record<string, unknown>) => ({
    apiVersion: 'chainsaw.kyverno.io/v1alpha1',
    kind: 'Test',
    metadata: { name: 'ttl' },
    spec: { steps: [{ try: [{ apply: { file: 'pod.yaml' } }, { assert: { file: 'pod-assert.yaml' } }] }, { try: [{ error: error }] }] },
  });
  const run = async (test: unknown, install?: KyvernoInstall) => {
    writeFileSync(join(dir, 'chainsaw-test.yaml'), JSON.stringify(test));
    if (!install) return runScenario(join(dir, 'chainsaw-test.yaml'), 'ttl');
    const scenario = new Scenario(dir, 'chainsaw-offline', install);
    try {
      await scenario.run(test as never);
      return { status: 'passed' };
    } catch (e) {
      return { status: 'failed', reason: (e as Error).message };
    } finally {
      await scenario.close();
    }
  };
  assert.deepEqual(await run(steps({ file: 'pod-assert.yaml' }), TTL_INSTALL), { status: 'passed' });
  const tooShort = await run(steps({ file: 'pod-assert.yaml', timeout: '5s' }), TTL_INSTALL);
  assert.equal(tooShort.status, 'failed');
  assert.match(String(tooShort.reason), /Pod "test-pod" exists and matches/);
});

test('the cleanup controller deletes as Kyverno\'s cleanup service account: a delete its RBAC refuses is not done, and is Kyverno\'s PolicyError event', async () => {
  const listOnly: KyvernoInstall = { ...NO_POD_INSTALL, values: { cleanupController: { rbac: { clusterRole: { extraResources: [{ apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch'] }] } } } } };
  for (const [install, kept] of [[listOnly, true], [TTL_INSTALL, false]] as const) {
    const scenario = new Scenario(tmpdir(), 'chainsaw-offline', install);
    try {
      assert.equal(await scenario.write('apply', pod('doomed')), undefined);
      const policy = {
        apiVersion: 'policies.kyverno.io/v1beta1',
        kind: 'DeletingPolicy',
        metadata: { name: 'delete-doomed' },
        spec: { matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }] }, conditions: [{ name: 'n', expression: 'object.metadata.name == "doomed"' }], schedule: '*/1 * * * *' },
      };
      assert.equal(await scenario.write('apply', policy), undefined);
      await scenario.clock.advance(65_000);
      await scenario.controllersCatchUp();
      assert.equal(scenario.store.get(podRef('doomed')) !== undefined, kept);
      const notes = [...scenario.store.list('v1', 'Event'), ...scenario.store.list('events.k8s.io/v1', 'Event')].map((e) => String(e.note ?? e.message));
      if (kept) {
        assert.ok(
          notes.some((n) => n.includes('failed to delete the target resource Pod/default/doomed') && n.includes('pods "doomed" is forbidden: User "system:serviceaccount:kyverno:kyverno-cleanup-controller" cannot delete resource "pods" in API group "" in the namespace "default"')),
          JSON.stringify(notes),
        );
      } else {
        assert.ok(!notes.some((n) => n.includes('failed to delete')), JSON.stringify(notes));
      }
    } finally {
      await scenario.close();
    }
  }
});
