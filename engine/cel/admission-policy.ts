/**
 * Kubernetes admission policies as the Kyverno CLI runs them (pkg/admissionpolicy).
 * ValidatingAdmissionPolicy: see validating-admission-policy.ts. MutatingAdmissionPolicy:
 * bindings (…PolicyBinding with spec.policyName) come from the cluster resources; without
 * bindings the policy's own matchConstraints decide; otherwise the policy must match and then
 * the first binding whose matchResources match is used (mutate.go, offline). A MAP follows
 * mutate.go (see mutateAdmissionPolicy).
 */
import type { ApplyOptions } from '../apply';
import type { JsonObject, PolicyResponse, RuleResult } from '../core/types';
import { buildActivation, installVariables, type CelActivation } from './context';
import { matchConstraintsMatch, requestTarget } from './match';
import { applyMutation } from './mutations';
import { emptyResponse } from './response';
import { evaluateMatchConditions } from './validations';
import { toCel } from './values';
import { asObject } from '../core/json';
import { applyValidatingAdmissionPolicy, bindingsOf } from './validating-admission-policy';

export function applyAdmissionPolicy(policy: JsonObject, options: ApplyOptions): PolicyResponse {
  if (policy.kind !== 'MutatingAdmissionPolicy') return applyValidatingAdmissionPolicy(policy, options);
  const name = String(asObject(policy.metadata).name ?? '');
  const spec = asObject(policy.spec);
  const bindings = bindingsOf(name, 'MutatingAdmissionPolicyBinding', options.cluster.resources);
  if (!matchConstraintsMatch(spec.matchConstraints, options.request, options.cluster)) return emptyResponse(policy, options);
  if (bindings.length) {
    // mutate.go (offline): the first binding with matchResources that match.
    const binding = bindings.find((b) => {
      const match = asObject(b.spec).matchResources;
      return !!match && matchConstraintsMatch(match, options.request, options.cluster, { emptyRulesMatchAll: true });
    });
    if (!binding) return emptyResponse(policy, options);
  }
  const act = buildActivation(options, { params: null });
  installVariables(act, spec.variables);
  return mutateAdmissionPolicy(policy, options, act);
}

/**
 * MutatingAdmissionPolicy as Kyverno's mutate.go evaluates it: the Namespace object carries
 * only its name; unmet (or failing) match conditions skip with "match conditions not met";
 * each mutation is its own result named after the policy — error (the object is left as it
 * was), skip "mutation had no effect", or pass ""; no mutations: pass "mutation returned no
 * patchers". The patched object keeps the original name and namespace.
 */
function mutateAdmissionPolicy(policy: JsonObject, options: ApplyOptions, act: CelActivation): PolicyResponse {
  const name = String(asObject(policy.metadata).name ?? '');
  const spec = asObject(policy.spec);
  const original = asObject(options.request.object);
  const t = requestTarget(options.request);
  const isNamespace = t.kind === 'Namespace' && t.group === '' && t.version === 'v1';
  act.vars.namespaceObject = t.namespace && !isNamespace ? toCel({ metadata: { name: t.namespace } }) : null;
  const rule = (status: RuleResult['status'], message: string): RuleResult => ({ name, type: 'Mutation', status, message });
  const match = evaluateMatchConditions(spec.matchConditions, act, spec.failurePolicy);
  if (!match.matched) return emptyResponse(policy, options, [rule('skip', 'match conditions not met')]);
  const mutations = (Array.isArray(spec.mutations) ? spec.mutations : []) as JsonObject[];
  if (!mutations.length) return emptyResponse(policy, options, [rule('pass', 'mutation returned no patchers')]);
  const rules: RuleResult[] = [];
  let current = structuredClone(original);
  mutations.forEach((m, index) => {
    let next: JsonObject;
    try {
      next = applyMutation(m, index, current, act);
    } catch (err) {
      rules.push(rule('error', (err as Error).message));
      return;
    }
    if (JSON.stringify(canonical(next)) === JSON.stringify(canonical(current))) {
      rules.push(rule('skip', 'mutation had no effect'));
      return;
    }
    current = next;
    rules.push(rule('pass', ''));
  });
  const meta = { ...asObject(current.metadata) };
  const originalMeta = asObject(original.metadata);
  if (originalMeta.name !== undefined) meta.name = originalMeta.name; else delete meta.name;
  if (originalMeta.namespace !== undefined) meta.namespace = originalMeta.namespace; else delete meta.namespace;
  const patched = { ...current, metadata: meta };
  const response = emptyResponse(policy, options, rules.map((r) => (r.status === 'pass' ? { ...r, patchedResource: patched } : r)));
  response.patchedResource = patched;
  return response;
}

/** Key-order independent form, for "had no effect" (Kubernetes compares semantically). */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as JsonObject)[k])]));
  return v;
}
