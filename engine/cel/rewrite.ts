/**
 * Source rewrites that let cel-js run Kubernetes CEL it cannot parse or evaluates differently:
 *  - message construction (`Object.spec{name: "x"}`, `JSONPatch{op: "add"}`) becomes a dyn
 *    map literal with quoted keys: cel-js has no protobuf messages, and the engine treats these
 *    typed objects as plain JSON anyway;
 *  - `matches(` calls go to an RE2 implementation (cel-js uses JavaScript RegExp, which has
 *    other syntax and can backtrack without bound). The replacement name has the same length
 *    so diagnostic offsets stay valid.
 */

export const RE2_MATCHES = 're2mtch';
/**
 * `x.orValue(d)` where x is not optional: cel-go (as Kyverno runs it) yields x, cel-js's macro
 * rejects it; policies in the wild rely on the former, so every call goes to a function
 * that accepts both (same name length, for offsets).
 */
export const OR_VALUE = 'kyOrVal';
/** `has(expr.f)` on a non-identifier operand (cel-js only accepts `has(a.b.c)`). */
export const HAS_FIELD = 'kyHasField';
/**
 * `string(x)`: cel-js's own conversion cannot be overridden and formats doubles the JavaScript
 * way ("1e+21", "100000000000000000000"); cel-go prints Go's %g ("1e+20"). Same length.
 */
export const TO_STRING = 'kyStr_';
/**
 * Optional entries in list and map literals (`[a, ?b]`, `{?"k": v}`), which cel-js cannot
 * parse: the optional value is wrapped in OPT_ENTRY and the literal in OPT_LIST/OPT_MAP,
 * which drop empty entries and unwrap present ones.
 */
export const OPT_ENTRY = 'kyOptEntry';
export const OPT_LIST = 'kyOptList';
export const OPT_MAP = 'kyOptMap';
/** Identity functions charged to the cost budget, wrapped around cel-js macro steps at runtime. */
export const COST_TICK = 'kyTick';
/** The tick for all() (returns false once the budget is spent, ending the loop) and exists() (true). */
export const COST_TICK_ALL = 'kyTickAll';
export const COST_TICK_EXISTS = 'kyTickExists';

const IDENT_START = /[A-Za-z_]/;
const IDENT_PART = /[A-Za-z0-9_]/;

interface Frame { open: string; struct: boolean; expectField: boolean }

/** Deeper bracket nesting is refused up front: cel-js rejects it anyway, and rewrites would go quadratic. */
export const MAX_NESTING = 250;

function maxNesting(src: string): number {
  let depth = 0, max = 0;
  for (let i = 0; i < src.length; ) {
    const end = stringLiteralEnd(src, i);
    if (end > i) { i = end; continue; }
    const c = src[i];
    if (c === '(' || c === '[' || c === '{') max = Math.max(max, ++depth);
    else if (c === ')' || c === ']' || c === '}') depth--;
    i++;
  }
  return max;
}

/** The rewritten text alone (what compilation needs): no offsets are recorded. */
export function rewriteExpression(src: string): string {
  if (maxNesting(src) > MAX_NESTING) throw new Error(`expression nesting deeper than ${MAX_NESTING} levels`);
  return rewrite(src);
}

/** The rewritten text and, for each of its characters, the offset in the source it came from. */
export interface RewriteResult {
  text: string;
  sourceOffsets: number[];
}

export function rewriteWithOffsets(src: string): RewriteResult {
  if (maxNesting(src) > MAX_NESTING) throw new Error(`expression nesting deeper than ${MAX_NESTING} levels`);
  const out = new Emitter(true);
  rewriteInto(src, out);
  return { text: out.text, sourceOffsets: out.offsets };
}

