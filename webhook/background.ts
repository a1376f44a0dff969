/**
 * The background controller (Kyverno's kyverno-background-controller): generate and
 * mutate-existing work, persisted before it is done.
 *
 * Work arrives two ways, as in Kyverno:
 * - from admission (any replica): a request that fired a policy's generate or mutate-existing
 *   rules (webhook/generate-work.ts runGeneration);
 * - from policy events (the leader): when a policy is created or its spec changes (and when a
 *   replica starts leading), every existing trigger of a rule with `generateExisting` or
 *   `mutateExistingOnPolicyUpdate` (the rule's own setting, else the policy's).
 *
 * Each unit is written to the cluster first as Kyverno's UpdateRequest (kyverno.io/v2, in our
 * namespace; deploy installs the CRD), with Kyverno's labels: the spec names the policy, the
 * rules (a generate request's ruleContext, one per rule), the trigger and, for admission work,
 * the admission request; once written its status is Pending, as Kyverno's generator leaves it.
 * The leader of the `kyverno-background-controller` Lease lists and watches them, evaluates each
 * Pending one against the policy as it then is (a deleted policy drops its work), acts
 * (webhook/generate.ts, webhook/mutate-existing.ts), marks it Completed (with what it generated)
 * and deletes it, as Kyverno's controller does; a failure is recorded in its status (state
 * Failed, message, retryCount) and retried, Pending again (Kyverno puts a Failed request back to
 * Pending at once; we wait a short, doubling backoff), until a failure finds retryCount past
 * Kyverno's limit of 3, which deletes it. So a leader that stops between admission and
 * processing loses nothing: the next leader finds the UpdateRequest.
 *
 * Every background scan interval (Kyverno's policy controller forceReconciliation, default
 * 1 h) the leader looks again at the existing triggers of every policy with generate or
 * mutate-existing rules, as on a policy event; a trigger that still has mutate work pending
 * for the policy gets no second request (Kyverno's listMutateURs).
 *
 * Why UpdateRequests rather than ConfigMaps: they are Kyverno's own queue objects (same
 * fields, `kubectl get updaterequests` shows them with their state), their schema keeps the
 * admission request, and RBAC on them is separate from ConfigMaps users keep in our namespace.
 * Where the CRD is not served (an older deploy), the work is done in memory on the replica
 * that received it, as before, and that is said once.
 */
import { randomUUID } from 'node:crypto';
import { KubeError, describeRef, type KubeClient } from '../kube-api/client';
import { asArray, asObject } from '../engine/core/json';
import type { WebhookMetrics } from './metrics';
import type { AdmissionRequest, ClusterState, JsonObject, RuleResult } from '../engine/core/types';
import { pluralOf } from '../engine/kube/known-kinds';
import type { DownstreamGenerator } from './generate';
import { generateRulesOf, generateWork, needsCloneSources, policyKey } from './generate-work';
import { isCelMutatingPolicy } from '../engine/policy/admission';
import { topLevelKind } from './admission';
import { celPolicyKey, firedMutateExistingRules, mutateExisting, mutateExistingRules, mutatesExistingCel } from './mutate-existing';
import { targetConstraints, targetExpression } from '../engine/cel/mutate-existing';
import type { BackgroundRequest, GeneratedItem } from './protocol';
import { DEFAULT_BACKGROUND_SCAN_INTERVAL_MS, policyKinds, policyVersion } from './scan';
import { MANAGED_BY } from './configurations';
import { ruleMatchesRequest } from '../engine/match';
import { cloneListKind, copiesOf, deleteTriggerDownstream, isManagedByKyverno, policyOfLabels, sourceChangeWork, triggerOfLabels } from './clone-sources';
import { refOf } from '../kube-api/errors';
import { backgroundFailedEvent, backgroundSuccessEvents, resourceGenerationEvent, type EventInfo } from './event-info';
import type { EventWriter } from './events';
import { ruleReportItem, type ReportItem } from './report-layout';
import { GpolDownstreams, kubeWatchKind, type WatchKind, gpolDeleted, gpolKey, gpolPolicyEventJobs, isGeneratingPolicy, runGpolJob, synchronizationEnabled } from './gpol';
import { backgroundRequest, groupVersion } from './cluster-reads';
import { withLiveContext, type LiveContextState } from './live-context';
import { DEFAULT_UPDATE_REQUEST_THRESHOLD } from './kyverno-config';
import { RULE_LABELS, downstreamToDelete, hasBackgroundRules, ruleChange, ruleDownstreamSelector, ruleLabelSelector, sameSpec, syncedDataKinds, type KindRef } from './policy-changes';

type Json = Record<string, unknown>;

export const UPDATE_REQUEST_API = 'kyverno.io/v2';
/**
 * On every UpdateRequest we write: its status (state Pending, and for a deletion the downstream
 * list) is written after creation, as Kyverno's generator does (the status subresource ignores a
 * create's status), and the leader takes it only once the status is there. (The key's name is
 * older than its use for every request; UpdateRequests written before without it are taken at once.)
 */
export const AWAITS_STATUS_ANNOTATION = 'kyverno-studio.dev/awaits-generated-resources';
/**
 * Kyverno's retry limit for an UpdateRequest (common.retryOrDeleteOnFailure): each failure
 * counts one in status.retryCount; a failure once the count is past 3 deletes it (5 attempts).
 */
export const RETRY_LIMIT = 3;

/** The object an UpdateRequest is about (Kyverno's ResourceSpec). */
export interface ResourceSpec {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
}

/** One unit of background work, as an UpdateRequest holds it. */
export interface BackgroundJob {
  /** 'cel-generate': a GeneratingPolicy's (webhook/gpol.ts); `cel-mutate`: a MutatingPolicy's mutate-existing work (Kyverno's CELMutate). */
  type: 'generate' | 'mutate' | 'cel-generate' | 'cel-mutate';
  /** "name" or "namespace/name". */
  policy: string;
  /** The rules to run, comma-separated: the one of a policy event, those an admission fired. */
  rule: string;
  resource: ResourceSpec;
  /** Admission work: the request as admitted. Policy events: none (the trigger is read). */
  request?: AdmissionRequest;
  /** The rule's downstream objects for the trigger are deleted instead (its clone source was deleted). */
  deleteDownstream?: boolean;
  /** cel-generate: an UPDATE of a synchronized policy's trigger (stale downstream objects go). */
  synchronize?: boolean;
  /** cel-generate: evaluate to find the downstream objects that exist, write nothing (a new leader's pass). */
  restoreCache?: boolean;
  /**
   * The downstream objects of a deleted policy or rule, deleted by name (Kyverno keeps them in
   * the UpdateRequest's status.generatedResources); the policy need not exist any more.
   */
  generatedResources?: ResourceSpec[];
}

export interface BackgroundControllerOptions {
  client: KubeClient;
  /** Where the UpdateRequests live (the webhook's namespace). */
  namespace: string;
  log: (line: string) => void;
  generator: DownstreamGenerator;
  /**
   * The policies and PolicyExceptions being served now, the cluster's namespace labels when
   * watched, and the live context data admission reads (ConfigMaps, apiCall objects, global
   * context entries): background evaluations resolve context as admission does.
   */
  current: () => { policies: JsonObject[]; exceptions: JsonObject[]; namespaceLabels?: ClusterState['namespaceLabels']; live?: LiveContextState | null };
  /** First retry delay; doubles per attempt up to maxBackoffMs (defaults 500 ms, 60 s). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Jobs worked on at once (default 4). */
  concurrency?: number;
  /** Test hook: persist work but never process it (a leader "stopped" between the two). */
  hold?: boolean;
  /** The retries' clock (default: real timers); the offline runner's virtual clock. */
  clock?: { after(ms: number, fn: () => void): () => void };
  /** Triggers looked at per rule on a policy event (default 5000, as the background scan). */
  maxTriggers?: number;
  /** How often the leader looks at every policy's existing triggers again (the background scan interval, default 1 h). */
  reconcileIntervalMs?: number;
  /** How the generating policies' downstream kinds are watched (default: the API server's watch). */
  watchKind?: WatchKind;
  /** Where Kyverno's background events go (sources kyverno-generate and kyverno-mutate). */
  events?: Pick<EventWriter, 'add'>;
  /** Where mutate-existing results go (Kyverno's mutateExisting reports, on by default). */
  reports?: { add(items: ReportItem[]): void };
  /** Where the generating policies' results are counted (Kyverno's background controller records them). */
  metrics?: Pick<WebhookMetrics, 'recordResult'>;
  /**
   * Kyverno's `updateRequestThreshold` (its ConfigMap; default 1000): with this many
   * UpdateRequests in our namespace, no more are written and the work is dropped.
   */
  updateRequestThreshold?: () => number;
}

