/**
 * The parts of k8s-manifest-sigstore's mapnode package that manifest verification uses:
 * flattening an object to dotted keys (Ravel), removing keys (Mask), the key diff between a
 * signed manifest and a resource (FindDiffBetweenNodes) and filtering it (DiffResult.Filter).
 * Its key patterns are Go regular expressions made from `*` wildcards and matched unanchored
 * (a pattern matches any key containing it), which is kept here: it decides what is ignored.
 */
import { formatFloatV, goCompare, goJsonMarshal } from '../jmespath/go-compat';
import { regexMatches, regexReplaceAllLiteral } from '../regex';

export type Scalar = string | number | boolean;

export interface Difference {
  key: string;
  before: Scalar | null;
  after: Scalar | null;
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Ravel: every scalar leaf under its dotted key (list items by index); nulls and empty containers vanish. */
export function ravel(value: unknown): Map<string, Scalar> {
  const out = new Map<string, Scalar>();
  const walk = (v: unknown, path: string): void => {
    if (v === null || v === undefined) return;
    if (Array.isArray(v)) v.forEach((item, i) => walk(item, path === '' ? String(i) : `${path}.${i}`));
    else if (isMap(v)) for (const [k, item] of Object.entries(v)) walk(item, path === '' ? k : `${path}.${k}`);
    else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out.set(path, v);
    else if (typeof v === 'bigint') out.set(path, Number(v));
  };
  walk(value, '');
  return out;
}

/** patternMatchString: equal, `*`, empty, or a `*` pattern as an unanchored Go regexp. */
export function keyPatternMatches(key: string, pattern: string): boolean {
  if (key === pattern || pattern === '*' || pattern === '') return true;
  if (!pattern.includes('*')) return false;
  try {
    return regexMatches(pattern.split('*').join('.*'), key);
  } catch {
    return false; // Go ignores the compile error and reports no match
  }
}

export function keyInList(patterns: readonly string[], key: string): boolean {
  return patterns.some((p) => keyPatternMatches(key, p));
}

/** splitConcatKey: dots separate keys; a trailing `[n]` is an index of its own. */
function splitConcatKey(key: string): string[] {
  const out: string[] = [];
  for (const part of key.split('.')) {
    const m = /\[\d+\]$/.exec(part);
    if (!m) {
      out.push(part);
      continue;
    }
    const name = part.split(m[0]).join('');
    if (name !== '') out.push(name);
    out.push(m[0].slice(1, -1));
  }
  return out;
}

function getChild(v: unknown, key: string): { found: boolean; value?: unknown } {
  if (Array.isArray(v)) {
    if (!/^[+-]?\d+$/.test(key)) return { found: false };
    const i = Number(key);
    return i >= 0 && i < v.length ? { found: true, value: v[i] } : { found: false };
  }
  if (isMap(v)) return key in v ? { found: true, value: v[key] } : { found: false };
  return { found: false };
}

function keyExists(root: unknown, concatKey: string): boolean {
  let current: unknown = root;
  for (const k of splitConcatKey(concatKey)) {
    const child = getChild(current, k);
    if (!child.found) return false;
    current = child.value;
  }
  return true;
}

/**
 * generateKeyList: `a[].b` becomes `a.0.b`, `a.1.b`, ... for the indexes that exist. Like
 * mapnode's counter, inner lists are only walked for the first element of outer ones.
 */
function expandListKey(root: unknown, concatKey: string): string[] {
  if (!concatKey.includes('[]')) return [];
  const parts = concatKey.split('[]').map((p) => p.replace(/^\.+|\.+$/g, ''));
  const indexes = parts.slice(0, -1).map(() => 0);
  const finished = parts.slice(0, -1).map(() => false);
  const keys: string[] = [];
  for (;;) {
    let key = '';
    let checkKey = '';
    parts.forEach((p, i) => {
      key += p;
      if (i < parts.length - 1) {
        key += `.${indexes[i]}.`;
        checkKey += `${p}.${indexes[i]}.`;
      }
    });
    key = key.replace(/\.$/, '');
    checkKey = checkKey.replace(/\.$/, '');
    let open = -1;
    for (let i = finished.length - 1; i >= 0; i--) {
      if (!finished[i]) {
        open = i;
        break;
      }
    }
    if (keyExists(root, checkKey)) {
      keys.push(key);
      indexes[open]++;
    } else {
      finished[open] = true;
      if (finished[0]) return keys;
    }
  }
}

/** validateKeyList: `a[1].b` spelled `a.1.b`, `[]` expanded against the object. */
function concreteKeys(root: unknown, keys: readonly string[]): string[] {
  const out: string[] = [];
  for (const raw of keys) {
    const key = splitConcatKey(raw).join('.');
    const expanded = expandListKey(root, key);
    out.push(...(expanded.length > 0 ? expanded : [key]));
  }
  return out;
}

/** Mask: the object without the keys (and everything under them) that match a pattern. */
export function mask(value: unknown, keys: readonly string[]): unknown {
  const patterns = concreteKeys(value, keys);
  const walk = (v: unknown, path: string): unknown => {
    if (Array.isArray(v)) {
      const out: unknown[] = [];
      v.forEach((item, i) => {
        const key = path === '' ? String(i) : `${path}.${i}`;
        if (!keyInList(patterns, key)) out.push(walk(item, key));
      });
      return out;
    }
    if (isMap(v)) {
      const out: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(v)) {
        const key = path === '' ? k : `${path}.${k}`;
        if (!keyInList(patterns, key)) out[k] = walk(item, key);
      }
      return out;
    }
    return v;
  };
  return walk(value, '');
}

