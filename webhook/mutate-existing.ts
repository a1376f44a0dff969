/**
 * Mutate existing (rules with `mutate.targets`), as Kyverno's background controller runs it
 * (pkg/background/mutate): the rule fires on a trigger's admission (or, with
 * mutateExistingOnPolicyUpdate, for every existing trigger when the policy is created or
 * changed), its targets are selected in the cluster with the trigger's variables substituted,
 * each target's own `context` and `preconditions` are evaluated with `target` in scope, and
 * the patched targets are written back through the API (an update carrying the
 * resourceVersion read, so a concurrent change makes the work fail and be retried).
 *
 * The engine does the selection and patching (engine/mutate/targets.ts) over the candidates
 * it is given; here we fetch those candidates from the API server: one GET for a literal
 * name, else a LIST of the target kind (in a literal namespace, or everywhere). A target
 * kind naming the status subresource (`Deployment/status`) is written back through
 * `/status`, as Kyverno's background controller calls UpdateStatus for it (the object read
 * is the same: a status GET returns the whole object).
 */
import { isCelMutatingPolicy } from '../engine/policy/admission';
import { applyPolicy } from '../engine/apply';
import { computedRules } from '../engine/autogen';
import { ruleMatchesRequest } from '../engine/match';
import { matchResourceDescriptions } from '../engine/policy';
import { asArray, asObject, jsonEqual } from '../engine/core/json';
import type { AdmissionRequest, ClusterState, JsonObject, RuleResult } from '../engine/core/types';
import { describeRef, refOf } from '../kube-api/errors';
import type { KubeClient } from '../kube-api/client';
import { policyKey } from './generate-work';
import { resourceInfo } from './report-layout';
import { evaluateReadingCluster } from './cluster-reads';
import { withLiveContext, type LiveContextState } from './live-context';
import { policyKinds } from './scan';
import { pluralOf } from '../engine/kube';
import { wildcardMatch } from '../engine/wildcard/wildcard';
import { mutateExistingFires, mutateExistingTargets, mutatesExisting, targetConstraints, targetExpression } from '../engine/cel/mutate-existing';

type Json = Record<string, unknown>;

const hasVariable = (v: unknown): boolean => typeof v === 'string' && v.includes('{{');

/** The rules of a policy that mutate existing resources (after autogen, as Kyverno computes them). */
export function mutateExistingRules(policy: Json): JsonObject[] {
  return computedRules(policy as JsonObject).filter((r) => asArray(asObject(r.mutate).targets).length > 0);
}

/** A MutatingPolicy's key: "name", or "namespace/name" for a NamespacedMutatingPolicy (as Kyverno's UpdateRequests name them). */
export function celPolicyKey(policy: Json): string {
  const m = asObject(policy.metadata);
  return String(policy.kind ?? '').startsWith('Namespaced') && m.namespace ? `${String(m.namespace)}/${String(m.name)}` : String(m.name ?? '');
}

/** A MutatingPolicy that mutates existing resources (evaluation.mutateExisting.enabled). */
export function mutatesExistingCel(policy: Json): boolean {
  return isCelMutatingPolicy(policy as JsonObject) && mutatesExisting(policy as JsonObject);
}

/** On DELETE the mpol engine sees the deleted object as the object (admissionutils.ExtractResources). */
function celTrigger(request: AdmissionRequest): AdmissionRequest {
  return request.operation === 'DELETE' && !request.object ? { ...request, object: request.oldObject } : request;
}

/** Kyverno's MatchDeleteOperation: the rule lists DELETE among its match operations. */
function matchesDeleteExplicitly(rule: Json): boolean {
  return matchResourceDescriptions(rule).some((b) => asArray(b.operations).includes('DELETE'));
}

/**
 * The mutate-existing rules this admitted request fires (match and exclude; preconditions
 * and targets are for the background controller). On DELETE only rules that name DELETE in
 * their match operations fire, as in Kyverno's handleMutateExisting.
 */
export function firedMutateExistingRules(policy: Json, request: AdmissionRequest, cluster: Pick<ClusterState, 'namespaceLabels'>): string[] {
  // A MutatingPolicy is one unnamed rule.
  if (isCelMutatingPolicy(policy as JsonObject)) {
    const state: ClusterState = { resources: [], namespaceLabels: cluster.namespaceLabels, apiCallResponses: [], globalContext: {}, exceptions: [] };
    return mutateExistingFires(policy as JsonObject, { request: celTrigger(request), cluster: state }) ? [''] : [];
  }
  const meta = asObject(policy.metadata);
  const policyNamespace = policy.kind === 'Policy' && typeof meta.namespace === 'string' ? meta.namespace : undefined;
  return mutateExistingRules(policy)
    .filter((rule) => request.operation !== 'DELETE' || matchesDeleteExplicitly(rule))
    .filter((rule) => ruleMatchesRequest(rule, request, cluster, policyNamespace).matched)
    .map((rule) => String(rule.name ?? ''));
}

