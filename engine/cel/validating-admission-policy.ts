/**
 * Kubernetes ValidatingAdmissionPolicy as the Kyverno CLI evaluates it offline
 * (pkg/admissionpolicy/validate.go, without a cluster client):
 * - the request is always a CREATE of the resource (no oldObject), whatever the test's
 *   operation;
 * - the Namespace object handed to matching and to `namespaceObject` carries the name and
 *   the labels the values file gives it (namespaceSelector/namespaces), nothing else;
 * - without bindings the policy's matchConstraints decide; with bindings (…PolicyBinding whose
 *   spec.policyName names the policy) every binding is tried in order: one whose
 *   matchResources (if any) match evaluates the policy with its paramRef's params, and the
 *   last such evaluation is the answer; when no binding matches the answer has no rule
 *   (the test reports the resource as excluded);
 * - one result named after the policy: pass "" / fail message / error / skip "match
 *   conditions aren't met".
 *
 * Deliberate difference: Kyverno's offline path with bindings does not check the policy's own
 * matchConstraints (its cluster path and the API server do). We always check them, so a policy
 * for Deployments never evaluates a Pod just because a binding has no matchResources.
 */
import type { ApplyOptions } from '../apply';
import type { AdmissionRequest, JsonObject, PolicyResponse, RuleResult } from '../core/types';
import { asArray, asObject } from '../core/json';
import { buildActivation, installVariables } from './context';
import { matchConstraintsMatch, requestTarget } from './match';
import { collectBindingParams, selectBindingParams } from './params';
import { emptyResponse, failureActionOf } from './response';
import { evaluateMatchConditions, evaluateValidations, validationsEvaluated } from './validations';
import { toCel } from './values';

const BINDING_KIND = 'ValidatingAdmissionPolicyBinding';

/** The bindings of a policy among the cluster resources, in load order. */
export function bindingsOf(policyName: string, bindingKind: string, resources: readonly JsonObject[]): JsonObject[] {
  return resources.filter((r) => r.kind === bindingKind && asObject(r.spec).policyName === policyName);
}

/** The request Kyverno's admissionpolicy package builds: CREATE of the resource under test, by the resolved user. */
function createRequestOf(request: AdmissionRequest): AdmissionRequest {
  return { ...withResolvedUser(request), operation: 'CREATE', object: request.object ?? request.oldObject, oldObject: null };
}

/**
 * The identity Kyverno's admissionpolicy package (ResolveUser) gives a request without one
 * (a background scan, a CLI run without a user): Kubernetes drops an empty username, uid or
 * groups from the request CEL reads, so an expression naming them would fail; Kyverno fills
 * each empty one with this non-privileged sentinel and keeps every value given. Extra stays.
 */
export const ADMISSION_POLICY_BACKGROUND_USER = 'system:kyverno:background-scan';

export function withResolvedUser(request: AdmissionRequest): AdmissionRequest {
  const user = request.requestInfo?.userInfo ?? {};
  const resolved = {
    ...user,
    username: user.username || ADMISSION_POLICY_BACKGROUND_USER,
    uid: user.uid || ADMISSION_POLICY_BACKGROUND_USER,
    groups: user.groups?.length ? user.groups : [ADMISSION_POLICY_BACKGROUND_USER],
  };
  return { ...request, requestInfo: { roles: request.requestInfo?.roles ?? [], clusterRoles: request.requestInfo?.clusterRoles ?? [], userInfo: resolved } };
}

/** The Namespace of a namespaced resource as the CLI builds it from the values file, else null. */
function valuesNamespace(request: AdmissionRequest, options: ApplyOptions): JsonObject | null {
  const t = requestTarget(request);
  const isNamespace = t.kind === 'Namespace' && t.group === '' && t.version === 'v1';
  if (!t.namespace || isNamespace) return null;
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name: t.namespace, labels: options.cluster.namespaceLabels[t.namespace] ?? {} } };
}

export function applyValidatingAdmissionPolicy(policy: JsonObject, original: ApplyOptions): PolicyResponse {
  const options: ApplyOptions = { ...original, request: createRequestOf(original.request) };
  const name = String(asObject(policy.metadata).name ?? '');
  const spec = asObject(policy.spec);
  const namespace = valuesNamespace(options.request, options);
  // Kyverno's CEL matcher: no resourceRules (or no constraints at all) select every resource.
  const matches = (constraints: unknown) =>
    matchConstraintsMatch(constraints, options.request, options.cluster, { emptyRulesMatchAll: true, namespace });
  const notApplied = emptyResponse(policy, options);
  if (!matches(spec.matchConstraints)) return notApplied;

  const bindings = bindingsOf(name, BINDING_KIND, options.cluster.resources);
  if (bindings.length === 0) return evaluate(policy, options, namespace, null, null) ?? notApplied;
  let answer: PolicyResponse = notApplied;
  for (const binding of bindings) {
    const bspec = asObject(binding.spec);
    if (bspec.matchResources && !matches(bspec.matchResources)) continue;
    let params: JsonObject | null = null;
    if (bspec.paramRef && options.cluster.clusterClient) {
      // Kyverno's client path: params it cannot collect end the policy with the answer so far.
      const collected = collectBindingParams(spec.paramKind, bspec.paramRef, options);
      if ('error' in collected) return answer;
      params = collected.value;
    } else if (bspec.paramRef) params = selectBindingParams(bspec.paramRef, options.cluster.parameters ?? []);
    answer = evaluate(policy, options, namespace, binding, params) ?? answer;
  }
  return answer;
}

