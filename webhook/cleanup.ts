/**
 * Kyverno's cleanup controller (cmd/cleanup-controller), run by the holder of the
 * `kyverno-cleanup-controller` Lease:
 * - ClusterCleanupPolicy / CleanupPolicy (pkg/controllers/cleanup) and DeletingPolicy /
 *   NamespacedDeletingPolicy (pkg/controllers/deleting): each policy is reconciled when it is
 *   added or its spec changes (status-only updates do not count) and then at its next run
 *   time. A run is due once the clock is past the next cron time after `status.lastExecutionTime`
 *   (or after the creation time); it lists the kinds the policy selects (in its namespace for a
 *   namespaced policy), deletes what engine/cleanup says to delete with the policy's
 *   `deletionPropagationPolicy`, writes `status.lastExecutionTime`, and waits for the next
 *   cron time (at least 1 s). A failed run is retried with client-go's rate limiter (5 ms
 *   doubling) up to 10 times, then left until the policy changes, as Kyverno's queue does.
 * - the `cleanup.kyverno.io/ttl` label (pkg/controllers/ttl): every `ttlReconciliationInterval`
 *   (1 min) the resources the API server serves with list, watch and delete are checked for
 *   those three permissions (a SelfSubjectAccessReview each, as Kyverno's checker); each
 *   permitted resource is watched for labelled objects, which are deleted once their time has
 *   come (the `cleanup.kyverno.io/propagation-policy` annotation chooses the propagation).
 * Events (source `kyverno-cleanup`: PolicyApplied "Resource Cleaned Up", PolicyError) and
 * metrics (`kyverno_cleanup_controller_*`, `kyverno_deleting_controller_*`,
 * `kyverno_ttl_controller_*`) are Kyverno's.
 *
 * Test hook: KYVERNO_STUDIO_CLEANUP_CLOCK_SPEEDUP=N makes the schedules' clock run N times
 * faster from the controller's start (cron times are computed on that clock, waits are divided
 * by N), so an end-to-end test sees `*\/1 * * * *` fire every few seconds with the real cron
 * semantics. The ttl label stays on the real clock (it is counted from real creation times).
 * A clock may also run the controller's timers itself (`after`): the offline chainsaw runner's
 * virtual clock, which its scenarios advance instead of sleeping.
 */
import { setMaxListeners } from 'node:events';
import { KubeError, type KubeClient } from '../kube-api/client';
import { resourcesFor, servedResources, type ServedResource } from '../kube-api/cluster-resources';
import type { JsonObject } from '../engine/core/types';
import { asArray, asObject } from '../engine/core/json';
import {
  DEFAULT_TTL_INTERVAL_MS,
  TTL_LABEL,
  cleanupPolicyKinds,
  cleanupPolicySelects,
  deletingPolicySelects,
  isCleanupPolicy,
  isDeletingPolicy,
  nextScheduledTime,
  policyExecutionTime,
  ttlDeletionTime,
  ttlPropagationPolicy,
  type CleanupVerdict,
} from '../engine/cleanup';
import { isFiltered, type ResourceFilter } from './resource-filters';
import type { EventWriter } from './events';
import type { EventInfo } from './event-info';
import { watchKinds, type WatchedKind } from '../kube-api/watch';
import { withLiveContext, type LiveContextState } from './live-context';
import { evaluateReadingCluster, type CallsOut } from './cluster-reads';

type Json = Record<string, unknown>;
type Propagation = 'Foreground' | 'Background' | 'Orphan';

/** The kinds the cleanup controller reconciles, with the versions older Kyverno CRDs serve. */
export const CLEANUP_KINDS: WatchedKind[] = [
  { apiVersion: 'kyverno.io/v2', kind: 'ClusterCleanupPolicy', fallbacks: ['kyverno.io/v2beta1'] },
  { apiVersion: 'kyverno.io/v2', kind: 'CleanupPolicy', fallbacks: ['kyverno.io/v2beta1'] },
  { apiVersion: 'policies.kyverno.io/v1', kind: 'DeletingPolicy', fallbacks: ['policies.kyverno.io/v1beta1', 'policies.kyverno.io/v1alpha1'] },
  { apiVersion: 'policies.kyverno.io/v1', kind: 'NamespacedDeletingPolicy', fallbacks: ['policies.kyverno.io/v1beta1'] },
];

