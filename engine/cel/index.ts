/**
 * The CEL engine: CEL policy kinds (policies.kyverno.io, admissionregistration.k8s.io) and the
 * CEL parts of classic policies. See environment.ts for the expression language setup.
 */
import type { JsonObject, PolicyResponse, RuleResult } from '../core/types';
import type { ApplyOptions } from '../apply';
import { applyValidatingPolicy } from './validating-policy';
import { applyMutatingPolicy } from './mutating-policy';
import { applyGeneratingPolicy, applyDeletingPolicy } from './other-policies';
import { applyImageValidatingPolicy } from './image-validating-policy';
import { applyValidatingAdmissionPolicy } from './validating-admission-policy';
import { applyMutatingAdmissionPolicy } from './mutating-admission-policy';
import { emptyResponse } from './response';
import { asObject } from '../core/json';
import { requestTarget } from './match';
import type { CelApplyOptions } from './context';
import { validateClassicCel as validateClassic, evaluateCelPreconditions as evaluatePreconditions } from './classic';
export { webhookMatchConditionsHold } from './classic';

export { checkCelExpression, type CelDiagnostic, type CelCheckContext, type CelResultType } from './diagnostics';
export { evalCel, evalCelBool, CelError } from './environment';
export { toCel, fromCel } from './values';
export { setCostLimit, DEFAULT_COST_LIMIT } from './budget';
export { evaluateAuthzPolicy, authzModeOf, type AuthzMode } from './authz-policy';
export { envoyCheckRequestFromJson, EnvoyPayloadError } from './lib-authz-envoy';
export { httpCheckRequestFromJson, HttpPayloadError } from './lib-authz-http';

const CEL_KINDS = new Set([
  'ValidatingPolicy', 'NamespacedValidatingPolicy', 'MutatingPolicy', 'NamespacedMutatingPolicy',
  'GeneratingPolicy', 'NamespacedGeneratingPolicy', 'DeletingPolicy', 'NamespacedDeletingPolicy',
  'ImageValidatingPolicy', 'NamespacedImageValidatingPolicy',
  'ValidatingAdmissionPolicy', 'MutatingAdmissionPolicy',
]);

/** Whether this document is a CEL-based policy kind the CEL engine evaluates. */
export function isCelPolicy(policy: JsonObject): boolean {
  const api = String(policy.apiVersion ?? '');
  return (api.startsWith('policies.kyverno.io/') || api.startsWith('admissionregistration.k8s.io/')) && CEL_KINDS.has(String(policy.kind ?? ''));
}

/** Applies a policies.kyverno.io or admissionregistration.k8s.io policy. */
export function applyCelPolicy(policy: JsonObject, options: ApplyOptions): PolicyResponse {
  // Namespaced* kinds only see resources of their own namespace; JSON-mode ones evaluate any
  // payload (Kyverno's vpol engine does not match JSON requests).
  const policyNamespace = String(((policy.metadata ?? {}) as JsonObject).namespace ?? '');
  const namespaced = String(policy.kind ?? '').startsWith('Namespaced') && policyNamespace !== '';
  const jsonMode = String(policy.kind) === 'NamespacedValidatingPolicy' && asObject(asObject(policy.spec).evaluation).mode === 'JSON';
  if (namespaced && !jsonMode && requestTarget(options.request).namespace !== policyNamespace) {
    return emptyResponse(policy, options);
  }
  // Kyverno compiles a Namespaced* policy's libraries for its namespace (resource.get without one).
  if (namespaced) options = { ...options, policyNamespace } as CelApplyOptions;
  try {
    switch (String(policy.kind ?? '')) {
      case 'ValidatingPolicy':
      case 'NamespacedValidatingPolicy':
        return applyValidatingPolicy(policy, options);
      case 'MutatingPolicy':
      case 'NamespacedMutatingPolicy':
        return applyMutatingPolicy(policy, options);
      case 'GeneratingPolicy':
      case 'NamespacedGeneratingPolicy':
        return applyGeneratingPolicy(policy, options);
      case 'DeletingPolicy':
      case 'NamespacedDeletingPolicy':
        return applyDeletingPolicy(policy, options);
      case 'ImageValidatingPolicy':
      case 'NamespacedImageValidatingPolicy':
        return applyImageValidatingPolicy(policy, options);
      case 'ValidatingAdmissionPolicy':
        return applyValidatingAdmissionPolicy(policy, options);
      case 'MutatingAdmissionPolicy':
        return applyMutatingAdmissionPolicy(policy, options);
      default:
        return emptyResponse(policy, options, [{ name: '', type: 'Validation', status: 'error', message: `unsupported CEL policy kind ${String(policy.kind)}` }]);
    }
  } catch (err) {
    return emptyResponse(policy, options, [{ name: 'evaluation', type: 'Validation', status: 'error', message: `policy evaluation failed: ${(err as Error).message}` }]);
  }
}

/** Evaluates a classic rule's `validate.cel` block on the request (ClusterPolicy/Policy). */
export function validateClassicCel(rule: JsonObject, options: ApplyOptions): RuleResult {
  return validateClassic(rule, options);
}

/**
 * Evaluates a classic rule's `celPreconditions` (Kubernetes matchConditions shape). Returns
 * `{ pass: true }` when all hold, `{ pass: false, message }` when one is false (the rule is
 * skipped), `{ pass: false, error }` when one cannot be evaluated.
 */
export function evaluateCelPreconditions(conditions: unknown, options: ApplyOptions): { pass: boolean; message?: string; error?: string } {
  return evaluatePreconditions(conditions, options);
}
