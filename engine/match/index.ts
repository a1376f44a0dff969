/**
 * Whether a classic Kyverno rule (kyverno.io ClusterPolicy/Policy) applies to a request:
 * its `match` must select the resource and its `exclude` must not, exactly as Kyverno's
 * MatchesResourceDescription (pkg/engine/utils/match.go) and engine.matches decide.
 */
import type { AdmissionRequest, ClusterState, GroupVersionKind, JsonObject, RequestInfo } from '../core/types';
import { resourceGVK } from '../kube/selectors';
import {
  compileDescription,
  compiledBlockFailures,
  compileUserInfo,
  isEmptyStruct,
  type CompiledDescription,
  type CompiledUserInfo,
  type MatchTarget,
} from './condition-block';
import { asObject } from '../core/json';

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
    (u.extra === undefined || u.extra === null || Object.keys(u.extra).length === 0)
  );
}

function filters(block: JsonObject, key: 'any' | 'all'): JsonObject[] {
  const v = block[key];
  return Array.isArray(v) ? v.map(asObject) : [];
}

interface FilterParts {
  description: CompiledDescription;
  userInfo: CompiledUserInfo;
  descriptionEmpty: boolean;
  userInfoEmpty: boolean;
}

const NO_USER_INFO: CompiledUserInfo = compileUserInfo({});

function filterParts(filter: JsonObject): FilterParts {
  const description = asObject(filter.resources);
  const userInfo = userInfoOf(filter);
  return {
    description: compileDescription(description),
    userInfo: compileUserInfo(userInfo),
    descriptionEmpty: isEmptyStruct(description),
    userInfoEmpty: isEmptyStruct(userInfo),
  };
}

/** A rule's match and exclude blocks as matchesResourceDescription reads them. */
interface CompiledRuleMatch {
  matchAny: FilterParts[];
  matchAll: FilterParts[];
  /** The legacy form: the match block itself is the filter. */
  matchSelf: FilterParts;
  /** Null when the rule has no exclude block. */
  exclude: { any: FilterParts[]; all: FilterParts[]; self: FilterParts } | null;
  /** The last request target these blocks selected (see ruleMatchesRequest). */
  selected?: MatchTarget;
}

// A rule's filters are read for every request; what they say depends on the policy alone
// (policies are never changed in place once loaded).
const compiledRules = new WeakMap<JsonObject, CompiledRuleMatch>();

// Rules with the same match and exclude blocks (policies for the same kinds, autogen's
// copies) share one compiled form, so one request is matched once against them all.
const sharedMatches = new Map<string, CompiledRuleMatch>();
const SHARED_MATCHES_LIMIT = 10_000;

function compiledRuleMatch(rule: JsonObject): CompiledRuleMatch {
  let compiled = compiledRules.get(rule);
  if (compiled) return compiled;
  const text = JSON.stringify([rule.match ?? null, rule.exclude ?? null]);
  compiled = sharedMatches.get(text);
  if (!compiled) {
    const match = asObject(rule.match);
    const ex = rule.exclude;
    // No exclude block excludes nothing.
    const exclude = ex && typeof ex === 'object' && !Array.isArray(ex) ? (ex as JsonObject) : null;
    compiled = {
      matchAny: filters(match, 'any').map(filterParts),
      matchAll: filters(match, 'all').map(filterParts),
      matchSelf: filterParts(match),
      exclude: exclude && { any: filters(exclude, 'any').map(filterParts), all: filters(exclude, 'all').map(filterParts), self: filterParts(exclude) },
    };
    // Bounded for long-lived hosts that see policies edited again and again (the language server).
    if (sharedMatches.size >= SHARED_MATCHES_LIMIT) sharedMatches.clear();
    sharedMatches.set(text, compiled);
  }
  compiledRules.set(rule, compiled);
  return compiled;
}

/** Failures of one match filter; user info is ignored when the request carries none (CLI without userinfo). */
const MATCH_CANNOT_BE_EMPTY: readonly string[] = Object.freeze(['match cannot be empty']);

function matchFilterFailures(parts: FilterParts, t: MatchTarget, withoutUser: boolean): readonly string[] {
  if (parts.descriptionEmpty && (withoutUser || parts.userInfoEmpty)) return MATCH_CANNOT_BE_EMPTY;
  return compiledBlockFailures(parts.description, withoutUser ? NO_USER_INFO : parts.userInfo, t);
}

