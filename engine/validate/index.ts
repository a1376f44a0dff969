/**
 * Validate rules: picks the handler Kyverno picks (manifests, podSecurity, cel, assert,
 * else pattern/anyPattern/deny/foreach) once the rule matched, its context loaded and its
 * preconditions passed (engine/apply does those, as Kyverno's invokeRuleHandler).
 */
import { validateClassicCel } from '../cel';
import { policySpec } from '../policy';
import { podSecurityRuleResult } from '../pss';
import type { AdmissionRequest, JsonObject, RuleResult } from '../core/types';
import type { VariableScope } from '../variables';
import { ruleError } from './results';
import type { ValidateEnvironment } from './types';
import { runLevel } from './validator';
import { isJsonObject } from '../core/json';
import { hasVerifyManifests, verifyManifestsRule } from '../verify-manifests';

export type { ValidateEnvironment } from './types';
export { ruleError, ruleResult, sameResult } from './results';

/**
 * Runs one validate rule on the (patched) resource. Null when Kyverno produces no
 * response (e.g. a pattern rule on a DELETE request).
 */
export function validateRule(
  env: ValidateEnvironment,
  scope: VariableScope,
  request: AdmissionRequest,
  resource: JsonObject | null,
): RuleResult | null {
  const validate = isJsonObject(env.rule.validate) ? env.rule.validate : {};
  const name = env.ruleName;
  if (hasVerifyManifests(validate)) return verifyManifestsRule(name, validate.manifests as JsonObject, request, resource);
  if (validate.podSecurity !== undefined) {
    return podSecurityRuleResult(env.rule, request, resource, {
      exceptions: (env.exceptions ?? []).filter((ex) => isJsonObject(ex.spec) && ex.spec.podSecurity !== undefined),
      policyFailureAction: typeof policySpec(env.policy).validationFailureAction === 'string' ? String(policySpec(env.policy).validationFailureAction) : undefined,
      // A method of the caller's environment: called through it, not detached.
      oldObjectMatches: env.oldObjectMatches ? (old) => env.oldObjectMatches!(old) : undefined,
    });
  }
  if (validate.cel !== undefined) {
    const patchedRequest: AdmissionRequest = request.operation === 'DELETE' ? request : { ...request, object: resource };
    return validateClassicCel(env.rule, { ...env.options, request: patchedRequest });
  }
  if (validate.assert !== undefined) return ruleError(name, 'validate.assert is not supported yet');
  // Kyverno's IsUpdateRequest: both an old and a new object.
  const isUpdate = request.operation === 'UPDATE' && !!request.oldObject && !!resource;
  return runLevel(
    {
      preconditions: env.rule.preconditions,
      pattern: validate.pattern,
      anyPattern: validate.anyPattern,
      deny: isJsonObject(validate.deny) ? validate.deny : undefined,
      forEach: Array.isArray(validate.foreach) ? (validate.foreach as JsonObject[]) : undefined,
      nesting: 0,
    },
    env,
    { scope, resource, isDelete: request.operation === 'DELETE', isUpdate, oldResource: request.oldObject ?? null },
  );
}
