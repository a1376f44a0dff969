/** What every module asks of parsed JSON. */

/** A JSON object (a YAML mapping): not null, not an array. */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The value as a JSON object, or an empty one: reading optional fields of parsed documents. */
export function asObject(v: unknown): Record<string, unknown> {
  return isJsonObject(v) ? v : {};
}

/** The value as an array, or an empty one. */
export function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** Deep JSON equality, independent of key order. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((v, i) => jsonEqual(v, b[i]));
  }
  if (isJsonObject(a) && isJsonObject(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

/**
 * Whether JSON text carries the value exactly (JSON.parse of its JSON.stringify is equal):
 * only strings, booleans, null, finite numbers other than -0, dense arrays and plain objects.
 * Infinity, NaN, -0, BigInt, undefined, dates, holes... are not, so a JSON text cannot stand
 * for them in a cache key or a cache file.
 */
export function isExactJson(value: unknown, depth = 0): boolean {
  if (depth > 512) return false;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!(i in value) || !isExactJson(value[i], depth + 1)) return false;
    return true;
  }
  if (typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const v of Object.values(value as object)) if (!isExactJson(v, depth + 1)) return false;
  return true;
}

/** A JSON path as Kyverno's field errors print it (apimachinery field.Path): `spec.rules[0].match`. */
export function formatFieldPath(path: ReadonlyArray<string | number>): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : out ? `.${key}` : key;
  return out;
}
