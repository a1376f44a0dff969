/**
 * The offline API server's SubjectAccessReview: the RBAC objects in the store evaluated as
 * Kubernetes' RBAC authorizer does (plugin/pkg/auth/authorizer/rbac: ClusterRoleBindings
 * everywhere, RoleBindings in their namespace; subjects by user, group or service account;
 * rules by verb, API group, resource[/subresource] with wildcards (all, or any resource of a subresource), resourceNames,
 * non-resource URLs with a trailing `*`), with ClusterRole aggregation as the
 * clusterrole-aggregation controller would have filled the aggregated roles' rules in.
 */
import type { JsonObject } from '../../engine/core/types';
import { asArray, asObject } from '../../engine/core/json';
import { checkSelector } from '../../engine/match/label-selector';

export interface AccessAttributes {
  user: string;
  groups: string[];
  resource?: { verb: string; group: string; resource: string; subresource: string; namespace: string; name: string };
  nonResource?: { verb: string; path: string };
}

const RBAC_GROUP = 'rbac.authorization.k8s.io';

function rbacObjects(objects: JsonObject[], kind: string): JsonObject[] {
  return objects.filter((o) => o.kind === kind && String(o.apiVersion ?? '').startsWith(`${RBAC_GROUP}/`));
}

/** A ClusterRole's rules; an aggregated one holds those of every ClusterRole its selectors pick. */
function clusterRoleRules(role: JsonObject, all: JsonObject[], seen = new Set<string>()): JsonObject[] {
  const name = String(asObject(role.metadata).name ?? '');
  if (seen.has(name)) return [];
  seen.add(name);
  const selectors = asArray(asObject(role.aggregationRule).clusterRoleSelectors).map(asObject);
  if (!selectors.length) return asArray(role.rules).map(asObject);
  const out: JsonObject[] = [];
  for (const other of all) {
    const labels = Object.fromEntries(Object.entries(asObject(asObject(other.metadata).labels)).map(([k, v]) => [k, String(v)]));
    if (other !== role && selectors.some((s) => checkSelector(s, labels).matched)) out.push(...clusterRoleRules(other, all, seen));
  }
  return out;
}

function subjectMatches(subject: JsonObject, attrs: AccessAttributes, bindingNamespace: string): boolean {
  switch (subject.kind) {
    case 'User':
      return subject.name === attrs.user;
    case 'Group':
      return attrs.groups.includes(String(subject.name));
    case 'ServiceAccount': {
      // A RoleBinding's subject without a namespace means the binding's own (the API server defaults it on v1beta1; on v1 it is required).
      const ns = String(subject.namespace ?? bindingNamespace);
      return attrs.user === `system:serviceaccount:${ns}:${String(subject.name)}`;
    }
    default:
      return false;
  }
}

const has = (values: unknown, want: string) => asArray(values).some((v) => v === '*' || v === want);

function resourceMatches(rule: JsonObject, resource: string, subresource: string): boolean {
  const combined = subresource ? `${resource}/${subresource}` : resource;
  return asArray(rule.resources).some((r) => r === '*' || r === combined || (subresource !== '' && r === `*/${subresource}`));
}

function ruleAllows(rule: JsonObject, attrs: AccessAttributes): boolean {
  if (attrs.resource) {
    const r = attrs.resource;
    const names = asArray(rule.resourceNames);
    return has(rule.verbs, r.verb) && has(rule.apiGroups, r.group) && resourceMatches(rule, r.resource, r.subresource) && (names.length === 0 || names.includes(r.name));
  }
  if (attrs.nonResource) {
    const { verb, path } = attrs.nonResource;
    return has(rule.verbs, verb) && asArray(rule.nonResourceURLs).some((u) => u === '*' || u === path || (typeof u === 'string' && u.endsWith('*') && path.startsWith(u.slice(0, -1))));
  }
  return false;
}

