/**
 * GeneratingPolicy and NamespacedGeneratingPolicy in the webhook and the background
 * controller, as Kyverno 1.19 runs them:
 * - admission (pkg/webhooks/resource/gpol/handler.go): every request the policy's webhook
 *   receives (its resourceRules for every operation, its selectors) becomes one CELGenerate
 *   UpdateRequest; a DELETE of a trigger deletes its downstream objects when the policy
 *   synchronizes, unless a resourceRule lists DELETE (then it generates); an UPDATE of a
 *   synchronized policy's trigger is marked `synchronize`;
 * - background (pkg/background/gpol/generate_controller.go, pkg/cel/policies/gpol/engine,
 *   pkg/cel/libs/context.go GenerateResources): the policy is evaluated again against the
 *   trigger, with `resource.Get/List` reading the cluster, and what `generator.Apply` (or a
 *   template) returns is written: created when absent, updated when it exists and carries this
 *   policy's and trigger's labels, left alone otherwise; no result for a synchronized UPDATE
 *   deletes the trigger's downstream objects, and a synchronized UPDATE deletes those the
 *   policy no longer generates (CleanupStaleDownstreams);
 * - Kyverno's watch manager (pkg/background/gpol/dynamic_watcher.go) keeps, per synchronized
 *   policy, the kinds it generated: its downstream objects are found there by their labels
 *   (trigger deleted, policy changed or deleted). Edits of a downstream object come back
 *   through admission like those of a generate rule's (webhook/background.ts downstreamChanged)
 *   and the policy is run again for its trigger, which restores it.
 */
import type { KubeClient } from '../kube-api/client';
import { KubeError, describeRef, refOf } from '../kube-api/errors';
import { applyPolicy } from '../engine/apply';
import { backgroundRequest, evaluateReadingCluster } from './cluster-reads';
import { withLiveContext, type LiveContextState } from './live-context';
import { asArray, asObject, jsonEqual } from '../engine/core/json';
import type { AdmissionRequest, ClusterState, JsonObject, PolicyResponse, RuleResult } from '../engine/core/types';
import { KNOWN_KINDS, isNamespacedKind, parseApiVersion } from '../engine/kube';
import { matchConstraintsMatch } from '../engine/cel/match';
import { apiGroup } from '../engine/loader';
import { MANAGED_BY_LABEL } from '../engine/kube/labels';

type Json = Record<string, unknown>;

const G = 'generate.kyverno.io/';

export function isGeneratingPolicy(policy: Json): boolean {
  return policy.kind === 'GeneratingPolicy' || policy.kind === 'NamespacedGeneratingPolicy';
}

/** Kyverno's policy key: "name", or "namespace/name" for a NamespacedGeneratingPolicy. */
export function gpolKey(policy: Json): string {
  const m = asObject(policy.metadata);
  return policy.kind === 'NamespacedGeneratingPolicy' && m.namespace ? `${String(m.namespace)}/${String(m.name)}` : String(m.name ?? '');
}

/** The namespace of a NamespacedGeneratingPolicy ('' for a GeneratingPolicy). */
function policyNamespace(policy: Json): string {
  const ns = asObject(policy.metadata).namespace;
  return policy.kind === 'NamespacedGeneratingPolicy' && typeof ns === 'string' ? ns : '';
}

const evaluation = (policy: Json, field: string): unknown => asObject(asObject(asObject(asObject(policy.spec).evaluation)[field])).enabled;
/** spec.evaluation.synchronize.enabled (default false). */
export const synchronizationEnabled = (policy: Json): boolean => evaluation(policy, 'synchronize') === true;
/** spec.evaluation.orphanDownstreamOnPolicyDelete.enabled (default false). */
export const orphanDownstreamOnPolicyDelete = (policy: Json): boolean => evaluation(policy, 'orphanDownstreamOnPolicyDelete') === true;
/** spec.evaluation.generateExisting.enabled (default false). */
export const generateExistingEnabled = (policy: Json): boolean => evaluation(policy, 'generateExisting') === true;

