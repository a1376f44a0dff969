/**
 * What a ClusterPolicy/Policy event means for the downstream objects of its generate rules, as
 * Kyverno's policy controller decides it (pkg/policy/policy_controller.go updatePolicy and
 * deletePolicy, pkg/policy/generate.go). Pure: the background controller lists and acts.
 * - A deleted policy, and the rules a policy update removed, lose their downstream objects
 *   when they synchronize and do not set orphanDownstreamOnPolicyDelete
 *   (createURForDownstreamDeletion; cleanupPatterns names the kinds to look at).
 * - An update that keeps every rule but changes a rule's target (kind, name, namespace, clone
 *   or cloneList) takes the policy and rule labels off the objects of the old kinds
 *   (ruleChange, unlabelDownstream): they stay, no longer managed by the rule.
 * - Every policy event runs each synchronized data rule again for the triggers of its existing
 *   downstream objects (syncDataPolicyChanges), so a changed `data` reaches them.
 */
import { asArray, asObject, jsonEqual } from '../engine/core/json';
import type { JsonObject } from '../engine/core/types';
import { cloneListKind } from './clone-sources';
import { generatePatterns, generateRulesOf } from './generate-work';
import { mutateExistingRules } from './mutate-existing';
import { MANAGED_BY_LABEL } from '../engine/kube/labels';

type Json = Record<string, unknown>;

const G = 'generate.kyverno.io/';

/** A kind to list: apiVersion and kind, both literal. */
export interface KindRef {
  apiVersion: string;
  kind: string;
}

const literal = (s: string) => s !== '' && !s.includes('{{') && !s.includes('*');

/**
 * Kyverno's canBackgroundProcess, first half: only a policy with generate or mutate-existing
 * rules is looked at on policy events.
 */
export function hasBackgroundRules(policy: Json): boolean {
  return generateRulesOf(policy).length > 0 || mutateExistingRules(policy).length > 0;
}

/** Whether two policies' specs are the same (Kyverno compares them before anything else on update). */
export function sameSpec(a: Json, b: Json): boolean {
  return jsonEqual(a.spec ?? null, b.spec ?? null);
}

/**
 * Kyverno's cleanupPatterns for one pattern: its own apiVersion and kind when both are set,
 * else each cloneList kind that names a version (wildcards cannot be listed).
 */
export function cleanupKinds(pattern: Json): KindRef[] {
  const apiVersion = String(pattern.apiVersion ?? '');
  const kind = String(pattern.kind ?? '');
  if (apiVersion && kind) return literal(apiVersion) && literal(kind) ? [{ apiVersion, kind }] : [];
  const out: KindRef[] = [];
  for (const spec of asArray(asObject(pattern.cloneList).kinds).map(String)) {
    const k = cloneListKind(spec);
    if (k && literal(k.apiVersion) && literal(k.kind)) out.push(k);
  }
  return out;
}

/** The labels every downstream object of a policy's rule carries (Kyverno's FindDownstream selector). */
export function ruleDownstreamSelector(policy: Json, rule: string): string {
  const m = asObject(policy.metadata);
  return [
    [`${G}policy-name`, String(m.name ?? '')],
    [`${G}policy-namespace`, policy.kind === 'Policy' ? String(m.namespace ?? '') : ''],
    [`${G}rule-name`, rule],
    [MANAGED_BY_LABEL, 'kyverno'],
  ].map(([k, v]) => `${k}=${v}`).join(',');
}

/** One rule's downstream kinds to look at: the rule's name and the kinds. */
export interface RuleKinds {
  rule: string;
  kinds: KindRef[];
}

/**
 * createURForDownstreamDeletion: for each given rule that synchronizes and does not orphan its
 * downstream on policy deletion, the kinds of its patterns (and foreach patterns). Clone and
 * cloneList rules included, as in Kyverno 1.19: since kyverno/kyverno#16329 (df66de287e, in
 * release-1.19) pkg/policy/generate.go createURForDownstreamDeletion passes every pattern
 * through cleanupPatterns, with no data/clone test, and its unit test
 * TestCreateURForDownstreamDeletion_CloneRule_OrphanFalseCreatesCleanupUR asserts the clone
 * target's cleanup. Nothing downstream of that spares a clone: generator.go generate labels a
 * cloned object with common.ManageLabels exactly as a data one (policy-name, policy-namespace,
 * rule-name, managed-by: what FindDownstream selects on), and the UpdateRequest is processed
 * alike (controller.go applyGenerate → cleanup.go deleteDownstream, which deletes
 * status.generatedResources). The chainsaw scenarios clone/sync/*-clone-sync-delete-{policy,rule}
 * and their READMEs predate that change (kuttl era, kyverno/kyverno#1880 kept clones); in a
 * cluster they can only see the clone before the asynchronous cleanup removes it.
 */
