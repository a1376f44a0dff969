/**
 * Completion: schema keys and enum values, rule and policy snippets, kinds in `match`,
 * `{{ }}` variables and functions, anchors in patterns, CEL variables and functions.
 * Items use LSP's CompletionItem shape.
 */
import type { ParsedFile, Range, JsonPath } from './documents';
import { documentAt, nodeAt, rangeOf, isScalar, findPath } from './documents';
import { lineContext } from './line-context';
import { schemaFor, documentedSchema, subSchema, propertiesOf, type JsonSchema } from './schemas';
import { RULE_SNIPPETS, DOCUMENT_SNIPPETS, snippetText } from './snippets';
import { knownKinds, JMESPATH_FUNCTIONS, ANCHOR_DOCS, REQUEST_FIELDS, TEMPLATE_ROOTS, CEL_ROOTS, CEL_FUNCTIONS, CEL_OBJECT_FIELDS, type NamedDoc } from './vocabulary';
import { isClassicPolicy, isCelPolicyDoc } from './kyverno-checks';
import { BUILTIN_SCHEMAS, walk, fieldsOf, typeLabel, type MatchedSchemas, type PathStep, type ResourceSchemas } from './resource-schema';
import { pathBeingTyped, type Dialect } from './expression-paths';

export const ItemKind = { Function: 3, Field: 5, Variable: 6, Class: 7, Property: 10, Value: 12, Snippet: 15, EnumMember: 20 } as const;

export interface CompletionItem {
  label: string;
  kind: number;
  detail?: string;
  documentation?: { kind: 'markdown'; value: string };
  insertText?: string;
  /** 2 = snippet. */
  insertTextFormat?: 1 | 2;
  textEdit?: { range: Range; newText: string };
  sortText?: string;
  filterText?: string;
  /** 2 = adjustIndentation: continuation lines get the current line's indentation. */
  insertTextMode?: 1 | 2;
}

export interface CompletionSettings {
  /** Kinds of CRDs found in the workspace, offered in `match`. */
  workspaceKinds?: string[];
  /** The shapes of the kinds a rule matches (built-in kinds and the workspace's CRDs). */
  resourceSchemas?: ResourceSchemas;
}

const CEL_KEYS = new Set(['expression', 'messageExpression', 'valueExpression']);
const PATTERN_KEYS = new Set(['pattern', 'anyPattern', 'patchStrategicMerge']);

export function complete(file: ParsedFile, offset: number, settings: CompletionSettings = {}): CompletionItem[] {
  if (file.tooLarge) return [];
  const lineStart = file.text.lastIndexOf('\n', offset - 1) + 1;
  const before = file.text.slice(lineStart, offset);
  const pd = documentAt(file, offset);
  const open = before.lastIndexOf('{{');
  const schemas = settings.resourceSchemas ?? BUILTIN_SCHEMAS;
  if (open >= 0 && open > before.lastIndexOf('}}')) return templateItems(file, offset, before.slice(open + 2), pd ? nodeAt(pd.doc, offset).path : [], schemas);
  if (pd) {
    const at = nodeAt(pd.doc, offset);
    const last = at.path[at.path.length - 1];
    const inCel = !at.onKey && isScalar(at.node) && typeof last === 'string' && CEL_KEYS.has(last) &&
      (isCelPolicyDoc(pd) || (isClassicPolicy(pd) && (at.path.includes('cel') || at.path.includes('celPreconditions'))));
    if (inCel) return celItems(file, offset, before, pd.value, expressionSource(file, at.node, offset), () => schemas.matched(pd.value, at.path));
  }
  const ctx = lineContext(file.text, offset);
  const replace = rangeOf(file, offset - ctx.prefix.length, offset);
  const entry = pd ? schemaFor(pd.apiVersion, pd.kind, file.uri, pd.value) : undefined;
  const items: CompletionItem[] = [];
  if (!entry) {
    if (ctx.path.length === 0 && ctx.position === 'key') {
      for (const s of DOCUMENT_SNIPPETS) items.push(snippetItem(s.label, s.detail, snippetText(s, 0), replace));
    }
    return items;
  }
  const root = documentedSchema(entry);
  const isRuleList = ctx.path.length >= 3 && ctx.path[ctx.path.length - 1] === '[]' && ctx.path[ctx.path.length - 2] === 'rules' && ctx.path.length === 3;
  if (isRuleList && ctx.onItemLine && ctx.position !== 'value' && isClassicPolicy(pd!)) {
    const lineIndent = /^\s*/.exec(before)![0].length;
    for (const s of RULE_SNIPPETS) items.push(snippetItem(s.label, s.detail, snippetText(s, ctx.column - lineIndent), replace));
  }
  if (ctx.position === 'value') {
    const schema = subSchema(root, ctx.path);
    const key = ctx.key ?? '';
    if (schema?.enum) for (const v of schema.enum) items.push(valueItem(String(v), replace, schema.description));
    else if (schemaType(schema).includes('boolean')) for (const v of ['true', 'false']) items.push(valueItem(v, replace));
    if (key === 'kinds' || ctx.path[ctx.path.length - 2] === 'kinds') items.push(...kindItems(settings, replace));
    return items;
  }
  const parentPath = ctx.path;
  if (parentPath[parentPath.length - 2] === 'kinds' && parentPath[parentPath.length - 1] === '[]') return kindItems(settings, replace);
  const schema = subSchema(root, parentPath);
  if (schema) {
    const existing = siblingKeys(pd!, parentPath, offset);
    for (const [name, prop] of Object.entries(propertiesOf(schema))) {
      if (existing.has(name)) continue;
      items.push(keyItem(name, prop, replace));
    }
  }
  if (parentPath.some((p) => PATTERN_KEYS.has(p))) {
    const mutate = parentPath.includes('patchStrategicMerge');
    for (const [modifier, doc] of Object.entries(ANCHOR_DOCS)) {
      if (modifier === '+' && !mutate) continue; // add-if-not-present only exists in mutate patterns
      const prefix = `${modifier}(`;
      items.push({
        label: `${prefix}key)`,
        kind: ItemKind.Snippet,
        detail: 'anchor',
        documentation: { kind: 'markdown', value: doc },
        insertTextFormat: 2,
        textEdit: { range: replace, newText: `${prefix}\${1:key}): $0` },
        sortText: 'z' + prefix,
      });
    }
  }
  return items;
}

