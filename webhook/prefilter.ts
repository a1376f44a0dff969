/**
 * The webhook's policy set: engine/evaluate's kind index (each review runs only the policies
 * whose match can select its kind) plus what reviews need to know about the set as a whole,
 * found once per policy set so reviews pay nothing for the rest: the policies with generate
 * rules, and whether any policy verifies or reads images.
 */
import { PolicyKindIndex } from '../engine/evaluate';
import type { JsonObject } from '../engine/core/types';
import { asObject } from '../engine/core/json';
import { policyReadsImages } from './images';
import { topLevelKind } from './admission';
import { isGeneratingPolicy } from './gpol';
import { mutatesExistingCel } from './mutate-existing';

/** A classic policy with at least one generate rule, or a (Namespaced)GeneratingPolicy. */
function hasGenerateRules(policy: JsonObject): boolean {
  if (isGeneratingPolicy(policy)) return true;
  if (policy.kind !== 'ClusterPolicy' && policy.kind !== 'Policy') return false;
  const rules = ((policy.spec ?? {}) as JsonObject).rules;
  return Array.isArray(rules) && rules.some((r) => typeof r === 'object' && r !== null && typeof (r as JsonObject).generate === 'object' && (r as JsonObject).generate !== null);
}

/** A classic policy with at least one mutate-existing rule (mutate.targets). */
export function hasMutateExistingRules(policy: JsonObject): boolean {
  if (mutatesExistingCel(policy)) return true;
  if (policy.kind !== 'ClusterPolicy' && policy.kind !== 'Policy') return false;
  const rules = ((policy.spec ?? {}) as JsonObject).rules;
  return Array.isArray(rules) && rules.some((r) => Array.isArray(asObject(asObject(r).mutate).targets) && (asObject(asObject(r).mutate).targets as unknown[]).length > 0);
}

export class PolicyIndex extends PolicyKindIndex {
  readonly generating = new Set<JsonObject>();
  readonly mutatingExisting = new Set<JsonObject>();
  /** Some policy verifies or reads images: reviews read the registry first (webhook/images.ts). */
  readonly readsImages: boolean;

  constructor(policies: JsonObject[]) {
    super(policies);
    this.readsImages = policies.some((p) => policyReadsImages(p));
    for (const p of policies) {
      if (hasGenerateRules(p)) this.generating.add(p);
      if (hasMutateExistingRules(p)) this.mutatingExisting.add(p);
    }
  }
  /**
   * The candidates for an AdmissionReview's `request`, read as it comes (not validated yet:
   * answerAdmissionReview does): only a string kind picks policies, else every policy runs.
   */
  candidatesForReview(request: JsonObject): readonly JsonObject[] {
    // A subresource request picks the policies of the resource it belongs to (Kyverno matches `StatefulSet/scale` on the StatefulSet).
    const requestKind = topLevelKind(request) ?? asObject(request.kind);
    const subject = asObject(request.object ?? request.oldObject);
    const group = typeof requestKind.kind === 'string' && typeof requestKind.group === 'string' ? requestKind.group : '';
    const kind = typeof requestKind.kind === 'string' ? requestKind.kind : '';
    // Reviews in a row are mostly of one kind: the last answer again, without the kind index's key.
    const last = this.lastReview;
    if (last && last.group === group && last.kind === kind && last.apiVersion === subject.apiVersion && last.objectKind === subject.kind) return last.candidates;
    const candidates = this.candidatesForRequest({ group, kind }, subject);
    this.lastReview = { group, kind, apiVersion: subject.apiVersion, objectKind: subject.kind, candidates };
    return candidates;
  }

  /** What candidatesForReview answered last, with what it read of the review. */
  private lastReview: { group: string; kind: string; apiVersion: unknown; objectKind: unknown; candidates: readonly JsonObject[] } | undefined;
}
