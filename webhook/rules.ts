/**
 * Which requests must reach the webhook: the kinds and operations some installed policy
 * matches, turned into admissionregistration.k8s.io/v1 webhooks (one per path and
 * failurePolicy, as Kyverno does). Pure: kinds are resolved to resources through a table the
 * caller builds from discovery (`knownKindTable` from engine/kube covers the well-known kinds for offline planning).
 */
import { generatedKinds } from '../engine/generate/kinds';
import { asArray, asObject } from '../engine/core/json';
import { POD_CONTROLLERS } from '../engine/autogen';
import { isClassicPolicy, matchResourceDescriptions } from '../engine/policy';
import type { JsonObject } from '../engine/core/types';
import { knownKindTable, resolveKind, type KindTable } from '../engine/kube';

type Json = Record<string, unknown>;

const ALL_OPERATIONS = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

export type WebhookKind = 'validate' | 'mutate';

export interface RuleNeed {
  path: WebhookKind;
  failurePolicy: 'Fail' | 'Ignore';
  timeoutSeconds: number;
  /** Webhook-rule shaped. */
  groups: string[];
  versions: string[];
  resources: string[];
  operations: string[];
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
  /** CEL policies give webhook-shaped rules already. */
  direct: Array<{ groups: string[]; versions: string[]; resources: string[]; operations: string[] }>;
  fineGrained?: RuleNeed['fineGrained'];
}

/**
 * Generate rules run in Kyverno's validating webhook on the trigger's admission: CREATE and
 * UPDATE generate; with synchronize a trigger's DELETE removes what it generated, so DELETE
 * must reach us too (explicit match operations win, as for every rule). The generated kind
 * of a synchronized rule is registered for UPDATE and DELETE (see classicNeeds); clone
 * sources are not: a change to a source reaches its copies on their triggers' next change.
 */
function generateOperations(rule: Json): string[] {
  return asObject(rule.generate).synchronize === true ? ['CREATE', 'UPDATE', 'DELETE'] : ['CREATE', 'UPDATE'];
}

/**
 * The webhook a policy is served by: Kyverno's `-ignore` one for `failurePolicy: Ignore`, else
 * `-fail` (Spec.GetFailurePolicy: spec.webhookConfiguration.failurePolicy first, then the spec's).
 */
export function failurePolicyOf(policy: Json): 'Fail' | 'Ignore' {
  const spec = asObject(policy.spec);
  return (asObject(spec.webhookConfiguration).failurePolicy ?? spec.failurePolicy) === 'Ignore' ? 'Ignore' : 'Fail';
}

function classicNeeds(policy: Json): Need[] {
  const spec = asObject(policy.spec);
  const failurePolicy = failurePolicyOf(policy);
  // Spec.GetWebhookTimeoutSeconds: spec.webhookConfiguration.timeoutSeconds first, then the spec's.
  const configuredTimeout = asObject(spec.webhookConfiguration).timeoutSeconds ?? spec.webhookTimeoutSeconds;
  const timeout = typeof configuredTimeout === 'number' ? configuredTimeout : 10;
  const autogen = String(asObject(asObject(policy.metadata).annotations)['pod-policies.kyverno.io/autogen-controllers'] ?? '');
  // Kyverno's CanAutoGen: one generate rule turns autogen off for the whole policy.
  const autogenOff = asArray(spec.rules).some((r) => asObject(r).generate !== undefined && asObject(r).generate !== null);
  // Kyverno's CustomWebhookMatchConditions: the policy's own webhook, with its conditions.
  const conditions = asArray(asObject(spec.webhookConfiguration).matchConditions).map(asObject);
  const meta = asObject(policy.metadata);
  const fineGrained = conditions.length
    ? { name: String(meta.name ?? ''), ...(typeof meta.namespace === 'string' && meta.namespace ? { namespace: meta.namespace } : {}), matchConditions: conditions }
    : undefined;
  const needs: Need[] = [];
  for (const rule of asArray(spec.rules).map(asObject)) {
    const blocks = matchResourceDescriptions(rule);
    const kinds = new Set<string>();
    const ops = new Set<string>();
    for (const b of blocks) {
      for (const k of asArray(b.kinds)) kinds.add(String(k));
      for (const o of asArray(b.operations)) ops.add(String(o));
    }
    if ([...kinds].some((k) => k === 'Pod' || k.endsWith('/Pod')) && autogen !== 'none' && !autogenOff) {
      const controllers = autogen ? autogen.split(',').map((s) => s.trim()).filter(Boolean) : POD_CONTROLLERS;
      for (const c of controllers) kinds.add(c);
    }
    const paths: WebhookKind[] = [];
    // Kyverno verifies images in its mutating webhook (it may rewrite image digests).
    // A mutate-existing rule (mutate.targets) acts after admission, from Kyverno's validating
    // webhook (HasMutateExisting there, HasMutateStandard in the mutating one).
    const mutateExisting = asArray(asObject(rule.mutate).targets).length > 0;
    if (rule.validate || mutateExisting) paths.push('validate');
    if ((rule.mutate && !mutateExisting) || rule.verifyImages) paths.push('mutate');
    for (const path of paths) {
      const operations = ops.size ? [...ops] : path === 'mutate' ? ['CREATE', 'UPDATE'] : ALL_OPERATIONS;
      needs.push({ path, failurePolicy, timeout, kinds: [...kinds], operations, direct: [] });
    }
    if (rule.generate) needs.push({ path: 'validate', failurePolicy, timeout, kinds: [...kinds], operations: ops.size ? [...ops] : generateOperations(rule), direct: [] });
    // A synchronized rule's downstream kinds too (Kyverno registers them for every generate
    // rule): an edit or deletion of a generated object is undone (webhook/background.ts).
    if (asObject(rule.generate).synchronize === true) {
      const downstream = generatedKinds([{ ...policy, spec: { rules: [rule] } }]);
      if (downstream.length) needs.push({ path: 'validate', failurePolicy, timeout, kinds: downstream, operations: ['UPDATE', 'DELETE'], direct: [] });
    }
  }
  return fineGrained ? needs.map((n) => ({ ...n, fineGrained })) : needs;
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
    }));
  return [{ path, failurePolicy, timeout, kinds: [], operations: [], direct }];
}

