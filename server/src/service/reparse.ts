/**
 * Incremental re-parse. Re-parsing a 2,000-line policy on every keystroke dominates edit
 * latency, while an edit almost always stays inside one block collection (a rule, a
 * container, `metadata`, `spec`...) or one single-line scalar (`name: x`, `apiVersion: ...`).
 * That unit is re-parsed alone and spliced into the previous AST; every later offset shifts by
 * the edit's length. Anything unusual falls back to a full parse.
 */
import { parseDocument, isMap, isSeq, isPair, isScalar, isAlias } from 'yaml';
import type { Node as YamlNode, YAMLSeq, Pair } from 'yaml';
import { documentValue, GO_YAML_OPTIONS, lineCounterOf } from '../../../engine/loader';
import { parseFile, DEFAULT_LIMITS, type ParsedFile, type ParsedDocument, type JsonPath, type ParseLimits } from './documents';

const ANCHOR_OR_ALIAS = /(^|[\s,[{])[&*][^\s,\]}]/m;

export function reparseFile(prev: ParsedFile | undefined, text: string, limits: ParseLimits = DEFAULT_LIMITS): ParsedFile {
  if (!prev || prev.tooLarge || text.length > limits.maxChars) return parseFile(prev?.uri ?? '', text, limits);
  return splice(prev, text, limits, MAX_LINE_STEPS) ?? parseFile(prev.uri, text, limits);
}

/** Separate changed lines of one new text (a replace-all, a multi-cursor edit) spliced one by one, at most. */
const MAX_LINE_STEPS = 8;

/**
 * The new text spliced into the previous AST; undefined, with `prev` untouched, when it cannot be.
 * A text that differs on separate lines (the line after the first changed one is unchanged) is
 * the old file with each changed line put in, in turn: taken at once, the edit would span
 * everything between its first and last change (often the document), a near full parse whose
 * fresh AST, kept by the next version, outlives the young generation and lands in the old one
 * on every such edit. Once a line is put in, the rest is spliced the same way or parsed in full.
 */
function splice(prev: ParsedFile, text: string, limits: ParseLimits, steps: number): ParsedFile | undefined {
  const old = prev.text;
  const span = editSpan(old, text);
  if (!span) return { ...prev };
  const oldEol = old.indexOf('\n', span.p);
  const newEol = text.indexOf('\n', span.p);
  if (steps > 0 && oldEol >= 0 && oldEol < span.oldEnd && newEol >= 0 && nextLine(old, oldEol) === nextLine(text, newEol)) {
    const first = trySplice(prev, text.slice(0, newEol) + old.slice(oldEol));
    if (first) return splice(first, text, limits, steps - 1) ?? parseFile(prev.uri, text, limits);
  }
  return trySplice(prev, text, span);
}

/** The line break at `eol` and the line after it. */
function nextLine(text: string, eol: number): string {
  const next = text.indexOf('\n', eol + 1);
  return text.slice(eol, next < 0 ? text.length : next);
}

/** What changed: old[p, oldEnd) became text[p, oldEnd + delta). */
interface EditSpan { p: number; oldEnd: number; delta: number }

/** The edit between two texts (undefined when they are equal), past their common prefix and suffix. */
function editSpan(old: string, text: string): EditSpan | undefined {
  if (old === text) return undefined;
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
  return { p, oldEnd, delta };
}

/** The smallest part of the AST that an edit stays inside, and how to put its new version in. */
interface EditUnit { node: YamlNode; path: JsonPath; scalar: boolean; put: (fresh: YamlNode) => void }

/** One edit spliced in: the smallest unit around it re-parsed alone. */
function trySplice(prev: ParsedFile, text: string, span = editSpan(prev.text, text)): ParsedFile | undefined {
  const old = prev.text;
  if (!span) return { ...prev };
  const { p, oldEnd, delta } = span;
  const di = prev.docs.findIndex((d) => d.start <= p && oldEnd <= d.end);
  if (di < 0) return undefined;
  const pd = prev.docs[di];
  if (pd.doc.errors.length || pd.doc.warnings.length || pd.conversionError) return undefined;
  const docText = old.slice(pd.start, pd.end);
  if (ANCHOR_OR_ALIAS.test(docText) || docText.includes('<<')) return undefined;
  // The innermost unit first; one that cannot take the edit (a scalar that gained a line)
  // leaves it to the collection around it.
  let hit: EditUnit | undefined;
  let fresh: FreshUnit | undefined;
  for (const unit of editUnits(old, pd.doc.contents as YamlNode | null, p, oldEnd).reverse()) {
    fresh = unit.scalar ? reparseScalar(old, text, unit.node, delta) : reparseCollection(old, text, unit.node, delta);
    if (fresh) {
      hit = unit;
      break;
    }
  }
  if (!hit || !fresh) return undefined;
  // Shift everything after the edit, then put the fresh item (shifted to file offsets) in.
  for (let i = di; i < prev.docs.length; i++) {
    const d = prev.docs[i];
    shiftNode(d.doc.contents as YamlNode | null, oldEnd, delta);
    if (d.doc.range) d.doc.range = d.doc.range.map((v) => (v >= oldEnd ? v + delta : v)) as typeof d.doc.range;
    for (const e of [...d.doc.errors, ...d.doc.warnings]) e.pos = e.pos.map((v) => (v >= oldEnd ? v + delta : v)) as [number, number];
    if (i > di) d.start += delta;
    d.end += delta;
  }
  shiftNode(fresh.node, -1, fresh.offset);
  hit.put(fresh.node);
  const newValue = replaceIn(pd.value, hit.path, fresh.value);
  const lines = lineCounterOf(text);
  const top = newValue && typeof newValue === 'object' && !Array.isArray(newValue) ? (newValue as Record<string, unknown>) : undefined;
  const docs: ParsedDocument[] = prev.docs.map((d, i) => (i === di
    ? {
      ...d,
      value: newValue,
      apiVersion: typeof top?.apiVersion === 'string' ? top.apiVersion : undefined,
      kind: typeof top?.kind === 'string' ? top.kind : undefined,
    }
    : { ...d }));
  return { uri: prev.uri, text, lines, docs };
}

