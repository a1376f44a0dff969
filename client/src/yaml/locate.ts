/**
 * Maps engine JSON paths (RuleResult.path) back to the YAML text they came from, so a result
 * can jump to the field. Pure (no vscode): offsets in, offsets out.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node, type Pair } from 'yaml';

export type JsonPath = ReadonlyArray<string | number>;

export interface TextSpan {
  start: number;
  end: number;
}

export interface Position {
  /** 0-based line. */
  line: number;
  /** 0-based column. */
  character: number;
}

/** Where a resource lives in its file: the YAML document, and the path of the resource inside it (List items). */
export interface ResourceLocation {
  docIndex: number;
  itemPath: JsonPath;
}

export function parseDocuments(text: string): Document[] {
  return parseAllDocuments(text, { keepSourceTokens: false, uniqueKeys: false }) as Document[];
}

function nodeSpan(node: Node | null | undefined): TextSpan | undefined {
  const r = node?.range;
  return r ? { start: r[0], end: r[1] } : undefined;
}

function childOf(node: unknown, key: string | number): { pair?: Pair; node: unknown } | undefined {
  if (isMap(node)) {
    const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(key));
    return pair ? { pair, node: pair.value } : undefined;
  }
  if (isSeq(node) && typeof key === 'number') {
    const item = node.items[key];
    return item === undefined ? undefined : { node: item };
  }
  return undefined;
}

/**
 * The span of the deepest node along `path` in document `docIndex`. A field that is missing
 * (e.g. a required label) resolves to its closest existing parent: that is where the user
 * has to add it. For a key whose value is a scalar the span covers `key: value`; for a
 * collection, only the key, so the underline stays on one line.
 */
export function spanOfPath(docs: Document[], docIndex: number, path: JsonPath): TextSpan | undefined {
  const doc = docs[docIndex];
  if (!doc) return undefined;
  let node: unknown = doc.contents;
  let best: TextSpan | undefined = nodeSpan(doc.contents as Node);
  // The document itself is too wide to be useful: start from the `kind` key when nothing deeper matches.
  if (isMap(node)) {
    const kind = childOf(node, 'kind');
    if (kind?.pair) best = pairSpan(kind.pair);
  }
  for (const key of path) {
    const next = childOf(node, key);
    if (!next) break;
    node = next.node;
    best = next.pair ? pairSpan(next.pair) : (isScalar(node) ? nodeSpan(node as Node) : firstLineOf(node as Node)) ?? best;
  }
  return best;
}

function pairSpan(pair: Pair): TextSpan | undefined {
  const key = nodeSpan(pair.key as Node);
  if (!key) return nodeSpan(pair.value as Node);
  const value = pair.value as Node | null;
  if (isScalar(value) && value.range) return { start: key.start, end: value.range[1] };
  return key;
}

function firstLineOf(node: Node | null | undefined): TextSpan | undefined {
  const span = nodeSpan(node);
  if (!span) return undefined;
  if (isMap(node) && node.items[0] && isPair(node.items[0])) return pairSpan(node.items[0]) ?? span;
  return span;
}

/** Offset → line/character, with a line table built once per text. */
export function positionsOf(text: string): (offset: number) => Position {
  const lc = new LineCounter();
  let start = 0;
  for (;;) {
    lc.addNewLine(start);
    const nl = text.indexOf('\n', start);
    if (nl < 0) break;
    start = nl + 1;
  }
  return (offset) => {
    const p = lc.linePos(offset);
    return { line: p.line - 1, character: p.col - 1 };
  };
}

/** Span of `path` inside the resource at `location` of `text`. */
export function locateInText(text: string, location: ResourceLocation, path: JsonPath = []): TextSpan | undefined {
  return spanOfPath(parseDocuments(text), location.docIndex, [...location.itemPath, ...path]);
}
