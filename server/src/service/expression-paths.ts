/**
 * Paths into the admitted object inside expression text: `request.object.spec.containers[].image`
 * in JMESPath, `object.spec.containers[0].image`, `oldObject.?metadata.?labels['a']` and the
 * variables CEL's macros bind to list elements (`object.spec.containers.all(c, c.image…)`).
 * A lexical reading, enough for completion, hover and the unknown-field check; anything it
 * does not understand ends a path (never a wrong step).
 */
import type { PathStep } from './resource-schema';

export type Dialect = 'jmespath' | 'cel';

export interface PathSegment {
  step: PathStep;
  /** Offset and length of the field name (or of the brackets) in the text. */
  offset: number;
  length: number;
}

export interface ObjectPath {
  /** Offset where the path's root starts. */
  start: number;
  /** Offset after the last character read. */
  end: number;
  segments: PathSegment[];
  /** The text stops right after a `.` (or `.?`) that still waits for its field. */
  dangling: boolean;
}

const IDENT = /[A-Za-z_][A-Za-z0-9_]*/y;
/** CEL macros whose first argument names the element of the list they run on. */
const ELEMENT_MACROS = new Set(['all', 'exists', 'exists_one', 'map', 'filter', 'sortBy', 'transformList', 'transformMap', 'existsOne']);

interface Binding { name: string; steps: PathSegment[]; from: number; to: number }

/** Offset after the string literal opening at i (or the text's end when it never closes). */
function skipString(text: string, i: number): number {
  const quote = text[i];
  for (let j = i + 1; j < text.length; j++) {
    if (text[j] === '\\') j++;
    else if (text[j] === quote) return j + 1;
  }
  return text.length;
}

/** Offset of the bracket closing the one at i, or -1 when the text ends first. */
function closing(text: string, i: number): number {
  const open = text[i];
  const close = open === '[' ? ']' : open === '(' ? ')' : '}';
  let depth = 0;
  for (let j = i; j < text.length; j++) {
    const c = text[j];
    if (c === '"' || c === "'" || c === '`') {
      j = skipString(text, j) - 1;
      continue;
    }
    if (c === open) depth++;
    else if (c === close && --depth === 0) return j;
  }
  return -1;
}

function identAt(text: string, i: number): string | undefined {
  IDENT.lastIndex = i;
  return IDENT.exec(text)?.[0];
}

/** Every path into `object`/`oldObject` in the text. */
export function objectPaths(text: string, dialect: Dialect): ObjectPath[] {
  const out: ObjectPath[] = [];
  const bindings: Binding[] = [];
  for (let i = 0; i < text.length && out.length < 500; i++) {
    const c = text[i];
    if (c === '"' || c === "'" || c === '`') {
      i = skipString(text, i) - 1;
      continue;
    }
    if (!/[A-Za-z_]/.test(c) || (i > 0 && /[\w.$@]/.test(text[i - 1]))) continue;
    const name = identAt(text, i)!;
    const root = readRoot(text, i, name, dialect, bindings);
    if (!root) {
      i += name.length - 1;
      continue;
    }
    const path = readChain(text, i, root.after, root.steps, dialect, bindings);
    out.push(path);
    i += name.length - 1;
  }
  return out;
}

function readRoot(text: string, i: number, name: string, dialect: Dialect, bindings: Binding[]): { after: number; steps: PathSegment[] } | undefined {
  const after = i + name.length;
  if (name === 'request') {
    if (text[after] !== '.') return undefined;
    const field = identAt(text, after + 1);
    return field === 'object' || field === 'oldObject' ? { after: after + 1 + field.length, steps: [] } : undefined;
  }
  if (dialect === 'jmespath') return undefined;
  if (name === 'object' || name === 'oldObject') return { after, steps: [] };
  // The innermost macro variable of that name whose arguments hold i.
  let best: Binding | undefined;
  for (const b of bindings) if (b.name === name && i > b.from && i <= b.to && (!best || b.from > best.from)) best = b;
  return best ? { after, steps: best.steps } : undefined;
}

