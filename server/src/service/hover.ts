/**
 * Hover: CRD field documentation, JMESPath/CEL function signatures, anchors, and on a rule
 * the autogen rules Kyverno derives from it.
 */
import type { ParsedFile, Range, JsonPath } from './documents';
import { documentAt, nodeAt, nodeRange, rangeOf, isScalar } from './documents';
import { schemaFor, documentedSchema, subSchema } from './schemas';
import { findVariables } from './expressions';
import { ANCHOR_DOCS, CEL_FUNCTIONS, CEL_ROOTS, JMESPATH_FUNCTIONS, TEMPLATE_ROOTS } from './vocabulary';
import { parseAnchor } from '../../../engine/anchor';
import { describeAutogen } from '../../../engine/autogen';
import type { JsonObject } from '../../../engine/core/types';
import { isClassicPolicy, isCelPolicyDoc } from './kyverno-checks';

export interface Hover { contents: { kind: 'markdown'; value: string }; range?: Range }

const CEL_KEYS = new Set(['expression', 'messageExpression', 'valueExpression']);

function wordAt(text: string, i: number): { word: string; start: number } | undefined {
  let s = i;
  let e = i;
  while (s > 0 && /[\w.]/.test(text[s - 1])) s--;
  while (e < text.length && /[\w]/.test(text[e])) e++;
  if (s === e) return undefined;
  return { word: text.slice(s, e), start: s };
}

export function hover(file: ParsedFile, offset: number): Hover | undefined {
  const pd = documentAt(file, offset);
  if (!pd) return undefined;
  const at = nodeAt(pd.doc, offset);
  const node = at.node;
  if (!at.onKey && isScalar(node) && typeof node.value === 'string' && node.range) {
    const inside = expressionHover(file, pd.value, at.path, node.range[0], offset, isCelField(pd, at.path));
    if (inside) return inside;
  }
  if (at.onKey && isScalar(node)) {
    const parts: string[] = [];
    const key = String(node.value);
    const anchor = parseAnchor(key);
    if (anchor) parts.push(ANCHOR_DOCS[anchor.modifier]);
    const entry = schemaFor(pd.apiVersion, pd.kind, file.uri, pd.value);
    if (entry) {
      const s = subSchema(documentedSchema(entry), at.path);
      if (s?.description) parts.push(`**${key}**${s.type ? ` _${[s.type].flat().join('|')}_` : ''}\n\n${s.description}`);
    }
    const rule = ruleHover(pd.value, at.path);
    if (rule) parts.push(rule);
    if (parts.length) return { contents: { kind: 'markdown', value: parts.filter(Boolean).join('\n\n---\n\n') }, range: nodeRange(file, node) };
  }
  return undefined;
}

function isCelField(pd: NonNullable<ReturnType<typeof documentAt>>, path: JsonPath): boolean {
  const last = path[path.length - 1];
  if (typeof last !== 'string' || !CEL_KEYS.has(last)) return false;
  return isCelPolicyDoc(pd) || (isClassicPolicy(pd) && (path.includes('cel') || path.includes('celPreconditions')));
}

function expressionHover(file: ParsedFile, value: unknown, path: JsonPath, start: number, offset: number, cel: boolean): Hover | undefined {
  const src = file.text.slice(start, Math.min(file.text.length, start + 100000));
  const rel = offset - start;
  if (!cel) {
    const inVar = findVariables(src).some((v) => rel >= v.exprStart && rel <= v.end - 2);
    if (!inVar) return undefined;
  }
  const w = wordAt(src, rel);
  if (!w) return undefined;
  const range = rangeOf(file, start + w.start, start + w.start + w.word.length);
  const last = w.word.split('.').pop()!;
  const followedByParen = /^\s*\(/.test(src.slice(w.start + w.word.length));
  if (cel) {
    const f = CEL_FUNCTIONS.find((x) => x.name === w.word || x.name === last);
    if (f && followedByParen) return { contents: { kind: 'markdown', value: `\`${f.detail}\`\n\n${f.doc ?? ''}` }, range };
    const root = CEL_ROOTS.find((x) => x.name === w.word.split('.')[0]);
    if (root) return { contents: { kind: 'markdown', value: `\`${root.name}\`: ${root.detail}\n\n${root.doc ?? ''}` }, range };
    return undefined;
  }
  const fn = JMESPATH_FUNCTIONS.get(last);
  if (fn && followedByParen) {
    return { contents: { kind: 'markdown', value: `\`${fn.signature}\`\n\n${fn.description}${fn.kyverno ? '\n\n_Kyverno function_' : ''}` }, range };
  }
  const root = TEMPLATE_ROOTS.find((x) => x.name === w.word.split('.')[0]);
  if (root) return { contents: { kind: 'markdown', value: `\`${root.name}\`: ${root.detail}\n\n${root.doc ?? ''}` }, range };
  void value;
  void path;
  return undefined;
}

/** On `spec.rules[i].name`: what autogen makes of this rule. */
function ruleHover(value: unknown, path: JsonPath): string | undefined {
  if (path.length !== 4 || path[0] !== 'spec' || path[1] !== 'rules' || path[3] !== 'name') return undefined;
  const v = value as { apiVersion?: string; kind?: string; spec?: { rules?: Array<{ name?: string }> } };
  if (!v?.apiVersion?.startsWith('kyverno.io/')) return undefined;
  const name = v.spec?.rules?.[path[2] as number]?.name;
  if (typeof name !== 'string') return undefined;
  try {
    const d = describeAutogen(value as JsonObject, name);
    if (!d.rules.length) return `**Autogen:** none${d.reason ? ` (${d.reason})` : ''}.`;
    return `**Autogen rules:**\n\n${d.rules.map((r) => `- \`${r.name}\` → ${r.kinds.join(', ')}`).join('\n')}`;
  } catch {
    return undefined;
  }
}
