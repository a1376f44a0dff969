/**
 * mutate.foreach as Kyverno's forEachMutator runs it: each entry evaluates its `list`
 * against the current context, visits the elements (patchStrategicMerge entries go in
 * descending order unless `order` says otherwise; elementIndex keeps the original index;
 * null elements are skipped), applies per-element context and preconditions, then either a
 * nested foreach or the entry's patches. After each entry that changed something,
 * request.object is the patched resource.
 */
import type { JsonObject } from '../core/types';
import { evaluateConditions } from '../conditions';
import { jmesSearch } from '../jmespath';
import { withVariables, type VariableScope } from '../variables';
import { loadNamedEntries } from '../context/deferred';
import { jsonEqual } from '../core/json';
import { applyPatches, type PatchStep } from './patcher';
import { BudgetExceededError, chargeForeachElement, foreachCheckpoint, foreachElementReset, foreachRestore, MAX_FOREACH_ELEMENTS } from '../core/budget';

/** Loads `context` entries into a scope (provided by the engine's context loader). */
export type ContextLoader = (entries: unknown[], scope: VariableScope) => VariableScope;

export interface ForeachEnv {
  loadContext?: ContextLoader;
}

const errorStep = (message: string, resource: JsonObject): PatchStep => ({ status: 'error', message, resource });

export function mutateForeach(entries: unknown, resource: JsonObject, scope: VariableScope, env: ForeachEnv, nesting = 0): PatchStep {
  if (!Array.isArray(entries)) return errorStep('failed to deserialize foreach: expected a list', resource);
  let current = resource;
  let currentScope = scope;
  let applied = 0;
  for (const entry of entries) {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      return errorStep('failed to deserialize foreach: each entry must be a map', current);
    }
    const fe = entry as JsonObject;
    let elements: unknown[];
    try {
      elements = evaluateList(String(fe.list ?? ''), currentScope);
    } catch (e) {
      const msg = `failed to evaluate list ${String(fe.list ?? '')}: ${(e as Error).message}`;
      return errorStep(`${msg}: ${(e as Error).message}`, current);
    }
    if (elements.length > MAX_FOREACH_ELEMENTS) {
      return errorStep(new BudgetExceededError('foreach', MAX_FOREACH_ELEMENTS, `mutate.foreach lists ${elements.length} elements`).message, current);
    }
    const step = mutateElements(fe, elements, current, currentScope, env, nesting);
    if (step.status === 'error') return errorStep(`failed to mutate elements: ${step.message}`, current);
    if (step.status !== 'skip') {
      applied++;
      current = step.resource;
      currentScope = withRequestObject(currentScope, current);
    }
  }
  const message = `${applied} elements processed`;
  return { status: applied === 0 ? 'skip' : 'pass', message, resource: current };
}

/** Kyverno's EvaluateList: a JMESPath query; a non-list result is a one-element list. */
function evaluateList(expression: string, scope: VariableScope): unknown[] {
  const unloadable = loadNamedEntries(expression, scope.deferredEntries);
  if (unloadable !== undefined) throw new Error(unloadable);
  const value = jmesSearch(expression, scope.data);
  return Array.isArray(value) ? value : [value];
}

function withRequestObject(scope: VariableScope, resource: JsonObject): VariableScope {
  const request = (scope.data.request ?? {}) as JsonObject;
  return withVariables(scope, { request: { ...request, object: resource } });
}

/**
 * Kyverno's mutateElements checkpoints the JSON context, resets it per element and restores it
 * on return: each counts the entries loaded around the list again (context size).
 */
function mutateElements(
  fe: JsonObject, elements: unknown[], resource: JsonObject, scope: VariableScope, env: ForeachEnv, nesting: number,
): PatchStep {
  foreachCheckpoint();
  try {
    return patchElements(fe, elements, resource, scope, env, nesting);
  } finally {
    foreachRestore();
  }
}

function patchElements(
  fe: JsonObject, elements: unknown[], resource: JsonObject, scope: VariableScope, env: ForeachEnv, nesting: number,
): PatchStep {
  let reverse = fe.patchStrategicMerge !== undefined && fe.patchStrategicMerge !== null;
  if (fe.order !== undefined) reverse = fe.order === 'Descending';
  const indexes = elements.map((_, i) => i);
  if (reverse) indexes.reverse();
  let patched = resource;
  for (const index of indexes) {
    const element = elements[index];
    if (element === null || element === undefined) continue;
    chargeForeachElement();
    foreachElementReset();
    let elementScope = withVariables(scope, {
      element, elementIndex: index, [`element${nesting}`]: element, [`elementIndex${nesting}`]: index,
    });
    if (Array.isArray(fe.context) && fe.context.length > 0) {
      if (!env.loadContext) return errorStep(`failed to load to mutate.foreach[${index}].context: no context loader available`, patched);
      try {
        elementScope = env.loadContext(fe.context, elementScope);
      } catch (e) {
        return errorStep(`failed to load to mutate.foreach[${index}].context: ${(e as Error).message}`, patched);
      }
    }
    if (fe.preconditions !== undefined && fe.preconditions !== null) {
      let outcome: ReturnType<typeof evaluateConditions>;
      try {
        outcome = evaluateConditions(fe.preconditions, elementScope);
      } catch (e) {
        outcome = { passed: false, error: (e as Error).message };
      }
      if (outcome.error !== undefined) {
        return errorStep(`failed to evaluate mutate.foreach[${index}].preconditions: ${outcome.error}`, patched);
      }
      if (!outcome.passed) continue;
    }
    const step = fe.foreach !== undefined && fe.foreach !== null
      ? mutateForeach(fe.foreach, patched, elementScope, env, nesting + 1)
      // Kyverno substitutes the entry on its own, so paths (and `{{@}}`) start at the entry:
      // `/patchStrategicMerge/spec/...`, of which `@` skips the first two segments.
      : applyPatches({ patchStrategicMerge: fe.patchStrategicMerge, patchesJson6902: fe.patchesJson6902 }, patched, elementScope, '');
    if (step.status === 'error') return step;
    if (step.status === 'pass') patched = step.resource;
  }
  if (!jsonEqual(resource, patched)) return { status: 'pass', message: '', resource: patched };
  return { status: 'skip', message: 'no patches applied', resource: patched };
}
