/**
 * ValidatingPolicies in `evaluation.mode: Envoy` or `HTTP`: authorization policies evaluated on
 * an Envoy CheckRequest or an HTTP request instead of a Kubernetes resource. Follows
 * kyverno-authz's compiled policy (pkg/engine/compiler/policy.go): matchConditions see only
 * `object`; variables are lazy; validations run in order and the first non-null one is the
 * answer (a CheckResponse); none → the request is not handled. An error fails the evaluation
 * unless failurePolicy is Ignore. The verdict is the CLI's (processor/authz_processor.go): one
 * rule named after the policy, pass when allowed, fail when denied, skip when not handled.
 */
import type { Environment } from '@marcbachmann/cel-js';
import type { ClusterState, JsonObject, RuleResult } from '../core/types';
import { asObject } from '../core/json';
import { createRuntime, installVariables, type CelActivation } from './context';
import { compileCel, evalCel, extendedDialect, typeOfCel } from './environment';
import { EnvoyCheckResponse, registerEnvoyLibrary } from './lib-authz-envoy';
import { HttpCheckResponse, registerHttpAuthzLibrary } from './lib-authz-http';
import { kyvernoActivation } from './lib-kyverno';
import { JwtNamespace, registerJwtLibrary } from './lib-jwt';

export type AuthzMode = 'Envoy' | 'HTTP';

/**
 * kyverno-authz's `json.Unmarshal(string)` (pkg/cel/libs/json): Go's encoding/json into `any`,
 * so every number is a double (Kyverno's own `json.unmarshal` keeps integers as ints).
 */
function registerAuthzJson(env: Environment): void {
  env.registerFunction('json.Json.Unmarshal(string): dyn', (_l: unknown, text: string) => {
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new Error(`json.Unmarshal: ${(err as Error).message}`);
    }
  });
}

const envoyDialect = extendedDialect((env) => {
  registerEnvoyLibrary(env);
  registerJwtLibrary(env);
  registerAuthzJson(env);
});
const httpDialect = extendedDialect((env) => {
  registerHttpAuthzLibrary(env);
  registerJwtLibrary(env);
  registerAuthzJson(env);
});

/** The evaluation mode of a ValidatingPolicy when it is an authorization one. */
export function authzModeOf(policy: JsonObject): AuthzMode | null {
  const kind = String(policy.kind ?? '');
  // The CLI only routes cluster-wide ValidatingPolicies by mode (policy/load.go).
  if (kind !== 'ValidatingPolicy' || !String(policy.apiVersion ?? '').startsWith('policies.kyverno.io/')) return null;
  const mode = asObject(asObject(asObject(policy.spec).evaluation)).mode;
  return mode === 'Envoy' || mode === 'HTTP' ? mode : null;
}

export interface AuthzEvaluationOptions {
  cluster: ClusterState;
  now?: Date;
}

function list(v: unknown): JsonObject[] {
  return (Array.isArray(v) ? v.filter((x) => x && typeof x === 'object') : []) as JsonObject[];
}

type Verdict = { kind: 'response'; value: unknown } | { kind: 'none' } | { kind: 'error'; message: string };

