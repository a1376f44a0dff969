/**
 * What Kyverno's policy validation rejects beyond the CRD schema: duplicate rule names,
 * several validation styles in one rule, bad anchors, bad `{{ }}` JMESPath, CEL errors,
 * invalid podSecurity blocks, request variables in background policies, and autogen
 * pitfalls (informational).
 */
import type { Node as YamlNode, Pair, Scalar } from 'yaml';
import { isMap, isSeq, isScalar } from 'yaml';
import type { ParsedFile, ParsedDocument, JsonPath } from './documents';
import { findPath, nodeRange, rangeOf, rangeForPath } from './documents';
import { Codes, Severity, diag, withoutRepeats, type Diagnostic } from './codes';
import { runCheck, type CheckLog } from './guard';
import { findVariables, checkJmespath, checkCel, celPolicyContext, type CelContext } from './expressions';
import { checkPatternAnchors, parseAnchor, type AnchorContext } from '../../../engine/anchor';
import { POD_CONTROLLERS, autogenSetting, describeAutogenRule, type AutogenDescription, type AutogenSetting } from '../../../engine/autogen';
import { podSecurityRuleProblems } from '../../../engine/pss';
import type { JsonObject } from '../../../engine/core/types';
import { asArray, asObject } from '../../../engine/core/json';
import { matchResourceDescriptions } from '../../../engine/policy';
import { BUILTIN_SCHEMAS, walk, type MatchedSchemas, type ResourceSchemas } from './resource-schema';
import { objectPaths, type Dialect } from './expression-paths';
import { classicCelTypeCheck, gvkString, objectTypesWith, type CelTypeCheckResult } from '../../../engine/cel/type-check';

const CLASSIC_KINDS = new Set(['ClusterPolicy', 'Policy']);
const VALIDATION_STYLES = ['pattern', 'anyPattern', 'deny', 'foreach', 'podSecurity', 'cel', 'assert', 'manifests'];
const RULE_TYPES = ['validate', 'mutate', 'generate', 'verifyImages'];
// Variables that only exist in an admission request; Kyverno refuses them in background policies.
const USER_VARIABLES = /(?<![\w.$])(request\.userInfo|request\.roles|request\.clusterRoles|serviceAccountName|serviceAccountNamespace)\b/;
const CEL_KEYS = new Set(['expression', 'messageExpression', 'valueExpression']);

export function isClassicPolicy(pd: ParsedDocument): boolean {
  return pd.apiVersion?.startsWith('kyverno.io/') === true && CLASSIC_KINDS.has(pd.kind ?? '');
}

export function isCelPolicyDoc(pd: ParsedDocument): boolean {
  return pd.apiVersion?.startsWith('policies.kyverno.io/') === true && pd.kind !== 'PolicyException';
}

export function checkKyvernoDocument(file: ParsedFile, pd: ParsedDocument, log?: CheckLog, schemas: ResourceSchemas = BUILTIN_SCHEMAS): Diagnostic[] {
  const out: Diagnostic[] = [];
  if (isClassicPolicy(pd)) checkClassic(file, pd, out, log, schemas);
  else if (isCelPolicyDoc(pd)) {
    const spec = findPath(pd.doc, ['spec']);
    const context = celPolicyContext(pd.value);
    const matched = once(() => schemas.matched(pd.value, ['spec']));
    if (spec.found) visitStrings(spec.value ?? null, ['spec'], (node, path, isKey) => {
      if (!isKey && CEL_KEYS.has(String(path[path.length - 1]))) {
        celDiagnostics(file, node, out, context);
        unknownFieldDiagnostics(file, node, String(node.value), 0, 'cel', matched, out);
      }
    });
  }
  return out;
}

function once<T>(fn: () => T): () => T {
  let value: { v: T } | undefined;
  return () => (value ??= { v: fn() }).v;
}

/**
 * Fields that no kind the rule matches has, in paths into the object. Only certain cases: every
 * matched kind is known and closed along the path (see resource-schema.ts `walk`).
 */
