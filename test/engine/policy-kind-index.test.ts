// The kind index (engine/evaluate/candidates.ts): which policies can select a kind, and an
// evaluation through it answers as the evaluation of every policy does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PolicyKindIndex, evaluateResource, offlineCluster, type ResourceEvaluation } from '../../engine/evaluate';
import type { JsonObject } from '../../engine/core/types';

const classic = (name: string, kinds: unknown, extra: JsonObject = {}, annotations?: Record<string, string>): JsonObject => ({
  apiVersion: 'kyverno.io/v1',
  kind: 'ClusterPolicy',
  metadata: { name, ...(annotations ? { annotations } : {}) },
  spec: { rules: [{ name: 'r', match: { any: [{ resources: { kinds } }] }, validate: { failureAction: 'Enforce', message: `${name} failed`, pattern: { metadata: { labels: { team: '?*' } } } }, ...extra }] },
});

const vpol = (name: string, resources: unknown, spec: JsonObject = {}): JsonObject => ({
  apiVersion: 'policies.kyverno.io/v1alpha1',
  kind: 'ValidatingPolicy',
  metadata: { name },
  spec: {
    matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources }] },
    validations: [{ expression: "has(object.metadata.labels) && 'team' in object.metadata.labels", message: `${name} failed` }],
    ...spec,
  },
});

const names = (index: PolicyKindIndex, group: string, kind: string) =>
  index.candidatesForRequest({ group, kind }, undefined).map((p) => String((p.metadata as JsonObject).name));

test('classic policies are indexed by the kind part of their kind selectors', () => {
  const index = new PolicyKindIndex([
    classic('cm', ['ConfigMap']),
    classic('gvk', ['apps/v1/Deployment']),
    classic('versioned', ['v1/Secret']),
    classic('sub', ['Pod/exec']),
    classic('svc', ['Service']),
  ]);
  assert.deepEqual(names(index, '', 'ConfigMap'), ['cm']);
  assert.deepEqual(names(index, 'apps', 'Deployment'), ['gvk', 'sub'], 'a Pod rule reaches the controllers through autogen');
  assert.deepEqual(names(index, '', 'Secret'), ['versioned']);
  assert.deepEqual(names(index, '', 'Pod'), ['sub'], 'a subresource selector names its kind');
  assert.deepEqual(names(index, '', 'Namespace'), []);
});

test('classic policies whose reach cannot be read are candidates everywhere', () => {
  const always = [
    classic('wildcard', ['*']),
    classic('question', ['Config?ap']),
    classic('scalar', 'Pod'),
    classic('no-kinds', []),
    classic('not-a-string', [42]),
    { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'no-resources' }, spec: { rules: [{ name: 'r', match: { any: [{ subjects: [{ kind: 'User', name: 'a' }] }] }, validate: { deny: {} } }] } },
    { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'no-rules-list' }, spec: { rules: { name: 'r' } } },
    { apiVersion: 'kyverno.io/v2', kind: 'Unknown', metadata: { name: 'unknown-kind' }, spec: {} },
  ];
  const index = new PolicyKindIndex(always);
  assert.equal(names(index, '', 'Namespace').length, always.length);
});

test('autogen: Pod rules reach every pod controller and the kinds the annotation names', () => {
  const index = new PolicyKindIndex([classic('pods', ['Pod'], {}, { 'pod-policies.kyverno.io/autogen-controllers': 'Deployment,MyController' })]);
  for (const kind of ['Pod', 'Deployment', 'DaemonSet', 'StatefulSet', 'Job', 'CronJob', 'ReplicaSet', 'ReplicationController', 'MyController']) {
    assert.deepEqual(names(index, 'apps', kind), ['pods'], kind);
  }
  assert.deepEqual(names(index, '', 'Service'), []);
});

