/**
 * patchesJson6902 as Kyverno applies it (evanphx/json-patch v5 with SupportNegativeIndices,
 * AllowMissingPathOnRemove and EnsurePathExistsOnAdd): `add` creates missing parents,
 * `remove` of a missing path is a no-op, negative array indexes count from the end; the
 * operations may be written as YAML.
 */
import { applyOperation, getValueByPointer, type Operation } from 'fast-json-patch';
import { parse as parseYaml } from 'yaml';

export class JsonPatchError extends Error {}

type Container = Record<string, unknown> | unknown[];
const isContainer = (v: unknown): v is Container => typeof v === 'object' && v !== null;

/** Decodes the rule's patchesJson6902 text (JSON or YAML) into operations. */
export function decodeJsonPatch(text: string): Operation[] {
  let ops: unknown;
  try {
    ops = text.trimStart().startsWith('[') ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new JsonPatchError(`failed to decode patches: ${(e as Error).message}`);
  }
  if (!Array.isArray(ops)) throw new JsonPatchError('failed to decode patches: expected a list of operations');
  ops.forEach((op, i) => {
    if (!isContainer(op) || Array.isArray(op) || typeof op.op !== 'string' || typeof op.path !== 'string') {
      throw new JsonPatchError(`failed to decode patches: operation ${i} needs string "op" and "path"`);
    }
  });
  return ops as Operation[];
}

const unescape = (s: string): string => s.replace(/~1/g, '/').replace(/~0/g, '~');
const escape = (s: string): string => s.replace(/~/g, '~0').replace(/\//g, '~1');

function splitPointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new JsonPatchError(`invalid path "${path}": a JSON pointer starts with "/"`);
  return path.slice(1).split('/').map(unescape);
}

function child(doc: unknown, part: string): unknown {
  if (Array.isArray(doc)) return /^\d+$/.test(part) ? doc[Number(part)] : undefined;
  if (isContainer(doc)) return Object.prototype.hasOwnProperty.call(doc, part) ? (doc as Record<string, unknown>)[part] : undefined;
  return undefined;
}

/** Resolves negative indexes against the arrays they address (size + 1 for add, as evanphx does). */
function normalizePath(doc: unknown, path: string, forAdd: boolean): string {
  const parts = splitPointer(path);
  let node = doc;
  const out: string[] = [];
  parts.forEach((part, i) => {
    let p = part;
    if (Array.isArray(node) && /^-\d+$/.test(part)) {
      const size = node.length + (forAdd && i === parts.length - 1 ? 1 : 0);
      const idx = Number(part);
      if (idx < -size) throw new JsonPatchError(`index out of bounds: ${part} at ${path}`);
      p = String(idx + size);
    }
    out.push(escape(p));
    node = child(node, p);
  });
  return parts.length ? '/' + out.join('/') : '';
}

/** Creates the missing parents of an add's path: arrays when the next segment is an index. */
function ensureParents(doc: Container, path: string): void {
  const parts = splitPointer(path);
  let node: unknown = doc;
  for (let i = 0; i < parts.length - 1; i++) {
    const next = child(node, parts[i]);
    if (next !== undefined && next !== null) {
      node = next;
      continue;
    }
    const created: Container = /^(\d+|-)$/.test(parts[i + 1]) ? [] : {};
    if (Array.isArray(node)) {
      if (!/^\d+$/.test(parts[i])) throw new JsonPatchError(`add operation does not apply: ${path}: invalid index "${parts[i]}"`);
      // Only the next slot can be created: padding to an arbitrary index would let a
      // hostile path allocate without bound.
      const idx = Number(parts[i]);
      if (idx > node.length) throw new JsonPatchError(`add operation does not apply: ${path}: index ${idx} is out of bounds`);
      node[idx] = created;
    } else if (isContainer(node)) {
      (node as Record<string, unknown>)[parts[i]] = created;
    } else {
      throw new JsonPatchError(`add operation does not apply: ${path}: parent is not a container`);
    }
    node = created;
  }
}

function exists(doc: unknown, path: string): boolean {
  let node = doc;
  for (const part of splitPointer(path)) {
    node = child(node, part);
    if (node === undefined) return false;
  }
  return true;
}

/** Applies the operations to a copy of resource and returns it. */
export function applyJsonPatch(resource: unknown, ops: Operation[]): unknown {
  let doc = structuredClone(resource) as Container;
  for (const original of ops) {
    const op = { ...original } as Operation & { from?: string; value?: unknown };
    try {
      if (op.op === 'add') {
        op.path = normalizePath(doc, op.path, true);
        ensureParents(doc, op.path);
      } else {
        op.path = normalizePath(doc, op.path, false);
        if (op.from !== undefined) op.from = normalizePath(doc, op.from, false);
      }
      if (op.op === 'remove' && !exists(doc, op.path)) continue;
      if (op.op === 'replace' && !exists(doc, op.path)) {
        throw new JsonPatchError(`replace operation does not apply: doc is missing key: ${original.path}: missing value`);
      }
      if ((op.op === 'move' || op.op === 'copy') && !exists(doc, op.from!)) {
        throw new JsonPatchError(`${op.op} operation does not apply: doc is missing from path: ${op.from}: missing value`);
      }
      if (op.op === 'test') {
        const actual = exists(doc, op.path) ? getValueByPointer(doc, op.path) : undefined;
        if (JSON.stringify(canonical(actual)) !== JSON.stringify(canonical(op.value))) {
          throw new JsonPatchError(`testing value ${original.path} failed: test failed`);
        }
        continue;
      }
      if (!['add', 'remove', 'replace', 'move', 'copy'].includes(op.op)) {
        throw new JsonPatchError(`unexpected kind of operation "${op.op}"`);
      }
      const result = applyOperation(doc, op, true, true, true);
      doc = result.newDocument as Container;
    } catch (e) {
      if (e instanceof JsonPatchError) throw e;
      throw new JsonPatchError(`${original.op} operation does not apply: ${original.path}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  return doc;
}

/** Key-order independent form for `test` comparisons. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (isContainer(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  return v;
}
