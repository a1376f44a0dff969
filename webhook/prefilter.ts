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
import { isAdmissionPolicy } from './report-layout';
import { failurePolicyOf } from './rules';
import type { ReviewRequest } from './protocol';

/** What of a review message picks which candidates run: per route (path) the same, review after review. */
export type CandidateNarrowing = Pick<ReviewRequest, 'scan' | 'kinds' | 'only' | 'failurePolicy'>;

const sameList = (a: readonly string[] | undefined, b: readonly string[] | undefined): boolean =>
  a === b || (a !== undefined && b !== undefined && a.length === b.length && a.every((x, i) => x === b[i]));

/** The candidates a route runs (see PolicyIndex.narrowed). */
function narrow(candidates: readonly JsonObject[], by: CandidateNarrowing): readonly JsonObject[] {
  let policies = candidates;
  // Kubernetes' admission policies are the API server's to enforce; Kyverno only scans them for
  // reports. A ClusterPolicy or Policy with `admission: false` is not in Kyverno's policy cache
  // (AdmissionProcessingEnabled): only its background scan runs it.
  if (!by.scan) policies = policies.filter((p) => !isAdmissionPolicy(p) && !((p.kind === 'ClusterPolicy' || p.kind === 'Policy') && asObject(p.spec).admission === false));
  if (by.kinds) policies = policies.filter((p) => by.kinds!.includes(String(p.kind)));
  if (by.only) policies = policies.filter((p) => by.only!.includes(String(asObject(p.metadata).name)));
  // Kyverno's /validate/fail and /validate/ignore each run the policies of that failurePolicy.
  if (by.failurePolicy) policies = policies.filter((p) => failurePolicyOf(p) === by.failurePolicy);
  return policies;
}

/** A narrowed candidate list, with what it was narrowed from and by. */
interface Narrowed extends CandidateNarrowing {
  from: readonly JsonObject[];
  policies: readonly JsonObject[];
}

/** Routes times candidate lists in use at once, at most (a server has some ten routes). */
const NARROWED_KEPT = 32;

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

  /**
   * The candidates (from candidatesForReview) that a route runs: narrowed by scan, kinds,
   * names and failurePolicy. Kept per candidate list and route (a server's routes repeat the
   * same few narrowings), so a review does not filter every candidate again.
   */
  narrowed(candidates: readonly JsonObject[], by: CandidateNarrowing): readonly JsonObject[] {
    const kept = this.narrowedLists;
    for (let i = 0; i < kept.length; i++) {
      const n = kept[i];
      if (n.from === candidates && n.scan === by.scan && n.failurePolicy === by.failurePolicy && sameList(n.kinds, by.kinds) && sameList(n.only, by.only)) return n.policies;
    }
    const policies = narrow(candidates, by);
    // Copies of the lists: a caller's array may change after this.
    if (kept.length >= NARROWED_KEPT) kept.shift();
    kept.push({ from: candidates, scan: by.scan, kinds: by.kinds && [...by.kinds], only: by.only && [...by.only], failurePolicy: by.failurePolicy, policies });
    return policies;
  }

  private readonly narrowedLists: Narrowed[] = [];

  /** What candidatesForReview answered last, with what it read of the review. */
  private lastReview: { group: string; kind: string; apiVersion: unknown; objectKind: unknown; candidates: readonly JsonObject[] } | undefined;
}
