// STUB (owner: mutate helper replaces this file). Public surface other modules rely on.
import type { JsonObject, RuleResult } from '../core/types';
import type { VariableScope } from '../variables';

export interface MutateOutcome {
  result: RuleResult;
  /** The resource after the rule (the input when nothing changed). */
  patched: JsonObject;
}

/**
 * Applies one mutate rule (patchStrategicMerge, patchesJson6902, foreach) to a resource.
 * The rule's match/exclude/preconditions were already checked by the caller.
 */
export function applyMutateRule(rule: JsonObject, resource: JsonObject, _scope: VariableScope): MutateOutcome {
  return { result: { name: String(rule.name), type: 'Mutation', status: 'skip', message: 'mutate is not supported yet' }, patched: resource };
}