/** Keys already present in the map being completed (AST of the current document). */
function siblingKeys(pd: NonNullable<ReturnType<typeof documentAt>>, path: string[], offset: number): Set<string> {
  const out = new Set<string>();
  const at = nodeAt(pd.doc, offset);
  const concrete: JsonPath = [];
  let ok = true;
  path.forEach((p, i) => {
    if (p === '[]') {
      const idx = at.path[i];
      if (typeof idx === 'number') concrete.push(idx);
      else ok = false;
    } else concrete.push(p);
  });
  if (!ok) return out;
  const t = findPath(pd.doc, concrete);
  const v = t.found ? t.value : null;
  if (v && 'items' in v && Array.isArray((v as { items: unknown[] }).items)) {
    for (const it of (v as { items: Array<{ key?: unknown }> }).items) {
      const k = it?.key;
      if (isScalar(k)) out.add(String(k.value));
    }
  }
  return out;
}

function schemaType(s: JsonSchema | undefined): string[] {
  if (!s?.type) return [];
  return Array.isArray(s.type) ? s.type : [s.type];
}

function md(value: string | undefined): CompletionItem['documentation'] {
  return value ? { kind: 'markdown', value } : undefined;
}

function keyItem(name: string, prop: JsonSchema, range: Range): CompletionItem {
  const t = schemaType(prop);
  const newText = t.includes('object') ? `${name}:\n  $0` : t.includes('array') ? `${name}:\n- $0` : `${name}: $0`;
  return { label: name, kind: ItemKind.Property, detail: t.join('|') || undefined, documentation: md(prop.description), insertTextFormat: 2, textEdit: { range, newText } };
}

function valueItem(v: string, range: Range, doc?: string): CompletionItem {
  return { label: v, kind: ItemKind.EnumMember, documentation: md(doc), textEdit: { range, newText: v } };
}

function snippetItem(label: string, detail: string, body: string, range: Range): CompletionItem {
  return { label, kind: ItemKind.Snippet, detail, insertTextFormat: 2, insertTextMode: 2, textEdit: { range, newText: body }, sortText: '0' + label };
}

function kindItems(settings: CompletionSettings, range: Range): CompletionItem[] {
  const kinds = new Set([...knownKinds(), ...(settings.workspaceKinds ?? [])]);
  return [...kinds].map((k) => ({ label: k, kind: ItemKind.Class, textEdit: { range, newText: k } }));
}

function namedItems(list: NamedDoc[], kind: number, range: Range): CompletionItem[] {
  return list.map((d) => ({ label: d.name, kind, detail: d.detail, documentation: md(d.doc), textEdit: { range, newText: d.name } }));
}

/** Context entry names visible at path: the rule's and its foreach's `context`. */
export function contextNames(value: unknown, path: JsonPath): string[] {
  const names: string[] = [];
  let cur: unknown = value;
  for (const step of path) {
    if (!cur || typeof cur !== 'object') break;
    const ctx = (cur as { context?: unknown }).context;
    if (Array.isArray(ctx)) for (const c of ctx) if (c && typeof c.name === 'string') names.push(c.name);
    cur = (cur as Record<string | number, unknown>)[step];
  }
  return names;
}

/** The source text of the expression scalar up to the cursor (without an opening quote). */
function expressionSource(file: ParsedFile, node: unknown, offset: number): string {
  const start = (node as { range?: [number, number] }).range?.[0] ?? offset;
  const quoted = file.text[start] === '"' || file.text[start] === "'";
  return file.text.slice(quoted ? start + 1 : start, offset);
}

