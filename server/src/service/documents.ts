/**
 * Parses a YAML file into documents with positions, and maps JSON paths to source ranges.
 * Every service works on a `ParsedFile`; parsing is bounded (size, alias expansion) so a
 * hostile file yields a diagnostic rather than a hang.
 */
import { LineCounter, parseAllDocuments, isMap, isSeq, isScalar, isPair, isAlias, Document, Pair, Scalar } from 'yaml';
import type { Node as YamlNode, YAMLMap, YAMLSeq } from 'yaml';
import { GO_YAML_OPTIONS } from '../../../engine/loader';

export interface Position { line: number; character: number }
export interface Range { start: Position; end: Position }
export type JsonPath = Array<string | number>;

export interface ParsedDocument {
  doc: Document.Parsed;
  /** Plain data, or undefined when conversion failed (alias bomb, ...). */
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

export interface ParseLimits {
  maxChars: number;
  maxDocuments: number;
  maxAliasCount: number;
}

export const DEFAULT_LIMITS: ParseLimits = { maxChars: 4 * 1024 * 1024, maxDocuments: 20000, maxAliasCount: 100 };

export function parseFile(uri: string, text: string, limits: ParseLimits = DEFAULT_LIMITS): ParsedFile {
  const lines = new LineCounter();
  if (text.length > limits.maxChars) {
    return { uri, text, lines, docs: [], tooLarge: `File too large to analyse (${text.length} characters, limit ${limits.maxChars}).` };
  }
  const yamlDocs = parseAllDocuments(text, { ...GO_YAML_OPTIONS, lineCounter: lines, prettyErrors: false, uniqueKeys: true, keepSourceTokens: false });
  const list = Array.isArray(yamlDocs) ? yamlDocs : [];
  if (list.length > limits.maxDocuments) {
    return { uri, text, lines, docs: [], tooLarge: `Too many YAML documents to analyse (${list.length}, limit ${limits.maxDocuments}).` };
  }
  const docs: ParsedDocument[] = list.map((doc) => {
    const start = doc.range?.[0] ?? 0;
    const end = doc.range?.[2] ?? text.length;
    let value: unknown;
    let conversionError: string | undefined;
    try {
      value = doc.toJS({ maxAliasCount: limits.maxAliasCount });
    } catch (e) {
      conversionError = (e as Error).message;
    }
    const obj = value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
    return {
      doc,
      value,
      conversionError,
      apiVersion: typeof obj?.apiVersion === 'string' ? obj.apiVersion : undefined,
      kind: typeof obj?.kind === 'string' ? obj.kind : undefined,
      start,
      end,
    };
  });
  return { uri, text, lines, docs };
}

export function positionAt(file: ParsedFile, offset: number): Position {
  const p = file.lines.linePos(Math.max(0, Math.min(offset, file.text.length)));
  return { line: p.line - 1, character: p.col - 1 };
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

export interface PathTarget {
  /** The key scalar of the last path step (for maps), when any. */
  key?: YamlNode;
  value?: YamlNode | null;
  /** The deepest node found when the path does not exist fully. */
  deepest: YamlNode | null;
  found: boolean;
}

function mapPair(map: YAMLMap, key: string): Pair<YamlNode, YamlNode> | undefined {
  for (const it of map.items as Pair<YamlNode, YamlNode>[]) {
    const k = it.key;
    if (isScalar(k) ? String(k.value) === key : false) return it;
  }
  return undefined;
}

/** Follows a JSON path in the YAML AST (aliases are not followed: their source is reported). */
export function findPath(doc: Document.Parsed, path: JsonPath): PathTarget {
  let node: YamlNode | null = doc.contents as YamlNode | null;
  let key: YamlNode | undefined;
  for (const step of path) {
    if (isMap(node) && typeof step === 'string') {
      const pair = mapPair(node, step);
      if (!pair) return { deepest: node, key, found: false, value: node };
      key = pair.key ?? undefined;
      node = pair.value ?? null;
    } else if (isSeq(node) && typeof step === 'number') {
      const item = (node as YAMLSeq).items[step] as YamlNode | undefined;
      if (item === undefined) return { deepest: node, key, found: false, value: node };
      key = undefined;
      node = item;
    } else if (isMap(node) && typeof step === 'number') {
      return { deepest: node, key, found: false, value: node };
    } else {
      return { deepest: node, key, found: false, value: node };
    }
  }
  return { key, value: node, deepest: node, found: true };
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

/** Range of the value at path, else of the key, else of the closest existing ancestor. */
export function rangeForPath(file: ParsedFile, pd: ParsedDocument, path: JsonPath, prefer: 'key' | 'value' = 'value'): Range {
  const t = findPath(pd.doc, path);
  if (t.found) {
    const first = prefer === 'key' ? t.key ?? t.value : t.value ?? t.key;
    if (first?.range && !(isMap(first) || isSeq(first)) ) return nodeRange(file, first);
    if (t.key) return nodeRange(file, t.key);
    if (first) return firstLineRange(file, first);
  }
  if (t.key) return nodeRange(file, t.key);
  if (t.deepest) return firstLineRange(file, t.deepest);
  return rangeOf(file, pd.start, pd.start);
}

/** Collections span many lines; underline only their first line. */
function firstLineRange(file: ParsedFile, node: YamlNode): Range {
  const start = node.range?.[0] ?? 0;
  let end = node.range?.[1] ?? start;
  const nl = file.text.indexOf('\n', start);
  if (nl >= 0 && nl < end) end = nl;
  return rangeOf(file, start, end);
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
