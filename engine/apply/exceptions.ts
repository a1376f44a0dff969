/**
 * kyverno.io PolicyExceptions for classic rules (Kyverno's hasPolicyExceptions): an
 * exception naming the policy and rule, whose `match` selects the request and whose
 * `conditions` hold, turns the rule into a skip. Exceptions carrying `podSecurity`
 * controls only relax podSecurity checks and are left to that handler.
 */
import { evaluateConditions } from '../conditions';
import type { AdmissionRequest, ClusterState, JsonObject, RuleResult, RuleType } from '../core/types';
import { ruleMatchesRequest } from '../match';
import type { VariableScope } from '../variables';
import { wildcardMatch } from '../wildcard/wildcard';

function obj(v: unknown): JsonObject {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as JsonObject) : {};
}

function namesRule(exception: JsonObject, policyKey: string, ruleName: string): boolean {
  const list = obj(exception.spec).exceptions;
  if (!Array.isArray(list)) return false;
  return list.some((e) => {
    const entry = obj(e);
    if (typeof entry.policyName !== 'string' || !wildcardMatch(entry.policyName, policyKey)) return false;
    const rules = Array.isArray(entry.ruleNames) ? entry.ruleNames : [];
    return rules.some((r) => typeof r === 'string' && wildcardMatch(r, ruleName));
  });
}

function exceptionKey(exception: JsonObject): string {
  const meta = obj(exception.metadata);
  const ns = typeof meta.namespace === 'string' && meta.namespace ? `${meta.namespace}/` : '';
  return `${ns}${String(meta.name ?? '')}`;
}

/** The exceptions that exempt this rule from this request. */
export function matchingExceptions(
  exceptions: JsonObject[],
  policyKey: string,
  rule: JsonObject,
  request: AdmissionRequest,
  cluster: ClusterState,
  scope: VariableScope,
): JsonObject[] {
  const ruleName = String(rule.name ?? '');
  return exceptions.filter((ex) => {
    if (!String(ex.apiVersion ?? '').startsWith('kyverno.io/') || ex.kind !== 'PolicyException') return false;
    if (!namesRule(ex, policyKey, ruleName)) return false;
    const spec = obj(ex.spec);
    if (!ruleMatchesRequest({ name: ruleName, match: spec.match ?? {} }, request, cluster).matched) return false;
    if (spec.conditions !== undefined) {
      const c = evaluateConditions(spec.conditions, scope);
      if (!c.passed) return false;
    }
    return true;
  });
}

/** The skip Kyverno reports for an exempted rule; null when an exception only adjusts podSecurity. */
export function exceptionSkip(ruleName: string, type: RuleType, matched: JsonObject[]): RuleResult | null {
  const full = matched.filter((ex) => obj(ex.spec).podSecurity === undefined);
  if (full.length === 0) return null;
  const keys = full.map(exceptionKey);
  return {
    name: ruleName,
    type,
    status: 'skip',
    message: `rule is skipped due to policy exception: ${keys.join(', ')}`,
    exceptions: full.map((ex) => String(obj(ex.metadata).name ?? '')),
  };
}