test('CEL policies are indexed by the resources of their rules (and the controllers autogen adds)', () => {
  const index = new PolicyKindIndex([
    vpol('pods', ['pods']),
    vpol('deployments', ['deployments']),
    vpol('scale', ['deployments/scale']),
    vpol('only-jobs', ['pods'], { autogen: { podControllers: { controllers: ['jobs'] } } }),
  ]);
  assert.deepEqual(names(index, '', 'Pod'), ['pods', 'only-jobs']);
  assert.deepEqual(names(index, 'apps', 'Deployment'), ['pods', 'deployments', 'scale']);
  assert.deepEqual(names(index, 'batch', 'Job'), ['pods', 'only-jobs']);
  assert.deepEqual(names(index, '', 'ConfigMap'), []);
});

test('CEL policies whose reach cannot be read are candidates everywhere', () => {
  const always = [
    vpol('star', ['*']),
    vpol('star-sub', ['*/scale']),
    vpol('json', ['pods'], { evaluation: { mode: 'JSON' } }),
    vpol('no-rules', ['pods'], { matchConstraints: {} }),
    { ...vpol('mutate-existing', ['pods'], { evaluation: { mutateExisting: { enabled: true } } }), kind: 'MutatingPolicy' },
    { apiVersion: 'admissionregistration.k8s.io/v1alpha1', kind: 'MutatingAdmissionPolicy', metadata: { name: 'map' }, spec: { matchConstraints: { resourceRules: [{ resources: ['pods'] }] } } },
  ];
  const index = new PolicyKindIndex(always);
  assert.equal(names(index, '', 'ConfigMap').length, always.length);
});

test('candidates keep the policies\' order; a request without a kind gets every policy', () => {
  const policies = [classic('a', ['Pod']), classic('b', ['ConfigMap']), classic('c', ['Pod'])];
  const index = new PolicyKindIndex(policies);
  assert.deepEqual(names(index, '', 'Pod'), ['a', 'c']);
  assert.equal(index.candidatesForRequest(undefined, { metadata: { name: 'x' } }).length, 3);
  assert.equal(index.candidatesForRequest({ group: '', kind: '' }, undefined).length, 3);
  // A subresource request: the requested kind and the object's own kind both count.
  assert.deepEqual(index.candidatesForRequest({ group: '', kind: 'ConfigMap' }, { apiVersion: 'v1', kind: 'Pod' }).map((p) => (p.metadata as JsonObject).name), ['a', 'b', 'c']);
});

function outcome(ev: ResourceEvaluation): unknown {
  return { patched: ev.patched, responses: ev.responses.filter((r) => r.rules.length || r.error).map((r) => ({ policy: r.policy.name, rules: r.rules.map((x) => [x.name, x.status, x.message]) })) };
}

test('an evaluation through the index answers as the evaluation of every policy, also when a mutation changes the kind', () => {
  const toConfigMap: JsonObject = {
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name: 'retype' },
    spec: { rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['Secret'] } }] }, mutate: { patchesJson6902: '- op: replace\n  path: /kind\n  value: ConfigMap\n' } }] },
  };
  const policies = [toConfigMap, classic('cm', ['ConfigMap']), classic('secret', ['Secret']), vpol('pods', ['pods']), classic('pods-classic', ['Pod'])];
  const index = new PolicyKindIndex(policies);
  const now = new Date('2026-01-01T00:00:00Z');
  for (const resource of [
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'default' } },
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'default' }, spec: { template: { metadata: {}, spec: { containers: [{ name: 'c', image: 'nginx' }] } } } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default', labels: { team: 'a' } } },
  ] as JsonObject[]) {
    const cluster = offlineCluster({ resources: [resource] });
    const all = evaluateResource({ policies, resources: [resource], cluster, now }, resource);
    const filtered = evaluateResource({ policies, resources: [resource], cluster, now, candidates: index }, resource);
    assert.deepEqual(outcome(filtered), outcome(all), String(resource.kind));
    assert.ok(filtered.responses.length <= all.responses.length);
  }
  // The Secret became a ConfigMap: the ConfigMap policy, no candidate for a Secret, still ran.
  const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'default' } };
  const ran = evaluateResource({ policies, resources: [secret], cluster: offlineCluster({ resources: [secret] }), now, candidates: index }, secret);
  assert.ok(ran.responses.some((r) => r.policy.name === 'cm' && r.rules.some((x) => x.status === 'fail')), JSON.stringify(ran.responses.map((r) => [r.policy.name, r.rules])));
});