/**
 * Whether the policy's webhook receives this request: Kyverno registers each resourceRule for
 * CREATE, UPDATE, DELETE and CONNECT, with the policy's namespace and object selectors (its
 * match conditions only narrow what the background evaluation does again anyway).
 */
function webhookReceives(policy: Json, request: AdmissionRequest, cluster: ClusterState): boolean {
  return matchConstraintsMatch(asObject(policy.spec).matchConstraints, request, cluster, { ignoreOperations: true });
}

/** Kyverno's handler: the UpdateRequest one admitted request asks of a generating policy, if any. */
export function gpolAdmissionWork(policy: JsonObject, request: AdmissionRequest, cluster: ClusterState): { deleteDownstream: boolean; synchronize: boolean } | undefined {
  if (request.dryRun) return undefined;
  // A namespaced policy's webhook answers only namespaced requests, in the policy's namespace.
  const ns = policyNamespace(policy);
  if (policy.kind === 'NamespacedGeneratingPolicy' && (!request.namespace || request.namespace !== ns)) return undefined;
  if (!webhookReceives(policy, request, cluster)) return undefined;
  const sync = synchronizationEnabled(policy);
  if (request.operation === 'DELETE') {
    const generatesOnDelete = asArray(asObject(asObject(policy.spec).matchConstraints).resourceRules).some((r) => asArray(asObject(r).operations).includes('DELETE'));
    if (generatesOnDelete) return { deleteDownstream: false, synchronize: false };
    return sync ? { deleteDownstream: true, synchronize: false } : undefined;
  }
  return { deleteDownstream: false, synchronize: request.operation === 'UPDATE' && sync };
}

/**
 * The policy evaluated against a request with resource.Get/List answered from the cluster
 * (evaluateReadingCluster: what the evaluation could not answer is read, and it runs again).
 */
export async function evaluateWithCluster(client: KubeClient, policy: JsonObject, request: AdmissionRequest, base: ClusterState, log: (line: string) => void): Promise<PolicyResponse> {
  const cluster: ClusterState = { ...base, resources: [...base.resources], apiCallResponses: [...base.apiCallResponses] };
  return evaluateReadingCluster(client, cluster, () => applyPolicy(policy, { request, cluster }), (line) => log(`generate: policy ${gpolKey(policy)}: ${line}`));
}

/** What SetGenerateContext tells the generator library about the trigger. */
export interface GenerateContext {
  policyName: string;
  policyNamespace: string;
  triggerName: string;
  triggerNamespace: string;
  triggerGroup: string;
  triggerVersion: string;
  triggerKind: string;
  triggerUid: string;
  restoreCache: boolean;
  serverSideApply: boolean;
}

/** Kyverno's addGenerateLabels: what marks a downstream object as this policy's for this trigger. */
export function downstreamLabels(ctx: GenerateContext, obj: JsonObject): Record<string, string> {
  const meta = asObject(obj.metadata);
  const labels: Record<string, string> = Object.fromEntries(Object.entries(asObject(meta.labels)).map(([k, v]) => [k, String(v)]));
  Object.assign(labels, {
    [MANAGED_BY_LABEL]: 'kyverno',
    [`${G}policy-name`]: ctx.policyName,
    [`${G}trigger-name`]: ctx.triggerName,
    [`${G}trigger-namespace`]: ctx.triggerNamespace,
    [`${G}trigger-uid`]: ctx.triggerUid,
    [`${G}trigger-kind`]: ctx.triggerKind,
    [`${G}trigger-group`]: ctx.triggerGroup,
    [`${G}trigger-version`]: ctx.triggerVersion,
  });
  // A copy of an object read from the cluster (it has a resourceVersion) names its source.
  if (meta.resourceVersion !== undefined && meta.resourceVersion !== '') labels[`${G}source-uid`] = String(meta.uid ?? '');
  return labels;
}

const labelsOf = (o: JsonObject | undefined): Json => asObject(asObject(o?.metadata).labels);

function managedBy(ctx: GenerateContext, existing: JsonObject): boolean {
  const l = labelsOf(existing);
  return l[MANAGED_BY_LABEL] === 'kyverno' && l[`${G}policy-name`] === ctx.policyName && l[`${G}trigger-uid`] === ctx.triggerUid;
}

