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
  // Go's serialization of the rule: the match struct's `resources` is always there.
  const first = (s.autogen as { rules: Array<{ match: Record<string, unknown> }> }).rules[0];
  assert.deepEqual(first.match.resources, {});
  assert.ok(Array.isArray(first.match.any));
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

test('CEL policies: RBACPermissionsGranted names each missing reports permission, as Kyverno’s SubjectAccessReview check', () => {
  const now = '2026-01-01T00:00:00Z';
  const vpol = {
    apiVersion: 'policies.kyverno.io/v1beta1', kind: 'ValidatingPolicy', metadata: { name: 'v' },
    spec: { matchConstraints: { resourceRules: [
      { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] },
      { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['deployments'] },
    ] } },
  };
  const asked: string[] = [];
  const status = desiredPolicyStatus(vpol, now, (q) => (asked.push(`${q.verb} ${q.group}/${q.resource}`), q.resource === 'pods')) as { conditionStatus: { conditions: Array<Record<string, unknown>>; ready: boolean } };
  assert.deepEqual(asked, ['get /pods', 'list /pods', 'watch /pods', 'get /deployments', 'list /deployments', 'watch /deployments']);
  const rbac = status.conditionStatus.conditions.find((c) => c.type === 'RBACPermissionsGranted')!;
  assert.equal(rbac.status, 'False');
  assert.equal(rbac.reason, 'Failed');
  assert.equal(rbac.message, 'Policy is not ready for reporting, missing permissions: get /v1, Resource=deployments: ; list /v1, Resource=deployments: ; watch /v1, Resource=deployments: .');
  assert.equal(status.conditionStatus.ready, false);
  // Background off: nothing is asked and the condition holds.
  const asked2: string[] = [];
  const admissionOnly = desiredPolicyStatus({ ...vpol, spec: { ...vpol.spec, evaluation: { background: { enabled: false } } } }, now, (q) => (asked2.push(q.verb), false)) as typeof status;
  assert.deepEqual(asked2, []);
  assert.equal(admissionOnly.conditionStatus.conditions.find((c) => c.type === 'RBACPermissionsGranted')!.status, 'True');
});

test('validating policies record their autogen configs per replacement family, {} when they do not autogen', () => {
  const now = '2026-01-01T00:00:00Z';
  const vpol = {
    apiVersion: 'policies.kyverno.io/v1beta1', kind: 'ValidatingPolicy', metadata: { name: 'v' },
    spec: {
      autogen: { podControllers: { controllers: ['cronjobs', 'deployments', 'statefulsets'] } },
      matchConstraints: { namespaceSelector: { matchLabels: { team: 'a' } }, resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['pods'] }] },
      validations: [{ expression: "object.spec.containers.all(c, c.name != '') && object.metadata.namespace != 'x' && object.metadata.name != ''" }],
    },
  };
  const status = desiredPolicyStatus(vpol, now) as { autogen: { configs: Record<string, { targets: unknown[]; spec: Record<string, unknown> }> } };
  assert.deepEqual(Object.keys(status.autogen.configs), ['cronjobs', 'defaults']);
  assert.deepEqual(status.autogen.configs.defaults.targets, [
    { group: 'apps', version: 'v1', resource: 'deployments', kind: 'Deployment' },
    { group: 'apps', version: 'v1', resource: 'statefulsets', kind: 'StatefulSet' },
  ]);
  assert.deepEqual(status.autogen.configs.defaults.spec.matchConstraints, {
    resourceRules: [{ apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['deployments', 'statefulsets'] }],
    namespaceSelector: { matchLabels: { team: 'a' } },
  });
  // object.metadata.namespace is the request's: Kyverno's replacement leaves it alone.
  assert.deepEqual(status.autogen.configs.cronjobs.spec.validations, [
    { expression: "object.spec.jobTemplate.spec.template.spec.containers.all(c, c.name != '') && object.metadata.namespace != 'x' && object.spec.jobTemplate.spec.template.metadata.name != ''" },
  ]);
  const notPods = desiredPolicyStatus({ ...vpol, spec: { ...vpol.spec, matchConstraints: { resourceRules: [{ apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE'], resources: ['deployments'] }] } } }, now) as { autogen: unknown };
  assert.deepEqual(notPods.autogen, {});
  const none = desiredPolicyStatus({ ...vpol, spec: { ...vpol.spec, autogen: { podControllers: { controllers: [] } } } }, now) as { autogen: unknown };
  assert.deepEqual(none.autogen, {});
});
