/**
 * Kubernetes MutatingAdmissionPolicy as the Kyverno CLI runs it (pkg/admissionpolicy/mutate.go,
 * the path without a live cluster):
 * - the admission attributes are a CREATE of the resource as given, built once: every binding
 *   evaluates and patches that same object;
 * - the Namespace object carries only the values file's labels (valuesNamespace), for
 *   namespaceSelector and `namespaceObject` alike;
 * - without bindings the policy's matchConstraints decide and `params` is null; with bindings
 *   the policy's own matchConstraints are not consulted: each binding whose matchResources match
 *   (or that has none) runs the policy with the params its paramRef selects, and the last one
 *   that produced an answer is the answer;
 * - the answer is one result named after the policy: skip "match conditions aren't met" or pass
 *   "mutation is successfully applied". A match condition that cannot be evaluated or a mutation
 *   that fails gives no result (the CLI only logs it), so the test reports the row "Not found";
 * - ApplyConfiguration merges with a deduced schema (managedfields' deduced type converter):
 *   maps merge, every list is replaced whole.
 */
import type { ApplyOptions } from '../apply';
import type { JsonObject, PolicyResponse, RuleResult } from '../core/types';
import { asObject } from '../core/json';
import { buildActivation, installVariables } from './context';
import { matchConstraintsMatch, requestTarget } from './match';
import { applyMutation } from './mutations';
import { collectBindingParams, selectBindingParams } from './params';
import { emptyResponse } from './response';
import { evaluateMatchConditions } from './validations';
import { bindingsOf, withResolvedUser } from './validating-admission-policy';
import { toCel } from './values';

/** One evaluation of the policy: a response, or null when the CLI would keep no result. */
type Outcome = { rules: RuleResult[]; patched: JsonObject } | null;

export function applyMutatingAdmissionPolicy(policy: JsonObject, options: ApplyOptions): PolicyResponse {
  const spec = asObject(policy.spec);
  const resource = asObject(options.request.object ?? options.request.oldObject);
  const admitted: ApplyOptions = {
    ...options,
    request: { ...withResolvedUser(options.request), operation: 'CREATE', object: resource, oldObject: null },
  };
  const namespace = valuesNamespace(admitted);
  const matches = (constraints: unknown) => matchConstraintsMatch(constraints, admitted.request, admitted.cluster, { emptyRulesMatchAll: true, namespace });
  const respond = (outcome: Outcome): PolicyResponse => {
    if (!outcome) return emptyResponse(policy, options);
    const response = emptyResponse(policy, options, outcome.rules);
    response.patchedResource = outcome.patched;
    return response;
  };

  const bindings = bindingsOf(String(asObject(policy.metadata).name ?? ''), 'MutatingAdmissionPolicyBinding', options.cluster.resources);
  if (!bindings.length) {
    if (!matches(spec.matchConstraints)) return emptyResponse(policy, options);
    return respond(evaluateOnce(policy, admitted, namespace, null, resource, null) ?? null);
  }
  // With a cluster client the policy's definition is matched first (processMAPWithClient's DefinitionMatches).
  if (options.cluster.clusterClient && !matches(spec.matchConstraints)) return emptyResponse(policy, options);
  const parameters = options.cluster.parameters ?? [];
  let answer: Outcome = null;
  // Kyverno's running resource: only what a response reports as given/unpatched changes with it.
  let given = resource;
  for (const binding of bindings) {
    const bspec = asObject(binding.spec);
    if (bspec.matchResources && !matches(bspec.matchResources)) continue;
    let params: JsonObject | null = null;
    if (bspec.paramRef && options.cluster.clusterClient) {
      // Kyverno's client path: params it cannot collect end the policy without a response.
      const collected = collectBindingParams(spec.paramKind, bspec.paramRef, admitted);
      if ('error' in collected) return emptyResponse(policy, options);
      params = collected.value;
    } else if (bspec.paramRef) params = selectBindingParams(bspec.paramRef, parameters);
    const outcome = evaluateOnce(policy, admitted, namespace, params, given, binding);
    if (outcome === undefined) continue;
    answer = outcome;
    given = outcome?.patched ?? given;
  }
  return respond(answer);
}

