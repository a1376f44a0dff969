/**
 * The requesting user's Roles and ClusterRoles, as Kyverno's admission handlers add them to every
 * request (pkg/userinfo GetRoleRef, from its RoleBinding and ClusterRoleBinding listers): a
 * RoleBinding naming the user gives `namespace:role` for a Role, and its ClusterRole only for
 * requests in the binding's namespace; a ClusterRoleBinding gives its ClusterRole. A subject
 * matches by user name, by group, or as a service account (`system:serviceaccount:ns:name`, the
 * binding's namespace when the subject names none). Match/exclude `roles`/`clusterRoles`,
 * `request.roles` and the excludeRoles/excludeClusterRoles settings read the result. The
 * bindings are watched only while something reads roles (webhook/live-context.ts).
 */
import { asArray, asObject, isJsonObject } from '../engine/core/json';
import type { JsonObject, RoleBindingIndex } from '../engine/core/types';

type BindingRef = RoleBindingIndex['byUser'][string][number];

export function roleBindingIndexOf(bindings: Iterable<JsonObject>): RoleBindingIndex {
  const index: RoleBindingIndex = { byUser: {}, byGroup: {} };
  const add = (table: Record<string, BindingRef[]>, key: string, ref: BindingRef) => void (table[key] ??= []).push(ref);
  for (const b of bindings) {
    const clusterWide = b.kind === 'ClusterRoleBinding';
    if (!clusterWide && b.kind !== 'RoleBinding') continue;
    const namespace = clusterWide ? '' : String(asObject(b.metadata).namespace ?? '');
    const roleRef = asObject(b.roleRef);
    const ref: BindingRef = { namespace: clusterWide ? undefined : namespace, kind: String(roleRef.kind ?? ''), name: String(roleRef.name ?? '') };
    for (const s of asArray(b.subjects).filter(isJsonObject)) {
      const name = String(s.name ?? '');
      if (s.kind === 'User') add(index.byUser, name, ref);
      else if (s.kind === 'Group') add(index.byGroup, name, ref);
      else if (s.kind === 'ServiceAccount') {
        const ns = typeof s.namespace === 'string' && s.namespace ? s.namespace : namespace;
        if (ns) add(index.byUser, `system:serviceaccount:${ns}:${name}`, ref);
      }
    }
  }
  return index;
}

/** Kyverno's GetRoleRef over the index: sorted, without duplicates. */
export function rolesOfUser(index: RoleBindingIndex, username: string, groups: readonly string[], requestNamespace: string): { roles: string[]; clusterRoles: string[] } {
  const roles = new Set<string>();
  const clusterRoles = new Set<string>();
  const refs = [...(index.byUser[username] ?? []), ...groups.flatMap((g) => index.byGroup[g] ?? [])];
  for (const ref of refs) {
    if (ref.namespace === undefined) {
      if (ref.kind === 'ClusterRole') clusterRoles.add(ref.name);
    } else if (ref.kind === 'Role') roles.add(`${ref.namespace}:${ref.name}`);
    else if (ref.kind === 'ClusterRole' && ref.namespace === requestNamespace) clusterRoles.add(ref.name);
  }
  return { roles: [...roles].sort(), clusterRoles: [...clusterRoles].sort() };
}

/** Whether policies read the user's roles: match/exclude `roles`/`clusterRoles`, or `request.roles`/`request.clusterRoles`. */
export function policiesReadRoles(policies: readonly JsonObject[]): boolean {
  const visit = (node: unknown): boolean => {
    if (typeof node === 'string') return /request\.(roles|clusterRoles)\b/.test(node);
    if (Array.isArray(node)) return node.some(visit);
    if (!isJsonObject(node)) return false;
    return Object.entries(node).some(([k, v]) => ((k === 'roles' || k === 'clusterRoles') && Array.isArray(v) && v.length > 0) || visit(v));
  };
  return policies.some((p) => visit(asObject(p.spec).rules));
}