const meta = (o: Json | undefined): Json => asObject(o?.metadata);
const policyIdentity = (p: Json): string => `${String(p.kind)}|${String(meta(p).namespace ?? '')}|${String(meta(p).name ?? '')}`;

function resourceSpec(o: JsonObject): ResourceSpec {
  const m = meta(o);
  const spec: ResourceSpec = { apiVersion: String(o.apiVersion ?? ''), kind: String(o.kind ?? ''), name: String(m.name ?? '') };
  if (typeof m.namespace === 'string' && m.namespace) spec.namespace = m.namespace;
  if (typeof m.uid === 'string' && m.uid) spec.uid = m.uid;
  return spec;
}

/**
 * The admission request as an UpdateRequest stores it (admission.k8s.io field names). Empty
 * strings are left out: API servers before 1.2x (our test server, 1.20, among them) store ""
 * in a typed custom-resource field as null and then refuse it, so a core kind (group "")
 * is stored without kind/resource and read back from its object's apiVersion; not a
 * subresource's (pods/exec, pods/binding), whose kind and parent resource its object does not
 * name (such an UpdateRequest is refused there, and the work done in memory).
 */
function storedRequest(r: AdmissionRequest): Json {
  const o = r.object ?? r.oldObject ?? {};
  const kind = r.kind ?? { ...groupVersion(String(o.apiVersion ?? '')), kind: String(o.kind ?? '') };
  const out: Json = { uid: randomUUID(), operation: r.operation, dryRun: r.dryRun === true };
  if ((kind.group || r.subResource) && kind.version && kind.kind) {
    out.kind = kind;
    // A subresource's resource is its parent's (pods for pods/exec), as the API server sends it.
    const parent = r.resourceKind;
    out.resource = parent ? { group: parent.group, version: parent.version, resource: parent.resource } : { group: kind.group, version: kind.version, resource: pluralOf(kind.group, kind.kind) };
  }
  // The request's name: a subresource's is its parent's, which its own object may not carry.
  const name = r.name ?? String(meta(o).name ?? '');
  if (name) out.name = name;
  if (r.namespace) out.namespace = r.namespace;
  if (r.subResource) out.subResource = r.subResource;
  const user = Object.fromEntries(Object.entries(r.requestInfo.userInfo).filter(([, v]) => v !== '' && v !== undefined));
  if (Object.keys(user).length) out.userInfo = user;
  if (r.object) out.object = r.object;
  if (r.oldObject) out.oldObject = r.oldObject;
  return out;
}

/** Back from an UpdateRequest's admissionRequest (and userInfo) to the engine's request. */
function requestFromStored(a: Json, info: Json): AdmissionRequest {
  const obj = (v: unknown) => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as JsonObject) : null);
  const object = obj(a.object);
  const oldObject = obj(a.oldObject);
  const subject = object ?? oldObject ?? {};
  const stored = asObject(a.kind);
  const kind = Object.keys(stored).length
    ? { group: String(stored.group ?? ''), version: String(stored.version ?? ''), kind: String(stored.kind ?? '') }
    : { ...groupVersion(String(subject.apiVersion ?? '')), kind: String(subject.kind ?? '') };
  const user = asObject(a.userInfo);
  const resourceKind = topLevelKind(a);
  return {
    operation: String(a.operation ?? 'CREATE') as AdmissionRequest['operation'],
    object,
    oldObject,
    kind,
    subResource: typeof a.subResource === 'string' && a.subResource ? a.subResource : undefined,
    ...(resourceKind ? { resourceKind } : {}),
    ...(typeof a.name === 'string' && a.name ? { name: a.name } : {}),
    namespace: typeof a.namespace === 'string' && a.namespace ? a.namespace : undefined,
    dryRun: a.dryRun === true,
    requestInfo: {
      roles: asArray(info.roles).map(String),
      clusterRoles: asArray(info.clusterRoles).map(String),
      userInfo: { ...(user as JsonObject) },
    },
  };
}

/**
 * Kyverno's labels on an UpdateRequest (pkg/background/common/labels.go): a mutate request names
 * its policy and trigger (MutateLabelsSet, which Kyverno's mutate-existing work is found by), a
 * generate request its policy (GenerateLabelsSet); Kyverno's generator labels no CEL request it
 * writes from admission, and its policy controller labels a GeneratingPolicy's like a generate one.
 */
function kyvernoLabels(job: BackgroundJob): Record<string, string> {
  const policyName = job.policy.split('/').pop()!.slice(0, 63);
  if (job.type === 'mutate') {
    const r = job.resource;
    return {
      'mutate.updaterequest.kyverno.io/policy-name': policyName,
      'mutate.updaterequest.kyverno.io/trigger-name': r.name.slice(0, 63),
      'mutate.updaterequest.kyverno.io/trigger-namespace': r.namespace ?? '',
      'mutate.updaterequest.kyverno.io/trigger-kind': r.kind,
      ...(r.apiVersion ? { 'mutate.updaterequest.kyverno.io/trigger-apiversion': r.apiVersion.replaceAll('/', '-') } : {}),
    };
  }
  if (job.type === 'generate' || (job.type === 'cel-generate' && !job.request)) return { 'generate.kyverno.io/policy-name': policyName };
  return {};
}

/**
 * A ResourceSpec as Kyverno writes one (every field omitempty): a trigger found by uid has no
 * name, and API servers before 1.2x refuse "" in a typed field (see storedRequest).
 */
function storedSpec(r: ResourceSpec): Json {
  return Object.fromEntries(Object.entries(r).filter(([, v]) => v !== '' && v !== undefined));
}

/**
 * Kyverno's rule contexts: a generate request says per rule which trigger and what to do (its
 * background controller reads nothing else); a CELGenerate one per trigger, the rule being the
 * policy's name.
 */
function ruleContextOf(job: BackgroundJob): Json[] | undefined {
  const deleteDownstream = job.deleteDownstream === true;
  if (job.type === 'cel-generate') {
    return [{ rule: job.policy.split('/').pop()!, trigger: storedSpec(job.resource), deleteDownstream, synchronize: job.synchronize === true, cacheRestore: job.restoreCache === true }];
  }
  if (job.type !== 'generate') return undefined;
  return job.rule.split(',').filter(Boolean).map((rule) => ({ rule, trigger: storedSpec(job.resource), deleteDownstream, ...(job.synchronize ? { synchronize: true } : {}) }));
}

/** The UpdateRequest object for a job (Kyverno's layout: generateName ur-, our namespace). */
export function updateRequestFor(job: BackgroundJob, namespace: string): JsonObject {
  const request = job.request;
  const ruleContext = ruleContextOf(job);
  return {
    apiVersion: UPDATE_REQUEST_API,
    kind: 'UpdateRequest',
    metadata: {
      generateName: 'ur-',
      namespace,
      annotations: { [AWAITS_STATUS_ANNOTATION]: 'true' },
      // Ours (the leader takes no other), then Kyverno's.
      labels: { ...MANAGED_BY, ...kyvernoLabels(job) },
    },
    spec: {
      requestType: job.type,
      policy: job.policy,
      rule: job.rule,
      resource: storedSpec(job.resource),
      deleteDownstream: job.deleteDownstream === true,
      synchronize: job.synchronize === true,
      ...(ruleContext?.length ? { ruleContext } : {}),
      context: {
        userInfo: { roles: request?.requestInfo.roles ?? [], clusterRoles: request?.requestInfo.clusterRoles ?? [] },
        admissionRequestInfo: request ? { admissionRequest: storedRequest(request), operation: request.operation } : {},
      },
    },
  };
}

