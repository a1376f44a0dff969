/**
 * Classic (kyverno.io) mutate rules: patchStrategicMerge, patchesJson6902, foreach and
 * mutate existing (targets), with Kyverno's rule statuses and messages.
 */
import type { JsonObject, RuleResult } from '../core/types';
import { evaluateConditions } from '../conditions';
import type { VariableScope } from '../variables';
import { firstChangedPath } from './diff';
import { mutateForeach, type ContextLoader } from './foreach';
import { applyPatches, type PatchStep } from './patcher';
import { loadTargets, targetScope } from './targets';

export type { ContextLoader } from './foreach';
export { strategicMerge, StrategicMergeError } from './strategicMerge';
export { schemaForResource } from './mergeKeys';
export { applyJsonPatch, decodeJsonPatch, JsonPatchError } from './jsonPatch';
export { applyStrategicMerge } from './patcher';

export interface MutateOptions {
  /** Candidates for `mutate.targets` (test `targetResources`, known cluster resources). */
  targetResources?: JsonObject[];
  /** Namespace of a namespaced Policy: its targets are only looked up there. */
  policyNamespace?: string;
  /** Loads `context` entries of foreach entries and targets into a scope. */
  loadContext?: ContextLoader;
}

/** One mutated target of a mutate-existing rule. */
export interface TargetOutcome {
  result: RuleResult;
  /** The target before the rule. */
  target: JsonObject;
  /** The target after the rule (equal to target unless result passed). */
  patched: JsonObject;
}

export interface MutateOutcome {
  result: RuleResult;
  /** The resource after the rule (the input when nothing changed; always the input for mutate existing). */
  patched: JsonObject;
  /** Mutate existing: one outcome per target, in target order (Kyverno reports one rule response each). */
  targets?: TargetOutcome[];
}

/**
 * Applies one mutate rule to a resource. The rule's match/exclude/preconditions and rule
 * context were already handled by the caller; scope holds request, context entries, etc.
 */
export function applyMutateRule(rule: JsonObject, resource: JsonObject, scope: VariableScope, options: MutateOptions = {}): MutateOutcome {
  const name = String(rule.name ?? '');
  const mutate = rule.mutate;
  if (typeof mutate !== 'object' || mutate === null || Array.isArray(mutate)) {
    return { result: ruleResult(name, { status: 'error', message: 'empty mutate rule', resource }, resource), patched: resource };
  }
  const spec = mutate as JsonObject;
  if (Array.isArray(spec.targets) && spec.targets.length > 0) return mutateExisting(name, spec, resource, scope, options);
  const step = mutateResource(spec, resource, scope, options);
  return { result: ruleResult(name, step, resource), patched: step.status === 'pass' ? step.resource : resource };
}

function mutateResource(spec: JsonObject, resource: JsonObject, scope: VariableScope, options: MutateOptions): PatchStep {
  if (spec.foreach !== undefined && spec.foreach !== null) {
    return mutateForeach(spec.foreach, resource, scope, { loadContext: options.loadContext });
  }
  return applyPatches({ patchStrategicMerge: spec.patchStrategicMerge, patchesJson6902: spec.patchesJson6902 }, resource, scope, '/mutate');
}

function mutateExisting(name: string, spec: JsonObject, trigger: JsonObject, scope: VariableScope, options: MutateOptions): MutateOutcome {
  const { targets, errors } = loadTargets(spec.targets as unknown[], scope, options.targetResources ?? [], options.policyNamespace);
  const outcomes: TargetOutcome[] = [];
  const errorResult = (message: string): RuleResult => ({ name, type: 'Mutation', status: 'error', message });
  if (errors.length > 0) {
    const t = { result: errorResult(errors.join('; ')), target: trigger, patched: trigger };
    outcomes.push(t);
  }
  for (const t of targets) {
    let tScope = targetScope(scope, t.resource);
    if (Array.isArray(t.context) && t.context.length > 0) {
      if (!options.loadContext) {
        outcomes.push({ result: errorResult('failed to load context: no context loader available'), target: t.resource, patched: t.resource });
        continue;
      }
      try {
        tScope = options.loadContext(t.context, tScope);
      } catch (e) {
        outcomes.push({ result: errorResult(`failed to load context: ${(e as Error).message}`), target: t.resource, patched: t.resource });
        continue;
      }
    }
    if (t.preconditions !== undefined && t.preconditions !== null) {
      const cond = evaluateConditions(t.preconditions, tScope);
      if (cond.error !== undefined) {
        outcomes.push({ result: errorResult(`failed to evaluate preconditions: ${cond.error}`), target: t.resource, patched: t.resource });
        continue;
      }
      if (!cond.passed) {
        const message = ['preconditions not met', cond.message ?? ''].filter((s) => s !== '').join('; ');
        outcomes.push({ result: { name, type: 'Mutation', status: 'skip', message }, target: t.resource, patched: t.resource });
        continue;
      }
    }
    const step = mutateResource(spec, t.resource, tScope, options);
    const patched = step.status === 'pass' ? step.resource : t.resource;
    const result = ruleResult(name, step, t.resource);
    // A path would point into the target, not into the trigger the result is reported on.
    delete result.path;
    outcomes.push({ result, target: t.resource, patched });
  }
  const result = outcomes[0]?.result ?? { name, type: 'Mutation', status: 'skip', message: 'no target resources found' };
  return { result, patched: trigger, targets: outcomes };
}

/** Kyverno's buildRuleResponse: a pass says which resource was mutated. */
function ruleResult(name: string, step: PatchStep, before: JsonObject): RuleResult {
  if (step.status !== 'pass') return { name, type: 'Mutation', status: step.status, message: step.message };
  const result: RuleResult = { name, type: 'Mutation', status: 'pass', message: successMessage(step.resource), patchedResource: step.resource };
  const path = firstChangedPath(before, step.resource);
  if (path && path.length > 0) result.path = path;
  return result;
}

function successMessage(r: JsonObject): string {
  const meta = (r.metadata ?? {}) as JsonObject;
  const kind = String(r.kind ?? '');
  const name = String(meta.name ?? '');
  const ns = meta.namespace;
  if (typeof ns !== 'string' || ns === '') return `mutated ${kind}/${name}`;
  return `mutated ${kind}/${name} in namespace ${ns}`;
}
