/** GeneratingPolicy and DeletingPolicy, as far as offline allows (ImageValidatingPolicy: image-validating-policy.ts). */
import type { ApplyOptions } from '../apply';
import type { ClusterState, JsonObject, PolicyResponse, RuleResult } from '../core/types';
import { buildActivation, createRuntime, installVariables } from './context';
import { evalCel, typeOfCel } from './environment';
import { matchCelExceptions } from './exceptions';
import { matchConstraintsMatch, requestTarget } from './match';
import { toCel } from './values';
import { emptyResponse } from './response';
import { evaluateAuditAnnotations, evaluateMatchConditions } from './validations';
import { withProperties } from './validating-policy';
import { asObject } from '../core/json';
import { compileGenerationTemplate } from './generation-template';
import { generateResources } from './lib-kyverno';

/**
 * A template's resources go where their metadata.namespace says (Kyverno's applyTemplate). A
 * namespaced policy puts resources without one in its own namespace and may not generate into another.
 */
function generateFromTemplate(policy: JsonObject, template: unknown, evaluate: (expression: string) => unknown, runtime: { generated: JsonObject[] }): void {
  let resources: JsonObject[];
  try {
    resources = compileGenerationTemplate(template).render(evaluate) as JsonObject[];
  } catch (e) {
    throw new Error(`failed to render generation template: ${(e as Error).message}`);
  }
  const meta = asObject(policy.metadata);
  const policyNamespace = String(policy.kind ?? '').startsWith('Namespaced') && typeof meta.namespace === 'string' ? meta.namespace : '';
  const grouped = new Map<string, JsonObject[]>();
  for (const resource of resources) {
    let namespace = String(asObject(resource.metadata).namespace ?? '');
    if (policyNamespace) {
      if (namespace === '') namespace = policyNamespace;
      else if (namespace !== policyNamespace) {
        throw new Error(`cross-namespace generation denied: a policy in namespace "${policyNamespace}" cannot generate resources into namespace "${namespace}"`);
      }
    }
    const group = grouped.get(namespace);
    if (group) group.push(resource);
    else grouped.set(namespace, [resource]);
  }
  for (const [namespace, objects] of grouped) generateResources(runtime, namespace, objects);
}

function single(policy: JsonObject, options: ApplyOptions, r: Omit<RuleResult, 'type'> & { type?: RuleResult['type'] }): PolicyResponse {
  return emptyResponse(policy, options, [{ type: 'Validation', ...r }]);
}

/** Runs each `generate[].expression`; resources passed to generator.Apply are the result. */
export function applyGeneratingPolicy(policy: JsonObject, options: ApplyOptions): PolicyResponse {
  const spec = asObject(policy.spec);
  if (!matchConstraintsMatch(spec.matchConstraints, options.request, options.cluster)) return emptyResponse(policy, options);
  const runtime = createRuntime(options);
  const act = buildActivation(options, {}, runtime);
  // As Kyverno's gpol compiler: an exception without images or values exempts the resource;
  // otherwise what the exceptions allow is `exceptions.allowedImages/allowedValues` and the policy runs.
  const exceptions = matchCelExceptions(policy, options.cluster.exceptions, act);
  if (exceptions?.full) {
    const verb = exceptions.reportResult === 'pass' ? 'passed' : 'skipped';
    return single(policy, options, { name: 'exception', type: 'Generation', status: exceptions.reportResult, message: `rule is ${verb} due to policy exception: ${exceptions.keys.join(', ')}`, exceptions: exceptions.keys });
  }
  act.vars.exceptions = toCel({ allowedImages: exceptions?.allowedImages ?? [], allowedValues: exceptions?.allowedValues ?? [] });
  const match = evaluateMatchConditions(spec.matchConditions, act, spec.failurePolicy);
  // Kyverno's gpol engine names its result after the policy (exceptions: "exception").
  const name = String(asObject(policy.metadata).name ?? '');
  if (match.error) return single(policy, options, { name, type: 'Generation', status: 'error', message: match.error });
  if (!match.matched) return single(policy, options, { name: '', type: 'Generation', status: 'skip', message: 'skip' });
  installVariables(act, spec.variables);
  const generate = (Array.isArray(spec.generate) ? spec.generate : []) as JsonObject[];
  for (const [i, g] of generate.entries()) {
    try {
      if (g.template !== undefined && g.template !== null) {
        generateFromTemplate(policy, g.template, (expression) => evalCel(expression, act.vars), runtime);
        continue;
      }
      const out = evalCel(String(g.expression ?? ''), act.vars);
      if (typeof out !== 'boolean') throw new Error(`generate[${i}] must evaluate to bool, got ${typeOfCel(out)}`);
    } catch (err) {
      return single(policy, options, { name, type: 'Generation', status: 'error', message: `failed to evaluate policy: ${(err as Error).message}` });
    }
  }
  let properties: Partial<RuleResult>;
  try {
    properties = withProperties(evaluateAuditAnnotations(spec.auditAnnotations, act));
  } catch (err) {
    return single(policy, options, { name, type: 'Generation', status: 'error', message: `failed to evaluate policy: ${(err as Error).message}` });
  }
  return single(policy, options, { name, type: 'Generation', status: 'pass', message: 'policy evaluated successfully', generatedResources: runtime.generated, ...properties });
}