function evaluateRules(spec: JsonObject, mode: AuthzMode, act: CelActivation): Verdict {
  const dialect = mode === 'Envoy' ? envoyDialect : httpDialect;
  const errors: string[] = [];
  for (const c of list(spec.matchConditions)) {
    try {
      // matchConditions see `object` only (kyverno-authz binds no variables for them).
      const out = evalCel(String(c.expression ?? ''), { ...act.vars, variables: {} }, dialect);
      if (typeof out !== 'boolean') {
        errors.push(`matchCondition output is expected to be of type bool, got ${typeOfCel(out)}`);
        continue;
      }
      if (!out) return { kind: 'none' };
    } catch (err) {
      errors.push((err as Error).message);
    }
  }
  if (errors.length) return { kind: 'error', message: errors.join('; ') };
  installVariables(act, spec.variables, dialect);
  const expected = mode === 'Envoy' ? EnvoyCheckResponse : HttpCheckResponse;
  for (const v of list(spec.validations)) {
    let out: unknown;
    try {
      out = evalCel(String(v.expression ?? ''), act.vars, dialect);
    } catch (err) {
      return { kind: 'error', message: (err as Error).message };
    }
    if (out === null || out === undefined) continue;
    if (!(out instanceof expected)) {
      const typeName = mode === 'Envoy' ? 'envoy.service.auth.v3.CheckResponse' : 'http.CheckResponse';
      return { kind: 'error', message: `rule response output is expected to be of type ${typeName}, got ${typeOfCel(out)}` };
    }
    return { kind: 'response', value: out };
  }
  return { kind: 'none' };
}

/** Checks that every expression of the policy compiles (cel-go compiles before evaluating). */
function compileProblem(spec: JsonObject, mode: AuthzMode): string | null {
  const dialect = mode === 'Envoy' ? envoyDialect : httpDialect;
  const groups: Array<[string, JsonObject[]]> = [['matchConditions', list(spec.matchConditions)], ['variables', list(spec.variables)], ['validations', list(spec.validations)]];
  for (const [field, items] of groups) {
    for (let i = 0; i < items.length; i++) {
      try {
        compileCel(String(items[i].expression ?? ''), dialect);
      } catch (err) {
        return `spec.${field}[${i}].expression: ${(err as Error).message}`;
      }
    }
  }
  return null;
}

/**
 * Evaluates an authorization policy on one payload (an Envoy CheckRequest or an HTTP
 * CheckRequest as built by envoyCheckRequestFromJson / httpCheckRequestFromJson) and returns
 * the CLI's single rule result.
 */
export function evaluateAuthzPolicy(policy: JsonObject, mode: AuthzMode, payload: unknown, options: AuthzEvaluationOptions): RuleResult {
  const name = String(asObject(policy.metadata).name ?? '');
  const spec = asObject(policy.spec);
  const rule = (status: RuleResult['status'], message: string): RuleResult => ({ name, type: 'Validation', status, message });
  const problem = compileProblem(spec, mode);
  if (problem) return rule('error', `failed to compile ${mode === 'Envoy' ? 'envoy' : 'HTTP'} policy ${name}: ${problem}`);
  const runtime = createRuntime({ request: { operation: 'CREATE', object: null, oldObject: null, requestInfo: { roles: [], clusterRoles: [], userInfo: {} } }, cluster: options.cluster, now: options.now });
  const now = runtime.now;
  const act: CelActivation = {
    vars: { ...kyvernoActivation(runtime), jwt: new JwtNamespace(() => now), object: payload, variables: {} },
    runtime,
  };
  const verdict = evaluateRules(spec, mode, act);
  if (verdict.kind === 'error') {
    // With failurePolicy Ignore an error means "no answer" (kyverno-authz Evaluate).
    if (String(spec.failurePolicy ?? 'Fail') === 'Ignore') return rule('skip', 'request does not match');
    return rule('error', verdict.message);
  }
  if (verdict.kind === 'none') return rule('skip', 'request does not match');
  if (verdict.value instanceof EnvoyCheckResponse) {
    if (verdict.value.ok_response) return rule('pass', 'request allowed');
    if (verdict.value.denied_response) return rule('fail', `request denied with status code ${verdict.value.denied_response.status.code}`);
  }
  if (verdict.value instanceof HttpCheckResponse) {
    if (verdict.value.ok) return rule('pass', 'request allowed');
    if (verdict.value.denied) return rule('fail', `request denied, reason: ${verdict.value.denied.reason}`);
  }
  // A CheckResponse with neither answer: Kyverno reports an empty status, which no test expects.
  return rule('error', 'the policy returned a response that neither allows nor denies the request');
}
