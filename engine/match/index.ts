/**
 * Whether a classic Kyverno rule (kyverno.io ClusterPolicy/Policy) applies to a request:
 * its `match` must select the resource and its `exclude` must not, exactly as Kyverno's
 * MatchesResourceDescription (pkg/engine/utils/match.go) and engine.matches decide.
 */
import type { AdmissionRequest, ClusterState, GroupVersionKind, JsonObject, RequestInfo } from '../core/types';
import { resourceGVK } from '../kube/selectors';
import { asObject, conditionBlockFailures, isEmptyStruct, type MatchTarget } from './condition-block';

export { checkSelector, type SelectorResult } from './label-selector';
export { checkSubjects, conditionBlockFailures, type MatchTarget } from './condition-block';

export interface MatchOutcome {
  matched: boolean;
  /** Why the rule does not apply (for skip messages and debugging). */
  reason?: string;
}

const USER_INFO_FIELDS = ['roles', 'clusterRoles', 'subjects'] as const;

function userInfoOf(filter: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const f of USER_INFO_FIELDS) if (filter[f] != null) out[f] = filter[f];
  return out;
}

function isEmptyRequestInfo(info: RequestInfo | undefined): boolean {
  if (!info) return true;
  const u = info.userInfo ?? {};
  return (
    (info.roles ?? []).length === 0 &&
    (info.clusterRoles ?? []).length === 0 &&
    !u.username &&
    !u.uid &&
    (u.groups ?? []).length === 0 &&
    Object.keys(u.extra ?? {}).length === 0
  );
}

function filters(block: JsonObject, key: 'any' | 'all'): JsonObject[] {
  const v = block[key];
  return Array.isArray(v) ? v.map(asObject) : [];
}

interface FilterParts {
  description: JsonObject;
  userInfo: JsonObject;
  descriptionEmpty: boolean;
  userInfoEmpty: boolean;
}

// A rule's filters are read for every request; their parts depend on the policy alone.
const filterPartsCache = new WeakMap<JsonObject, FilterParts>();

function filterParts(filter: JsonObject): FilterParts {
  let parts = filterPartsCache.get(filter);
  if (parts) return parts;
  const description = asObject(filter.resources);
  const userInfo = userInfoOf(filter);
  parts = { description, userInfo, descriptionEmpty: isEmptyStruct(description), userInfoEmpty: isEmptyStruct(userInfo) };
  filterPartsCache.set(filter, parts);
  return parts;
}

/** Failures of one match filter; user info is ignored when the request carries none (CLI without userinfo). */
function matchFilterFailures(filter: JsonObject, t: MatchTarget): string[] {
  const parts = filterParts(filter);
  const withoutUser = isEmptyRequestInfo(t.requestInfo);
  const userInfo = withoutUser ? {} : parts.userInfo;
  if (parts.descriptionEmpty && (withoutUser || parts.userInfoEmpty)) return ['match cannot be empty'];
  return conditionBlockFailures(parts.description, userInfo, t);
}

/** Non-empty when this exclude filter excludes the resource. */
function excludeFilterHits(filter: JsonObject, t: MatchTarget): string[] {
  const { description, userInfo, descriptionEmpty, userInfoEmpty } = filterParts(filter);
  if (descriptionEmpty && userInfoEmpty) return [];
  if (conditionBlockFailures(description, userInfo, t).length > 0) return [];
  return ['resource excluded since one of the criteria excluded it'];
}

/** Kyverno's MatchesResourceDescription for one resource; returns the failure reasons. */
export function matchesResourceDescription(rule: JsonObject, t: MatchTarget, policyNamespace?: string): string[] {
  const ns = asObject(t.resource.metadata).namespace;
  if (policyNamespace && policyNamespace !== (typeof ns === 'string' ? ns : '')) {
    return ['policy and resource namespaces mismatch'];
  }
  const reasons: string[] = [];
  const match = asObject(rule.match);
  const matchAny = filters(match, 'any');
  const matchAll = filters(match, 'all');
  if (matchAny.length > 0) {
    if (!matchAny.some((f) => matchFilterFailures(f, t).length === 0)) reasons.push('no resource matched');
  } else if (matchAll.length > 0) {
    for (const f of matchAll) reasons.push(...matchFilterFailures(f, t));
  } else {
    reasons.push(...matchFilterFailures(match, t));
  }
  if (reasons.length > 0) return reasons;

  // Exclude is only looked at once the rule matched.
  // No exclude block excludes nothing (and a fresh empty object must not reach the caches).
  if (!rule.exclude || typeof rule.exclude !== 'object' || Array.isArray(rule.exclude)) return reasons;
  const exclude = rule.exclude as JsonObject;
  const excludeAny = filters(exclude, 'any');
  const excludeAll = filters(exclude, 'all');
  if (excludeAny.length > 0) {
    for (const f of excludeAny) reasons.push(...excludeFilterHits(f, t));
  } else if (excludeAll.length > 0) {
    if (excludeAll.every((f) => excludeFilterHits(f, t).length > 0)) {
      reasons.push('resource excluded since the combination of all criteria exclude it');
    }
  } else {
    reasons.push(...excludeFilterHits(exclude, t));
  }
  return reasons;
}

function formatReason(ruleName: unknown, reasons: string[]): string {
  const lines = reasons.map((r, i) => `\n ${i + 1}. ${r}`).join('');
  return `rule ${typeof ruleName === 'string' ? ruleName : ''} not matched:${lines}`;
}

function namespaceOf(resource: JsonObject): string {
  const ns = asObject(resource.metadata).namespace;
  return typeof ns === 'string' ? ns : '';
}

function targetFor(
  resource: JsonObject,
  gvk: GroupVersionKind,
  request: AdmissionRequest,
  cluster: Pick<ClusterState, 'namespaceLabels'>,
): MatchTarget {
  const ns = namespaceOf(resource) || (resource.kind === 'Namespace' ? '' : (request.namespace ?? ''));
  return {
    resource,
    gvk,
    subresource: request.subResource ?? '',
    operation: request.operation,
    namespaceLabels: (ns && cluster.namespaceLabels?.[ns]) || {},
    requestInfo: request.requestInfo ?? { roles: [], clusterRoles: [], userInfo: {} },
  };
}

/**
 * Whether a rule's match and exclude blocks select this request (both checked). The new
 * object is matched first; only when there is none (DELETE) is the old object matched, as
 * in Kyverno's engine.
 */
export function ruleMatchesRequest(
  rule: JsonObject,
  request: AdmissionRequest,
  cluster: Pick<ClusterState, 'namespaceLabels'>,
  policyNamespace?: string,
): MatchOutcome {
  const resource = request.object ?? request.oldObject;
  if (!resource) return { matched: false, reason: 'resource is empty' };
  const gvk = request.kind ?? resourceGVK(resource);
  const reasons = matchesResourceDescription(rule, targetFor(resource, gvk, request, cluster), policyNamespace);
  if (reasons.length === 0) return { matched: true };
  return { matched: false, reason: formatReason(rule.name, reasons) };
}
