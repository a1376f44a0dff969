/**
 * Policies indexed by what their match can select, so an evaluation only runs the policies
 * that could answer for a resource. Used by the webhook (per review) and the language server
 * (per manifest), through evaluateResource's `candidates`.
 *
 * The index must never drop a policy that could produce a result: whenever a policy's reach
 * cannot be read off its spec, it is a candidate for every resource, and the engine decides.
 *  - Classic policies (kyverno.io ClusterPolicy/Policy) select by kind: each rule's
 *    match.any/all/resources `kinds`, parsed as the matcher parses them (the kind part of
 *    `group/version/Kind/sub` must equal the resource's kind). A rule naming Pod also covers
 *    what autogen derives from it: every pod controller and whatever the
 *    `pod-policies.kyverno.io/autogen-controllers` annotation lists. A description without
 *    kinds, a wildcard in a kind, or a shape the matcher would read differently (a scalar
 *    `kinds`, a non-string entry) makes the policy a candidate everywhere.
 *  - CEL policies select by resource (the plural the CEL matcher derives from the kind):
 *    the base of every `matchConstraints.resourceRules[].resources` entry, plus the pod
 *    controllers when the constraints allow CEL autogen. Without resource rules, with a `*`,
 *    in JSON (or any non-Kubernetes) evaluation mode, with mutateExisting, and for
 *    MutatingAdmissionPolicies (whose bindings select on their own) a policy is kept always.
 *  - Anything else (unknown kinds, which answer with an error) is kept always.
 * Exclusions, names, namespaces, selectors and operations only narrow a match: they are left
 * to the engine.
 */
import type { GroupVersionKind, JsonObject } from '../core/types';
import { asArray, asObject, isJsonObject } from '../core/json';
import { isClassicPolicy, matchResourceDescriptions } from '../policy';
import { isCelPolicy } from '../cel';
import { autogenResources } from '../cel/autogen';
import { POD_CONTROLLERS } from '../autogen';
import { actualControllers } from '../autogen/controllers';
import { containsKind, parseKindSelector, pluralOf } from '../kube';

/** What a policy's match is compared with: the resource's kind, and its plural for CEL. */
export interface KindTarget {
  kind: string;
  /** The plural resource name the CEL matcher derives (engine/cel/match requestTarget). */
  resource: string;
}

export function kindTarget(group: string, kind: string): KindTarget {
  return { kind, resource: pluralOf(group, kind) };
}

/** The target of an object as the engine's matchers read it when the request names no kind. */
export function objectTarget(object: JsonObject): KindTarget {
  const api = typeof object.apiVersion === 'string' ? object.apiVersion : '';
  const slash = api.indexOf('/');
  return kindTarget(slash >= 0 ? api.slice(0, slash) : '', typeof object.kind === 'string' ? object.kind : '');
}

/** Where a policy can apply: undefined means anywhere. */
interface Reach {
  kinds: Set<string>;
  resources: Set<string>;
}

const WILDCARD = /[*?]/;

function classicReach(policy: JsonObject): Reach | undefined {
  const rules = asObject(policy.spec).rules;
  if (!Array.isArray(rules)) return undefined;
  const reach: Reach = { kinds: new Set(), resources: new Set() };
  let podRule = false;
  for (const rule of rules) {
    const descriptions = matchResourceDescriptions(asObject(rule));
    if (descriptions.length === 0) return undefined;
    for (const d of descriptions) {
      const kinds = d.kinds;
      if (!Array.isArray(kinds) || kinds.length === 0 || !kinds.every((k) => typeof k === 'string')) return undefined;
      for (const selector of kinds as string[]) {
        const { kind } = parseKindSelector(selector);
        if (WILDCARD.test(kind)) return undefined;
        reach.kinds.add(kind);
        if (kind === 'Pod' || containsKind([selector], 'Pod')) podRule = true;
      }
    }
  }
  if (podRule) {
    for (const c of POD_CONTROLLERS) reach.kinds.add(c);
    // The annotation may name kinds beyond the default controllers; autogen then matches them.
    for (const c of actualControllers(policy).controllers) reach.kinds.add(c);
  }
  return reach;
}

