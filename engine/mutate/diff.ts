/** Structural comparison helpers for mutation outcomes. */
import { isJsonObject } from '../core/json';


import { jsonEqual } from '../core/json';

/**
 * The path of the first field that differs between before and after, in the original
 * document's order (before's keys first, then keys only after has), or undefined when they
 * are equal. Patchers may reorder keys (kyaml sorts them), so after's order says nothing
 * about where a change sits in the user's file. An added or removed field is named itself
 * (an editor resolves a missing path to its deepest existing ancestor); a list that grew or
 * shrank past its common prefix is named by the first index past it. Lists of named maps
 * (containers, volumes, env…) are compared by name: a strategic merge puts the patch's
 * elements first, which would otherwise make every index look changed.
 */
export function firstChangedPath(before: unknown, after: unknown): Array<string | number> | undefined {
  if (jsonEqual(before, after)) return undefined;
  if (Array.isArray(before) && Array.isArray(after)) {
    const keyed = firstChangedByName(before, after);
    if (keyed) return keyed;
    const n = Math.max(before.length, after.length);
    for (let i = 0; i < n; i++) {
      if (i >= before.length || i >= after.length) return [i];
      const sub = firstChangedPath(before[i], after[i]);
      if (sub) return [i, ...sub];
    }
    return [];
  }
  if (isJsonObject(before) && isJsonObject(after)) {
    const has = (o: Record<string, unknown>, k: string) => Object.prototype.hasOwnProperty.call(o, k);
    for (const k of [...Object.keys(before), ...Object.keys(after).filter((k) => !has(before, k))]) {
      if (!has(before, k) || !has(after, k)) return [k];
      const sub = firstChangedPath(before[k], after[k]);
      if (sub) return [k, ...sub];
    }
  }
  return [];
}

function uniqueNames(list: unknown[]): string[] | undefined {
  const names = list.map((e) => (isJsonObject(e) && typeof e.name === 'string' ? e.name : undefined));
  if (names.some((n) => n === undefined) || new Set(names).size !== names.length) return undefined;
  return names as string[];
}

/** Pairs named elements: the first changed or removed one, in before's order. */
function firstChangedByName(before: unknown[], after: unknown[]): Array<string | number> | undefined {
  const beforeNames = uniqueNames(before);
  const afterNames = uniqueNames(after);
  if (!beforeNames || !afterNames || before.length === 0 || after.length === 0) return undefined;
  for (let i = 0; i < before.length; i++) {
    const j = afterNames.indexOf(beforeNames[i]);
    if (j < 0) return [i];
    const sub = firstChangedPath(before[i], after[j]);
    if (sub) return [i, ...sub];
  }
  // Only additions or a new order: name the list itself (an added element's index in the
  // result would point at a different element of the original).
  return [];
}
