/**
 * Sorts the documents of one YAML file into policies, exceptions, tests and resources, with
 * where each came from. Pure (no vscode), so the commands, the CodeLens and the scaffolder
 * share one reading of a file.
 */
import type { JsonObject } from '../../../engine/core/types';
import { classifyDocument, documentValue, isObject, parseYamlText, type YamlText } from '../../../engine/loader';
import { isMap, isScalar, isSeq } from 'yaml';
import type { ResourceLocation, TextSpan } from '../yaml/locate';

export interface LocatedObject {
  value: JsonObject;
  location: ResourceLocation;
}

export interface FileContents {
  policies: LocatedObject[];
  exceptions: LocatedObject[];
  /** Admission policy bindings (the policies they name look them up in the offline cluster). */
  bindings: LocatedObject[];
  resources: LocatedObject[];
  tests: LocatedObject[];
  /** YAML errors, as `line:col message`. */
  errors: string[];
}

export function readFileContents(text: string): FileContents {
  const out: FileContents = { policies: [], exceptions: [], bindings: [], resources: [], tests: [], errors: [] };
  let parsed: YamlText;
  try {
    parsed = parseYamlText(text);
  } catch (e) {
    out.errors.push((e as Error).message);
    return out;
  }
  if (parsed.overLimit) out.errors.push(parsed.overLimit);
  parsed.docs.forEach((doc, docIndex) => {
    if (doc.errors.length > 0) {
      out.errors.push(...doc.errors.map((e) => `${e.pos ? `${parsed.lines.linePos(e.pos[0]).line}:${parsed.lines.linePos(e.pos[0]).col} ` : ''}${e.message.split('\n')[0]}`));
      return;
    }
    const got = documentValue(doc);
    if ('error' in got) {
      out.errors.push(got.error);
      return;
    }
    const value = got.value;
    if (!isObject(value)) return;
    const items: Array<{ v: unknown; itemPath: Array<string | number> }> =
      typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items) ? value.items.map((v, i) => ({ v, itemPath: ['items', i] })) : [{ v: value, itemPath: [] }];
    for (const { v, itemPath } of items) {
      if (!isObject(v)) continue;
      const cls = classifyDocument(v);
      const located = { value: v as JsonObject, location: { docIndex, itemPath } };
      if (cls === 'policy') out.policies.push(located);
      else if (cls === 'exception') out.exceptions.push(located);
      else if (cls === 'binding') out.bindings.push(located);
      else if (cls === 'test') out.tests.push(located);
      else if (cls === 'resource') out.resources.push(located);
    }
  });
  return out;
}

export function objectName(o: JsonObject): string {
  const meta = isObject(o.metadata) ? o.metadata : {};
  return typeof meta.name === 'string' ? meta.name : '';
}

export function objectNamespace(o: JsonObject): string | undefined {
  const meta = isObject(o.metadata) ? o.metadata : {};
  return typeof meta.namespace === 'string' && meta.namespace ? meta.namespace : undefined;
}

/** `Kind namespace/name` as shown to the user. */
export function describeObject(o: JsonObject): string {
  const ns = objectNamespace(o);
  return `${String(o.kind ?? '?')} ${ns ? `${ns}/` : ''}${objectName(o) || '(unnamed)'}`;
}

/** A rule of a policy, or the whole policy for CEL kinds (they have no rules). */
export interface RuleAnchor {
  policyName: string;
  /** Undefined for a CEL policy: the anchor runs the whole policy. */
  ruleName?: string;
  docIndex: number;
  span: TextSpan;
}

/** Where each rule's `name` (or each CEL policy's `kind`) is, for CodeLenses. */
export function ruleAnchors(text: string): RuleAnchor[] {
  const anchors: RuleAnchor[] = [];
  parseYamlText(text).docs.forEach((doc, docIndex) => {
    const root = doc.contents;
    if (!isMap(root)) return;
    const got = documentValue(doc);
    if (!('value' in got)) return;
    const value = got.value;
    if (!isObject(value) || classifyDocument(value) !== 'policy') return;
    const policyName = objectName(value as JsonObject);
    const spec = root.get('spec', true);
    const rules = isMap(spec) ? spec.get('rules', true) : undefined;
    if (String(value.apiVersion).startsWith('kyverno.io/') && isSeq(rules)) {
      for (const rule of rules.items) {
        if (!isMap(rule)) continue;
        const pair = rule.items.find((p) => isScalar(p.key) && p.key.value === 'name');
        const name = pair && isScalar(pair.value) ? String(pair.value.value) : undefined;
        const range = (pair?.key as { range?: [number, number, number] } | undefined)?.range ?? rule.range;
        if (name && range) anchors.push({ policyName, ruleName: name, docIndex, span: { start: range[0], end: range[1] } });
      }
      return;
    }
    const kindPair = root.items.find((p) => isScalar(p.key) && p.key.value === 'kind');
    const range = (kindPair?.key as { range?: [number, number, number] } | undefined)?.range ?? root.range;
    if (range) anchors.push({ policyName, docIndex, span: { start: range[0], end: range[1] } });
  });
  return anchors;
}

/** The policy restricted to one rule (autogen variants of it still run). */
export function policyWithOnlyRule(policy: JsonObject, ruleName: string): JsonObject {
  const spec = isObject(policy.spec) ? policy.spec : {};
  const rules = Array.isArray(spec.rules) ? spec.rules.filter((r) => isObject(r) && r.name === ruleName) : [];
  return { ...policy, spec: { ...spec, rules } };
}
