/**
 * Incremental re-parse. Re-parsing a 2,000-line policy on every keystroke dominates edit
 * latency, while an edit almost always stays inside one block-sequence item (a rule, a
 * container, ...). That item is re-parsed alone and spliced into the previous AST; every
 * later offset shifts by the edit's length. Anything unusual falls back to a full parse.
 */
import { parseDocument, LineCounter, isMap, isSeq, isPair, isScalar, isAlias } from 'yaml';
import type { Node as YamlNode, YAMLSeq, Pair } from 'yaml';
import { GO_YAML_OPTIONS } from '../../../engine/loader';
import { parseFile, DEFAULT_LIMITS, type ParsedFile, type ParsedDocument, type JsonPath, type ParseLimits } from './documents';

const ANCHOR_OR_ALIAS = /(^|[\s,[{])[&*][^\s,\]}]/m;

export function reparseFile(prev: ParsedFile | undefined, text: string, limits: ParseLimits = DEFAULT_LIMITS): ParsedFile {
  if (!prev || prev.tooLarge || text.length > limits.maxChars) return parseFile(prev?.uri ?? '', text, limits);
  const spliced = trySplice(prev, text);
  return spliced ?? parseFile(prev.uri, text, limits);
}

interface ItemHit { seq: YAMLSeq; index: number; node: YamlNode; path: JsonPath }

function trySplice(prev: ParsedFile, text: string): ParsedFile | undefined {
  const old = prev.text;
  if (old === text) return { ...prev };
  const max = Math.min(old.length, text.length);
  let p = 0;
  while (p < max && old.charCodeAt(p) === text.charCodeAt(p)) p++;
  let s = 0;
  while (s < max - p && old.charCodeAt(old.length - 1 - s) === text.charCodeAt(text.length - 1 - s)) s++;
  let oldEnd = old.length - s;
  const delta = text.length - old.length;
  // A pure insertion or deletion inside repeated characters (typically whitespace) is
  // ambiguous; slide it left so that text appended to an item's last line stays in the item.
  if (oldEnd === p && delta > 0) {
    while (p > 0 && old.charCodeAt(p - 1) === text.charCodeAt(p - 1 + delta)) p--;
    oldEnd = p;
  } else if (text.length - (old.length - oldEnd) === p && delta < 0) {
    while (p > 0 && old.charCodeAt(p - 1) === old.charCodeAt(oldEnd - 1)) {
      p--;
      oldEnd--;
    }
  }
  const di = prev.docs.findIndex((d) => d.start <= p && oldEnd <= d.end);
  if (di < 0) return undefined;
  const pd = prev.docs[di];
  if (pd.doc.errors.length || pd.doc.warnings.length || pd.conversionError) return undefined;
  const docText = old.slice(pd.start, pd.end);
  if (ANCHOR_OR_ALIAS.test(docText) || docText.includes('<<')) return undefined;
  const hit = deepestItem(old, pd.doc.contents as YamlNode | null, p, oldEnd, []);
  if (!hit) return undefined;
  const r = hit.node.range!;
  const lineStart = old.lastIndexOf('\n', r[0] - 1) + 1;
  const chunkEnd = r[1] + delta;
  const chunk = ' '.repeat(r[0] - lineStart) + text.slice(r[0], chunkEnd);
  if (ANCHOR_OR_ALIAS.test(chunk) || chunk.includes('<<')) return undefined;
  const doc = parseDocument(chunk, { ...GO_YAML_OPTIONS, uniqueKeys: true, prettyErrors: false });
  const fresh = doc.contents as YamlNode | null;
  if (doc.errors.length || doc.warnings.length || !fresh || !(isMap(fresh) || isSeq(fresh)) || !fresh.range) return undefined;
  // The new item must end where the old one ended (shifted): otherwise its extent changed.
  if (fresh.range[1] !== chunk.length && chunk.slice(fresh.range[1]).trim() !== '') return undefined;
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 0 });
  } catch {
    return undefined;
  }
  // Shift everything after the edit, then put the fresh item (shifted to file offsets) in.
  for (let i = di; i < prev.docs.length; i++) {
    const d = prev.docs[i];
    shiftNode(d.doc.contents as YamlNode | null, oldEnd, delta);
    if (d.doc.range) d.doc.range = d.doc.range.map((v) => (v >= oldEnd ? v + delta : v)) as typeof d.doc.range;
    for (const e of [...d.doc.errors, ...d.doc.warnings]) e.pos = e.pos.map((v) => (v >= oldEnd ? v + delta : v)) as [number, number];
    if (i > di) d.start += delta;
    d.end += delta;
  }
  shiftNode(fresh, -1, lineStart);
  hit.seq.items[hit.index] = fresh;
  const newValue = replaceIn(pd.value, hit.path, value);
  const lines = new LineCounter();
  lines.addNewLine(0);
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines.addNewLine(i + 1);
  const docs: ParsedDocument[] = prev.docs.map((d, i) => (i === di ? { ...d, value: newValue } : { ...d }));
  return { uri: prev.uri, text, lines, docs };
}

