import type { ApplyOptions } from '../apply';
import type { ContextEnvironment } from '../context';
import type { JsonObject } from '../core/types';
import type { VariableScope } from '../variables';

/** What a validate rule needs beyond its scope. */
export interface ValidateEnvironment {
  policy: JsonObject;
  rule: JsonObject;
  ruleName: string;
  context: ContextEnvironment;
  options: ApplyOptions;
  /** Adds the test's foreachValues for element `index` (the CLI's store does this per element). */
  withForeachValues(scope: VariableScope, index: number): VariableScope;
  /** PolicyExceptions matched to this rule that only relax podSecurity controls. */
  exceptions?: JsonObject[];
  /** Whether the rule selects the old object as a CREATE (podSecurity's allowExistingViolations). */
  oldObjectMatches?: (oldObject: JsonObject) => boolean;
}