function unknownFieldDiagnostics(file: ParsedFile, node: Scalar, text: string, base: number, dialect: Dialect, matched: () => MatchedSchemas, out: Diagnostic[]): void {
  if (dialect === 'cel' ? !/\b(?:object|oldObject)\b/.test(text) : !/\brequest\.(?:object|oldObject)\b/.test(text)) return;
  const m = matched();
  if (!m.complete) return;
  for (const p of objectPaths(text, dialect)) {
    const r = walk(m, p.segments.map((s) => s.step));
    if (r.ok) continue;
    const seg = p.segments[r.at];
    if (seg.offset < p.start) continue; // reported where the macro's list was written
    const needle = text.slice(seg.offset, seg.offset + seg.length);
    const start = sourceOffset(file, node, base + seg.offset, needle);
    const range = start === undefined ? nodeRange(file, node) : rangeOf(file, start, start + seg.length);
    out.push(diag(range, Severity.Warning, Codes.unknownObjectField, `Unknown field '${r.field}': ${m.kinds.join(', ')} ${m.kinds.length > 1 ? 'have' : 'has'} no such field here.`));
  }
}

/**
 * What Kyverno's type check finds when the policy is admitted (engine/cel/type-check), by the
 * expression's path joined with `/`. Empty when the rule could not be a ValidatingAdmissionPolicy,
 * or when building one fails (KS1213 says why).
 */
function typeCheckedExpressions(policy: JsonObject, schemas: ResourceSchemas): Map<string, CelTypeCheckResult> {
  const out = new Map<string, CelTypeCheckResult>();
  // The workspace's CRDs stand for the cluster's: their kinds resolve and their schemas type `object`.
  const checked = classicCelTypeCheck(policy, schemas.findResources, objectTypesWith(schemas.customResources()));
  for (const r of checked && 'results' in checked ? checked.results : []) out.set(['spec', 'rules', 0, 'validate', 'cel', 'expressions', r.index, r.key].join('/'), r);
  return out;
}

/** Kyverno's type-check warnings at the fields they name: one per place, with every kind that lacks the field. */
function typeCheckDiagnostics(file: ParsedFile, node: Scalar, checked: CelTypeCheckResult | undefined, out: Diagnostic[]): void {
  if (!checked) return;
  const text = String(node.value);
  const places = new Map<number, { field: string; length: number; kinds: string[] }>();
  for (const { gvk, issues } of checked.byKind) {
    for (const issue of issues) {
      const place = places.get(issue.fieldOffset) ?? { field: issue.field, length: issue.fieldLength, kinds: [] };
      place.kinds.push(gvkString(gvk));
      places.set(issue.fieldOffset, place);
    }
  }
  for (const [offset, place] of places) {
    const start = sourceOffset(file, node, offset, text.slice(offset, offset + place.length));
    const range = start === undefined ? nodeRange(file, node) : rangeOf(file, start, start + place.length);
    out.push(diag(range, Severity.Warning, Codes.celTypeCheck, `undefined field '${place.field}' (${place.kinds.join('; ')}): Kyverno warns when the policy is admitted (its CEL type check).`));
  }
}

function checkClassic(file: ParsedFile, pd: ParsedDocument, out: Diagnostic[], log?: CheckLog, schemas: ResourceSchemas = BUILTIN_SCHEMAS): void {
  const value = pd.value as { spec?: { background?: unknown; rules?: unknown[] } };
  const background = value?.spec?.background !== false;
  const rulesNode = findPath(pd.doc, ['spec', 'rules']).value;
  if (!isSeq(rulesNode)) return;
  const names = new Map<string, number>();
  let setting: AutogenSetting | undefined;
  // The policy-wide part once per validation, on the first Pod rule; rules come from the cache.
  const describe = (rule: Record<string, unknown>) => describeAutogenCached(rule, (setting ??= autogenSetting(pd.value as JsonObject)));
  const typeChecked = once(() => typeCheckedExpressions(pd.value as JsonObject, schemas));
  rulesNode.items.forEach((ruleNode, i) => {
    if (!isMap(ruleNode)) return;
    const base: JsonPath = ['spec', 'rules', i];
    const rule = asRecord(asList(value.spec?.rules)[i]);
    // Each check of a rule on its own: one that fails leaves the others' diagnostics in place.
    const guard = (what: string, check: () => void) => runCheck(file, ruleNode.range?.[0] ?? pd.start, `${what} of spec.rules[${i}]`, out, check, log);
    guard('the rule structure check', () => checkRuleStructure(file, ruleNode, rule, i, names, out));
    guard('the anchor check', () => checkAnchors(file, pd, base, rule, out));
    guard('the podSecurity check', () => checkPodSecurity(file, pd, base, rule, out));
    const matched = once(() => schemas.matched(pd.value, base));
    guard('the expression checks', () => visitStrings(ruleNode, base, (node, path, isKey) => {
      variableDiagnostics(file, node, background, out, matched);
      if (!isKey && isCelPathInClassic(path) && CEL_KEYS.has(String(path[path.length - 1]))) {
        celDiagnostics(file, node, out);
        // Where Kyverno type-checks the expression, its findings stand for the lexical check's
        // at the same field (which stays for what the type check does not type).
        const typed: Diagnostic[] = [];
        typeCheckDiagnostics(file, node, typeChecked().get(path.join('/')), typed);
        const lexical: Diagnostic[] = [];
        unknownFieldDiagnostics(file, node, String(node.value), 0, 'cel', matched, lexical);
        out.push(...typed, ...withoutRepeats(lexical, typed));
      }
    }));
    if (background) guard('the background check', () => checkBackgroundMatch(file, ruleNode, typeof rule.name === 'string' ? rule.name : undefined, out));
    guard('the autogen check', () => autogenHints(file, pd, ruleNode, rule, () => describe(rule), out));
  });
}