function goTypeName(v: Scalar): string {
  return typeof v === 'string' ? 'string' : typeof v === 'number' ? 'float64' : 'bool';
}

/** fmt's %s of a value: strings as they are, other types as %!s(type=value). */
function goPercentS(v: Scalar): string {
  if (typeof v === 'string') return v;
  return `%!s(${goTypeName(v)}=${typeof v === 'number' ? formatFloatV(v) : String(v)})`;
}

const LIST_INDEX = String.raw`\.\d+\.`;

/**
 * removeKeyDiffsInListNode: a value that only moved inside a list (deleted at one index,
 * created at another) is not a difference.
 */
function withoutMovedListItems(items: Difference[]): Difference[] {
  return items.filter((item) => {
    const beforeNil = item.before === null;
    const afterNil = item.after === null;
    if (!(regexMatches(LIST_INDEX, item.key) && (beforeNil || afterNil))) return true;
    const search = regexReplaceAllLiteral(LIST_INDEX, item.key, LIST_INDEX);
    return !items.some((other) => {
      let keyMatched = false;
      try {
        keyMatched = regexMatches(search, other.key);
      } catch {
        keyMatched = false;
      }
      const movedFrom = item.before === other.after && other.before === null && afterNil;
      const movedTo = item.after === other.before && other.after === null && beforeNil;
      return keyMatched && (movedFrom || movedTo);
    });
  });
}

/**
 * FindDiffBetweenNodes in mapnode's default mode: `before` from the manifest, `after` from the
 * resource, sorted by key. A key missing on one side and an empty string on the other is no
 * difference (Go's reflect comparison in removeDiffWithDefaultConversion holds only for "";
 * a missing key against 0 or false stays a difference).
 */
export function diffObjects(manifest: unknown, resource: unknown): Difference[] {
  const m1 = ravel(manifest);
  const m2 = ravel(resource);
  const keys = new Set([...m1.keys(), ...m2.keys()]);
  const changes: Difference[] = [];
  const typeDiffs: Difference[] = [];
  for (const key of keys) {
    const before = m1.has(key) ? m1.get(key)! : null;
    const after = m2.has(key) ? m2.get(key)! : null;
    if (before !== null && after !== null && typeof before !== typeof after) {
      typeDiffs.push({
        key,
        before: `(type: ${goTypeName(before)}) ${goPercentS(before)}`,
        after: `(type: ${goTypeName(after)}) ${goPercentS(after)}`,
      });
      continue;
    }
    if (before !== after) changes.push({ key, before, after });
  }
  const items = withoutMovedListItems(changes).filter((d) => !((d.before === null && d.after === '') || (d.after === null && d.before === '')));
  return [...items, ...typeDiffs].sort((a, b) => goCompare(a.key, b.key));
}

/** DiffResult.Filter's kept half: differences whose key matches no ignore pattern (each taken as a prefix). */
export function filterDiff(items: readonly Difference[], ignoreFields: readonly string[]): Difference[] {
  const patterns = ignoreFields.map((f) => `${f}*`);
  return items.filter((d) => !keyInList(patterns, d.key));
}

/** DiffResult.String(): Go's JSON of the items. */
export function diffString(items: readonly Difference[]): string {
  return goJsonMarshal({ items: items.map((d) => ({ key: d.key, values: { before: d.before, after: d.after } })) });
}
