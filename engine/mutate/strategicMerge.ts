/**
 * Two-way strategic merge with the semantics of kustomize kyaml merge2, which Kyverno's
 * patchStrategicMerge runs after anchor preprocessing:
 * - maps merge key by key; a `null` patch value removes the field;
 * - lists with a schema merge key merge element by element (patch elements first, see
 *   mergeElements); every other list is replaced by the patch's list;
 * - `$patch: replace | delete | merge` directives on maps and list elements, and a
 *   `- $patch: replace` element on merge lists.
 */
import type { FieldSchema, ListSchema, ObjectSchema } from './mergeKeys';
import { isJsonObject } from '../core/json';

export class StrategicMergeError extends Error {}

const CLEAR = Symbol('clear');
type Merged = unknown | typeof CLEAR;

type Directive = 'merge' | 'replace' | 'delete';
const DIRECTIVE_KEY = '$patch';

const isMissingOrNull = (v: unknown): boolean => v === undefined || v === null;
const kindName = (v: unknown): string => (Array.isArray(v) ? 'SequenceNode' : isJsonObject(v) ? 'MappingNode' : 'ScalarNode');

function toDirective(value: unknown, path: string[]): Directive {
  if (value === 'merge' || value === 'replace' || value === 'delete') return value;
  throw new StrategicMergeError(`unknown patch strategy '${String(value)}' at ${pathText(path)}`);
}

const pathText = (path: string[]): string => (path.length ? path.join('.') : '<root>');

/** Reads and removes a map's `$patch` directive (the patch is a private copy). */
function takeMapDirective(patch: Record<string, unknown>, path: string[]): Directive {
  if (!(DIRECTIVE_KEY in patch)) return 'merge';
  const d = toDirective(patch[DIRECTIVE_KEY], path);
  delete patch[DIRECTIVE_KEY];
  return d;
}

/** Reads and removes a list's `- $patch: x` element (only an element holding nothing else counts). */
function takeListDirective(patch: unknown[], path: string[]): Directive {
  const i = patch.findIndex((e) => isJsonObject(e) && Object.keys(e).length === 1 && DIRECTIVE_KEY in e);
  if (i < 0) return 'merge';
  const d = toDirective((patch[i] as Record<string, unknown>)[DIRECTIVE_KEY], path);
  patch.splice(i, 1);
  return d;
}

/**
 * Merges patch into base and returns the result (base is not modified). schema is the
 * resource's kyaml schema (undefined for unknown kinds: every list is replaced).
 */
export function strategicMerge(base: unknown, patch: unknown, schema: ObjectSchema | undefined): unknown {
  const merged = walk(structuredClone(base), structuredClone(patch), schema, []);
  return merged === CLEAR ? {} : merged;
}

function walk(dest: unknown, origin: unknown, schema: FieldSchema | undefined, path: string[]): Merged {
  if (origin === undefined) return dest;
  const shape = !isMissingOrNull(dest) ? dest : origin;
  if (isJsonObject(shape)) return walkMap(dest, origin, schema?.kind === 'object' ? schema : undefined, path);
  if (Array.isArray(shape)) return walkList(dest, origin, schema?.kind === 'list' ? schema : undefined, path);
  if (origin !== null && (isJsonObject(origin) || Array.isArray(origin)) && !isMissingOrNull(dest)) {
    throw new StrategicMergeError(`wrong node kind at ${pathText(path)}: expected ${kindName(dest)} but got ${kindName(origin)}`);
  }
  return origin;
}

