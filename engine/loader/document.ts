/**
 * The YAML document model with positions that the engine loader, the language service and
 * the extension share: one parse of a text into `yaml` Documents (go-yaml v2 reading) with a
 * line table, under one set of limits; plain values taken from them under the same limits;
 * and the one mapping from a JSON path (a rule result's `path`, a schema error's instance
 * path) to the span of text a reader should look at. Pure: text in, offsets out.
 */
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node as YamlNode, type Pair, type YAMLMap } from 'yaml';
import { GO_YAML_OPTIONS } from './go-yaml';
import { plainYamlValues } from './plain-values';

export interface YamlLimits {
  /** Largest accepted text, in characters (the CLI's file reader caps files at the same size). */
  maxChars: number;
  /** Most YAML documents in one text. */
  maxDocuments: number;
  /** Bound on alias expansion (billion-laughs protection). */
  maxAliasCount: number;
  /**
   * Deepest accepted nesting of mappings and sequences in a value: far deeper than any
   * manifest, and shallow enough that every recursive walk of the engine (patterns,
   * patches, comparisons) stays within the JavaScript stack.
   */
  maxDepth: number;
}

export const YAML_LIMITS: Readonly<YamlLimits> = Object.freeze({
  maxChars: 20 * 1024 * 1024,
  maxDocuments: 20000,
  maxAliasCount: 100,
  maxDepth: 1000,
});

export type JsonPath = ReadonlyArray<string | number>;

/** Offsets [start, end) into the text. */
export interface TextSpan {
  start: number;
  end: number;
}

/** 0-based line and column (UTF-16 units), as LSP and VS Code count them. */
export interface TextPosition {
  line: number;
  character: number;
}

export interface YamlText {
  lines: LineCounter;
  docs: Document.Parsed[];
  /** Set when the text is beyond the limits; `docs` is then empty. */
  overLimit?: string;
}

export interface ParseYamlOptions {
  limits?: Partial<YamlLimits>;
  /**
   * Duplicate keys as errors. go-yaml v2 (what Kyverno reads with) keeps the last value, so the
   * loader leaves this off; the language service turns it on to flag them.
   */
  uniqueKeys?: boolean;
}

export function yamlLimits(limits: Partial<YamlLimits> = {}): YamlLimits {
  return { ...YAML_LIMITS, ...limits };
}

/** The documents of `text` with positions, or why the text is beyond the limits. Throws only on parser stack overflow. */
export function parseYamlText(text: string, options: ParseYamlOptions = {}): YamlText {
  const limits = yamlLimits(options.limits);
  const lines = new LineCounter();
  if (text.length > limits.maxChars) {
    return { lines: lineCounterOf(text), docs: [], overLimit: `input too large (${text.length} characters, limit ${limits.maxChars})` };
  }
  const parsed = parseAllDocuments(text, { ...GO_YAML_OPTIONS, lineCounter: lines, prettyErrors: false, uniqueKeys: options.uniqueKeys ?? false, keepSourceTokens: false });
  const docs = (Array.isArray(parsed) ? parsed : [parsed]) as Document.Parsed[];
  if (docs.length > limits.maxDocuments) {
    return { lines, docs: [], overLimit: `too many YAML documents (${docs.length}, limit ${limits.maxDocuments})` };
  }
  return { lines, docs };
}

/** A document's plain value without its positions, as `parseYamlValues` gives it. */
export interface DocumentValue {
  /** The value (undefined when `conversionError` says why there is none). */
  value: unknown;
  conversionError?: string;
  /** The parse reported errors in the document (its value is then only the parser's best reading). */
  invalid: boolean;
}

/**
 * The plain values of `text`'s documents, for readers that need no positions (the workspace
 * scan): the same values, errors and limits as `parseYamlText` + `documentValue`. Texts in the
 * block-style subset of YAML take a fast path (plain-values.ts) that builds no Documents; any
 * other text, and any text with an error, is parsed in full.
 */
export function parseYamlValues(text: string, options: ParseYamlOptions = {}): { docs: DocumentValue[]; overLimit?: string } {
  const limits = yamlLimits(options.limits);
  const fast = plainYamlValues(text, limits);
  if (fast) return { docs: fast.map((value) => ({ value, invalid: false })) };
  const parsed = parseYamlText(text, options);
  return {
    overLimit: parsed.overLimit,
    docs: parsed.docs.map((doc) => {
      const got = documentValue(doc, limits);
      return 'value' in got ? { value: got.value, invalid: doc.errors.length > 0 } : { value: undefined, conversionError: got.error, invalid: doc.errors.length > 0 };
    }),
  };
}

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

export function isStackOverflow(err: unknown): boolean {
  return err instanceof RangeError && /call stack/i.test(err.message);
}

/** `maxDepth` for values over the limit; undefined when the parser itself ran out of stack. */
export function tooDeepMessage(maxDepth?: number): string {
  return maxDepth === undefined ? 'YAML nested too deeply (the parser ran out of stack)' : `YAML nested too deeply (more than ${maxDepth} levels)`;
}