/** Duplicate names, the one operation per rule, the one validation style per validate. */
function checkRuleStructure(file: ParsedFile, ruleNode: YamlNode, rule: Record<string, unknown>, i: number, names: Map<string, number>, out: Diagnostic[]): void {
  const nameNode = pairValue(ruleNode, 'name');
  const name = typeof rule.name === 'string' ? rule.name : undefined;
  if (name !== undefined) {
    if (names.has(name)) out.push(diag(nodeRange(file, nameNode), Severity.Error, Codes.duplicateRule, `Duplicate rule name '${name}' (first used by rule ${names.get(name)! + 1}).`));
    else names.set(name, i);
  }
  const ops = RULE_TYPES.filter((t) => rule[t] !== undefined && rule[t] !== null);
  if (ops.length === 0) {
    out.push(diag(nodeRange(file, nameNode ?? ruleNode), Severity.Error, Codes.emptyRule, `Rule '${name ?? i}' defines no operation (one of ${RULE_TYPES.join(', ')} is required).`));
  } else if (ops.length > 1) {
    for (const op of ops.slice(1)) out.push(diag(nodeRange(file, pairKey(ruleNode, op)), Severity.Error, Codes.emptyRule, `Rule '${name ?? i}' defines several operations (${ops.join(', ')}); Kyverno allows one per rule.`));
  }
  const validate = rule.validate as Record<string, unknown> | undefined;
  if (validate && typeof validate === 'object') {
    const styles = VALIDATION_STYLES.filter((s) => validate[s] !== undefined && validate[s] !== null);
    const validateNode = pairValue(ruleNode, 'validate');
    if (styles.length > 1 && isMap(validateNode)) {
      for (const s of styles.slice(1)) {
        out.push(diag(nodeRange(file, pairKey(validateNode, s)), Severity.Error, Codes.multipleValidations,
          `Only one of ${VALIDATION_STYLES.join(', ')} may be set in a validate rule; found ${styles.join(' and ')}.`));
      }
    }
    if (styles.length === 0 && isMap(validateNode)) {
      out.push(diag(nodeRange(file, pairKey(ruleNode, 'validate')), Severity.Error, Codes.multipleValidations,
        `A validate rule needs one of ${VALIDATION_STYLES.join(', ')}.`));
    }
  }
}

function isCelPathInClassic(path: JsonPath): boolean {
  return path.includes('cel') || path.includes('celPreconditions');
}

function pairOf(map: YamlNode, key: string): Pair<YamlNode, YamlNode> | undefined {
  if (!isMap(map)) return undefined;
  return (map.items as Pair<YamlNode, YamlNode>[]).find((p) => isScalar(p.key) && String(p.key.value) === key);
}
function pairValue(map: YamlNode, key: string): YamlNode | undefined {
  return pairOf(map, key)?.value ?? undefined;
}
function pairKey(map: YamlNode, key: string): YamlNode | undefined {
  return pairOf(map, key)?.key ?? undefined;
}

/**
 * Calls back for every string scalar (keys included) under node, with its JSON path. The
 * path array is shared and mutated during the walk: callbacks copy it if they keep it.
 */