/** Output text plus, when `track` is set, the source offset of every output character (for diagnostics). */
class Emitter {
  private done = '';
  offsets: number[] = [];
  // Without offsets, source copied unchanged is kept as one pending range and sliced once:
  // appending it character by character made the rewrite's cost mostly string garbage.
  private runSrc: string | undefined;
  private runStart = 0;
  private runEnd = 0;
  constructor(private readonly track: boolean, private readonly base = 0) {}
  get text(): string {
    this.flush();
    return this.done;
  }
  /** Appends src[start, end) unchanged. */
  copy(src: string, start: number, end: number): void {
    if (this.track) return this.add(src.slice(start, end), start);
    if (this.runSrc === src && this.runEnd === start) {
      this.runEnd = end;
      return;
    }
    this.flush();
    this.runSrc = src;
    this.runStart = start;
    this.runEnd = end;
  }
  /** Appends `piece`, produced from `srcLength` source characters at `srcStart`. */
  add(piece: string, srcStart: number, srcLength = piece.length): void {
    this.flush();
    this.done += piece;
    if (!this.track) return;
    for (let k = 0; k < piece.length; k++) {
      this.offsets.push(this.base + srcStart + (piece.length === srcLength ? k : Math.min(k, Math.max(srcLength - 1, 0))));
    }
  }
  /** Appends the rewrite of src[start, end), with its own offsets when tracking. */
  nested(src: string, start: number, end: number): void {
    this.flush();
    const inner = new Emitter(this.track, this.base + start);
    rewriteInto(src.slice(start, end), inner);
    this.done += inner.text;
    if (this.track) for (const o of inner.offsets) this.offsets.push(o);
  }
  private flush(): void {
    if (this.runSrc === undefined) return;
    this.done += this.runSrc.slice(this.runStart, this.runEnd);
    this.runSrc = undefined;
  }
}

function rewrite(src: string): string {
  const out = new Emitter(false);
  rewriteInto(src, out);
  return out.text;
}

function rewriteInto(src: string, out: Emitter): void {
  let i = 0;
  const stack: Frame[] = [];
  let prevSignificant = '';
  while (i < src.length) {
    const c = src[i];
    const strEnd = stringLiteralEnd(src, i);
    if (strEnd > i) {
      out.copy(src, i, strEnd);
      i = strEnd;
      prevSignificant = '"';
      markValue(stack);
      continue;
    }
    if (IDENT_START.test(c)) {
      let j = i + 1;
      while (j < src.length && IDENT_PART.test(src[j])) j++;
      const word = src.slice(i, j);
      const top = stack[stack.length - 1];
      if (top?.struct && top.expectField && nextNonSpace(src, j) === ':') {
        out.add(JSON.stringify(word), i, word.length);
        top.expectField = false;
        i = j;
        prevSignificant = 'a';
        continue;
      }
      // A qualified type name starting with an upper-case letter and followed by `{`.
      if (/^[A-Z]/.test(word) && prevSignificant !== '.') {
        let k = j;
        while (src[k] === '.' && IDENT_START.test(src[k + 1] ?? '')) {
          k++;
          while (k < src.length && IDENT_PART.test(src[k])) k++;
        }
        const brace = skipSpace(src, k);
        if (src[brace] === '{') {
          // dyn(): a typed object may meet null or another shape in a ternary, as messages can.
          out.add('dyn({', i, brace + 1 - i);
          stack.push({ open: '{', struct: true, expectField: true });
          i = brace + 1;
          prevSignificant = '{';
          continue;
        }
      }
      if (word === 'has' && prevSignificant !== '.' && nextNonSpace(src, j) === '(') {
        const open = skipSpace(src, j);
        const rewritten = rewriteHas(src, open);
        if (rewritten) {
          // Piece by piece, so that offsets inside the argument stay exact (diagnostics there).
          out.add(`${HAS_FIELD}(`, i, open + 1 - i);
          out.nested(src, open + 1, rewritten.rootEnd);
          out.add(', ', rewritten.rootEnd, 1);
          out.add(JSON.stringify(rewritten.field), rewritten.fieldStart, rewritten.field.length);
          out.add(')', rewritten.end - 1, 1);
          i = rewritten.end;
          prevSignificant = ')';
          markValue(stack);
          continue;
        }
      }
      if (word === 'matches' && nextNonSpace(src, j) === '(') out.add(RE2_MATCHES, i);
      else if (word === 'string' && prevSignificant !== '.' && nextNonSpace(src, j) === '(') out.add(TO_STRING, i);
      else if (word === 'orValue' && prevSignificant === '.' && nextNonSpace(src, j) === '(') out.add(OR_VALUE, i);
      else out.copy(src, i, j);
      i = j;
      prevSignificant = 'a';
      markValue(stack);
      continue;
    }
    if ((c === '[' && !/[A-Za-z0-9_)\]}"'.]/.test(prevSignificant)) || c === '{') {
      const literal = rewriteOptionalLiteral(src, i);
      if (literal) {
        out.add(literal.text, i, literal.end - i);
        i = literal.end;
        prevSignificant = ')';
        markValue(stack);
        continue;
      }
    }
    if (c === '(' || c === '[' || c === '{') stack.push({ open: c, struct: false, expectField: false });
    else if (c === ')' || c === ']' || c === '}') {
      if (stack.pop()?.struct) { out.add('})', i, 1); i++; prevSignificant = ')'; markValue(stack); continue; }
    }
    else if (c === ',') {
      const top = stack[stack.length - 1];
      if (top?.struct) top.expectField = true;
    }
    out.copy(src, i, i + 1);
    i++;
    if (!/\s/.test(c)) prevSignificant = c;
  }
}

