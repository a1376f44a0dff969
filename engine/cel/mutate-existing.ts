/**
 * MutatingPolicy `evaluation.mutateExisting` as the Kyverno CLI runs it for a test's target
 * resources (processor: targetMatchPredicate, discoverCELTargets, mpol Evaluate):
 *  - targets are the known resources selected by `spec.targetMatchConstraints` — its CEL
 *    `expression` (a resource or a list with `items`, compared by namespace/name), else its
 *    resourceRules, else the policy's matchConstraints; operations do not matter;
 *  - each target is mutated with `object` = the target, `oldObject` = null, `request` = the
 *    trigger's admission request and no namespaceObject; the policy's matchConditions apply
 *    to the target unless targetMatchConstraints names the targets explicitly;
 *  - a passing target yields a Mutation result named "" carrying the patched target.
 * The engine's ClusterState does not separate `targetResources` from other cluster resources,
 * so every known resource is a candidate.
 */
import type { ApplyOptions } from '../apply';
import type { JsonObject, RuleResult } from '../core/types';
import { buildActivation, installVariables, type CelActivation } from './context';
import { evalCel } from './environment';
import { matchCelExceptions } from './exceptions';
import { matchConstraintsMatch } from './match';
import { runMutations } from './mutations';
import { evaluateMatchConditions } from './validations';
import { fromCel, toCel } from './values';
import { asObject } from '../core/json';

function keyOf(resource: JsonObject): string {
  const meta = asObject(resource.metadata);
  const name = String(meta.name ?? '');
  return meta.namespace ? `${String(meta.namespace)}/${name}` : name;
}

function isMutateExisting(spec: JsonObject): boolean {
  return asObject(asObject(spec.evaluation).mutateExisting).enabled === true;
}

/** namespace/name keys of the resources a targetMatchConstraints expression returns. */
function expressionTargets(expression: string, act: CelActivation): Set<string> {
  const out = fromCel(evalCel(expression, act.vars));
  if (!out || typeof out !== 'object' || Array.isArray(out)) throw new Error('output type of the target selector expression must be a map');
  const items = (out as JsonObject).items;
  const resources = Array.isArray(items) ? items.filter((i) => i && typeof i === 'object' && !Array.isArray(i)) as JsonObject[] : [out as JsonObject];
  return new Set(resources.map(keyOf));
}

/**
 * `background`: as Kyverno's background controller (pkg/background/mpol/processor.go) rather
 * than the CLI: the target expression sees the whole admission context (request included) once
 * the trigger passes matchConditions, and each target is checked with targetMatchConditions.
 */
