/**
 * Kyverno's rule auto-generation for pod controllers (pkg/autogen/v1): a Pod rule of a
 * ClusterPolicy/Policy also yields `autogen-<rule>` (DaemonSet, Deployment, Job,
 * ReplicaSet, ReplicationController, StatefulSet) and `autogen-cronjob-<rule>` (CronJob).
 */
import type { JsonObject } from '../core/types';
import { POD_CONTROLLERS, actualControllers, rulesOf, type AutogenSupport } from './controllers';
import { blockKinds, generateRules, isAutogenRuleName } from './generate';

export { AUTOGEN_ANNOTATION, POD_CONTROLLERS, canAutoGen, type AutogenSupport } from './controllers';
export { autogenRuleName, isAutogenRuleName } from './generate';
export { rewriteText, shiftReferences } from './rewrite';

/**
 * The rules Kyverno evaluates for a policy: its own rules followed by the autogen-* rules
 * (per source rule: the controllers rule, then the CronJob rule).
 *
 * `kind` mirrors Kyverno's ComputeRules(policy, kind): Kyverno's validate (and the CLI's
 * validation) passes the resource's kind, which keeps only the autogen rule for that
 * controller (and none unless the kind is one of the active controllers); mutate,
 * generate and verifyImages pass "" and get every autogen rule.
 */
export function computeRules(policy: JsonObject, kind = ''): JsonObject[] {
  return computedRules(policy, kind).slice();
}

/**
 * computeRules without the copy, for the engine's own loops: the array is shared between
 * calls and must not be changed.
 */
export function computedRules(policy: JsonObject, kind = ''): readonly JsonObject[] {
  // Every evaluation asks again for the same policy; generating the rules dominated corpus
  // runs. Policies are treated as immutable once loaded, so the answer is memoised per object.
  let byKind = rulesByPolicy.get(policy);
  if (!byKind) rulesByPolicy.set(policy, (byKind = new Map()));
  let rules = byKind.get(kind);
  if (!rules) byKind.set(kind, (rules = generateComputedRules(policy, kind)));
  return rules;
}

const rulesByPolicy = new WeakMap<JsonObject, Map<string, JsonObject[]>>();

function generateComputedRules(policy: JsonObject, kind: string): JsonObject[] {
  const rules = rulesOf(policy);
  const { controllers } = actualControllers(policy);
  let requested = kind;
  if (kind !== '') {
    if (!controllers.has(kind)) return rules;
  } else {
    requested = [...controllers].join(',');
  }
  if (requested === 'none') return rules;
  const generated = generateRules(rules, requested);
  if (generated.length === 0) return rules;
  return [...rules.filter((r) => !isAutogenRuleName(String(r.name ?? ''))), ...generated];
}

/** Kinds matched by a generated rule (legacy, all and any blocks). */
function generatedKinds(rule: JsonObject): string[] {
  return [...new Set(blockKinds(rule.match))];
}

/**
 * The controllers Kyverno generates rules for in this policy, in Kyverno's default order
 * (unknown names from the annotation last). Empty when autogen does not apply.
 */
export function autogenControllers(policy: JsonObject): string[] {
  const own = new Set(rulesOf(policy));
  const kinds = new Set<string>();
  for (const rule of computeRules(policy)) {
    if (own.has(rule)) continue;
    // Generated rules name kinds as group/version/kind; the controllers are the kinds.
    for (const k of generatedKinds(rule)) kinds.add(k.slice(k.lastIndexOf('/') + 1));
  }
  const order = (k: string) => {
    const i = (POD_CONTROLLERS as readonly string[]).indexOf(k);
    return i < 0 ? POD_CONTROLLERS.length : i;
  };
  return [...kinds].sort((a, b) => order(a) - order(b) || a.localeCompare(b));
}

export interface AutogenDescription {
  /** The rules generated from this rule, in evaluation order. */
  rules: Array<{ name: string; kinds: string[] }>;
  /** Why nothing is generated (policy-wide reason or rule-specific), when `rules` is empty. */
  reason?: string;
}

/** What Kyverno generates from one rule of a policy, for editor hovers. */
export function describeAutogen(policy: JsonObject, ruleName: string): AutogenDescription {
  const source = rulesOf(policy).find((r) => r.name === ruleName);
  if (!source) return { rules: [], reason: `no rule named ${ruleName}` };
  return describeAutogenRule(source, autogenSetting(policy));
}

/**
 * describeAutogen for every rule of the policy, index-aligned with spec.rules, in time linear
 * in the policy's size (the policy-wide part is computed once).
 */
export function describeAutogenRules(policy: JsonObject): AutogenDescription[] {
  const setting = autogenSetting(policy);
  return rulesOf(policy).map((rule) => describeAutogenRule(rule, setting));
}

/** The policy-wide half of autogen: whether it applies, and for which controllers. */
export interface AutogenSetting {
  support: AutogenSupport;
  /** The controllers computeRules generates for ('none' when autogen does not apply). */
  requested: string;
}

export function autogenSetting(policy: JsonObject): AutogenSetting {
  const { controllers, support } = actualControllers(policy);
  return { support, requested: [...controllers].join(',') };
}

/**
 * One rule's autogen under a policy's setting: the rule's generated rules depend only on the
 * rule and the setting, so editors can describe (and cache) rules one at a time.
 */
export function describeAutogenRule(source: JsonObject, setting: AutogenSetting): AutogenDescription {
  const ruleName = String(source.name ?? '');
  if (isAutogenRuleName(ruleName)) return { rules: [], reason: 'rules named autogen-* are never auto-generated from' };
  const mine = setting.requested === 'none' ? [] : generateRules([source], setting.requested);
  if (mine.length > 0) return { rules: mine.map((r) => ({ name: String(r.name), kinds: generatedKinds(r) })) };
  if (!setting.support.apply) return { rules: [], reason: setting.support.reason };
  if (setting.requested.split(',').includes('none')) return { rules: [], reason: 'autogen is disabled by the autogen-controllers annotation' };
  return { rules: [], reason: 'the rule does not match Pod, or its body has nothing Kyverno moves under spec.template' };
}