/** The controllers' minimum requeue delay. */
const MIN_REQUEUE_MS = 1000;
/** client-go's workqueue: maxRetries 10, per-item exponential backoff from 5 ms. */
const MAX_RETRIES = 10;
const BASE_BACKOFF_MS = 5;
/** How long the ttl manager trusts a permission answer. */
const PERMISSION_TTL_MS = 60_000;
/** setTimeout's limit (about 24.8 days): a later deletion is looked at again then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The controller's clock: real time, or (tests) real time sped up from the start, or a virtual clock. */
export interface CleanupClock {
  now(): number;
  /** Real milliseconds to wait for `ms` of this clock. */
  realDelay(ms: number): number;
  /** Calls `fn` once `ms` of this clock have passed; returns the cancel. Without it: a real timer of `realDelay(ms)`. */
  after?(ms: number, fn: () => void): () => void;
}

/** A timer on `clock` (setTimeout's limit caps a real one: the callers look at the time again when it fires). */
function schedule(clock: CleanupClock, ms: number, fn: () => void): () => void {
  if (clock.after) return clock.after(Math.max(0, ms), fn);
  const timer = setTimeout(fn, Math.min(clock.realDelay(Math.max(0, ms)), MAX_TIMER_MS));
  timer.unref?.();
  return () => clearTimeout(timer);
}

export function cleanupClock(speedup = Number(process.env.KYVERNO_STUDIO_CLEANUP_CLOCK_SPEEDUP ?? '1')): CleanupClock {
  const factor = Number.isFinite(speedup) && speedup >= 1 ? speedup : 1;
  if (factor === 1) return { now: () => Date.now(), realDelay: (ms) => ms };
  const start = Date.now();
  return { now: () => start + (Date.now() - start) * factor, realDelay: (ms) => ms / factor };
}

// ---------------------------------------------------------------- metrics

/** Kyverno's cleanup metrics, rendered in the Prometheus text format (OpenTelemetry adds `_total`). */
export class CleanupMetrics {
  private counters = new Map<string, Map<string, number>>();

  add(name: string, labels: Array<[string, string | undefined]>): void {
    const text = `{${labels.filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => `${k}="${String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`;
    let series = this.counters.get(name);
    if (!series) this.counters.set(name, (series = new Map()));
    series.set(text, (series.get(text) ?? 0) + 1);
  }

  value(name: string): number {
    return [...(this.counters.get(name)?.values() ?? [])].reduce((a, b) => a + b, 0);
  }

  render(): string {
    const help: Record<string, string> = {
      kyverno_cleanup_controller_deletedobjects_total: 'can be used to track number of deleted objects.',
      kyverno_cleanup_controller_errors_total: 'can be used to track number of cleanup failures.',
      kyverno_deleting_controller_deletedobjects_total: 'can be used to track number of deleted objects.',
      kyverno_deleting_controller_errors_total: 'can be used to track number of deleting failures.',
      kyverno_ttl_controller_deletedobjects_total: 'can be used to track number of deleted objects by the ttl resource controller.',
      kyverno_ttl_controller_errors_total: 'can be used to track number of deletion failures by the ttl resource controller.',
    };
    const out: string[] = [];
    for (const [name, text] of Object.entries(help)) {
      out.push(`# HELP ${name} ${text}`, `# TYPE ${name} counter`);
      for (const [labels, v] of this.counters.get(name) ?? []) out.push(`${name}${labels} ${v}`);
    }
    return out.join('\n') + '\n';
  }
}

// ---------------------------------------------------------------- controller

