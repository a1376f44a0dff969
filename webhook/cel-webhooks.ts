/**
 * The webhooks of the CEL policy kinds, laid out as Kyverno's webhook controller lays them
 * out (pkg/controllers/webhook/validating.go buildWebhookRules, called per kind from
 * controller.go buildForJSONPoliciesValidation/Mutation): per kind a shared `-fail` and
 * `-ignore` webhook whose path names every policy it serves (`/vpol/a/b`), and a
 * fine-grained webhook of its own (`-fail-finegrained-<name>`, path `/vpol/<name>`) for a
 * policy with matchConditions the API server can evaluate, `matchPolicy: Exact` or a
 * `webhookConfiguration.timeoutSeconds`. The server answers each path with only the
 * policies it names (celRoute below, used by server-process.ts).
 */
import { createHash } from 'node:crypto';
import { asArray, asObject } from '../engine/core/json';
import { autogenConfigs, canAutogen, podToTemplateExpression } from '../engine/cel/autogen';
import { checkCelExpression, type CelCheckContext } from '../engine/cel/diagnostics';
import { isQualifiedName } from '../engine/kube/name-validation';

type Json = Record<string, unknown>;

const ALL_OPERATIONS = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

/** One CEL policy kind's webhooks: Kyverno's webhook name and query path (pkg/config/config.go, controller.go). */
interface KindLayout {
  kinds: string[];
  name: string;
  path: string;
  configuration: 'validating' | 'mutating';
  /** Kyverno sorts and de-duplicates the rules of every kind but the namespaced image-validating one. */
  sortRules: boolean;
}

/**
 * Kyverno names both image-validating kinds `ivpol.validate.kyverno.svc` (and
 * `ivpol.mutate.kyverno.svc`); two webhooks of one name make the API server refuse the whole
 * configuration, so the namespaced kind's are prefixed `nivpol` here (its paths are Kyverno's).
 */
export const CEL_KIND_LAYOUTS: readonly KindLayout[] = [
  { kinds: ['ValidatingPolicy'], name: 'vpol.validate.kyverno.svc', path: '/vpol', configuration: 'validating', sortRules: true },
  { kinds: ['NamespacedValidatingPolicy'], name: 'nvpol.validate.kyverno.svc', path: '/nvpol', configuration: 'validating', sortRules: true },
  { kinds: ['GeneratingPolicy'], name: 'gpol.validate.kyverno.svc', path: '/gpol', configuration: 'validating', sortRules: true },
  { kinds: ['NamespacedGeneratingPolicy'], name: 'ngpol.validate.kyverno.svc', path: '/ngpol', configuration: 'validating', sortRules: true },
  { kinds: ['ImageValidatingPolicy'], name: 'ivpol.validate.kyverno.svc', path: '/ivpol/validate', configuration: 'validating', sortRules: true },
  { kinds: ['NamespacedImageValidatingPolicy'], name: 'nivpol.validate.kyverno.svc', path: '/nivpol/validate', configuration: 'validating', sortRules: false },
  { kinds: ['MutatingPolicy'], name: 'mpol.validate.kyverno.svc', path: '/mpol', configuration: 'mutating', sortRules: true },
  { kinds: ['NamespacedMutatingPolicy'], name: 'nmpol.validate.kyverno.svc', path: '/nmpol', configuration: 'mutating', sortRules: true },
  { kinds: ['ImageValidatingPolicy'], name: 'ivpol.mutate.kyverno.svc', path: '/ivpol/mutate', configuration: 'mutating', sortRules: true },
  { kinds: ['NamespacedImageValidatingPolicy'], name: 'nivpol.mutate.kyverno.svc', path: '/nivpol/mutate', configuration: 'mutating', sortRules: true },
];

export interface CelRoute {
  /** Which admission phase runs: validation (validating configuration) or mutation. */
  phase: 'validate' | 'mutate';
  /** The policy kinds the path serves. */
  kinds: string[];
  /** The policies named in the path (Kyverno's `*policies` parameter); empty: every one of the kinds. */
  names: string[];
  /** The path without the names (`/vpol`, `/ivpol/mutate`). */
  base: string;
}

