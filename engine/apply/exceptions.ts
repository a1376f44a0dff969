/**
 * kyverno.io PolicyExceptions (v2, v2beta1) for classic rules, as Kyverno 1.13+ applies
 * them: once a rule matched, loaded its context and passed its preconditions, the
 * exceptions naming the policy (exact `namespace/name` key, or the name for a
 * ClusterPolicy) and the rule (wildcards allowed in `ruleNames`; autogen rules are named
 * `autogen-…` / `autogen-cronjob-…` and are only covered when listed or matched by a
 * wildcard) are candidates (GetPolicyExceptions); a candidate applies when its `match`
 * selects the request's resource and its `conditions` hold (MatchesException). A condition
 * that cannot be evaluated leaves that exception out. Every applying exception is reported.
 * The exception's own namespace does not restrict the resources it covers; it is only part
 * of its key.
 */
import { evaluateConditions } from '../conditions';
import type { AdmissionRequest, ClusterState, JsonObject, RuleResult, RuleType } from '../core/types';
import { conditionBlockFailures, requestTarget, type MatchTarget } from '../match';
import type { VariableScope } from '../variables';
import { wildcardMatch } from '../wildcard/wildcard';
import { asObject } from '../core/json';

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** A kyverno.io PolicyException (any served version). */
export function isPolicyException(ex: JsonObject): boolean {
  return str(ex.apiVersion).startsWith('kyverno.io/') && ex.kind === 'PolicyException';
}

/** Kyverno's Exception.Contains: exact policy key, wildcard rule names. */
function namesRule(exception: JsonObject, policyKey: string, ruleName: string): boolean {
  const list = asObject(exception.spec).exceptions;
  if (!Array.isArray(list)) return false;
  return list.some((e) => {
    const entry = asObject(e);
    if (entry.policyName !== policyKey) return false;
    const rules = Array.isArray(entry.ruleNames) ? entry.ruleNames : [];
    return rules.some((r) => typeof r === 'string' && wildcardMatch(r, ruleName));
  });
}

/** cache.MetaNamespaceKeyFunc: `namespace/name`, or the name of a cluster-scoped object. */
export function exceptionKey(exception: JsonObject): string {
  const meta = asObject(exception.metadata);
  const ns = str(meta.namespace);
  return ns ? `${ns}/${str(meta.name)}` : str(meta.name);
}

export function exceptionName(exception: JsonObject): string {
  return str(asObject(exception.metadata).name);
}

export function hasPodSecurity(exception: JsonObject): boolean {
  const ps = asObject(exception.spec).podSecurity;
  return Array.isArray(ps) && ps.length > 0;
}

/**
 * One `match.any`/`match.all` filter of an exception (checkResourceFilter): an empty filter
 * selects nothing; user info is always checked; a namespaceSelector is not consulted for a
 * Namespace or a resource without kind.
 */
function filterSelects(filter: JsonObject, t: MatchTarget): boolean {
  const description = { ...asObject(filter.resources) };
  const userInfo: JsonObject = {};
  for (const f of ['roles', 'clusterRoles', 'subjects']) if (filter[f] != null) userInfo[f] = filter[f];
  const isEmpty = (o: JsonObject) => Object.values(o).every((v) => v === null || v === undefined);
  if (isEmpty(description) && isEmpty(userInfo)) return false;
  const kind = str(t.resource.kind);
  if (kind === 'Namespace' || kind === '') delete description.namespaceSelector;
  return conditionBlockFailures(description, userInfo, t).length === 0;
}

/** checkMatchesResources: `any` (one filter) or `all` (every filter); neither selects nothing. */
function exceptionMatches(match: JsonObject, t: MatchTarget): boolean {
  const any = Array.isArray(match.any) ? match.any.map(asObject) : [];
  const all = Array.isArray(match.all) ? match.all.map(asObject) : [];
  if (any.length > 0) return any.some((f) => filterSelects(f, t));
  if (all.length > 0) return all.every((f) => filterSelects(f, t));
  return false;
}

function matchTarget(request: AdmissionRequest, cluster: ClusterState): MatchTarget | undefined {
  const resource = request.object ?? request.oldObject;
  return resource ? requestTarget(request, resource, cluster) : undefined;
}

/**
 * The exceptions that apply to this rule and request, in the order given. policyKey is
 * `namespace/name` for a Policy, the name for a ClusterPolicy; scope is the rule's context
 * (after its context entries), where `conditions` are evaluated.
 */
export function matchingExceptions(
  exceptions: JsonObject[],
  policyKey: string,
  ruleName: string,
  request: AdmissionRequest,
  cluster: ClusterState,
  scope: VariableScope,
): JsonObject[] {
  const candidates = exceptions.filter((ex) => isPolicyException(ex) && namesRule(ex, policyKey, ruleName));
  if (candidates.length === 0) return [];
  const target = matchTarget(request, cluster);
  if (!target) return [];
  return candidates.filter((ex) => {
    const spec = asObject(ex.spec);
    if (!exceptionMatches(asObject(spec.match), target)) return false;
    if (spec.conditions === undefined || spec.conditions === null) return true;
    const c = evaluateConditions(spec.conditions, scope);
    return c.error === undefined && c.passed;
  });
}

/**
 * The skip Kyverno's mutate/validate/generate handlers report for exempted rules (null when
 * none applies). Kyverno joins the keys straight onto "exceptions", without a separator.
 * podSecurity rules are the PSS handler's (engine/pss): it reports no response on DELETE and
 * lets exceptions carrying podSecurity controls relax individual checks.
 */
export function exceptionSkip(ruleName: string, type: RuleType, matched: JsonObject[]): RuleResult | null {
  if (matched.length === 0) return null;
  return {
    name: ruleName,
    type,
    status: 'skip',
    message: `rule is skipped due to policy exceptions${matched.map(exceptionKey).join(', ')}`,
    exceptions: matched.map(exceptionName),
  };
}