export interface CleanupControllerOptions {
  client: KubeClient;
  log: (line: string) => void;
  events?: EventWriter;
  metrics?: CleanupMetrics;
  /** Kyverno's resource filters: matching resources are never deleted. */
  resourceFilters?: ResourceFilter[];
  /** Kyverno's `--ttlReconciliationInterval`. */
  ttlIntervalMs?: number;
  clock?: CleanupClock;
  /** The ttl label's clock (creation times are the API server's real ones): real time by default. */
  ttlClock?: CleanupClock;
  /**
   * The watch of the objects carrying the ttl label in `kinds` (every namespace): `onObjects`
   * gets them all on each change. By default a label-selected list and watch of each kind.
   */
  watchLabelled?: (kinds: WatchedKind[], onObjects: (objects: Json[]) => void, signal: AbortSignal) => void;
  /**
   * How `apiCall` POSTs and service calls (a classic `apiCall.service`, CEL http.*) are made:
   * by default to the API server and from this process, with the cleanup controller's response cap.
   */
  calls?: CallsOut;
  /**
   * What is served now: PolicyExceptions for DeletingPolicies (CEL exceptions), and the live
   * context data admission reads (ConfigMaps, apiCall objects, global context entries), so
   * conditions and context resolve as at admission.
   */
  current?: () => { exceptions: JsonObject[]; live?: LiveContextState | null };
}

function meta(o: Json): Json {
  return asObject(o.metadata);
}

function keyOf(p: Json): string {
  return `${String(p.kind)}|${String(meta(p).namespace ?? '')}|${String(meta(p).name)}`;
}

function describePolicy(p: Json): string {
  const m = meta(p);
  return `${String(p.kind)} ${m.namespace ? `${String(m.namespace)}/` : ''}${String(m.name)}`;
}

/** metav1.Time: RFC 3339 in whole seconds. */
function metaTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

interface Scheduled {
  policy: Json;
  generation: string;
  cancel?: () => void;
  failures: number;
  running?: Promise<void>;
}

export class CleanupController {
  private readonly scheduled = new Map<string, Scheduled>();
  private leading: AbortSignal | undefined;
  private readonly clock: CleanupClock;
  private readonly metrics: CleanupMetrics;
  private ttl: TtlManager | undefined;
  /** Runs finished (tests and logs). */
  runs = 0;

  constructor(private readonly opts: CleanupControllerOptions) {
    this.clock = opts.clock ?? cleanupClock();
    this.metrics = opts.metrics ?? new CleanupMetrics();
  }

  /** The cleanup and deleting policies in the cluster (every replica keeps them; only the leader acts). */
  setPolicies(policies: Json[]): void {
    const seen = new Set<string>();
    for (const p of policies) {
      if (!isCleanupPolicy(p) && !isDeletingPolicy(p)) continue;
      const key = keyOf(p);
      seen.add(key);
      const generation = String(meta(p).generation ?? meta(p).resourceVersion ?? '');
      const current = this.scheduled.get(key);
      if (current && current.generation === generation) {
        current.policy = p;
        continue;
      }
      current?.cancel?.();
      const entry: Scheduled = { policy: p, generation, failures: 0 };
      this.scheduled.set(key, entry);
      if (this.leading) this.enqueue(key, 0);
    }
    for (const [key, entry] of this.scheduled) {
      if (seen.has(key)) continue;
      entry.cancel?.();
      this.scheduled.delete(key);
    }
  }

  /** Leads until `signal` aborts: every policy is reconciled now, the ttl manager starts. */
  lead(signal: AbortSignal): void {
    this.leading = signal;
    for (const key of this.scheduled.keys()) this.enqueue(key, 0);
    this.ttl = new TtlManager(this.opts, this.metrics);
    void this.ttl.run(signal);
    signal.addEventListener(
      'abort',
      () => {
        this.leading = undefined;
        for (const entry of this.scheduled.values()) {
          entry.cancel?.();
          entry.cancel = undefined;
        }
      },
      { once: true },
    );
  }

  metricsText(): string {
    return this.metrics.render();
  }

