/**
 * What an admitted request means for the generate rules of one policy, as Kyverno's
 * generation handler decides it (pkg/webhooks/resource/generation): a matching trigger gets
 * its downstream objects; a deleted trigger gets them only from rules that match DELETE
 * explicitly, and otherwise loses them when the rule synchronizes; so does a trigger that
 * an UPDATE took out of a synchronized rule's match. Pure: server processes run it on the
 * request, the primary again once it has fetched clone sources.
 */
import { applyPolicy } from '../engine/apply';
import { matchResourceDescriptions } from '../engine/policy';
import { CONTROLLER_FAILURE } from '../engine/generate';
import type { AdmissionRequest, ClusterState, JsonObject, RuleResult } from '../engine/core/types';
import type { BackgroundRequest, GeneratedItem, PendingGeneration, TriggerRef } from './protocol';
import { asArray, asObject } from '../engine/core/json';
import { firedMutateExistingRules } from './mutate-existing';
import { ruleMatchesRequest } from '../engine/match';
import { gpolAdmissionWork, isGeneratingPolicy } from './gpol';

type Json = Record<string, unknown>;

/** "name" for a ClusterPolicy, "namespace/name" for a Policy (log lines, items). */
export function policyKey(policy: Json): string {
  const meta = asObject(policy.metadata);
  return policy.kind === 'Policy' && meta.namespace ? `${String(meta.namespace)}/${String(meta.name)}` : String(meta.name ?? '');
}

export function generateRulesOf(policy: Json): Json[] {
  return asArray(asObject(policy.spec).rules).map(asObject).filter((r) => typeof r.generate === 'object' && r.generate !== null);
}

/** The generate patterns of a rule: the rule's own, or each foreach entry. */
export function generatePatterns(rule: Json): Json[] {
  const spec = asObject(rule.generate);
  return Array.isArray(spec.foreach) ? spec.foreach.map(asObject).map((fe) => ({ apiVersion: spec.apiVersion, kind: spec.kind, ...fe })) : [spec];
}

/** Clone sources live in the cluster, which server processes do not hold: the primary fetches them. */
export function needsCloneSources(policy: Json): boolean {
  return generateRulesOf(policy).some((rule) =>
    generatePatterns(rule).some((p) => (asObject(p.clone).name ?? '') !== '' || asArray(asObject(p.cloneList).kinds).length > 0),
  );
}

/** Kyverno's MatchDeleteOperation: the rule lists DELETE among its match operations. */
function matchesDeleteExplicitly(rule: Json): boolean {
  return matchResourceDescriptions(rule).some((b) => asArray(b.operations).includes('DELETE'));
}

export function triggerOf(request: AdmissionRequest): TriggerRef {
  const o = (request.operation === 'DELETE' ? request.oldObject : request.object) ?? request.oldObject ?? {};
  const meta = asObject(o.metadata);
  const ref: TriggerRef = { apiVersion: String(o.apiVersion ?? ''), kind: String(o.kind ?? request.kind?.kind ?? ''), name: String(meta.name ?? '') };
  // The API server sends a Namespace's own name as the request namespace.
  const namespace = typeof meta.namespace === 'string' && meta.namespace ? meta.namespace : request.namespace;
  if (namespace && ref.kind !== 'Namespace') ref.namespace = namespace;
  if (typeof meta.uid === 'string' && meta.uid) ref.uid = meta.uid;
  return ref;
}

export interface GenerateWork {
  items: GeneratedItem[];
  /** One line per rule that could not be applied (policy, rule, reason). */
  errors: string[];
  /** The policy's generate results on the request's object (what Kyverno reports on the trigger). */
  results?: RuleResult[];
}

/** A rule whose downstream objects could not be built (the engine's pass carrying the controller's failure). */
export function isControllerFailure(r: RuleResult): boolean {
  return r.status === 'pass' && r.message.startsWith(CONTROLLER_FAILURE);
}

function generation(policy: Json, request: AdmissionRequest, cluster: ClusterState): RuleResult[] {
  return applyPolicy(policy as JsonObject, { request, cluster, phases: ['generate'] }).rules.filter((r) => r.type === 'Generation');
}

