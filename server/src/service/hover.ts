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
import { walk, typeLabel, BUILTIN_SCHEMAS, type ResourceSchemas } from './resource-schema';
import { pathAt, type Dialect } from './expression-paths';

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

export interface HoverSettings {
  /** The shapes of the kinds a rule matches (built-in kinds and the workspace's CRDs). */
  resourceSchemas?: ResourceSchemas;
}

export function hover(file: ParsedFile, offset: number, settings: HoverSettings = {}): Hover | undefined {
  const pd = documentAt(file, offset);
  if (!pd) return undefined;
  const at = nodeAt(pd.doc, offset);
  const node = at.node;
  if (!at.onKey && isScalar(node) && typeof node.value === 'string' && node.range) {
    const inside = expressionHover(file, pd.value, at.path, node.range[0], offset, isCelField(pd, at.path), settings.resourceSchemas ?? BUILTIN_SCHEMAS);
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

function expressionHover(file: ParsedFile, value: unknown, path: JsonPath, start: number, offset: number, cel: boolean, schemas: ResourceSchemas): Hover | undefined {
  const src = file.text.slice(start, Math.min(file.text.length, start + 100000));
  const rel = offset - start;
  if (!cel) {
    const v = findVariables(src).find((x) => rel >= x.exprStart && rel <= x.end - 2);
    if (!v) return undefined;
    const field = fieldHover(file, src.slice(v.exprStart, v.end - 2), start + v.exprStart, offset, 'jmespath', value, path, schemas);
    if (field) return field;
  } else {
    const quoted = src[0] === '"' || src[0] === "'";
    const field = fieldHover(file, quoted ? src.slice(1) : src, quoted ? start + 1 : start, offset, 'cel', value, path, schemas);
    if (field) return field;
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

/** On a field of a path into the object: its type and documentation in the matched kinds. */
function fieldHover(file: ParsedFile, text: string, base: number, offset: number, dialect: Dialect, value: unknown, path: JsonPath, schemas: ResourceSchemas): Hover | undefined {
  const at = pathAt(text, offset - base, dialect);
  if (!at) return undefined;
  const matched = schemas.matched(value, path);
  const r = walk(matched, at.steps);
  if (!r.ok || !r.fields.length) return undefined;
  const f = r.fields[0];
  const types = [...new Set(r.fields.map((x) => typeLabel(x.node)))].join(' | ');
  const where = matched.kinds.length ? `\n\n_In ${matched.kinds.join(', ')}_` : '';
  return {
    contents: { kind: 'markdown', value: `**${f.name}** \`${types}\`${f.doc ? `\n\n${f.doc}` : ''}${where}` },
    range: rangeOf(file, base + at.segment.offset, base + at.segment.offset + at.segment.length),
  };
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