/** What targetCandidates read: the objects, and which of them a target names through its status subresource. */
export interface TargetCandidates {
  resources: JsonObject[];
  /** describeRef of each object to write through `/status`. */
  viaStatus: Set<string>;
}

/** The objects a policy's mutate targets may designate, read from the API server. */
export async function targetCandidates(client: KubeClient, policy: Json, log: (line: string) => void): Promise<TargetCandidates> {
  const out: JsonObject[] = [];
  const viaStatus = new Set<string>();
  const seen = new Set<string>();
  let status = false;
  const add = (o: JsonObject | undefined) => {
    if (!o) return;
    const key = describeRef(refOf(o));
    if (status) viaStatus.add(key);
    if (!seen.has(key)) (seen.add(key), out.push(o));
  };
  const meta = asObject(policy.metadata);
  // A namespaced Policy only ever reaches its own namespace.
  const policyNamespace = policy.kind === 'Policy' && typeof meta.namespace === 'string' ? meta.namespace : undefined;
  for (const rule of mutateExistingRules(policy)) {
    for (const raw of asArray(asObject(rule.mutate).targets)) {
      const t = asObject(raw);
      const apiVersion = String(t.apiVersion ?? '');
      const [kind, subresource] = String(t.kind ?? '').split('/');
      status = subresource === 'status';
      if (!apiVersion || !kind || hasVariable(apiVersion) || hasVariable(kind) || kind.includes('*')) {
        log(`mutate existing: policy ${policyKey(policy)} rule ${String(rule.name)}: a target needs a literal apiVersion and kind to be looked up`);
        continue;
      }
      // An empty namespace (a cluster-scoped target's `namespace: ""`) lists as the API server's "" does: everywhere.
      const ns = policyNamespace ?? (typeof t.namespace === 'string' && t.namespace && !hasVariable(t.namespace) && !t.namespace.includes('*') ? t.namespace : undefined);
      const name = typeof t.name === 'string' && !hasVariable(t.name) && !/[*?]/.test(t.name) ? t.name : undefined;
      try {
        // A GET needs the namespace too (Kyverno's getTargets lists when either is not literal): a
        // namespace given by a variable is not known yet, and one left out means every namespace.
        if (name && ns) add(await client.get({ apiVersion, kind, name, namespace: ns }));
        else for (const o of await client.list(apiVersion, kind, ns)) add({ apiVersion, kind, ...o });
      } catch (e) {
        log(`mutate existing: policy ${policyKey(policy)} rule ${String(rule.name)}: cannot read ${kind} targets: ${(e as Error).message}`);
      }
    }
  }
  return { resources: out, viaStatus };
}

/** One target a rule patched: written, or not (then `error` says why). Kyverno's events name these. */
export interface TargetWrite {
  rule: string;
  target: JsonObject;
  error?: string;
}

export interface MutateExistingOutcome {
  /** "Kind ns/name" of each target written. */
  mutated: string[];
  /** One line per failed rule or write (the work is retried). */
  failures: string[];
  /** Each patched target a rule tried to write (Kyverno's success and failure events follow these). */
  writes: TargetWrite[];
  /**
   * The results to report and the resource each is reported on (BuildMutateExistingReport):
   * for a MutatingPolicy each target it was evaluated on, as stored, written or already as
   * wanted (Kyverno's mpol processor reports both); for a ClusterPolicy or Policy the trigger,
   * one result per rule and target with the target in `patched-target` (pkg/background/mutate
   * reports the engine's response on policyContext.NewResource()).
   */
  reported?: Array<{ resource: JsonObject; result: RuleResult }>;
}

/**
 * Runs a policy's mutate-existing rules for one trigger request and writes the patched
 * targets. `rules` limits the rules (those the admission fired); all when absent.
 */
