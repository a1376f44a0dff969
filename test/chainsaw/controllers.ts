/**
 * The workload controllers of a kind cluster, over the offline runner's API server (store.ts):
 * what kube-controller-manager, the scheduler and the kubelet do with what a scenario writes.
 *
 * - the deployment controller: a Deployment's ReplicaSet (`<deployment>-<pod-template-hash>`),
 *   scaled to the Deployment's replicas (older ReplicaSets to 0), and the Deployment's status;
 * - the replicaset controller: a ReplicaSet's Pods (`<replicaset>-<5 chars>`), its status, and
 *   on a refused Pod the FailedCreate event and ReplicaFailure condition kube writes;
 * - the job controller: a Job's Pod (parallelism 1 unless set) and the Job's status;
 * - the scheduler and the kubelet: a Pod that can be scheduled on the kind node gets it and
 *   runs (phase Running, Ready, its containers' statuses); what keeps it Pending is told;
 * - the garbage collector: the dependents of a deleted owner deleted (Background and
 *   Foreground propagation alike: the store removes the owner at once, so only the order of
 *   Foreground differs, which no assertion sees) or, with Orphan, their ownerReferences dropped.
 *
 * Every write a controller makes in a cluster goes through the API server's admission chain as
 * that controller's service account (`admit`), so Kyverno's policies see the ReplicaSets and
 * Pods as in kind; a refusal leaves the owner short of its replicas. Status writes go straight
 * to the store: no webhook registers for the status subresources these scenarios use, and the
 * kubelet's writes come from `system:nodes`, which Kyverno's configuration excludes.
 *
 * The controllers react to changes as watches would, but only when time passes on the
 * scenario's clock (a pass LATENCY_MS after a change), never inside the write that caused it.
 * Not modelled: StatefulSets, DaemonSets, CronJobs, ReplicationControllers; containers that
 * finish (a Pod runs until deleted, so a Job never completes); graceful termination (a deleted
 * Pod is gone at once); rolling updates step by step (a new template replaces the old
 * ReplicaSet's Pods in one pass); the deployment controller's revision annotations.
 */
import type { JsonObject } from '../../engine/core/types';
import { asArray, asObject, isJsonObject } from '../../engine/core/json';
import { apiGroup } from '../../engine/loader';
import { selectorMatches } from '../../engine/cel/match';
import { refOfObject, withoutEmptyLists, type ObjectStore } from './store';
import { KIND_NODE_IP, KIND_NODE_LABELS, KIND_NODE_NAME } from './kind-cluster';

export interface ControllerUser {
  username: string;
  groups: string[];
}

/** A controller's identity as the API server authenticates it (kube-controller-manager's per-controller service accounts). */
export function controllerUser(name: string): ControllerUser {
  return { username: `system:serviceaccount:kube-system:${name}`, groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'] };
}

export const DEPLOYMENT_CONTROLLER = controllerUser('deployment-controller');
export const REPLICASET_CONTROLLER = controllerUser('replicaset-controller');
export const JOB_CONTROLLER = controllerUser('job-controller');
export const GARBAGE_COLLECTOR = controllerUser('generic-garbage-collector');
/** kube-scheduler's identity (it binds Pods to nodes: pods/binding). */
export const SCHEDULER: ControllerUser = { username: 'system:kube-scheduler', groups: ['system:authenticated'] };
const CONTROLLER_USERS = new Set([DEPLOYMENT_CONTROLLER, REPLICASET_CONTROLLER, JOB_CONTROLLER, GARBAGE_COLLECTOR, SCHEDULER].map((u) => u.username));

/** Whether a request comes from one of these controllers. */
export function isControllerUser(user: { username: string }): boolean {
  return CONTROLLER_USERS.has(user.username);
}

/** How long after a change the controllers act (their watches and work queues). */
export const LATENCY_MS = 100;
/** Passes one change may cause before the controllers are taken to loop. */
const MAX_PASSES = 50;

export type Propagation = 'Background' | 'Foreground' | 'Orphan';

/** The API server's write through admission as `user`: the stored object, or the refusal. */
export type Admit = (operation: 'CREATE' | 'UPDATE' | 'DELETE', object: JsonObject | null, oldObject: JsonObject | null, user: ControllerUser) => Promise<{ error?: string; object?: JsonObject }>;

export interface ControllersOptions {
  store: ObjectStore;
  admit: Admit;
  /**
   * The scheduler's binding of a Pod to a node: a CREATE of the Pod's `binding` subresource
   * through admission as SCHEDULER, which sets spec.nodeName; the refusal, if refused.
   */
  bind: (pod: JsonObject, binding: JsonObject) => Promise<string | undefined>;
  /** The scenario's clock: a pass is a timer on it. */
  clock: { now(): number; after(ms: number, fn: () => void): () => void };
  /** A namespace whose workloads are not this cluster's to run (Kyverno's own install). */
  skipNamespace?: string;
  log?: (line: string) => void;
}

const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** A generated name's five-character suffix (utilrand.String's alphabet), derived from `seed` so a run repeats. */
export function nameSuffix(seed: string): string {
  return safeEncode(String(fnv32a(seed))).slice(0, 5);
}

