/**
 * MutatingPolicy / NamespacedMutatingPolicy (Kyverno's mpol engine: one rule named "" with
 * "success"/"skip", "evaluation" on errors, "exception" for exceptions), on the admitted
 * object and, with mutateExisting, on existing target resources (mutate-existing.ts).
 */
import type { ApplyOptions } from '../apply';
import type { JsonObject, PolicyResponse, RuleResult } from '../core/types';
import { buildActivation, installVariables } from './context';
import { runMutations } from './mutations';
import { matchCelExceptions } from './exceptions';
import { emptyResponse } from './response';
import { evaluateAuditAnnotations, evaluateMatchConditions } from './validations';
import { effectiveSpec, withProperties } from './validating-policy';
import { mutatingAutogenSpec } from './autogen';
import { toCel } from './values';
import { mutateExistingTargets } from './mutate-existing';
import { asArray, asObject, isJsonObject } from '../core/json';
import { celPolicySpecErrors, celPolicyVerdict } from '../cleanup/policy';
import { verdictResult, type AdmissionVerdict, type PolicyCheckResult } from '../policy/admission-checks';

export { runMutations };

export function applyMutatingPolicy(policy: JsonObject, options: ApplyOptions): PolicyResponse {
  const response = mutateTrigger(policy, options);
  const targets = mutateExistingTargets(policy, options);
  if (targets.length) response.rules = [...response.rules, ...targets];
  return response;
}

/** The admission part: the policy's mutations on the request object. */
function mutateTrigger(policy: JsonObject, options: ApplyOptions): PolicyResponse {
  const found = effectiveSpec(policy, options, mutatingAutogenSpec);
  if (!found) return emptyResponse(policy, options);
  const { spec } = found;
  const object = asObject(options.request.object);
  const respond = (status: RuleResult['status'], message: string, patched?: JsonObject, name = '', extra: Partial<RuleResult> = {}): PolicyResponse => {
    const res = emptyResponse(policy, options, [{ name, type: 'Mutation', status, message, ...(patched ? { patchedResource: patched } : {}), ...extra }]);
    if (patched) res.patchedResource = patched;
    return res;
  };
  const act = buildActivation(options);
  const exceptions = matchCelExceptions(policy, options.cluster.exceptions, act);
  // As Kyverno's mpol compiler: only an exception without images or allowed values exempts;
  // the others' images and values are the policy's `exceptions` variable.
  if (exceptions && !exceptions.allowedImages.length && !exceptions.allowedValues.length) {
    const verb = exceptions.reportResult === 'pass' ? 'passed' : 'skipped';
    // The result names its exceptions (Kyverno's WithExceptions), for reports and events.
    return respond(exceptions.reportResult, `rule is ${verb} due to policy exception: ${exceptions.keys.join(', ')}`, undefined, 'exception', { exceptions: exceptions.keys });
  }
  act.vars.exceptions = toCel({ allowedImages: exceptions?.allowedImages ?? [], allowedValues: exceptions?.allowedValues ?? [] });
  // MutatingPolicy variables are visible to matchConditions (they are lazy, so cost nothing).
  installVariables(act, spec.variables);
  const match = evaluateMatchConditions(spec.matchConditions, act, spec.failurePolicy);
  if (match.error) return respond('error', `failed to evaluate policy: ${match.error}`, undefined, 'evaluation');
  if (!match.matched) return respond('skip', 'skip');
  try {
    const patched = runMutations(spec.mutations, object, act);
    // Kyverno's mpol engine surfaces the evaluated auditAnnotations on a pass.
    return respond('pass', 'success', patched, '', withProperties(evaluateAuditAnnotations(spec.auditAnnotations, act)));
  } catch (err) {
    return respond('error', `failed to evaluate policy: ${(err as Error).message}`, undefined, 'evaluation');
  }
}

/**
 * Kyverno's policy webhook for a MutatingPolicy or NamespacedMutatingPolicy
 * (pkg/cel/policies/mpol/validate.go, without the CEL compilation): a spec, matchConstraints
 * with a resource rule, and at least one of the admission and mutateExisting evaluation
 * modes. Each error is a warning too.
 */
export function mutatingPolicyAdmissionVerdict(policy: JsonObject): AdmissionVerdict {
  const { spec, errors } = celPolicySpecErrors(policy);
  if (!spec) return celPolicyVerdict(errors);
  const evaluation = asObject(spec.evaluation);
  const admission = asObject(evaluation.admission).enabled !== false;
  const mutateExisting = asObject(evaluation.mutateExisting).enabled === true;
  if (!admission && !mutateExisting) errors.push({ path: ['spec', 'evaluation'], message: 'spec.evaluation: Forbidden: disabling both admission and mutateExisting evaluation modes is not allowed' });
  return celPolicyVerdict(errors);
}

/** The MutatingPolicy webhook's answer: one aggregated message, each error a warning too. */
export function checkMutatingPolicyForAdmission(policy: JsonObject): PolicyCheckResult {
  return verdictResult(mutatingPolicyAdmissionVerdict(policy));
}