export function downstreamToDelete(policy: Json, rules: Json[] = generateRulesOf(policy)): RuleKinds[] {
  const out: RuleKinds[] = [];
  for (const rule of rules) {
    const generate = asObject(rule.generate);
    if (typeof rule.generate !== 'object' || rule.generate === null) continue;
    if (generate.synchronize !== true || generate.orphanDownstreamOnPolicyDelete === true) continue;
    const kinds = generatePatterns(rule).flatMap(cleanupKinds);
    if (kinds.length) out.push({ rule: String(rule.name ?? ''), kinds });
  }
  return out;
}

/**
 * syncDataPolicyChanges: each synchronized rule's data patterns (its own, and each foreach
 * entry with data), as the kinds whose downstream objects get their trigger processed again.
 */
export function syncedDataKinds(policy: Json): RuleKinds[] {
  const out: RuleKinds[] = [];
  for (const rule of generateRulesOf(policy)) {
    const generate = asObject(rule.generate);
    if (generate.synchronize !== true) continue;
    const withData = (p: Json) => p.data !== undefined && p.data !== null;
    // The rule's own pattern, then each foreach entry (with the rule's apiVersion and kind as defaults).
    const patterns = Array.isArray(generate.foreach) ? [generate, ...generatePatterns(rule)] : [generate];
    const kinds = patterns.filter(withData).flatMap(cleanupKinds);
    if (kinds.length) out.push({ rule: String(rule.name ?? ''), kinds });
  }
  return out;
}

/** Kyverno's ruleChange: the rules an update removed, or else the kinds whose objects lose their rule labels. */
export interface RuleChange {
  deletedRules: JsonObject[];
  /** Per kept generate rule, the kinds (as Kyverno names them: a kind or a cloneList entry) whose target changed. */
  relabel: Array<{ rule: string; kinds: string[] }>;
}

const resourceSpec = (g: Json) => ({ apiVersion: g.apiVersion ?? '', kind: g.kind ?? '', namespace: g.namespace ?? '', name: g.name ?? '', uid: g.uid ?? '' });

export function ruleChange(oldPolicy: Json, newPolicy: Json): RuleChange {
  const newRules = new Map(asArray(asObject(newPolicy.spec).rules).map(asObject).map((r) => [String(r.name ?? ''), r]));
  const out: RuleChange = { deletedRules: [], relabel: [] };
  for (const oldRule of asArray(asObject(oldPolicy.spec).rules).map(asObject)) {
    const newRule = newRules.get(String(oldRule.name ?? ''));
    if (!newRule) {
      out.deletedRules.push(oldRule as JsonObject);
      continue;
    }
    if (typeof oldRule.generate !== 'object' || oldRule.generate === null || typeof newRule.generate !== 'object' || newRule.generate === null) continue;
    const before = asObject(oldRule.generate);
    const after = asObject(newRule.generate);
    const kinds: string[] = [];
    if (!jsonEqual(resourceSpec(before), resourceSpec(after)) || !jsonEqual(asObject(before.clone), asObject(after.clone))) kinds.push(String(before.kind ?? ''));
    if (!jsonEqual(asObject(before.cloneList), asObject(after.cloneList))) kinds.push(...asArray(asObject(before.cloneList).kinds).map(String));
    // As Kyverno: foreach entries are paired by their list expression, and a changed entry
    // names the rule-level kind and cloneList kinds.
    for (const oldEntry of asArray(before.foreach).map(asObject)) {
      for (const newEntry of asArray(after.foreach).map(asObject)) {
        if (oldEntry.list !== newEntry.list) continue;
        if (!jsonEqual(resourceSpec(oldEntry), resourceSpec(newEntry)) || !jsonEqual(asObject(oldEntry.clone), asObject(newEntry.clone))) kinds.push(String(before.kind ?? ''));
        if (!jsonEqual(asObject(oldEntry.cloneList), asObject(newEntry.cloneList))) kinds.push(...asArray(asObject(before.cloneList).kinds).map(String));
      }
    }
    out.relabel.push({ rule: String(oldRule.name ?? ''), kinds });
  }
  return out;
}

/** The labels unlabelDownstream removes from an object no longer managed by its rule. */
export const RULE_LABELS = [`${G}policy-name`, `${G}policy-namespace`, `${G}rule-name`];

/** unlabelDownstream's selector (no managed-by term, as in Kyverno). */
export function ruleLabelSelector(policy: Json, rule: string): string {
  const m = asObject(policy.metadata);
  return `${G}policy-name=${String(m.name ?? '')},${G}policy-namespace=${policy.kind === 'Policy' ? String(m.namespace ?? '') : ''},${G}rule-name=${rule}`;
}
