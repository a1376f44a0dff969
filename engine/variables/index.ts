// STUB (owner: core helper replaces this file). Public surface other modules rely on.
import type { JsonObject } from '../core/types';

/**
 * What `{{ }}` expressions see: one JSON document ({ request, images, element, elementIndex,
 * context entries by name, ... }) that JMESPath queries run against.
 */
export interface VariableScope {
  data: JsonObject;
  /** Clock for time_* functions. */
  now?: Date;
}

export class VariableError extends Error {}

/** A child scope with extra top-level names (context entries, element, elementIndex...). */
export function withVariables(scope: VariableScope, vars: Record<string, unknown>): VariableScope {
  return { ...scope, data: { ...scope.data, ...vars } };
}

/** Replaces every `{{ expr }}` in strings (and keys) of value; throws VariableError when a variable cannot be resolved. */
export function substituteVariables(value: unknown, _scope: VariableScope): unknown {
  return value;
}
