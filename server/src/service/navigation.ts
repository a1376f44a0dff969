/** Document symbols (policy → rules), folding ranges, and `{{ name }}` → context entry. */
import type { Node as YamlNode, Pair } from 'yaml';
import type { ParsedFile, Range, JsonPath } from './documents';
import { nodeAt, nodeRange, rangeOf, positionAt, findPath, documentAt, isMap, isSeq, isScalar } from './documents';
import { findVariables } from './expressions';

export interface DocumentSymbol { name: string; detail?: string; kind: number; range: Range; selectionRange: Range; children?: DocumentSymbol[] }
export interface FoldingRange { startLine: number; endLine: number }
export interface Location { uri: string; range: Range }

const SymbolKind = { Module: 2, Class: 5, Method: 6, Field: 8, Object: 19 } as const;

function spanRange(file: ParsedFile, node: YamlNode): Range {
  return rangeOf(file, node.range![0], node.range![1]);
}

export function documentSymbols(file: ParsedFile): DocumentSymbol[] {
  const out: DocumentSymbol[] = [];
  for (const pd of file.docs) {
    const contents = pd.doc.contents as YamlNode | null;
    if (!contents?.range || !isMap(contents)) continue;
    const v = (pd.value ?? {}) as { metadata?: { name?: unknown } };
    const name = typeof v.metadata?.name === 'string' ? v.metadata.name : '(unnamed)';
    const nameNode = findPath(pd.doc, ['metadata', 'name']);
    const range = rangeOf(file, pd.start, pd.end);
    const selection = nameNode.found && nameNode.value?.range ? nodeRange(file, nameNode.value) : rangeOf(file, contents.range[0], contents.range[0]);
    const children: DocumentSymbol[] = [];
    for (const listKey of ['rules', 'validations', 'mutations', 'variables']) {
      const list = findPath(pd.doc, ['spec', listKey]);
      if (!list.found || !isSeq(list.value)) continue;
      list.value.items.forEach((item, i) => {
        const it = item as YamlNode;
        if (!it?.range) return;
        const label = labelOf(it) ?? `${listKey}[${i}]`;
        const sel = isMap(it) ? keyValueNode(it, 'name') ?? keyValueNode(it, 'message') : undefined;
        children.push({
          name: label,
          detail: listKey === 'rules' ? ruleKind(it) : listKey,
          kind: listKey === 'variables' ? SymbolKind.Field : SymbolKind.Method,
          range: spanRange(file, it),
          selectionRange: sel ? nodeRange(file, sel) : rangeOf(file, it.range[0], it.range[0]),
        });
      });
    }
    out.push({ name: `${pd.kind ?? 'document'} ${name}`, detail: pd.apiVersion, kind: SymbolKind.Class, range, selectionRange: selection, children });
  }
  return out;
}

function keyValueNode(map: YamlNode, key: string): YamlNode | undefined {
  if (!isMap(map)) return undefined;
  const p = (map.items as Pair<YamlNode, YamlNode>[]).find((x) => isScalar(x.key) && x.key.value === key);
  return p?.value ?? undefined;
}

function labelOf(node: YamlNode): string | undefined {
  for (const k of ['name', 'message', 'expression']) {
    const v = keyValueNode(node, k);
    if (isScalar(v) && v.value !== null) return String(v.value).slice(0, 80);
  }
  return undefined;
}

function ruleKind(rule: YamlNode): string | undefined {
  if (!isMap(rule)) return undefined;
  return ['validate', 'mutate', 'generate', 'verifyImages'].find((k) => keyValueNode(rule, k) !== undefined);
}

export function foldingRanges(file: ParsedFile, limit = 5000): FoldingRange[] {
  const out: FoldingRange[] = [];
  const visit = (node: YamlNode | null, depth: number) => {
    if (!node || out.length >= limit || depth > 100) return;
    if (isMap(node) || isSeq(node)) {
      for (const it of node.items as unknown[]) {
        const value = isMap(node) ? ((it as Pair<YamlNode, YamlNode>).value ?? null) : (it as YamlNode);
        const startNode = isMap(node) ? ((it as Pair<YamlNode, YamlNode>).key as YamlNode) : (it as YamlNode);
        if (value && (isMap(value) || isSeq(value)) && startNode?.range && value.range) {
          const s = positionAt(file, startNode.range[0]).line;
          const e = positionAt(file, Math.max(value.range[0], value.range[1] - 1)).line;
          if (e > s) out.push({ startLine: s, endLine: e });
        }
        visit(value, depth + 1);
      }
    }
  };
  for (const pd of file.docs) {
    const s = positionAt(file, pd.start).line;
    const e = positionAt(file, Math.max(pd.start, pd.end - 1)).line;
    if (e > s && file.docs.length > 1) out.push({ startLine: s, endLine: e });
    visit(pd.doc.contents as YamlNode | null, 0);
  }
  return out;
}

/** From a `{{ name... }}` reference to the context entry `name` in scope (rule or foreach). */
export function definition(file: ParsedFile, offset: number): Location | undefined {
  const pd = documentAt(file, offset);
  if (!pd) return undefined;
  const at = nodeAt(pd.doc, offset);
  if (!isScalar(at.node) || !at.node.range) return undefined;
  const start = at.node.range[0];
  const src = file.text.slice(start, at.node.range[1]);
  const rel = offset - start;
  if (!findVariables(src).some((v) => rel >= v.exprStart && rel <= v.end - 2)) return undefined;
  let s = rel;
  while (s > 0 && /[\w]/.test(src[s - 1])) s--;
  if (s > 0 && src[s - 1] === '.') return undefined; // a field, not a root variable
  let e = rel;
  while (e < src.length && /[\w]/.test(src[e])) e++;
  const word = src.slice(s, e);
  if (!word) return undefined;
  // Innermost scope first: walk the path from the deepest node up.
  for (let len = at.path.length; len >= 0; len--) {
    const scope: JsonPath = at.path.slice(0, len);
    const ctx = findPath(pd.doc, [...scope, 'context']);
    if (!ctx.found || !isSeq(ctx.value)) continue;
    for (const entry of ctx.value.items as YamlNode[]) {
      const n = keyValueNode(entry, 'name');
      if (isScalar(n) && n.value === word) return { uri: file.uri, range: nodeRange(file, n) };
    }
  }
  return undefined;
}
