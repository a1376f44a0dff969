/**
 * Which requests must reach the webhook: the kinds and operations some installed policy
 * matches, turned into admissionregistration.k8s.io/v1 webhook rules as Kyverno's webhook
 * controller builds them (pkg/controllers/webhook: mergeWebhook, collectResourceDescriptions,
 * buildRulesWithOperations, sortedRules): one webhook per path and failurePolicy, and one per
 * policy with its own matchConditions. The one place these rules are computed: deploy (and
 * `--render`), local mode and the in-cluster controller all call it. Pure: kinds are resolved to
 * resources through a table the caller builds from discovery (`knownKindTable` from
 * engine/kube covers the well-known kinds for offline planning).
 */
import { asArray, asObject } from '../engine/core/json';
import { computeRules } from '../engine/autogen';
import { isClassicPolicy, matchResourceDescriptions } from '../engine/policy';
import { compare, sortedUniqueRules } from './cel-webhooks';
import { hasVerifyManifests as hasVerifyManifestsIn } from '../engine/verify-manifests';
import type { JsonObject } from '../engine/core/types';
import { findResources, knownKindTable, parseKindSelector, type KindTable } from '../engine/kube';

type Json = Record<string, unknown>;

const ALL_OPERATIONS = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];
const CREATE_UPDATE_DELETE = ['CREATE', 'UPDATE', 'DELETE'];
/**
 * Kyverno's DefaultWebhookTimeout, the default of its --webhookTimeout (serve --webhook-timeout):
 * a resource webhook's timeout starts there and policies only raise it, up to the API server's 30.
 */
export const DEFAULT_WEBHOOK_TIMEOUT_SECONDS = 10;
/** The API server's largest webhook timeoutSeconds (Kyverno's capTimeout). */
export const MAX_WEBHOOK_TIMEOUT_SECONDS = 30;

export type WebhookKind = 'validate' | 'mutate';
type Scope = 'Namespaced' | 'Cluster' | '*';

export interface RuleNeed {
  path: WebhookKind;
  failurePolicy: 'Fail' | 'Ignore';
  timeoutSeconds: number;
  /** The resources as (group, version, resource) triples, one list per field (RBAC reads them). */
  groups: string[];
  versions: string[];
  resources: string[];
  operations: string[];
  /** The webhook's RuleWithOperations, built and ordered as Kyverno builds them. */
  rules: Json[];
  /** Kinds we could not resolve (CRD not installed yet): reported, not registered. */
  unresolved: string[];
  /**
   * A classic policy with `spec.webhookConfiguration.matchConditions` has a webhook of its own
   * (Kyverno's newWebhookPerPolicy: `-fail-finegrained-<ns>-<name>` on /validate/fail/finegrained/<ns>/<name>).
   */
  fineGrained?: { name: string; namespace?: string; matchConditions: Json[] };
}

interface Need {
  path: WebhookKind;
  failurePolicy: 'Fail' | 'Ignore';
  timeout: number;
  kinds: string[];
  operations: string[];
  /** Where a `*` kind applies: a Policy's stay in its namespace (Kyverno's policyScope). */
  scope?: Scope;
  /** Kinds a generate rule creates or clones and no rule matches: registered, never scanned as triggers. */
  downstream?: boolean;
  /** CEL policies give webhook-shaped rules already. */
  direct: Array<{ groups: string[]; versions: string[]; resources: string[]; operations: string[]; scope?: string }>;
  fineGrained?: RuleNeed['fineGrained'];
}

/**
 * The webhook a policy is served by: Kyverno's `-ignore` one for `failurePolicy: Ignore`, else
 * `-fail` (Spec.GetFailurePolicy: spec.webhookConfiguration.failurePolicy first, then the spec's).
 */
export function failurePolicyOf(policy: Json): 'Fail' | 'Ignore' {
  const spec = asObject(policy.spec);
  return (asObject(spec.webhookConfiguration).failurePolicy ?? spec.failurePolicy) === 'Ignore' ? 'Ignore' : 'Fail';
}

/**
 * Kyverno's `--forceFailurePolicyIgnore` (toggle ForceFailurePolicyIgnore): every policy's
 * GetFailurePolicy answers Ignore, so each is served by the `-ignore` webhooks (CEL kinds: their
 * Ignore webhooks) and evaluated as a policy with failurePolicy Ignore. Applied where the served
 * policies come in (the files `serve` loads, the cluster's watch, deploy's webhook plan): a
 * copy whose failure policy says Ignore; the stored policies are left as written.
 */