async function namespaced(client: KubeClient, apiVersion: string, kind: string): Promise<boolean> {
  const info = await client.resourceFor(apiVersion, kind).catch(() => undefined);
  return info ? info.namespaced : isNamespacedKind(apiGroup(apiVersion), kind);
}

/**
 * Kyverno's GenerateResources outside the CLI: each object is labelled, cleared of what the
 * API server owns, put in its namespace (none for a cluster-scoped kind) and written. Returns
 * the objects as stored (those reported generated).
 */
export async function writeGenerated(client: KubeClient, ctx: GenerateContext, items: JsonObject[]): Promise<JsonObject[]> {
  const out: JsonObject[] = [];
  for (const item of items) {
    const apiVersion = String(item.apiVersion ?? '');
    const kind = String(item.kind ?? '');
    // The dynamic client parses the group/version before any call.
    const gv = parseApiVersion(apiVersion);
    if ('error' in gv) throw new Error(gv.error);
    const meta = asObject(item.metadata);
    let namespace = typeof meta.namespace === 'string' ? meta.namespace : '';
    if (!(await namespaced(client, apiVersion, kind))) {
      if (namespace && ctx.policyNamespace) throw new Error(`cross-scope generation denied: a policy scoped to namespace "${namespace}" cannot generate cluster-scoped resource ${apiVersion}/${kind}`);
      namespace = '';
    }
    const { uid: _u, selfLink: _s, creationTimestamp: _c, managedFields: _m, resourceVersion: _r, namespace: _n, ...rest } = meta;
    const clean: Json = { ...rest, labels: downstreamLabels(ctx, item) };
    if (namespace) clean.namespace = namespace;
    const desired: JsonObject = { ...item, metadata: clean };
    delete desired.status;
    const ref = { apiVersion, kind, name: String(meta.name ?? ''), namespace: namespace || undefined };
    const existing = await client.get(ref);
    if (!existing) {
      if (ctx.restoreCache) continue;
      out.push(ctx.serverSideApply ? await client.apply(desired, { force: true }) : await client.create(desired));
      continue;
    }
    // An object of that name that is not this policy's for this trigger is never adopted.
    if (!managedBy(ctx, existing)) continue;
    if (ctx.restoreCache) {
      out.push(existing);
      continue;
    }
    if (ctx.serverSideApply) {
      out.push(await client.apply(desired, { force: true }));
      continue;
    }
    const em = asObject(existing.metadata);
    out.push(await client.replace({ ...desired, metadata: { ...clean, uid: em.uid, resourceVersion: em.resourceVersion } }));
  }
  return out;
}

/** Identity of a downstream object (kind, namespace, name). */
const downstreamKey = (o: JsonObject): string => `${apiGroup(String(o.apiVersion ?? ''))}/${String(o.kind)}/${String(asObject(o.metadata).namespace ?? '')}/${String(asObject(o.metadata).name)}`;
const kindKey = (apiVersion: string, kind: string): string => `${apiGroup(apiVersion)}/${kind}`;

/** A watch event on the objects of one kind (every namespace). */
export interface WatchEvent {
  type: string;
  object: JsonObject;
}
/** Watches one kind until `signal` aborts; events name their apiVersion and kind. */
export type WatchKind = (apiVersion: string, kind: string, resourceVersion: string, onEvent: (e: WatchEvent) => void, signal: AbortSignal) => Promise<void>;

