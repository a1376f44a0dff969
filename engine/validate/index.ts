/**
 * Validate rules: picks the handler Kyverno picks (manifests, podSecurity, cel, assert,
 * else pattern/anyPattern/deny/foreach) once the rule matched, its context loaded and its
 * preconditions passed (engine/apply does those, as Kyverno's invokeRuleHandler).
 */
import { validateClassicCel } from '../cel';
import { generatedForApiServer } from '../cel/admission-policy-generation';
import { policySpec } from '../policy';
import { podSecurityRuleResult } from '../pss';
import type { AdmissionRequest, JsonObject, RuleResult } from '../core/types';
import type { VariableScope } from '../variables';
import { ruleError } from './results';
import type { ValidateEnvironment } from './types';
import { runLevel, type ValidatorLevel } from './validator';
import { asObject, isJsonObject } from '../core/json';
import { hasVerifyManifests, verifyManifestsRule } from '../verify-manifests';
import { isBudgetExceeded } from '../core/budget';

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
    // The policy's ValidatingAdmissionPolicy was generated: the API server enforces it, and
    // Kyverno's validate.cel handler gives no response (validate_cel.go).
    if (generatedForApiServer(env.policy)) return null;
    const patchedRequest: AdmissionRequest = request.operation === 'DELETE' ? request : { ...request, object: resource };
    return validateClassicCel(env.rule, { ...env.options, request: patchedRequest });
  }
  if (validate.assert !== undefined) return ruleError(name, 'validate.assert is not supported yet');
  const root = {
    preconditions: env.rule.preconditions,
    pattern: validate.pattern,
    anyPattern: validate.anyPattern,
    deny: isJsonObject(validate.deny) ? validate.deny : undefined,
    forEach: Array.isArray(validate.foreach) ? (validate.foreach as JsonObject[]) : undefined,
    nesting: 0,
  };
  try {
    const result = runLevel(root, env, { scope, resource, isDelete: request.operation === 'DELETE', foreach: { visited: 0 } });
    return withExistingViolations(result, root, env, scope, request, resource);
  } catch (e) {
    // Budgets run out anywhere in nested foreach levels; Kyverno's "pass over an element's
    // error" must not hide them, so they end the whole rule here.
    if (isBudgetExceeded(e)) return ruleError(env.ruleName, 'failed to evaluate rule', e.message);
    throw e;
  }
}

function isEnforce(action: unknown): boolean {
  return typeof action === 'string' && action.toLowerCase() === 'enforce';
}

/**
 * Kyverno's validator.validate for Enforce rules on UPDATE with allowExistingViolations (the
 * default): the old object is validated as if it were being created, and when it violated
 * the rule too, the update is not blocked for it (a skip). With allowExistingViolations
 * false the failure stands.
 */
function withExistingViolations(
  result: RuleResult | null,
  root: ValidatorLevel,
  env: ValidateEnvironment,
  scope: VariableScope,
  request: AdmissionRequest,
  resource: JsonObject | null,
): RuleResult | null {
  if (result?.status !== 'fail') return result;
  const validate = isJsonObject(env.rule.validate) ? env.rule.validate : {};
  const action = validate.failureAction ?? policySpec(env.policy).validationFailureAction;
  const old = request.oldObject;
  // Kyverno's IsUpdateRequest: an UPDATE with both an old and a new object.
  if (!isEnforce(action) || validate.allowExistingViolations === false || request.operation !== 'UPDATE' || !old || !resource) return result;
  if (!env.oldObjectMatches?.(old)) return result;
  // The old object as a CREATE: it is request.object, there is no old object; the rule's
  // context is loaded again for it.
  const oldRequest = { ...(asObject(scope.data.request) as JsonObject), operation: 'CREATE', object: old, oldObject: null };
  const oldScope: VariableScope = { ...scope, data: { ...scope.data, request: oldRequest } };
  const prior = runLevel({ ...root, contextEntries: env.rule.context }, env, { scope: oldScope, resource: old, isDelete: false });
  if (prior?.status === 'fail') {
    return { name: env.ruleName, type: 'Validation', status: 'skip', message: 'skipping the rule evaluation as pre-existing violations are allowed' };
  }
  return result;
}
