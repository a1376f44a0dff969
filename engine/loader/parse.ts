/**
 * Multi-document YAML parsing with positions. Pure: takes already-read text, so the CLI,
 * the language server and a browser can share it. Never throws: every problem becomes a
 * `LoadError` naming file and line.
 */
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments } from 'yaml';
import { GO_YAML_OPTIONS, indentQuotedContinuations } from './go-yaml';

export interface LoadedDocument {
  /** The document as plain JSON-like data (null for an empty document). */
  value: unknown;
  file: string;
  /** 1-based line where the document's content starts. */
  line: number;
  /** 0-based position of the document in its file. */
  index: number;
  /**
   * Where the value at a JSON path of `value` starts in the file (1-based line and column),
   * or its deepest existing parent. Lets a shape error point at the wrong-typed value rather
   * than the document; parses the text again, so it costs nothing until an error needs it.
   */
  locate?: (path: ReadonlyArray<string | number>) => SourcePosition | undefined;
}

export interface SourcePosition {
  line: number;
  column: number;
}

/** `file:line:column: message` for a problem at a JSON path of a loaded document. */
export function formatAt(doc: Pick<LoadedDocument, 'file' | 'line' | 'locate'>, path: ReadonlyArray<string | number>, message: string): string {
  const at = doc.locate?.(path) ?? { line: doc.line, column: 0 };
  if (!at.line) return `${doc.file}: ${message}`;
  return `${doc.file}:${at.line}${at.column ? `:${at.column}` : ''}: ${message}`;
}

export interface LoadError {
  file: string;
  /** 1-based line, when known. */
  line?: number;
  message: string;
}

export interface ParseResult {
  documents: LoadedDocument[];
  errors: LoadError[];
}

export interface ParseLimits {
  /** Largest accepted input, in characters. */
  maxChars?: number;
  /** Bound on alias expansion (billion-laughs protection). */
  maxAliasCount?: number;
  /** Deepest accepted nesting of mappings and sequences in a document. */
  maxDepth?: number;
}

export const DEFAULT_MAX_CHARS = 20 * 1024 * 1024;
export const DEFAULT_MAX_ALIAS_COUNT = 100;
/**
 * Far deeper than any manifest, and shallow enough that every recursive walk of the engine
 * (patterns, patches, comparisons) stays within the JavaScript stack.
 */
export const DEFAULT_MAX_DEPTH = 1000;

/** Nesting depth of plain data, measured without recursion; stops as soon as `limit` is passed. */
export function nestingDepth(value: unknown, limit = Infinity): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    const here = depth + 1;
    if (here > deepest) deepest = here;
    if (deepest > limit) return deepest;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof child === 'object' && child !== null) stack.push([child, here]);
    }
  }
  return deepest;
}

function isStackOverflow(err: unknown): boolean {
  return err instanceof RangeError && /call stack/i.test(err.message);
}

export function formatLoadError(e: LoadError): string {
  return `${e.file}${e.line ? `:${e.line}` : ''}: ${e.message}`;
}

function firstLine(message: string): string {
  return message.split('\n')[0].trim();
}

/** `maxDepth` for documents over the limit; undefined when the parser itself ran out of stack. */
function tooDeep(maxDepth?: number): string {
  return maxDepth === undefined ? 'YAML nested too deeply (the parser ran out of stack)' : `YAML nested too deeply (more than ${maxDepth} levels)`;
}