function evaluate(policy: JsonObject, options: ApplyOptions, namespace: JsonObject | null, binding: JsonObject | null, params: JsonObject | null): PolicyResponse | null {
  const name = String(asObject(policy.metadata).name ?? '');
  const spec = asObject(policy.spec);
  const failureAction = failureActionOf(binding ? asObject(binding.spec).validationActions : ['Deny']);
  const bindingName = binding ? String(asObject(binding.metadata).name ?? '') : '';
  const respond = (status: RuleResult['status'], message: string, extra: Partial<RuleResult> = {}): PolicyResponse =>
    emptyResponse(policy, options, [{ name, type: 'Validation', status, message, failureAction, ...(bindingName ? { binding: bindingName } : {}), ...extra }]);

  const act = buildActivation(options, { params });
  act.vars.namespaceObject = namespace ? toCel(namespace) : null;
  installVariables(act, spec.variables);
  const match = evaluateMatchConditions(spec.matchConditions, act, spec.failurePolicy);
  if (match.error) return respond('error', match.error);
  if (!match.matched) return respond('skip', "match conditions aren't met");
  const validations = (Array.isArray(spec.validations) ? spec.validations : []).map((e) => {
    const v = asObject(e);
    return v.message || v.messageExpression ? v : { ...v, message: `failed expression: ${String(v.expression ?? '').trim()}` };
  });
  const outcome = evaluateValidations(validations, spec.auditAnnotations, act);
  const reached = { validationsEvaluated: validationsEvaluated(outcome, validations.length) };
  if (outcome.kind === 'pass') return respond('pass', '', reached);
  if (outcome.kind === 'fail') return respond('fail', outcome.message, reached);
  if (outcome.kind === 'error') {
    const expr = outcome.index !== undefined ? String(asObject(validations[outcome.index]).expression ?? '').trim() : '';
    return respond('error', expr ? `expression '${expr}' resulted in error: ${outcome.message}` : outcome.message, reached);
  }
  return null;
}

/** What the API server's ValidatingAdmissionPolicy admission plugin decides for one request. */
export interface ApiServerVapDecision {
  /** The refusal (a binding with Deny whose policy failed), with the validation's reason (Invalid unless it names another). */
  denial?: { message: string; reason: string };
  /** Warnings of bindings with Warn. */
  warnings: string[];
}

/**
 * The API server's own enforcement of ValidatingAdmissionPolicies (Kubernetes'
 * validating admission policy plugin), unlike the CLI reading above: the request as it is
 * (operation, oldObject), the Namespace as stored; a policy applies only through a binding
 * naming it whose matchResources (all that the policy matches when absent or without rules)
 * and the policy's matchConstraints select the request. A failed validation (or an error under
 * failurePolicy Fail) denies through a binding with Deny and warns through one with Warn, in
 * the API server's words.
 */
export function apiServerValidatingAdmission(policies: readonly JsonObject[], bindings: readonly JsonObject[], options: ApplyOptions): ApiServerVapDecision {
  const warnings: string[] = [];
  for (const policy of policies) {
    const name = String(asObject(policy.metadata).name ?? '');
    const spec = asObject(policy.spec);
    if (!matchConstraintsMatch(spec.matchConstraints, options.request, options.cluster)) continue;
    for (const binding of bindingsOf(name, BINDING_KIND, bindings)) {
      const bspec = asObject(binding.spec);
      if (bspec.matchResources && !matchConstraintsMatch(bspec.matchResources, options.request, options.cluster, { emptyRulesMatchAll: true })) continue;
      const params = bspec.paramRef ? selectBindingParams(bspec.paramRef, options.cluster.parameters ?? []) : null;
      const act = buildActivation(options, { params });
      installVariables(act, spec.variables);
      const failurePolicy = String(spec.failurePolicy ?? 'Fail');
      const match = evaluateMatchConditions(spec.matchConditions, act, failurePolicy);
      let failure: { message: string; reason?: string } | undefined;
      if (match.error) failure = { message: match.error };
      else if (!match.matched) continue;
      else {
        const outcome = evaluateValidations(spec.validations, undefined, act);
        if (outcome.kind === 'fail') {
          const v = asObject(asArray(spec.validations)[outcome.index]);
          failure = { message: outcome.message || `failed expression: ${String(v.expression ?? '').trim()}`, reason: outcome.reason };
        } else if (outcome.kind === 'error' && failurePolicy !== 'Ignore') {
          const expr = outcome.index !== undefined ? String(asObject(asArray(spec.validations)[outcome.index]).expression ?? '').trim() : '';
          failure = { message: expr ? `expression '${expr}' resulted in error: ${outcome.message}` : outcome.message };
        }
      }
      if (!failure) continue;
      const bindingName = String(asObject(binding.metadata).name ?? '');
      const actions = asArray(bspec.validationActions).map(String);
      if (actions.includes('Warn')) warnings.push(`Validation failed for ValidatingAdmissionPolicy '${name}' with binding '${bindingName}': ${failure.message}`);
      if (actions.includes('Deny')) {
        return { denial: { message: `ValidatingAdmissionPolicy '${name}' with binding '${bindingName}' denied request: ${failure.message}`, reason: failure.reason || 'Invalid' }, warnings };
      }
    }
  }
  return { warnings };
}
