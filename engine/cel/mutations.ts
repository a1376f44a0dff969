/**
 * The mutation core MutatingPolicy and MutatingAdmissionPolicy share: JSONPatch mutations
 * yield RFC 6902 operations, ApplyConfiguration mutations a partial object merged
 * server-side-apply style; each sees the object as the previous ones left it.
 */
import { applyPatch, type Operation } from 'fast-json-patch';
import type { JsonObject } from '../core/types';
import { mergeApplyConfiguration, type ListMerge } from './apply-configuration';
import type { CelActivation } from './context';
import { evalCel, typeOfCel } from './environment';
import { fromCel, isPlainObject, toCel } from './values';
import { asObject } from '../core/json';

/**
 * Applies one mutation to `current` (the object it sees as `object`); throws with a clear
 * message. `lists` is how ApplyConfiguration merges lists (see apply-configuration.ts).
 */
export function applyMutation(m: JsonObject, index: number, current: JsonObject, act: CelActivation, lists: ListMerge = 'typed'): JsonObject {
  act.vars.object = toCel(current);
  const type = String(m.patchType ?? '');
  if (type === 'JSONPatch') {
    const expr = String(asObject(m.jsonPatch).expression ?? '');
    const out = fromCel(evalCel(expr, act.vars));
    if (!Array.isArray(out)) throw new Error(`mutation ${index}: JSONPatch expression must return a list, got ${typeOfCel(out)}`);
    const ops = out.map((op) => {
      const o = asObject(op);
      const clean: JsonObject = { op: o.op, path: o.path };
      if ('value' in o) clean.value = o.value;
      if ('from' in o) clean.from = o.from;
      return clean;
    });
    try {
      return applyPatch(current, ops as unknown as Operation[], true, false).newDocument as JsonObject;
    } catch (err) {
      // A failed `test` operation is not an error: the whole patch is dropped (Kubernetes' patcher).
      if ((err as { name?: string }).name === 'TEST_OPERATION_FAILED') return current;
      throw new Error(`mutation ${index}: JSON patch failed: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  if (type === 'ApplyConfiguration') {
    const expr = String(asObject(m.applyConfiguration).expression ?? '');
    const out = fromCel(evalCel(expr, act.vars));
    if (!isPlainObject(out)) throw new Error(`mutation ${index}: ApplyConfiguration expression must return an object, got ${typeOfCel(out)}`);
    return mergeApplyConfiguration(current, out, lists) as JsonObject;
  }
  throw new Error(`mutation ${index}: unsupported patchType '${type}'`);
}

/** Applies `mutations` to `object` in order; throws with a clear message on a bad mutation. */
export function runMutations(mutations: unknown, object: JsonObject, act: CelActivation): JsonObject {
  // No copy up front: a JSON patch applies to a copy of its input and an apply configuration
  // merges copy-on-write, so `object` (immutable, as every parsed document) is never changed.
  let current = object;
  const list = (Array.isArray(mutations) ? mutations : []) as JsonObject[];
  list.forEach((m, index) => { current = applyMutation(m, index, current, act); });
  return current;
}

