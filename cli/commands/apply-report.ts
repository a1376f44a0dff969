/** Counting and printing `apply` results the way `kyverno apply` does. */
import type { JsonObject, RuleResult } from '../../engine/core/types';
import type { EngineResponse } from '../../engine/testing';
import { reportResult } from '../../engine/testing';
import { isJsonObject } from '../../engine/core/json';

export interface ResultCounts {
  pass: number;
  fail: number;
  warn: number;
  error: number;
  skip: number;
}

/** Whether a failing rule is in Audit mode (then --audit-warn reports it as a warning). */
export function isAudit(policy: JsonObject | undefined, rule: RuleResult): boolean {
  if (rule.failureAction) return rule.failureAction === 'Audit';
  const spec = policy && isJsonObject(policy.spec) ? policy.spec : {};
  if (Array.isArray(spec.validationActions)) return !spec.validationActions.includes('Deny');
  const action = typeof spec.validationFailureAction === 'string' ? spec.validationFailureAction : 'Audit';
  return action.toLowerCase() === 'audit';
}

export function resourcePath(resource: JsonObject): string {
  const meta = isJsonObject(resource.metadata) ? resource.metadata : {};
  const ns = typeof meta.namespace === 'string' ? meta.namespace : '';
  // Payloads (JSON, HTTP, Envoy) have no kind or name: kyverno apply calls them "JSON payload".
  if (!ns && !resource.kind && !meta.name) return 'JSON payload';
  return `${ns ? `${ns}/` : ''}${String(resource.kind ?? '')}/${String(meta.name ?? '')}`;
}

export function countAndDescribe(
  responses: EngineResponse[],
  policies: Map<string, JsonObject>,
  auditWarn: boolean,
  counts: ResultCounts,
  out: (line: string) => void,
): void {
  for (const response of responses) {
    const where = `policy ${response.policy.name} -> resource ${resourcePath(response.resource)}`;
    if (response.error !== undefined) {
      counts.error++;
      out(`\n${where} error:\n  ${response.error}`);
      continue;
    }
    const failed: string[] = [];
    const warned: string[] = [];
    response.rules.forEach((rule) => {
      let result = reportResult(response, rule);
      if (result === 'fail' && auditWarn && isAudit(policies.get(response.policy.name), rule)) result = 'warn';
      if (result in counts) counts[result as keyof ResultCounts]++;
      if (result === 'fail' || result === 'error') failed.push(`${failed.length + 1}. ${rule.name}: ${rule.message}`);
      if (result === 'warn') warned.push(`${warned.length + 1}. ${rule.name}: ${rule.message}`);
    });
    const mutated = response.rules.some((r) => r.type === 'Mutation' && r.status === 'pass');
    if (mutated) out(`\nmutate policy ${response.policy.name} applied to ${resourcePath(response.resource)}`);
    if (failed.length > 0) out(`\n${where} failed:\n${failed.join('\n')}`);
    if (warned.length > 0) out(`\n${where} warned:\n${warned.join('\n')}`);
  }
}