/** What one policy needs from the webhook configurations (empty for kinds we do not serve). */
export function policyNeeds(policy: Json): Need[] {
  switch (policy.kind) {
    case 'ClusterPolicy':
    case 'Policy':
      return classicNeeds(policy);
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

/** Unions the needs of all policies into at most one rule set per (path, failurePolicy). */
export function webhookNeeds(policies: Json[], table: KindTable): RuleNeed[] {
  const byKey = new Map<string, { need: RuleNeed; rules: Map<string, Set<string>> }>();
  for (const need of policies.flatMap(policyNeeds)) {
    const fine = need.fineGrained;
    const key = `${need.path}/${need.failurePolicy}${fine ? `/finegrained/${fine.namespace ?? ''}/${fine.name}` : ''}`;
    let entry = byKey.get(key);
    if (!entry) {
      entry = {
        need: { path: need.path, failurePolicy: need.failurePolicy, timeoutSeconds: 0, groups: [], versions: [], resources: [], operations: [], unresolved: [], ...(fine ? { fineGrained: fine } : {}) },
        rules: new Map(),
      };
      byKey.set(key, entry);
    }
    entry.need.timeoutSeconds = Math.min(30, Math.max(entry.need.timeoutSeconds, need.timeout));
    const add = (group: string, version: string, resource: string, ops: string[]) => {
      const k = `${group}|${version}|${resource}`;
      const set = entry!.rules.get(k) ?? new Set<string>();
      for (const o of ops) set.add(o === '*' ? 'ALL' : o);
      entry!.rules.set(k, set);
    };
    for (const kind of need.kinds) {
      const resolved = resolveKind(kind, table);
      if (!resolved) entry.need.unresolved.push(kind);
      else for (const r of resolved) add(r.group, r.version, r.resource, need.operations);
    }
    for (const d of need.direct) {
      for (const g of d.groups) for (const v of d.versions) for (const r of d.resources) add(g, v, r, d.operations.length ? d.operations : ALL_OPERATIONS);
    }
  }
  return [...byKey.values()].map(({ need, rules }) => {
    // Flattened to one list per field; webhookRules() regroups them exactly.
    const triples = [...rules.entries()].sort(([a], [b]) => a.localeCompare(b));
    return {
      ...need,
      timeoutSeconds: need.timeoutSeconds || 10,
      groups: triples.map(([k]) => k.split('|')[0]),
      versions: triples.map(([k]) => k.split('|')[1]),
      resources: triples.map(([k]) => k.split('|')[2]),
      operations: triples.map(([, ops]) => (ops.has('ALL') ? ALL_OPERATIONS : ALL_OPERATIONS.filter((o) => ops.has(o))).join(',')),
      unresolved: [...new Set(need.unresolved)],
    };
  });
}

/**
 * The needs of the classic policies alone: their `validate.kyverno.svc-*` and
 * `mutate.kyverno.svc-*` webhooks. The CEL kinds get webhooks of their own (cel-webhooks.ts).
 */
export function classicWebhookNeeds(policies: Json[], table: KindTable): RuleNeed[] {
  return webhookNeeds(policies.filter((p) => isClassicPolicy(p as JsonObject)), table);
}

/** RuleWithOperations[] for one need: resources grouped by (group, version, operations). */
export function webhookRules(need: RuleNeed): Json[] {
  const groups = new Map<string, Json>();
  need.resources.forEach((resource, i) => {
    const key = `${need.groups[i]}|${need.operations[i]}`;
    const rule = groups.get(key) ?? {
      apiGroups: [need.groups[i]],
      // Any version: with matchPolicy Equivalent the API server converts, and a kind table
      // built offline may name a version this cluster does not serve.
      apiVersions: ['*'],
      operations: need.operations[i].split(','),
      resources: [] as string[],
      scope: '*',
    };
    if (!(rule.resources as string[]).includes(resource)) (rule.resources as string[]).push(resource);
    groups.set(key, rule);
  });
  return [...groups.values()];
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
export function reviewDeadlinesMs(policies: Json[]): Partial<Record<WebhookKind, number>> {
  const out: Partial<Record<WebhookKind, number>> = {};
  for (const need of webhookNeeds(policies, knownKindTable())) {
    const ms = Math.floor(need.timeoutSeconds * 1000 * REVIEW_DEADLINE_SHARE);
    out[need.path] = Math.min(out[need.path] ?? Infinity, ms);
  }
  return out;
}
