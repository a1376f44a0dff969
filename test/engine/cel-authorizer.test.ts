/** Classic validate.cel's `authorizer` answered as Kyverno's authorizer asks (one SubjectAccessReview through the caller). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyPolicy } from '../../engine/apply';
import type { ApiCallPost, ClusterState, JsonObject } from '../../engine/core/types';

const policy = (expression: string): JsonObject => ({
  apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'p' },
  spec: { rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['Pod'] } }] }, validate: { failureAction: 'Enforce', cel: { expressions: [{ expression, message: 'not allowed' }] } } }] },
});
const request = {
  operation: 'CREATE' as const, namespace: 'default', kind: { group: '', version: 'v1', kind: 'Pod' },
  object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'x' }] } },
  oldObject: null, requestInfo: { roles: [], clusterRoles: [], userInfo: { username: 'alice', groups: ['devs'] } },
};
const review = (user: string, attributes: JsonObject) => ({ apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: { resourceAttributes: attributes, user } });
const cluster = (posts: ApiCallPost[], misses?: ClusterState['apiCallPostMisses']): ClusterState => ({ resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [], apiCallPosts: posts, apiCallPostMisses: misses });
const SAR = '/apis/authorization.k8s.io/v1/subjectaccessreviews';

test('validate.cel: authorizer.serviceAccount(...).check() asks one SubjectAccessReview about the admitted kind, then reads its answer', () => {
  const p = policy("authorizer.serviceAccount('default', 'sa').group('apps').resource('deployments').namespace('team').check('delete').allowed()");
  const misses: NonNullable<ClusterState['apiCallPostMisses']> = [];
  const first = applyPolicy(p, { request, cluster: cluster([], misses) });
  // Kyverno's authorizer asks about the admitted object's resource, whatever group and resource the check names.
  const body = review('system:serviceaccount:default:sa', { namespace: 'team', verb: 'delete', version: 'v1', resource: 'pods' });
  assert.deepEqual(misses, [{ urlPath: SAR, body }]);
  assert.equal(first.rules[0].status, 'fail');
  const allowed = applyPolicy(p, { request, cluster: cluster([{ urlPath: SAR, body, answer: { body: { status: { allowed: true } } } }]) });
  assert.equal(allowed.rules[0].status, 'pass');
  const denied = applyPolicy(p, { request, cluster: cluster([{ urlPath: SAR, body, answer: { body: { status: { allowed: false } } } }]) });
  assert.equal(denied.rules[0].status, 'fail');
  assert.equal(denied.rules[0].message, 'not allowed');
});

test('validate.cel: the requesting user\'s authorizer, reason and a refused review as the decision\'s error', () => {
  const p = policy("authorizer.group('').resource('pods').subresource('exec').check('create').reason() == 'rbac says yes'");
  const body = review('alice', { verb: 'create', version: 'v1', resource: 'pods', subresource: 'exec' });
  assert.equal(applyPolicy(p, { request, cluster: cluster([{ urlPath: SAR, body, answer: { body: { status: { allowed: true, reason: 'rbac says yes' } } } }]) }).rules[0].status, 'pass');
  const errored = policy("authorizer.path('/healthz').check('get').errored() && authorizer.path('/healthz').check('get').error() == 'forbidden'");
  const pathBody = review('alice', { verb: 'get', version: 'v1', resource: 'pods' });
  assert.equal(applyPolicy(errored, { request, cluster: cluster([{ urlPath: SAR, body: pathBody, answer: { error: 'forbidden' } }]) }).rules[0].status, 'pass');
});