  /** Resolves when no run is in progress, the ttl manager's work included (tests). */
  async idle(): Promise<void> {
    await Promise.all([...this.scheduled.values()].map((e) => e.running));
    await this.ttl?.idle();
  }

  private enqueue(key: string, delayMs: number): void {
    const entry = this.scheduled.get(key);
    if (!entry || !this.leading) return;
    entry.cancel?.();
    entry.cancel = schedule(this.clock, delayMs, () => {
      entry.cancel = undefined;
      // One reconcile of a policy at a time, as a workqueue key is processed by one worker.
      entry.running = (entry.running ?? Promise.resolve()).then(() => this.reconcile(key));
    });
  }

  private async reconcile(key: string): Promise<void> {
    const entry = this.scheduled.get(key);
    const signal = this.leading;
    if (!entry || !signal || signal.aborted) return;
    const policy = entry.policy;
    const name = describePolicy(policy);
    const execution = policyExecutionTime(policy);
    if ('error' in execution) {
      // Kyverno's reconcile fails the same way on every retry: it gives up after them.
      this.opts.log(`cleanup: ${name}: failed to get the policy execution time: ${execution.error}`);
      return;
    }
    let next: number | null;
    const now = this.clock.now();
    if (execution.time === null || now > execution.time) {
      try {
        await this.run(policy, signal);
        if (signal.aborted) return;
        const ranAt = this.clock.now();
        await this.writeStatus(policy, ranAt);
        const n = nextScheduledTime(String(asObject(policy.spec).schedule ?? ''), ranAt);
        next = 'error' in n ? null : n.time;
        entry.failures = 0;
        this.runs++;
      } catch (e) {
        if (signal.aborted) return;
        entry.failures++;
        if (entry.failures > MAX_RETRIES) {
          this.opts.log(`cleanup: ${name}: ${(e as Error).message}; dropped after ${MAX_RETRIES} retries (until the policy changes)`);
          return;
        }
        this.opts.log(`cleanup: ${name}: ${(e as Error).message}; retrying`);
        this.enqueue(key, BASE_BACKOFF_MS * 2 ** (entry.failures - 1));
        return;
      }
    } else next = execution.time;
    const delay = next === null ? MIN_REQUEUE_MS : next - this.clock.now();
    this.enqueue(key, delay <= 0 ? MIN_REQUEUE_MS : delay);
  }

  /** status.lastExecutionTime, through the status subresource (a merge patch: no conflicts with other writers). */
  private async writeStatus(policy: Json, at: number): Promise<void> {
    const m = meta(policy);
    const path = await this.opts.client.pathFor({ apiVersion: String(policy.apiVersion), kind: String(policy.kind), namespace: m.namespace ? String(m.namespace) : undefined, name: String(m.name) });
    await this.opts.client.request({ method: 'PATCH', path: `${path}/status`, contentType: 'application/merge-patch+json', body: { status: { lastExecutionTime: metaTime(at) } } });
  }