/** Whether this exclude filter excludes the resource. */
function excludeFilterHits(parts: FilterParts, t: MatchTarget): boolean {
  if (parts.descriptionEmpty && parts.userInfoEmpty) return false;
  return compiledBlockFailures(parts.description, parts.userInfo, t).length === 0;
}

const EXCLUDED_BY_ONE = 'resource excluded since one of the criteria excluded it';

/** Kyverno's MatchesResourceDescription for one resource; returns the failure reasons. */
export function matchesResourceDescription(rule: JsonObject, t: MatchTarget, policyNamespace?: string): string[] {
  return descriptionFailures(rule, t, policyNamespace) ?? [];
}

/**
 * matchesResourceDescription, with null instead of a fresh empty list when the rule matches.
 * `remember`: `t` is a request's target, never changed (requestTarget's): a selection is kept
 * on the compiled blocks, and the next rule sharing them is answered at once.
 */
function descriptionFailures(rule: JsonObject, t: MatchTarget, policyNamespace?: string, remember = false): string[] | null {
  if (policyNamespace) {
    const ns = asObject(t.resource.metadata).namespace;
    if (policyNamespace !== (typeof ns === 'string' ? ns : '')) return ['policy and resource namespaces mismatch'];
  }
  const compiled = compiledRuleMatch(rule);
  if (remember && compiled.selected === t) return null;
  const reasons = blockFailures(compiled, t);
  if (remember && !reasons) compiled.selected = t;
  return reasons;
}

function blockFailures(compiled: CompiledRuleMatch, t: MatchTarget): string[] | null {
  const withoutUser = t.noUserInfo ?? isEmptyRequestInfo(t.requestInfo);
  let reasons: string[] | null = null;
  if (compiled.matchAny.length > 0) {
    let any = false;
    for (const f of compiled.matchAny) {
      if (matchFilterFailures(f, t, withoutUser).length === 0) {
        any = true;
        break;
      }
    }
    if (!any) reasons = ['no resource matched'];
  } else if (compiled.matchAll.length > 0) {
    for (const f of compiled.matchAll) {
      const failures = matchFilterFailures(f, t, withoutUser);
      if (failures.length > 0) (reasons ??= []).push(...failures);
    }
  } else {
    const failures = matchFilterFailures(compiled.matchSelf, t, withoutUser);
    if (failures.length > 0) reasons = [...failures];
  }
  if (reasons) return reasons;

  // Exclude is only looked at once the rule matched.
  const exclude = compiled.exclude;
  if (!exclude) return null;
  if (exclude.any.length > 0) {
    for (const f of exclude.any) if (excludeFilterHits(f, t)) (reasons ??= []).push(EXCLUDED_BY_ONE);
  } else if (exclude.all.length > 0) {
    if (exclude.all.every((f) => excludeFilterHits(f, t))) reasons = ['resource excluded since the combination of all criteria exclude it'];
  } else if (excludeFilterHits(exclude.self, t)) {
    reasons = [EXCLUDED_BY_ONE];
  }
  return reasons;
}

const MATCHED: MatchOutcome = Object.freeze({ matched: true });

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
  const requestInfo = request.requestInfo ?? { roles: [], clusterRoles: [], userInfo: {} };
  return {
    resource,
    gvk,
    subresource: request.subResource ?? '',
    operation: request.operation,
    namespaceLabels: (ns && cluster.namespaceLabels?.[ns]) || {},
    requestInfo,
    noUserInfo: isEmptyRequestInfo(requestInfo),
  };
}

// Every rule of every policy applied to one request matches against the same target;
// requests are never changed in place (the request's scope is cached the same way, see
// context/request.ts), and are evaluated one after the other: the last one is remembered.
let last: { request: AdmissionRequest; cluster: object; labels: unknown; target: MatchTarget } | null = null;

/** What a rule's match and exclude blocks (and a PolicyException's) are checked against for `resource` of this request. */
export function requestTarget(request: AdmissionRequest, resource: JsonObject, cluster: Pick<ClusterState, 'namespaceLabels'>): MatchTarget {
  if (last && last.request === request && last.cluster === cluster && last.labels === cluster.namespaceLabels && last.target.resource === resource) {
    return last.target;
  }
  const target = targetFor(resource, request.resourceKind ?? request.kind ?? resourceGVK(resource), request, cluster);
  last = { request, cluster, labels: cluster.namespaceLabels, target };
  return target;
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
  const reasons = descriptionFailures(rule, requestTarget(request, resource, cluster), policyNamespace, true);
  if (!reasons) return MATCHED;
  return { matched: false, reason: formatReason(rule.name, reasons) };
}