/** Index just past the bracket closing the one at `open`, skipping string literals. */
function closingBracket(src: string, open: number): number {
  let depth = 0;
  for (let i = open; i < src.length; ) {
    const end = stringLiteralEnd(src, i);
    if (end > i) { i = end; continue; }
    const c = src[i];
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') { depth--; if (depth === 0) return i + 1; }
    i++;
  }
  return -1;
}

/** `has(root.field)` with a root cel-js cannot take: where the root ends and the field is, for kyHasField(root, "field"). */
function rewriteHas(src: string, open: number): { field: string; fieldStart: number; rootEnd: number; end: number } | null {
  const close = closingBracket(src, open);
  if (close < 0) return null;
  const arg = src.slice(open + 1, close - 1);
  // Last top-level `.field` / `.?field` of the argument.
  let depth = 0, lastDot = -1;
  for (let i = 0; i < arg.length; ) {
    const end = stringLiteralEnd(arg, i);
    if (end > i) { i = end; continue; }
    const c = arg[i];
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (c === '.' && depth === 0) lastDot = i;
    i++;
  }
  if (lastDot < 0) return null;
  const root = arg.slice(0, lastDot);
  const field = arg.slice(lastDot + 1).replace(/^\?/, '').trim();
  if (!/^[A-Za-z_]\w*$/.test(field)) return null;
  if (/^\s*[A-Za-z_]\w*(\s*\.\??\s*[A-Za-z_]\w*)*\s*$/.test(root)) return null;
  const rootEnd = open + 1 + lastDot;
  return { field, fieldStart: src.indexOf(field, rootEnd + 1), rootEnd, end: close };
}

/**
 * Where an optional entry could start: `?` (not `?.`/`?[`) first in a literal or after a comma.
 * Finding none from a bracket on proves its literal has none without scanning to its close
 * (that scan at every bracket made compiling nested literals the costly part of the rewrite).
 */
