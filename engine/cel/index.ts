// STUB (owner: CEL helper replaces this file). Public surface other modules rely on.
import type { JsonObject, PolicyResponse, RuleResult } from '../core/types';
import type { ApplyOptions } from '../apply';

/** Whether this document is a CEL-based policy kind the CEL engine evaluates. */
export function isCelPolicy(policy: JsonObject): boolean {
  const api = String(policy.apiVersion ?? '');
  return api.startsWith('policies.kyverno.io/') || api.startsWith('admissionregistration.k8s.io/');
}

/** Applies a policies.kyverno.io or admissionregistration.k8s.io policy. */
export function applyCelPolicy(policy: JsonObject, options: ApplyOptions): PolicyResponse {
  const obj = (options.request.object ?? options.request.oldObject ?? {}) as JsonObject;
  const meta = (obj.metadata ?? {}) as JsonObject;
  return {
    policy: { apiVersion: String(policy.apiVersion), kind: String(policy.kind), name: String((policy.metadata as JsonObject)?.name ?? '') },
    resource: { apiVersion: String(obj.apiVersion ?? ''), kind: String(obj.kind ?? ''), name: String(meta.name ?? '') },
    rules: [{ name: '', type: 'Validation', status: 'error', message: 'CEL policies are not supported yet' }],
    patchedResource: obj,
  };
}

/** Evaluates a classic rule's `validate.cel` block on the request (ClusterPolicy/Policy). */
export function validateClassicCel(rule: JsonObject, options: ApplyOptions): RuleResult {
  return { name: String(rule.name), type: 'Validation', status: 'error', message: 'validate.cel is not supported yet' };
}
