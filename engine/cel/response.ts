/** Building PolicyResponses for CEL policies. */
import type { ApplyOptions } from '../apply';
import type { JsonObject, PolicyResponse, RuleResult } from '../core/types';
import { asObject } from '../core/json';

export function emptyResponse(policy: JsonObject, options: ApplyOptions, rules: RuleResult[] = []): PolicyResponse {
  const obj = asObject(options.request.object ?? options.request.oldObject);
  const meta = asObject(obj.metadata);
  const pmeta = asObject(policy.metadata);
  return {
    policy: {
      apiVersion: String(policy.apiVersion ?? ''),
      kind: String(policy.kind ?? ''),
      name: String(pmeta.name ?? ''),
      ...(pmeta.namespace ? { namespace: String(pmeta.namespace) } : {}),
    },
    resource: {
      apiVersion: String(obj.apiVersion ?? ''),
      kind: String(obj.kind ?? ''),
      name: String(meta.name ?? ''),
      ...(meta.namespace ? { namespace: String(meta.namespace) } : {}),
    },
    rules,
    patchedResource: obj,
  };
}

/** Deny → Enforce; Audit/Warn only → Audit (Kyverno's report mapping of validationActions). */
export function failureActionOf(actions: unknown): 'Enforce' | 'Audit' {
  const list = Array.isArray(actions) ? actions.map(String) : ['Deny'];
  return list.includes('Deny') ? 'Enforce' : 'Audit';
}