export function visitStrings(node: YamlNode | null, path: JsonPath, cb: (n: Scalar, path: JsonPath, isKey: boolean) => void, depth = 0): void {
  if (!node || depth > 100) return;
  if (isMap(node)) {
    for (const p of node.items as Pair<YamlNode, YamlNode>[]) {
      const key = isScalar(p.key) ? String(p.key.value) : '';
      path.push(key);
      if (isScalar(p.key) && typeof p.key.value === 'string') cb(p.key, path, true);
      visitStrings(p.value ?? null, path, cb, depth + 1);
      path.pop();
    }
  } else if (isSeq(node)) {
    node.items.forEach((it, i) => {
      path.push(i);
      visitStrings(it as YamlNode, path, cb, depth + 1);
      path.pop();
    });
  } else if (isScalar(node) && typeof node.value === 'string') {
    cb(node, path, false);
  }
}

/** Source offset of a substring of a scalar's value (exact for plain scalars, best effort otherwise). */
function sourceOffset(file: ParsedFile, node: Scalar, valueOffset: number, needle: string): number | undefined {
  const [s, e] = node.range ?? [0, 0];
  const src = file.text.slice(s, e);
  if (src === node.value) return s + valueOffset;
  const at = src.indexOf(needle);
  return at >= 0 ? s + at : undefined;
}

function variableDiagnostics(file: ParsedFile, node: Scalar, background: boolean, out: Diagnostic[], matched: () => MatchedSchemas): void {
  const text = String(node.value);
  for (const v of findVariables(text)) {
    unknownFieldDiagnostics(file, node, v.expression, v.exprStart, 'jmespath', matched, out);
    const varStart = sourceOffset(file, node, v.start, text.slice(v.start, v.end));
    const at = (offset: number, length: number) =>
      varStart === undefined ? nodeRange(file, node) : rangeOf(file, varStart + 2 + offset, varStart + 2 + offset + length);
    for (const p of checkJmespath(v.expression)) {
      const code = p.kind === 'unknown-function' ? Codes.unknownFunction : p.kind === 'arity' ? Codes.functionArity : Codes.jmespathSyntax;
      out.push(diag(at(p.offset, p.length), Severity.Error, code, p.message));
    }
    const m = background ? USER_VARIABLES.exec(v.expression) : null;
    if (m) {
      out.push(diag(at(m.index, m[0].length), Severity.Error, Codes.backgroundRequestVar,
        `'${m[1]}' is only available in admission requests; Kyverno rejects it in background mode. Set spec.background: false.`));
    }
  }
}

function celDiagnostics(file: ParsedFile, node: Scalar, out: Diagnostic[], context?: CelContext): void {
  const text = String(node.value);
  for (const p of checkCel(text, context)) {
    const start = sourceOffset(file, node, p.offset, text.slice(p.offset, p.offset + p.length));
    const range = start === undefined ? nodeRange(file, node) : rangeOf(file, start, start + Math.max(1, p.length));
    out.push(diag(range, p.kind === 'cel' ? Severity.Error : Severity.Warning, Codes.celError, p.message));
  }
}

function checkBackgroundMatch(file: ParsedFile, ruleNode: YamlNode, name: string | undefined, out: Diagnostic[]): void {
  for (const block of ['match', 'exclude']) {
    const m = pairValue(ruleNode, block);
    if (!m) continue;
    const filters: YamlNode[] = [m];
    for (const k of ['any', 'all']) {
      const list = pairValue(m, k);
      if (isSeq(list)) filters.push(...(list.items as YamlNode[]));
    }
    for (const f of filters) {
      for (const k of ['roles', 'clusterRoles', 'subjects']) {
        const key = pairKey(f, k);
        if (key) out.push(diag(nodeRange(file, key), Severity.Error, Codes.backgroundRequestVar,
          `Rule '${name ?? ''}' ${block}es on '${k}', which background scans cannot know; set spec.background: false.`));
      }
    }
  }
}

/**
 * Anchor problems in the rule's patterns (engine checkPatternAnchors). Kyverno rejects
 * unsupported and empty-existence anchors (Error); a key that merely looks like a broken
 * anchor is a plain field name to Kyverno, almost always a typo (Warning).
 */
