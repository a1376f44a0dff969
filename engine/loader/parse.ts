/**
 * Multi-document YAML parsing with positions. Pure: takes already-read text, so the CLI,
 * the language server and a browser can share it. Never throws: every problem becomes a
 * `LoadError` naming file and line.
 */
import { LineCounter, parseAllDocuments } from 'yaml';

export interface LoadedDocument {
  /** The document as plain JSON-like data (null for an empty document). */
  value: unknown;
  file: string;
  /** 1-based line where the document's content starts. */
  line: number;
  /** 0-based position of the document in its file. */
  index: number;
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
}

export const DEFAULT_MAX_CHARS = 20 * 1024 * 1024;
export const DEFAULT_MAX_ALIAS_COUNT = 100;

export function formatLoadError(e: LoadError): string {
  return `${e.file}${e.line ? `:${e.line}` : ''}: ${e.message}`;
}

function firstLine(message: string): string {
  return message.split('\n')[0].trim();
}

export function parseYamlDocuments(text: string, file: string, limits: ParseLimits = {}): ParseResult {
  const maxChars = limits.maxChars ?? DEFAULT_MAX_CHARS;
  if (text.length > maxChars) {
    return { documents: [], errors: [{ file, message: `input too large (${text.length} characters, limit ${maxChars})` }] };
  }
  const lineCounter = new LineCounter();
  const documents: LoadedDocument[] = [];
  const errors: LoadError[] = [];
  let docs;
  try {
    docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  } catch (err) {
    return { documents: [], errors: [{ file, message: `malformed YAML: ${firstLine(String((err as Error)?.message ?? err))}` }] };
  }
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, index) => {
    const start = doc.contents?.range?.[0] ?? doc.range?.[0] ?? 0;
    const line = lineCounter.linePos(start).line;
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        const at = e.pos?.[0] ?? start;
        errors.push({ file, line: lineCounter.linePos(at).line, message: `malformed YAML: ${firstLine(e.message)}` });
      }
      return;
    }
    if (doc.contents === null) return; // empty document between separators
    try {
      const value = doc.toJS({ maxAliasCount: limits.maxAliasCount ?? DEFAULT_MAX_ALIAS_COUNT });
      if (value === null || value === undefined) return;
      documents.push({ value, file, line, index });
    } catch (err) {
      errors.push({ file, line, message: `invalid YAML document: ${firstLine(String((err as Error)?.message ?? err))}` });
    }
  });
  return { documents, errors };
}