function walkMap(dest: unknown, origin: unknown, schema: ObjectSchema | undefined, path: string[]): Merged {
  if (!isMissingOrNull(origin) && !isJsonObject(origin)) {
    throw new StrategicMergeError(`wrong node kind at ${pathText(path)}: expected MappingNode but got ${kindName(origin)}`);
  }
  let target: Record<string, unknown>;
  if (isMissingOrNull(dest)) {
    if (origin === null) return CLEAR;
    if (takeMapDirective(origin as Record<string, unknown>, path) === 'delete') return CLEAR;
    target = origin as Record<string, unknown>;
  } else {
    if (!isJsonObject(dest)) throw new StrategicMergeError(`wrong node kind at ${pathText(path)}: expected ${kindName(dest)} but got MappingNode`);
    if (origin === null) return CLEAR;
    const directive = takeMapDirective(origin as Record<string, unknown>, path);
    if (directive === 'delete') return CLEAR;
    target = directive === 'replace' ? (origin as Record<string, unknown>) : dest;
  }
  const src = origin as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(target), ...Object.keys(src)])].sort();
  for (const key of keys) {
    // When the patch itself is the target (added or replaced), its fields merge into nothing.
    const value = walk(target === src ? undefined : target[key], src[key], schema?.fields[key], [...path, key]);
    if (value === CLEAR || value === null || value === undefined) delete target[key];
    else target[key] = value;
  }
  return target;
}

function walkList(dest: unknown, origin: unknown, schema: ListSchema | undefined, path: string[]): Merged {
  if (!isMissingOrNull(origin) && !Array.isArray(origin)) {
    throw new StrategicMergeError(`wrong node kind at ${pathText(path)}: expected SequenceNode but got ${kindName(origin)}`);
  }
  if (!isMissingOrNull(dest) && !Array.isArray(dest)) {
    throw new StrategicMergeError(`wrong node kind at ${pathText(path)}: expected ${kindName(dest)} but got SequenceNode`);
  }
  // Without a merge strategy the patch's list wins (null clears it).
  if (!schema) return origin;
  if (origin === null) return CLEAR;
  const src = origin as unknown[];
  if (isMissingOrNull(dest)) return mergeElements([], src, schema, path, true);
  const directive = takeListDirective(src, path);
  if (directive === 'delete') throw new StrategicMergeError(`delete option not allowed for list at ${pathText(path)}`);
  if (directive === 'replace') return src;
  return mergeElements(dest as unknown[], src, schema, path, false);
}

const keyOf = (element: unknown, key: string): string | undefined => {
  if (!isJsonObject(element)) return undefined;
  const v = element[key];
  return v === undefined || v === null || typeof v === 'object' ? undefined : String(v);
};

/**
 * kustomize's patchStrategicMerge merges lists with ListIncreaseDirection "prepend": the
 * patch's elements come first, in patch order (merged with their dest counterpart), then
 * the dest elements the patch does not mention, in dest order. (This is why Kyverno's
 * patchStrategicMerge foreach walks elements in descending order by default.)
 */
function mergeElements(dest: unknown[], src: unknown[], schema: ListSchema, path: string[], keepKeylessSource: boolean): unknown[] {
  const key = schema.mergeKey;
  if (key === undefined) {
    // Merge-strategy list of scalars (finalizers): union, patch values first.
    const seen = new Set<string>();
    const out: unknown[] = [];
    for (const e of [...src, ...dest]) {
      const id = JSON.stringify(e);
      if (e === null || seen.has(id)) continue;
      seen.add(id);
      out.push(e);
    }
    return out;
  }
  const order: string[] = [];
  for (const e of [...src, ...dest]) {
    const k = keyOf(e, key);
    if (k !== undefined && !order.includes(k)) order.push(k);
  }
  const out: unknown[] = [];
  for (const value of order) {
    const d = dest.find((e) => keyOf(e, key) === value);
    const o = src.find((e) => keyOf(e, key) === value);
    const merged = o === undefined ? d : walk(d, o, schema.items, [...path, `[${key}=${value}]`]);
    if (merged === CLEAR || isMissingOrNull(merged) || (isJsonObject(merged) && Object.keys(merged).length === 0)) continue;
    if (isJsonObject(merged) && merged[key] === undefined) merged[key] = value;
    out.push(merged);
  }
  // Elements without the merge key cannot be paired: dest's are kept (at the end); the
  // patch's are dropped, unless the list is new (kyaml then starts from the patch's list).
  for (const e of dest) if (keyOf(e, key) === undefined) out.push(e);
  if (keepKeylessSource) for (const e of src) if (keyOf(e, key) === undefined) out.push(e);
  return out;
}