export async function mutateExisting(
  client: KubeClient,
  policy: JsonObject,
  request: AdmissionRequest,
  exceptions: JsonObject[],
  log: (line: string) => void,
  rules?: string[],
  /** The cluster's namespace labels, for the rules' namespaceSelector (as at admission). */
  namespaceLabels: ClusterState['namespaceLabels'] = {},
  /** Work of a policy event or background scan (no admission): for a MutatingPolicy, see mutateExistingCel. */
  policyEvent = false,
  /** The live context data admission reads (ConfigMaps, global context entries): withLiveContext. */
  live?: LiveContextState | null,
): Promise<MutateExistingOutcome> {
  if (isCelMutatingPolicy(policy as JsonObject)) return mutateExistingCel(client, policy, request, exceptions, log, namespaceLabels, policyEvent, live);
  const outcome: MutateExistingOutcome = { mutated: [], failures: [], writes: [], reported: [] };
  const key = policyKey(policy);
  const fired = new Set(rules ?? mutateExistingRules(policy).filter((r) => request.operation !== 'DELETE' || matchesDeleteExplicitly(r)).map((r) => String(r.name ?? '')));
  // On DELETE Kyverno evaluates the deleted object as the new one.
  const evaluated: AdmissionRequest = request.operation === 'DELETE' ? { ...request, object: request.oldObject } : request;
  const candidates = await targetCandidates(client, policy, log);
  // The candidates are the targets to select from, not the API server: every apiCall GET is
  // read from the cluster (evaluateReadingCluster), as Kyverno's background controller calls it.
  // The live context objects join them (context entries read ConfigMaps there); apiCall GETs
  // still go to the API server, as a list of the candidates is no list of the cluster.
  const cluster: ClusterState = { ...withLiveContext({ resources: candidates.resources, namespaceLabels, apiCallResponses: [], globalContext: {}, exceptions }, live), apiCallsAllowed: false };
  const response = await evaluateReadingCluster(client, cluster, () => applyPolicy(policy, { request: evaluated, cluster, phases: ['mutate'] }));
  for (const r of response.rules) {
    if (r.type !== 'Mutation' || !fired.has(r.name)) continue;
    // Not for a deletion: the trigger, on which the result is reported, is gone.
    if (request.operation !== 'DELETE' && request.object) {
      const patchedTarget = r.status === 'pass' && r.patchedResource ? { 'patched-target': resourceInfo(r.patchedResource) } : undefined;
      outcome.reported!.push({ resource: request.object, result: patchedTarget ? { ...r, properties: { ...r.properties, ...patchedTarget } } : r });
    }
    if (r.status === 'fail' || r.status === 'error' || r.status === 'warn') {
      outcome.failures.push(`mutate existing: policy ${key} rule ${r.name}: ${r.status}: ${r.message}`);
      continue;
    }
    if (r.status !== 'pass' || !r.patchedResource) continue;
    const target = r.patchedResource;
    const what = describeRef(refOf(target));
    // Already in line: nothing to write (Kyverno's engine skips it: "no patches applied").
    if (cluster.resources.some((c) => jsonEqual(c, target))) continue;
    try {
      // The patched target keeps the resourceVersion it was read with: a concurrent change is a conflict, and the work is retried.
      await client.replace(target, candidates.viaStatus.has(what) ? 'status' : undefined);
      outcome.mutated.push(what);
      outcome.writes.push({ rule: r.name, target });
      log(`mutate existing: policy ${key} rule ${r.name} mutated ${what}`);
    } catch (e) {
      outcome.failures.push(`mutate existing: policy ${key} rule ${r.name}: cannot update ${what}: ${(e as Error).message}`);
      outcome.writes.push({ rule: r.name, target, error: (e as Error).message });
    }
  }
  return outcome;
}

/**
 * The subresource a target is written through: the part after `/` of the targetMatchConstraints
 * resource rule naming its resource (`pods/resize`), as the processor's resolveTargetRoute.
 */
function targetSubresource(policy: JsonObject, target: JsonObject): string | undefined {
  const { group, version } = (() => {
    const v = String(target.apiVersion ?? '');
    return v.includes('/') ? { group: v.split('/')[0], version: v.split('/')[1] } : { group: '', version: v };
  })();
  const plural = pluralOf(group, String(target.kind ?? ''));
  for (const rule of asArray(asObject(asObject(policy.spec).targetMatchConstraints).resourceRules).map(asObject)) {
    if (!asArray(rule.apiGroups).some((g) => wildcardMatch(String(g), group)) || !asArray(rule.apiVersions).some((v) => wildcardMatch(String(v), version))) continue;
    for (const resource of asArray(rule.resources).map(String)) {
      const [name, sub] = resource.split('/', 2);
      if (wildcardMatch(name, plural)) return sub || undefined;
    }
  }
  return undefined;
}

/** Writes a patched target unless it is already in line; records the outcome. */
async function writeTarget(client: KubeClient, outcome: MutateExistingOutcome, key: string, rule: string, before: JsonObject | undefined, target: JsonObject, log: (line: string) => void, subresource?: string): Promise<void> {
  if (before && jsonEqual(before, target)) return;
  const what = describeRef(refOf(target));
  try {
    await client.replace(target, subresource);
    outcome.mutated.push(what);
    outcome.writes.push({ rule, target });
    log(`mutate existing: policy ${key}${rule ? ` rule ${rule}` : ''} mutated ${what}`);
  } catch (e) {
    outcome.failures.push(`mutate existing: policy ${key}${rule ? ` rule ${rule}` : ''}: cannot update ${what}: ${(e as Error).message}`);
    outcome.writes.push({ rule, target, error: (e as Error).message });
  }
}