  /** One run of a policy: list what it selects, delete what engine/cleanup says; throws when something failed. */
  private async run(policy: Json, signal: AbortSignal): Promise<void> {
    const { client, log } = this.opts;
    const name = describePolicy(policy);
    const deleting = isDeletingPolicy(policy);
    const spec = asObject(policy.spec);
    const policyNamespace = meta(policy).namespace ? String(meta(policy).namespace) : undefined;
    const propagation = (['Foreground', 'Background', 'Orphan'] as const).find((p) => p === spec.deletionPropagationPolicy);
    const served = await servedResources(client);
    const targets = deleting ? deletingTargets(policy, served, log) : cleanupTargets(policy, served);
    const namespaceLabels = await this.namespaceLabels();
    const now = this.opts.current?.();
    const cluster = withLiveContext({ resources: [], namespaceLabels, apiCallResponses: [], globalContext: {}, exceptions: now?.exceptions ?? [] }, now?.live);
    const errors: string[] = [];
    let deleted = 0;
    const family = deleting ? 'kyverno_deleting_controller' : 'kyverno_cleanup_controller';
    const metricLabels = (kind: string, namespace: string): Array<[string, string | undefined]> => [
      ['policy_type', String(policy.kind)],
      ['policy_namespace', policyNamespace ?? ''],
      ['policy_name', String(meta(policy).name)],
      [deleting ? 'resource' : 'resource_kind', kind],
      ['resource_namespace', namespace],
      ['deletion_propagation', propagation],
    ];
    for (const target of targets) {
      if (signal.aborted) return;
      const apiVersion = target.group ? `${target.group}/${target.version}` : target.version;
      const label = deleting ? target.plural : target.selector;
      let items: Json[];
      try {
        items = await client.list(apiVersion, target.kind, policyNamespace);
      } catch (e) {
        this.metrics.add(`${family}_errors_total`, metricLabels(label, ''));
        // Kyverno skips a kind it may not list (or that went away) and fails the run on other errors.
        if (e instanceof KubeError && (e.status === 403 || e.status === 404)) log(`cleanup: ${name}: skipping ${target.kind}: ${e.message}`);
        else errors.push(`failed to list ${target.kind}: ${(e as Error).message}`);
        continue;
      }
      for (const item of items) {
        if (signal.aborted) return;
        const m = meta(item);
        const namespace = typeof m.namespace === 'string' ? m.namespace : '';
        if (this.filtered(target, namespace, String(m.name ?? ''))) continue;
        if (!deleting && namespace && !(namespace in namespaceLabels)) {
          errors.push(`failed to get namespace labels: namespace ${namespace} not found`);
          continue;
        }
        // What the policy reads and nothing served yet (apiCall paths, CEL resource.* and http.*)
        // is read or called, as Kyverno's controllers call inline, and the verdict taken again.
        const at = new Date(this.clock.now());
        const verdict: CleanupVerdict = await evaluateReadingCluster(
          client,
          cluster,
          () => (deleting ? deletingPolicySelects(policy, item, cluster, at) : cleanupPolicySelects(policy, item, namespaceLabels[namespace] ?? {}, cluster, at)),
          log,
          this.opts.calls,
        );
        if (verdict.error) {
          errors.push(`${target.kind} ${namespace ? `${namespace}/` : ''}${String(m.name)}: ${verdict.error}`);
          continue;
        }
        if (!verdict.delete) continue;
        const ref = { apiVersion, kind: target.kind, namespace: namespace || undefined, name: String(m.name) };
        try {
          if (!(await client.delete(ref, { propagationPolicy: propagation ?? null }))) continue;
          deleted++;
          this.metrics.add(`${family}_deletedobjects_total`, metricLabels(label, namespace));
          this.event(policy, item, undefined);
        } catch (e) {
          this.metrics.add(`${family}_errors_total`, metricLabels(label, namespace));
          errors.push(`failed to delete ${target.kind} ${namespace ? `${namespace}/` : ''}${String(m.name)}: ${(e as Error).message}`);
          this.event(policy, item, (e as Error).message);
        }
      }
    }
    log(`cleanup: ${name}: run done, ${deleted} resource(s) deleted${errors.length ? `, ${errors.length} error(s)` : ''}`);
    if (errors.length) throw new Error(errors.join('; '));
  }

  /** Kyverno's ConfigMap changed its resourceFilters. */
  setResourceFilters(filters: ResourceFilter[]): void {
    this.opts.resourceFilters = filters;
  }

  private filtered(target: ServedResource, namespace: string, name: string): boolean {
    const filters = this.opts.resourceFilters;
    return !!filters?.length && isFiltered(filters, { group: target.group, version: target.version, kind: target.kind, subresource: '', namespace, name });
  }

  private async namespaceLabels(): Promise<Record<string, Record<string, string>>> {
    const out: Record<string, Record<string, string>> = {};
    for (const ns of await this.opts.client.list('v1', 'Namespace')) {
      const labels: Record<string, string> = {};
      for (const [k, v] of Object.entries(asObject(meta(ns).labels))) labels[k] = String(v);
      out[String(meta(ns).name)] = labels;
    }
    return out;
  }

