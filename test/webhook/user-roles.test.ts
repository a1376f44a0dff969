/**
 * The requesting user's roles from RoleBindings and ClusterRoleBindings, as Kyverno's
 * pkg/userinfo computes them, and their use at admission (match/exclude clusterRoles).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { policiesReadRoles, roleBindingIndexOf, rolesOfUser } from '../../webhook/user-roles';
import { evaluateReview } from '../../webhook/evaluate';
import { PolicyIndex } from '../../webhook/prefilter';
import { policyGrants } from '../../webhook/policy-grants';
import { knownKindTable } from '../../engine/kube';
import type { ClusterState, JsonObject } from '../../engine/core/types';

const rb = (namespace: string, roleKind: string, role: string, subjects: JsonObject[]): JsonObject =>
  ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: `${role}-b`, namespace }, roleRef: { kind: roleKind, name: role }, subjects });
const crb = (role: string, subjects: JsonObject[]): JsonObject =>
  ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: `${role}-b` }, roleRef: { kind: 'ClusterRole', name: role }, subjects });

const BINDINGS = roleBindingIndexOf([
  // A service account without a namespace is the binding's own.
  rb('ns-1', 'Role', 'role-1', [{ kind: 'ServiceAccount', name: 'sa' }]),
  rb('ns-2', 'Role', 'role-2', [{ kind: 'ServiceAccount', name: 'sa', namespace: 'ns-1' }]),
  rb('ns-3', 'Role', 'role-3', [{ kind: 'ServiceAccount', name: 'sa' }]),
  // A ClusterRole bound in a namespace counts only for requests in that namespace.
  rb('ns-1', 'ClusterRole', 'edit', [{ kind: 'Group', name: 'devs' }]),
  crb('view', [{ kind: 'User', name: 'alice' }, { kind: 'Group', name: 'devs' }]),
  crb('admin', [{ kind: 'ServiceAccount', name: 'sa', namespace: 'ns-1' }]),
  // A ClusterRoleBinding's service account without a namespace matches nobody.
  crb('nobody', [{ kind: 'ServiceAccount', name: 'sa' }]),
]);

test('roles and clusterRoles of a user, as GetRoleRef gives them', () => {
  assert.deepEqual(rolesOfUser(BINDINGS, 'system:serviceaccount:ns-1:sa', [], 'ns-1'), { roles: ['ns-1:role-1', 'ns-2:role-2'], clusterRoles: ['admin'] });
  assert.deepEqual(rolesOfUser(BINDINGS, 'bob', ['devs'], 'ns-1'), { roles: [], clusterRoles: ['edit', 'view'] });
  assert.deepEqual(rolesOfUser(BINDINGS, 'bob', ['devs'], 'ns-2'), { roles: [], clusterRoles: ['view'] });
  assert.deepEqual(rolesOfUser(BINDINGS, 'alice', ['devs'], ''), { roles: [], clusterRoles: ['view'] }, 'sorted, without duplicates');
  assert.deepEqual(rolesOfUser(BINDINGS, 'carol', [], 'ns-1'), { roles: [], clusterRoles: [] });
});

const POLICY: JsonObject = {
  apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'needs-team' },
  spec: { validationFailureAction: 'Enforce', background: false, rules: [{
    name: 'team', match: { any: [{ resources: { kinds: ['ConfigMap'] } }] }, exclude: { any: [{ clusterRoles: ['edit'] }] },
    validate: { message: 'a team label is required', pattern: { metadata: { labels: { team: '?*' } } } },
  }] },
};

const review = (username: string, groups: string[], namespace: string) => JSON.stringify({
  apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
  request: { uid: 'u', operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'ConfigMap' }, resource: { group: '', version: 'v1', resource: 'configmaps' }, namespace, name: 'c', userInfo: { username, groups }, object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace } } },
});

test('exclude clusterRoles takes effect at admission with the watched bindings', () => {
  const cluster = (roleBindings?: ClusterState['roleBindings']): ClusterState => ({ resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [], roleBindings });
  const allowed = (c: ClusterState, body: string) => JSON.parse(evaluateReview({ path: 'validate', body, deadline: Date.now() + 5000 }, new PolicyIndex([POLICY]), c).body).response.allowed;
  assert.equal(allowed(cluster(BINDINGS), review('bob', ['devs'], 'ns-1')), true, 'edit in ns-1 excludes bob');
  assert.equal(allowed(cluster(BINDINGS), review('bob', ['devs'], 'ns-2')), false, 'not in ns-2');
  assert.equal(allowed(cluster(), review('bob', ['devs'], 'ns-1')), false, 'without bindings no role is known');
  // Kyverno's excludeClusterRoles setting reads the same roles.
  const exclusions = { exclude: { usernames: [], groups: [], roles: [], clusterRoles: ['view'] }, include: { usernames: [], groups: [], roles: [], clusterRoles: [] } };
  const r = evaluateReview({ path: 'validate', body: review('alice', [], 'ns-2'), deadline: Date.now() + 5000, exclusions }, new PolicyIndex([POLICY]), cluster(BINDINGS));
  assert.equal(JSON.parse(r.body).response.allowed, true);
});

test('roles are read only by policies that name them; deploy grants the bindings then', () => {
  assert.equal(policiesReadRoles([POLICY]), true);
  const plain = { ...POLICY, spec: { rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['Pod'] } }] }, validate: { pattern: {} } }] } };
  assert.equal(policiesReadRoles([plain]), false);
  assert.equal(policiesReadRoles([{ ...plain, spec: { rules: [{ name: 'r', validate: { message: '{{ request.clusterRoles }}' } }] } }]), true);
  const kinds = knownKindTable();
  const granted = (p: JsonObject) => policyGrants(p, kinds).grants.filter((g) => g.group === 'rbac.authorization.k8s.io').map((g) => g.resource);
  assert.deepEqual(granted(POLICY), ['rolebindings', 'clusterrolebindings']);
  assert.deepEqual(granted(plain), []);
});