/**
 * DeletingPolicy as the CLI's test command reports it (dpol engine + applyDeletingPolicies):
 * the resource itself is evaluated (a CREATE, any operation of `resourceRules` matching); a
 * resource the matchConstraints do not select gets no result; otherwise one result named
 * after the policy: pass "resource matched" when every condition holds (it would be deleted),
 * fail "resource did not match" when one does not or a CEL PolicyException applies, error when
 * a condition cannot be evaluated. An object without apiVersion/kind (a JSON payload) is not
 * matched at all: only the conditions decide. The Namespace is the one the values file
 * declares (a Namespace resource stands for itself); namespaceObject is null otherwise.
 */
export function applyDeletingPolicy(policy: JsonObject, original: ApplyOptions): PolicyResponse {
  const name = String(asObject(policy.metadata).name ?? '');
  const spec = asObject(policy.spec);
  const resource = asObject(original.request.object ?? original.request.oldObject);
  const options: ApplyOptions = { ...original, request: { ...original.request, operation: 'CREATE', object: resource, oldObject: null } };
  const result = (status: RuleResult['status'], message: string) => single(policy, options, { name, type: 'Deletion', status, message });
  let namespace: JsonObject | null = null;
  if (resource.apiVersion && resource.kind) {
    const t = requestTarget(options.request);
    const labels = options.cluster.namespaceLabels;
    if (t.namespace) namespace = declaredNamespace(t.namespace, labels);
    else if (t.group === '' && t.kind === 'Namespace') {
      namespace = declaredNamespace(t.name, labels) ?? { apiVersion: 'v1', kind: 'Namespace', metadata: { name: t.name, labels: asObject(asObject(resource.metadata).labels) } };
    }
    if (!spec.matchConstraints) return emptyResponse(policy, options);
    if (!matchConstraintsMatch(spec.matchConstraints, options.request, options.cluster, { ignoreOperations: true, emptyRulesMatchAll: true, namespace })) {
      return emptyResponse(policy, options);
    }
  }
  const act = buildActivation(options);
  act.vars.namespaceObject = toCel(namespace);
  installVariables(act, spec.variables);
  // An exception keeps the resource: the CLI reports that as "did not match".
  if (matchCelExceptions(policy, options.cluster.exceptions, act)) return result('fail', 'resource did not match');
  const cond = evaluateMatchConditions(spec.conditions, act, 'Fail');
  if (cond.error) return result('error', cond.error);
  return cond.matched ? result('pass', 'resource matched') : result('fail', 'resource did not match');
}

/** The Namespace the values file declares (the CLI's Variables.Namespace), else null. */
function declaredNamespace(name: string, labels: ClusterState['namespaceLabels']): JsonObject | null {
  const declared = labels[name];
  return declared ? { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: declared } } : null;
}
