/** Counting and printing `apply` results as `kyverno apply` (1.19) does. */
import { stringify } from 'yaml';
import type { JsonObject, RuleResult } from '../../engine/core/types';
import type { EngineResponse } from '../../engine/testing';
import { reportResult } from '../../engine/testing';
import { isJsonObject } from '../../engine/core/json';
import { renderTable } from '../output/table';

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

/** `namespace/Kind/name` as kyverno apply prints it; payloads have none and are "JSON payload". */
export function resourcePath(resource: JsonObject): string {
  const meta = isJsonObject(resource.metadata) ? resource.metadata : {};
  const ns = typeof meta.namespace === 'string' ? meta.namespace : '';
  const path = `${ns}/${String(resource.kind ?? '')}/${String(meta.name ?? '')}`;
  return path === '//' ? 'JSON payload' : path;
}

/** YAML as Go's sigs.k8s.io/yaml writes it: sorted keys, sequences not indented. */
export function goYaml(value: unknown): string {
  return stringify(value, { sortMapEntries: true, indentSeq: false, lineWidth: 0 });
}

/** The result of a rule for counting: unscored failures warn, Audit failures warn with --audit-warn. */
export function countedResult(response: EngineResponse, rule: RuleResult, policies: Map<string, JsonObject>, auditWarn: boolean): string {
  const result = reportResult(response, rule);
  if (result === 'fail' && auditWarn && isAudit(policies.get(response.policy.name), rule)) return 'warn';
  return result;
}

export function countResults(responses: EngineResponse[], policies: Map<string, JsonObject>, auditWarn: boolean, counts: ResultCounts): void {
  for (const response of responses) {
    if (response.error !== undefined) {
      counts.error++;
      continue;
    }
    for (const rule of response.rules) {
      const result = countedResult(response, rule, policies, auditWarn);
      if (result in counts) counts[result as keyof ResultCounts]++;
    }
  }
}

/**
 * The per-response lines of kyverno apply's default output: skipped or failed mutations,
 * failed generations, and the failed rules of each policy ("failed:" or, with --audit-warn
 * on an Audit policy, "failed as audit warning:").
 */
export function describeResponses(responses: EngineResponse[], policies: Map<string, JsonObject>, auditWarn: boolean, out: (line: string) => void): void {
  for (const response of responses) {
    const name = response.policy.name;
    const where = resourcePath(response.resource);
    if (response.error !== undefined) {
      out(`\nerror while applying policy ${name} -> resource ${where} \nerror:  ${response.error}`);
      continue;
    }
    const failed: RuleResult[] = [];
    for (const rule of response.rules) {
      if (rule.status === 'fail') failed.push(rule);
      if (rule.type === 'Mutation' && rule.status === 'skip') out(`\nskipped mutate policy ${name} -> resource ${where}`);
      if (rule.type === 'Mutation' && rule.status === 'error') out(`\nerror while applying mutate policy ${name} -> resource ${where} \nerror:  ${rule.message}`);
      if (rule.type === 'Generation' && rule.status === 'error') out(`\nerror while applying generate policy ${name} -> resource ${where} \nerror: ${rule.message}`);
    }
    if (failed.length === 0) continue;
    const audit = auditWarn && failed.every((rule) => isAudit(policies.get(name), rule));
    out(`policy ${name} -> resource ${where} ${audit ? 'failed as audit warning:' : 'failed:'}`);
    failed.forEach((rule, i) => out(`${i + 1} - ${rule.name} ${rule.message || 'validation failed'}`));
  }
}

const KYVERNO_POLICY_GROUP = 'kyverno.io/';

/** `kyverno apply --table`: one row per rule response; the rule column only for kyverno.io policies. */
export function applyTable(responses: EngineResponse[], policies: Map<string, JsonObject>, auditWarn: boolean, detailed: boolean): string {
  const rows: string[][] = [];
  for (const response of responses) {
    const meta = isJsonObject(response.resource.metadata) ? response.resource.metadata : {};
    const ns = typeof meta.namespace === 'string' ? meta.namespace : '';
    const resource = `${ns ? `${ns}/` : ''}${String(response.resource.kind ?? '')}/${String(meta.name ?? '')}`;
    const policy = `${response.policy.namespace ? `${response.policy.namespace}/` : ''}${response.policy.name}`;
    const isKyvernoPolicy = response.policy.apiVersion.startsWith(KYVERNO_POLICY_GROUP) && (response.policy.kind === 'ClusterPolicy' || response.policy.kind === 'Policy');
    for (const rule of response.rules) {
      const counted = countedResult(response, rule, policies, auditWarn);
      const result = { pass: 'Pass', fail: 'Fail', warn: 'Warn', error: 'Error', skip: 'Skip' }[counted] ?? counted;
      const cells = [String(rows.length + 1), policy, isKyvernoPolicy ? rule.name : '', resource, result, ''];
      rows.push(detailed ? [...cells, rule.message] : cells);
    }
  }
  const headers = ['ID', 'POLICY', 'RULE', 'RESOURCE', 'RESULT', 'REASON'];
  return renderTable(detailed ? [...headers, 'MESSAGE'] : headers, rows);
}