export function parseYamlDocuments(text: string, file: string, limits: ParseLimits = {}): ParseResult {
  const maxChars = limits.maxChars ?? DEFAULT_MAX_CHARS;
  if (text.length > maxChars) {
    return { documents: [], errors: [{ file, message: `input too large (${text.length} characters, limit ${maxChars})` }] };
  }
  const maxDepth = limits.maxDepth ?? DEFAULT_MAX_DEPTH;
  let lineCounter = new LineCounter();
  const documents: LoadedDocument[] = [];
  const errors: LoadError[] = [];
  const parse = (source: string) => parseAllDocuments(source, { ...GO_YAML_OPTIONS, lineCounter, prettyErrors: false, uniqueKeys: false });
  let docs;
  try {
    docs = parse(text);
    const list = Array.isArray(docs) ? docs : [docs];
    // libyaml accepts quoted scalars continued on less indented lines; retry with them indented.
    if (list.some((d) => d.errors.some((e) => e.code === 'MISSING_CHAR' && /closing .?quote/i.test(e.message)))) {
      const indented = indentQuotedContinuations(text);
      if (indented !== text) {
        lineCounter = new LineCounter();
        docs = parse(indented);
      }
    }
  } catch (err) {
    if (isStackOverflow(err)) return { documents: [], errors: [{ file, message: tooDeep() }] };
    return { documents: [], errors: [{ file, message: `malformed YAML: ${firstLine(String((err as Error)?.message ?? err))}` }] };
  }
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, index) => {
    const start = doc.contents?.range?.[0] ?? doc.range?.[0] ?? 0;
    const line = lineCounter.linePos(start).line;
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        const at = e.pos?.[0] ?? start;
        const message = /call stack/i.test(e.message) ? tooDeep() : `malformed YAML: ${firstLine(e.message)}`;
        const line = lineCounter.linePos(at).line;
        // The parser can report one problem several times (a stack overflow per level).
        if (!errors.some((x) => x.line === line && x.message === message)) errors.push({ file, line, message });
      }
      return;
    }
    if (doc.contents === null) return; // empty document between separators
    try {
      const value = doc.toJS({ maxAliasCount: limits.maxAliasCount ?? DEFAULT_MAX_ALIAS_COUNT });
      if (value === null || value === undefined) return;
      if (nestingDepth(value, maxDepth) > maxDepth) {
        errors.push({ file, line, message: tooDeep(maxDepth) });
        return;
      }
      const locate = (path: ReadonlyArray<string | number>) => positionOfPath(text, index, path, 'value');
      documents.push({ value, file, line, index, locate });
    } catch (err) {
      const message = isStackOverflow(err)
        ? tooDeep()
        : /alias count/i.test(String((err as Error)?.message))
          ? `too many YAML aliases (more than ${limits.maxAliasCount ?? DEFAULT_MAX_ALIAS_COUNT} expansions; possible alias bomb)`
          : `invalid YAML document: ${firstLine(String((err as Error)?.message ?? err))}`;
      errors.push({ file, line, message });
    }
  });
  return { documents, errors };
}

/**
 * Position of the node at `path` (keys and sequence indexes) in the `index`-th document of
 * `text`: its key (`at: 'key'`, the line a reader looks at for a field) or its value; a path
 * that goes missing stops at the deepest node found (for values) or gives undefined (keys).
 * Parses again: for error paths only.
 */
export function positionOfPath(text: string, index: number, path: ReadonlyArray<string | number>, at: 'key' | 'value' = 'key'): SourcePosition | undefined {
  try {
    const lineCounter = new LineCounter();
    const doc = parseAllDocuments(text, { ...GO_YAML_OPTIONS, lineCounter, uniqueKeys: false })[index];
    if (!doc) return undefined;
    let node: unknown = doc.contents;
    for (const [i, step] of path.entries()) {
      let next: unknown;
      if (isSeq(node)) next = node.items[step as number];
      else if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(step));
        next = pair && (at === 'key' && i === path.length - 1 ? pair.key : pair.value);
      }
      if (next === undefined || next === null) {
        if (at === 'key') return undefined;
        break;
      }
      node = next;
    }
    const offset = (node as { range?: [number, number, number] } | null)?.range?.[0];
    if (offset === undefined) return undefined;
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  } catch {
    return undefined;
  }
}

/** 1-based line of the key at `path` in the `index`-th document of `text` (see positionOfPath). */
export function lineOfPath(text: string, index: number, path: ReadonlyArray<string | number>): number | undefined {
  return positionOfPath(text, index, path, 'key')?.line;
}