/** A re-parsed unit: its node (offsets from `offset`) and its plain value. */
interface FreshUnit { node: YamlNode; offset: number; value: unknown }

/** The unit's value under the limits a full parse applies (units hold no aliases). */
function toValue(doc: ReturnType<typeof parseDocument>): { ok: true; value: unknown } | { ok: false } {
  const got = documentValue(doc, { maxAliasCount: 0 });
  return 'value' in got ? { ok: true, value: got.value } : { ok: false };
}

/** A block collection: its lines alone, indented as they were, must parse to a collection that ends where the old one did. */
function reparseCollection(old: string, text: string, node: YamlNode, delta: number): FreshUnit | undefined {
  const r = node.range!;
  const lineStart = old.lastIndexOf('\n', r[0] - 1) + 1;
  const chunk = ' '.repeat(r[0] - lineStart) + text.slice(r[0], r[1] + delta);
  if (ANCHOR_OR_ALIAS.test(chunk) || chunk.includes('<<')) return undefined;
  const doc = parseDocument(chunk, { ...GO_YAML_OPTIONS, uniqueKeys: true, prettyErrors: false });
  const fresh = doc.contents as YamlNode | null;
  if (doc.errors.length || doc.warnings.length || !fresh || !(isMap(fresh) || isSeq(fresh)) || !fresh.range) return undefined;
  if (fresh.flow) return undefined;
  // The new collection must end where the old one ended (shifted): otherwise its extent changed.
  if (fresh.range[1] !== chunk.length && chunk.slice(fresh.range[1]).trim() !== '') return undefined;
  const value = toValue(doc);
  return value.ok ? { node: fresh, offset: lineStart, value: value.value } : undefined;
}

// Characters that give a scalar's text another structure in context (flow, block scalars,
// comments, tags, anchors, document markers) or that a plain scalar may not start with.
const SCALAR_UNSAFE = /[\n\r#,[\]{}|>&*!%@`]|^[-?:'"]\s|^\s|\s$|: /;

/** A single-line scalar: its new text alone must parse to one scalar spanning all of it. */
function reparseScalar(old: string, text: string, node: YamlNode, delta: number): FreshUnit | undefined {
  const r = node.range!;
  const slice = text.slice(r[0], r[1] + delta);
  const was = old.slice(r[0], r[1]);
  // Quoted scalars stay quoted the same way; plain ones stay plain.
  const quote = was[0] === '"' || was[0] === "'" ? was[0] : '';
  if (!slice || (quote ? slice[0] !== quote || slice[slice.length - 1] !== quote || /[\n\r]/.test(slice) : SCALAR_UNSAFE.test(slice))) return undefined;
  const doc = parseDocument(slice, { ...GO_YAML_OPTIONS, uniqueKeys: true, prettyErrors: false });
  const fresh = doc.contents as YamlNode | null;
  if (doc.errors.length || doc.warnings.length || !isScalar(fresh) || !fresh.range || fresh.range[0] !== 0 || fresh.range[1] !== slice.length) return undefined;
  const value = toValue(doc);
  if (!value.ok) return undefined;
  // Keep the old node's trailing extent (spaces before a comment), shifted like the rest.
  fresh.range = [0, slice.length, slice.length + (r[2] - r[1])];
  return { node: fresh, offset: r[0], value: value.value };
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

/**
 * The units whose own text strictly contains [start, end), outermost first: block collections
 * that are sequence items or mapping values, and a single-line scalar (the edit may touch its ends).
 */
function editUnits(text: string, root: YamlNode | null, start: number, end: number): EditUnit[] {
  const units: EditUnit[] = [];
  let cur: YamlNode | null = root;
  const at: JsonPath = [];
  const consider = (node: YamlNode | null | undefined, put: (fresh: YamlNode) => void) => {
    const r = node?.range;
    if (!node || !r) return;
    if ((isMap(node) || isSeq(node)) && !node.flow && r[0] < start && end <= contentEnd(text, node)) {
      units.push({ node, path: [...at], scalar: false, put });
    } else if (isScalar(node) && r[0] <= start && end <= r[1] && !/[\n\r]/.test(text.slice(r[0], r[1]))
      && (node.type === 'PLAIN' || node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE')) {
      units.push({ node, path: [...at], scalar: true, put });
    }
  };
  for (let depth = 0; cur && depth < 200; depth++) {
    if ((isMap(cur) || isSeq(cur)) && cur.flow) break;
    if (isMap(cur)) {
      const pair = (cur.items as Pair<YamlNode, YamlNode>[]).find((it) => {
        const r = it.value?.range;
        return r && r[0] <= start && end <= r[1];
      });
      if (!pair || !isScalar(pair.key)) break;
      at.push(String(pair.key.value));
      consider(pair.value, (fresh) => (pair.value = fresh));
      cur = pair.value ?? null;
    } else if (isSeq(cur)) {
      const seq: YAMLSeq = cur;
      const idx = seq.items.findIndex((it) => {
        const r = (it as YamlNode)?.range;
        return r && r[0] <= start && end <= r[1];
      });
      if (idx < 0) break;
      at.push(idx);
      consider(seq.items[idx] as YamlNode, (fresh) => (seq.items[idx] = fresh));
      cur = seq.items[idx] as YamlNode;
    } else break;
  }
  return units;
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