/** The job an UpdateRequest holds (undefined when it is not one of ours or is malformed). */
export function jobOf(ur: JsonObject): BackgroundJob | undefined {
  const spec = asObject(ur.spec);
  const type = spec.requestType;
  if (type !== 'generate' && type !== 'mutate' && type !== 'cel-generate' && type !== 'cel-mutate') return undefined;
  const res = asObject(spec.resource);
  const ctx = asObject(spec.context);
  const admission = asObject(asObject(ctx.admissionRequestInfo).admissionRequest);
  const context0 = asObject(asArray(spec.ruleContext)[0]);
  const resource: ResourceSpec = { apiVersion: String(res.apiVersion ?? ''), kind: String(res.kind ?? ''), name: String(res.name ?? '') };
  if (typeof res.namespace === 'string' && res.namespace) resource.namespace = res.namespace;
  if (typeof res.uid === 'string' && res.uid) resource.uid = res.uid;
  return {
    type,
    policy: String(spec.policy ?? ''),
    rule: String(spec.rule ?? ''),
    resource,
    request: Object.keys(admission).length ? requestFromStored(admission, asObject(ctx.userInfo)) : undefined,
    ...(spec.deleteDownstream === true || context0.deleteDownstream === true ? { deleteDownstream: true } : {}),
    ...(spec.synchronize === true || context0.synchronize === true ? { synchronize: true } : {}),
    ...(context0.cacheRestore === true ? { restoreCache: true } : {}),
    ...(Array.isArray(asObject(ur.status).generatedResources) ? { generatedResources: asArray(asObject(ur.status).generatedResources).map(asObject).map(specOf) } : {}),
  };
}

function specOf(o: Json): ResourceSpec {
  const spec: ResourceSpec = { apiVersion: String(o.apiVersion ?? ''), kind: String(o.kind ?? ''), name: String(o.name ?? '') };
  if (typeof o.namespace === 'string' && o.namespace) spec.namespace = o.namespace;
  if (typeof o.uid === 'string' && o.uid) spec.uid = o.uid;
  return spec;
}

function jobText(job: BackgroundJob): string {
  const r = job.resource;
  return `${job.type}${job.deleteDownstream ? ' (delete downstream)' : ''} policy ${job.policy}${job.rule ? ` rule ${job.rule}` : ''} for ${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}`;
}

/** A policy with only the named rules (comma-separated; Kyverno's UpdateRequests name theirs). */
function withOnlyRule(policy: JsonObject, rules: string): JsonObject {
  const names = new Set(rules.split(','));
  const spec = asObject(policy.spec);
  return { ...policy, spec: { ...spec, rules: asArray(spec.rules).filter((r) => names.has(String(asObject(r).name))) } };
}

/** `generate.generateExisting` of the rule, else the policy's `spec.generateExisting`. */
function generatesExisting(policy: JsonObject, rule: Json): boolean {
  const own = asObject(rule.generate).generateExisting;
  return typeof own === 'boolean' ? own : asObject(policy.spec).generateExisting === true;
}

/** `mutate.mutateExistingOnPolicyUpdate` of the rule, else the policy's. */
function mutatesExistingOnUpdate(policy: JsonObject, rule: Json): boolean {
  const own = asObject(rule.mutate).mutateExistingOnPolicyUpdate;
  return typeof own === 'boolean' ? own : asObject(policy.spec).mutateExistingOnPolicyUpdate === true;
}

interface Pending {
  job: BackgroundJob;
  /** The UpdateRequest holding it; absent for in-memory work. */
  name?: string;
  attempts: number;
}

export class BackgroundController {
  private persistent: Promise<boolean> | undefined;
  private leading: AbortSignal | undefined;
  /** UpdateRequests queued, running or waiting for a retry (by name), so a relist does not double them. */
  private readonly known = new Set<string>();
  private readonly queue: Pending[] = [];
  /** Work queued, running or waiting for a retry (to find pending mutate work for a trigger). */
  private readonly active = new Set<Pending>();
  private running = 0;
  private idleWaiters: Array<() => void> = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Retries waiting on `opts.clock` (their cancels). */
  private readonly cancels = new Set<() => void>();
  private seen = new Set<string>();
  /** The policies of the last event this leader handled, by kind, namespace and name (to see deletions and what changed). */
  private previous = new Map<string, JsonObject>();
  private latest: JsonObject[] = [];
  private policyEvents: Promise<void> = Promise.resolve();
  private closed = false;
  /**
   * Downstream objects this controller deleted with their clone source (by uid, for a minute):
   * their DELETE is not one to undo (Kyverno skips its background controller's own requests).
   */
  private readonly deletedByUs = new Set<string>();

  /** The generating policies seen last (by key): a changed spec or a deletion is a policy event. */
  private gpols = new Map<string, JsonObject>();
  private readonly gpolDownstreams: GpolDownstreams;

  constructor(private readonly opts: BackgroundControllerOptions) {
    this.gpolDownstreams = new GpolDownstreams(opts.client, opts.log, opts.watchKind ?? kubeWatchKind(opts.client, opts.log));
  }

  /** A generating policy wrote a downstream object: Kyverno's events for it. */
  private generatedByGpol(policy: JsonObject, created: JsonObject): void {
    const ref = resourceSpec(created);
    delete ref.uid;
    this.opts.events?.add([resourceGenerationEvent(String(asObject(policy.metadata).name ?? ''), String(asObject(policy.metadata).name ?? ''), ref), ...backgroundSuccessEvents('kyverno-generate', policy, [ref])]);
  }

  /** Generating policies created, changed or deleted since the last call (Kyverno's policy controller). */
  private gpolEvents(policies: JsonObject[]): void {
    const now = new Map(policies.filter(isGeneratingPolicy).map((p) => [gpolKey(p), p]));
    const { namespaceLabels = {} } = this.opts.current();
    for (const [key, old] of this.gpols) {
      if (now.has(key)) continue;
      this.policyEvents = this.policyEvents.then(() => gpolDeleted(old, this.gpolDownstreams)).catch((e: Error) => this.opts.log(`background: policy ${key}: ${e.message}`));
    }
    for (const [key, p] of now) {
      const old = this.gpols.get(key);
      if (old && JSON.stringify(old.spec) === JSON.stringify(p.spec)) continue;
      // Synchronization turned off: its downstream objects are no longer followed.
      if (old && synchronizationEnabled(old) && !synchronizationEnabled(p)) this.gpolDownstreams.forget(key);
      this.policyEvents = this.policyEvents
        .then(async () => {
          for (const j of await gpolPolicyEventJobs(this.opts.client, p, this.gpolDownstreams, namespaceLabels, this.opts.log)) {
            await this.enqueue({ type: 'cel-generate', policy: key, rule: '', resource: j.trigger, ...(j.restoreCache ? { restoreCache: true } : {}) });
          }
        })
        .catch((e: Error) => this.opts.log(`background: policy ${key}: ${e.message}`));
    }
    this.gpols = now;
  }

  /** Whether the cluster serves UpdateRequests (asked once; an older deploy may lack the CRD). */
  private usesUpdateRequests(): Promise<boolean> {
    this.persistent ??= this.opts.client.resourceFor(UPDATE_REQUEST_API, 'UpdateRequest').then(
      (info) => {
        if (!info) this.opts.log('background: the cluster does not serve kyverno.io/v2 UpdateRequests (redeploy installs the CRD); generate and mutate-existing work is kept in memory only');
        return !!info;
      },
      () => false,
    );
    return this.persistent;
  }