/** The CEL route of a request path (`/vpol/a/b`, `/ivpol/mutate/x`), as Kyverno's server routes them (pkg/webhooks/server.go). */
export function celRoute(url: string): CelRoute | undefined {
  for (const layout of CEL_KIND_LAYOUTS) {
    if (url !== layout.path && !url.startsWith(`${layout.path}/`)) continue;
    const names = url.slice(layout.path.length).split('/').filter(Boolean);
    return { phase: layout.configuration === 'validating' ? 'validate' : 'mutate', kinds: layout.kinds, names, base: layout.path };
  }
  return undefined;
}

export interface CelLayoutInput {
  policies: Json[];
  /** The configured namespace selector (Kyverno's config map `webhooks`), merged into each webhook's. */
  namespaceSelector?: Json;
  objectSelector?: Json;
  /** clientConfig for a path. */
  clientConfig: (path: string) => Json;
}

const specOf = (p: Json) => asObject(p.spec);
const nameOf = (p: Json) => String(asObject(p.metadata).name ?? '');
const namespaceOf = (p: Json) => String(asObject(p.metadata).namespace ?? '');

/** Kyverno's AdmissionEnabled (evaluation.admission.enabled, default true). */
function admissionEnabled(p: Json): boolean {
  return asObject(asObject(specOf(p).evaluation).admission).enabled !== false;
}

/** Kyverno's ivpolsNeedingMutation: digest pinning (mutateDigest, default true) is the only mutation. */
function needsMutation(p: Json): boolean {
  return asObject(specOf(p).validationConfigurations).mutateDigest !== false;
}

function failurePolicy(p: Json): 'Fail' | 'Ignore' {
  // A generating policy is always Ignore (api GeneratingPolicy.GetFailurePolicy).
  if (p.kind === 'GeneratingPolicy' || p.kind === 'NamespacedGeneratingPolicy') return 'Ignore';
  return specOf(p).failurePolicy === 'Ignore' ? 'Ignore' : 'Fail';
}

function timeoutSeconds(p: Json): number | undefined {
  const t = asObject(specOf(p).webhookConfiguration).timeoutSeconds;
  return typeof t === 'number' ? t : undefined;
}

/**
 * Whether the API server can evaluate a match condition, as Kyverno's expression cache decides
 * it (pkg/cel/compiler CompileMatchConditionsWithKubernetesEnv, one condition at a time): an
 * expression that compiles to a bool in Kubernetes' own environment (its libraries only;
 * object, oldObject, request, namespaceObject and authorizer; no params, no variables), under
 * a qualified name.
 */
const KUBERNETES_MATCH_CONDITION: CelCheckContext = { expect: 'bool', hasParams: false, apiServer: { authorizer: true } };
function kubernetesCanEvaluate(condition: Json): boolean {
  const { name, expression } = condition;
  if (typeof expression !== 'string' || expression.trim() === '' || typeof name !== 'string' || name === '' || isQualifiedName(name).length > 0) return false;
  return checkCelExpression(expression.trim(), KUBERNETES_MATCH_CONDITION).length === 0;
}

/**
 * Kyverno's validConditions: the conditions when the API server can evaluate all of them,
 * else none (null: the policy has none). An empty list counts as conditions, as Go's non-nil slice.
 */
function validConditions(conditions: unknown): Json[] | null {
  if (!Array.isArray(conditions)) return null;
  const list = conditions.map(asObject);
  return list.every(kubernetesCanEvaluate) ? list : null;
}