export function withFailurePolicyIgnore(policy: Json): Json {
  const spec = asObject(policy.spec);
  const classic = policy.kind === 'ClusterPolicy' || policy.kind === 'Policy';
  // Classic policies read webhookConfiguration.failurePolicy before the deprecated spec field; the CEL kinds, spec.failurePolicy.
  const forced = classic && (spec.failurePolicy === undefined || spec.webhookConfiguration !== undefined)
    ? { ...spec, ...(spec.failurePolicy !== undefined ? { failurePolicy: 'Ignore' } : {}), webhookConfiguration: { ...asObject(spec.webhookConfiguration), failurePolicy: 'Ignore' } }
    : { ...spec, failurePolicy: 'Ignore' };
  return { ...policy, spec: forced };
}

// Kyverno's rule predicates (api/kyverno/v1 rule_types.go) as the webhook controller reads
// them: a part counts when it is set to anything but its empty value.
const isSet = (v: unknown) => v !== null && typeof v === 'object' && Object.keys(v as object).length > 0;
const hasValidate = (rule: Json) => isSet(rule.validate);
const hasGenerate = (rule: Json) => isSet(rule.generate);
/** Kyverno's HasMutateExisting: `mutate.targets` given at all (`targets: []` too: Go's non-nil empty slice). */
export const hasMutateExisting = (rule: unknown) => isSet(asObject(rule).mutate) && asObject(asObject(rule).mutate).targets != null;
/** Kyverno's HasMutateStandard: a mutate rule on the admitted object (no `targets`). */
export const hasMutateStandard = (rule: unknown) => isSet(asObject(rule).mutate) && !hasMutateExisting(rule);
const hasVerifyImages = (rule: Json) => asArray(rule.verifyImages).some(isSet);
// verifyDigest and required default to true (CRD defaults), so an entry checks unless both are off.
// Not engine/verify-images' hasVerifyImageChecks: that one reads a null entry with the CRD's
// defaults (it checks), Kyverno's webhook controller as Go's zero value (it does not).
const hasVerifyImageChecks = (rule: Json) =>
  asArray(rule.verifyImages).some((v) => v !== null && typeof v === 'object' && (asObject(v).verifyDigest !== false || asObject(v).required !== false));
const hasVerifyManifests = (rule: Json) => hasVerifyManifestsIn(asObject(rule.validate));

/**
 * Kyverno's collectResourceDescriptions: the operations each match kind needs (the block's
 * `operations`, else the defaults), less what an `exclude.any` block that names nothing but
 * kinds and operations excludes (no operations there: every one).
 */
function collectKindOperations(rule: Json, defaultOps: string[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const block of matchResourceDescriptions(rule)) {
    const listed = asArray(block.operations).map(String);
    for (const kind of asArray(block.kinds).map(String)) {
      const ops = out.get(kind) ?? new Set<string>();
      for (const o of listed.length ? listed : defaultOps) ops.add(o);
      out.set(kind, ops);
    }
  }
  for (const filter of asArray(asObject(rule.exclude).any).map(asObject)) {
    if (asArray(filter.subjects).length || asArray(filter.roles).length || asArray(filter.clusterRoles).length) continue;
    const r = asObject(filter.resources);
    if (r.name || asArray(r.names).length || asArray(r.namespaces).length || Object.keys(asObject(r.annotations)).length || r.selector != null || r.namespaceSelector != null) continue;
    const kinds = asArray(r.kinds).map(String);
    const listed = asArray(r.operations).map(String);
    for (const kind of kinds.length ? kinds : [...out.keys()]) for (const o of listed.length ? listed : ALL_OPERATIONS) out.get(kind)?.delete(o);
  }
  return out;
}

function mergeInto(into: Map<string, Set<string>>, kind: string, ops: Iterable<string>): void {
  const set = into.get(kind) ?? new Set<string>();
  for (const o of ops) set.add(o);
  into.set(kind, set);
}

/**
 * Kyverno's mergeWebhook: the kinds and operations one of the two resource webhooks needs for
 * a policy, over its rules with autogen's (`validating`: the validating webhook). A generate
 * rule brings its triggers for every operation and the kinds it generates or clones for
 * CREATE, UPDATE and DELETE, on whichever webhook the policy is served by.
 */
