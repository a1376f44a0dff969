/**
 * Multi-document YAML parsing with positions. Pure: takes already-read text, so the CLI,
 * the language server and a browser can share it. Never throws: every problem becomes a
 * `LoadError` naming file and line.
 */
import { indentQuotedContinuations } from './go-yaml';
import { documentValue, findPath, isStackOverflow, parseYamlText, tooDeepMessage, type YamlLimits } from './document';

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

/** Limits of one parse: any left out are YAML_LIMITS' (engine/loader/document.ts). */
export type ParseLimits = Partial<YamlLimits>;

export function formatLoadError(e: LoadError): string {
  return `${e.file}${e.line ? `:${e.line}` : ''}: ${e.message}`;
}

function firstLine(message: string): string {
  return message.split('\n')[0].trim();
}

export function parseYamlDocuments(text: string, file: string, limits: ParseLimits = {}): ParseResult {
  const documents: LoadedDocument[] = [];
  const errors: LoadError[] = [];
  let parsed;
  try {
    parsed = parseYamlText(text, { limits });
    // libyaml accepts quoted scalars continued on less indented lines; retry with them indented
    // (lines stay where they were, which is all a load error names).
    if (parsed.docs.some((d) => d.errors.some((e) => e.code === 'MISSING_CHAR' && /closing .?quote/i.test(e.message)))) {
      const indented = indentQuotedContinuations(text);
      if (indented !== text) parsed = parseYamlText(indented, { limits });
    }
  } catch (err) {
    if (isStackOverflow(err)) return { documents: [], errors: [{ file, message: tooDeepMessage() }] };
    return { documents: [], errors: [{ file, message: `malformed YAML: ${firstLine(String((err as Error)?.message ?? err))}` }] };
  }
  if (parsed.overLimit) return { documents: [], errors: [{ file, message: parsed.overLimit }] };
  const { lines } = parsed;
  parsed.docs.forEach((doc, index) => {
    const start = doc.contents?.range?.[0] ?? doc.range?.[0] ?? 0;
    const line = lines.linePos(start).line;
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        const at = e.pos?.[0] ?? start;
        const message = /call stack/i.test(e.message) ? tooDeepMessage() : `malformed YAML: ${firstLine(e.message)}`;
        const line = lines.linePos(at).line;
        // The parser can report one problem several times (a stack overflow per level).
        if (!errors.some((x) => x.line === line && x.message === message)) errors.push({ file, line, message });
      }
      return;
    }
    if (doc.contents === null) return; // empty document between separators
    const got = documentValue(doc, limits);
    if ('error' in got) {
      errors.push({ file, line, message: got.error });
      return;
    }
    if (got.value === null || got.value === undefined) return;
    const locate = (path: ReadonlyArray<string | number>) => positionOfPath(text, index, path, 'value');
    documents.push({ value: got.value, file, line, index, locate });
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
    const { lines, docs } = parseYamlText(text);
    const doc = docs[index];
    if (!doc) return undefined;
    const t = findPath(doc, path);
    if (at === 'key' && !t.found) return undefined;
    const node = at === 'key' && path.length > 0 && t.key ? t.key : t.value ?? t.deepest;
    const offset = node?.range?.[0];
    if (offset === undefined) return undefined;
    const pos = lines.linePos(offset);
    return { line: pos.line, column: pos.col };
  } catch {
    return undefined;
  }
}

/** 1-based line of the key at `path` in the `index`-th document of `text` (see positionOfPath). */
export function lineOfPath(text: string, index: number, path: ReadonlyArray<string | number>): number | undefined {
  return positionOfPath(text, index, path, 'key')?.line;
}
