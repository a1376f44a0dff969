// STUB (owner: match helper replaces this file). Public surface other modules rely on.
import type { JsonObject } from '../core/types';

/** The rules Kyverno evaluates for a policy: its own rules followed by the autogen-* rules. */
export function computeRules(policy: JsonObject): JsonObject[] {
  const spec = (policy.spec ?? {}) as JsonObject;
  return ((spec.rules ?? []) as JsonObject[]).slice();
}