function checkAnchors(file: ParsedFile, pd: ParsedDocument, base: JsonPath, rule: Record<string, unknown>, out: Diagnostic[]): void {
  const scan = (pattern: unknown, path: JsonPath, context: AnchorContext) => {
    if (pattern === undefined || pattern === null) return;
    for (const issue of checkPatternAnchors(pattern, context)) {
      const key = String(issue.path[issue.path.length - 1]);
      const severity = parseAnchor(key) ? Severity.Error : Severity.Warning;
      out.push(diag(rangeForPath(file, pd, [...base, ...path, ...issue.path], 'key'), severity, Codes.invalidAnchor, `Anchor: ${issue.message}`));
    }
  };
  const validate = asRecord(rule.validate);
  scan(validate.pattern, ['validate', 'pattern'], 'validate');
  scan(validate.anyPattern, ['validate', 'anyPattern'], 'validate');
  asList(validate.foreach).forEach((it, i) => {
    scan(asRecord(it).pattern, ['validate', 'foreach', i, 'pattern'], 'validate');
    scan(asRecord(it).anyPattern, ['validate', 'foreach', i, 'anyPattern'], 'validate');
  });
  const mutate = asRecord(rule.mutate);
  scan(mutate.patchStrategicMerge, ['mutate', 'patchStrategicMerge'], 'mutate');
  asList(mutate.foreach).forEach((it, i) => scan(asRecord(it).patchStrategicMerge, ['mutate', 'foreach', i, 'patchStrategicMerge'], 'mutate'));
}

const asRecord = asObject;
const asList = asArray;

/**
 * What Kyverno's admission rejects in a validate.podSecurity block (the engine's one check,
 * also part of the admission verdict, whose KS1213 at the same place is then not repeated).
 */
function checkPodSecurity(file: ParsedFile, pd: ParsedDocument, base: JsonPath, rule: Record<string, unknown>, out: Diagnostic[]): void {
  for (const p of podSecurityRuleProblems(base, asRecord(rule.validate).podSecurity)) {
    out.push(diag(rangeForPath(file, pd, [...p.path]), Severity.Error, Codes.podSecurity, p.message));
  }
}

// A rule's autogen depends only on the rule and the policy-wide setting: an edit recomputes
// the rules it touched.
const autogenCache = new Map<string, AutogenDescription | undefined>();

// The incremental re-parse shares untouched rule objects between versions (parsed values are
// immutable), so most rules are found by identity without serialising them.
const autogenByRule = new WeakMap<object, Map<string, AutogenDescription | undefined>>();

function describeAutogenCached(rule: Record<string, unknown>, setting: AutogenSetting): AutogenDescription | undefined {
  const settingKey = `${setting.requested}\u0000${setting.support.reason ?? ''}`;
  let known = autogenByRule.get(rule);
  if (known?.has(settingKey)) return known.get(settingKey);
  if (!known) autogenByRule.set(rule, (known = new Map()));
  const d = describeAutogenByText(rule, setting, settingKey);
  known.set(settingKey, d);
  return d;
}

function describeAutogenByText(rule: Record<string, unknown>, setting: AutogenSetting, settingKey: string): AutogenDescription | undefined {
  const key = `${settingKey}\u0000${JSON.stringify(rule)}`;
  if (autogenCache.has(key)) return autogenCache.get(key);
  let d: AutogenDescription | undefined;
  try {
    d = describeAutogenRule(rule as JsonObject, setting);
  } catch {
    d = undefined;
  }
  if (autogenCache.size > 5000) autogenCache.clear();
  autogenCache.set(key, d);
  return d;
}

/** A Pod rule that yields no autogen rules leaves pods created by controllers to Pod admission. */
function autogenHints(file: ParsedFile, pd: ParsedDocument, ruleNode: YamlNode, rule: Record<string, unknown>, describe: () => AutogenDescription | undefined, out: Diagnostic[]): void {
  const policy = asRecord(pd.value);
  const annotations = asRecord(asRecord(policy.metadata).annotations);
  if (annotations['pod-policies.kyverno.io/autogen-controllers'] === 'none') return;
  // Wrong-typed blocks (a scalar `kinds`, a mapping `any`) read as empty: the schema reports them.
  const matchesPod = matchResourceDescriptions(rule as JsonObject).some((r) => asArray(r.kinds).some((k) => k === 'Pod' || k === 'v1/Pod' || k === '*/Pod'));
  if (!matchesPod || typeof rule.name !== 'string') return;
  const d = describe();
  if (!d || d.rules.length) return;
  const reason = d.reason ?? 'Kyverno does not auto-generate rules for it';
  const key = pairKey(ruleNode, 'match') ?? ruleNode;
  out.push(diag(nodeRange(file, key), Severity.Information, Codes.autogenPitfall,
    `No autogen rules for Pod controllers (${POD_CONTROLLERS.join(', ')}): ${reason}. Pods created by controllers are only checked at Pod admission.`));
}