function celReach(policy: JsonObject): Reach | undefined {
  if (policy.kind === 'MutatingAdmissionPolicy') return undefined;
  const spec = asObject(policy.spec);
  const evaluation = asObject(spec.evaluation);
  if (evaluation.mode !== undefined && evaluation.mode !== 'Kubernetes') return undefined;
  if (isJsonObject(evaluation.mutateExisting) && evaluation.mutateExisting.enabled !== false) return undefined;
  const rules = asArray(asObject(spec.matchConstraints).resourceRules);
  if (rules.length === 0) return undefined;
  const reach: Reach = { kinds: new Set(), resources: new Set() };
  for (const rule of rules) {
    const resources = asObject(rule).resources;
    if (!Array.isArray(resources) || resources.length === 0) return undefined;
    for (const r of resources) {
      if (typeof r !== 'string' || r.includes('*')) return undefined;
      reach.resources.add(r.split('/')[0]);
    }
  }
  for (const r of autogenResources(spec)) reach.resources.add(r);
  return reach;
}

function reachOf(policy: JsonObject): Reach | undefined {
  if (isClassicPolicy(policy)) return classicReach(policy);
  if (isCelPolicy(policy)) return celReach(policy);
  return undefined;
}

export class PolicyKindIndex {
  private byKind = new Map<string, Set<JsonObject>>();
  private byResource = new Map<string, Set<JsonObject>>();
  private always = new Set<JsonObject>();
  /** Answers per target set: few distinct kinds, asked for every resource. */
  private memo = new Map<string, Candidates>();

  constructor(readonly policies: readonly JsonObject[]) {
    for (const policy of policies) {
      const reach = reachOf(policy);
      if (!reach) {
        this.always.add(policy);
        continue;
      }
      for (const k of reach.kinds) add(this.byKind, k, policy);
      for (const r of reach.resources) add(this.byResource, r, policy);
    }
  }

  /**
   * The policies that could select a resource of any of these targets, in the original order
   * (mutations chain in that order). A target without a kind is matched by nothing the index
   * knows, so every policy is returned.
   */
  candidates(targets: readonly KindTarget[]): readonly JsonObject[] {
    return this.lookup(targets).list;
  }

  private lookup(targets: readonly KindTarget[]): Candidates {
    const key = targets.some((t) => t.kind === '') ? '' : targets.map((t) => `${t.kind}\n${t.resource}`).join('\n');
    let found = this.memo.get(key);
    if (found) return found;
    const keep = (p: JsonObject) => key === '' || this.always.has(p) || targets.some((t) => this.byKind.get(t.kind)?.has(p) || this.byResource.get(t.resource)?.has(p));
    const list = this.policies.filter(keep);
    found = { list: list.length === this.policies.length ? this.policies : list, set: new Set(list) };
    // Kinds come from requests: bound the memo so odd kinds cannot grow it without limit.
    if (this.memo.size >= 1000) this.memo.clear();
    this.memo.set(key, found);
    return found;
  }

  /**
   * Candidates for one request: the kind it names (or its object's), and the object's own
   * kind when that differs (a subresource request).
   */
  candidatesForRequest(requestKind: Pick<GroupVersionKind, 'group' | 'kind'> | undefined, object: JsonObject | undefined): readonly JsonObject[] {
    return this.lookup(requestTargets(requestKind, object)).list;
  }

  /** candidatesForRequest as a set, for a run over a list that also holds other policies. */
  selectsForRequest(requestKind: Pick<GroupVersionKind, 'group' | 'kind'> | undefined, object: JsonObject | undefined): ReadonlySet<JsonObject> {
    return this.lookup(requestTargets(requestKind, object)).set;
  }
}

interface Candidates { list: readonly JsonObject[]; set: ReadonlySet<JsonObject> }

function requestTargets(requestKind: Pick<GroupVersionKind, 'group' | 'kind'> | undefined, object: JsonObject | undefined): KindTarget[] {
  const targets: KindTarget[] = [];
  if (requestKind) targets.push(kindTarget(requestKind.group, requestKind.kind));
  // Without a kind of its own the object is matched as the request's kind.
  if (object && (typeof object.kind === 'string' || !requestKind)) {
    const own = objectTarget(object);
    if (!targets.length || own.kind !== targets[0].kind || own.resource !== targets[0].resource) targets.push(own);
  }
  return targets;
}

function add(map: Map<string, Set<JsonObject>>, key: string, policy: JsonObject): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(policy);
}
