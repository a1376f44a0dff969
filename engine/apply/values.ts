/**
 * Test values (cli.kyverno.io Values) as the Kyverno CLI applies them: global values, then
 * the policy's per-resource values (later wins), added to the context of every rule; the
 * rule's own values and foreachValues added each time a rule or foreach context is loaded.
 * A `request.operation` value turns the request into an UPDATE (old object = the
 * resource) or a DELETE, as the CLI's makePolicyContext does.
 */
import type { AdmissionRequest, JsonObject, TestValues } from '../core/types';
import { variablePath, withVariables, type VariableScope } from '../variables';

export function resourceValues(values: TestValues | undefined, policyName: string, resourceName: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!values) return out;
  Object.assign(out, values.globalValues ?? {});
  for (const p of values.policies ?? []) {
    if (p.name !== policyName) continue;
    for (const r of p.resources ?? []) if (r.name === resourceName) Object.assign(out, r.values ?? {});
  }
  return out;
}

type RuleValues = NonNullable<NonNullable<TestValues['policies']>[number]['rules']>[number];

/** The values entry of a rule; autogen rules share their source rule's values (Kyverno's GetPolicyRule). */
export function ruleValues(values: TestValues | undefined, policyName: string, ruleName: string): RuleValues | undefined {
  for (const p of values?.policies ?? []) {
    if (p.name !== policyName) continue;
    for (const r of p.rules ?? []) {
      if (ruleName === r.name || ruleName === `autogen-${r.name}` || ruleName === `autogen-cronjob-${r.name}`) return r;
    }
  }
  return undefined;
}

/** Adds a rule's values and, for foreach element `index`, its foreachValues. */
export function withRuleValues(scope: VariableScope, rv: RuleValues | undefined, index: number): VariableScope {
  if (!rv) return scope;
  const vars: Record<string, unknown> = { ...(rv.values ?? {}) };
  for (const [k, list] of Object.entries(rv.foreachValues ?? {})) {
    if (Array.isArray(list) && index < list.length) vars[k] = list[index];
  }
  return withVariables(scope, vars);
}

const NO_NAMES: ReadonlySet<string> = new Set();

/** No own enumerable key (without the array Object.keys would make). */
function isEmpty(o: Record<string, unknown>): boolean {
  for (const k in o) if (Object.prototype.hasOwnProperty.call(o, k)) return false;
  return true;
}

/** Names the rule's values define (entries needing a cluster keep these). */
export function providedNames(rv: RuleValues | undefined, resource: Record<string, unknown>): ReadonlySet<string> {
  // Without test values (the webhook, most rules) there is nothing to build per rule.
  if (!rv && isEmpty(resource)) return NO_NAMES;
  const names = new Set<string>(Object.keys(resource).map((k) => variablePath(k)[0]));
  for (const k of Object.keys(rv?.values ?? {})) names.add(variablePath(k)[0]);
  for (const k of Object.keys(rv?.foreachValues ?? {})) names.add(variablePath(k)[0]);
  return names;
}

/** The request the CLI would build given a `request.operation` value. */
export function requestForValues(request: AdmissionRequest, vals: Record<string, unknown>): AdmissionRequest {
  const op = vals['request.operation'];
  if (op === undefined || op === request.operation) return request;
  const resource = (request.object ?? request.oldObject) as JsonObject | null;
  if (op === 'UPDATE') return { ...request, operation: 'UPDATE', object: resource, oldObject: request.oldObject ?? resource };
  if (op === 'DELETE') return { ...request, operation: 'DELETE', object: null, oldObject: request.oldObject ?? resource };
  if (op === 'CREATE') return { ...request, operation: 'CREATE', object: resource, oldObject: null };
  return request;
}
