/**
 * The fast path of `parseYamlValues` (document.ts): the plain values of a text written in the
 * block-style subset of YAML that policy files use — block mappings and sequences, plain,
 * quoted and block scalars on their lines, one-line flow collections of scalars, comments and
 * `---` — read straight from the lines, without building `yaml` Documents. The workspace scan
 * reads hundreds of files whose positions nobody asks for; this reads them in a fraction of
 * the time (and of the JIT warm-up) of the full parse.
 *
 * It gives exactly the values the full parse (`parseYamlText` + `documentValue`, GO_YAML_OPTIONS)
 * gives, or nothing: anything outside the subset or doubtful — anchors, aliases, tags, merge
 * keys, multi-line plain or quoted scalars, multi-line flow collections, tabs, CR, control
 * characters, directives, `...`, a duplicate key, indentation that is not exactly that of a
 * sibling or a parent, a value past a limit — returns undefined and the caller parses fully,
 * which also gives the errors. test/engine/loader-plain-values.test.ts compares both on every
 * corpus file and on generated YAML.
 */
import { resolveGoPlainScalar } from './go-yaml';
import type { YamlLimits } from './document';

/** Thrown inside the scanner when the text leaves the subset; caught in `plainYamlValues`. */
class OutsideSubset {}
const OUTSIDE = new OutsideSubset();

function outside(): never {
  throw OUTSIDE;
}

// Characters the full parse treats specially or rejects anywhere in a text (tabs, CR, control
// and C1 characters, BOM, NEL and Unicode line separators): their texts take the full parse.
const UNSUPPORTED_CHARS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff]/;

const DOC_START = /^---(?: |$)/;

/** The documents' values of `text`, or undefined when it must be parsed in full. */
export function plainYamlValues(text: string, limits: YamlLimits): unknown[] | undefined {
  if (text.length > limits.maxChars || UNSUPPORTED_CHARS.test(text)) return undefined;
  try {
    return new Scanner(text, limits).documents();
  } catch (e) {
    // Out of stack (limits far above YAML_LIMITS.maxDepth): the full parse says so properly.
    if (e === OUTSIDE || e instanceof RangeError) return undefined;
    throw e;
  }
}

/** Reads the lines of a text top-down; `outside()` as soon as a line leaves the subset. */
class Scanner {
  private readonly lines: string[];
  /** Column where the line's content starts; a compact `- ` item moves it right. */
  private readonly start: number[];
  /** Whether the text ends with a line break (the last line is then the empty string after it). */
  private readonly endsWithBreak: boolean;
  private i = 0;

  constructor(text: string, private readonly limits: YamlLimits) {
    this.lines = text.split('\n');
    this.endsWithBreak = text.endsWith('\n');
    this.start = this.lines.map((l) => {
      let k = 0;
      while (k < l.length && l.charCodeAt(k) === 32) k++;
      return k;
    });
  }