function kindOperations(policy: Json, validating: boolean): { matched: Map<string, Set<string>>; selected: Set<string> } {
  const matched = new Map<string, Set<string>>();
  // The kinds some rule's match selects (the others are only generated or cloned).
  const selected = new Set<string>();
  const collect = (rule: Json, defaults: string[]) => {
    for (const [kind, ops] of collectKindOperations(rule, defaults)) {
      mergeInto(matched, kind, ops);
      selected.add(kind);
    }
  };
  for (const rule of computeRules(policy as JsonObject).map((r) => r as Json)) {
    if (hasGenerate(rule)) {
      collect(rule, ALL_OPERATIONS);
      const generate = asObject(rule.generate);
      for (const g of [...asArray(generate.foreach).map(asObject), generate]) {
        const kinds = typeof g.kind === 'string' && g.kind ? [g.kind] : asArray(asObject(g.cloneList).kinds).map(String);
        for (const kind of kinds) mergeInto(matched, kind, CREATE_UPDATE_DELETE);
      }
    } else if (
      (validating && (hasValidate(rule) || hasMutateExisting(rule))) ||
      hasVerifyImageChecks(rule) ||
      (!validating && (hasMutateStandard(rule) || hasVerifyImages(rule) || hasVerifyManifests(rule)))
    ) {
      collect(rule, validating ? ALL_OPERATIONS : ['CREATE', 'UPDATE']);
    }
  }
  return { matched, selected };
}

function classicNeeds(policy: Json, purpose: NeedPurpose): Need[] {
  const spec = asObject(policy.spec);
  // Kyverno's AdmissionProcessingEnabled: a background-only policy has no webhook rules, but
  // its background scan and reports still list and read what it matches.
  if (spec.admission === false && purpose === 'webhooks') return [];
  const failurePolicy = failurePolicyOf(policy);
  // Spec.GetWebhookTimeoutSeconds (webhookConfiguration's, then the spec's) raises the webhook's
  // timeout above the default (webhookNeeds), never below it.
  const configuredTimeout = asObject(spec.webhookConfiguration).timeoutSeconds ?? spec.webhookTimeoutSeconds;
  const timeout = typeof configuredTimeout === 'number' ? configuredTimeout : 0;
  // Kyverno's CustomWebhookMatchConditions: the policy's own webhook, with its conditions.
  const conditions = asArray(asObject(spec.webhookConfiguration).matchConditions).map(asObject);
  const meta = asObject(policy.metadata);
  const fineGrained = conditions.length
    ? { name: String(meta.name ?? ''), ...(typeof meta.namespace === 'string' && meta.namespace ? { namespace: meta.namespace } : {}), matchConditions: conditions }
    : undefined;
  const scope: Scope = policy.kind === 'Policy' ? 'Namespaced' : '*';
  const rules = asArray(spec.rules).map(asObject);
  // Which of the two webhooks serve the policy (buildForPoliciesValidation / buildForPoliciesMutation).
  const paths: WebhookKind[] = [];
  if (rules.some((r) => hasValidate(r) || hasGenerate(r) || hasMutateExisting(r) || hasVerifyImageChecks(r) || hasVerifyManifests(r))) paths.push('validate');
  if (rules.some((r) => hasMutateStandard(r) || hasVerifyImages(r))) paths.push('mutate');
  const needs: Need[] = [];
  for (const path of paths) {
    const { matched, selected } = kindOperations(policy, path === 'validate');
    for (const [kind, ops] of matched) {
      const downstream = !selected.has(kind);
      needs.push({ path, failurePolicy, timeout, kinds: [kind], operations: [...ops], scope, direct: [], ...(downstream ? { downstream } : {}), ...(fineGrained ? { fineGrained } : {}) });
    }
    // Without a kind the policy still raises its webhook's timeout, as mergeWebhook does whatever it matched.
    if (!needs.some((n) => n.path === path)) needs.push({ path, failurePolicy, timeout, kinds: [], operations: [], scope, direct: [], ...(fineGrained ? { fineGrained } : {}) });
  }
  return needs;
}