  /** Kyverno's NewCleanupPolicyEvent / NewDeletingPolicyEvent. */
  private event(policy: Json, resource: Json, error: string | undefined): void {
    const m = meta(resource);
    const deleting = isDeletingPolicy(policy);
    const where = `${String(resource.kind)}/${String(m.namespace ?? '')}/${String(m.name)}`;
    const verb = deleting ? 'delete' : 'clean up';
    const info: EventInfo = {
      regarding: {
        apiVersion: deleting ? String(policy.apiVersion) : 'kyverno.io/v2',
        kind: String(policy.kind),
        name: String(meta(policy).name),
        ...(meta(policy).namespace ? { namespace: String(meta(policy).namespace) } : {}),
        ...(typeof meta(policy).uid === 'string' ? { uid: String(meta(policy).uid) } : {}),
      },
      related: { apiVersion: String(resource.apiVersion), kind: String(resource.kind), name: String(m.name), ...(m.namespace ? { namespace: String(m.namespace) } : {}) },
      source: 'kyverno-cleanup',
      ...(error === undefined
        ? { reason: 'PolicyApplied' as const, action: 'Resource Cleaned Up' as const, type: 'Normal' as const, message: `successfully ${deleting ? 'deleted' : 'cleaned up'} the target resource ${where}` }
        : { reason: 'PolicyError' as const, action: 'None' as const, message: `failed to ${verb} the target resource ${where}: ${error}` }),
    };
    this.opts.events?.add([info]);
  }
}

interface Target extends ServedResource {
  /** The kind as the policy wrote it (metrics label of cleanup policies). */
  selector: string;
}

/** The served resources a cleanup policy's match kinds name (dclient ListResource by kind). */
function cleanupTargets(policy: Json, served: ServedResource[]): Target[] {
  const out = new Map<string, Target>();
  for (const selector of cleanupPolicyKinds(policy)) {
    for (const r of resourcesFor(selector, served)) if (r.verbs.includes('list')) out.set(`${r.group}|${r.kind}`, { ...r, selector });
  }
  return [...out.values()];
}

/** admissionpolicy.GetGVRs: the resources a DeletingPolicy's resourceRules name (preferred versions for wildcards). */
function deletingTargets(policy: Json, served: ServedResource[], log: (line: string) => void): Target[] {
  const out = new Map<string, Target>();
  const namespaced = !!meta(policy).namespace;
  for (const rule of asArray(asObject(asObject(policy.spec).matchConstraints).resourceRules).map(asObject)) {
    const groups = asArray(rule.apiGroups).map(String);
    const versions = asArray(rule.apiVersions).map(String);
    const resources = asArray(rule.resources).map(String).filter((r) => !r.includes('/'));
    for (const r of served) {
      if (!groups.some((g) => g === '*' || g === r.group) || !resources.some((p) => p === '*' || p === r.plural)) continue;
      const versionOk = versions.some((v) => v === r.version) || (versions.includes('*') && r.preferred);
      if (!versionOk || !r.verbs.includes('list')) continue;
      if (namespaced && !r.namespaced) {
        log(`cleanup: ${describePolicy(policy)}: skipping cluster-scoped ${r.plural}: cluster-scoped kind cannot be used in namespaced policy`);
        continue;
      }
      out.set(`${r.group}|${r.plural}`, { ...r, selector: r.kind });
    }
  }
  return [...out.values()];
}

// ---------------------------------------------------------------- ttl

/**
 * The ttl controller manager: one label-filtered watch per resource the service account may
 * list, watch and delete, rechecked every interval; labelled objects deleted when due.
 */
