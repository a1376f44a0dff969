/**
 * ValidatingPolicy / NamespacedValidatingPolicy (policies.kyverno.io), following Kyverno's vpol
 * engine: match → exceptions → matchConditions → variables → validations. One result per
 * policy, unnamed as Kyverno's (exceptions: "exception"; engine errors: "evaluation"/"match").
 */
import type { ApplyOptions } from '../apply';
import type { JsonObject, PolicyResponse, RuleResult } from '../core/types';
import { autogenSpec, autogenTargetFor } from './autogen';
import { buildActivation, installVariables } from './context';
import { matchCelExceptions } from './exceptions';
import { matchConstraintsMatch, requestTarget } from './match';
import { emptyResponse, failureActionOf } from './response';
import { evaluateMatchConditions, evaluateValidations, validationsEvaluated } from './validations';
import { toCel } from './values';
import { asObject } from '../core/json';

/** The spec to evaluate for this request: the policy's own, an autogen variant, or none. */
export function effectiveSpec(policy: JsonObject, options: ApplyOptions, generate: typeof autogenSpec = autogenSpec): { spec: JsonObject; autogen: boolean } | null {
  const spec = asObject(policy.spec);
  const mode = String(asObject(spec.evaluation).mode ?? 'Kubernetes');
  if (mode === 'JSON') return { spec, autogen: false };
  if (matchConstraintsMatch(spec.matchConstraints, options.request, options.cluster)) return { spec, autogen: false };
  const t = requestTarget(options.request);
  const target = autogenTargetFor(spec, t.group, t.version, t.kind);
  if (!target) return null;
  const generated = generate(spec, target);
  if (!matchConstraintsMatch(generated.matchConstraints, options.request, options.cluster)) return null;
  return { spec: generated, autogen: true };
}

/** `properties` when there are any. */
export function withProperties(properties: Record<string, string>): Partial<RuleResult> {
  return Object.keys(properties).length ? { properties } : {};
}

export function applyValidatingPolicy(policy: JsonObject, options: ApplyOptions): PolicyResponse {
  const found = effectiveSpec(policy, options);
  if (!found) return emptyResponse(policy, options);
  const { spec } = found;
  const failureAction = failureActionOf(spec.validationActions);
  // Kyverno's vpol engine names its one result "" (exceptions "exception", errors "evaluation"/"match").
  const rule = (status: RuleResult['status'], message: string, name = '', extra: Partial<RuleResult> = {}): PolicyResponse =>
    emptyResponse(policy, options, [{ name, type: 'Validation', status, message, failureAction, ...extra }]);

  const json = String(asObject(spec.evaluation).mode ?? '') === 'JSON';
  const act = buildActivation(options, json ? { kubernetes: false } : {});
  const exceptions = matchCelExceptions(policy, options.cluster.exceptions, act);
  if (exceptions && !exceptions.allowedImages.length && !exceptions.allowedValues.length) {
    const verb = exceptions.reportResult === 'pass' ? 'passed' : 'skipped';
    return rule(exceptions.reportResult, `rule is ${verb} due to policy exception: ${exceptions.keys.join(', ')}`, 'exception', { exceptions: exceptions.keys });
  }
  act.vars.exceptions = toCel({ allowedImages: exceptions?.allowedImages ?? [], allowedValues: exceptions?.allowedValues ?? [] });

  const match = evaluateMatchConditions(spec.matchConditions, act, spec.failurePolicy);
  if (match.error) return rule('error', `failed to load context: ${match.error}`, 'evaluation');
  if (!match.matched) return rule('skip', 'skip', '', { skipReason: 'matchConditions' });
  installVariables(act, spec.variables);
  const outcome = evaluateValidations(spec.validations, spec.auditAnnotations, act);
  const reached = { validationsEvaluated: validationsEvaluated(outcome, Array.isArray(spec.validations) ? spec.validations.length : 0) };
  switch (outcome.kind) {
    // As Kyverno's vpol engine: a pass carries the audit annotations, a failure also the failing validation's index.
    case 'pass': return rule('pass', 'success', undefined, { ...reached, ...withProperties(outcome.auditAnnotations) });
    case 'fail': return rule('fail', outcome.message, undefined, { ...reached, properties: { ...outcome.auditAnnotations, 'cel.validationIndex': String(outcome.index) } });
    case 'error': return rule('error', `error: ${outcome.message}`, undefined, reached);
    default: return emptyResponse(policy, options);
  }
}