  /**
   * A downstream object was created (the generator tells us): Kyverno's events for it, one
   * PolicyApplied on the object and one on the policy (written with generateSuccessEvents).
   */
  generated(policy: string, rule: string, created: JsonObject): void {
    const found = this.findPolicy(policy);
    const ref = resourceSpec(created);
    delete ref.uid;
    const events: EventInfo[] = [resourceGenerationEvent(policy, rule, ref)];
    if (found) events.push(...backgroundSuccessEvents('kyverno-generate', found, [ref]));
    this.opts.events?.add(events);
  }

  private findPolicy(key: string, type: BackgroundJob['type'] = 'generate'): JsonObject | undefined {
    if (type === 'cel-generate') return this.opts.current().policies.find((p) => isGeneratingPolicy(p) && gpolKey(p) === key);
    return this.opts.current().policies.find((p) => (p.kind === 'ClusterPolicy' || p.kind === 'Policy') && policyKey(p) === key && (!key.includes('/') || p.kind === 'Policy'));
  }

  /** The MutatingPolicy ("name") or NamespacedMutatingPolicy ("namespace/name") a cel-mutate job names. */
  private findMutatingPolicy(key: string): JsonObject | undefined {
    return this.opts.current().policies.find((p) => mutatesExistingCel(p) && celPolicyKey(p) === key && key.includes('/') === String(p.kind).startsWith('Namespaced'));
  }

  /** Admission work from the server processes (any replica). */
  submit(items: GeneratedItem[]): void {
    for (const item of items) {
      if (item.action === 'request') void this.enqueue(this.admissionJob(item));
      else if (item.action === 'downstream') {
        // Kyverno's processRequest: managed by Kyverno, a downstream object; otherwise a clone source.
        if (!isManagedByKyverno(item.labels)) void this.sourceChanged(item.request);
        else if (!this.deletedByUs.has(String(meta(item.request.oldObject ?? undefined).uid ?? ''))) void this.downstreamChanged(item.labels, item.operation);
      }
    }
  }

  /**
   * A clone source was changed or deleted: the triggers of its copies whose rules synchronize
   * get the rule again (or, source deleted, lose their downstream objects), one job each.
   */
  private async sourceChanged(request: AdmissionRequest): Promise<void> {
    const { client, log } = this.opts;
    const source = request.oldObject;
    if (!source) return;
    try {
      const { policies, namespaceLabels } = this.opts.current();
      const work = sourceChangeWork(request, await copiesOf(client, source), policies, log, namespaceLabels);
      const listed = new Map<string, Promise<JsonObject[]>>();
      for (const w of work) {
        const t = w.trigger;
        const key = `${t.apiVersion}/${t.kind}/${t.namespace}`;
        if (!listed.has(key)) listed.set(key, client.list(t.apiVersion, t.kind, t.namespace || undefined));
        const trigger = (await listed.get(key)!).find((o) => meta(o).uid === t.uid);
        if (!trigger) continue;
        log(`background: clone source ${describeRef(refOf(source))} ${request.operation === 'DELETE' ? 'deleted: deleting' : 'changed: synchronizing'} the downstream of policy ${w.policy} rule ${w.rule} for ${t.kind} ${t.namespace ? `${t.namespace}/` : ''}${String(meta(trigger).name ?? '')}`);
        await this.enqueue({ type: 'generate', policy: w.policy, rule: w.rule, resource: resourceSpec({ apiVersion: t.apiVersion, kind: t.kind, ...trigger }), ...(w.deleteDownstream ? { deleteDownstream: true } : {}) });
      }
    } catch (e) {
      log(`background: cannot find the copies of clone source ${describeRef(refOf(source))}: ${(e as Error).message}`);
    }
  }

  /**
   * A generated object was edited or deleted (Kyverno's handleNonTrigger): when its rule
   * synchronizes, its trigger (found by the uid its labels name) gets the rule again, which
   * puts the object back as the rule makes it.
   */
  private async downstreamChanged(labels: Record<string, string>, operation: string): Promise<void> {
    const { client, log } = this.opts;
    const ruleName = labels['generate.kyverno.io/rule-name'] ?? '';
    const policy = policyOfLabels(labels, this.opts.current().policies);
    const rule = policy && generateRulesOf(policy).find((r) => r.name === ruleName);
    if (!policy || !rule || asObject(rule.generate).synchronize !== true) return;
    const group = labels['generate.kyverno.io/trigger-group'] ?? '';
    const version = labels['generate.kyverno.io/trigger-version'] ?? '';
    const kind = labels['generate.kyverno.io/trigger-kind'] ?? '';
    const uid = labels['generate.kyverno.io/trigger-uid'] ?? '';
    if (!kind || !version || !uid) return;
    const apiVersion = group ? `${group}/${version}` : version;
    try {
      const triggerNs = labels['generate.kyverno.io/trigger-namespace'] || undefined;
      const trigger = (await client.list(apiVersion, kind, triggerNs)).find((o) => meta(o).uid === uid);
      if (!trigger) return;
      log(`background: ${kind} trigger of a ${operation === 'DELETE' ? 'deleted' : 'changed'} downstream of policy ${policyKey(policy)} rule ${ruleName}: generating it again`);
      await this.enqueue({ type: 'generate', policy: policyKey(policy), rule: ruleName, resource: resourceSpec({ apiVersion, kind, ...trigger }) });
    } catch (e) {
      log(`background: cannot find the trigger of a downstream of policy ${policyKey(policy)}: ${(e as Error).message}`);
    }
  }

  private admissionJob(item: BackgroundRequest): BackgroundJob {
    const r = item.request;
    const subject = (r.operation === 'DELETE' ? r.oldObject : r.object) ?? r.oldObject ?? {};
    const resource = resourceSpec(subject);
    if (!resource.namespace && r.namespace && resource.kind !== 'Namespace') resource.namespace = r.namespace;
    if (item.type === 'cel-generate') {
      return { type: item.type, policy: gpolKey(item.policy), rule: '', resource, request: r, ...(item.deleteDownstream ? { deleteDownstream: true } : {}), ...(item.synchronize ? { synchronize: true } : {}) };
    }
    if (item.type === 'mutate' && isCelMutatingPolicy(item.policy as JsonObject)) return { type: 'cel-mutate', policy: celPolicyKey(item.policy), rule: '', resource, request: r };
    return { type: item.type, policy: policyKey(item.policy), rule: item.rules.join(','), resource, request: r };
  }

  /** Persists a job (or, without the CRD, queues it in memory); never throws. */
  async enqueue(job: BackgroundJob): Promise<void> {
    if (this.closed) return;
    if (await this.usesUpdateRequests()) {
      try {
        if (await this.pastThreshold()) return;
        const created = await this.opts.client.create(updateRequestFor(job, this.opts.namespace));
        const name = String(meta(created).name);
        // Kyverno's generator: once created, the request is Pending (createURForDownstreamDeletion's
        // also names the objects to delete).
        try {
          await this.patchStatus(name, { state: 'Pending', ...(job.generatedResources ? { generatedResources: job.generatedResources.map(storedSpec) } : {}) });
        } catch (e) {
          await this.opts.client.delete({ apiVersion: UPDATE_REQUEST_API, kind: 'UpdateRequest', name, namespace: this.opts.namespace }).catch(() => undefined);
          throw e;
        }
        // The leader takes it from here (its watch sees it); when that is us, start now.
        if (this.leading && !this.leading.aborted) this.schedule({ job, name, attempts: Number(asObject(created.status).retryCount ?? 0) });
        return;
      } catch (e) {
        this.opts.log(`background: cannot persist ${jobText(job)} as an UpdateRequest (${(e as Error).message}); doing it in memory`);
      }
    }
    this.schedule({ job, attempts: 0 });
  }

  /**
   * Kyverno's UpdateRequest generator (pkg/utils/generator/updaterequests.go Generate): before
   * writing one it lists the UpdateRequests of every namespace through the metadata client
   * (metadata only, all of them, no limit) and counts them; at the threshold it writes none
   * (the work is dropped, with Kyverno's error and the count in the log).
   */
  private async pastThreshold(): Promise<boolean> {
    const threshold = this.opts.updateRequestThreshold?.() ?? DEFAULT_UPDATE_REQUEST_THRESHOLD;
    const count = (await this.opts.client.listMetadata(UPDATE_REQUEST_API, 'UpdateRequest')).length;
    if (count < threshold) return false;
    this.opts.log(`background: UpdateRequest creation skipped: the number of updaterequests exceeds the threshold, please adjust updateRequestThreshold in the Kyverno configmap (current count ${count}, threshold ${threshold})`);
    return true;
  }

