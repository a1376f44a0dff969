/**
 * What Kyverno's policy validation rejects beyond the CRD schema: duplicate rule names,
 * several validation styles in one rule, bad anchors, bad `{{ }}` JMESPath, CEL errors,
 * request variables in background policies, and autogen pitfalls (informational).
 */
import type { Node as YamlNode, Pair, Scalar } from 'yaml';
import { isMap, isSeq, isScalar } from 'yaml';
import type { ParsedFile, ParsedDocument, JsonPath } from './documents';
import { findPath, nodeRange, rangeOf } from './documents';
import { Codes, Severity, diag, type Diagnostic } from './codes';
import { findVariables, checkJmespath, checkCel } from './expressions';
import { checkAnchorKey } from './anchors';
import { engineExport } from './engine-adapter';

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

export function checkKyvernoDocument(file: ParsedFile, pd: ParsedDocument): Diagnostic[] {
  const out: Diagnostic[] = [];
  if (isClassicPolicy(pd)) checkClassic(file, pd, out);
  else if (isCelPolicyDoc(pd)) {
    const spec = findPath(pd.doc, ['spec']);
    if (spec.found) visitStrings(spec.value ?? null, ['spec'], (node, path, isKey) => {
      if (!isKey && CEL_KEYS.has(String(path[path.length - 1]))) celDiagnostics(file, node, out, celContext(pd.kind));
    });
  }
  return out;
}

function checkClassic(file: ParsedFile, pd: ParsedDocument, out: Diagnostic[]): void {
  const value = pd.value as { spec?: { background?: unknown; rules?: unknown[] } };
  const background = value?.spec?.background !== false;
  const rulesNode = findPath(pd.doc, ['spec', 'rules']).value;
  if (!isSeq(rulesNode)) return;
  const names = new Map<string, number>();
  let wide: string | null | undefined;
  const policyReason = () => (wide === undefined ? (wide = policyWideReason(pd)) : wide);
  rulesNode.items.forEach((ruleNode, i) => {
    if (!isMap(ruleNode)) return;
    const base: JsonPath = ['spec', 'rules', i];
    const rule = (value.spec?.rules?.[i] ?? {}) as Record<string, unknown>;
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
    checkAnchors(file, ruleNode, out);
    visitStrings(ruleNode, base, (node, path, isKey) => {
      variableDiagnostics(file, node, background, out);
      if (!isKey && isCelPathInClassic(path) && CEL_KEYS.has(String(path[path.length - 1]))) celDiagnostics(file, node, out, 'classic');
    });
    if (background) checkBackgroundMatch(file, ruleNode, name, out);
    autogenHints(file, pd, ruleNode, rule, out, policyReason);
  });
}