class TtlManager {
  private watching = new Map<string, ServedResource>();
  private restart: AbortController | undefined;
  /** The pending deletion of each labelled object (by uid): its cancel. */
  private timers = new Map<string, () => void>();
  private readonly clock: CleanupClock;
  /** Work in progress (a reconciliation, deletions), for idle(). */
  private readonly busy = new Set<Promise<void>>();
  private readonly allowed = new Map<string, boolean>();
  private askedAt = 0;
  /** Unreadable labels already logged (uid and value), so each is said once. */
  private readonly unreadable = new Set<string>();

  constructor(
    private readonly opts: CleanupControllerOptions,
    private readonly metrics: CleanupMetrics,
  ) {
    this.clock = opts.ttlClock ?? cleanupClock(1);
  }

  /** Resolves when no reconciliation or deletion is in progress. */
  async idle(): Promise<void> {
    while (this.busy.size) await Promise.all([...this.busy]);
  }

  private track(work: Promise<void>): Promise<void> {
    this.busy.add(work);
    void work.finally(() => this.busy.delete(work));
    return work;
  }

  async run(signal: AbortSignal): Promise<void> {
    const interval = this.opts.ttlIntervalMs ?? DEFAULT_TTL_INTERVAL_MS;
    signal.addEventListener('abort', () => {
      this.restart?.abort();
      for (const cancel of this.timers.values()) cancel();
      this.timers.clear();
    }, { once: true });
    while (!signal.aborted) {
      await this.track(this.reconcile(signal).catch((e: Error) => this.opts.log(`ttl: reconciliation failed: ${e.message}`)));
      await new Promise<void>((resolve) => {
        const cancel = schedule(this.clock, interval, done);
        function done() {
          cancel();
          signal.removeEventListener('abort', done);
          resolve();
        }
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }

  /** SelfSubjectAccessReview: may we `verb` this resource everywhere? */
  private async can(r: ServedResource, verb: string): Promise<boolean> {
    const key = `${r.group}|${r.plural}|${verb}`;
    const known = this.allowed.get(key);
    if (known !== undefined) return known;
    const review = await this.opts.client.request<Json>({
      method: 'POST',
      path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
      body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { group: r.group, version: r.version, resource: r.plural, verb } } },
    });
    const allowed = asObject(review.status).allowed === true;
    this.allowed.set(key, allowed);
    return allowed;
  }

  private async reconcile(signal: AbortSignal): Promise<void> {
    // Permissions are asked again (RBAC follows the policies), at most once a minute per
    // resource and verb however short the interval, several at a time.
    if (this.clock.now() - this.askedAt >= PERMISSION_TTL_MS) {
      this.allowed.clear();
      this.askedAt = this.clock.now();
    }
    const served = (await servedResources(this.opts.client)).filter((r) => r.preferred && ['list', 'watch', 'delete'].every((v) => r.verbs.includes(v)));
    const wanted = new Map<string, ServedResource>();
    for (let i = 0; i < served.length && !signal.aborted; i += 16) {
      await Promise.all(
        served.slice(i, i + 16).map(async (r) => {
          const ok = (await this.can(r, 'delete')) && (await this.can(r, 'list')) && (await this.can(r, 'watch'));
          if (ok) wanted.set(`${r.group}|${r.version}|${r.kind}`, r);
        }),
      );
    }
    const same = wanted.size === this.watching.size && [...wanted.keys()].every((k) => this.watching.has(k));
    if (same || signal.aborted) return;
    this.watching = wanted;
    this.restart?.abort();
    const restart = (this.restart = new AbortController());
    // One abort listener per watched resource (dozens): not a leak.
    setMaxListeners(0, restart.signal);
    const stop = () => restart.abort();
    signal.addEventListener('abort', stop, { once: true });
    restart.signal.addEventListener('abort', () => signal.removeEventListener('abort', stop), { once: true });
    const kinds: WatchedKind[] = [...wanted.values()].map((r) => ({ apiVersion: r.group ? `${r.group}/${r.version}` : r.version, kind: r.kind }));
    this.opts.log(`ttl: watching ${kinds.length} resource(s) for the ${TTL_LABEL} label`);
    if (this.opts.watchLabelled) this.opts.watchLabelled(kinds, (objects) => this.onObjects(objects), restart.signal);
    else void watchKinds(this.opts.client, kinds, (store) => this.onObjects([...store.objects.values()]), this.opts.log, restart.signal, 100, undefined, TTL_LABEL);
  }

  private onObjects(objects: Json[]): void {
    const seen = new Set<string>();
    for (const o of objects) {
      const m = meta(o);
      const uid = String(m.uid ?? `${String(o.kind)}/${String(m.namespace ?? '')}/${String(m.name)}`);
      seen.add(uid);
      if (m.deletionTimestamp) continue;
      const value = asObject(m.labels)[TTL_LABEL];
      if (value === undefined) continue;
      const created = Date.parse(String(m.creationTimestamp ?? ''));
      const due = ttlDeletionTime(String(value), Number.isNaN(created) ? 0 : created);
      if (typeof due !== 'number') {
        // Kyverno logs and leaves the object (the webhook warned when the label was set).
        const said = `${uid}|${String(value)}`;
        if (!this.unreadable.has(said)) this.opts.log(`ttl: ${String(o.kind)} ${m.namespace ? `${String(m.namespace)}/` : ''}${String(m.name)}: failed to parse label ${TTL_LABEL}=${String(value)}: ${due.error}`);
        this.unreadable.add(said);
        continue;
      }
      this.timers.get(uid)?.();
      this.timers.set(uid, schedule(this.clock, due - this.clock.now(), () => void this.track(this.expire(o, uid))));
    }
    for (const [uid, cancel] of this.timers) {
      if (seen.has(uid)) continue;
      cancel();
      this.timers.delete(uid);
    }
  }

  /** Deletes an expired object; a failure is retried as Kyverno's queue does (5 ms doubling, 10 times). */
  private async expire(o: Json, uid: string, failures = 0): Promise<void> {
    this.timers.delete(uid);
    const m = meta(o);
    const due = ttlDeletionTime(String(asObject(m.labels)[TTL_LABEL]), Date.parse(String(m.creationTimestamp ?? '')) || 0);
    if (typeof due === 'number' && due > this.clock.now()) {
      // A timer capped at setTimeout's limit: not yet.
      this.timers.set(uid, schedule(this.clock, due - this.clock.now(), () => void this.track(this.expire(o, uid))));
      return;
    }
    const apiVersion = String(o.apiVersion);
    const slash = apiVersion.indexOf('/');
    const group = slash >= 0 ? apiVersion.slice(0, slash) : '';
    const version = slash >= 0 ? apiVersion.slice(slash + 1) : apiVersion;
    const plural = this.watching.get(`${group}|${version}|${String(o.kind)}`)?.plural ?? String(o.kind).toLowerCase();
    const labels: Array<[string, string | undefined]> = [
      ['resource_namespace', m.namespace ? String(m.namespace) : undefined],
      ['resource_group', group],
      ['resource_version', version],
      ['resource_resource', plural],
    ];
    const ref = { apiVersion, kind: String(o.kind), namespace: m.namespace ? String(m.namespace) : undefined, name: String(m.name) };
    const where = `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
    try {
      const propagation: Propagation | undefined = ttlPropagationPolicy(asObject(m.annotations));
      if (await this.opts.client.delete(ref, { propagationPolicy: propagation ?? null })) {
        this.metrics.add('kyverno_ttl_controller_deletedobjects_total', labels);
        this.opts.log(`ttl: ${where} deleted (${TTL_LABEL}=${String(asObject(m.labels)[TTL_LABEL])})`);
      }
    } catch (e) {
      this.metrics.add('kyverno_ttl_controller_errors_total', labels);
      this.opts.log(`ttl: failed to delete ${where}: ${(e as Error).message}`);
      if (failures + 1 > MAX_RETRIES || this.timers.has(uid)) return;
      this.timers.set(uid, schedule(this.clock, BASE_BACKOFF_MS * 2 ** failures, () => void this.track(this.expire(o, uid, failures + 1))));
    }
  }
}
