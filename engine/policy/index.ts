/**
 * Small accessors over classic (kyverno.io) policies kept as plain JSON.
 */
import { computeRules } from '../autogen';
import type { JsonObject, PolicyRef } from '../core/types';
import { wildcardMatch } from '../wildcard/wildcard';
import { checkSelector } from '../match/label-selector';
import { asArray, asObject } from '../core/json';

export type FailureAction = 'Enforce' | 'Audit';

export function policySpec(policy: JsonObject): JsonObject {
  return asObject(policy.spec);
}

export function policyMetadata(policy: JsonObject): JsonObject {
  return asObject(policy.metadata);
}

export function policyName(policy: JsonObject): string {
  return String(policyMetadata(policy).name ?? '');
}

export function policyKind(policy: JsonObject): string {
  return String(policy.kind ?? '');
}

/** A ClusterPolicy or Policy of kyverno.io (the classic rule engine). */
export function isClassicPolicy(policy: JsonObject): boolean {
  const api = String(policy.apiVersion ?? '');
  return api.startsWith('kyverno.io/') && (policy.kind === 'ClusterPolicy' || policy.kind === 'Policy');
}

/** The namespace of a namespaced Policy (undefined for ClusterPolicy). */
export function policyNamespace(policy: JsonObject): string | undefined {
  if (policy.kind !== 'Policy') return undefined;
  const ns = policyMetadata(policy).namespace;
  return typeof ns === 'string' && ns !== '' ? ns : 'default';
}

export function policyRef(policy: JsonObject): PolicyRef {
  const ref: PolicyRef = { apiVersion: String(policy.apiVersion ?? ''), kind: policyKind(policy), name: policyName(policy) };
  const ns = policyNamespace(policy);
  if (ns !== undefined) ref.namespace = ns;
  return ref;
}

/** The rules Kyverno evaluates: the policy's own followed by the autogen-* ones. */
export function policyRules(policy: JsonObject): JsonObject[] {
  return computeRules(policy);
}

/** `spec.background`, true unless set to false. */
export function isBackground(policy: JsonObject): boolean {
  return policySpec(policy).background !== false;
}

/** `policies.kyverno.io/scored: "false"` turns failures into warnings in reports. */
export function isScored(policy: JsonObject): boolean {
  const ann = asObject(policyMetadata(policy).annotations);
  return ann['policies.kyverno.io/scored'] !== 'false';
}

/** Enforce/Audit from any accepted spelling ("enforce", "AUDIT"); undefined when unknown. */
export function normalizeFailureAction(v: unknown): FailureAction | undefined {
  if (typeof v !== 'string') return undefined;
  const l = v.toLowerCase();
  if (l === 'enforce') return 'Enforce';
  if (l === 'audit') return 'Audit';
  return undefined;
}

/**
 * Kyverno's matchOverride (pkg/engine/api/engineresponse.go): the first override with a valid
 * action whose namespaces (wildcards) and namespaceSelector both admit the resource; an
 * override naming no namespaces covers every namespace its selector (if any) selects.
 */
function overrideFor(overrides: unknown, namespace: string | undefined, namespaceLabels: Record<string, string> | undefined): FailureAction | undefined {
  if (!Array.isArray(overrides)) return undefined;
  for (const o of overrides) {
    const ov = asObject(o);
    const action = normalizeFailureAction(ov.action);
    if (!action) continue;
    const selected = ov.namespaceSelector === undefined || ov.namespaceSelector === null || checkSelector(ov.namespaceSelector, namespaceLabels ?? {}).matched;
    if (!Array.isArray(ov.namespaces)) {
      if (selected) return action;
      continue;
    }
    if (namespace !== undefined && ov.namespaces.map(String).some((p) => wildcardMatch(p, namespace)) && selected) return action;
  }
  return undefined;
}

/**
 * The failure action of a validate rule (Kyverno's failureActionForRule): the rule's
 * `validate.failureActionOverrides`, then its `validate.failureAction`, win over the
 * policy's `validationFailureActionOverrides` and `validationFailureAction`; Audit when
 * nothing is set. Overrides match the resource's namespace and that namespace's labels.
 */
export function ruleFailureAction(policy: JsonObject, rule: JsonObject, resourceNamespace?: string, namespaceLabels?: Record<string, string>): FailureAction {
  const validate = asObject(rule.validate);
  const spec = policySpec(policy);
  if (rule.validate !== undefined && rule.validate !== null) {
    const ruleAction = overrideFor(validate.failureActionOverrides, resourceNamespace, namespaceLabels) ?? normalizeFailureAction(validate.failureAction);
    if (ruleAction) return ruleAction;
  }
  // A verifyImages rule (without validate): the first entry that enforces, else the first that sets an action.
  if ((rule.validate === undefined || rule.validate === null) && Array.isArray(rule.verifyImages)) {
    const actions = rule.verifyImages.map((e) => normalizeFailureAction(asObject(e).failureAction)).filter((a): a is FailureAction => a !== undefined);
    if (actions.length > 0) return actions.includes('Enforce') ? 'Enforce' : actions[0];
  }
  return (
    overrideFor(spec.validationFailureActionOverrides, resourceNamespace, namespaceLabels) ??
    normalizeFailureAction(spec.validationFailureAction) ??
    'Audit'
  );
}

export function ruleName(rule: JsonObject): string {
  return String(rule.name ?? '');
}

export function ruleKinds(rule: JsonObject): { validate: boolean; mutate: boolean; generate: boolean; verifyImages: boolean } {
  return {
    validate: rule.validate !== undefined && rule.validate !== null,
    mutate: rule.mutate !== undefined && rule.mutate !== null,
    generate: rule.generate !== undefined && rule.generate !== null,
    verifyImages: Array.isArray(rule.verifyImages) && rule.verifyImages.length > 0,
  };
}

/**
 * The resource descriptions a classic rule matches on: each `match.any` and `match.all`
 * block's `resources`, and the older `match.resources` when it is set (empty counts as unset).
 */
export function matchResourceDescriptions(rule: JsonObject): JsonObject[] {
  const match = asObject(rule.match);
  const blocks = [...asArray(match.any), ...asArray(match.all)].map((b) => asObject(asObject(b).resources));
  const legacy = asObject(match.resources);
  if (Object.keys(legacy).length > 0) blocks.push(legacy);
  return blocks;
}
