import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluatePolicyValidation } from '../../webhook/evaluate';
import { CleanupMetrics, cleanupClock } from '../../webhook/cleanup';
import { policyGrants } from '../../webhook/policy-grants';
import { knownKindTable } from '../../engine/kube';
import { webhookConfigurations } from '../../webhook/configurations';

const review = (object: Record<string, unknown>) => JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u1', operation: 'CREATE', object } });
const answer = (body: string) => JSON.parse(evaluatePolicyValidation(body).body).response;

test('/policyvalidate rejects cleanup and deleting policies Kyverno rejects, with its messages', () => {
  const cleanup = { apiVersion: 'kyverno.io/v2', kind: 'ClusterCleanupPolicy', metadata: { name: 'c' }, spec: { schedule: '61 * * * *', match: { any: [{ resources: { kinds: ['ConfigMap'] } }] } } };
  const denied = answer(review(cleanup));
  assert.equal(denied.allowed, false);
  assert.equal(denied.status.message, 'spec.schedule: Invalid value: "61 * * * *": schedule spec in the cleanupPolicy is not in proper cron format');
  assert.equal(answer(review({ ...cleanup, spec: { ...cleanup.spec, schedule: '*/5 * * * *' } })).allowed, true);
  // A namespaced CleanupPolicy may not select cluster-wide kinds.
  const namespaced = { ...cleanup, kind: 'CleanupPolicy', metadata: { name: 'c', namespace: 'team' }, spec: { schedule: '@hourly', match: { any: [{ resources: { kinds: ['Namespace'] } }] } } };
  assert.equal(answer(review(namespaced)).status.message, "spec.match.any[0].kinds[0]: Forbidden: Cluster wide resource 'Namespace' not allowed in namespaced policy");
  const deleting = { apiVersion: 'policies.kyverno.io/v1', kind: 'DeletingPolicy', metadata: { name: 'd' }, spec: { schedule: 'every minute', matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }] } } };
  const d = answer(review(deleting));
  assert.equal(d.allowed, false);
  assert.equal(d.status.message, 'spec.schedule: Invalid value: "every minute": schedule spec in the deletingPolicy is not in proper cron format: missing field(s)');
  assert.deepEqual(d.warnings, [d.status.message]);
});

test('the policy validating webhook covers cleanup and deleting policies', () => {
  const configs = webhookConfigurations({ namespace: 'ks', caPem: '', needs: [], keepEmpty: false });
  const policyConfig = configs.find((c) => (c.metadata as { name: string }).name === 'kyverno-policy-validating-webhook-cfg')!;
  const resources = ((policyConfig.webhooks as Array<{ rules: Array<{ resources: string[] }> }>)[0].rules).flatMap((r) => r.resources);
  for (const r of ['clustercleanuppolicies', 'cleanuppolicies', 'deletingpolicies', 'namespaceddeletingpolicies', 'mutatingpolicies', 'namespacedmutatingpolicies', 'validatingpolicies', 'namespacedvalidatingpolicies', 'imagevalidatingpolicies', 'namespacedimagevalidatingpolicies', 'generatingpolicies', 'namespacedgeneratingpolicies']) assert.ok(resources.includes(r), r);
});

test('RBAC: list, watch and delete for what cleanup and deleting policies select; a CleanupPolicy gets a Role', () => {
  const kinds = knownKindTable();
  const ccp = { apiVersion: 'kyverno.io/v2', kind: 'ClusterCleanupPolicy', metadata: { name: 'c' }, spec: { schedule: '@daily', match: { any: [{ resources: { kinds: ['ConfigMap', 'apps/v1/Deployment'] } }] } } };
  assert.deepEqual(policyGrants(ccp, kinds).grants.map((g) => [g.group, g.resource, g.verbs.join(','), g.namespace]), [
    ['', 'configmaps', 'list,watch,delete', undefined],
    ['apps', 'deployments', 'list,watch,delete', undefined],
  ]);
  const cp = { apiVersion: 'kyverno.io/v2', kind: 'CleanupPolicy', metadata: { name: 'c', namespace: 'team' }, spec: { schedule: '@daily', match: { any: [{ resources: { kinds: ['Pod'] } }] } } };
  assert.deepEqual(policyGrants(cp, kinds).grants.map((g) => [g.group, g.resource, g.namespace]), [['', 'pods', 'team']]);
  const dp = { apiVersion: 'policies.kyverno.io/v1', kind: 'DeletingPolicy', metadata: { name: 'd' }, spec: { schedule: '@daily', matchConstraints: { resourceRules: [{ apiGroups: ['batch'], apiVersions: ['v1'], resources: ['jobs'] }] } } };
  assert.ok(policyGrants(dp, kinds).grants.some((g) => g.group === 'batch' && g.resource === 'jobs' && g.verbs.includes('delete')));
});