  /**
   * Leads until `signal` aborts: works through the UpdateRequests already there and those
   * that come, and acts on policy events.
   */
  lead(signal: AbortSignal): void {
    this.leading = signal;
    this.seen.clear();
    this.gpols.clear();
    // A new leader knows no earlier policy set: every policy is new to it (Kyverno's informer adds).
    this.previous = new Map();
    // Leadership lost: the persisted work is the next leader's; forget it (it stays in the cluster).
    // Kyverno's forceReconciliation: every background scan interval, every policy again.
    const interval = this.opts.reconcileIntervalMs ?? DEFAULT_BACKGROUND_SCAN_INTERVAL_MS;
    const timer = setInterval(() => void this.reconcile(), interval);
    timer.unref();
    signal.addEventListener('abort', () => {
      clearInterval(timer);
      this.gpolDownstreams.close();
      for (let i = this.queue.length - 1; i >= 0; i--) if (this.queue[i].name) this.queue.splice(i, 1);
      for (const p of this.active) if (p.name) this.active.delete(p);
      this.known.clear();
    }, { once: true });
    void this.onPolicies(this.latest);
    void this.followUpdateRequests(signal);
  }

  /** Policy set changed: the leader finds existing triggers of new or changed policies. */
  onPolicies(policies: JsonObject[]): Promise<void> {
    this.latest = policies;
    if (!this.leading || this.leading.aborted) return this.policyEvents;
    this.gpolEvents(policies);
    const kyvernoPolicies = policies.filter((p) => p.kind === 'ClusterPolicy' || p.kind === 'Policy');
    const current = new Map(kyvernoPolicies.map((p) => [policyIdentity(p), p]));
    const changed = kyvernoPolicies.filter((p) => !this.seen.has(policyVersion(p)));
    // A mutate-existing MutatingPolicy created or changed: its existing targets (Kyverno's createURForMutatingPolicy).
    const changedCel = policies.filter((p) => mutatesExistingCel(p) && !this.seen.has(policyVersion(p)));
    this.seen = new Set(policies.map(policyVersion));
    const chain = (p: JsonObject, fn: () => Promise<void>) => {
      this.policyEvents = this.policyEvents.then(fn).catch((e: Error) => this.opts.log(`background: policy ${policyKey(p)}: ${e.message}`));
    };
    // deletePolicy: a policy gone since the last event loses its synchronized downstream objects.
    for (const [id, old] of this.previous) if (!current.has(id)) chain(old, () => this.deleteRulesDownstream(old));
    for (const p of changed) {
      const old = this.previous.get(policyIdentity(p));
      chain(p, () => this.policyChanged(old, p));
    }
    for (const p of changedCel) chain(p, () => this.existingTriggers(p));
    this.previous = current;
    return this.policyEvents;
  }

  /**
   * The periodic pass (Kyverno's requeuePolicies and canBackgroundProcess): policies with
   * generate or mutate-existing rules; one whose mutate-existing rules are younger than the
   * interval only when the policy sets mutateExistingOnPolicyUpdate.
   */
  reconcile(now = Date.now()): Promise<void> {
    if (!this.leading || this.leading.aborted || this.closed) return this.policyEvents;
    const interval = this.opts.reconcileIntervalMs ?? DEFAULT_BACKGROUND_SCAN_INTERVAL_MS;
    for (const p of this.latest) {
      // Kyverno's forceReconciliation: every mutate-existing MutatingPolicy without a target expression.
      if (mutatesExistingCel(p) && !targetExpression(p)) {
        this.policyEvents = this.policyEvents.then(() => this.existingTriggers(p)).catch((e: Error) => this.opts.log(`background: policy ${celPolicyKey(p)}: ${e.message}`));
        continue;
      }
      if (p.kind !== 'ClusterPolicy' && p.kind !== 'Policy') continue;
      const generates = generateRulesOf(p).length > 0;
      const mutates = mutateExistingRules(p).length > 0;
      if (!generates && !mutates) continue;
      const created = Date.parse(String(meta(p).creationTimestamp ?? ''));
      if (mutates && Number.isFinite(created) && created + interval > now && asObject(p.spec).mutateExistingOnPolicyUpdate !== true) continue;
      this.policyEvents = this.policyEvents.then(() => this.handleGenerate(p)).catch((e: Error) => this.opts.log(`background: policy ${policyKey(p)}: ${e.message}`));
    }
    return this.policyEvents;
  }

  /** Mutate work for this policy and trigger not done yet (Kyverno's listMutateURs). */
  private mutatePending(policy: string, resource: ResourceSpec, type: BackgroundJob['type'] = 'mutate'): boolean {
    for (const p of this.active) {
      const r = p.job.resource;
      if (p.job.type === type && p.job.policy === policy && r.kind === resource.kind && r.name === resource.name && (r.namespace ?? '') === (resource.namespace ?? '')) return true;
    }
    return false;
  }

  /** Resolves when nothing is queued, running or waiting for a retry that is due soon (tests). */
  async idle(): Promise<void> {
    await this.gpolDownstreams.idle();
    if (this.queue.length === 0 && this.running === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops taking and retrying work; waits for what is running. Persisted work stays for the next leader. */
  async close(): Promise<void> {
    this.closed = true;
    this.queue.length = 0;
    this.active.clear();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const cancel of this.cancels) cancel();
    this.cancels.clear();
    await this.policyEvents.catch(() => {});
    await this.idle();
    this.gpolDownstreams.close();
  }

  /** List, then watch, our UpdateRequests; relist after a failure. */
  private async followUpdateRequests(signal: AbortSignal): Promise<void> {
    if (!(await this.usesUpdateRequests())) return;
    const path = `/apis/${UPDATE_REQUEST_API}/namespaces/${encodeURIComponent(this.opts.namespace)}/updaterequests`;
    let backoff = 1000;
    while (!signal.aborted && !this.closed) {
      try {
        const list = await this.opts.client.request<{ metadata?: { resourceVersion?: string }; items?: JsonObject[] }>({ method: 'GET', path });
        for (const ur of list.items ?? []) this.adopt(ur);
        let rv = list.metadata?.resourceVersion ?? '';
        backoff = 1000;
        while (!signal.aborted && !this.closed) {
          await this.opts.client.watch(path, rv, (e) => {
            if (e.type === 'ERROR') throw new KubeError(Number(asObject(e.object).code ?? 500), '', String(asObject(e.object).message ?? 'watch error'));
            const v = meta(e.object).resourceVersion;
            if (v) rv = String(v);
            if (e.type === 'ADDED' || (e.type === 'MODIFIED' && asObject(meta(e.object).annotations)[AWAITS_STATUS_ANNOTATION])) this.adopt(e.object);
          }, signal);
        }
      } catch (e) {
        if (signal.aborted || this.closed) break;
        if (!(e instanceof KubeError && e.status === 410)) this.opts.log(`background: watching UpdateRequests: ${(e as Error).message}; retrying in ${backoff / 1000}s`);
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 30_000);
      }
    }
  }

  /** Takes an UpdateRequest found in the cluster, unless it is already ours or has given up. */
  private adopt(ur: JsonObject): void {
    const name = String(meta(ur).name ?? '');
    if (!name || this.known.has(name)) return;
    if (asObject(asObject(ur.metadata).labels)['app.kubernetes.io/managed-by'] !== MANAGED_BY['app.kubernetes.io/managed-by']) return;
    const status = asObject(ur.status);
    // Kyverno's reconcileURStatus: a Completed request is deleted (one a leader that stopped left).
    if (status.state === 'Completed') {
      void this.opts.client.delete({ apiVersion: UPDATE_REQUEST_API, kind: 'UpdateRequest', name, namespace: this.opts.namespace }).catch((e: Error) => this.opts.log(`background: cannot delete UpdateRequest ${name}: ${e.message}`));
      return;
    }
    // As Kyverno's controller, a request is worked on once Pending (a Failed one is put back to Pending).
    if (asObject(meta(ur).annotations)[AWAITS_STATUS_ANNOTATION] && status.state !== 'Pending' && status.state !== 'Failed') return;
    const attempts = Number(status.retryCount ?? 0);
    const job = jobOf(ur);
    if (!job) {
      this.opts.log(`background: UpdateRequest ${name} is not one this webhook can process; left alone`);
      return;
    }
    this.schedule({ job, name, attempts });
  }