export function mutateExistingTargets(policy: JsonObject, options: ApplyOptions, mode: { background?: boolean } = {}): RuleResult[] {
  const spec = asObject(policy.spec);
  if (!isMutateExisting(spec) || !options.request.object) return [];
  const trigger = asObject(options.request.object);
  const tc = asObject(spec.targetMatchConstraints);
  const expression = typeof tc.expression === 'string' && tc.expression.trim() ? tc.expression : '';
  const explicit = expression !== '' || (Array.isArray(tc.resourceRules) && tc.resourceRules.length > 0);
  const policyNamespace = String(asObject(policy.metadata).namespace ?? '');
  const namespaced = String(policy.kind ?? '').startsWith('Namespaced') && policyNamespace !== '';

  let selected: JsonObject[];
  try {
    if (expression) {
      const act = buildActivation(options, mode.background ? {} : { kubernetes: false });
      installVariables(act, spec.variables);
      if (mode.background) {
        const trigger = evaluateMatchConditions(spec.matchConditions, act, spec.failurePolicy);
        if (trigger.error || !trigger.matched) return [];
      }
      const keys = expressionTargets(expression, act);
      selected = options.cluster.resources.filter((r) => keys.has(keyOf(r)));
    } else {
      const constraints = Array.isArray(tc.resourceRules) && tc.resourceRules.length ? tc : spec.matchConstraints;
      selected = options.cluster.resources.filter((r) =>
        matchConstraintsMatch(constraints, { ...options.request, object: r, oldObject: null, kind: undefined, subResource: undefined, namespace: undefined }, options.cluster, { ignoreOperations: true }));
    }
  } catch (err) {
    return [{ name: 'evaluation', type: 'Mutation', status: 'error', message: `failed to discover targets: ${(err as Error).message}` }];
  }
  if (namespaced) selected = selected.filter((r) => String(asObject(r.metadata).namespace ?? '') === policyNamespace);
  // The CLI mutates the trigger at admission, not as its own target; the background controller
  // mutates whatever the targets are.
  if (!mode.background) selected = selected.filter((r) => !(keyOf(r) === keyOf(trigger) && r.kind === trigger.kind && r.apiVersion === trigger.apiVersion));

  const results: RuleResult[] = [];
  for (const target of selected) {
    const act = buildActivation(options, { object: target, oldObject: null });
    act.vars.namespaceObject = null;
    const exceptions = matchCelExceptions(policy, options.cluster.exceptions, act);
    if (exceptions && !exceptions.allowedImages.length && !exceptions.allowedValues.length) {
      const verb = exceptions.reportResult === 'pass' ? 'passed' : 'skipped';
      results.push({ name: 'exception', type: 'Mutation', status: exceptions.reportResult, message: `rule is ${verb} due to policy exception: ${exceptions.keys.join(', ')}`, exceptions: exceptions.keys });
      continue;
    }
    act.vars.exceptions = toCel({ allowedImages: exceptions?.allowedImages ?? [], allowedValues: exceptions?.allowedValues ?? [] });
    installVariables(act, spec.variables);
    if (mode.background) {
      const match = evaluateMatchConditions(spec.targetMatchConditions, act, spec.failurePolicy);
      if (match.error) { results.push({ name: 'evaluation', type: 'Mutation', status: 'error', message: `failed to evaluate policy: ${match.error}` }); continue; }
      if (!match.matched) continue;
    } else if (!explicit) {
      const match = evaluateMatchConditions(spec.matchConditions, act, spec.failurePolicy);
      if (match.error) { results.push({ name: 'evaluation', type: 'Mutation', status: 'error', message: `failed to evaluate policy: ${match.error}` }); continue; }
      if (!match.matched) { results.push({ name: '', type: 'Mutation', status: 'skip', message: 'skip' }); continue; }
    }
    try {
      const patched = runMutations(spec.mutations, target, act);
      results.push({ name: '', type: 'Mutation', status: 'pass', message: 'success', patchedResource: patched });
    } catch (err) {
      results.push({ name: 'evaluation', type: 'Mutation', status: 'error', message: `failed to evaluate policy: ${(err as Error).message}` });
    }
  }
  return results;
}

/** Kyverno's MutateExistingEnabled: `evaluation.mutateExisting.enabled`, false unless set. */
export function mutatesExisting(policy: JsonObject): boolean {
  return isMutateExisting(asObject(policy.spec));
}

/**
 * Whether an admitted request starts a MutatingPolicy's mutate-existing work (Kyverno's
 * reconciler MatchesMutateExisting): admission enabled, the policy's scope (a Namespaced one
 * only in its namespace), its matchConstraints and matchConditions on the trigger.
 */
export function mutateExistingFires(policy: JsonObject, options: ApplyOptions): boolean {
  const spec = asObject(policy.spec);
  if (!isMutateExisting(spec) || asObject(asObject(spec.evaluation).admission).enabled === false) return false;
  const policyNamespace = String(asObject(policy.metadata).namespace ?? '');
  if (String(policy.kind ?? '').startsWith('Namespaced') && policyNamespace !== String(options.request.namespace ?? '')) return false;
  if (!matchConstraintsMatch(spec.matchConstraints, options.request, options.cluster)) return false;
  if (!Array.isArray(spec.matchConditions) || spec.matchConditions.length === 0) return true;
  try {
    const act = buildActivation(options);
    installVariables(act, spec.variables);
    const match = evaluateMatchConditions(spec.matchConditions, act, spec.failurePolicy);
    return match.matched && !match.error;
  } catch {
    return false;
  }
}

/**
 * The constraints that select a MutatingPolicy's targets in the background (pkg/background/mpol
 * processor): targetMatchConstraints when it has resourceRules, else matchConstraints.
 */
export function targetConstraints(policy: JsonObject): JsonObject {
  const spec = asObject(policy.spec);
  const tc = asObject(spec.targetMatchConstraints);
  if (Array.isArray(tc.resourceRules) && tc.resourceRules.length > 0) {
    const { expression: _expression, ...rest } = tc;
    return rest;
  }
  return asObject(spec.matchConstraints);
}

/** targetMatchConstraints.expression, '' when none. */
export function targetExpression(policy: JsonObject): string {
  const e = asObject(asObject(policy.spec).targetMatchConstraints).expression;
  return typeof e === 'string' ? e.trim() : '';
}