const OPTIONAL_ENTRY_START = /[[{,]\s*\?(?![.[])/g;

function mayHaveOptionalEntry(src: string, open: number): boolean {
  OPTIONAL_ENTRY_START.lastIndex = open;
  return OPTIONAL_ENTRY_START.test(src);
}

/** A list/map literal at `open` with optional entries, rewritten; null when it has none. */
function rewriteOptionalLiteral(src: string, open: number): { text: string; end: number } | null {
  if (!mayHaveOptionalEntry(src, open)) return null;
  const close = closingBracket(src, open);
  if (close < 0) return null;
  const entries = callArguments(src, open, close).map(([a, b]) => src.slice(a, b));
  const optional = (e: string) => /^\s*\?(?![.\[])/.test(e);
  if (!entries.some(optional)) return null;
  const isList = src[open] === '[';
  const parts = entries.map((entry) => {
    if (!optional(entry)) return rewrite(entry);
    const body = entry.replace(/^\s*\?/, '');
    if (isList) return `${OPT_ENTRY}(${rewrite(body)})`;
    const colon = topLevelColon(body);
    if (colon < 0) return rewrite(body);
    return `${rewrite(body.slice(0, colon))}: ${OPT_ENTRY}(${rewrite(body.slice(colon + 1))})`;
  });
  const text = isList ? `${OPT_LIST}([${parts.join(',')}])` : `${OPT_MAP}({${parts.join(',')}})`;
  return { text, end: close };
}

/** Index of the first `:` outside brackets and strings (a map entry's key/value split). */
function topLevelColon(src: string): number {
  let depth = 0;
  for (let i = 0; i < src.length; ) {
    const end = stringLiteralEnd(src, i);
    if (end > i) { i = end; continue; }
    const c = src[i];
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (c === ':' && depth === 0) return i;
    i++;
  }
  return -1;
}

function markValue(stack: Frame[]): void {
  const top = stack[stack.length - 1];
  if (top?.struct) top.expectField = false;
}

function skipSpace(src: string, i: number): number {
  while (i < src.length && /\s/.test(src[i])) i++;
  return i;
}

function nextNonSpace(src: string, i: number): string {
  return src[skipSpace(src, i)] ?? '';
}

/** End index of a string/bytes literal starting at i, or i when none starts there. */
export function stringLiteralEnd(src: string, i: number): number {
  // Called at every character: only a quote or a prefix letter (r, R, b, B) can start a literal.
  const c = src.charCodeAt(i);
  if (c !== 0x22 && c !== 0x27 && c !== 0x72 && c !== 0x52 && c !== 0x62 && c !== 0x42) return i;
  let j = i;
  let raw = false;
  while (j < i + 2 && /[rRbB]/.test(src[j] ?? '')) {
    if (/[rR]/.test(src[j])) raw = true;
    j++;
  }
  const q = src[j];
  if (q !== '"' && q !== "'") return i;
  if (j > i && IDENT_PART.test(src[i - 1] ?? '')) return i;
  const triple = src.slice(j, j + 3) === q.repeat(3);
  const delim = triple ? q.repeat(3) : q;
  let k = j + delim.length;
  while (k < src.length) {
    if (!raw && src[k] === '\\') { k += 2; continue; }
    if (src.startsWith(delim, k)) return k + delim.length;
    if (!triple && src[k] === '\n') return k;
    k++;
  }
  return src.length;
}

/** cel-js macros whose per-iteration step is wrapped in COST_TICK, with the index of that argument. */
const BUILTIN_COMPREHENSIONS: Record<string, { arities: number[]; tick: string }> = {
  all: { arities: [2], tick: COST_TICK_ALL },
  exists: { arities: [2], tick: COST_TICK_EXISTS },
  exists_one: { arities: [2], tick: COST_TICK },
  map: { arities: [2, 3], tick: COST_TICK },
  filter: { arities: [2], tick: COST_TICK },
};

/** A `.` then a BUILTIN_COMPREHENSIONS name then `(`, spaces allowed between: what instrumentComprehensions rewrites. */
const COMPREHENSION_CALL = /\.\s*(?:all|exists|exists_one|map|filter)\s*\(/;

/** Top-level arguments of the call whose `(` is at `open`, as [start, end) ranges. */
function callArguments(src: string, open: number, close: number): [number, number][] {
  const out: [number, number][] = [];
  let depth = 0, start = open + 1;
  for (let i = open + 1; i < close - 1; ) {
    const end = stringLiteralEnd(src, i);
    if (end > i) { i = end; continue; }
    const c = src[i];
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 0) { out.push([start, i]); start = i + 1; }
    i++;
  }
  out.push([start, close - 1]);
  return out;
}

/**
 * Wraps the step of every built-in comprehension (`x.all(v, step)`, `x.map(v, [filter,] t)`…)
 * in COST_TICK so each iteration is charged to the cost budget. Runtime only: it changes
 * offsets, so diagnostics check the uninstrumented text.
 */
export function instrumentComprehensions(src: string): string {
  // Without a `.macro(` call the scan below copies the text unchanged; most arguments it
  // recurses into have none.
  if (!COMPREHENSION_CALL.test(src)) return src;
  let out = '';
  let prev = '';
  for (let i = 0; i < src.length; ) {
    const strEnd = stringLiteralEnd(src, i);
    if (strEnd > i) { out += src.slice(i, strEnd); i = strEnd; prev = '"'; continue; }
    if (IDENT_START.test(src[i]) && !IDENT_PART.test(src[i - 1] ?? '')) {
      let j = i + 1;
      while (j < src.length && IDENT_PART.test(src[j])) j++;
      const word = src.slice(i, j);
      const open = skipSpace(src, j);
      const macro = Object.prototype.hasOwnProperty.call(BUILTIN_COMPREHENSIONS, word) ? BUILTIN_COMPREHENSIONS[word] : undefined;
      if (macro && prev === '.' && src[open] === '(') {
        const close = closingBracket(src, open);
        const args = close > 0 ? callArguments(src, open, close) : [];
        if (close > 0 && macro.arities.includes(args.length)) {
          const parts = args.map(([a, b], k) => {
            const inner = instrumentComprehensions(src.slice(a, b));
            return k === 1 ? `${macro.tick}(${inner})` : inner;
          });
          out += `${word}(${parts.join(',')})`;
          i = close;
          prev = ')';
          continue;
        }
      }
      out += word;
      i = j;
      prev = 'a';
      continue;
    }
    out += src[i];
    if (!/\s/.test(src[i])) prev = src[i];
    i++;
  }
  return out;
}
