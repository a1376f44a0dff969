/**
 * Admission-style matching for CEL policies (Kubernetes MatchResources): resourceRules,
 * excludeResourceRules, namespaceSelector and objectSelector, as Kyverno's CEL matcher does.
 */
import type { AdmissionRequest, ClusterState, JsonObject } from '../core/types';
import { pluralOf } from '../kube';
import { checkSelector } from '../match';
import { asObject } from '../core/json';

export interface RequestTarget {
  group: string;
  version: string;
  kind: string;
  resource: string;
  subResource: string;
  namespace: string;
  name: string;
  operation: string;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.map(String) : [];
}

export function requestTarget(request: AdmissionRequest): RequestTarget {
  const obj = asObject(request.object ?? request.oldObject);
  const meta = asObject(obj.metadata);
  let group = '', version = '', kind = String(obj.kind ?? '');
  if (request.kind) ({ group, version, kind } = request.kind);
  else {
    const api = String(obj.apiVersion ?? '');
    const slash = api.indexOf('/');
    group = slash >= 0 ? api.slice(0, slash) : '';
    version = slash >= 0 ? api.slice(slash + 1) : api;
  }
  // A subresource request is matched by its resource (`deployments/scale`), not its own kind's.
  if (request.resourceKind) ({ group, version, kind } = request.resourceKind);
  return {
    group, version, kind,
    resource: request.resourceKind?.resource ?? pluralOf(group, kind),
    subResource: request.subResource ?? '',
    namespace: request.namespace ?? String(meta.namespace ?? ''),
    name: String(meta.name ?? ''),
    operation: request.operation,
  };
}

function matchesList(values: string[], value: string): boolean {
  return values.includes('*') || values.includes(value);
}

function matchesResource(resources: string[], resource: string, sub: string): boolean {
  const full = sub ? `${resource}/${sub}` : resource;
  return resources.some((r) => {
    if (r === '*') return !sub;
    if (r === '*/*') return true;
    const [base, subPattern] = r.split('/');
    if (subPattern === undefined) return !sub && base === resource;
    if (base === '*') return subPattern === sub;
    if (subPattern === '*') return base === resource && !!sub;
    return r === full;
  });
}

function ruleMatches(rule: JsonObject, t: RequestTarget, ignoreOperations = false): boolean {
  if (!matchesList(strings(rule.apiGroups), t.group)) return false;
  if (!matchesList(strings(rule.apiVersions), t.version)) return false;
  const ops = strings(rule.operations);
  if (!ignoreOperations && !matchesList(ops, t.operation)) return false;
  if (!matchesResource(strings(rule.resources), t.resource, t.subResource)) return false;
  const names = strings(rule.resourceNames);
  if (names.length && !names.includes(t.name)) return false;
  const scope = String(rule.scope ?? '*');
  if (scope === 'Namespaced' && !t.namespace) return false;
  if (scope === 'Cluster' && t.namespace) return false;
  return true;
}

/**
 * Kubernetes label selector semantics (matchLabels AND matchExpressions), as engine/match
 * implements them; an invalid selector (bad key, value or operator) matches nothing.
 */
export function selectorMatches(selector: unknown, labels: Record<string, string>): boolean {
  return checkSelector(selector ?? {}, labels).matched;
}

function labelsOf(obj: unknown): Record<string, string> {
  return asObject(asObject(asObject(obj).metadata).labels) as Record<string, string>;
}

/** The Namespace object of the request, from cluster resources or known namespace labels. */
export function namespaceObject(namespace: string, cluster: ClusterState): JsonObject | null {
  if (!namespace) return null;
  const found = cluster.resources.find((r) => r.kind === 'Namespace' && asObject(r.metadata).name === namespace);
  if (found) return found;
  const known = cluster.namespaceObjects?.[namespace];
  if (known) return known;
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels: { 'kubernetes.io/metadata.name': namespace, ...(cluster.namespaceLabels[namespace] ?? {}) } } };
}

export interface MatchOptions {
  /**
   * For kinds that do not act on admission (DeletingPolicy, mutate-existing targets): Kyverno
   * rewrites the operations of `resourceRules` to `*`; `excludeResourceRules` keep theirs.
   */
  ignoreOperations?: boolean;
  /** Binding matchResources: without resourceRules they do not constrain resources. */
  emptyRulesMatchAll?: boolean;
  /**
   * The Namespace object the matcher is handed (Kyverno's CEL matcher takes one); `null`
   * means none, and then the namespace carries only its `kubernetes.io/metadata.name` label.
   * When omitted the namespace is looked up in the cluster state.
   */
  namespace?: JsonObject | null;
}

/** What Kubernetes' namespace matcher falls back to when it was handed no Namespace. */
function minimalNamespace(name: string): JsonObject {
  return { metadata: { name, labels: { 'kubernetes.io/metadata.name': name } } };
}

export function matchConstraintsMatch(constraints: unknown, request: AdmissionRequest, cluster: ClusterState, opts: MatchOptions = {}): boolean {
  const ignoreOperations = opts.ignoreOperations ?? false;
  const c = asObject(constraints);
  const t = requestTarget(request);
  const rules = (Array.isArray(c.resourceRules) ? c.resourceRules : []) as JsonObject[];
  if (!(rules.length === 0 && opts.emptyRulesMatchAll) && !rules.some((r) => ruleMatches(r, t, ignoreOperations))) return false;
  const excludes = (Array.isArray(c.excludeResourceRules) ? c.excludeResourceRules : []) as JsonObject[];
  if (excludes.some((r) => ruleMatches(r, t))) return false;
  if (c.namespaceSelector && Object.keys(asObject(c.namespaceSelector)).length) {
    if (t.kind === 'Namespace' && !t.group) {
      if (!selectorMatches(c.namespaceSelector, labelsOf(request.object ?? request.oldObject))) return false;
    } else if (t.namespace) {
      const ns = opts.namespace === undefined ? namespaceObject(t.namespace, cluster) : opts.namespace ?? minimalNamespace(t.namespace);
      if (!selectorMatches(c.namespaceSelector, labelsOf(ns))) return false;
    }
  }
  if (c.objectSelector && Object.keys(asObject(c.objectSelector)).length) {
    const candidates = [request.object, request.oldObject].filter(Boolean);
    if (!candidates.some((o) => selectorMatches(c.objectSelector, labelsOf(o)))) return false;
  }
  return true;
}