  documents(): unknown[] {
    const docs: unknown[] = [];
    let open = false; // a `---` opened a document with no content yet
    for (;;) {
      this.skipBlank();
      if (this.i >= this.lines.length) break;
      const line = this.lines[this.i];
      if (this.isMarker(this.i)) {
        if (open) docs.push(null);
        if (!/^---(?: +(?:#.*)?)?$/.test(line)) outside(); // content after `---` is left to the full parse
        open = true;
        this.i++;
        continue;
      }
      if (line.startsWith('...') || line.startsWith('%') || line.startsWith('---')) outside();
      const value = this.node(-1, 1);
      this.skipBlank();
      // Whatever follows the root node must be the next document's marker.
      if (this.i < this.lines.length && !this.isMarker(this.i)) outside();
      docs.push(value);
      open = false;
    }
    if (open) docs.push(null);
    if (docs.length > this.limits.maxDocuments) outside();
    return docs;
  }

  private isMarker(i: number): boolean {
    return this.start[i] === 0 && DOC_START.test(this.lines[i]);
  }

  /** Moves past blank and comment-only lines. */
  private skipBlank(): void {
    while (this.i < this.lines.length) {
      const line = this.lines[this.i];
      const s = this.start[this.i];
      if (s < line.length && line.charCodeAt(s) !== 35 /* # */) return;
      this.i++;
    }
  }

  /** The content of line i from its start column. */
  private content(i: number): string {
    return this.lines[i].slice(this.start[i]);
  }

  /**
   * The node whose first line is the current one (its content starts at `this.start[i]`),
   * inside a parent at indentation `parent`; `depth` counts collections around and including it.
   */
  private node(parent: number, depth: number): unknown {
    const i = this.i;
    const c = this.content(i);
    if (c === '-' || c.startsWith('- ')) return this.sequence(depth);
    if (c[0] !== '[' && c[0] !== '{' && this.keyOf(i) !== undefined) return this.mapping(depth);
    if (c[0] === '|' || c[0] === '>') {
      if (parent < 0) outside(); // a block scalar as a document's root
      return this.blockScalar(c, parent);
    }
    const value = this.inlineValue(c, depth);
    this.i++;
    this.afterScalar(parent);
    return value;
  }

  /** After a scalar (one line, or a block scalar's last line): nothing may continue it (more indented than its parent). */
  private afterScalar(parent: number): void {
    this.skipBlank();
    if (this.i < this.lines.length && !this.isMarker(this.i) && this.start[this.i] > parent) outside();
  }

  private checkDepth(depth: number): void {
    if (depth > this.limits.maxDepth) outside();
  }

  private sequence(depth: number): unknown[] {
    this.checkDepth(depth);
    const indent = this.start[this.i];
    const items: unknown[] = [];
    for (;;) {
      const i = this.i;
      const line = this.lines[i];
      const rest = line.slice(indent + 1);
      let k = 0;
      while (k < rest.length && rest.charCodeAt(k) === 32) k++;
      if (k === rest.length || rest.charCodeAt(k) === 35 /* # */) {
        // `-` alone: the item is the block below, indented more, or null.
        this.i++;
        this.skipBlank();
        if (this.i < this.lines.length && !this.isMarker(this.i) && this.start[this.i] > indent) items.push(this.node(indent, depth + 1));
        else items.push(null);
      } else {
        // A compact item: its content starts on this line, after `- `.
        this.start[i] = indent + 1 + k;
        items.push(this.node(indent, depth + 1));
      }
      this.skipBlank();
      if (this.i >= this.lines.length || this.isMarker(this.i)) break;
      const s = this.start[this.i];
      if (s < indent) break;
      if (s > indent) outside();
      const c = this.content(this.i);
      if (!(c === '-' || c.startsWith('- '))) break; // the parent mapping's next key, checked there
    }
    return items;
  }

  private mapping(depth: number): Record<string, unknown> {
    this.checkDepth(depth);
    const indent = this.start[this.i];
    const map: Record<string, unknown> = {};
    for (;;) {
      const i = this.i;
      const key = this.keyOf(i);
      if (key === undefined) outside();
      const [name, valueAt] = key;
      if (Object.prototype.hasOwnProperty.call(map, name)) outside();
      const line = this.lines[i];
      const rest = line.slice(valueAt);
      let k = 0;
      while (k < rest.length && rest.charCodeAt(k) === 32) k++;
      let value: unknown;
      if (k === rest.length || rest.charCodeAt(k) === 35 /* # */) {
        this.i++;
        this.skipBlank();
        if (this.i < this.lines.length && !this.isMarker(this.i) && this.start[this.i] > indent) value = this.node(indent, depth + 1);
        else if (this.i < this.lines.length && !this.isMarker(this.i) && this.start[this.i] === indent && /^-(?: |$)/.test(this.content(this.i))) value = this.sequence(depth + 1);
        else value = null;
      } else {
        const v = rest.slice(k);
        if (v[0] === '|' || v[0] === '>') value = this.blockScalar(v, indent);
        else {
          value = this.inlineValue(v, depth + 1);
          this.i++;
          this.afterScalar(indent);
        }
      }
      map[name] = value;
      this.skipBlank();
      if (this.i >= this.lines.length || this.isMarker(this.i)) break;
      const s = this.start[this.i];
      if (s < indent) break;
      if (s > indent) outside();
    }
    return map;
  }

  /**
   * The key of a mapping entry starting line i, as the object key the full parse gives, and
   * the offset where its value starts (after the `:`); undefined when the line is no entry.
   */
  private keyOf(i: number): [string, number] | undefined {
    const line = this.lines[i];
    const s = this.start[i];
    const first = line[s];
    if (first === '"' || first === "'") {
      const q = quoted(line, s);
      if (!q) return undefined;
      let k = q.end;
      while (line.charCodeAt(k) === 32) k++;
      if (line[k] !== ':' || !(k + 1 === line.length || line.charCodeAt(k + 1) === 32)) return undefined;
      if (q.end - s > 1000) outside();
      if (q.value === '<<' || q.value === '__proto__') outside();
      return [q.value, k + 1];
    }
    const colon = plainKeyEnd(line, s);
    if (colon < 0) return undefined;
    const source = trimSpaces(line.slice(s, colon));
    if (!isPlainStart(source) || source.length > 1000 || source === '<<' || source.includes(' #')) outside();
    const name = keyName(resolveGoPlainScalar(source));
    if (name === '__proto__') outside();
    return [name, colon + 1];
  }

  /**
   * A scalar or one-line flow collection that makes up the rest of its line (`v`, spaces
   * before it removed). Plain scalars may not continue on the next line (checked by the caller).
   */
  private inlineValue(v: string, depth: number): unknown {
    const first = v[0];
    if (first === '"' || first === "'") {
      const q = quoted(v, 0);
      if (!q || !restIsComment(v, q.end)) outside();
      return q.value;
    }
    if (first === '[' || first === '{') {
      const f = new FlowReader(v, depth, this.limits);
      const value = f.value();
      if (!restIsComment(v, f.at)) outside();
      return value;
    }
    if (!isPlainStart(v)) outside();
    let end = v.length;
    const hash = v.indexOf(' #');
    if (hash >= 0) end = hash;
    const source = trimSpaces(v.slice(0, end));
    // `: ` (or a trailing `:`) inside a value would make it a key: the full parse decides.
    if (source.includes(': ') || source.endsWith(':')) outside();
    return resolveGoPlainScalar(source);
  }

  /** A block scalar whose header `h` ends line `this.i`, in a parent at indentation `parent`. */
  private blockScalar(h: string, parent: number): string {
    const m = /^([|>])([+-]?)(?: +#.*| *)$/.exec(h);
    if (!m) outside(); // indentation indicators, a header with more on its line
    const folded = m[1] === '>';
    const chomp = m[2];
    let j = this.i + 1;
    // The content's indentation: that of its first non-empty line.
    let indent = -1;
    for (let t = j; t < this.lines.length; t++) {
      const line = this.lines[t];
      if (this.start[t] < line.length) {
        indent = this.start[t];
        break;
      }
    }
    const body: string[] = [];
    if (indent > parent) {
      for (; j < this.lines.length; j++) {
        const line = this.lines[j];
        const s = this.start[j];
        if (s < line.length) {
          if (s < indent) break;
          body.push(line.slice(indent));
        } else {
          // A blank line: more spaces than the content's indentation would be content.
          if (line.length > indent) outside();
          body.push('');
        }
      }
    } else {
      if (chomp === '+') outside(); // kept breaks of an empty scalar
      for (; j < this.lines.length; j++) {
        if (this.start[j] < this.lines[j].length) break;
        if (this.lines[j] !== '') outside();
        body.push('');
      }
    }
    if (j === this.lines.length) {
      // The scalar runs to the end of the text: the empty string after its last line break is
      // no line of it. Without that break, clipping still ends the value with one (as the
      // full parse does); what keeping would give is left to it.
      if (this.endsWithBreak) body.pop();
      else if (chomp === '+') outside();
    }
    this.i = j;
    let last = body.length;
    while (last > 0 && body[last - 1] === '') last--;
    const lines = body.slice(0, last);
    const trailing = body.length - last;
    if (indent <= parent) {
      // No content: only the kept line breaks.
      this.afterScalar(parent);
      return '';
    }
    let value: string;
    if (!folded) value = lines.join('\n');
    else {
      // Folding: a break between two lines of text becomes a space, unless empty lines follow
      // it (each then gives one); breaks next to more-indented lines are kept.
      let lead = 0;
      while (lines[lead] === '') lead++;
      value = '\n'.repeat(lead);
      let sep = '';
      let prevMoreIndented = false;
      for (let t = lead; t < lines.length; t++) {
        const l = lines[t];
        if (l.startsWith(' ')) {
          if (sep === ' ') sep = '\n';
          else if (!prevMoreIndented && sep === '\n') sep = '\n\n';
          value += sep + l;
          sep = '\n';
          prevMoreIndented = true;
        } else if (l === '') {
          if (sep === '\n') value += '\n';
          else sep = '\n';
        } else {
          value += sep + l;
          sep = ' ';
          prevMoreIndented = false;
        }
      }
    }
    if (lines.length) {
      if (chomp === '') value += '\n';
      else if (chomp === '+') value += '\n' + '\n'.repeat(trailing);
    } else if (chomp === '+') value += '\n'.repeat(trailing);
    this.afterScalar(parent);
    return value;
  }

}

/** A mapping key as the object's property name (a scalar key as the full parse names it); anything else is left to the full parse. */
function keyName(key: unknown): string {
  if (key === null) return '';
  if (typeof key === 'string') return key;
  if (typeof key === 'number' || typeof key === 'boolean') return String(key);
  return outside();
}

/**
 * `s` without its trailing spaces. YAML's white space is the space and the tab (tabs never get
 * here); String#trimEnd would also strip Unicode spaces (U+00A0, U+3000...), which belong to
 * the scalar.
 */
function trimSpaces(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 32) end--;
  return end === s.length ? s : s.slice(0, end);
}

/** Where a plain key's `:` is on a line (followed by a space or the line's end), or -1. */
function plainKeyEnd(line: string, from: number): number {
  for (let k = from; k < line.length; k++) {
    const c = line.charCodeAt(k);
    if (c === 58 /* : */ && (k + 1 === line.length || line.charCodeAt(k + 1) === 32)) return k;
    if (c === 35 /* # */ && k > from && line.charCodeAt(k - 1) === 32) return -1;
  }
  return -1;
}

/** Whether a plain scalar may start this way in block context (no indicator at its head). */
function isPlainStart(s: string): boolean {
  if (s === '') return false;
  const c = s[0];
  if ('-?:'.includes(c)) return s.length > 1 && s[1] !== ' ';
  return !',[]{}#&*!|>\'"%@`'.includes(c);
}

/** Only spaces, or spaces and a comment, from `at` to the end of `s`. */
function restIsComment(s: string, at: number): boolean {
  let k = at;
  while (k < s.length && s.charCodeAt(k) === 32) k++;
  return k === s.length || (k > at && s.charCodeAt(k) === 35);
}

const ESCAPES: Record<string, string> = {
  '0': '\0', a: '\x07', b: '\b', t: '\t', n: '\n', v: '\v', f: '\f', r: '\r', e: '\x1b',
  ' ': ' ', '"': '"', '/': '/', '\\': '\\', N: '\u0085', _: '\u00a0', L: '\u2028', P: '\u2029',
};

/** A quoted scalar closed on the same line, from its opening quote at `at`; undefined: it is not. */
function quoted(line: string, at: number): { value: string; end: number } | undefined {
  const q = line[at];
  let value = '';
  let k = at + 1;
  if (q === "'") {
    for (;;) {
      const close = line.indexOf("'", k);
      if (close < 0) return undefined;
      value += line.slice(k, close);
      if (line[close + 1] === "'") {
        value += "'";
        k = close + 2;
        continue;
      }
      return { value, end: close + 1 };
    }
  }
  for (;;) {
    let n = k;
    while (n < line.length && line[n] !== '"' && line[n] !== '\\') n++;
    if (n >= line.length) return undefined;
    value += line.slice(k, n);
    if (line[n] === '"') return { value, end: n + 1 };
    const e = line[n + 1];
    if (e === undefined) return undefined;
    if (e in ESCAPES) {
      value += ESCAPES[e];
      k = n + 2;
      continue;
    }
    const hex = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
    const digits = line.slice(n + 2, n + 2 + hex);
    if (!hex || !new RegExp(`^[0-9a-fA-F]{${hex}}$`).test(digits)) outside();
    const code = parseInt(digits, 16);
    if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) outside();
    value += String.fromCodePoint(code);
    k = n + 2 + hex;
  }
}

/** A flow collection on one line: `[a, "b"]`, `{k: v}`, nested, scalars plain or quoted. */
class FlowReader {
  at = 0;
  constructor(private readonly s: string, private readonly depth: number, private readonly limits: YamlLimits) {}

  value(depth = this.depth): unknown {
    const c = this.s[this.at];
    if (c === '[' || c === '{') {
      if (depth > this.limits.maxDepth) outside();
      const close = c === '[' ? ']' : '}';
      this.at++;
      const seq: unknown[] = [];
      const map: Record<string, unknown> = {};
      this.spaces();
      if (this.s[this.at] === close) {
        this.at++;
        return c === '[' ? seq : map;
      }
      for (;;) {
        if (c === '[') seq.push(this.scalarOrCollection(depth + 1, false));
        else {
          const name = keyName(this.scalarOrCollection(depth + 1, true));
          if (name === '<<' || name === '__proto__' || Object.prototype.hasOwnProperty.call(map, name)) outside();
          this.spaces();
          if (this.s[this.at] !== ':') outside();
          this.at++;
          if (this.s[this.at] !== ' ') outside();
          map[name] = this.scalarOrCollection(depth + 1, false);
        }
        this.spaces();
        const next = this.s[this.at];
        if (next === close) {
          this.at++;
          return c === '[' ? seq : map;
        }
        if (next !== ',') outside();
        this.at++;
        this.spaces();
        if (this.s[this.at] === close) outside(); // a trailing comma: left to the full parse
      }
    }
    return outside();
  }

  private spaces(): void {
    while (this.s.charCodeAt(this.at) === 32) this.at++;
  }

  private scalarOrCollection(depth: number, isKey: boolean): unknown {
    this.spaces();
    const c = this.s[this.at];
    if (c === '[' || c === '{') {
      if (isKey) outside();
      return this.value(depth);
    }
    if (c === '"' || c === "'") {
      const q = quoted(this.s, this.at);
      if (!q) outside();
      if (isKey && q.end - this.at > 1000) outside();
      this.at = q.end;
      return q.value;
    }
    // A plain scalar up to the next flow indicator; a `:` or `#` in it is left to the full parse.
    let k = this.at;
    while (k < this.s.length && !',[]{}:#'.includes(this.s[k])) k++;
    if (this.s[k] === ':' && !isKey) outside();
    if (this.s[k] === '#') outside();
    const source = trimSpaces(this.s.slice(this.at, k));
    if (!isPlainStart(source)) outside();
    this.at = k;
    return resolveGoPlainScalar(source);
  }
}