/**
 * The Namespace object mutate.go builds: the request's namespace with the labels the values
 * file declares for it, nothing else; none for cluster-scoped objects and for Namespaces
 * themselves. It is a typed corev1.Namespace, so CEL sees no apiVersion/kind, empty spec and
 * status, and no labels at all when none are declared.
 */
function valuesNamespace(options: ApplyOptions): JsonObject | null {
  const t = requestTarget(options.request);
  const isNamespace = t.kind === 'Namespace' && t.group === '' && t.version === 'v1';
  if (!t.namespace || isNamespace) return null;
  const labels = options.cluster.namespaceLabels[t.namespace];
  return { metadata: { name: t.namespace, ...(labels ? { labels } : {}) }, spec: {}, status: {} };
}

/**
 * mutateResource: undefined when match conditions cannot be evaluated (the CLI drops the
 * binding), null when a mutation fails (a response without results), else the result.
 */
function evaluateOnce(policy: JsonObject, admitted: ApplyOptions, namespace: JsonObject | null, params: JsonObject | null, given: JsonObject, binding: JsonObject | null): Outcome | undefined {
  const name = String(asObject(policy.metadata).name ?? '');
  const bindingName = String(asObject(binding?.metadata).name ?? '');
  const rule = (status: RuleResult['status'], message: string): RuleResult => ({ name, type: 'Mutation', status, message, ...(bindingName ? { binding: bindingName } : {}) });
  const evaluation = evaluateMutations(policy, admitted, params, namespace);
  if (evaluation.kind === 'match-error') return undefined;
  if (evaluation.kind === 'mutation-error') return null;
  if (evaluation.kind === 'skip') return { rules: [rule('skip', "match conditions aren't met")], patched: given };
  return { rules: [rule('pass', 'mutation is successfully applied')], patched: evaluation.object };
}

type MutationEvaluation = { kind: 'skip' } | { kind: 'patched'; object: JsonObject } | { kind: 'match-error'; message: string } | { kind: 'mutation-error'; message: string };

/**
 * The policy's match conditions, then its mutations in order on the request's object, with
 * `params`. `namespace` replaces the Namespace object the cluster gives (undefined: the
 * cluster's own, as an API server reads it).
 */
function evaluateMutations(policy: JsonObject, options: ApplyOptions, params: JsonObject | null, namespace?: JsonObject | null): MutationEvaluation {
  const spec = asObject(policy.spec);
  const act = buildActivation(options, { params });
  if (namespace !== undefined) act.vars.namespaceObject = toCel(namespace);
  installVariables(act, spec.variables);
  const match = evaluateMatchConditions(spec.matchConditions, act, spec.failurePolicy);
  if (match.error) return { kind: 'match-error', message: match.error };
  if (!match.matched) return { kind: 'skip' };
  let current = asObject(options.request.object);
  const mutations = (Array.isArray(spec.mutations) ? spec.mutations : []) as JsonObject[];
  try {
    mutations.forEach((m, index) => {
      // Each patcher gets a fresh activation: variables see the object as patched so far.
      if (index > 0) installVariables(act, spec.variables);
      current = applyMutation(m, index, current, act, 'atomic');
    });
  } catch (e) {
    return { kind: 'mutation-error', message: (e as Error).message };
  }
  return { kind: 'patched', object: current };
}

/**
 * One matching binding of a MutatingAdmissionPolicy applied to a live admission request, as
 * the API server's MutatingAdmissionPolicy plugin applies it before the mutating webhooks:
 * the request as it is (operation, old object), the cluster's Namespace object, the binding's
 * params. Matching the policy's and the binding's constraints is the caller's. The object
 * comes back patched (as it was when match conditions are not met), or the error the
 * policy's failurePolicy then decides on (Ignore: the object goes on unchanged).
 */
export function mutateAdmissionRequest(policy: JsonObject, options: ApplyOptions, params: JsonObject | null): { object: JsonObject } | { error: string } {
  const evaluation = evaluateMutations(policy, options, params);
  if (evaluation.kind === 'skip') return { object: asObject(options.request.object) };
  if (evaluation.kind === 'patched') return { object: evaluation.object };
  return { error: evaluation.message };
}
