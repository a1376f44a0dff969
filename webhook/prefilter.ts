/**
 * Policies indexed by the kinds they can match, so a review only runs the engine on
 * candidates. Conservative: a policy whose kinds we cannot pin down (wildcards, subresources,
 * CEL resource rules, exotic shapes) is a candidate for every request; the engine still
 * decides. Pod policies also index the Pod controllers their autogen rules cover.
 */
import { POD_CONTROLLERS } from '../engine/autogen';
import { asObject } from '../engine/core/json';
import { matchResourceDescriptions } from '../engine/policy';
import type { JsonObject } from '../engine/core/types';
import { policyReadsImages } from './images';

type Json = Record<string, unknown>;

function plainKinds(policy: Json): string[] | undefined {
  if (policy.kind !== 'ClusterPolicy' && policy.kind !== 'Policy') return undefined;
  const spec = (policy.spec ?? {}) as Json;
  if (!Array.isArray(spec.rules)) return undefined;
  const kinds = new Set<string>();
  for (const rule of spec.rules as Json[]) {
    const resources = matchResourceDescriptions(asObject(rule));
    if (resources.length === 0) return undefined;
    for (const r of resources) {
      if (!Array.isArray(r.kinds) || r.kinds.length === 0) return undefined;
      for (const k of r.kinds as unknown[]) {
        const spec = String(k);
        const last = spec.split('/').pop() ?? '';
        if (/[*?]/.test(spec) || !/^[A-Z]/.test(last)) return undefined;
        kinds.add(last);
        if (last === 'Pod') for (const c of POD_CONTROLLERS) kinds.add(c);
      }
    }
  }
  return [...kinds];
}

/** A classic policy with at least one generate rule (CEL kinds have none). */
function hasGenerateRules(policy: Json): boolean {
  if (policy.kind !== 'ClusterPolicy' && policy.kind !== 'Policy') return false;
  const rules = ((policy.spec ?? {}) as Json).rules;
  return Array.isArray(rules) && rules.some((r) => typeof r === 'object' && r !== null && typeof (r as Json).generate === 'object' && (r as Json).generate !== null);
}

export class PolicyIndex {
  private byKind = new Map<string, Json[]>();
  private always: Json[] = [];
  /** Policies with generate rules, found once per policy set so reviews pay nothing for the rest. */
  readonly generating = new Set<Json>();
  /** Some policy verifies or reads images: reviews read the registry first (webhook/images.ts). */
  readonly readsImages: boolean;

  constructor(readonly policies: Json[]) {
    this.readsImages = policies.some((p) => policyReadsImages(p as JsonObject));
    policies.forEach((p) => {
      if (hasGenerateRules(p)) this.generating.add(p);
      const kinds = plainKinds(p);
      if (!kinds) this.always.push(p);
      else for (const k of kinds) this.byKind.set(k, [...(this.byKind.get(k) ?? []), p]);
    });
  }

  /** Answers per (request kind, object kind): few distinct pairs, asked on every review. */
  private memo = new Map<string, Json[]>();

  /** Candidates for a request, in the original policy order (mutations chain in that order). */
  candidates(kind: string, objectKind?: string): Json[] {
    const key = objectKind === undefined || objectKind === kind ? kind : `${kind}\n${objectKind}`;
    let found = this.memo.get(key);
    if (found) return found;
    const set = new Set<Json>([...this.always, ...(this.byKind.get(kind) ?? []), ...(objectKind ? this.byKind.get(objectKind) ?? [] : [])]);
    found = set.size === this.policies.length ? this.policies : this.policies.filter((p) => set.has(p));
    // Kinds come from requests: bound the memo so odd kinds cannot grow it without limit.
    if (this.memo.size < 1000) this.memo.set(key, found);
    return found;
  }
}