/**
 * The fields of the matched kinds where a typed path into the object leads, or undefined
 * when the path leads nowhere known (the caller offers what it offered before).
 */
function objectFieldItems(file: ParsedFile, offset: number, text: string, dialect: Dialect, matched: () => MatchedSchemas): CompletionItem[] | undefined {
  const typed = pathBeingTyped(text, dialect);
  if (!typed) return undefined;
  return fieldItems(matched(), typed.steps, rangeOf(file, offset - typed.word.length, offset));
}

function fieldItems(matched: MatchedSchemas, steps: PathStep[], range: Range): CompletionItem[] | undefined {
  const r = walk(matched, steps);
  if (!r.ok) return undefined;
  const fields = fieldsOf(r.nodes);
  if (!fields.length) return undefined;
  return fields.map((f) => ({
    label: f.name,
    kind: ItemKind.Field,
    detail: typeLabel(f.node),
    documentation: md(f.doc),
    textEdit: { range, newText: f.name },
    sortText: '0' + f.name,
  }));
}

function templateItems(file: ParsedFile, offset: number, inside: string, path: JsonPath, schemas: ResourceSchemas): CompletionItem[] {
  const fields = objectFieldItems(file, offset, inside, 'jmespath', () => schemas.matched(documentAt(file, offset)?.value, path));
  if (fields) return fields;
  const token = /[\w.@]*$/.exec(inside)![0];
  const dot = token.lastIndexOf('.');
  const word = token.slice(dot + 1);
  const range = rangeOf(file, offset - word.length, offset);
  if (dot >= 0) {
    const head = token.slice(0, dot);
    if (head === 'request') return namedItems(REQUEST_FIELDS, ItemKind.Field, range);
    if (head === 'request.object' || head === 'request.oldObject') return namedItems(CEL_OBJECT_FIELDS, ItemKind.Field, range);
    return [];
  }
  const pd = documentAt(file, offset);
  const items = namedItems(TEMPLATE_ROOTS, ItemKind.Variable, range);
  for (const n of new Set(contextNames(pd?.value, path))) {
    items.push({ label: n, kind: ItemKind.Variable, detail: 'context entry', textEdit: { range, newText: n }, sortText: '0' + n });
  }
  for (const f of JMESPATH_FUNCTIONS.values()) {
    items.push({
      label: f.name,
      kind: ItemKind.Function,
      detail: f.signature,
      documentation: md(`${f.description}${f.kyverno ? '\n\n_Kyverno function_' : ''}`),
      insertTextFormat: 2,
      textEdit: { range, newText: f.maxArgs === 0 ? `${f.name}()` : `${f.name}($1)` },
      sortText: '1' + f.name,
    });
  }
  return items;
}

function celItems(file: ParsedFile, offset: number, before: string, value: unknown, source: string, matched: () => MatchedSchemas): CompletionItem[] {
  const fields = objectFieldItems(file, offset, source, 'cel', matched);
  if (fields) return fields;
  const token = /[\w.]*$/.exec(before)![0];
  const dot = token.lastIndexOf('.');
  const word = token.slice(dot + 1);
  const range = rangeOf(file, offset - word.length, offset);
  if (dot >= 0) {
    const head = token.slice(0, dot);
    if (head === 'variables') {
      const vars = ((value as { spec?: { variables?: Array<{ name?: string; expression?: string }> } })?.spec?.variables ?? []).filter((v) => typeof v?.name === 'string');
      return vars.map((v) => ({ label: v.name!, kind: ItemKind.Variable, detail: v.expression, textEdit: { range, newText: v.name! } }));
    }
    if (head === 'request') return namedItems(REQUEST_FIELDS, ItemKind.Field, range);
    if (head === 'object' || head === 'oldObject') return namedItems(CEL_OBJECT_FIELDS, ItemKind.Field, range);
    const methods = CEL_FUNCTIONS.filter((f) => !f.name.includes('.') || f.name.startsWith(head + '.'));
    return methods.map((f) => {
      const name = f.name.startsWith(head + '.') ? f.name.slice(head.length + 1) : f.name;
      return { label: name, kind: ItemKind.Function, detail: f.detail, documentation: md(f.doc), insertTextFormat: 2 as const, textEdit: { range, newText: `${name}${f.args ?? '($1)'}` } };
    });
  }
  return [
    ...namedItems(CEL_ROOTS, ItemKind.Variable, range),
    // Methods (`URL.getHost()`) only after a dot; global and namespaced functions here.
    ...CEL_FUNCTIONS.filter((f) => f.detail.startsWith(`${f.name}(`)).map((f) => ({ label: f.name, kind: ItemKind.Function, detail: f.detail, documentation: md(f.doc), insertTextFormat: 2 as const, textEdit: { range, newText: `${f.name}${f.args ?? '($1)'}` } })),
  ];
}