/** A document's plain value under the limits (aliases, depth), or the reason it has none. */
export function documentValue(doc: Document, limits: Partial<YamlLimits> = {}): { value: unknown } | { error: string } {
  const { maxAliasCount, maxDepth } = yamlLimits(limits);
  try {
    const value = doc.toJS({ maxAliasCount });
    if (nestingDepth(value, maxDepth) > maxDepth) return { error: tooDeepMessage(maxDepth) };
    return { value };
  } catch (err) {
    if (isStackOverflow(err)) return { error: tooDeepMessage() };
    const message = String((err as Error)?.message ?? err);
    if (/alias count/i.test(message)) return { error: `too many YAML aliases (more than ${maxAliasCount} expansions; possible alias bomb)` };
    return { error: `invalid YAML document: ${message.split('\n')[0].trim()}` };
  }
}

/** A line table for `text` (for texts not parsed here, or changed since). */
export function lineCounterOf(text: string): LineCounter {
  const lines = new LineCounter();
  lines.addNewLine(0);
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines.addNewLine(i + 1);
  return lines;
}

/** Offset → 0-based line and character. */
export function positionAt(lines: LineCounter, offset: number): TextPosition {
  const p = lines.linePos(Math.max(0, offset));
  return { line: p.line - 1, character: p.col - 1 };
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
    if (isScalar(it.key) && String(it.key.value) === key) return it;
  }
  return undefined;
}

/**
 * Follows a JSON path in a document's AST. Keys match by their string form (`80` finds the
 * key `80` whether written as a number or a string); aliases are not followed: their source
 * is reported.
 */
export function findPath(doc: Pick<Document, 'contents'>, path: JsonPath): PathTarget {
  let node: YamlNode | null = doc.contents as YamlNode | null;
  let key: YamlNode | undefined;
  for (const step of path) {
    if (isMap(node)) {
      const pair = mapPair(node, String(step));
      if (!pair) return { deepest: node, key, found: false, value: node };
      key = pair.key ?? undefined;
      node = pair.value ?? null;
    } else if (isSeq(node) && typeof step === 'number') {
      const item = (node as { items: unknown[] }).items[step] as YamlNode | undefined;
      if (item === undefined) return { deepest: node, key, found: false, value: node };
      key = undefined;
      node = item;
    } else {
      return { deepest: node, key, found: false, value: node };
    }
  }
  return { key, value: node, deepest: node, found: true };
}

function nodeSpan(node: YamlNode): TextSpan | undefined {
  return node.range ? { start: node.range[0], end: node.range[1] } : undefined;
}

/** Collections span many lines; only their first line is underlined. */
function firstLineSpan(text: string, node: YamlNode): TextSpan | undefined {
  const span = nodeSpan(node);
  if (!span) return undefined;
  const nl = text.indexOf('\n', span.start);
  return nl >= 0 && nl < span.end ? { start: span.start, end: nl } : span;
}

/**
 * The span for a JSON path in a document: the value when it is a scalar (`prefer: 'key'`:
 * the key first), else the key, else the first line of the collection; a path that goes
 * missing (a required label) resolves to the last key found on it, else to the first line of
 * the deepest node found: that is where the user has to add it. Undefined only for a document
 * without content.
 */
export function spanOfPath(text: string, doc: Pick<Document, 'contents'>, path: JsonPath, prefer: 'key' | 'value' = 'value'): TextSpan | undefined {
  const t = findPath(doc, path);
  if (t.found) {
    const first = prefer === 'key' ? t.key ?? t.value : t.value ?? t.key;
    if (first?.range && !isMap(first) && !isSeq(first)) return nodeSpan(first);
    if (t.key) return nodeSpan(t.key);
    if (first) return firstLineSpan(text, first);
  }
  if (t.key) return nodeSpan(t.key);
  return t.deepest ? firstLineSpan(text, t.deepest) : undefined;
}

/** The whole extent of the node at a JSON path (a collection's every line), when the path exists. */
export function nodeSpanOfPath(doc: Pick<Document, 'contents'>, path: JsonPath): TextSpan | undefined {
  const t = findPath(doc, path);
  return t.found && t.value ? nodeSpan(t.value) : undefined;
}

/**
 * Where a rule result is shown, for the language service's diagnostics and the extension's
 * results view alike: the field at `path` of the resource at `itemPath` (inside a `kind:
 * List`), or the resource's `kind` when the result names no field.
 */
export function resultSpan(text: string, doc: Pick<Document, 'contents'>, itemPath: JsonPath, path: JsonPath | undefined): TextSpan | undefined {
  if (path?.length) return spanOfPath(text, doc, [...itemPath, ...path]);
  const kind = findPath(doc, [...itemPath, 'kind']);
  return kind.found && kind.value ? nodeSpan(kind.value) : undefined;
}