/** Kubernetes' rand.SafeEncodeString: each character mapped into an alphabet without vowels. */
function safeEncode(text: string): string {
  return [...text].map((c) => SAFE_ALPHABET[c.charCodeAt(0) % SAFE_ALPHABET.length]).join('');
}

function fnv32a(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * A Deployment template's pod-template-hash: kube hashes the template's Go value with FNV-32a
 * and safe-encodes the decimal; here the template's canonical JSON is hashed instead (same
 * shape, other digits: no scenario reads the value).
 */
export function podTemplateHash(template: unknown, collisionCount = 0): string {
  return safeEncode(String(fnv32a(canonical(template) + (collisionCount ? String(collisionCount) : ''))));
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as JsonObject)[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

const meta = (o: JsonObject) => asObject(o.metadata);
const nameOf = (o: JsonObject) => String(meta(o).name ?? '');
const uidOf = (o: JsonObject) => String(meta(o).uid ?? '');
const labelsOf = (o: JsonObject) => asObject(meta(o).labels) as Record<string, string>;
const isKind = (o: JsonObject, group: string, kind: string) => o.kind === kind && apiGroup(String(o.apiVersion ?? '')) === group;
const controllerOf = (o: JsonObject) => asArray(meta(o).ownerReferences).map(asObject).find((r) => r.controller === true);
const conditionTrue = (o: JsonObject, type: string) => asArray(asObject(o.status).conditions).map(asObject).some((c) => c.type === type && c.status === 'True');
const replicasOf = (spec: JsonObject) => (typeof spec.replicas === 'number' ? spec.replicas : 1);
const timestamp = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A status without zero counts (the API's int32 fields are omitempty). */
function withoutZeros(status: JsonObject): JsonObject {
  return Object.fromEntries(Object.entries(status).filter(([, v]) => v !== 0 && v !== undefined));
}

/** Conditions as written, keeping each one's transition time while its status stays. */
function mergeConditions(previous: unknown, next: JsonObject[], now: string): JsonObject[] {
  const before = asArray(previous).map(asObject);
  return next.map((c) => {
    const old = before.find((b) => b.type === c.type);
    const same = old && old.status === c.status;
    const unchanged = same && old.reason === c.reason && old.message === c.message;
    return { ...c, ...('lastUpdateTime' in c ? { lastUpdateTime: unchanged ? old.lastUpdateTime : now } : {}), lastTransitionTime: same ? old.lastTransitionTime : now };
  });
}

/**
 * The Quality of Service class the API server gives a Pod (qos.GetPodQOS): Guaranteed when
 * every container limits cpu and memory and requests what it limits, BestEffort with no
 * requests or limits at all, Burstable otherwise.
 */
export function qosClass(spec: JsonObject): string {
  const containers = [...asArray(spec.initContainers), ...asArray(spec.containers)].map(asObject);
  let any = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const limits = asObject(asObject(c.resources).limits);
    const requests = { ...limits, ...asObject(asObject(c.resources).requests) };
    if (Object.keys(limits).length || Object.keys(requests).length) any = true;
    for (const r of ['cpu', 'memory']) if (limits[r] === undefined || String(requests[r]) !== String(limits[r])) guaranteed = false;
  }
  return !any ? 'BestEffort' : guaranteed ? 'Guaranteed' : 'Burstable';
}

export class WorkloadControllers {
  private readonly store: ObjectStore;
  private timer: (() => void) | undefined;
  private running: Promise<void> = Promise.resolve();
  private passes = 0;
  /** Owners deleted during the scenario, by uid, with the propagation their deletion asked for. */
  private readonly deletedOwners = new Map<string, Propagation>();
  /** The propagation a deletion asked for, noted before it happens (by uid). */
  private readonly propagations = new Map<string, Propagation>();
  /** Why a Pod the kubelet cannot run offline stays Pending (by namespace/name). */
  private readonly pending = new Map<string, string>();
  /** Pods deleted during the scenario: when, and their grace period (by namespace/name). */
  private readonly deletedPods = new Map<string, { at: number; graceSeconds: number; labels: Record<string, string> }>();
  private podSerial = 0;
  /** Why a ReplicaSet's last Pod creation was refused (by uid), until one succeeds. */
  private readonly failures = new Map<string, string>();
  /** An owner's refused creations in a row and when it may try again (its work queue's rate limit), by uid. */
  private readonly backoff = new Map<string, { failures: number; until: number }>();
  private stopped = false;

  constructor(private readonly options: ControllersOptions) {
    this.store = options.store;
    this.store.subscribe((e) => {
      if (e.type === 'DELETED') this.deleted(e.object);
      if (e.type === 'DELETED' || this.watched(e.object)) this.schedule();
    });
  }

  /** The kinds whose changes these controllers watch. */
  private watched(o: JsonObject): boolean {
    return isKind(o, 'apps', 'Deployment') || isKind(o, 'apps', 'ReplicaSet') || isKind(o, 'batch', 'Job') || isKind(o, '', 'Pod');
  }

  /** The propagation the next deletion of `object` asks for (a DELETE request's propagationPolicy). */
  notePropagation(object: JsonObject, propagation: Propagation | null | undefined): void {
    const uid = uidOf(object);
    if (!uid) return;
    // Without one the API server applies the kind's default: batch/v1 Jobs orphan their Pods
    // (kept for backward compatibility), everything else is deleted in the background.
    this.propagations.set(uid, propagation ?? (isKind(object, 'batch', 'Job') ? 'Orphan' : 'Background'));
  }

  private deleted(object: JsonObject): void {
    const uid = uidOf(object);
    this.deletedOwners.set(uid, this.propagations.get(uid) ?? 'Background');
    this.propagations.delete(uid);
    if (isKind(object, '', 'Pod')) {
      const key = `${String(meta(object).namespace ?? '')}/${nameOf(object)}`;
      const grace = asObject(object.spec).terminationGracePeriodSeconds;
      this.deletedPods.set(key, { at: this.options.clock.now(), graceSeconds: typeof grace === 'number' ? grace : 30, labels: labelsOf(object) });
      this.pending.delete(key);
    }
  }

  /** A pass LATENCY_MS from now, unless one is due already. */
  private schedule(): void {
    if (this.timer || this.stopped) return;
    this.timer = this.options.clock.after(LATENCY_MS, () => {
      this.timer = undefined;
      this.running = this.running.then(() => this.pass()).catch((e: unknown) => this.options.log?.(`workload controllers: ${(e as Error).message}`));
    });
  }

  stop(): void {
    this.stopped = true;
    this.cancelPass();
  }

  private cancelPass(): void {
    this.timer?.();
    this.timer = undefined;
  }

  /** The pass started by the last timer, done. */
  idle(): Promise<void> {
    return this.running;
  }

  /** Passes until nothing changes: the cluster as it stands long after its last change. */
  async catchUp(): Promise<void> {
    await this.running;
    this.cancelPass();
    for (let i = 0; i < MAX_PASSES; i++) {
      const revision = this.store.revision;
      await this.pass();
      if (this.store.revision === revision) break;
    }
    this.cancelPass();
  }

  /** Why the kubelet keeps the Pod `namespace/name` Pending offline, if it does. */
  pendingReason(namespace: string, name: string): string | undefined {
    return this.pending.get(`${namespace}/${name}`);
  }

  /**
   * A Pod deleted less than its termination grace period ago, with these labels: in a cluster
   * it may still be terminating (its phase unchanged) if its container ignores SIGTERM.
   */
  recentlyDeletedPod(namespace: string, name: string | undefined, labels: Record<string, string>): string | undefined {
    const now = this.options.clock.now();
    for (const [key, d] of this.deletedPods) {
      const [ns, podName] = key.split('/');
      if (ns !== namespace || (name !== undefined && name !== podName)) continue;
      if (!Object.entries(labels).every(([k, v]) => d.labels[k] === v)) continue;
      if (now - d.at < d.graceSeconds * 1000) return podName;
    }
    return undefined;
  }

  private async pass(): Promise<void> {
    if (this.stopped) return;
    this.passes++;
    if (this.passes > 10_000) throw new Error('too many controller passes');
    await this.collectGarbage();
    for (const d of this.store.list('apps/v1', 'Deployment')) if (this.manages(d)) await this.syncDeployment(d);
    for (const rs of this.store.list('apps/v1', 'ReplicaSet')) if (this.manages(rs)) await this.syncReplicaSet(rs);
    for (const job of this.store.list('batch/v1', 'Job')) if (this.manages(job)) await this.syncJob(job);
    await this.runPods();
    // The owners' statuses from what the pass left.
    for (const rs of this.store.list('apps/v1', 'ReplicaSet')) if (this.manages(rs)) this.replicaSetStatus(rs);
    for (const d of this.store.list('apps/v1', 'Deployment')) if (this.manages(d)) this.deploymentStatus(d);
    for (const job of this.store.list('batch/v1', 'Job')) if (this.manages(job)) this.jobStatus(job);
  }

  private manages(o: JsonObject): boolean {
    return meta(o).namespace !== this.options.skipNamespace && meta(o).deletionTimestamp === undefined;
  }

  private owned(kind: [string, string], owner: JsonObject): JsonObject[] {
    const uid = uidOf(owner);
    return this.store.list(kind[0], kind[1], String(meta(owner).namespace ?? '')).filter((o) => controllerOf(o)?.uid === uid);
  }

  // ---- garbage collector ------------------------------------------------------------

  private async collectGarbage(): Promise<void> {
    if (this.deletedOwners.size === 0) return;
    const live = new Set(this.store.all().map(uidOf));
    for (const o of this.store.all()) {
      const refs = asArray(meta(o).ownerReferences).map(asObject);
      const gone = refs.filter((r) => this.deletedOwners.has(String(r.uid)));
      if (gone.length === 0) continue;
      const current = this.store.get(refOfObject(o));
      if (!current) continue;
      const orphaned = gone.filter((r) => this.deletedOwners.get(String(r.uid)) === 'Orphan').map((r) => String(r.uid));
      if (orphaned.length) {
        // The orphan finalizer's work: the dependents no longer name the deleted owner.
        const ownerReferences = refs.filter((r) => !orphaned.includes(String(r.uid)));
        const { ownerReferences: _drop, ...rest } = meta(current);
        const next = { ...current, metadata: ownerReferences.length ? { ...rest, ownerReferences } : rest };
        const outcome = await this.options.admit('UPDATE', next, current, GARBAGE_COLLECTOR);
        if (outcome.error !== undefined) this.options.log?.(`garbage collector: ${outcome.error}`);
        continue;
      }
      // A dependent goes once none of its owners exists any more.
      if (refs.some((r) => live.has(String(r.uid)))) continue;
      this.notePropagation(current, 'Background');
      const outcome = await this.options.admit('DELETE', null, current, GARBAGE_COLLECTOR);
      if (outcome.error !== undefined) this.options.log?.(`garbage collector: ${outcome.error}`);
    }
  }

  // ---- deployment controller --------------------------------------------------------

  private async syncDeployment(d: JsonObject): Promise<void> {
    const spec = asObject(d.spec);
    if (spec.paused === true) return;
    const template = asObject(spec.template);
    const owned = this.owned(['apps/v1', 'ReplicaSet'], d);
    const collisionCount = Number(asObject(d.status).collisionCount ?? 0);
    const hash = podTemplateHash(template, collisionCount);
    const desired = replicasOf(spec);
    let current = owned.find((rs) => labelsOf(rs)['pod-template-hash'] === hash);
    if (!current) {
      const labels = { ...asObject(asObject(template.metadata).labels), 'pod-template-hash': hash };
      const selector = asObject(spec.selector);
      const rs: JsonObject = {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: {
          name: `${nameOf(d)}-${hash}`,
          namespace: meta(d).namespace,
          labels,
          annotations: { 'deployment.kubernetes.io/desired-replicas': String(desired), 'deployment.kubernetes.io/max-replicas': String(desired + maxSurge(spec, desired)) },
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: nameOf(d), uid: uidOf(d), controller: true, blockOwnerDeletion: true }],
        },
        spec: {
          replicas: desired,
          ...(typeof spec.minReadySeconds === 'number' ? { minReadySeconds: spec.minReadySeconds } : {}),
          selector: { ...selector, matchLabels: { ...asObject(selector.matchLabels), 'pod-template-hash': hash } },
          template: { ...template, metadata: { ...asObject(template.metadata), labels } },
        },
      };
      const outcome = await this.options.admit('CREATE', rs, null, DEPLOYMENT_CONTROLLER);
      if (outcome.error !== undefined) {
        this.options.log?.(`deployment controller: ReplicaSet of ${nameOf(d)}: ${outcome.error}`);
        return;
      }
      current = outcome.object;
    } else if (replicasOf(asObject(current.spec)) !== desired) {
      await this.scaleReplicaSet(current, desired);
    }
    // The old ReplicaSets scaled down (in one step: the new Pods run by the next pass).
    for (const old of owned) if (old !== current && uidOf(old) !== uidOf(current ?? {}) && replicasOf(asObject(old.spec)) !== 0) await this.scaleReplicaSet(old, 0);
  }

  private async scaleReplicaSet(rs: JsonObject, replicas: number): Promise<void> {
    const outcome = await this.options.admit('UPDATE', { ...rs, spec: { ...asObject(rs.spec), replicas } }, rs, DEPLOYMENT_CONTROLLER);
    if (outcome.error !== undefined) this.options.log?.(`deployment controller: scaling ReplicaSet ${nameOf(rs)}: ${outcome.error}`);
  }

  private deploymentStatus(d: JsonObject): void {
    const spec = asObject(d.spec);
    const desired = replicasOf(spec);
    const owned = this.owned(['apps/v1', 'ReplicaSet'], d);
    const hash = podTemplateHash(asObject(spec.template), Number(asObject(d.status).collisionCount ?? 0));
    const newest = owned.find((rs) => labelsOf(rs)['pod-template-hash'] === hash);
    const sum = (field: string) => owned.reduce((n, rs) => n + Number(asObject(rs.status)[field] ?? 0), 0);
    const available = sum('availableReplicas');
    const updated = Number(asObject(newest?.status).replicas ?? 0);
    const replicas = sum('replicas');
    const now = timestamp(this.options.clock.now());
    const conditions: JsonObject[] = [];
    const minimum = available >= desired - maxUnavailable(spec, desired);
    conditions.push(minimum
      ? { type: 'Available', status: 'True', lastUpdateTime: now, reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }
      : { type: 'Available', status: 'False', lastUpdateTime: now, reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' });
    if (newest) {
      const complete = updated === desired && replicas === desired && available === desired;
      conditions.push(complete
        ? { type: 'Progressing', status: 'True', lastUpdateTime: now, reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${nameOf(newest)}" has successfully progressed.` }
        : { type: 'Progressing', status: 'True', lastUpdateTime: now, reason: 'ReplicaSetUpdated', message: `ReplicaSet "${nameOf(newest)}" is progressing.` });
    }
    const failure = owned.flatMap((rs) => asArray(asObject(rs.status).conditions).map(asObject)).find((c) => c.type === 'ReplicaFailure' && c.status === 'True');
    if (failure) conditions.push({ type: 'ReplicaFailure', status: 'True', lastUpdateTime: now, reason: failure.reason, message: failure.message });
    const status = withoutZeros({
      observedGeneration: meta(d).generation,
      replicas,
      updatedReplicas: updated,
      readyReplicas: sum('readyReplicas'),
      availableReplicas: available,
      // kube's calculateStatus: the ReplicaSets' desired replicas that are not available.
      unavailableReplicas: Math.max(0, owned.reduce((n, rs) => n + replicasOf(asObject(rs.spec)), 0) - available),
      collisionCount: asObject(d.status).collisionCount,
    });
    status.conditions = mergeConditions(asObject(d.status).conditions, conditions, now);
    this.writeStatus(d, status);
  }

  // ---- replicaset controller --------------------------------------------------------

  private async syncReplicaSet(rs: JsonObject): Promise<void> {
    const spec = asObject(rs.spec);
    const pods = this.owned(['v1', 'Pod'], rs);
    const diff = replicasOf(spec) - pods.length;
    let failure: string | undefined;
    if (diff > 0 && this.backingOff(rs)) return;
    if (diff > 0) {
      // kube's slow start: creations stop at the first refusal.
      for (let i = 0; i < diff && failure === undefined; i++) {
        failure = await this.createPod(rs, asObject(spec.template), REPLICASET_CONTROLLER, {});
      }
    } else if (diff < 0) {
      // Not yet running first, then the newest (the controller's deletion ranking, simplified).
      const ranked = pods.sort((a, b) => Number(asObject(a.status).phase === 'Running') - Number(asObject(b.status).phase === 'Running') || String(meta(b).creationTimestamp).localeCompare(String(meta(a).creationTimestamp)));
      for (const pod of ranked.slice(0, -diff)) {
        const outcome = await this.options.admit('DELETE', null, pod, REPLICASET_CONTROLLER);
        if (outcome.error !== undefined) this.options.log?.(`replicaset controller: deleting Pod ${nameOf(pod)}: ${outcome.error}`);
      }
    }
    // The ReplicaFailure condition says why Pods could not be created; a later success clears it.
    if (failure !== undefined) this.failures.set(uidOf(rs), failure);
    else if (diff > 0) this.failures.delete(uidOf(rs));
    this.retryLater(rs, failure);
  }

  private replicaSetStatus(rs: JsonObject): void {
    const pods = this.owned(['v1', 'Pod'], rs);
    const spec = asObject(rs.spec);
    const templateLabels = asObject(asObject(asObject(spec.template).metadata).labels);
    const ready = pods.filter((p) => conditionTrue(p, 'Ready'));
    const minReady = Number(spec.minReadySeconds ?? 0) * 1000;
    const now = this.options.clock.now();
    const available = ready.filter((p) => {
      const since = asArray(asObject(p.status).conditions).map(asObject).find((c) => c.type === 'Ready')?.lastTransitionTime;
      const readyFor = now - Date.parse(String(since));
      if (readyFor >= minReady) return true;
      this.options.clock.after(minReady - readyFor, () => this.schedule());
      return false;
    });
    const status = asObject(rs.status);
    const next = withoutZeros({
      replicas: pods.length,
      fullyLabeledReplicas: pods.filter((p) => Object.entries(templateLabels).every(([k, v]) => labelsOf(p)[k] === v)).length,
      readyReplicas: ready.length,
      availableReplicas: available.length,
      observedGeneration: meta(rs).generation,
    });
    const failure = this.failures.get(uidOf(rs));
    if (failure !== undefined) {
      next.conditions = mergeConditions(status.conditions, [{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: failure }], timestamp(now));
    }
    this.writeStatus(rs, next);
  }

  // ---- job controller ---------------------------------------------------------------

  private async syncJob(job: JsonObject): Promise<void> {
    const spec = asObject(job.spec);
    if (spec.suspend === true) return;
    const active = this.owned(['v1', 'Pod'], job).filter((p) => !['Succeeded', 'Failed'].includes(String(asObject(p.status).phase)));
    const parallelism = typeof spec.parallelism === 'number' ? spec.parallelism : 1;
    const completions = typeof spec.completions === 'number' ? spec.completions : 1;
    const wanted = Math.min(parallelism, completions) - active.length;
    if (wanted > 0 && this.backingOff(job)) return;
    // The labels the API server adds to a Job's selector and template (the job controller's Pods carry them).
    const uid = uidOf(job);
    const labels = { 'batch.kubernetes.io/controller-uid': uid, 'batch.kubernetes.io/job-name': nameOf(job), 'controller-uid': uid, 'job-name': nameOf(job) };
    let failure: string | undefined;
    for (let i = 0; i < wanted && failure === undefined; i++) failure = await this.createPod(job, asObject(spec.template), JOB_CONTROLLER, labels);
    if (failure !== undefined) this.event(job, 'FailedCreate', `Error creating: ${failure}`, 'job-controller');
    if (wanted > 0) this.retryLater(job, failure);
  }

  private jobStatus(job: JsonObject): void {
    const pods = this.owned(['v1', 'Pod'], job);
    const active = pods.filter((p) => !['Succeeded', 'Failed'].includes(String(asObject(p.status).phase)));
    const previous = asObject(job.status);
    const status: JsonObject = withoutZeros({ active: active.length, ready: undefined, startTime: previous.startTime ?? (pods.length ? timestamp(this.options.clock.now()) : undefined) });
    status.ready = active.filter((p) => conditionTrue(p, 'Ready')).length;
    status.terminating = 0;
    status.uncountedTerminatedPods = {};
    this.writeStatus(job, status);
  }

  /** Whether an owner whose creations were refused waits before trying again. */
  private backingOff(owner: JsonObject): boolean {
    const b = this.backoff.get(uidOf(owner));
    return b !== undefined && this.options.clock.now() < b.until;
  }

  /**
   * After a refused creation, the owner tries again after its work queue's exponential
   * backoff (doubling from LATENCY_MS, at most 1000 s as client-go's default limiter); a
   * success resets it.
   */
  private retryLater(owner: JsonObject, failure: string | undefined): void {
    const uid = uidOf(owner);
    if (failure === undefined) {
      this.backoff.delete(uid);
      return;
    }
    const failures = (this.backoff.get(uid)?.failures ?? 0) + 1;
    const delay = Math.min(LATENCY_MS * 2 ** (failures - 1), 1_000_000);
    this.backoff.set(uid, { failures, until: this.options.clock.now() + delay });
    this.options.clock.after(delay, () => this.schedule());
  }

  // ---- pods ---------------------------------------------------------------------------

  /** A Pod of `owner` from its template, through admission as `user`; the refusal, if refused. */
  private async createPod(owner: JsonObject, template: JsonObject, user: ControllerUser, extraLabels: Record<string, string>): Promise<string | undefined> {
    const namespace = String(meta(owner).namespace ?? '');
    let name: string;
    do name = `${nameOf(owner)}-${nameSuffix(`${uidOf(owner)}/${++this.podSerial}`)}`;
    while (this.store.get({ apiVersion: 'v1', kind: 'Pod', namespace, name }));
    const templateMeta = asObject(template.metadata);
    const pod: JsonObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        generateName: `${nameOf(owner)}-`,
        namespace,
        labels: { ...asObject(templateMeta.labels), ...extraLabels },
        ...(isJsonObject(templateMeta.annotations) ? { annotations: templateMeta.annotations } : {}),
        ownerReferences: [{ apiVersion: String(owner.apiVersion), kind: String(owner.kind), name: nameOf(owner), uid: uidOf(owner), controller: true, blockOwnerDeletion: true }],
      },
      spec: structuredClone(asObject(template.spec)),
    };
    const outcome = await this.options.admit('CREATE', pod, null, user);
    if (outcome.error === undefined) return undefined;
    const component = user === JOB_CONTROLLER ? 'job-controller' : 'replicaset-controller';
    if (component === 'replicaset-controller') this.event(owner, 'FailedCreate', `Error creating: ${outcome.error}`, component);
    return outcome.error;
  }

  /** The scheduler and the kubelet over every Pod not yet running. */
  private async runPods(): Promise<void> {
    for (const pod of this.store.list('v1', 'Pod')) {
      if (meta(pod).namespace === this.options.skipNamespace || meta(pod).deletionTimestamp !== undefined) continue;
      const status = asObject(pod.status);
      if (status.phase !== undefined && status.phase !== 'Pending') continue;
      const key = `${String(meta(pod).namespace)}/${nameOf(pod)}`;
      const spec = asObject(pod.spec);
      const now = timestamp(this.options.clock.now());
      let nodeName = spec.nodeName;
      if (nodeName === undefined) {
        const unschedulable = this.unschedulable(spec);
        if (unschedulable) {
          this.writeStatus(pod, { phase: 'Pending', conditions: mergeConditions(status.conditions, [{ type: 'PodScheduled', status: 'False', lastProbeTime: null, reason: 'Unschedulable', message: unschedulable }], now), qosClass: qosClass(spec) });
          continue;
        }
        const binding = { apiVersion: 'v1', kind: 'Binding', metadata: { name: nameOf(pod), namespace: meta(pod).namespace, uid: uidOf(pod) }, target: { apiVersion: 'v1', kind: 'Node', name: KIND_NODE_NAME } };
        const refused = await this.options.bind(pod, binding);
        if (refused !== undefined) {
          this.options.log?.(`scheduler: binding Pod ${key}: ${refused}`);
          continue;
        }
        nodeName = KIND_NODE_NAME;
      }
      if (nodeName !== KIND_NODE_NAME) continue; // no such node: nothing runs it, as in kind
      const waiting = this.cannotStart(spec, String(meta(pod).namespace ?? ''));
      const bound = this.store.get(refOfObject(pod));
      if (!bound) continue;
      if (waiting) {
        this.pending.set(key, waiting);
        this.writeStatus(bound, { phase: 'Pending', conditions: mergeConditions(status.conditions, [{ type: 'PodScheduled', status: 'True', lastProbeTime: null }], now), hostIP: KIND_NODE_IP, startTime: status.startTime ?? now, qosClass: qosClass(spec) });
        continue;
      }
      this.pending.delete(key);
      this.writeStatus(bound, this.runningStatus(bound, now));
    }
  }

  /** Why the kind node cannot take the Pod (its nodeSelector), if it cannot. */
  private unschedulable(spec: JsonObject): string | undefined {
    const selector = asObject(spec.nodeSelector);
    if (Object.entries(selector).every(([k, v]) => KIND_NODE_LABELS[k] === String(v))) return undefined;
    return `0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.`;
  }

  /**
   * What keeps a scheduled Pod's containers from starting offline: a PersistentVolumeClaim (the
   * local-path provisioner's volumes are not modelled). Images are taken as pullable.
   */
  private cannotStart(spec: JsonObject, namespace: string): string | undefined {
    for (const v of asArray(spec.volumes).map(asObject)) {
      const claim = asObject(v.persistentVolumeClaim).claimName;
      if (typeof claim === 'string') return `it mounts the PersistentVolumeClaim ${namespace}/${claim}, whose volume provisioning the offline runner does not model`;
    }
    return undefined;
  }

  private runningStatus(pod: JsonObject, now: string): JsonObject {
    const spec = asObject(pod.spec);
    const condition = (type: string) => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: now });
    const ip = `10.244.0.${(fnv32a(uidOf(pod)) % 250) + 2}`;
    const containerId = (name: string) => `containerd://${fnv32a(`${uidOf(pod)}/${name}`).toString(16).padStart(8, '0').repeat(8)}`;
    const status: JsonObject = {
      phase: 'Running',
      conditions: mergeConditions(asObject(pod.status).conditions, ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map(condition), now),
      hostIP: KIND_NODE_IP,
      hostIPs: [{ ip: KIND_NODE_IP }],
      podIP: ip,
      podIPs: [{ ip }],
      startTime: asObject(pod.status).startTime ?? now,
      qosClass: qosClass(spec),
      containerStatuses: asArray(spec.containers).map(asObject).map((c) => ({
        name: c.name,
        image: c.image,
        imageID: '',
        containerID: containerId(String(c.name)),
        ready: true,
        started: true,
        restartCount: 0,
        state: { running: { startedAt: now } },
        lastState: {},
      })),
    };
    const init = asArray(spec.initContainers).map(asObject);
    if (init.length) {
      status.initContainerStatuses = init.map((c) => ({
        name: c.name,
        image: c.image,
        imageID: '',
        containerID: containerId(String(c.name)),
        ready: true,
        started: false,
        restartCount: 0,
        state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: now, finishedAt: now, containerID: containerId(String(c.name)) } },
        lastState: {},
      }));
    }
    return status;
  }

  // ---- writes -------------------------------------------------------------------------

  /** A status write (the status subresource): only when it changes, so the passes settle. */
  private writeStatus(o: JsonObject, status: JsonObject): void {
    const live = this.store.get(refOfObject(o));
    if (!live || canonical(live.status ?? {}) === canonical(withoutEmptyLists(status))) return;
    this.store.replace({ ...live, status });
  }

  /** An Event as kube-controller-manager's event recorder writes it (Kyverno's filters skip Events). */
  private event(object: JsonObject, reason: string, message: string, component: string): void {
    const now = timestamp(this.options.clock.now());
    const namespace = String(meta(object).namespace ?? 'default');
    // The recorder's aggregation: a repeat of the reason counts on the same Event, with the latest message.
    const name = `${nameOf(object)}.${fnv32a(`${uidOf(object)}/${reason}`).toString(16)}`;
    const existing = this.store.get({ apiVersion: 'v1', kind: 'Event', namespace, name });
    if (existing) {
      this.store.replace({ ...existing, message, count: Number(existing.count ?? 1) + 1, lastTimestamp: now });
      return;
    }
    this.store.create({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: { apiVersion: object.apiVersion, kind: object.kind, name: nameOf(object), namespace, uid: uidOf(object), resourceVersion: meta(object).resourceVersion },
      reason,
      message,
      type: 'Warning',
      source: { component },
      reportingComponent: component,
      reportingInstance: '',
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    });
  }
}

/** A rolling update's maxSurge or maxUnavailable in Pods (an int or a percentage of `replicas`; default 25%). */
function rollingValue(spec: JsonObject, field: 'maxSurge' | 'maxUnavailable', replicas: number, roundUp: boolean): number {
  const strategy = asObject(spec.strategy);
  if (strategy.type === 'Recreate') return 0;
  const value = asObject(strategy.rollingUpdate)[field] ?? '25%';
  if (typeof value === 'number') return value;
  const percent = Number(String(value).replace(/%$/, ''));
  if (!Number.isFinite(percent)) return 0;
  const exact = (percent * replicas) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

function maxSurge(spec: JsonObject, replicas: number): number {
  return rollingValue(spec, 'maxSurge', replicas, true);
}

/** kube's MaxUnavailable: the rounded-down value, 1 when both it and maxSurge resolve to 0 (ResolveFenceposts), at most the replicas. */
function maxUnavailable(spec: JsonObject, replicas: number): number {
  const unavailable = rollingValue(spec, 'maxUnavailable', replicas, false);
  const surge = maxSurge(spec, replicas);
  return Math.min(replicas, surge === 0 && unavailable === 0 && asObject(spec.strategy).type !== 'Recreate' ? 1 : unavailable);
}