/** Whether the RBAC objects allow the request, and Kubernetes' reason when they do. */
export function rbacAuthorize(objects: JsonObject[], attrs: AccessAttributes): { allowed: boolean; reason: string } {
  const clusterRoles = rbacObjects(objects, 'ClusterRole');
  const clusterRole = (name: string) => clusterRoles.find((r) => asObject(r.metadata).name === name);
  for (const b of rbacObjects(objects, 'ClusterRoleBinding')) {
    const ref = asObject(b.roleRef);
    if (ref.kind !== 'ClusterRole' || !asArray(b.subjects).map(asObject).some((s) => subjectMatches(s, attrs, ''))) continue;
    const role = clusterRole(String(ref.name));
    if (role && clusterRoleRules(role, clusterRoles).some((rule) => ruleAllows(rule, attrs))) {
      return { allowed: true, reason: `RBAC: allowed by ClusterRoleBinding "${String(asObject(b.metadata).name)}" of ClusterRole "${String(ref.name)}"` };
    }
  }
  const namespace = attrs.resource?.namespace;
  if (namespace) {
    for (const b of rbacObjects(objects, 'RoleBinding').filter((o) => asObject(o.metadata).namespace === namespace)) {
      const ref = asObject(b.roleRef);
      if (!asArray(b.subjects).map(asObject).some((s) => subjectMatches(s, attrs, namespace))) continue;
      const role = ref.kind === 'ClusterRole' ? clusterRole(String(ref.name)) : rbacObjects(objects, 'Role').find((r) => asObject(r.metadata).name === ref.name && asObject(r.metadata).namespace === namespace);
      const rules = !role ? [] : ref.kind === 'ClusterRole' ? clusterRoleRules(role, clusterRoles) : asArray(role.rules).map(asObject);
      // A RoleBinding grants only resource requests in its namespace.
      if (rules.some((rule) => ruleAllows(rule, { ...attrs, nonResource: undefined }))) {
        return { allowed: true, reason: `RBAC: allowed by RoleBinding "${String(asObject(b.metadata).name)}/${namespace}" of ${String(ref.kind)} "${String(ref.name)}"` };
      }
    }
  }
  return { allowed: false, reason: '' };
}

/** The API server's Forbidden message for a resource request RBAC refused. */
export function forbiddenMessage(user: string, r: NonNullable<AccessAttributes['resource']>): string {
  const qualified = `${r.resource}${r.group ? `.${r.group}` : ''}`;
  const where = r.namespace ? ` in the namespace "${r.namespace}"` : ' at the cluster scope';
  return `${qualified}${r.name ? ` "${r.name}"` : ''} is forbidden: User "${user}" cannot ${r.verb} resource "${r.resource}" in API group "${r.group}"${where}`;
}

/** The API server's answer to a SubjectAccessReview (or, for `self`, a SelfSubjectAccessReview) body. */
export function answerAccessReview(objects: JsonObject[], review: JsonObject, self?: { user: string; groups: string[] }): JsonObject {
  const spec = asObject(review.spec);
  const ra = spec.resourceAttributes === undefined ? undefined : asObject(spec.resourceAttributes);
  const nra = spec.nonResourceAttributes === undefined ? undefined : asObject(spec.nonResourceAttributes);
  const user = self ? self.user : String(spec.user ?? '');
  const groups = self ? self.groups : asArray(spec.groups).map(String);
  const attrs: AccessAttributes = {
    user,
    groups,
    resource: ra && { verb: String(ra.verb ?? ''), group: String(ra.group ?? ''), resource: String(ra.resource ?? ''), subresource: String(ra.subresource ?? ''), namespace: String(ra.namespace ?? ''), name: String(ra.name ?? '') },
    nonResource: nra && { verb: String(nra.verb ?? ''), path: String(nra.path ?? '') },
  };
  const { allowed, reason } = rbacAuthorize(objects, attrs);
  return { ...review, status: { allowed, ...(reason ? { reason } : {}) } };
}
