/**
 * Non-Kubernetes payloads of `kyverno test` and `kyverno apply` (commands/test/test.go,
 * processor/policy_processor.go, processor/authz_processor.go):
 * - JSON payloads (`jsonPayloads`, `--json`): any JSON or YAML object, given as `object` to the
 *   ValidatingPolicies in `evaluation.mode: JSON`; Kubernetes-mode policies skip them. Each
 *   payload's results are keyed by its cleaned name as the test wrote it.
 * - HTTP and Envoy payloads (`httpPayloads`/`envoyPayloads`, `--http-payload`/`--envoy-payload`):
 *   authorization requests for the ValidatingPolicies in `evaluation.mode: HTTP`/`Envoy`, keyed
 *   by their path joined to the test's folder. Each policy answers with one rule named after it.
 * Results are keyed by these names, so `resources: [payload.json]` in a test result selects them.
 */
import type { ClusterState, JsonObject, PolicyRef, RuleResult } from '../core/types';
import { applyPolicy } from '../apply';
import { authzModeOf, envoyCheckRequestFromJson, evaluateAuthzPolicy, httpCheckRequestFromJson, type AuthzMode } from '../cel';
import { asObject, isJsonObject } from '../core/json';
import { formatLoadError, parseYamlDocuments } from '../loader/parse';
import { buildActivation, installVariables } from '../cel/context';
import { matchCelExceptions } from '../cel/exceptions';
import { evaluateMatchConditions } from '../cel/validations';
import type { EngineResponse } from './types';

export interface Payload {
  /** The key of the payload's results (a cleaned name or a path). */
  key: string;
  value: unknown;
}

export class PayloadError extends Error {}

const VALIDATING_KINDS = new Set(['ValidatingPolicy', 'NamespacedValidatingPolicy']);
const DELETING_KINDS = new Set(['DeletingPolicy', 'NamespacedDeletingPolicy']);

/** Whether a policy evaluates JSON payloads (a ValidatingPolicy in `evaluation.mode: JSON`). */
export function isJsonModePolicy(policy: JsonObject): boolean {
  if (!VALIDATING_KINDS.has(String(policy.kind ?? '')) || !String(policy.apiVersion ?? '').startsWith('policies.kyverno.io/')) return false;
  return asObject(asObject(policy.spec).evaluation).mode === 'JSON';
}

/** Whether a policy only ever evaluates authorization payloads (never Kubernetes resources). */
export function isAuthzPolicy(policy: JsonObject): boolean {
  return authzModeOf(policy) !== null;
}

/**
 * A JSON payload file (Kyverno's payload.Load): `.json` through a JSON decoder, `.yaml`/`.yml`
 * as YAML documents (several documents make a list, which is refused); it must be an object.
 */
export function loadJsonPayload(name: string, path: string, text: string): Payload {
  let value: unknown;
  if (/\.json$/.test(path)) {
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new PayloadError(`failed to load JSON payload ${name} (${(err as Error).message})`);
    }
  } else if (/\.ya?ml$/.test(path)) {
    const parsed = parseYamlDocuments(text, path);
    if (parsed.errors.length > 0) throw new PayloadError(`failed to load JSON payload ${name} (${formatLoadError(parsed.errors[0])})`);
    const docs = parsed.documents.map((d) => d.value);
    value = docs.length === 1 ? docs[0] : docs.length === 0 ? null : docs;
  } else {
    throw new PayloadError(`failed to load JSON payload ${name} (unrecognized payload format, must be yaml or json (${path}))`);
  }
  if (value === null || value === undefined) throw new PayloadError(`JSON payload ${name} is empty or nil`);
  if (!isJsonObject(value)) throw new PayloadError(`JSON payload ${name} must be a top-level object (map)`);
  return { key: name, value };
}

/** An HTTP or Envoy authorization request file, decoded as the Kyverno CLI does. */
export function loadAuthzPayload(mode: AuthzMode, path: string, text: string): Payload {
  try {
    return { key: path, value: mode === 'Envoy' ? envoyCheckRequestFromJson(text) : httpCheckRequestFromJson(text) };
  } catch (err) {
    throw new PayloadError(`failed to load ${mode} payloads from path ${path} (${(err as Error).message})`);
  }
}