/** The downstream work one policy's generate rules ask for on this request. */
export function generateWork(policy: Json, request: AdmissionRequest, cluster: ClusterState): GenerateWork {
  const work: GenerateWork = { items: [], errors: [] };
  const key = policyKey(policy);
  const rules = new Map(generateRulesOf(policy).map((r) => [String(r.name ?? ''), r]));
  const trigger = triggerOf(request);
  const spec = asObject(policy.spec);
  const serverSideApply = spec.useServerSideApply === true;
  const results = generation(policy, request, cluster);
  work.results = results;
  for (const result of results) {
    const rule = rules.get(result.name);
    if (!rule) continue;
    const synchronize = asObject(rule.generate).synchronize === true;
    const failed = result.status === 'error' || isControllerFailure(result);
    if (failed) {
      work.errors.push(`generate: policy ${key} rule ${result.name}: ${result.message}`);
      continue;
    }
    if (result.status !== 'pass') continue;
    const resources = result.generatedResources ?? [];
    if (resources.length === 0) continue;
    if (request.operation === 'DELETE' && !matchesDeleteExplicitly(rule)) {
      if (synchronize) work.items.push({ action: 'delete', policy: key, rule: result.name, trigger, resources });
      continue;
    }
    work.items.push({ action: 'create', policy: key, rule: result.name, synchronize, serverSideApply, operation: request.operation, trigger, resources });
  }
  // A synchronized rule that applied to the old object but not to the new one (no longer
  // matched, or its preconditions no longer hold: a skipped result): its downstream goes, as
  // Kyverno's ApplyBackgroundChecks fails such a rule and syncTriggerAction deletes for it.
  if (request.operation === 'UPDATE' && request.oldObject && [...rules.values()].some((r) => asObject(r.generate).synchronize === true)) {
    const matchedNow = new Set(results.filter((r) => r.status !== 'skip').map((r) => r.name));
    for (const result of generation(policy, { ...request, object: request.oldObject }, cluster)) {
      const rule = rules.get(result.name);
      if (!rule || matchedNow.has(result.name) || result.status !== 'pass' || asObject(rule.generate).synchronize !== true) continue;
      if (result.generatedResources?.length) work.items.push({ action: 'delete', policy: key, rule: result.name, trigger, resources: result.generatedResources });
    }
  }
  return work;
}

/** Whether a rule's match selects the request's object, or the old object of an UPDATE or DELETE. */
function concernsRule(policy: Json, rule: Json, request: AdmissionRequest, cluster: ClusterState): boolean {
  const meta = asObject(policy.metadata);
  const policyNs = policy.kind === 'Policy' && typeof meta.namespace === 'string' ? meta.namespace : undefined;
  const matches = (r: AdmissionRequest) => ruleMatchesRequest(rule as JsonObject, r, cluster, policyNs).matched;
  if (request.object && matches(request)) return true;
  return !!request.oldObject && matches({ ...request, object: request.oldObject });
}

/**
 * A server process's part, run after the answer is sent: which policies' background rules
 * this admitted request fires. A generate policy counts when it asks for downstream work (or
 * has clone sources, which only the primary can read); a mutate-existing policy when one of
 * its rules matches. Each becomes one BackgroundRequest (Kyverno's UpdateRequest), which the
 * background controller persists and evaluates again with what it reads from the cluster.
 */
export function runGeneration(pending: PendingGeneration, cluster: ClusterState): GenerateWork {
  const out: GenerateWork = { items: [], errors: [] };
  const unit = (type: BackgroundRequest['type'], policy: JsonObject, rules: string[]): BackgroundRequest => ({ action: 'request', type, policy, rules, request: pending.request });
  for (const policy of pending.policies) {
    try {
      if (isGeneratingPolicy(policy)) {
        // Kyverno's gpol handler: one CELGenerate UpdateRequest per policy whose webhook got the request.
        const gpol = gpolAdmissionWork(policy, pending.request, cluster);
        if (gpol) out.items.push({ ...unit('cel-generate', policy, []), ...gpol });
        continue;
      }
      if (needsCloneSources(policy)) {
        // Only the primary reads clone sources; the rules the request can concern (their match
        // selects the object, or the old one an UPDATE or DELETE may take their downstream from)
        // go up, as Kyverno makes UpdateRequests of the rules ApplyBackgroundChecks applies.
        const rules = generateRulesOf(policy).filter((r) => concernsRule(policy, r, pending.request, cluster)).map((r) => String(r.name ?? ''));
        if (rules.length) out.items.push(unit('generate', policy, rules));
        continue;
      }
      const work = generateWork(policy, pending.request, cluster);
      const rules = [...new Set(work.items.flatMap((i) => (i.action === 'create' || i.action === 'delete' ? [i.rule] : [])))];
      if (rules.length) out.items.push(unit('generate', policy, rules));
      out.errors.push(...work.errors);
    } catch (e) {
      out.errors.push(`generate: policy ${policyKey(policy)}: ${(e as Error).message}`);
    }
  }
  if (pending.downstream && pending.request.oldObject) {
    const labels = asObject(asObject(pending.request.oldObject.metadata).labels);
    out.items.push({ action: 'downstream', operation: pending.request.operation, labels: Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, String(v)])), request: pending.request });
  }
  for (const policy of pending.mutateExisting ?? []) {
    try {
      const rules = firedMutateExistingRules(policy, pending.request, cluster);
      if (rules.length) out.items.push(unit('mutate', policy, rules));
    } catch (e) {
      out.errors.push(`mutate existing: policy ${policyKey(policy)}: ${(e as Error).message}`);
    }
  }
  return out;
}
