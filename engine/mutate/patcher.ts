/**
 * One patch step, as Kyverno's mutate.Mutate / mutate.ForEach run it: substitute variables
 * in the patches, pick patchStrategicMerge over patchesJson6902, apply, and report pass
 * (changed), skip ("no patches applied") or error.
 */
import type { JsonObject, RuleStatus } from '../core/types';
import { substituteVariables, type VariableScope } from '../variables';
import { chargeValue } from '../core/budget';
import { jsonEqual } from '../core/json';
import { applyJsonPatch, decodeJsonPatch } from './jsonPatch';
import { schemaForResource } from './mergeKeys';
import { ConditionError, GlobalConditionError, preprocessOverlay } from './preprocess';
import { strategicMerge } from './strategicMerge';

export interface PatchStep {
  status: Extract<RuleStatus, 'pass' | 'skip' | 'error'>;
  message: string;
  resource: JsonObject;
}

export interface Patches {
  patchStrategicMerge?: unknown;
  patchesJson6902?: unknown;
}

const errorStep = (message: string, resource: JsonObject): PatchStep => ({ status: 'error', message, resource });

/**
 * Substitutes variables in the patches and applies them to resource. basePath is where the
 * patches sit in the document Kyverno substitutes: `/mutate` for a rule (it substitutes the
 * whole rule), `` for a foreach entry (it substitutes the entry alone). `{{@}}` and error
 * messages depend on it.
 */
export function applyPatches(patches: Patches, resource: JsonObject, scope: VariableScope, basePath = ''): PatchStep {
  let substituted: Patches;
  try {
    const raw: Patches = {};
    if (patches.patchStrategicMerge !== undefined && patches.patchStrategicMerge !== null) raw.patchStrategicMerge = patches.patchStrategicMerge;
    if (patches.patchesJson6902 !== undefined) raw.patchesJson6902 = patches.patchesJson6902;
    substituted = substituteVariables(raw, scope, { basePath }) as Patches;
    // Substitution can place large values into the patch; the patched copy grows by as much.
    chargeValue(substituted, 'a mutation patch');
  } catch (e) {
    return errorStep(`variable substitution failed: ${(e as Error).message}`, resource);
  }
  let patched: unknown;
  try {
    if (substituted.patchStrategicMerge !== undefined) {
      patched = applyStrategicMerge(resource, substituted.patchStrategicMerge);
    } else if (typeof substituted.patchesJson6902 === 'string' && substituted.patchesJson6902.length > 0) {
      patched = applyJsonPatch(resource, decodeJsonPatch(substituted.patchesJson6902));
    } else {
      return errorStep('empty mutate rule', resource);
    }
  } catch (e) {
    return errorStep(`failed to patch resource: ${(e as Error).message}`, resource);
  }
  if (jsonEqual(resource, patched)) return { status: 'skip', message: 'no patches applied', resource };
  if (typeof patched !== 'object' || patched === null || Array.isArray(patched)) {
    return errorStep('failed to unmarshal patched resource: the result is not an object', resource);
  }
  return { status: 'pass', message: 'resource patched', resource: patched as JsonObject };
}

/** Anchor preprocessing then kyaml merge; a failed (global) condition turns the overlay into `{}`. */
export function applyStrategicMerge(resource: JsonObject, overlay: unknown): unknown {
  let prepared: unknown = structuredClone(overlay);
  try {
    preprocessOverlay(prepared, resource);
  } catch (e) {
    if (!(e instanceof ConditionError) && !(e instanceof GlobalConditionError)) {
      throw new Error(`failed to preProcess rule: ${(e as Error).message}`);
    }
    prepared = {};
  }
  return strategicMerge(resource, prepared, schemaForResource(resource));
}