function policyRef(policy: JsonObject): PolicyRef {
  const meta = asObject(policy.metadata);
  return {
    apiVersion: String(policy.apiVersion ?? ''),
    kind: String(policy.kind ?? ''),
    name: String(meta.name ?? ''),
    ...(typeof meta.namespace === 'string' ? { namespace: meta.namespace } : {}),
  };
}

function annotations(policy: JsonObject): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(asObject(asObject(policy.metadata).annotations))) if (typeof v === 'string') out[k] = v;
  return out;
}

export interface PayloadEvaluationInput {
  policies: JsonObject[];
  cluster: ClusterState;
  now?: Date;
}

/**
 * A DeletingPolicy on a JSON payload (the CLI's applyDeletingPolicies): without apiVersion and
 * kind there is nothing to match, so the conditions decide: pass "resource matched", fail
 * "resource did not match" (also when an exception applies), error when they cannot run.
 */
function deletingVerdict(policy: JsonObject, object: JsonObject, input: PayloadEvaluationInput): RuleResult {
  const name = String(asObject(policy.metadata).name ?? '');
  const spec = asObject(policy.spec);
  const rule = (status: RuleResult['status'], message: string): RuleResult => ({ name, type: 'Validation', status, message });
  const act = buildActivation({ request: { operation: 'CREATE', object, oldObject: null, requestInfo: { roles: [], clusterRoles: [], userInfo: {} } }, cluster: input.cluster, now: input.now });
  installVariables(act, spec.variables);
  if (matchCelExceptions(policy, input.cluster.exceptions, act)) return rule('fail', 'resource did not match');
  const conditions = evaluateMatchConditions(spec.conditions, act, 'Fail');
  if (conditions.error) return rule('error', conditions.error);
  return conditions.matched ? rule('pass', 'resource matched') : rule('fail', 'resource did not match');
}

/**
 * Responses on one JSON payload: the JSON-mode ValidatingPolicies (one response per policy,
 * even without rules) and the DeletingPolicies.
 */
export function evaluateJsonPayload(input: PayloadEvaluationInput, payload: Payload): EngineResponse[] {
  const object = payload.value as JsonObject;
  const responses: EngineResponse[] = [];
  for (const policy of input.policies) {
    if (DELETING_KINDS.has(String(policy.kind ?? '')) && String(policy.apiVersion ?? '').startsWith('policies.kyverno.io/')) {
      responses.push({ policy: policyRef(policy), resource: object, patchedResource: object, rules: [deletingVerdict(policy, object, input)], policyAnnotations: annotations(policy) });
      continue;
    }
    if (!isJsonModePolicy(policy)) continue;
    const base: EngineResponse = { policy: policyRef(policy), resource: object, patchedResource: object, rules: [], policyAnnotations: annotations(policy) };
    try {
      const response = applyPolicy(policy, {
        request: { operation: 'CREATE', object, oldObject: null, requestInfo: { roles: [], clusterRoles: [], userInfo: {} } },
        cluster: input.cluster,
        now: input.now,
      });
      responses.push({ ...base, rules: response.rules });
    } catch (err) {
      responses.push({ ...base, error: (err instanceof Error ? err.message : String(err)).split('\n')[0] });
    }
  }
  return responses;
}

/** Responses of the authorization policies of `mode` on one decoded request. */
export function evaluateAuthzPayload(input: PayloadEvaluationInput, mode: AuthzMode, payload: Payload): EngineResponse[] {
  const responses: EngineResponse[] = [];
  for (const policy of input.policies) {
    if (authzModeOf(policy) !== mode) continue;
    const rule = evaluateAuthzPolicy(policy, mode, payload.value, { cluster: input.cluster, now: input.now });
    responses.push({ policy: policyRef(policy), resource: {}, patchedResource: {}, rules: [rule], policyAnnotations: annotations(policy) });
  }
  return responses;
}