/** A CEL policy's resourceRules as needs (also what a scan of a Kubernetes admission policy lists). */
export function celNeeds(policy: Json, path: WebhookKind): Need[] {
  const spec = asObject(policy.spec);
  const failurePolicy = failurePolicyOf(policy);
  const timeout = typeof asObject(spec.webhookConfiguration).timeoutSeconds === 'number' ? (asObject(spec.webhookConfiguration).timeoutSeconds as number) : 10;
  const direct = asArray(asObject(spec.matchConstraints).resourceRules)
    .map(asObject)
    .map((r) => ({
      groups: asArray(r.apiGroups).map(String),
      versions: asArray(r.apiVersions).map(String),
      resources: asArray(r.resources).map(String),
      operations: asArray(r.operations).map(String),
      ...(typeof r.scope === 'string' ? { scope: r.scope } : {}),
    }));
  return [{ path, failurePolicy, timeout, kinds: [], operations: [], direct }];
}

/**
 * Why the needs are asked for: `webhooks`, the webhook configurations (admission requests);
 * `reads`, what the policy's match selects whether or not admission sees it (the background
 * scan, the reports and the RBAC they need).
 */
export type NeedPurpose = 'webhooks' | 'reads';

/** What one policy needs from the webhook configurations (empty for kinds we do not serve). */
export function policyNeeds(policy: Json, purpose: NeedPurpose = 'webhooks'): Need[] {
  switch (policy.kind) {
    case 'ClusterPolicy':
    case 'Policy':
      return classicNeeds(policy, purpose);
    case 'ValidatingPolicy':
    case 'NamespacedValidatingPolicy':
    case 'ImageValidatingPolicy':
    case 'NamespacedImageValidatingPolicy':
      return celNeeds(policy, 'validate');
    case 'MutatingPolicy':
    case 'NamespacedMutatingPolicy': {
      // Its mutate-existing work is queued once the trigger is admitted, from our validating
      // webhook (as for classic mutate-existing rules); Kyverno queues it from the mutating one.
      const evaluation = asObject(asObject(policy.spec).evaluation);
      const queuesWork = asObject(evaluation.mutateExisting).enabled === true && asObject(evaluation.admission).enabled !== false;
      return queuesWork ? [...celNeeds(policy, 'mutate'), ...celNeeds(policy, 'validate')] : celNeeds(policy, 'mutate');
    }
    case 'GeneratingPolicy':
    case 'NamespacedGeneratingPolicy':
      // Kyverno registers a generating policy's resourceRules for every operation
      // (pkg/controllers/webhook/validating.go): the background decides what each one means.
      return celNeeds(policy, 'validate').map((n) => ({ ...n, direct: n.direct.map((d) => ({ ...d, operations: ALL_OPERATIONS })) }));
    default:
      return [];
  }
}

/** Kyverno's ruleEntry: one operation on one resource (or subresource) in one scope. */
interface RuleEntry {
  group: string;
  version: string;
  resource: string;
  subresource: string;
  scope: string;
  operation: string;
}
const entryKey = (e: RuleEntry) => `${e.group}|${e.version}|${e.resource}|${e.subresource}|${e.scope}|${e.operation}`;

/**
 * Kyverno's webhook.hasRule: whether a broader entry (a `*` scope, group, version, resource or
 * subresource, or `*` for `*` and its subresources) already covers this one.
 */
function coveredByBroader(e: RuleEntry, entries: Set<string>): boolean {
  const scopes = e.scope === '*' ? ['*'] : [e.scope, '*'];
  const groups = e.group === '*' ? ['*'] : [e.group, '*'];
  const versions = e.version === '*' ? ['*'] : [e.version, '*'];
  let resources: Array<[string, string]>;
  if (e.subresource === '') resources = e.resource === '*' ? [['*', ''], ['*', '*']] : [[e.resource, ''], ['*', ''], ['*', '*']];
  else if (e.subresource === '*') resources = e.resource === '*' ? [['*', '*']] : [[e.resource, '*'], ['*', '*']];
  else resources = e.resource === '*' ? [['*', e.subresource], ['*', '*']] : [[e.resource, e.subresource], [e.resource, '*'], ['*', e.subresource], ['*', '*']];
  for (const scope of scopes) {
    for (const group of groups) {
      for (const version of versions) {
        for (const [resource, subresource] of resources) {
          const same = scope === e.scope && group === e.group && version === e.version && resource === e.resource && subresource === e.subresource;
          if (!same && entries.has(entryKey({ group, version, resource, subresource, scope, operation: e.operation }))) return true;
        }
      }
    }
  }
  return false;
}

