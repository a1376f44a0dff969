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

test('narrowed answers each route its own policies when routes and kinds alternate, as a fresh index does', () => {
  const withSpec = (p: JsonObject, spec: JsonObject): JsonObject => ({ ...p, spec: { ...(p.spec as JsonObject), ...spec } });
  const policies = [
    policy('pods', ['Pod']),
    withSpec(policy('pods-ignore', ['Pod']), { webhookConfiguration: { failurePolicy: 'Ignore' } }),
    withSpec(policy('pods-scan-only', ['Pod']), { admission: false }),
    policy('services', ['Service']),
    { ...policy('namespaced', ['Pod']), kind: 'Policy', metadata: { name: 'namespaced', namespace: 'apps' } },
  ];
  const index = new PolicyIndex(policies);
  const pod = index.candidatesForReview(request('', 'Pod', { apiVersion: 'v1', kind: 'Pod' }));
  const service = index.candidatesForReview(request('', 'Service', { apiVersion: 'v1', kind: 'Service' }));
  const routes = [
    {},
    { failurePolicy: 'Fail' as const },
    { failurePolicy: 'Ignore' as const },
    { scan: true },
    { scan: true, only: ['pods-scan-only', 'services'] },
    { kinds: ['Policy'] },
    { kinds: ['ClusterPolicy'], failurePolicy: 'Fail' as const },
  ];
  assert.deepEqual(names(index.narrowed(pod, routes[1])), ['pods', 'namespaced']);
  assert.deepEqual(names(index.narrowed(pod, routes[2])), ['pods-ignore']);
  assert.deepEqual(names(index.narrowed(pod, routes[3])), ['pods', 'pods-ignore', 'pods-scan-only', 'namespaced']);
  for (let round = 0; round < 3; round++) {
    for (const route of routes) {
      for (const candidates of [pod, service]) {
        const fresh = new PolicyIndex(policies);
        const freshCandidates = candidates === pod ? fresh.candidatesForReview(request('', 'Pod', { apiVersion: 'v1', kind: 'Pod' })) : fresh.candidatesForReview(request('', 'Service', { apiVersion: 'v1', kind: 'Service' }));
        assert.deepEqual(names(index.narrowed(candidates, route)), names(fresh.narrowed(freshCandidates, route)), JSON.stringify(route));
      }
    }
  }
  // A caller's list that changes after a call is read again, not matched to what it said before.
  const kinds = ['ClusterPolicy'];
  assert.deepEqual(names(index.narrowed(pod, { kinds })), ['pods', 'pods-ignore']);
  kinds.push('Policy');
  assert.deepEqual(names(index.narrowed(pod, { kinds })), ['pods', 'pods-ignore', 'namespaced']);
});