  /** Queues work now or after `delayMs` (a retry); an UpdateRequest already held is not queued twice. */
  private schedule(p: Pending, delayMs = 0): void {
    if (this.closed) return;
    if (p.name && delayMs === 0) {
      if (this.known.has(p.name)) return;
      this.known.add(p.name);
    }
    this.active.add(p);
    if (delayMs > 0) {
      const retry = () => {
        if (this.closed) return;
        // Kyverno's reconcileURStatus puts a Failed request back to Pending, which retries it.
        const pending = p.name ? this.patchStatus(p.name, { state: 'Pending' }).catch((e: Error) => this.opts.log(`background: cannot mark UpdateRequest ${p.name} Pending again: ${e.message}`)) : Promise.resolve();
        void pending.then(() => {
          if (this.closed) return;
          this.queue.push(p);
          this.pump();
        });
      };
      if (this.opts.clock) {
        const cancel = this.opts.clock.after(delayMs, () => (this.cancels.delete(cancel), retry()));
        this.cancels.add(cancel);
        return;
      }
      const t = setTimeout(() => {
        this.timers.delete(t);
        retry();
      }, delayMs);
      this.timers.add(t);
      return;
    }
    this.queue.push(p);
    this.pump();
  }

  /** Persisted work is the leader's (a follower only writes it); in-memory work is done where it arrived. */
  private runnable(p: Pending): boolean {
    return !p.name || (!this.opts.hold && !!this.leading && !this.leading.aborted);
  }

  private pump(): void {
    while (this.running < (this.opts.concurrency ?? 4)) {
      const i = this.queue.findIndex((p) => this.runnable(p));
      if (i < 0) break;
      const [p] = this.queue.splice(i, 1);
      this.running++;
      void this.attempt(p).finally(() => {
        this.running--;
        this.pump();
      });
    }
    if (this.running === 0 && !this.queue.some((p) => this.runnable(p))) for (const w of this.idleWaiters.splice(0)) w();
  }

  private async attempt(p: Pending): Promise<void> {
    let failures: string[];
    const generated: ResourceSpec[] = [];
    try {
      failures = await this.run(p.job, generated);
    } catch (e) {
      failures = [(e as Error).message];
    }
    const { client, log } = this.opts;
    if (failures.length === 0) {
      this.active.delete(p);
      if (p.name) {
        // Kyverno's statusControl.Success (state Completed, no message, what was generated), then
        // its reconcileURStatus deletes a Completed request.
        await this.patchStatus(p.name, { state: 'Completed', message: null, ...(generated.length ? { generatedResources: generated.map(storedSpec) } : {}) }).catch((e: Error) => log(`background: cannot mark UpdateRequest ${p.name} Completed: ${e.message}`));
        // Kyverno's "synced update request": which replica did the persisted work, and that it did it once.
        log(`background: synced UpdateRequest ${p.name}: ${jobText(p.job)}`);
        await client.delete({ apiVersion: UPDATE_REQUEST_API, kind: 'UpdateRequest', name: p.name, namespace: this.opts.namespace }).catch((e: Error) => log(`background: cannot delete UpdateRequest ${p.name}: ${e.message}`));
        this.known.delete(p.name);
      }
      return;
    }
    const message = failures.join('; ');
    // Kyverno's retryOrDeleteOnFailure: a failure past the retry limit deletes the UpdateRequest.
    if (p.attempts > RETRY_LIMIT) {
      this.active.delete(p);
      log(`background: ${jobText(p.job)} failed ${p.attempts + 1} times; giving up${p.name ? ` and deleting UpdateRequest ${p.name}` : ''}: ${message}`);
      if (p.name) {
        this.known.delete(p.name);
        await client.delete({ apiVersion: UPDATE_REQUEST_API, kind: 'UpdateRequest', name: p.name, namespace: this.opts.namespace }).catch((e: Error) => log(`background: cannot delete UpdateRequest ${p.name}: ${e.message}`));
      }
      return;
    }
    p.attempts++;
    if (p.name) await this.recordFailure(p.name, message, p.attempts);
    const delay = Math.min((this.opts.backoffMs ?? 500) * 2 ** (p.attempts - 1), this.opts.maxBackoffMs ?? 60_000);
    log(`background: ${jobText(p.job)} failed (attempt ${p.attempts}); retrying in ${delay} ms: ${message}`);
    this.schedule(p, delay);
  }

  /** A merge patch of one of our UpdateRequests' status subresource. */
  private async patchStatus(name: string, status: Json): Promise<void> {
    const path = `/apis/${UPDATE_REQUEST_API}/namespaces/${encodeURIComponent(this.opts.namespace)}/updaterequests/${encodeURIComponent(name)}/status`;
    await this.opts.client.request({ method: 'PATCH', path, contentType: 'application/merge-patch+json', body: { status } });
  }

  /** Kyverno's status on failure: state Failed, the message and the retry count. */
  private async recordFailure(name: string, message: string, attempts: number): Promise<void> {
    await this.patchStatus(name, { state: 'Failed', message: message.slice(0, 4000), retryCount: attempts }).catch((e: Error) => this.opts.log(`background: cannot record the failure in UpdateRequest ${name}: ${e.message}`));
  }

  private forgetLater(uid: string): void {
    if (!uid) return;
    this.deletedByUs.add(uid);
    const t = setTimeout(() => (this.deletedByUs.delete(uid), this.timers.delete(t)), 60_000);
    t.unref?.();
    this.timers.add(t);
  }

