/**
 * Clone sources in a cluster, as Kyverno's generate path treats them:
 * - the background controller labels every source it copies `generate.kyverno.io/clone-source`
 *   (pkg/background/generate/source.go updateSourceLabel), and each copy names its source with
 *   the `generate.kyverno.io/source-{group,version,kind,namespace,uid}` labels (the engine adds those);
 * - an UPDATE or DELETE of an object carrying that label reaches the admission webhook (the
 *   generate kinds are registered for UPDATE and DELETE), whose handleNonTrigger finds the
 *   copies by those labels and asks, for each copy whose rule synchronizes, for its trigger to
 *   be generated again — or, when the source was deleted, for the trigger's downstream objects
 *   to be deleted (pkg/webhooks/resource/generation/handler.go processRequest, then
 *   pkg/background/generate/cleanup.go handleNonPolicyChanges). Rules without synchronize are
 *   left alone: their copies keep what they were given.
 */
import type { KubeClient } from '../kube-api/client';
import { KubeError, describeRef, refOf } from '../kube-api/errors';
import { asArray, asObject } from '../engine/core/json';
import type { AdmissionRequest, ClusterState, JsonObject } from '../engine/core/types';
import { CLONE_SOURCE_LABEL } from '../engine/generate';
import { formatApiVersion, knownKindTable, resourceGVK } from '../engine/kube';
import { splitKindSelector } from '../engine/kube/selectors';
import { ruleMatchesRequest } from '../engine/match';
import { generatePatterns, generateRulesOf, policyKey } from './generate-work';
import { MANAGED_BY_LABEL } from '../engine/kube/labels';

type Json = Record<string, unknown>;

const G = 'generate.kyverno.io/';

const labelsOf = (o: Json | null | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(asObject(asObject(o?.metadata).labels)).map(([k, v]) => [k, String(v)]));
const hasVariable = (s: string) => s.includes('{{');

/** Kyverno's handleNonTrigger condition on the old object: a clone source, or something a generate rule made. */
export function isGenerateNonTrigger(old: Json | null | undefined): boolean {
  const labels = labelsOf(old);
  return CLONE_SOURCE_LABEL in labels || (labels[`${G}policy-name`] ?? '') !== '';
}

/** A downstream object (processRequest's managedBy): anything else with those labels is a clone source. */
export function isManagedByKyverno(labels: Record<string, string>): boolean {
  return labels[MANAGED_BY_LABEL] === 'kyverno';
}

/** The policy a downstream object's labels name (a Policy when policy-namespace is set). */
export function policyOfLabels(labels: Record<string, string>, policies: JsonObject[]): JsonObject | undefined {
  const name = labels[`${G}policy-name`];
  const ns = labels[`${G}policy-namespace`] ?? '';
  return policies.find((p) => asObject(p.metadata).name === name && (ns ? p.kind === 'Policy' && asObject(p.metadata).namespace === ns : p.kind === 'ClusterPolicy'));
}

/** The label selector of a source's copies: source-group, -version, -kind, -namespace and -uid. */
export function copiesSelector(source: Json): string {
  const gvk = resourceGVK(source as JsonObject);
  const m = asObject(source.metadata);
  const pairs: Array<[string, string]> = [
    ['source-group', gvk.group], ['source-version', gvk.version], ['source-kind', gvk.kind],
    ['source-namespace', String(m.namespace ?? '')], ['source-uid', String(m.uid ?? '')],
  ];
  return pairs.map(([k, v]) => `${G}${k}=${v}`).join(',');
}

/** The trigger a downstream object's labels name (Kyverno's TriggerFromLabels: no name, found by uid). */
export interface TriggerOfLabels {
  apiVersion: string;
  kind: string;
  namespace: string;
  uid: string;
}

export function triggerOfLabels(labels: Record<string, string>): TriggerOfLabels {
  return {
    apiVersion: formatApiVersion(labels[`${G}trigger-group`] ?? '', labels[`${G}trigger-version`] ?? ''),
    kind: labels[`${G}trigger-kind`] ?? '',
    namespace: labels[`${G}trigger-namespace`] ?? '',
    uid: labels[`${G}trigger-uid`] ?? '',
  };
}