/**
 * Where an item's own text ends: its range runs on to the next line's start, but an edit at
 * that line's indentation (indenting `- name: b` under the rule above, moving `validate:`
 * under `preconditions:`) re-shapes what follows the item, which the item alone cannot see.
 */
function contentEnd(text: string, node: YamlNode): number {
  const [start, end] = node.range!;
  let e = end;
  while (e > start && /\s/.test(text[e - 1])) e--;
  return e;
}

/** The innermost block-sequence item (a collection) whose own text strictly contains [start, end). */
function deepestItem(text: string, node: YamlNode | null, start: number, end: number, path: JsonPath): ItemHit | undefined {
  let best: ItemHit | undefined;
  let cur: YamlNode | null = node;
  const at: JsonPath = [...path];
  for (let depth = 0; cur && depth < 200; depth++) {
    if (isMap(cur)) {
      const pair = (cur.items as Pair<YamlNode, YamlNode>[]).find((it) => {
        const r = it.value?.range;
        return r && r[0] <= start && end <= r[1];
      });
      if (!pair || !isScalar(pair.key)) break;
      at.push(String(pair.key.value));
      cur = pair.value ?? null;
    } else if (isSeq(cur)) {
      if (cur.flow) break;
      const seq = cur;
      const idx = seq.items.findIndex((it) => {
        const r = (it as YamlNode)?.range;
        return r && r[0] < start && end <= r[1];
      });
      if (idx < 0) break;
      const item = seq.items[idx] as YamlNode;
      at.push(idx);
      if ((isMap(item) || isSeq(item)) && !item.flow && end <= contentEnd(text, item)) best = { seq, index: idx, node: item, path: [...at] };
      cur = item;
    } else break;
  }
  return best;
}

function shiftNode(node: unknown, from: number, delta: number, depth = 0): void {
  if (!node || typeof node !== 'object' || depth > 300) return;
  const n = node as { range?: [number, number, number] };
  const r = n.range;
  if (r) {
    if (r[0] >= from) r[0] += delta;
    if (r[1] >= from) r[1] += delta;
    if (r[2] >= from) r[2] += delta;
  }
  if (isMap(node) || isSeq(node)) {
    for (const it of node.items as unknown[]) {
      if (isPair(it)) {
        shiftNode(it.key, from, delta, depth + 1);
        shiftNode(it.value, from, delta, depth + 1);
      } else shiftNode(it, from, delta, depth + 1);
    }
  } else if (isAlias(node)) {
    /* no children */
  }
}

/**
 * A copy of root with the value at path replaced, sharing every untouched branch. Parsed values
 * are never changed in place: the engine memoises work per policy object (autogen rules).
 */
function replaceIn(root: unknown, path: JsonPath, value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  const copy = (Array.isArray(root) ? [...root] : { ...(root as Record<string, unknown>) }) as Record<string | number, unknown>;
  copy[head] = replaceIn(copy[head], rest, value);
  return copy;
}