  /** Does one job now; resolves with one line per failure. What a generate job generated goes into `generated`. */
  private async run(job: BackgroundJob, generated: ResourceSpec[] = []): Promise<string[]> {
    const { client, log, generator } = this.opts;
    const { exceptions, namespaceLabels = {}, live } = this.opts.current();
    if (job.generatedResources) return this.deleteGenerated(job);
    const found = job.type === 'cel-mutate' ? this.findMutatingPolicy(job.policy) : this.findPolicy(job.policy, job.type);
    if (!found) {
      log(`background: ${jobText(job)}: the policy is gone; dropped`);
      return [];
    }
    if (job.type === 'cel-generate') {
      // Only a passing result names what it generated.
      const onResult = (trigger: JsonObject, result: RuleResult, run: { operation: string; seconds: number }) => {
        this.opts.reports?.add([ruleReportItem(found, result.status === 'pass' ? result : { ...result, generatedResources: undefined }, trigger, Date.now() / 1000)]);
        const metadata = asObject(found.metadata);
        const resource = { kind: String(trigger.kind ?? ''), namespace: String(asObject(trigger.metadata).namespace ?? ''), operation: run.operation };
        this.opts.metrics?.recordResult({ family: 'kyverno_generating_policy', policy: String(metadata.name ?? ''), policyNamespace: String(metadata.namespace ?? ''), rule: '', status: result.status }, resource, run.seconds);
      };
      const deps = { client, log, downstreams: this.gpolDownstreams, waitForTrigger: (t: ResourceSpec) => generator.waitForTrigger(t), exceptions, namespaceLabels, live, onGenerated: (o: JsonObject) => this.generatedByGpol(found, o), onResult };
      const failures = await runGpolJob(deps, found, { trigger: job.resource, request: job.request, deleteDownstream: job.deleteDownstream, synchronize: job.synchronize, restoreCache: job.restoreCache });
      if (failures.length) this.opts.events?.add([backgroundFailedEvent('kyverno-generate', found, '', job.resource, failures.join('; '))]);
      return failures;
    }
    const policy = job.rule ? withOnlyRule(found, job.rule) : found;
    let request = job.request;
    if (!request) {
      const trigger = await this.findTrigger(job.resource);
      if (!trigger) {
        log(`background: ${jobText(job)}: the trigger is gone; dropped`);
        return [];
      }
      request = backgroundRequest(trigger);
      if (job.deleteDownstream) return deleteTriggerDownstream(client, found, job.rule, trigger, log, (o) => this.forgetLater(String(meta(o).uid ?? '')));
    }
    if (job.type === 'generate') {
      // Kyverno's generate reports: the results on the trigger, once its downstream objects are applied (not for a deletion: the trigger is gone).
      const trigger = request.operation === 'DELETE' ? undefined : request.object;
      const onApplied = (results: RuleResult[]) => {
        for (const r of results) if (r.status === 'pass') for (const o of r.generatedResources ?? []) generated.push(resourceSpec(o));
        if (trigger && this.opts.reports) this.reportGenerated(found, trigger, results);
      };
      const failures = await generator.process({ action: 'request', type: 'generate', policy, rules: job.rule ? job.rule.split(',') : [], request }, exceptions, namespaceLabels, live, onApplied);
      // Kyverno's PolicyError on the policy, related to the trigger, per failed rule (a job
      // of several rules names none: our failures are not split by rule).
      if (failures.length) this.opts.events?.add([backgroundFailedEvent('kyverno-generate', found, job.rule.includes(',') ? '' : job.rule, job.resource, failures.join('; '))]);
      return failures;
    }
    // As Kyverno (GetTrigger): a subresource's created object (a Binding, an Eviction) is never
    // stored, so the request's own object is the trigger.
    if (request.operation === 'CREATE' && job.request && !request.subResource) {
      // As Kyverno: a CREATE's trigger is read back once stored (the webhook answered before that).
      const stored = await generator.waitForTrigger(job.resource);
      if (!stored) return [`the trigger ${describeRef({ apiVersion: job.resource.apiVersion, kind: job.resource.kind, name: job.resource.name, namespace: job.resource.namespace })} was not stored`];
      request = { ...request, object: stored };
    }
    const outcome = await mutateExisting(client, policy, request, exceptions, log, job.rule ? job.rule.split(',') : undefined, namespaceLabels, !job.request, live);
    if (outcome.reported?.length && this.opts.reports) {
      const now = Date.now() / 1000;
      this.opts.reports.add(outcome.reported.map(({ resource, result }) => ruleReportItem(found, result, resource, now)));
    }
    // Kyverno's mutate-existing events: per target written, a PolicyApplied on the policy, or
    // a PolicyError when the write failed; targets named by kind, namespace and name.
    for (const w of outcome.writes) {
      const m = meta(w.target);
      const target = { apiVersion: '', kind: String(w.target.kind ?? ''), name: String(m.name ?? ''), ...(typeof m.namespace === 'string' && m.namespace ? { namespace: m.namespace } : {}) };
      this.opts.events?.add(w.error === undefined ? backgroundSuccessEvents('kyverno-mutate', found, [target]) : [backgroundFailedEvent('kyverno-mutate', found, w.rule, target, w.error)]);
    }
    return outcome.failures;
  }

  /** A ClusterPolicy's or Policy's generate results on the trigger, generated objects in `generated-resources` (GenerationEngineResponseToReportResults). */
  private reportGenerated(policy: JsonObject, trigger: JsonObject, results: RuleResult[]): void {
    const time = Date.now() / 1000;
    this.opts.reports?.add(results.map((result) => ruleReportItem(policy, result, trigger, time)));
  }

  /**
   * The trigger a job names, as stored: by name (its uid checked when known), or, for work
   * found through a downstream object's labels (no name), by uid (Kyverno's GetResource).
   */
  private async findTrigger(r: ResourceSpec): Promise<JsonObject | undefined> {
    const { client } = this.opts;
    if (r.name) {
      const got = await client.get({ apiVersion: r.apiVersion, kind: r.kind, name: r.name, namespace: r.namespace });
      return got && (!r.uid || meta(got).uid === r.uid) ? { apiVersion: r.apiVersion, kind: r.kind, ...got } : undefined;
    }
    if (!r.uid) return undefined;
    const found = (await client.list(r.apiVersion, r.kind, r.kind === 'Namespace' ? undefined : r.namespace)).find((o) => meta(o).uid === r.uid);
    return found && { apiVersion: r.apiVersion, kind: r.kind, ...found };
  }

  /**
   * A deleted policy's or rule's downstream objects (Kyverno's deleteDownstream with
   * status.generatedResources): deleted by name while the trigger the work names still exists
   * (Kyverno fetches it first and fails the rule without it).
   */
  private async deleteGenerated(job: BackgroundJob): Promise<string[]> {
    const { client, log } = this.opts;
    if (!(await this.findTrigger(job.resource))) return [`rule ${job.rule} failed: failed to fetch trigger resource ${job.resource.kind} ${job.resource.namespace ? `${job.resource.namespace}/` : ''}${job.resource.name || job.resource.uid || ''}`];
    const failures: string[] = [];
    for (const r of job.generatedResources ?? []) {
      const ref = { apiVersion: r.apiVersion, kind: r.kind, name: r.name, namespace: r.namespace };
      try {
        const live = await client.get(ref);
        if (!live) continue;
        this.forgetLater(String(meta(live).uid ?? ''));
        if (await client.delete(ref)) log(`generate: policy ${job.policy} rule ${job.rule} deleted ${describeRef(ref)} (the policy or rule was deleted)`);
      } catch (e) {
        if (!(e instanceof KubeError && e.status === 404)) failures.push(`cannot delete ${describeRef(ref)}: ${(e as Error).message}`);
      }
    }
    return failures;
  }

  /**
   * Downstream objects of a policy's rule of one kind (Kyverno's FindDownstream lists them
   * cluster-wide; a namespaced Policy's service account may list its namespace only).
   */
  private async findDownstream(policy: JsonObject, k: KindRef, selector: string): Promise<JsonObject[]> {
    const { client } = this.opts;
    const ns = meta(policy).namespace;
    try {
      return (await client.list(k.apiVersion, k.kind, undefined, selector)).map((o) => ({ apiVersion: k.apiVersion, kind: k.kind, ...o }));
    } catch (e) {
      if (!(e instanceof KubeError && e.status === 403) || policy.kind !== 'Policy' || typeof ns !== 'string' || !ns) throw e;
      return (await client.list(k.apiVersion, k.kind, ns, selector)).map((o) => ({ apiVersion: k.apiVersion, kind: k.kind, ...o }));
    }
  }

  /** A rule's downstream objects of one kind; none (logged) when they cannot be listed. */
  private async ruleDownstream(policy: JsonObject, rule: string, k: KindRef): Promise<JsonObject[]> {
    try {
      return await this.findDownstream(policy, k, ruleDownstreamSelector(policy, rule));
    } catch (e) {
      this.opts.log(`background: policy ${policyKey(policy)} rule ${rule}: cannot list its downstream ${k.kind} objects: ${(e as Error).message}`);
      return [];
    }
  }

  /** The trigger a downstream object's labels name, as a job's resource (no name: found by uid). */
  private triggerSpecOf(downstream: JsonObject): ResourceSpec | undefined {
    const t = triggerOfLabels(Object.fromEntries(Object.entries(asObject(meta(downstream).labels)).map(([k, v]) => [k, String(v)])));
    if (!t.kind || !t.uid) return undefined;
    return { apiVersion: t.apiVersion, kind: t.kind, name: '', uid: t.uid, ...(t.namespace ? { namespace: t.namespace } : {}) };
  }