/** One unit of work a source change asks for: the rule again for a trigger, or its downstream deleted. */
export interface SourceChangeWork {
  policy: string;
  rule: string;
  trigger: TriggerOfLabels;
  deleteDownstream: boolean;
}

/**
 * processRequest for a changed or deleted clone source, given the labels of its copies: for each
 * copy whose policy is loaded and whose rule synchronizes, its trigger, unless the source is
 * itself a trigger of that rule (then admission already fired the rule for it).
 */
export function sourceChangeWork(request: AdmissionRequest, copies: Array<Record<string, string>>, policies: JsonObject[], log: (line: string) => void, namespaceLabels: ClusterState['namespaceLabels'] = {}): SourceChangeWork[] {
  const old = request.oldObject;
  if (!old) return [];
  const deleteDownstream = request.operation === 'DELETE';
  const out: SourceChangeWork[] = [];
  const seen = new Set<string>();
  for (const labels of copies) {
    const policy = policyOfLabels(labels, policies);
    if (!policy) {
      log(`background: a copy of ${describeRef(refOf(old))} names policy ${labels[`${G}policy-name`] ?? ''}, which is not loaded; left alone`);
      continue;
    }
    const ruleName = labels[`${G}rule-name`] ?? '';
    const rule = generateRulesOf(policy).find((r) => r.name === ruleName);
    if (!rule || asObject(rule.generate).synchronize !== true) continue;
    const policyNs = policy.kind === 'Policy' ? String(asObject(policy.metadata).namespace ?? '') : undefined;
    // MatchesResourceDescription on the old object: the source is also the rule's trigger.
    if (ruleMatchesRequest(rule as JsonObject, { ...request, object: old }, { namespaceLabels }, policyNs).matched) continue;
    const trigger = triggerOfLabels(labels);
    const key = `${policyKey(policy)}|${ruleName}|${trigger.uid}`;
    if (!trigger.kind || !trigger.uid || seen.has(key)) continue;
    seen.add(key);
    out.push({ policy: policyKey(policy), rule: ruleName, trigger, deleteDownstream });
  }
  return out;
}

/**
 * The labels of every copy of a source, found across namespaces by the source-* labels. Where
 * only namespaced Policies clone that kind, the service account may list it in their namespace
 * only, which is also where their copies are (a Policy clones within its namespace).
 */
export async function copiesOf(client: KubeClient, source: JsonObject): Promise<Array<Record<string, string>>> {
  const [apiVersion, kind, selector] = [String(source.apiVersion ?? ''), String(source.kind ?? ''), copiesSelector(source)];
  try {
    return (await client.list(apiVersion, kind, undefined, selector)).map(labelsOf);
  } catch (e) {
    const ns = asObject(source.metadata).namespace;
    if (!(e instanceof KubeError && e.status === 403) || typeof ns !== 'string' || !ns) throw e;
    return (await client.list(apiVersion, kind, ns, selector)).map(labelsOf);
  }
}

/**
 * Kyverno's updateSourceLabel: every source a clone copied carries `clone-source: ""`, so its
 * later changes reach the generate handler. The copies name their sources by uid; a source
 * already labelled is not written again. A failure is logged only, as Kyverno does.
 */
export async function tagCloneSources(client: KubeClient, sources: JsonObject[], copies: JsonObject[], log: (line: string) => void): Promise<void> {
  const uids = new Set(copies.map((c) => labelsOf(c)[`${G}source-uid`]).filter((u) => u));
  for (const read of sources) {
    if (!uids.has(String(asObject(read.metadata).uid ?? ''))) continue;
    // Copies for several triggers run at once: a stale read is read again (and may be labelled by now).
    let source: JsonObject | undefined = read;
    for (let attempt = 1; source && !(CLONE_SOURCE_LABEL in labelsOf(source)); attempt++) {
      const meta = asObject(source.metadata);
      try {
        await client.replace({ ...source, metadata: { ...meta, labels: { ...asObject(meta.labels), [CLONE_SOURCE_LABEL]: '' } } });
        break;
      } catch (e) {
        if (attempt < 3 && e instanceof KubeError && e.status === 409) {
          source = await client.get(refOf(source)).catch(() => undefined);
          continue;
        }
        log(`generate: cannot label clone source ${describeRef(refOf(source))}: ${(e as Error).message}`);
        break;
      }
    }
  }
}

