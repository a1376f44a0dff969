// STUB (owner: core helper replaces this file). Public surface other modules rely on.
import type { VariableScope } from '../variables';

export interface ConditionsOutcome {
  passed: boolean;
  /** Why they did not pass (Kyverno's wording), or the error. */
  message?: string;
}

/** Evaluates preconditions / deny conditions (any/all or the legacy list) in a scope. */
export function evaluateConditions(_conditions: unknown, _scope: VariableScope): ConditionsOutcome {
  return { passed: true };
}
