/**
 * Kubernetes ValidatingAdmissionPolicy / MutatingAdmissionPolicy as the Kyverno CLI runs them
 * (pkg/admissionpolicy): bindings (…PolicyBinding with spec.policyName) come from the cluster
 * resources; without bindings the policy's own matchConstraints decide; otherwise the first
 * binding whose matchResources match is used. The CLI evaluates without params (`params` is
 * null) and with a Namespace object carrying only name and known labels. One result named
 * after the policy: pass "" / fail message / error on evaluation errors / skip "match
 * conditions aren't met".
 */
import type { ApplyOptions } from '../apply';
import type { JsonObject, PolicyResponse, RuleResult } from '../core/types';
import { buildActivation, installVariables } from './context';
import { matchConstraintsMatch, requestTarget } from './match';
import { runMutations } from './mutating-policy';
import { emptyResponse, failureActionOf } from './response';
import { evaluateMatchConditions, evaluateValidations } from './validations';
import { toCel } from './values';

function asObject(v: unknown): JsonObject {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as JsonObject) : {};
}

export function applyAdmissionPolicy(policy: JsonObject, options: ApplyOptions): PolicyResponse {
  const name = String(asObject(policy.metadata).name ?? '');
  const spec = asObject(policy.spec);
  const mutating = policy.kind === 'MutatingAdmissionPolicy';
  const bindingKind = mutating ? 'MutatingAdmissionPolicyBinding' : 'ValidatingAdmissionPolicyBinding';
  const bindings = options.cluster.resources.filter((r) => r.kind === bindingKind && asObject(r.spec).policyName === name);
  let binding: JsonObject | null = null;
  if (!bindings.length) {
    if (!matchConstraintsMatch(spec.matchConstraints, options.request, options.cluster)) return emptyResponse(policy, options);
  } else {
    binding = bindings.find((b) => {
      const match = asObject(b.spec).matchResources;
      return !match || matchConstraintsMatch(match, options.request, options.cluster, { emptyRulesMatchAll: true });
    }) ?? null;
    if (!binding) return emptyResponse(policy, options);
  }
  const bspec = asObject(binding?.spec);
  const type: RuleResult['type'] = mutating ? 'Mutation' : 'Validation';
  const failureAction = failureActionOf(binding ? bspec.validationActions : ['Deny']);
  const respond = (status: RuleResult['status'], message: string, patched?: JsonObject): PolicyResponse => {
    const res = emptyResponse(policy, options, [{ name, type, status, message, ...(mutating ? {} : { failureAction }), ...(patched ? { patchedResource: patched } : {}) }]);
    if (patched) res.patchedResource = patched;
    return res;
  };

  const act = buildActivation(options, { params: null });
  const t = requestTarget(options.request);
  const isNamespace = t.kind === 'Namespace' && t.group === '' && t.version === 'v1';
  act.vars.namespaceObject = t.namespace && !isNamespace
    ? toCel({ metadata: { name: t.namespace, labels: options.cluster.namespaceLabels[t.namespace] ?? {} } })
    : null;
  installVariables(act, spec.variables);
  const match = evaluateMatchConditions(spec.matchConditions, act, spec.failurePolicy);
  if (match.error) return respond('error', match.error);
  if (!match.matched) return respond('skip', "match conditions aren't met");
  if (mutating) {
    try {
      return respond('pass', '', runMutations(spec.mutations, asObject(options.request.object), act));
    } catch (err) {
      return respond('error', (err as Error).message);
    }
  }
  const validations = (Array.isArray(spec.validations) ? spec.validations : []).map((e) => {
    const v = asObject(e);
    return v.message || v.messageExpression ? v : { ...v, message: `failed expression: ${String(v.expression ?? '').trim()}` };
  });
  const outcome = evaluateValidations(validations, spec.auditAnnotations, act);
  if (outcome.kind === 'pass') return respond('pass', '');
  if (outcome.kind === 'fail') return respond('fail', outcome.message);
  if (outcome.kind === 'error') {
    const expr = outcome.index !== undefined ? String(asObject(validations[outcome.index]).expression ?? '').trim() : '';
    return respond('error', expr ? `expression '${expr}' resulted in error: ${outcome.message}` : outcome.message);
  }
  return emptyResponse(policy, options);
}
