/** Structural comparison helpers for mutation outcomes. */

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Deep JSON equality, independent of key order. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((v, i) => jsonEqual(v, b[i]));
  }
  if (isMap(a) && isMap(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

/**
 * The path of the first field that differs between before and after (in after's order,
 * then fields only before has), or undefined when they are equal. Points at the deepest
 * container both sides share, so editors can underline the changed field.
 */
export function firstChangedPath(before: unknown, after: unknown): Array<string | number> | undefined {
  if (jsonEqual(before, after)) return undefined;
  if (Array.isArray(before) && Array.isArray(after)) {
    const n = Math.max(before.length, after.length);
    for (let i = 0; i < n; i++) {
      if (i >= before.length || i >= after.length) return [i];
      const sub = firstChangedPath(before[i], after[i]);
      if (sub) return [i, ...sub];
    }
    return [];
  }
  if (isMap(before) && isMap(after)) {
    for (const k of [...Object.keys(after), ...Object.keys(before).filter((k) => !(k in after))]) {
      if (!(k in before) || !(k in after)) return [k];
      const sub = firstChangedPath(before[k], after[k]);
      if (sub) return [k, ...sub];
    }
  }
  return [];
}
