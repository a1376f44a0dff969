/**
 * Rule responses as Kyverno's engineapi builds them (RulePass/RuleFail/RuleSkip/RuleError):
 * an error's message is "<what failed>: <cause>".
 */
import type { RuleResult, RuleStatus, RuleType } from '../core/types';

export function ruleResult(name: string, status: RuleStatus, message: string, type: RuleType = 'Validation'): RuleResult {
  return { name, type, status, message };
}

export function ruleError(name: string, what: string, cause?: string, type: RuleType = 'Validation'): RuleResult {
  return ruleResult(name, 'error', cause ? `${what}: ${cause}` : what, type);
}

/** Kyverno's IsSameRuleResponse: same name, type, message and status. */
export function sameResult(a: RuleResult | null, b: RuleResult | null): boolean {
  if (!a || !b) return a === b;
  return a.name === b.name && a.type === b.type && a.message === b.message && a.status === b.status;
}

export function joinNonEmpty(parts: Array<string | undefined>, sep: string): string {
  return parts.filter((p): p is string => typeof p === 'string' && p !== '').join(sep);
}
