import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PolicyIndex } from '../../webhook/prefilter';
import type { JsonObject } from '../../engine/core/types';

const policy = (name: string, kinds: string[]): JsonObject => ({
  apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name },
  spec: { rules: [{ name: 'r', match: { any: [{ resources: { kinds } }] }, validate: { pattern: { metadata: { name: '?*' } } } }] },
});

const names = (list: readonly JsonObject[]) => list.map((p) => (p.metadata as JsonObject).name);

const request = (group: unknown, kind: unknown, object?: JsonObject): JsonObject => ({ kind: { group, version: 'v1', kind }, ...(object ? { object } : {}) });

test('candidatesForReview answers each review by its own kinds when reviews of several kinds alternate', () => {
  const policies = [policy('pods', ['Pod']), policy('services', ['Service']), policy('deployments', ['apps/v1/Deployment']), policy('any', ['*'])];
  const index = new PolicyIndex(policies);
  const pod = request('', 'Pod', { apiVersion: 'v1', kind: 'Pod' });
  const service = request('', 'Service', { apiVersion: 'v1', kind: 'Service' });
  assert.deepEqual(names(index.candidatesForReview(pod)), ['pods', 'any']);
  assert.deepEqual(names(index.candidatesForReview(service)), ['services', 'any']);
  const sequence = [
    pod, pod, service, pod,
    request('apps', 'Deployment', { apiVersion: 'apps/v1', kind: 'Deployment' }),
    // The same request kind with another object kind (the engine also matches the object's own kind).
    request('', 'Pod', { apiVersion: 'v1', kind: 'Service' }),
    request('', 'Pod', { apiVersion: 'apps/v1', kind: 'Deployment' }),
    request('', 'Pod', { apiVersion: 'v1', kind: 'Pod' }),
    // Only the group differs; then no object; then no string kind (every policy runs).
    request('apps', 'Pod', { apiVersion: 'v1', kind: 'Pod' }),
    request('', 'Pod'),
    request('', 7, { apiVersion: 'v1', kind: 'Pod' }),
    request(3, 'Pod', { apiVersion: 'v1', kind: 'Pod' }),
    pod,
  ];
  for (const r of sequence) assert.deepEqual(names(index.candidatesForReview(r)), names(new PolicyIndex(policies).candidatesForReview(r)), JSON.stringify(r));
  assert.deepEqual(names(index.candidatesForReview(request('', 7))), ['pods', 'services', 'deployments', 'any']);
});

test('a subresource request is matched as the resource it belongs to (Kyverno\'s withTopLevelGVK); its old object as its own kind', async () => {
  const { evaluateReview } = await import('../../webhook/evaluate');
  const deny = (name: string, kinds: string[]): JsonObject => ({
    apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name, annotations: { 'pod-policies.kyverno.io/autogen-controllers': 'none' } },
    spec: { background: false, rules: [{ name: 'r', match: { any: [{ resources: { kinds } }] }, validate: { failureAction: 'Enforce', deny: {} } }] },
  });
  const scale = (replicas: number) => ({ apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'web', namespace: 'default' }, spec: { replicas }, status: { replicas: 1 } });
  const review = (resource: string) => JSON.stringify({
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: { uid: 'u', kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' }, resource: { group: 'apps', version: 'v1', resource }, subResource: 'scale', name: 'web', namespace: 'default', operation: 'UPDATE', userInfo: { username: 'admin' }, object: scale(2), oldObject: scale(1) },
  });
  const index = new PolicyIndex([deny('sts', ['StatefulSet/scale']), deny('deploy', ['Deployment/scale'])]);
  assert.deepEqual(names(index.candidatesForReview(JSON.parse(review('statefulsets')).request as JsonObject)), ['sts']);
  const cluster = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [], apiCallsAllowed: true };
  // The old Scale also violates `deny: {}`, but Kyverno matches it as a Scale, not a StatefulSet: no pre-existing violation to allow.
  const reply = evaluateReview({ path: 'validate', body: review('statefulsets') }, index, cluster);
  assert.equal(reply.allowed, false);
  assert.deepEqual(reply.outcomes.map((o) => [o.policy, o.status]), [['sts', 'fail']]);
  assert.equal(evaluateReview({ path: 'validate', body: review('replicasets') }, index, cluster).allowed, true);
});
