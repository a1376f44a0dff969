import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerAccessReview, rbacAuthorize, type AccessAttributes } from './authorizer';
import { kyvernoAggregationSelectors, webhookRbac } from '../../deploy/rbac';
import { knownKindTable } from '../../engine/kube';
import type { JsonObject } from '../../engine/core/types';

const RBAC = 'rbac.authorization.k8s.io/v1';
const SA = 'system:serviceaccount:kyverno:bg';
const role = (kind: string, name: string, rules: JsonObject[], extra: JsonObject = {}): JsonObject => ({ apiVersion: RBAC, kind, metadata: { name, ...extra }, rules });
const binding = (kind: string, name: string, roleKind: string, roleName: string, subjects: JsonObject[], namespace?: string): JsonObject => ({
  apiVersion: RBAC, kind, metadata: { name, ...(namespace ? { namespace } : {}) }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: roleKind, name: roleName }, subjects,
});
const ask = (verb: string, resource: string, namespace = '', extra: Partial<NonNullable<AccessAttributes['resource']>> = {}, user = SA): AccessAttributes => ({
  user, groups: [], resource: { verb, group: '', resource, subresource: '', namespace, name: '', ...extra },
});
const saSubject = { kind: 'ServiceAccount', name: 'bg', namespace: 'kyverno' };

test('ClusterRoleBindings grant everywhere, RoleBindings only in their namespace (a Role or a ClusterRole)', () => {
  const objects = [
    role('ClusterRole', 'read', [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }]),
    binding('ClusterRoleBinding', 'read', 'ClusterRole', 'read', [saSubject]),
    { ...role('Role', 'write', [{ apiGroups: [''], resources: ['secrets'], verbs: ['*'] }]), metadata: { name: 'write', namespace: 'team' } },
    binding('RoleBinding', 'write', 'Role', 'write', [saSubject], 'team'),
    role('ClusterRole', 'sa-writer', [{ apiGroups: ['*'], resources: ['serviceaccounts'], verbs: ['create'] }]),
    binding('RoleBinding', 'sa', 'ClusterRole', 'sa-writer', [saSubject], 'team'),
  ];
  assert.equal(rbacAuthorize(objects, ask('get', 'configmaps', 'any')).allowed, true);
  assert.equal(rbacAuthorize(objects, ask('delete', 'configmaps', 'any')).allowed, false);
  assert.equal(rbacAuthorize(objects, ask('delete', 'secrets', 'team')).allowed, true);
  assert.equal(rbacAuthorize(objects, ask('delete', 'secrets', 'other')).allowed, false);
  assert.equal(rbacAuthorize(objects, ask('delete', 'secrets', '')).allowed, false, 'a RoleBinding grants nothing cluster-wide');
  assert.equal(rbacAuthorize(objects, ask('create', 'serviceaccounts', 'team')).allowed, true);
  assert.equal(rbacAuthorize(objects, ask('get', 'configmaps', 'any', {}, 'system:serviceaccount:other:bg')).allowed, false, 'another namespace\'s account');
});

test('resourceNames, subresources (with */sub), groups, users and non-resource URLs', () => {
  const objects = [
    role('ClusterRole', 'r', [
      { apiGroups: [''], resources: ['namespaces'], resourceNames: ['test-sar'], verbs: ['delete'] },
      { apiGroups: [''], resources: ['*/status'], verbs: ['update'] },
      { nonResourceURLs: ['/metrics', '/healthz/*'], verbs: ['get'] },
    ]),
    binding('ClusterRoleBinding', 'u', 'ClusterRole', 'r', [{ kind: 'User', name: 'alice' }, { kind: 'Group', name: 'ops' }]),
  ];
  assert.equal(rbacAuthorize(objects, ask('delete', 'namespaces', '', { name: 'test-sar' }, 'alice')).allowed, true);
  assert.equal(rbacAuthorize(objects, ask('delete', 'namespaces', '', { name: 'default' }, 'alice')).allowed, false);
  assert.equal(rbacAuthorize(objects, ask('delete', 'namespaces', '', {}, 'alice')).allowed, false, 'resourceNames never grant an unnamed request');
  assert.equal(rbacAuthorize(objects, ask('update', 'nodes', '', { subresource: 'status' }, 'alice')).allowed, true);
  assert.equal(rbacAuthorize(objects, ask('update', 'nodes', '', {}, 'alice')).allowed, false);
  assert.equal(rbacAuthorize(objects, { user: 'bob', groups: ['ops'], nonResource: { verb: 'get', path: '/healthz/ping' } }).allowed, true);
  assert.equal(rbacAuthorize(objects, { user: 'bob', groups: [], nonResource: { verb: 'get', path: '/metrics' } }).allowed, false);
});

test('an aggregated ClusterRole holds the rules of the ClusterRoles its selectors pick; a review gets status.allowed', () => {
  const aggregated: JsonObject = { apiVersion: RBAC, kind: 'ClusterRole', metadata: { name: 'agg' }, aggregationRule: { clusterRoleSelectors: [{ matchLabels: { 'app.kubernetes.io/component': 'background-controller' } }] } };
  const granted = role('ClusterRole', 'extra', [{ apiGroups: ['*'], resources: ['serviceaccounts'], verbs: ['create'] }], { labels: { 'app.kubernetes.io/component': 'background-controller' } });
  const objects = [aggregated, binding('ClusterRoleBinding', 'agg', 'ClusterRole', 'agg', [saSubject])];
  const review = { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: { user: SA, resourceAttributes: { verb: 'create', group: '', resource: 'serviceaccounts', namespace: 'default' } } };
  assert.equal((answerAccessReview(objects, review).status as JsonObject).allowed, false);
  assert.equal((answerAccessReview([...objects, granted], review).status as JsonObject).allowed, true);
});

test('our deploy aggregates what is granted to Kyverno\'s controllers by their chart labels into our service account', () => {
  const { objects } = webhookRbac('kyverno', [], knownKindTable());
  const user = 'system:serviceaccount:kyverno:kyverno-studio-webhook';
  const wanted = ask('create', 'serviceaccounts', 'default', {}, user);
  assert.equal(rbacAuthorize(objects as JsonObject[], wanted).allowed, false);
  const labels = { 'app.kubernetes.io/component': 'background-controller', 'app.kubernetes.io/instance': 'kyverno', 'app.kubernetes.io/part-of': 'kyverno' };
  const grant = role('ClusterRole', 'kyverno:background-controller:temp', [{ apiGroups: ['*'], resources: ['serviceaccounts'], verbs: ['create'] }], { labels });
  assert.equal(rbacAuthorize([...(objects as JsonObject[]), grant], wanted).allowed, true);
  assert.equal(kyvernoAggregationSelectors().length, 8);
  assert.equal(rbacAuthorize(objects as JsonObject[], ask('create', 'subjectaccessreviews', '', { group: 'authorization.k8s.io' }, user)).allowed, true, 'it may ask the API server');
});
