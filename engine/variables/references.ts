/**
 * `$(path)` references inside a policy document (Kyverno substituteReferences): a reference
 * names another leaf of the same document by a JSON path, absolute or relative to the
 * referencing field (`$(./../name)`), anchors ignored, optionally with a leading operator
 * (`$(>=./../min)`). Run before `{{ }}` substitution. `\$(` stays literal.
 */
import { VariableError } from './scope';

// `^\$\(.[^ ]*\)` or `x$(...)` where x is not a backslash (Kyverno's RegexReferences).
const REFERENCE_SOURCE = String.raw`^\$\(.[^ ]*\)|[^\\]\$\(.[^ ]*\)`;
const ESCAPED_REFERENCE = /\\\$\(.[^ ]*\)/g;
const OPERATORS = ['>=', '<=', '!', '>', '<'];

function removeAnchors(segment: string): string {
  const m = /^[=^+X<]?\((.*)\)$/.exec(segment);
  return m ? m[1] : segment;
}

/** Go's path.Join + Clean for slash paths. */
function joinPath(base: string, rel: string): string {
  const out: string[] = [];
  for (const part of `${base}/${rel}`.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return '/' + out.join('/');
}

function findLeaf(document: unknown, target: string): unknown {
  let found: unknown = undefined;
  const walk = (node: unknown, path: string): void => {
    if (Array.isArray(node)) node.forEach((v, i) => walk(v, `${path}/${i}`));
    else if (node !== null && typeof node === 'object') {
      for (const [k, v] of Object.entries(node as Record<string, unknown>)) walk(v, `${path}/${removeAnchors(k)}`);
    } else if ((path || '/') === target) found = node;
  };
  walk(document, '');
  return found;
}

function operatorOf(path: string): string {
  return OPERATORS.find((op) => path.startsWith(op)) ?? '';
}

/** Go's %d / %f of a reference value used after an operator. */
function referenceText(value: unknown, operator: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toFixed(6);
  throw new Error(`incorrect expression: operator ${operator} does not match with value ${String(value)}`);
}

function resolve(document: unknown, reference: string, path: string): unknown {
  let inner = reference.replace(/^[$()]+|[$()]+$/g, '');
  const operator = operatorOf(inner);
  inner = inner.slice(operator.length);
  if (inner === '') throw new Error('expected path, found empty reference');
  const absolute = inner.startsWith('/') ? inner : joinPath(path, inner);
  const value = findLeaf(document, absolute);
  if (operator === '') return value;
  return operator + referenceText(value, operator);
}

function substituteIn(value: string, document: unknown, path: string): string {
  let out = value;
  for (const m of value.matchAll(new RegExp(REFERENCE_SOURCE, 'g'))) {
    const old = m[0];
    const initial = old.startsWith('$(');
    const reference = initial ? old : old.slice(1);
    let resolved: unknown;
    try {
      resolved = resolve(document, reference, path);
    } catch (e) {
      throw new VariableError(`failed to resolve ${reference} at path ${path}: ${(e as Error).message}`);
    }
    if (resolved === undefined || resolved === null) throw new VariableError(`got nil resolved variable ${reference} at path ${path}`);
    if (typeof resolved !== 'string') throw new VariableError(`NotResolvedReferenceErr,reference ${reference} not resolved at path ${path}`);
    out = out.replace(old, (initial ? '' : old[0]) + resolved);
  }
  return out.replace(ESCAPED_REFERENCE, (m) => m.slice(1));
}

/** Whether a string holds a `$( )` reference (escaped ones excluded). */
export function hasReferences(s: string): boolean {
  return new RegExp(REFERENCE_SOURCE).test(s) || s.includes('\\$(');
}

/** Replaces the `$(...)` references of a document with the values they point at. */
export function substituteReferences(document: unknown): unknown {
  return replaceIn(document, document, '');
}

function replaceIn(node: unknown, document: unknown, path: string): unknown {
  if (typeof node === 'string') return hasReferences(node) ? substituteIn(node, document, path) : node;
  if (Array.isArray(node)) return node.map((v, i) => replaceIn(v, document, `${path}/${i}`));
  if (node !== null && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
      const childPath = `${path}/${k}`;
      out[hasReferences(k) ? substituteIn(k, document, childPath) : k] = replaceIn(v, document, childPath);
    }
    return out;
  }
  return node;
}