/** Kyverno's webhookMatchConditions: conditions reading namespaceObject stay with the engine (the API server binds it to null). */
function offloadable(conditions: Json[] | null): Json[] {
  return (conditions ?? [])
    .filter((c) => !/\bnamespaceObject\b/.test(String(c.expression).replace(/'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*"/g, "''")))
    .map((c) => ({ name: c.name, expression: c.expression }));
}

interface Target { group?: string; version: string; kind: string }

/** Kyverno's autogen.CreateMatchConditions: each condition guarded by the targets' apiVersion/kind, named `autogen[-config]-<name>`. */
export function autogenMatchConditions(config: string, targets: Target[], conditions: Json[]): Json[] {
  if (targets.length === 0 || conditions.length === 0) return [];
  const guards = [...new Set(targets.map((t) => `(object.apiVersion == '${t.group ? `${t.group}/` : ''}${t.version}' && object.kind =='${t.kind}')`))].sort(compare);
  const prefix = config ? `autogen-${config}` : 'autogen';
  return conditions.map((c) => ({ name: `${prefix}-${String(c.name)}`, expression: `!(${guards.join(' || ')}) || (${String(c.expression)})` }));
}

/** Resource rules as webhook rules (RuleWithOperations; scope '*' as the API server defaults it). */
function rulesOf(matchConstraints: unknown, operations?: string[]): Json[] {
  return asArray(asObject(matchConstraints).resourceRules).map(asObject).map((r) => ({
    apiGroups: asArray(r.apiGroups).map(String),
    apiVersions: asArray(r.apiVersions).map(String),
    operations: operations ?? asArray(r.operations).map(String),
    resources: asArray(r.resources).map(String),
    scope: typeof r.scope === 'string' ? r.scope : '*',
  }));
}

/** The autogen variants of a policy: per config (`cronjobs`, `defaults`, sorted) its targets, rules and rewritten conditions. */
function autogenVariants(p: Json): Array<{ config: string; targets: Target[]; rules: Json[]; conditions: unknown }> {
  // Generating policies do not autogen (only their match conditions are guarded, below).
  if (p.kind === 'GeneratingPolicy' || p.kind === 'NamespacedGeneratingPolicy') return [];
  const configs = autogenConfigs(specOf(p));
  if (!configs) return [];
  const mutating = p.kind === 'MutatingPolicy' || p.kind === 'NamespacedMutatingPolicy';
  return Object.keys(configs).sort(compare).map((config) => {
    const generated = asObject(configs[config]);
    const spec = asObject(generated.spec);
    // A mutating policy's conditions are rewritten its own way (pkg/cel/policies/mpol/autogen).
    const conditions = mutating
      ? asArray(specOf(p).matchConditions).map(asObject).map((c) => ({ ...c, expression: typeof c.expression === 'string' && c.expression ? podToTemplateExpression(c.expression, config === 'cronjobs') : c.expression }))
      : spec.matchConditions;
    return { config, targets: asArray(generated.targets).map((t) => asObject(t) as unknown as Target), rules: rulesOf(spec.matchConstraints), conditions: Array.isArray(specOf(p).matchConditions) ? conditions : undefined };
  });
}

/** Kyverno's mergeLabelSelectors: both selectors' labels and expressions; undefined when both are. */
export function mergeLabelSelectors(a: Json | undefined, b: Json | undefined): Json | undefined {
  if (!a) return b;
  if (!b) return a;
  const matchLabels = { ...asObject(a.matchLabels), ...asObject(b.matchLabels) };
  const matchExpressions = [...asArray(a.matchExpressions), ...asArray(b.matchExpressions)];
  return { ...(Object.keys(matchLabels).length ? { matchLabels } : {}), ...(matchExpressions.length ? { matchExpressions } : {}) };
}

/** Kyverno's resolveNamespaceSelector: a namespaced policy is pinned to its namespace. */
function namespaceSelectorOf(p: Json, configured: Json | undefined): Json | undefined {
  const ns = namespaceOf(p);
  if (ns) return mergeLabelSelectors({ matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: [ns] }] }, configured);
  const own = asObject(specOf(p).matchConstraints).namespaceSelector;
  return mergeLabelSelectors(own ? asObject(own) : undefined, configured);
}

function objectSelectorOf(p: Json, configured: Json | undefined): Json | undefined {
  const own = asObject(specOf(p).matchConstraints).objectSelector;
  return mergeLabelSelectors(own ? asObject(own) : undefined, configured);
}

/** Go's byte-wise string order. */
/** Go's string order (code units, as sort.Strings). */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Go's json.Marshal of a metav1.LabelSelector (fields in declaration order, map keys sorted, empty ones omitted). */
function marshalSelector(s: Json | undefined): string {
  if (!s) return 'null';
  const parts: string[] = [];
  const labels = asObject(s.matchLabels);
  const keys = Object.keys(labels).sort(compare);
  if (keys.length) parts.push(`"matchLabels":{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(String(labels[k]))}`).join(',')}}`);
  const expressions = asArray(s.matchExpressions).map(asObject);
  if (expressions.length) {
    parts.push(`"matchExpressions":[${expressions.map((e) => {
      const values = asArray(e.values).map(String);
      return `{"key":${JSON.stringify(String(e.key ?? ''))},"operator":${JSON.stringify(String(e.operator ?? ''))}${values.length ? `,"values":${JSON.stringify(values)}` : ''}}`;
    }).join(',')}]`);
  }
  return `{${parts.join(',')}}`;
}

/** Kyverno's selectorKey: the sha256 of both selectors, the group key of basic webhooks. */
function selectorKey(namespaceSelector: Json | undefined, objectSelector: Json | undefined): string {
  return createHash('sha256').update(`[${marshalSelector(namespaceSelector)},${marshalSelector(objectSelector)}]`).digest('hex');
}

/** Kyverno's sortedRules over deDuplicatedRules: each list sorted, then rules ordered by (length, items) of each field. */
export function sortedUniqueRules(rules: Json[]): Json[] {
  const seen = new Set<string>();
  const out: Array<{ apiGroups: string[]; apiVersions: string[]; operations: string[]; resources: string[]; scope: unknown }> = [];
  for (const rule of rules) {
    const sorted = {
      apiGroups: [...(rule.apiGroups as string[])].sort(compare),
      apiVersions: [...(rule.apiVersions as string[])].sort(compare),
      operations: [...(rule.operations as string[])].sort(compare),
      resources: [...(rule.resources as string[])].sort(compare),
      scope: rule.scope,
    };
    const key = JSON.stringify([sorted.apiGroups, sorted.apiVersions, sorted.resources, sorted.operations, sorted.scope]);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(sorted);
  }
  const list = (a: string[], b: string[]) => a.length - b.length || a.reduce((x, v, i) => x || compare(v, b[i]), 0);
  return out.sort((a, b) =>
    list(a.apiGroups, b.apiGroups) || list(a.apiVersions, b.apiVersions) || list(a.resources, b.resources) || list(a.operations, b.operations) || compare(String(a.scope), String(b.scope)));
}

/** A policy's webhook rules as Kyverno registers them: autogen variants first (basic webhooks), generate with every operation. */
function policyRules(p: Json, autogenFirst: boolean): Json[] {
  const generating = p.kind === 'GeneratingPolicy' || p.kind === 'NamespacedGeneratingPolicy';
  const own = rulesOf(specOf(p).matchConstraints, generating ? ALL_OPERATIONS : undefined);
  // Kyverno's fine-grained webhooks autogen every kind but the namespaced image-validating one.
  const autogen = !autogenFirst && p.kind === 'NamespacedImageValidatingPolicy' ? [] : autogenVariants(p).flatMap((v) => v.rules);
  return autogenFirst ? [...autogen, ...own] : [...own, ...autogen];
}

function isFineGrained(p: Json): boolean {
  const spec = specOf(p);
  return validConditions(spec.matchConditions) !== null || asObject(spec.matchConstraints).matchPolicy === 'Exact' || timeoutSeconds(p) !== undefined;
}

/** Kyverno's buildWebhookRules for one kind's policies (ValidatingWebhook-shaped). */
function kindWebhooks(layout: KindLayout, policies: Json[], input: CelLayoutInput): Json[] {
  const base = (p: Json | undefined, name: string, path: string, fp: 'Fail' | 'Ignore', namespaceSelector: Json | undefined, objectSelector: Json | undefined): Json => ({
    name,
    admissionReviewVersions: ['v1'],
    clientConfig: input.clientConfig(path),
    failurePolicy: fp,
    // The API server's defaults, written out so the stored object equals ours.
    matchPolicy: p && asObject(specOf(p).matchConstraints).matchPolicy === 'Exact' ? 'Exact' : 'Equivalent',
    namespaceSelector: namespaceSelector ?? {},
    objectSelector: objectSelector ?? {},
    sideEffects: 'NoneOnDryRun',
    timeoutSeconds: (p && timeoutSeconds(p)) ?? 10,
  });
  const finish = (w: Json): Json => (layout.sortRules ? { ...w, rules: sortedUniqueRules(w.rules as Json[]) } : w);
  const fine = policies.filter(isFineGrained).sort((a, b) => compare(namespaceOf(a), namespaceOf(b)) || compare(nameOf(a), nameOf(b)));
  const basic = policies.filter((p) => !isFineGrained(p));
  const fineFail: Json[] = [];
  const fineIgnore: Json[] = [];
  for (const p of fine) {
    const spec = specOf(p);
    let conditions = offloadable(validConditions(spec.matchConditions));
    // Kyverno's restrictMatchConditionsToCreate: a synchronized generating policy must still see
    // the UPDATE and DELETE of a trigger that stopped matching (its downstream is cleaned up).
    const generating = p.kind === 'GeneratingPolicy' || p.kind === 'NamespacedGeneratingPolicy';
    if (generating && asObject(asObject(spec.evaluation).synchronize).enabled === true) {
      conditions = conditions.map((c) => ({ name: c.name, expression: `request.operation != 'CREATE' || (${String(c.expression)})` }));
    }
    const matchConditions = canAutogen(spec.matchConstraints) ? autogenMatchConditions('', [{ group: '', version: 'v1', kind: 'Pod' }], conditions) : [...conditions];
    // Kyverno's fine-grained webhooks autogen every kind but the namespaced image-validating one.
    if (p.kind !== 'NamespacedImageValidatingPolicy') {
      for (const v of autogenVariants(p)) matchConditions.push(...autogenMatchConditions(v.config, v.targets, offloadable(validConditions(v.conditions))));
    }
    const fp = failurePolicy(p);
    const suffix = namespaceOf(p) ? `${namespaceOf(p)}-${nameOf(p)}` : nameOf(p);
    const webhook = base(p, `${layout.name}-${fp.toLowerCase()}-finegrained-${suffix}`, `${layout.path}/${nameOf(p)}`, fp, namespaceSelectorOf(p, input.namespaceSelector), objectSelectorOf(p, input.objectSelector));
    (fp === 'Ignore' ? fineIgnore : fineFail).push(finish({ ...webhook, ...(matchConditions.length ? { matchConditions } : {}), rules: policyRules(p, false) }));
  }
  const out = [...fineFail, ...fineIgnore];
  // Basic policies share a webhook per selector pair (Kyverno's groupBySelectors).
  const groups = new Map<string, { namespaceSelector?: Json; objectSelector?: Json; policies: Json[] }>();
  for (const p of basic) {
    const namespaceSelector = namespaceSelectorOf(p, input.namespaceSelector);
    const objectSelector = objectSelectorOf(p, input.objectSelector);
    const key = selectorKey(namespaceSelector, objectSelector);
    const group = groups.get(key) ?? { namespaceSelector, objectSelector, policies: [] };
    group.policies.push(p);
    groups.set(key, group);
  }
  const keys = [...groups.keys()].sort(compare);
  for (const key of keys) {
    const group = groups.get(key)!;
    const suffix = keys.length > 1 ? `-${key.slice(0, 8)}` : '';
    const path = [layout.path, ...group.policies.map(nameOf).sort(compare)].join('/');
    for (const fp of ['Fail', 'Ignore'] as const) {
      const rules = group.policies.filter((p) => failurePolicy(p) === fp).flatMap((p) => policyRules(p, true));
      if (rules.length) out.push(finish({ ...base(undefined, `${layout.name}-${fp.toLowerCase()}${suffix}`, path, fp, group.namespaceSelector, group.objectSelector), rules }));
    }
  }
  return out;
}

/** The CEL policies' webhooks for the validating and the mutating resource configurations. */
export function celWebhooks(input: CelLayoutInput): { validating: Json[]; mutating: Json[] } {
  const out = { validating: [] as Json[], mutating: [] as Json[] };
  for (const layout of CEL_KIND_LAYOUTS) {
    // Kyverno leaves out the policies it turned into Kubernetes admission policies (status.generated).
    let policies = input.policies.filter((p) => layout.kinds.includes(String(p.kind)) && admissionEnabled(p) && asObject(p.status).generated !== true);
    if (layout.path.endsWith('/mutate')) policies = policies.filter(needsMutation);
    if (!policies.length) continue;
    out[layout.configuration].push(...kindWebhooks(layout, policies, input));
  }
  return out;
}
