/**
 * Kubernetes ValidatingAdmissionPolicy as the Kyverno CLI runs it (pkg/admissionpolicy):
 * bindings (…PolicyBinding with spec.policyName) come from the cluster resources; without
 * bindings the policy's own matchConstraints decide; otherwise the first binding whose
 * matchResources match is used. The CLI evaluates without params (`params` is null) and with a
 * Namespace object carrying only name and known labels. A VAP gives one result named after
 * the policy: pass "" / fail message / error on evaluation errors / skip "match conditions
 * aren't met". MutatingAdmissionPolicy lives in mutating-admission-policy.ts.
 */
import type { ApplyOptions } from '../apply';
import type { JsonObject, PolicyResponse, RuleResult } from '../core/types';
import { buildActivation, installVariables } from './context';
import { matchConstraintsMatch, requestTarget } from './match';
import { emptyResponse, failureActionOf } from './response';
import { evaluateMatchConditions, evaluateValidations } from './validations';
import { toCel } from './values';
import { asObject } from '../core/json';

export function applyAdmissionPolicy(policy: JsonObject, options: ApplyOptions): PolicyResponse {
  const name = String(asObject(policy.metadata).name ?? '');
  const spec = asObject(policy.spec);
  const bindings = bindingsOf(name, 'ValidatingAdmissionPolicyBinding', options.cluster.resources);
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
  const failureAction = failureActionOf(binding ? bspec.validationActions : ['Deny']);
  const respond = (status: RuleResult['status'], message: string): PolicyResponse =>
    emptyResponse(policy, options, [{ name, type: 'Validation', status, message, failureAction }]);

  const act = buildActivation(options, { params: null });
  act.vars.namespaceObject = toCel(cliNamespaceObject(options));
  installVariables(act, spec.variables);
  const match = evaluateMatchConditions(spec.matchConditions, act, spec.failurePolicy);
  if (match.error) return respond('error', match.error);
  if (!match.matched) return respond('skip', "match conditions aren't met");
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

/** The bindings of a policy among the cluster resources, in load order. */
export function bindingsOf(policyName: string, bindingKind: string, resources: readonly JsonObject[]): JsonObject[] {
  return resources.filter((r) => r.kind === bindingKind && asObject(r.spec).policyName === policyName);
}

/**
 * The Namespace object the CLI gives admission policies: the request's namespace with the
 * labels the values file declares for it (nothing else); none for cluster-scoped objects and
 * for Namespaces themselves.
 */
export function cliNamespaceObject(options: ApplyOptions): JsonObject | null {
  const t = requestTarget(options.request);
  const isNamespace = t.kind === 'Namespace' && t.group === '' && t.version === 'v1';
  if (!t.namespace || isNamespace) return null;
  return { metadata: { name: t.namespace, labels: options.cluster.namespaceLabels[t.namespace] ?? {} } };
}