/**
 * A cloneList kind (`v1/Secret`, `Secret`) as apiVersion + kind; a bare kind gets the version
 * the known-kinds table gives it (undefined when the kind is not a known one).
 */
export function cloneListKind(spec: string): { apiVersion: string; kind: string } | undefined {
  const { apiVersion, kind } = splitKindSelector(spec);
  if (apiVersion) return { apiVersion, kind };
  const known = knownKindTable().get(kind)?.[0];
  return known ? { apiVersion: formatApiVersion(known.group, known.version), kind } : undefined;
}

/** The kinds a rule generates, as apiVersion + kind (its patterns' kinds, else their cloneList kinds). */
function generatedKindsOf(rule: Json): Array<{ apiVersion: string; kind: string }> {
  const out: Array<{ apiVersion: string; kind: string }> = [];
  for (const p of generatePatterns(rule)) {
    const kind = String(p.kind ?? '');
    if (kind) out.push({ apiVersion: String(p.apiVersion ?? ''), kind });
    else for (const k of asArray(asObject(p.cloneList).kinds)) out.push(cloneListKind(String(k)) ?? { apiVersion: '', kind: String(k) });
  }
  return out;
}

/**
 * handleNonPolicyChanges: the downstream objects of a policy for one trigger, of the kinds the
 * rule generates, deleted. As Kyverno, the selector names the policy and the trigger but not the
 * rule, so another rule's objects of those kinds for that trigger go too.
 */
export async function deleteTriggerDownstream(
  client: KubeClient,
  policy: JsonObject,
  ruleName: string,
  trigger: JsonObject,
  log: (line: string) => void,
  beforeDelete: (o: JsonObject) => void = () => {},
): Promise<string[]> {
  const rule = generateRulesOf(policy).find((r) => r.name === ruleName);
  if (!rule) return [];
  const pm = asObject(policy.metadata);
  const gvk = resourceGVK(trigger);
  const tm = asObject(trigger.metadata);
  const selector = [
    [`${G}policy-name`, String(pm.name ?? '')],
    [`${G}policy-namespace`, policy.kind === 'Policy' ? String(pm.namespace ?? '') : ''],
    [MANAGED_BY_LABEL, 'kyverno'],
    [`${G}trigger-uid`, String(tm.uid ?? '')],
    [`${G}trigger-namespace`, String(tm.namespace ?? '')],
    [`${G}trigger-kind`, gvk.kind],
    [`${G}trigger-group`, gvk.group],
    [`${G}trigger-version`, gvk.version],
  ].map(([k, v]) => `${k}=${v}`).join(',');
  const failures: string[] = [];
  for (const { apiVersion, kind } of generatedKindsOf(rule)) {
    if (!kind || !apiVersion || hasVariable(kind) || hasVariable(apiVersion)) {
      log(`background: policy ${policyKey(policy)} rule ${ruleName}: generated kind ${kind} needs a literal apiVersion and kind to find its objects`);
      continue;
    }
    try {
      // A namespaced Policy generates into its own namespace only (and may list nothing else).
      for (const o of await client.list(apiVersion, kind, policy.kind === 'Policy' ? String(pm.namespace ?? '') || undefined : undefined, selector)) {
        beforeDelete(o);
        if (await client.delete(refOf({ apiVersion, kind, ...o }))) log(`generate: policy ${policyKey(policy)} rule ${ruleName} deleted ${describeRef(refOf({ apiVersion, kind, ...o }))} (its clone source was deleted)`);
      }
    } catch (e) {
      failures.push(`generate: policy ${policyKey(policy)} rule ${ruleName}: cannot delete the downstream ${kind} objects: ${(e as Error).message}`);
    }
  }
  return failures;
}
