// STUB (owner: core helper replaces this file). The engine's entry point.
import type { AdmissionRequest, ClusterState, JsonObject, PolicyResponse, TestValues } from '../core/types';

export interface ApplyOptions {
  request: AdmissionRequest;
  cluster: ClusterState;
  /** Test values (cli.kyverno.io Values): win over context entries. */
  values?: TestValues;
  /** Clock for time_* functions and CEL now(); tests pin it. */
  now?: Date;
}

/** Applies one policy (any supported kind) to the request's resource. */
export function applyPolicy(policy: JsonObject, options: ApplyOptions): PolicyResponse {
  const obj = (options.request.object ?? options.request.oldObject ?? {}) as JsonObject;
  const meta = (obj.metadata ?? {}) as JsonObject;
  const pmeta = (policy.metadata ?? {}) as JsonObject;
  return {
    policy: { apiVersion: String(policy.apiVersion), kind: String(policy.kind), name: String(pmeta.name ?? '') },
    resource: { apiVersion: String(obj.apiVersion ?? ''), kind: String(obj.kind ?? ''), name: String(meta.name ?? '') },
    rules: [],
    patchedResource: obj,
  };
}