/**
 * A MutatingPolicy's mutate-existing work, as Kyverno's CELMutate UpdateRequest processor runs
 * it (pkg/background/mpol/processor.go, pkg/policy/mpol.go):
 *  - a policy event or background scan of a policy without a target expression (a "bare"
 *    request): `request.object` is one target, evaluated as an UPDATE of itself against the
 *    target constraints (targetMatchConstraints with resourceRules, else matchConstraints);
 *  - otherwise `request` is a trigger (admitted, or one the policy event found for a target
 *    expression): the targets are those the expression returns, else the objects the target
 *    constraints select, listed from the API server; each is mutated with `request` in scope.
 * Reads the policy's CEL resource library and apiCall-like calls make go to the API server.
 */
async function mutateExistingCel(
  client: KubeClient,
  policy: JsonObject,
  request: AdmissionRequest,
  exceptions: JsonObject[],
  log: (line: string) => void,
  namespaceLabels: ClusterState['namespaceLabels'],
  policyEvent: boolean,
  live?: LiveContextState | null,
): Promise<MutateExistingOutcome> {
  const outcome: MutateExistingOutcome = { mutated: [], failures: [], writes: [], reported: [] };
  const key = celPolicyKey(policy);
  const spec = asObject(policy.spec);
  // The live global context entries (globalContext.Get); the objects are the targets listed
  // below, and resource.Get/List read the API server (evaluateReadingCluster).
  const { globalContext, globalContextProjections } = withLiveContext({ resources: [], namespaceLabels, apiCallResponses: [], globalContext: {}, exceptions }, live);
  const cluster: ClusterState = { resources: [], namespaceLabels, apiCallResponses: [], globalContext, globalContextProjections, exceptions };
  if (policyEvent && !targetExpression(policy)) {
    const target = request.object;
    if (!target) return outcome;
    // Each target is checked with targetMatchConditions (the policy's matchConditions are the trigger's).
    const asTarget: JsonObject = { ...policy, spec: { ...spec, matchConstraints: targetConstraints(policy), matchConditions: spec.targetMatchConditions, targetMatchConstraints: undefined, evaluation: { ...asObject(spec.evaluation), mutateExisting: { enabled: false } } } };
    const update: AdmissionRequest = { ...request, operation: 'UPDATE', oldObject: null };
    const response = await evaluateReadingCluster(client, cluster, () => applyPolicy(asTarget, { request: update, cluster, phases: ['mutate'] }));
    const failed = response.rules.find((r) => r.status === 'error' || r.status === 'fail');
    for (const result of response.rules) outcome.reported!.push({ resource: target, result });
    if (failed) outcome.failures.push(`mutate existing: policy ${key}: ${failed.status}: ${failed.message}`);
    else if (response.rules.some((r) => r.status === 'pass') && response.patchedResource) await writeTarget(client, outcome, key, '', target, response.patchedResource, log);
    return outcome;
  }
  if (!targetExpression(policy)) {
    const namespace = String(policy.kind).startsWith('Namespaced') ? String(asObject(policy.metadata).namespace ?? '') || undefined : undefined;
    const selecting: JsonObject = { ...policy, spec: { ...spec, matchConstraints: targetConstraints(policy) } };
    for (const k of await policyKinds(client, selecting)) {
      try {
        for (const o of await client.list(k.apiVersion, k.kind, namespace)) cluster.resources.push({ apiVersion: k.apiVersion, kind: k.kind, ...o });
      } catch (e) {
        outcome.failures.push(`mutate existing: policy ${key}: cannot list ${k.kind} targets: ${(e as Error).message}`);
      }
    }
  }
  const before = new Map(cluster.resources.map((r) => [describeRef(refOf(r)), r] as const));
  // A trigger a policy event found is evaluated as an UPDATE of itself (newCELMutateURForTrigger).
  const triggerRequest = policyEvent ? { ...request, operation: 'UPDATE' as const, oldObject: null } : celTrigger(request);
  const results = await evaluateReadingCluster(client, cluster, () => mutateExistingTargets(policy, { request: triggerRequest, cluster, phases: ['mutate'] }, { background: true }));
  for (const r of results) {
    if (r.status === 'error' || r.status === 'fail') {
      outcome.failures.push(`mutate existing: policy ${key}: ${r.status}: ${r.message}`);
      continue;
    }
    if (r.status !== 'pass' || !r.patchedResource) continue;
    const target = r.patchedResource;
    const stored = before.get(describeRef(refOf(target))) ?? cluster.resources.find((c) => describeRef(refOf(c)) === describeRef(refOf(target)));
    if (stored) outcome.reported!.push({ resource: stored, result: r });
    await writeTarget(client, outcome, key, '', stored, target, log, targetSubresource(policy, target));
  }
  return outcome;
}
