/**
 * The webhook's policy set: engine/evaluate's kind index (each review runs only the policies
 * whose match can select its kind) plus the policies with generate rules, found once per
 * policy set so reviews pay nothing for the rest.
 */
import { PolicyKindIndex } from '../engine/evaluate';
import type { JsonObject } from '../engine/core/types';

/** A classic policy with at least one generate rule (CEL kinds have none). */
function hasGenerateRules(policy: JsonObject): boolean {
  if (policy.kind !== 'ClusterPolicy' && policy.kind !== 'Policy') return false;
  const rules = ((policy.spec ?? {}) as JsonObject).rules;
  return Array.isArray(rules) && rules.some((r) => typeof r === 'object' && r !== null && typeof (r as JsonObject).generate === 'object' && (r as JsonObject).generate !== null);
}

export class PolicyIndex extends PolicyKindIndex {
  readonly generating = new Set<JsonObject>();

  constructor(policies: JsonObject[]) {
    super(policies);
    for (const p of policies) if (hasGenerateRules(p)) this.generating.add(p);
  }
}