test("cleanup metrics carry Kyverno's names and labels", () => {
  const m = new CleanupMetrics();
  m.add('kyverno_cleanup_controller_deletedobjects_total', [['policy_type', 'ClusterCleanupPolicy'], ['policy_namespace', ''], ['policy_name', 'p'], ['resource_kind', 'ConfigMap'], ['resource_namespace', 'default'], ['deletion_propagation', undefined]]);
  m.add('kyverno_cleanup_controller_deletedobjects_total', [['policy_type', 'ClusterCleanupPolicy'], ['policy_namespace', ''], ['policy_name', 'p'], ['resource_kind', 'ConfigMap'], ['resource_namespace', 'default'], ['deletion_propagation', undefined]]);
  const text = m.render();
  assert.match(text, /^kyverno_cleanup_controller_deletedobjects_total\{policy_type="ClusterCleanupPolicy",policy_name="p",resource_kind="ConfigMap",resource_namespace="default"\} 2$/m);
  assert.match(text, /^# TYPE kyverno_ttl_controller_deletedobjects_total counter$/m);
  assert.equal(m.value('kyverno_cleanup_controller_deletedobjects_total'), 2);
});

test('the test clock speeds the schedules up from the start, the real clock otherwise', () => {
  const real = cleanupClock(1);
  assert.ok(Math.abs(real.now() - Date.now()) < 5);
  assert.equal(real.realDelay(60_000), 60_000);
  const fast = cleanupClock(10);
  assert.equal(fast.realDelay(60_000), 6000);
});

test('/verifyttl admits every object and warns on a ttl label Kyverno cannot read', async () => {
  const { evaluateTtlLabel } = await import('../../webhook/evaluate');
  const ttl = (value: string) => JSON.parse(evaluateTtlLabel(review({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', labels: { 'cleanup.kyverno.io/ttl': value } } })).body).response;
  assert.deepEqual(ttl('2d'), { uid: 'u1', allowed: true });
  assert.deepEqual(ttl('2024-01-02T150405Z'), { uid: 'u1', allowed: true });
  const bad = ttl('tomorrow');
  assert.equal(bad.allowed, true);
  assert.deepEqual(bad.warnings, ['cleanup.kyverno.io/ttl label value cannot be parsed as any recognizable format (parsing time "tomorrow" as "2006-01-02": cannot parse "tomorrow" as "2006")']);
  const configs = webhookConfigurations({ namespace: 'ks', caPem: '', needs: [], keepEmpty: false });
  const ttlConfig = configs.find((c) => (c.metadata as { name: string }).name === 'kyverno-ttl-validating-webhook-cfg')!;
  const hook = (ttlConfig.webhooks as Array<Record<string, unknown>>)[0];
  assert.equal(hook.failurePolicy, 'Ignore');
  assert.deepEqual(hook.objectSelector, { matchExpressions: [{ key: 'cleanup.kyverno.io/ttl', operator: 'Exists' }] });
});

test('/policyvalidate rejects a MutatingPolicy with neither admission nor mutateExisting evaluation, or without resource rules (mpol Validate)', () => {
  const rules = { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['configmaps'] }] };
  const mpol = (spec: Record<string, unknown>) => ({ apiVersion: 'policies.kyverno.io/v1beta1', kind: 'MutatingPolicy', metadata: { name: 'm' }, spec });
  const off = answer(review(mpol({ matchConstraints: rules, evaluation: { admission: { enabled: false } } })));
  assert.equal(off.allowed, false);
  assert.equal(off.status.message, 'spec.evaluation: Forbidden: disabling both admission and mutateExisting evaluation modes is not allowed');
  assert.equal(answer(review(mpol({ matchConstraints: rules, evaluation: { admission: { enabled: false }, mutateExisting: { enabled: true } } }))).allowed, true);
  assert.equal(answer(review(mpol({ matchConstraints: rules }))).allowed, true);
  assert.equal(answer(review(mpol({}))).status.message, 'spec.matchConstraints: Required value: a matchConstraints with at least one resource rule is required');
});

test('/policyvalidate also serves Kyverno\'s global context webhook: an invalid GlobalContextEntry is refused, its configuration covers globalcontextentries', () => {
  const entry = { apiVersion: 'kyverno.io/v2alpha1', kind: 'GlobalContextEntry', metadata: { name: 'e' }, spec: { apiCall: { urlPath: '/api/v1/pods', data: [{ key: 'a', value: 'b' }] } } };
  const denied = answer(review(entry));
  assert.equal(denied.allowed, false);
  assert.equal(denied.status.message, 'spec.apiCall.method: Forbidden: An External API call with data should have method as POST');
  assert.equal(answer(review({ ...entry, spec: { apiCall: { urlPath: '/api/v1/pods', method: 'POST', data: [] } } })).allowed, true);
  const configs = webhookConfigurations({ namespace: 'kyverno', caPem: '', needs: [], keepEmpty: true }) as Array<{ webhooks?: Array<{ clientConfig: { service?: { path?: string } }; rules: Array<{ resources: string[]; apiGroups: string[] }> }> }>;
  const policyHook = configs.flatMap((c) => c.webhooks ?? []).find((w) => w.clientConfig.service?.path === '/policyvalidate');
  assert.ok(policyHook?.rules.some((r) => r.apiGroups.includes('kyverno.io') && r.resources.includes('globalcontextentries')), JSON.stringify(policyHook?.rules));
});
