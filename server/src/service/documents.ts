/**
 * A YAML file as the language service sees it: engine/loader's document model (one parse per
 * document version, go-yaml v2 reading, YAML_LIMITS) plus what an editor needs on top —
 * LSP ranges, the document at an offset, the node under the cursor. JSON paths map to ranges
 * through engine/loader's spanOfPath, the function the extension's results view uses too.
 */
import { isMap, isSeq, isScalar, isPair, isAlias, Document, Pair, Scalar } from 'yaml';
import type { LineCounter, Node as YamlNode } from 'yaml';
import {
  documentValue,
  findPath,
  parseYamlText,
  positionAt as linePositionAt,
  spanOfPath,
  YAML_LIMITS,
  type DocumentValue,
  type TextSpan,
  type YamlLimits,
} from '../../../engine/loader';

export { findPath, type PathTarget } from '../../../engine/loader';

export interface Position { line: number; character: number }
export interface Range { start: Position; end: Position }
export type JsonPath = Array<string | number>;

export interface ParsedDocument {
  doc: Document.Parsed;
  /** Plain data, or undefined when conversion failed (alias bomb, nesting, ...). */
  value: unknown;
  conversionError?: string;
  apiVersion?: string;
  kind?: string;
  /** Offsets [start, end) of the document in the file. */
  start: number;
  end: number;
}

export interface ParsedFile {
  uri: string;
  text: string;
  lines: LineCounter;
  docs: ParsedDocument[];
  /** Set when the file is beyond the analysis limits; docs is then empty. */
  tooLarge?: string;
}

export type ParseLimits = YamlLimits;

/**
 * The loader's limits, except size: the editor analyses on every keystroke, so files beyond
 * 4 MiB get one diagnostic instead of an analysis.
 */
export const DEFAULT_LIMITS: ParseLimits = { ...YAML_LIMITS, maxChars: 4 * 1024 * 1024 };

export function parseFile(uri: string, text: string, limits: ParseLimits = DEFAULT_LIMITS): ParsedFile {
  const parsed = parseYamlText(text, { limits, uniqueKeys: true });
  if (parsed.overLimit) return { uri, text, lines: parsed.lines, docs: [], tooLarge: `Not analysed: ${parsed.overLimit}.` };
  const docs: ParsedDocument[] = parsed.docs.map((doc) => parsedDocument(doc, text.length, limits));
  return { uri, text, lines: parsed.lines, docs };
}

/** A parsed file's documents as plain values, as `parseYamlValues` gives them for a text. */
export function documentValues(file: ParsedFile): DocumentValue[] {
  return file.docs.map((pd) => ({ value: pd.value, conversionError: pd.conversionError, invalid: pd.doc.errors.length > 0 }));
}

function parsedDocument(doc: Document.Parsed, textLength: number, limits: ParseLimits): ParsedDocument {
  const got = documentValue(doc, limits);
  const value = 'value' in got ? got.value : undefined;
  const obj = value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  return {
    doc,
    value,
    conversionError: 'error' in got ? got.error : undefined,
    apiVersion: typeof obj?.apiVersion === 'string' ? obj.apiVersion : undefined,
    kind: typeof obj?.kind === 'string' ? obj.kind : undefined,
    start: doc.range?.[0] ?? 0,
    end: doc.range?.[2] ?? textLength,
  };
}

export function positionAt(file: ParsedFile, offset: number): Position {
  return linePositionAt(file.lines, Math.min(offset, file.text.length));
}

export function offsetAt(file: ParsedFile, pos: Position): number {
  const starts = file.lines.lineStarts;
  if (pos.line >= starts.length) return file.text.length;
  return Math.min(starts[pos.line] + pos.character, file.text.length);
}

export function rangeOf(file: ParsedFile, start: number, end: number): Range {
  return { start: positionAt(file, start), end: positionAt(file, Math.max(start, end)) };
}

export function nodeRange(file: ParsedFile, node: YamlNode | null | undefined, fallback = 0): Range {
  if (!node?.range) return rangeOf(file, fallback, fallback);
  return rangeOf(file, node.range[0], node.range[1]);
}

/** The document containing offset; trailing blank lines belong to the document above. */
export function documentAt(file: ParsedFile, offset: number): ParsedDocument | undefined {
  let found: ParsedDocument | undefined;
  for (const d of file.docs) {
    if (d.start > offset) break;
    found = d;
  }
  return found;
}

/**
 * A JSON pointer (`/spec/containers/0/image`, as ajv and JSON patches give) as a path into
 * data: steps through arrays become numbers.
 */
export function pointerToPath(pointer: string, data: unknown): JsonPath {
  const path: JsonPath = [];
  let cur: unknown = data;
  for (const raw of pointer.split('/').slice(1)) {
    const step = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) {
      path.push(Number(step));
      cur = cur[Number(step)];
    } else {
      path.push(step);
      cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[step] : undefined;
    }
  }
  return path;
}

/** Range of the value at path, else of the key, else of the closest existing ancestor (engine/loader's spanOfPath). */
export function rangeForPath(file: ParsedFile, pd: ParsedDocument, path: JsonPath, prefer: 'key' | 'value' = 'value'): Range {
  return spanRange(file, spanOfPath(file.text, pd.doc, path, prefer), pd.start);
}

/** A span as a range; a missing one is the point `fallback`. */
export function spanRange(file: ParsedFile, span: TextSpan | undefined, fallback: number): Range {
  return span ? rangeOf(file, span.start, span.end) : rangeOf(file, fallback, fallback);
}

export interface NodeAtOffset {
  path: JsonPath;
  node: YamlNode | null;
  /** True when the offset is on a map key. */
  onKey: boolean;
  pair?: Pair<YamlNode, YamlNode>;
}

/** The deepest node containing offset, with its JSON path. */
export function nodeAt(doc: Document.Parsed, offset: number): NodeAtOffset {
  const path: JsonPath = [];
  let node = doc.contents as YamlNode | null;
  let result: NodeAtOffset = { path: [], node, onKey: false };
  for (let depth = 0; depth < 200 && node; depth++) {
    if (isMap(node)) {
      const pair = (node.items as Pair<YamlNode, YamlNode>[]).find((p) => {
        const s = p.key?.range?.[0] ?? 0;
        const e = p.value?.range?.[2] ?? p.key?.range?.[2] ?? s;
        return offset >= s && offset <= e;
      });
      if (!pair || !isScalar(pair.key)) return result;
      path.push(String(pair.key.value));
      const kr = pair.key.range!;
      if (offset >= kr[0] && offset <= kr[1]) return { path: [...path], node: pair.key, onKey: true, pair };
      node = pair.value ?? null;
      result = { path: [...path], node, onKey: false, pair };
      if (!node) return result;
    } else if (isSeq(node)) {
      const idx = node.items.findIndex((it) => {
        const r = (it as YamlNode)?.range;
        return r && offset >= r[0] && offset <= r[2];
      });
      if (idx < 0) return result;
      path.push(idx);
      node = node.items[idx] as YamlNode;
      result = { path: [...path], node, onKey: false };
    } else {
      return result;
    }
  }
  return result;
}

export function isScalarNode(n: unknown): n is Scalar { return isScalar(n); }
export { isMap, isSeq, isScalar, isPair, isAlias };