function celContext(kind: string | undefined): string {
  const k = (kind ?? '').replace(/^Namespaced/, '');
  if (k.startsWith('Mutating')) return 'mutating';
  if (k.startsWith('Generating')) return 'generating';
  if (k.startsWith('Deleting')) return 'deleting';
  return 'validating';
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

function variableDiagnostics(file: ParsedFile, node: Scalar, background: boolean, out: Diagnostic[]): void {
  const text = String(node.value);
  for (const v of findVariables(text)) {
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

function celDiagnostics(file: ParsedFile, node: Scalar, out: Diagnostic[], context: string): void {
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

function checkAnchors(file: ParsedFile, ruleNode: YamlNode, out: Diagnostic[]): void {
  const scan = (node: YamlNode | undefined, mode: 'validate' | 'mutate') => {
    if (!node) return;
    visitStrings(node, [], (n, _p, isKey) => {
      if (!isKey) return;
      const problem = checkAnchorKey(String(n.value), mode);
      if (problem) out.push(diag(nodeRange(file, n), Severity.Error, Codes.invalidAnchor, problem));
    });
  };
  const validate = pairValue(ruleNode, 'validate');
  if (validate) {
    scan(pairValue(validate, 'pattern'), 'validate');
    scan(pairValue(validate, 'anyPattern'), 'validate');
    const fe = pairValue(validate, 'foreach');
    if (isSeq(fe)) for (const it of fe.items as YamlNode[]) {
      scan(pairValue(it, 'pattern'), 'validate');
      scan(pairValue(it, 'anyPattern'), 'validate');
    }
  }
  const mutate = pairValue(ruleNode, 'mutate');
  if (mutate) {
    scan(pairValue(mutate, 'patchStrategicMerge'), 'mutate');
    const fe = pairValue(mutate, 'foreach');
    if (isSeq(fe)) for (const it of fe.items as YamlNode[]) scan(pairValue(it, 'patchStrategicMerge'), 'mutate');
  }
}

const POD_CONTROLLERS = 'DaemonSet, Deployment, Job, StatefulSet, ReplicaSet, ReplicationController, CronJob';

type DescribeAutogen = (policy: unknown, rule: string) => { rules: Array<{ name: string; kinds: string[] }>; reason?: string };
type CanAutoGen = (policy: unknown) => { apply: boolean; reason?: string };

// Autogen is computed per rule on a one-rule copy of the policy (the engine's whole-policy
// computation grows with the square of the rule count), plus one policy-wide canAutoGen;
// results are cached by rule content so an edit recomputes only the rules it touched.
const autogenCache = new Map<string, string | null>();
const policyWideCache = new Map<string, string | null>();

function policyWideReason(pd: ParsedDocument): string | null {
  const canAutoGen = engineExport<CanAutoGen>('autogen', 'canAutoGen');
  if (!canAutoGen) return null;
  const key = JSON.stringify(pd.value);
  let reason = policyWideCache.get(key);
  if (reason === undefined) {
    try {
      const r = canAutoGen(pd.value);
      reason = r.apply ? null : (r.reason ?? 'Kyverno disables autogen for this policy');
    } catch {
      reason = null;
    }
    if (policyWideCache.size > 200) policyWideCache.clear();
    policyWideCache.set(key, reason);
  }
  return reason;
}

/** A Pod rule that yields no autogen rules leaves pods created by controllers to Pod admission. */
function autogenHints(file: ParsedFile, pd: ParsedDocument, ruleNode: YamlNode, rule: Record<string, unknown>, out: Diagnostic[], policyReason: () => string | null): void {
  const policy = (pd.value ?? {}) as { metadata?: { annotations?: Record<string, unknown> }; spec?: Record<string, unknown> };
  const annotations = policy.metadata?.annotations ?? {};
  if (annotations['pod-policies.kyverno.io/autogen-controllers'] === 'none') return;
  const filters = resourceFilters(rule.match);
  const matchesPod = filters.some((r) => (r.kinds ?? []).some((k) => k === 'Pod' || k === 'v1/Pod' || k === '*/Pod'));
  if (!matchesPod || typeof rule.name !== 'string') return;
  const describe = engineExport<DescribeAutogen>('autogen', 'describeAutogen');
  let reason: string | null | undefined = policyReason();
  if (!reason && describe) {
    const single = { ...policy, spec: { ...policy.spec, rules: [rule] } };
    const key = JSON.stringify([annotations, pd.kind, rule]);
    reason = autogenCache.get(key);
    if (reason === undefined) {
      try {
        const d = describe(single, rule.name);
        reason = d.rules.length ? null : (d.reason ?? 'Kyverno does not auto-generate rules for it');
      } catch {
        reason = null;
      }
      if (autogenCache.size > 5000) autogenCache.clear();
      autogenCache.set(key, reason);
    }
  } else if (!describe) {
    const blockers = filters.flatMap((r) => ['name', 'names', 'selector', 'annotations'].filter((k) => r[k as keyof typeof r] !== undefined));
    if (blockers.length) reason = `match uses ${[...new Set(blockers)].join('/')} on Pods`;
  }
  if (!reason) return;
  const key = pairKey(ruleNode, 'match') ?? ruleNode;
  out.push(diag(nodeRange(file, key), Severity.Information, Codes.autogenPitfall,
    `No autogen rules for Pod controllers (${POD_CONTROLLERS}): ${reason}. Pods created by controllers are only checked at Pod admission.`));
}

type ResourceFilterLike = { kinds?: string[]; name?: unknown; names?: unknown; selector?: unknown; annotations?: unknown };
function resourceFilters(match: unknown): ResourceFilterLike[] {
  if (!match || typeof match !== 'object') return [];
  const m = match as { resources?: ResourceFilterLike; any?: Array<{ resources?: ResourceFilterLike }>; all?: Array<{ resources?: ResourceFilterLike }> };
  const out: ResourceFilterLike[] = [];
  if (m.resources) out.push(m.resources);
  for (const f of [...(m.any ?? []), ...(m.all ?? [])]) if (f?.resources) out.push(f.resources);
  return out.filter((r) => r && typeof r === 'object');
}
