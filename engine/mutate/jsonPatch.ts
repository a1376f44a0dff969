/**
 * patchesJson6902 as Kyverno applies it: evanphx/json-patch v5 with SupportNegativeIndices,
 * AllowMissingPathOnRemove and EnsurePathExistsOnAdd. The operations may be written as YAML
 * (Kyverno converts them to JSON first). The semantics follow evanphx, not RFC 6902 alone:
 * - `add` creates missing parents (arrays when the next segment is an index, `-` or `-1`,
 *   padded with nulls; objects otherwise) and `-N` counts from the end of the grown array;
 * - `remove` of a missing path is a no-op;
 * - a JSON null counts as missing when walking a path (Go decodes it to a nil node).
 */
import { parse as parseYaml } from 'yaml';
import { isJsonObject } from '../core/json';

export class JsonPatchError extends Error {}

export interface Operation {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

type Container = Record<string, unknown> | unknown[];
const isContainer = (v: unknown): v is Container => typeof v === 'object' && v !== null;

/**
 * evanphx pads arrays with nulls up to any index an `add` names; a hostile index would
 * allocate without bound, so padding stops here with an error instead.
 */
const MAX_PADDING = 10_000;

/**
 * Decoded patches by text: a rule's patch text (once substituted) is the same for every
 * resource without variables, and decoding YAML was most of a patch's cost. The operations
 * are shared read-only: applyJsonPatch copies every value it inserts.
 */
const decoded = new Map<string, Operation[] | JsonPatchError>();
const MAX_DECODED = 1000;

/** Decodes the rule's patchesJson6902 text (JSON or YAML) into operations, validated as evanphx's DecodePatch. */
export function decodeJsonPatch(text: string): Operation[] {
  let out = decoded.get(text);
  if (out === undefined) {
    try {
      out = decodeJsonPatchText(text);
    } catch (e) {
      if (!(e instanceof JsonPatchError)) throw e;
      out = e;
    }
    if (decoded.size >= MAX_DECODED) decoded.clear();
    decoded.set(text, out);
  }
  if (out instanceof JsonPatchError) throw out;
  return out;
}

function decodeJsonPatchText(text: string): Operation[] {
  let ops: unknown;
  try {
    ops = text.startsWith('[') ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new JsonPatchError(`failed to decode patches: ${(e as Error).message}`);
  }
  if (!Array.isArray(ops)) throw new JsonPatchError('failed to decode patches: expected a list of operations');
  ops.forEach((op, i) => {
    if (!isJsonObject(op)) throw new JsonPatchError(`failed to decode patches: operation ${i} must be a map`);
    const problem = operationProblem(op);
    if (problem) throw new JsonPatchError(`failed to decode patches: invalid operation ${JSON.stringify(op)}: ${problem}`);
  });
  return ops as Operation[];
}

function operationProblem(op: Record<string, unknown>): string | undefined {
  switch (op.op) {
    case 'add':
    case 'replace':
      if (!('value' in op)) return "failed to decode 'value': operation, missing value field: missing value";
      break;
    case 'move':
    case 'copy':
      if (typeof op.from !== 'string') return "failed to decode 'from': operation, missing from field: missing value";
      break;
    case 'remove':
    case 'test':
      break;
    default:
      return 'unsupported operation';
  }
  if (typeof op.path !== 'string') return "failed to decode 'path': operation missing path field: missing value";
  return undefined;
}

const decodeKey = (s: string): string => s.replace(/~1/g, '/').replace(/~0/g, '~');
const isMissing = (v: unknown): boolean => v === undefined || v === null;

/** Go's strconv.Atoi: an optional sign and decimal digits, nothing else. */
function atoi(s: string): number | undefined {
  return /^[+-]?\d+$/.test(s) ? Number(s) : undefined;
}

/** The child of a container (evanphx's get): undefined when missing or out of range. */
function get(doc: Container, key: string): unknown {
  if (!Array.isArray(doc)) return Object.prototype.hasOwnProperty.call(doc, key) ? doc[key] : undefined;
  let idx = atoi(key);
  if (idx === undefined) return undefined;
  if (idx < 0) {
    if (idx < -doc.length) return undefined;
    idx += doc.length;
  }
  return idx < doc.length ? doc[idx] : undefined;
}

function add(doc: Container, key: string, value: unknown, path: string): void {
  if (!Array.isArray(doc)) {
    doc[key] = value;
    return;
  }
  if (key === '-') {
    doc.push(value);
    return;
  }
  let idx = atoi(key);
  if (idx === undefined) throw new JsonPatchError(`error in add for path: '${path}': value was not a proper array index: '${key}'`);
  const size = doc.length + 1;
  if (idx >= size || idx < -size) throw new JsonPatchError(`error in add for path: '${path}': Unable to access invalid index: ${idx}: invalid index referenced`);
  if (idx < 0) idx += size;
  doc.splice(idx, 0, value);
}

/** Replaces an existing child (the caller checked it exists). */
function set(doc: Container, key: string, value: unknown): void {
  if (!Array.isArray(doc)) {
    doc[key] = value;
    return;
  }
  let idx = atoi(key)!;
  if (idx < 0) idx += doc.length;
  doc[idx] = value;
}

function remove(doc: Container, key: string, path: string): void {
  if (!Array.isArray(doc)) {
    delete doc[key];
    return;
  }
  let idx = atoi(key);
  if (idx === undefined) throw new JsonPatchError(`error in remove for path: '${path}': invalid syntax in index "${key}"`);
  if (idx >= doc.length || idx < -doc.length) return;
  if (idx < 0) idx += doc.length;
  doc.splice(idx, 1);
}

function splitPath(path: string): string[] {
  return path.split('/').slice(1);
}

/** evanphx's findObject: the container holding the path's last segment, or undefined. */
function findObject(doc: Container, path: string): { con: Container; key: string } | undefined {
  if (path === '') return undefined;
  const parts = splitPath(path);
  if (!path.includes('/')) return undefined;
  let node: Container = doc;
  for (const part of parts.slice(0, -1)) {
    const next = get(node, decodeKey(part));
    if (!isContainer(next)) return undefined;
    node = next;
  }
  return { con: node, key: decodeKey(parts[parts.length - 1]) };
}

function pad(array: unknown[], upTo: number, path: string): void {
  if (upTo - array.length > MAX_PADDING) throw new JsonPatchError(`add operation does not apply: ${path}: index ${upTo} is out of bounds`);
  while (array.length < upTo) array.push(null);
}

/** evanphx's ensurePathExists: creates every missing container before the path's last segment. */
function ensurePathExists(doc: Container, path: string): void {
  const parts = splitPath(path);
  let node: Container = doc;
  for (let i = 0; i < parts.length - 1; i++) {
    const part = decodeKey(parts[i]);
    const target = get(node, part);
    if (!isMissing(target)) {
      if (!isContainer(target)) throw new JsonPatchError(`add operation does not apply: ${path}: invalid state detected`);
      node = target;
      continue;
    }
    const here = atoi(part);
    if (Array.isArray(node) && here !== undefined && here >= node.length + 1) pad(node, here, path);
    const next = parts[i + 1];
    let nextIndex = atoi(next);
    let created: Container;
    if (nextIndex !== undefined || next === '-') {
      if (nextIndex !== undefined && nextIndex < -1) {
        throw new JsonPatchError(`Unable to ensure path for negative index other than -1: ${nextIndex}: invalid index referenced`);
      }
      if (nextIndex === undefined || nextIndex < 0) nextIndex = 0;
      created = [];
      pad(created, nextIndex, path);
    } else {
      created = {};
    }
    // evanphx ignores a failed insert here; the add that follows then finds no parent.
    try {
      add(node, part, created, path);
    } catch {
      return;
    }
    node = created;
  }
}

function copyValue<T>(v: T): T {
  return v === undefined ? v : structuredClone(v);
}

/** Applies the operations to a copy of resource and returns it. */
export function applyJsonPatch(resource: unknown, ops: Operation[]): unknown {
  let doc = structuredClone(resource) as Container;
  for (const op of ops) {
    switch (op.op) {
      case 'add':
        doc = opAdd(doc, op);
        break;
      case 'remove': {
        const found = findObject(doc, op.path);
        if (found) remove(found.con, found.key, op.path);
        break;
      }
      case 'replace':
        doc = opReplace(doc, op);
        break;
      case 'move':
        opMove(doc, op);
        break;
      case 'copy':
        opCopy(doc, op);
        break;
      case 'test':
        opTest(doc, op);
        break;
      default:
        throw new JsonPatchError(`Unexpected kind: ${String(op.op)}`);
    }
  }
  return doc;
}

function wholeDocument(value: unknown, opName: string): Container {
  if (!isContainer(value)) throw new JsonPatchError(`${opName} operation value must be object or array`);
  return copyValue(value);
}

function opAdd(doc: Container, op: Operation): Container {
  if (op.path === '') return wholeDocument(op.value, 'add');
  ensurePathExists(doc, op.path);
  const found = findObject(doc, op.path);
  if (!found) throw new JsonPatchError(`add operation does not apply: doc is missing path: "${op.path}": missing value`);
  add(found.con, found.key, copyValue(op.value ?? null), op.path);
  return doc;
}

function opReplace(doc: Container, op: Operation): Container {
  if (op.path === '') return wholeDocument(op.value, 'replace');
  const found = findObject(doc, op.path);
  if (!found) throw new JsonPatchError(`replace operation does not apply: doc is missing path: ${op.path}: missing value`);
  if (!hasChild(found.con, found.key)) throw new JsonPatchError(`replace operation does not apply: doc is missing key: ${op.path}: missing value`);
  set(found.con, found.key, copyValue(op.value ?? null));
  return doc;
}

/** Whether get succeeds (a null child exists; an out-of-range index does not). */
function hasChild(con: Container, key: string): boolean {
  if (!Array.isArray(con)) return Object.prototype.hasOwnProperty.call(con, key);
  const idx = atoi(key);
  return idx !== undefined && idx < con.length && idx >= -con.length;
}

function takeFrom(doc: Container, op: Operation): { value: unknown; found: { con: Container; key: string } } {
  const from = op.from ?? '';
  if (op.op === 'move' && from === '') throw new JsonPatchError('unable to move entire document to another path: invalid state detected');
  const found = findObject(doc, from);
  if (!found) throw new JsonPatchError(`${op.op} operation does not apply: doc is missing from path: ${from}: missing value`);
  if (!hasChild(found.con, found.key)) throw new JsonPatchError(`error in ${op.op} for path: '${found.key}': missing value`);
  return { value: get(found.con, found.key) ?? null, found };
}

function opMove(doc: Container, op: Operation): void {
  const { value, found } = takeFrom(doc, op);
  remove(found.con, found.key, op.from ?? '');
  const dest = findObject(doc, op.path);
  if (!dest) throw new JsonPatchError(`move operation does not apply: doc is missing destination path: ${op.path}: missing value`);
  add(dest.con, dest.key, value, op.path);
}

function opCopy(doc: Container, op: Operation): void {
  const { value } = takeFrom(doc, op);
  const dest = findObject(doc, op.path);
  if (!dest) throw new JsonPatchError(`copy operation does not apply: doc is missing destination path: ${op.path}: missing value`);
  add(dest.con, dest.key, copyValue(value), op.path);
}

function opTest(doc: Container, op: Operation): void {
  const expected = op.value ?? null;
  let actual: unknown;
  if (op.path === '') actual = doc;
  else {
    const found = findObject(doc, op.path);
    if (!found) throw new JsonPatchError(`test operation does not apply: is missing path: ${op.path}: missing value`);
    actual = get(found.con, found.key) ?? null;
  }
  if (!sameJson(actual, expected)) throw new JsonPatchError(`testing value ${op.path} failed: test failed`);
}

function sameJson(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => sameJson(v, b[i]));
  }
  if (isJsonObject(a) || isJsonObject(b)) {
    if (!isJsonObject(a) || !isJsonObject(b)) return false;
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => k in b && sameJson(a[k], b[k]));
  }
  return a === b;
}