  /**
   * createURForDownstreamDeletion: the downstream objects of the given rules of a deleted (or
   * updated) policy, for rules that synchronize and do not orphan them; one job per rule and
   * trigger, each naming every object found (as Kyverno's single UpdateRequest does).
   */
  private async deleteRulesDownstream(policy: JsonObject, rules?: Json[]): Promise<void> {
    const found: Array<{ rule: string; trigger: ResourceSpec }> = [];
    const resources: ResourceSpec[] = [];
    for (const { rule, kinds } of downstreamToDelete(policy, rules)) {
      for (const k of kinds) {
        for (const o of await this.ruleDownstream(policy, rule, k)) {
          const trigger = this.triggerSpecOf(o);
          if (!trigger) continue;
          found.push({ rule, trigger });
          const spec = resourceSpec(o);
          delete spec.uid;
          resources.push(spec);
        }
      }
    }
    const seen = new Set<string>();
    for (const { rule, trigger } of found) {
      const key = `${rule}|${trigger.uid}`;
      if (seen.has(key)) continue;
      seen.add(key);
      await this.enqueue({ type: 'generate', policy: policyKey(policy), rule, resource: trigger, deleteDownstream: true, generatedResources: resources });
    }
  }

  /** syncDataPolicyChanges: each trigger of a synchronized data rule's downstream objects gets the rule again. */
  private async syncDataPolicyChanges(policy: JsonObject): Promise<void> {
    for (const { rule, kinds } of syncedDataKinds(policy)) {
      const seen = new Set<string>();
      for (const k of kinds) {
        for (const o of await this.ruleDownstream(policy, rule, k)) {
          const trigger = this.triggerSpecOf(o);
          if (!trigger || seen.has(trigger.uid!)) continue;
          seen.add(trigger.uid!);
          await this.enqueue({ type: 'generate', policy: policyKey(policy), rule, resource: trigger });
        }
      }
    }
  }

  /** unlabelDownstream: objects of a rule's old target kinds keep existing, without the policy and rule labels. */
  private async unlabelDownstream(policy: JsonObject, relabel: Array<{ rule: string; kinds: string[] }>): Promise<void> {
    const { client, log } = this.opts;
    for (const { rule, kinds } of relabel) {
      for (const spec of kinds) {
        const k = cloneListKind(spec);
        if (!k) continue;
        try {
          for (const o of await this.findDownstream(policy, k, ruleLabelSelector(policy, rule))) {
            const m = meta(o);
            const labels = { ...asObject(m.labels) };
            for (const l of RULE_LABELS) delete labels[l];
            await client.replace({ ...o, metadata: { ...m, labels } });
          }
        } catch (e) {
          log(`background: policy ${policyKey(policy)} rule ${rule}: cannot un-label its old ${spec} targets: ${(e as Error).message}`);
        }
      }
    }
  }

  /**
   * A mutate-existing MutatingPolicy created or changed, or the background scan (Kyverno's
   * createURForMutatingPolicy, pkg/policy/mpol.go): with a target expression, one job per
   * existing trigger (the objects its matchConstraints select); otherwise one job per object
   * the target constraints select, each mutated as an UPDATE of itself (the bare
   * UpdateRequest's processing, pkg/background/mpol/processor.go).
   */
  private async existingCelTargets(policy: JsonObject): Promise<void> {
    const key = celPolicyKey(policy);
    const spec = asObject(policy.spec);
    const selecting: JsonObject = targetExpression(policy) ? policy : { ...policy, spec: { ...spec, matchConstraints: targetConstraints(policy) } };
    const onlyNs = String(policy.kind).startsWith('Namespaced') ? String(meta(policy).namespace ?? '') || undefined : undefined;
    let count = 0;
    for (const k of await policyKinds(this.opts.client, selecting)) {
      const items = await this.opts.client.list(k.apiVersion, k.kind, onlyNs).catch((e: Error) => {
        this.opts.log(`background: policy ${key}: cannot list ${k.kind}: ${e.message}`);
        return [] as JsonObject[];
      });
      for (const item of items) {
        if (!this.leading || this.leading.aborted || this.closed) return;
        if (++count > (this.opts.maxTriggers ?? 5000)) {
          this.opts.log(`background: policy ${key}: stopped after ${count - 1} objects`);
          return;
        }
        const resource = resourceSpec({ apiVersion: k.apiVersion, kind: k.kind, ...item });
        if (!this.mutatePending(key, resource, 'cel-mutate')) await this.enqueue({ type: 'cel-mutate', policy: key, rule: '', resource });
      }
    }
  }

  /**
   * A policy event (Kyverno's addPolicy/updatePolicy, then syncPolicy): for a policy with
   * background rules, an update that removed rules deletes their downstream objects, one that
   * retargeted rules un-labels the old targets; then the synchronized data rules are run again
   * for their downstream objects' triggers and generateExisting/mutateExistingOnPolicyUpdate
   * rules for every existing trigger.
   */
  private async policyChanged(old: JsonObject | undefined, policy: JsonObject): Promise<void> {
    if (!hasBackgroundRules(policy)) return;
    if (old) {
      if (sameSpec(old, policy)) return;
      const change = ruleChange(old, policy);
      if (change.deletedRules.length) await this.deleteRulesDownstream(old, change.deletedRules);
      else await this.unlabelDownstream(policy, change.relabel);
    }
    await this.handleGenerate(policy);
  }

  /** syncPolicy's generate and mutate part (also the periodic reconciliation). */
  private async handleGenerate(policy: JsonObject): Promise<void> {
    await this.syncDataPolicyChanges(policy);
    await this.existingTriggers(policy);
  }

  /**
   * Policy created or changed (or found by a new leader): the existing triggers of its
   * generateExisting and mutateExistingOnPolicyUpdate rules, each one job (Kyverno's
   * handleGenerateForExisting and handleMutate).
   */
  private async existingTriggers(policy: JsonObject): Promise<void> {
    if (mutatesExistingCel(policy)) return this.existingCelTargets(policy);
    const wanted: Array<{ type: 'generate' | 'mutate'; rule: Json }> = [];
    for (const rule of generateRulesOf(policy)) if (generatesExisting(policy, rule)) wanted.push({ type: 'generate', rule });
    for (const rule of mutateExistingRules(policy)) if (mutatesExistingOnUpdate(policy, rule)) wanted.push({ type: 'mutate', rule });
    if (!wanted.length) return;
    const pm = meta(policy);
    const onlyNs = policy.kind === 'Policy' && typeof pm.namespace === 'string' ? pm.namespace : undefined;
    const { exceptions, namespaceLabels = {}, live } = this.opts.current();
    for (const { type, rule } of wanted) {
      const name = String(rule.name ?? '');
      const single = withOnlyRule(policy, name);
      let count = 0;
      for (const k of await policyKinds(this.opts.client, single)) {
        const items = await this.opts.client.list(k.apiVersion, k.kind, onlyNs).catch((e: Error) => {
          this.opts.log(`background: policy ${policyKey(policy)} rule ${name}: cannot list ${k.kind}: ${e.message}`);
          return [] as JsonObject[];
        });
        for (const item of items) {
          if (!this.leading || this.leading.aborted || this.closed) return;
          if (++count > (this.opts.maxTriggers ?? 5000)) {
            this.opts.log(`background: policy ${policyKey(policy)} rule ${name}: stopped after ${count - 1} triggers`);
            break;
          }
          const trigger = { apiVersion: k.apiVersion, kind: k.kind, ...item };
          const request = backgroundRequest(trigger);
          const cluster = withLiveContext({ resources: [], namespaceLabels, apiCallResponses: [], globalContext: {}, exceptions }, live);
          // Kyverno's ApplyBackgroundChecks before the UpdateRequest: only triggers the rule applies to.
          const fires = type === 'mutate'
            ? firedMutateExistingRules(single, request, cluster).length > 0
            : needsCloneSources(single)
              ? ruleMatchesRequest(rule as JsonObject, request, cluster, onlyNs).matched
              : generateWork(single, request, cluster).items.length > 0;
          const resource = resourceSpec(trigger);
          if (fires && !(type === 'mutate' && this.mutatePending(policyKey(policy), resource))) await this.enqueue({ type, policy: policyKey(policy), rule: name, resource });
        }
      }
    }
  }
}