/** A WatchKind over the API server: a watch from the given resourceVersion, again after each end, relisting on 410 Gone. */
export function kubeWatchKind(client: KubeClient, log: (line: string) => void): WatchKind {
  return async (apiVersion, kind, resourceVersion, onEvent, signal) => {
    const info = await client.resourceFor(apiVersion, kind);
    if (!info) throw new Error(`the cluster does not serve ${kind} (${apiVersion})`);
    const path = `${apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`}/${info.plural}`;
    let rv = resourceVersion;
    let backoff = 1000;
    while (!signal.aborted) {
      try {
        if (!rv) rv = String(asObject((await client.request<JsonObject>({ method: 'GET', path })).metadata).resourceVersion ?? '');
        await client.watch(path, rv, (e) => {
          if (e.type === 'ERROR') throw new KubeError(Number(asObject(e.object).code ?? 500), '', String(asObject(e.object).message ?? 'watch error'));
          const v = asObject(e.object.metadata).resourceVersion;
          if (v) rv = String(v);
          if (e.type !== 'BOOKMARK') onEvent({ type: e.type, object: { ...e.object, apiVersion, kind } });
        }, signal);
        backoff = 1000;
      } catch (e) {
        if (signal.aborted) return;
        if (e instanceof KubeError && e.status === 410) rv = '';
        else log(`generate: watching ${kind}: ${(e as Error).message}; again in ${backoff / 1000}s`);
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 30_000);
      }
    }
  };
}

/** Kyverno's CalculateResourceHash: labels, annotations and the object without metadata, status, scale and spec.nodeName. */
function hashView(o: JsonObject): unknown {
  const { metadata, status: _s, scale: _sc, ...rest } = o;
  const spec = asObject(rest.spec);
  if ('nodeName' in spec) {
    const { nodeName: _n, ...others } = spec;
    rest.spec = others;
  }
  return [asObject(asObject(metadata).labels), asObject(asObject(metadata).annotations), rest];
}

/** What the API server owns, cleared before an object is written again. */
function withoutServerFields(o: JsonObject): JsonObject {
  const { uid: _u, selfLink: _s, creationTimestamp: _c, managedFields: _m, resourceVersion: _r, ...meta } = asObject(o.metadata);
  return { ...o, metadata: meta };
}

interface Cached {
  policy: string;
  object: JsonObject;
}

interface KindWatch {
  apiVersion: string;
  kind: string;
  abort: AbortController;
  /** The downstream objects of synchronized policies, by uid, as generated. */
  cache: Map<string, Cached>;
}

/**
 * Kyverno's WatchManager (pkg/background/gpol/dynamic_watcher.go): per kind a synchronized
 * generating policy generated, a watch and the downstream objects as generated. A downstream
 * object edited or deleted by someone else is put back; an object of that kind that is no
 * downstream is a possible clone source: its copies (by the source-uid label) follow its
 * edits and go with it. In memory, as Kyverno's: a new leader fills it again from the
 * policies' existing triggers (restoreCache).
 */
export class GpolDownstreams {
  private readonly watches = new Map<string, KindWatch>();
  private readonly policyKinds = new Map<string, Set<string>>();
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: KubeClient,
    private readonly log: (line: string) => void,
    private readonly watchKind: WatchKind,
  ) {}

  /** SyncWatchers: the objects a synchronized policy just generated (as stored) are followed. */
  remember(policy: string, objects: JsonObject[]): void {
    let kinds = this.policyKinds.get(policy);
    if (!kinds) this.policyKinds.set(policy, (kinds = new Set()));
    for (const o of objects) {
      const apiVersion = String(o.apiVersion ?? '');
      const kind = String(o.kind ?? '');
      const key = kindKey(apiVersion, kind);
      kinds.add(key);
      let w = this.watches.get(key);
      if (!w) {
        w = { apiVersion, kind, abort: new AbortController(), cache: new Map() };
        this.watches.set(key, w);
        const started = w;
        this.watchKind(apiVersion, kind, String(asObject(o.metadata).resourceVersion ?? ''), (e) => this.onEvent(started, e), started.abort.signal).catch((e: Error) => this.log(`generate: cannot watch ${kind}: ${e.message}`));
      }
      const uid = String(asObject(o.metadata).uid ?? '');
      if (uid) w.cache.set(uid, { policy, object: o });
    }
  }

  /** RemoveWatchersForPolicy without deleting: its objects are no longer followed. */
  forget(policy: string): void {
    for (const key of this.policyKinds.get(policy) ?? []) {
      const w = this.watches.get(key);
      if (!w) continue;
      for (const [uid, c] of w.cache) if (c.policy === policy) w.cache.delete(uid);
      if (![...this.policyKinds].some(([p, kinds]) => p !== policy && kinds.has(key))) {
        w.abort.abort();
        this.watches.delete(key);
      }
    }
    this.policyKinds.delete(policy);
  }

  knows(policy: string): boolean {
    return this.downstreams(policy).length > 0;
  }

  /** GetDownstreams: the followed objects of a policy (of one trigger when its uid is given). */
  downstreams(policy: string, triggerUid?: string): JsonObject[] {
    const out: JsonObject[] = [];
    for (const key of this.policyKinds.get(policy) ?? []) {
      for (const c of this.watches.get(key)?.cache.values() ?? []) {
        if (c.policy === policy && (triggerUid === undefined || labelsOf(c.object)[`${G}trigger-uid`] === triggerUid)) out.push(c.object);
      }
    }
    return out;
  }

  /** DeleteDownstreams (and CleanupStaleDownstreams with `keep`): deleted, and no longer followed first. */
  async delete(policy: string, triggerUid?: string, keep: (o: JsonObject) => boolean = () => false): Promise<void> {
    for (const o of this.downstreams(policy, triggerUid)) {
      if (keep(o)) continue;
      this.watches.get(kindKey(String(o.apiVersion), String(o.kind)))?.cache.delete(String(asObject(o.metadata).uid ?? ''));
      try {
        if (await this.client.delete(refOf(o))) this.log(`generate: policy ${policy} deleted its downstream ${describeRef(refOf(o))}`);
      } catch (e) {
        if (!(e instanceof KubeError && e.status === 404)) this.log(`generate: policy ${policy}: cannot delete ${describeRef(refOf(o))}: ${(e as Error).message}`);
      }
    }
  }

  /** Resolves when the events seen so far are handled (tests, the offline runner). */
  async idle(): Promise<void> {
    for (let last: Promise<void> | undefined; last !== this.pending; ) {
      last = this.pending;
      await last;
    }
  }

  close(): void {
    for (const w of this.watches.values()) w.abort.abort();
    this.watches.clear();
    this.policyKinds.clear();
  }

  private onEvent(w: KindWatch, e: WatchEvent): void {
    if (e.type !== 'MODIFIED' && e.type !== 'DELETED') return;
    // Handled after the write that caused it has been recorded (a watch event comes later in a cluster too).
    this.pending = this.pending
      .then(() => new Promise<void>((r) => setImmediate(r)))
      .then(() => (w.abort.signal.aborted ? undefined : e.type === 'MODIFIED' ? this.modified(w, e.object) : this.deleted(w, e.object)))
      .catch((err: Error) => this.log(`generate: ${w.kind} ${e.type.toLowerCase()}: ${err.message}`));
  }

  /** The followed copies of a source (by the source-uid label). */
  private async copiesOf(w: KindWatch, source: JsonObject): Promise<JsonObject[]> {
    const uid = String(asObject(source.metadata).uid ?? '');
    const listed = await this.client.list(w.apiVersion, w.kind, undefined, `${G}source-uid=${uid}`);
    return listed.filter((d) => labelsOf(d)[`${G}source-uid`] === uid && w.cache.has(String(asObject(d.metadata).uid ?? ''))).map((d) => ({ ...d, apiVersion: w.apiVersion, kind: w.kind }));
  }

  /** handleUpdate */
  private async modified(w: KindWatch, obj: JsonObject): Promise<void> {
    const uid = String(asObject(obj.metadata).uid ?? '');
    const cached = w.cache.get(uid);
    if (!cached) {
      // A source: its copies take its content, keeping their name, namespace and labels.
      for (const copy of await this.copiesOf(w, obj)) {
        const cm = asObject(copy.metadata);
        const source = withoutServerFields(obj);
        const next: JsonObject = { ...source, apiVersion: copy.apiVersion, kind: copy.kind, metadata: { ...asObject(source.metadata), name: cm.name, namespace: cm.namespace, labels: cm.labels } };
        if (cm.namespace === undefined) delete asObject(next.metadata).namespace;
        const written = await this.client.replace(next);
        w.cache.set(String(cm.uid), { policy: w.cache.get(String(cm.uid))!.policy, object: { ...written, apiVersion: w.apiVersion, kind: w.kind } });
        this.log(`generate: ${describeRef(refOf(copy))} follows its changed source ${describeRef(refOf(obj))}`);
      }
      return;
    }
    if (jsonEqual(hashView(obj), hashView(cached.object))) return;
    await this.client.replace(withoutServerFields(cached.object));
    this.log(`generate: policy ${cached.policy}: reverted ${describeRef(refOf(obj))}`);
  }

  /** handleDelete */
  private async deleted(w: KindWatch, obj: JsonObject): Promise<void> {
    const uid = String(asObject(obj.metadata).uid ?? '');
    if (labelsOf(obj)[MANAGED_BY_LABEL] !== 'kyverno') {
      // A source deleted: its copies go.
      for (const copy of await this.copiesOf(w, obj)) {
        w.cache.delete(String(asObject(copy.metadata).uid ?? ''));
        await this.client.delete(refOf(copy));
        this.log(`generate: deleted ${describeRef(refOf(copy))} with its source ${describeRef(refOf(obj))}`);
      }
      return;
    }
    const cached = w.cache.get(uid);
    if (!cached) return;
    await this.client.create(withoutServerFields(cached.object));
    this.log(`generate: policy ${cached.policy}: recreated ${describeRef(refOf(obj))}`);
  }
}


/** One CELGenerate unit of work (an UpdateRequest's rule context). */
export interface GpolJob {
  trigger: { apiVersion: string; kind: string; name: string; namespace?: string; uid?: string };
  request?: AdmissionRequest;
  deleteDownstream?: boolean;
  synchronize?: boolean;
  restoreCache?: boolean;
}

export interface GpolRunDeps {
  client: KubeClient;
  log: (line: string) => void;
  downstreams: GpolDownstreams;
  /** The trigger as stored once it is (a CREATE's webhook answers before the API server stores it). */
  waitForTrigger: (t: GpolJob['trigger']) => Promise<JsonObject | undefined>;
  exceptions: JsonObject[];
  namespaceLabels: ClusterState['namespaceLabels'];
  /** The live context data admission reads (withLiveContext). */
  live?: LiveContextState | null;
  /** Told of each object written. */
  onGenerated?: (created: JsonObject) => void;
  /**
   * Told of the policy's result for the trigger (Kyverno's generate reports, on the trigger),
   * the request's operation and how long the evaluation and its writes took (its metrics).
   */
  onResult?: (trigger: JsonObject, result: RuleResult, run: { operation: string; seconds: number }) => void;
}

/** Kyverno's namespace resolver: the labels of a namespace not known yet are read from the cluster. */
async function withNamespace(client: KubeClient, known: ClusterState['namespaceLabels'], namespace: string): Promise<ClusterState['namespaceLabels']> {
  if (!namespace || known[namespace]) return known;
  const ns = await client.get({ apiVersion: 'v1', kind: 'Namespace', name: namespace }).catch(() => undefined);
  if (!ns) return known;
  return { ...known, [namespace]: Object.fromEntries(Object.entries(labelsOf(ns)).map(([k, v]) => [k, String(v)])) };
}

/** ProcessUR for one rule context; resolves with one line per failure. */
export async function runGpolJob(deps: GpolRunDeps, policy: JsonObject, job: GpolJob): Promise<string[]> {
  const { client, log, downstreams } = deps;
  const key = gpolKey(policy);
  if (job.deleteDownstream) {
    await downstreams.delete(key, job.trigger.uid ?? '');
    return [];
  }
  // Kyverno's GetTrigger: a deleted trigger is the request's old object, a CONNECT's (an exec's
  // PodExecOptions) its object, a created one is read back once stored, and a subresource's
  // created object that never is (an Eviction) is the request's object.
  let request = job.request;
  let trigger: JsonObject | undefined;
  if (request?.operation === 'DELETE') trigger = request.oldObject ?? undefined;
  else if (request?.operation === 'CONNECT' || (request?.operation === 'CREATE' && request.subResource)) trigger = request.object ?? undefined;
  else {
    trigger = await deps.waitForTrigger(job.trigger);
    if (trigger && request?.operation === 'CREATE') request = { ...request, object: { ...trigger, apiVersion: job.trigger.apiVersion, kind: job.trigger.kind } };
  }
  if (!trigger) return [`gpol ${key} failed: failed to fetch trigger resource`];
  trigger = { ...trigger, apiVersion: job.trigger.apiVersion, kind: job.trigger.kind };
  request ??= backgroundRequest(trigger);
  const namespaceLabels = await withNamespace(client, deps.namespaceLabels, String(asObject(trigger.metadata).namespace ?? request.namespace ?? ''));
  const base = withLiveContext({ resources: [], namespaceLabels, apiCallResponses: [], globalContext: {}, exceptions: deps.exceptions, apiCallsAllowed: true }, deps.live);
  // Kyverno's gpol engine times its Handle, whose generator writes while it evaluates.
  const evaluating = performance.now();
  const operation = request.operation ?? '';
  const told = (result: RuleResult): void => deps.onResult?.(trigger, result, { operation, seconds: (performance.now() - evaluating) / 1000 });
  const response = await evaluateWithCluster(client, policy, request, base, log);
  const result = response.rules[0];
  const sync = synchronizationEnabled(policy);
  // No result (not matched, match conditions false): a synchronized UPDATE takes the trigger's downstream away.
  if (!result || (result.status === 'skip' && !result.exceptions?.length)) {
    if (job.synchronize) await downstreams.delete(key, String(asObject(trigger.metadata).uid ?? ''));
    return [];
  }
  if (result.status === 'skip') {
    told(result);
    return [];
  }
  if (result.status !== 'pass') {
    told(result);
    return [`gpol ${key} rule ${result.name} ${result.status} for trigger ${describeRef(refOf(trigger))}: ${result.message}`];
  }
  const object = request.object;
  const ctx: GenerateContext = {
    policyName: String(asObject(policy.metadata).name ?? ''),
    policyNamespace: policyNamespace(policy),
    triggerName: String(asObject(trigger.metadata).name ?? ''),
    triggerNamespace: String(asObject(trigger.metadata).namespace ?? ''),
    triggerGroup: request.kind?.group ?? '',
    triggerVersion: request.kind?.version ?? '',
    triggerKind: request.kind?.kind ?? String(trigger.kind ?? ''),
    // The request's object (none for a DELETE: Kyverno labels those downstream objects with no uid).
    triggerUid: String(asObject(object?.metadata).uid ?? ''),
    restoreCache: job.restoreCache === true,
    serverSideApply: asObject(policy.spec).useServerSideApply === true,
  };
  let written: JsonObject[];
  try {
    written = await writeGenerated(client, ctx, result.generatedResources ?? []);
  } catch (e) {
    // Kyverno's generator library writes while the policy is evaluated: a failed write is the result's error.
    told({ ...result, status: 'error', message: `failed to evaluate policy: ${(e as Error).message}` });
    return [`gpol ${key} failed: ${(e as Error).message}`];
  }
  told(result);
  if (!ctx.restoreCache) for (const o of written) deps.onGenerated?.(o);
  if (sync && (!ctx.restoreCache || written.length > 0)) {
    downstreams.remember(key, written);
    if (job.synchronize) {
      const desired = new Set(written.map(downstreamKey));
      await downstreams.delete(key, ctx.triggerUid, (o) => desired.has(downstreamKey(o)));
    }
  }
  return [];
}


/**
 * The existing triggers of a policy (Kyverno's getGpolTriggers): the objects of each
 * resourceRule's resources that its selectors, resourceNames and exclusions select.
 */
export async function gpolTriggers(client: KubeClient, policy: JsonObject, knownNamespaces: ClusterState['namespaceLabels'], log: (line: string) => void): Promise<JsonObject[]> {
  const constraints = asObject(asObject(policy.spec).matchConstraints);
  const ns = policyNamespace(policy);
  let namespaceLabels = knownNamespaces;
  const out: JsonObject[] = [];
  const seen = new Set<string>();
  for (const rule of asArray(constraints.resourceRules).map(asObject)) {
    for (const group of asArray(rule.apiGroups).map(String)) {
      for (const resource of asArray(rule.resources).map(String)) {
        const known = KNOWN_KINDS.find((k) => k.group === group && k.plural === resource);
        if (!known) continue;
        const versions = asArray(rule.apiVersions).map(String).map((v) => (v === '*' ? known.version : v));
        for (const version of versions) {
          const apiVersion = group ? `${group}/${version}` : version;
          let items: JsonObject[] = [];
          try {
            items = await client.list(apiVersion, known.kind, ns || undefined);
          } catch (e) {
            log(`generate: policy ${gpolKey(policy)}: cannot list ${known.kind}: ${(e as Error).message}`);
          }
          for (const item of items) {
            const trigger = { ...item, apiVersion, kind: known.kind };
            namespaceLabels = await withNamespace(client, namespaceLabels, String(asObject(item.metadata).namespace ?? ''));
            const key = `${apiVersion}/${known.kind}/${String(asObject(item.metadata).namespace ?? '')}/${String(asObject(item.metadata).name)}`;
            if (seen.has(key)) continue;
            if (!matchConstraintsMatch(constraints, backgroundRequest(trigger), { resources: [], namespaceLabels, apiCallResponses: [], globalContext: {}, exceptions: [] }, { ignoreOperations: true })) continue;
            seen.add(key);
            out.push(trigger);
          }
        }
      }
    }
  }
  return out;
}

/** Kyverno's TriggerFromLabels: the trigger a downstream object names. */
export function triggerOfDownstream(o: JsonObject): GpolJob['trigger'] {
  const l = labelsOf(o);
  const group = String(l[`${G}trigger-group`] ?? '');
  const version = String(l[`${G}trigger-version`] ?? '');
  const namespace = String(l[`${G}trigger-namespace`] ?? '');
  return { apiVersion: group ? `${group}/${version}` : version, kind: String(l[`${G}trigger-kind`] ?? ''), name: String(l[`${G}trigger-name`] ?? ''), ...(namespace ? { namespace } : {}), uid: String(l[`${G}trigger-uid`] ?? '') };
}

/**
 * A policy created or changed (Kyverno's policy controller): a synchronized policy whose
 * downstream objects are known has them deleted and generated again for each trigger; one
 * whose downstream objects are not known (a new leader) evaluates its existing triggers to
 * find them; generateExisting generates for every existing trigger.
 */
export async function gpolPolicyEventJobs(client: KubeClient, policy: JsonObject, downstreams: GpolDownstreams, namespaceLabels: ClusterState['namespaceLabels'], log: (line: string) => void): Promise<GpolJob[]> {
  const jobs: GpolJob[] = [];
  let triggers: JsonObject[] | undefined;
  const existing = async () => (triggers ??= await gpolTriggers(client, policy, namespaceLabels, log));
  const specOf = (t: JsonObject): GpolJob['trigger'] => {
    const m = asObject(t.metadata);
    return { apiVersion: String(t.apiVersion), kind: String(t.kind), name: String(m.name ?? ''), ...(typeof m.namespace === 'string' && m.namespace ? { namespace: m.namespace } : {}), ...(typeof m.uid === 'string' ? { uid: m.uid } : {}) };
  };
  if (synchronizationEnabled(policy)) {
    const known = downstreams.downstreams(gpolKey(policy));
    if (known.length === 0) {
      for (const t of await existing()) jobs.push({ trigger: specOf(t), restoreCache: true });
    } else {
      const seen = new Set<string>();
      for (const o of known) {
        const t = triggerOfDownstream(o);
        if (seen.has(t.uid ?? '')) continue;
        seen.add(t.uid ?? '');
        jobs.push({ trigger: t });
      }
      await downstreams.delete(gpolKey(policy));
    }
  }
  if (generateExistingEnabled(policy)) for (const t of await existing()) jobs.push({ trigger: specOf(t) });
  return jobs;
}

/**
 * A deleted policy (Kyverno's RemoveWatchersForPolicy): unless it orphans them, its known
 * downstream objects go, except copies of a source (clones stay).
 */
export async function gpolDeleted(policy: JsonObject, downstreams: GpolDownstreams): Promise<void> {
  if (!orphanDownstreamOnPolicyDelete(policy)) await downstreams.delete(gpolKey(policy), undefined, (o) => `${G}source-uid` in labelsOf(o));
  downstreams.forget(gpolKey(policy));
}