/**
 * Kyverno's buildRulesWithOperations, then sortedRules: entries a broader one covers dropped,
 * one rule per (group, version, scope) and operation set, `pods/ephemeralcontainers` beside
 * `pods` (or `*`) of the core v1 group, every list sorted and the rules in Kyverno's order.
 */
export function rulesWithOperations(entries: Iterable<RuleEntry>): Json[] {
  const all = [...entries];
  const keys = new Set(all.map(entryKey));
  const byGvs = new Map<string, { group: string; version: string; scope: string; resources: Map<string, Set<string>> }>();
  for (const e of all) {
    if (coveredByBroader(e, keys)) continue;
    const gvsKey = `${e.group}|${e.version}|${e.scope}`;
    const gvs = byGvs.get(gvsKey) ?? { group: e.group, version: e.version, scope: e.scope, resources: new Map() };
    byGvs.set(gvsKey, gvs);
    const resource = e.subresource ? `${e.resource}/${e.subresource}` : e.resource;
    const ops = gvs.resources.get(resource) ?? new Set<string>();
    ops.add(e.operation);
    gvs.resources.set(resource, ops);
  }
  const rules: Json[] = [];
  for (const gvs of byGvs.values()) {
    const byOps = new Map<string, Set<string>>();
    for (const [resource, ops] of gvs.resources) {
      const key = ALL_OPERATIONS.filter((o) => ops.has(o)).join(',');
      byOps.set(key, (byOps.get(key) ?? new Set<string>()).add(resource));
    }
    for (const [ops, resources] of byOps) {
      if (!ops) continue;
      if ((gvs.group === '' || gvs.group === '*') && (gvs.version === 'v1' || gvs.version === '*') && (resources.has('pods') || resources.has('*'))) resources.add('pods/ephemeralcontainers');
      rules.push({ apiGroups: [gvs.group], apiVersions: [gvs.version], operations: ops.split(','), resources: [...resources], scope: gvs.scope });
    }
  }
  // Lists sorted, the rules in Kyverno's order (the CEL webhooks' sortedRules).
  return sortedUniqueRules(rules);
}

/**
 * The rule entries of a classic need: Kyverno's mergeWebhook resolution. A `*` kind needs no
 * discovery and takes the policy's scope; any other kind is every served resource the
 * selector names (findResources), in that resource's scope (`Namespaced`, else `*`).
 */
function classicEntries(need: Need, table: KindTable, unresolved: string[]): RuleEntry[] {
  const out: RuleEntry[] = [];
  for (const kind of need.kinds) {
    const sel = parseKindSelector(kind);
    const served =
      sel.kind === '*'
        ? [{ group: sel.group, version: sel.version, resource: '*', subresource: sel.subresource, scope: need.scope ?? '*' }]
        : findResources(table, sel.group, sel.version, sel.kind, sel.subresource).map((r) => ({ ...r, scope: r.namespaced ? 'Namespaced' : '*' }));
    if (served.length === 0) unresolved.push(kind);
    for (const r of served) for (const operation of need.operations) out.push({ group: r.group, version: r.version, resource: r.resource, subresource: r.subresource, scope: r.scope, operation });
  }
  return out;
}

/** A CEL policy's resource rules as entries (their own webhooks are laid out in cel-webhooks.ts). */
function directEntries(need: Need): RuleEntry[] {
  const out: RuleEntry[] = [];
  for (const d of need.direct) {
    for (const group of d.groups) {
      for (const version of d.versions) {
        for (const full of d.resources) {
          const [resource, subresource = ''] = full.split('/');
          for (const op of d.operations.length ? d.operations : ALL_OPERATIONS) {
            for (const operation of op === '*' ? ALL_OPERATIONS : [op]) out.push({ group, version, resource, subresource, scope: d.scope ?? '*', operation });
          }
        }
      }
    }
  }
  return out;
}

/**
 * Unions the needs of all policies into one webhook per (path, failurePolicy) and one per
 * fine-grained policy, each with its rules as Kyverno's webhook controller builds them.
 */