function readChain(text: string, start: number, from: number, base: PathSegment[], dialect: Dialect, bindings: Binding[]): ObjectPath {
  const segments = [...base];
  let i = from;
  let dangling = false;
  for (;;) {
    if (text[i] === '.') {
      let j = i + 1;
      if (dialect === 'cel' && text[j] === '?') j++;
      if (j >= text.length) {
        dangling = true;
        i = j;
        break;
      }
      if (dialect === 'jmespath' && text[j] === '"') {
        const end = skipString(text, j);
        let name: string | undefined;
        try {
          name = JSON.parse(text.slice(j, end));
        } catch {
          name = undefined;
        }
        if (typeof name !== 'string') break;
        segments.push({ step: { field: name }, offset: j, length: end - j });
        i = end;
        continue;
      }
      const field = identAt(text, j);
      if (!field) break;
      const after = j + field.length;
      if (text[after] === '(') {
        // A function or method call, not a field (JMESPath's `a.keys(@)`, CEL's `a.all(x, …)`).
        if (dialect === 'cel') bindMacro(text, after, field, segments, bindings);
        break;
      }
      segments.push({ step: { field }, offset: j, length: field.length });
      i = after;
      continue;
    }
    if (text[i] === '[') {
      const close = closing(text, i);
      if (close < 0) break;
      const inner = text.slice(i + 1, close).trim();
      const quoted = /^(['"])(.*)\1$/.exec(inner);
      if (dialect === 'cel' && quoted && !/\\/.test(quoted[2])) segments.push({ step: { field: quoted[2] }, offset: i, length: close + 1 - i });
      else if (dialect === 'jmespath' && inner !== '' && inner !== '*' && !inner.startsWith('?') && !/^-?\d*(:-?\d*){0,2}$/.test(inner)) break; // a multi-select
      else segments.push({ step: { element: true }, offset: i, length: close + 1 - i });
      i = close + 1;
      continue;
    }
    break;
  }
  return { start, end: i, segments, dangling };
}

/** `list.all(x, …)`: x is an element of the list until the call's closing parenthesis. */
function bindMacro(text: string, paren: number, macro: string, segments: PathSegment[], bindings: Binding[]): void {
  if (!ELEMENT_MACROS.has(macro)) return;
  const args = /^\(\s*([A-Za-z_]\w*)\s*,\s*(?:([A-Za-z_]\w*)\s*,)?/.exec(text.slice(paren));
  if (!args) return;
  const close = closing(text, paren);
  // Two-variable forms (`all(i, v, …)`) bind the element to the second name.
  const name = args[2] ?? args[1];
  bindings.push({ name, steps: [...segments, { step: { element: true }, offset: paren, length: 0 }], from: paren, to: close < 0 ? text.length : close });
}

/** The path being typed at the end of `text`: the steps before the word and the word itself. */
export function pathBeingTyped(text: string, dialect: Dialect): { steps: PathStep[]; word: string } | undefined {
  const paths = objectPaths(text, dialect);
  const p = paths.find((x) => x.end === text.length);
  if (!p) return undefined;
  if (p.dangling) return { steps: p.segments.map((s) => s.step), word: '' };
  const last = p.segments[p.segments.length - 1];
  if (!last || !('field' in last.step) || last.offset + last.length !== text.length || /^["'[]/.test(text[last.offset])) return undefined;
  return { steps: p.segments.slice(0, -1).map((s) => s.step), word: last.step.field };
}

/** The segment under `offset` and the steps that lead to it (inclusive). */
export function pathAt(text: string, offset: number, dialect: Dialect): { steps: PathStep[]; segment: PathSegment } | undefined {
  for (const p of objectPaths(text, dialect)) {
    if (offset < p.start || offset > p.end) continue;
    const k = p.segments.findIndex((s) => 'field' in s.step && s.length > 0 && offset >= s.offset && offset <= s.offset + s.length);
    if (k >= 0) return { steps: p.segments.slice(0, k + 1).map((s) => s.step), segment: p.segments[k] };
  }
  return undefined;
}
