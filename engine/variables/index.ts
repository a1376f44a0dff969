import type { VariableScope } from './scope';
import { substituteAll, type SubstituteOptions } from './substitute';

export { VariableError, withVariables, mergePatch, variablePath } from './scope';
export type { VariableScope } from './scope';
export { substituteAll, isLiteralDocument, readsPlainPathsOnly, hasVariables, findVariables, variableExpression, resolveExpression } from './substitute';
export type { SubstituteOptions } from './substitute';
export { goJson } from './gojson';
export { substituteReferences, hasReferences } from './references';

/** Replaces every `{{ expr }}` in strings (and keys) of value; throws VariableError when a variable cannot be resolved. */
export function substituteVariables(value: unknown, scope: VariableScope, options?: SubstituteOptions): unknown {
  return substituteAll(value, scope, options);
}