export function webhookNeeds(policies: Json[], table: KindTable, purpose: NeedPurpose = 'webhooks', defaultTimeoutSeconds = DEFAULT_WEBHOOK_TIMEOUT_SECONDS): RuleNeed[] {
  const byKey = new Map<string, { need: Omit<RuleNeed, 'rules'>; entries: Map<string, RuleEntry>; unresolved: string[] }>();
  for (const need of policies.flatMap((p) => policyNeeds(p, purpose))) {
    const fine = need.fineGrained;
    const key = `${need.path}/${need.failurePolicy}${fine ? `/finegrained/${fine.namespace ?? ''}/${fine.name}` : ''}`;
    let entry = byKey.get(key);
    if (!entry) {
      entry = {
        // Kyverno's newWebhook: the timeout starts at --webhookTimeout.
        need: { path: need.path, failurePolicy: need.failurePolicy, timeoutSeconds: defaultTimeoutSeconds, groups: [], versions: [], resources: [], operations: [], unresolved: [], ...(fine ? { fineGrained: fine } : {}) },
        entries: new Map(),
        unresolved: [],
      };
      byKey.set(key, entry);
    }
    // Kyverno's capTimeout: the largest timeout asked for, at most 30 seconds.
    entry.need.timeoutSeconds = Math.min(MAX_WEBHOOK_TIMEOUT_SECONDS, Math.max(entry.need.timeoutSeconds, need.timeout));
    for (const e of [...classicEntries(need, table, entry.unresolved), ...directEntries(need)]) entry.entries.set(entryKey(e), e);
  }
  return [...byKey.values()].map(({ need, entries, unresolved }) => {
    const ops = new Map<string, Set<string>>();
    for (const e of entries.values()) {
      const k = `${e.group}|${e.version}|${e.subresource ? `${e.resource}/${e.subresource}` : e.resource}`;
      ops.set(k, (ops.get(k) ?? new Set<string>()).add(e.operation));
    }
    const triples = [...ops.entries()].sort(([a], [b]) => compare(a, b));
    return {
      ...need,
      groups: triples.map(([k]) => k.split('|')[0]),
      versions: triples.map(([k]) => k.split('|')[1]),
      resources: triples.map(([k]) => k.split('|')[2]),
      operations: triples.map(([, o]) => ALL_OPERATIONS.filter((x) => o.has(x)).join(',')),
      rules: rulesWithOperations(entries.values()),
      unresolved: [...new Set(unresolved)],
    };
  });
}

/**
 * The needs of the classic policies alone: their `validate.kyverno.svc-*` and
 * `mutate.kyverno.svc-*` webhooks. The CEL kinds get webhooks of their own (cel-webhooks.ts).
 */
export function classicWebhookNeeds(policies: Json[], table: KindTable, defaultTimeoutSeconds = DEFAULT_WEBHOOK_TIMEOUT_SECONDS): RuleNeed[] {
  return webhookNeeds(policies.filter((p) => isClassicPolicy(p as JsonObject)), table, 'webhooks', defaultTimeoutSeconds);
}

/** RuleWithOperations[] for one need. */
export function webhookRules(need: RuleNeed): Json[] {
  return need.rules;
}

/**
 * Share of a webhook's timeoutSeconds one review may take: the rest is left for the TLS
 * handshake, the network both ways and the API server, so that our 504 (or our answer)
 * arrives before the API server gives up and applies the failurePolicy on its own.
 * With Kyverno's default webhookTimeoutSeconds (10) this is 8 s.
 */
export const REVIEW_DEADLINE_SHARE = 0.8;

/**
 * Review deadline per path, from the timeoutSeconds the webhook configurations get for these
 * policies (webhookNeeds): the smallest on a path, since one path serves every webhook of
 * its kind and the server cannot tell which one called.
 */
export function reviewDeadlinesMs(policies: Json[], defaultTimeoutSeconds = DEFAULT_WEBHOOK_TIMEOUT_SECONDS): Partial<Record<WebhookKind, number>> {
  const out: Partial<Record<WebhookKind, number>> = {};
  for (const need of webhookNeeds(policies, knownKindTable(), 'webhooks', defaultTimeoutSeconds)) {
    const ms = Math.floor(need.timeoutSeconds * 1000 * REVIEW_DEADLINE_SHARE);
    out[need.path] = Math.min(out[need.path] ?? Infinity, ms);
  }
  return out;
}
