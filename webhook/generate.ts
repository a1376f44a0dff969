/**
 * The downstream generator (in-cluster mode, primary process): Kyverno's background generate
 * controller for the work server processes send up. An object is created when absent; one
 * that exists is left alone unless its rule synchronizes, then it is server-side applied.
 * Work for a CREATE waits until the trigger is stored (a later admission step may still
 * refuse it: then nothing is generated). Policies with clone sources are evaluated again
 * here, with the sources fetched from the API server. A bounded queue, a few requests at a
 * time, retries with backoff on transient errors, one log line per failure.
 */
import { KubeError, describeRef, refOf, type ObjectRef } from '../kube-api/errors';
import type { KubeClient } from '../kube-api/client';
import type { ClusterState, JsonObject, RuleResult } from '../engine/core/types';
import { evaluateReadingCluster } from './cluster-reads';
import { withLiveContext, type LiveContextState } from './live-context';
import { cloneListKind, tagCloneSources } from './clone-sources';
import { generatePatterns, generateRulesOf, generateWork, isControllerFailure, needsCloneSources, policyKey, triggerOf } from './generate-work';
import type { BackgroundRequest, GeneratedItem, TriggerRef } from './protocol';
import { asObject } from '../engine/core/json';

type Json = Record<string, unknown>;

export interface GeneratorOptions {
  client: KubeClient;
  log: (line: string) => void;
  /** Items waiting beyond this are dropped, with a log line (default 1000). */
  maxQueue?: number;
  /** Items worked on at once (default 4). */
  concurrency?: number;
  /** Attempts per API call on transient errors (default 5). */
  attempts?: number;
  /** First backoff; doubles per attempt (default 200 ms). */
  backoffMs?: number;
  /** How long a CREATE's work waits for its trigger to be stored (default 10 s). */
  triggerWaitMs?: number;
  /** Told of each downstream object created (Kyverno's generate events follow these). */
  onCreated?: (policy: string, rule: string, created: JsonObject) => void;
}

const GENERATE_LABEL = 'generate.kyverno.io/';

const labelsOf = (o: JsonObject | undefined): Json => asObject(asObject(o?.metadata).labels);
const hasVariable = (v: unknown): boolean => typeof v === 'string' && v.includes('{{');

/** Worth another try: throttling, server trouble, no answer; not a refusal. */
export function isTransient(e: unknown): boolean {
  if (!(e instanceof KubeError)) return true;
  // A Conflict is a stale resourceVersion: read again and retry (AlreadyExists is not one).
  return e.status === 429 || e.status >= 500 || e.status === 0 || (e.status === 409 && e.reason === 'Conflict');
}

/** Kyverno's "patterns match, skipping updates": every field we generate already has our value. */
export function alreadyInLine(live: unknown, desired: unknown): boolean {
  if (typeof desired !== 'object' || desired === null) return live === desired;
  if (Array.isArray(desired)) return Array.isArray(live) && live.length === desired.length && desired.every((d, i) => alreadyInLine(live[i], d));
  if (typeof live !== 'object' || live === null || Array.isArray(live)) return false;
  return Object.entries(desired).every(([k, v]) => alreadyInLine((live as Json)[k], v));
}

function triggerText(t: TriggerRef): string {
  return t.namespace ? `${t.kind} ${t.namespace}/${t.name}` : `${t.kind} ${t.name}`;
}

export class DownstreamGenerator {
  private readonly queue: GeneratedItem[] = [];
  private running = 0;
  private idleWaiters: Array<() => void> = [];
  private closed = false;
  private readonly opts: Required<Omit<GeneratorOptions, 'client' | 'log' | 'onCreated'>>;

  constructor(private readonly options: GeneratorOptions) {
    this.opts = {
      maxQueue: options.maxQueue ?? 1000,
      concurrency: options.concurrency ?? 4,
      attempts: options.attempts ?? 5,
      backoffMs: options.backoffMs ?? 200,
      triggerWaitMs: options.triggerWaitMs ?? 10_000,
    };
  }

  add(items: GeneratedItem[]): void {
    for (const item of items) {
      if (this.closed) return;
      if (this.queue.length >= this.opts.maxQueue) {
        this.options.log(`generate: queue full (${this.opts.maxQueue}); dropped the work of policy ${this.itemPolicy(item)}`);
        continue;
      }
      this.queue.push(item);
    }
    this.pump();
  }

  /** Resolves when nothing is queued or running (tests, shutdown). */
  idle(): Promise<void> {
    if (this.queue.length === 0 && this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops taking work and waits for what is running (not for what is queued). */
  async close(): Promise<void> {
    this.closed = true;
    this.queue.length = 0;
    await this.idle();
  }

  private itemPolicy(item: GeneratedItem): string {
    if (item.action === 'downstream') return item.labels['generate.kyverno.io/policy-name'] ?? '';
    return item.action === 'request' ? policyKey(item.policy) : item.policy;
  }

  private pump(): void {
    while (this.running < this.opts.concurrency && this.queue.length > 0) {
      const item = this.queue.shift()!;
      this.running++;
      void this.work(item)
        .catch((e: Error) => this.options.log(`generate: policy ${this.itemPolicy(item)}: ${e.message}`))
        .finally(() => {
          this.running--;
          this.pump();
          if (this.queue.length === 0 && this.running === 0) for (const w of this.idleWaiters.splice(0)) w();
        });
    }
  }

  /**
   * Does one item now (the background controller's entry point) and resolves with one line
   * per failure: a failed item is retried, and its lines are recorded in its UpdateRequest.
   */
  async process(
    item: GeneratedItem,
    exceptions: JsonObject[] = [],
    namespaceLabels: ClusterState['namespaceLabels'] = {},
    live?: LiveContextState | null,
    /** Told of a request's generate results once its downstream objects are written (Kyverno's generate reports). */
    onApplied?: (results: RuleResult[]) => void,
  ): Promise<string[]> {
    const failures: string[] = [];
    try {
      await this.work(item, failures, exceptions, namespaceLabels, live, onApplied);
    } catch (e) {
      failures.push(`generate: policy ${this.itemPolicy(item)}: ${(e as Error).message}`);
    }
    return failures;
  }

  private async work(item: GeneratedItem, failures: string[] = [], exceptions: JsonObject[] = [], namespaceLabels: ClusterState['namespaceLabels'] = {}, live?: LiveContextState | null, onApplied?: (results: RuleResult[]) => void): Promise<void> {
    if (item.action === 'request') return this.reevaluate(item, failures, exceptions, namespaceLabels, live, onApplied);
    // The background controller turns these into jobs; nothing to do here.
    if (item.action === 'downstream') return;
    if (item.action === 'delete') {
      for (const r of item.resources) await this.deleteDownstream(item, r, failures);
      return;
    }
    if (item.operation === 'CREATE' && !(await this.triggerStored(item.trigger))) {
      this.options.log(`generate: policy ${item.policy} rule ${item.rule}: ${triggerText(item.trigger)} was not stored (refused after our admission?); nothing generated`);
      return;
    }
    for (const r of item.resources) await this.createDownstream(item, r, failures);
  }

  /** Calls `fn` until it succeeds or fails for good; transient failures back off exponentially. */
  private async retry<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (!isTransient(e) || attempt >= this.opts.attempts || this.closed) throw e;
        await new Promise((r) => setTimeout(r, this.opts.backoffMs * 2 ** (attempt - 1)));
      }
    }
  }

  /** The webhook answers before the API server stores the object; wait for it (Kyverno's getTrigger). */
  private async triggerStored(t: TriggerRef): Promise<boolean> {
    return !!(await this.waitForTrigger(t));
  }

  /** The trigger as stored, once it is (undefined when it never was within the wait, or is another object of that name). */
  async waitForTrigger(t: TriggerRef): Promise<JsonObject | undefined> {
    const ref: ObjectRef = { apiVersion: t.apiVersion, kind: t.kind, name: t.name, namespace: t.kind === 'Namespace' ? undefined : t.namespace };
    const deadline = Date.now() + this.opts.triggerWaitMs;
    for (let delay = 100; ; delay = Math.min(delay * 2, 1000)) {
      const live = await this.retry(() => this.options.client.get(ref));
      if (live && (!t.uid || asObject(live.metadata).uid === t.uid)) return live;
      if (Date.now() + delay > deadline || this.closed) return undefined;
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  private async createDownstream(item: Extract<GeneratedItem, { action: 'create' }>, resource: JsonObject, failures: string[]): Promise<void> {
    const { client, log } = this.options;
    const what = describeRef(refOf(resource));
    const created = () => {
      log(`generate: policy ${item.policy} rule ${item.rule} created ${what} for ${triggerText(item.trigger)}`);
      this.options.onCreated?.(item.policy, item.rule, resource);
    };
    try {
      if (item.serverSideApply) {
        // spec.useServerSideApply: apply instead of create, still only when absent or synchronized.
        const live = await this.retry(() => client.get(refOf(resource)));
        if (live && !item.synchronize) return;
        await this.retry(() => client.apply(resource, { force: true }));
        if (!live) created();
        return;
      }
      try {
        await this.retry(() => client.create(resource));
        return created();
      } catch (e) {
        if (!(e instanceof KubeError && e.status === 409)) throw e;
      }
      // It exists: Kyverno leaves it unless the rule synchronizes, then replaces it with ours.
      if (!item.synchronize) return;
      const changed = await this.retry(async () => {
        const live = await client.get(refOf(resource));
        if (!live) return !!(await client.create(resource));
        if (alreadyInLine(live, resource)) return false;
        await client.replace({ ...resource, metadata: { ...asObject(resource.metadata), resourceVersion: asObject(live.metadata).resourceVersion } });
        return true;
      });
      if (changed) log(`generate: policy ${item.policy} rule ${item.rule} synchronized ${what}`);
    } catch (e) {
      const line = `generate: policy ${item.policy} rule ${item.rule}: cannot ${item.synchronize ? 'create or update' : 'create'} ${what}: ${(e as Error).message}`;
      log(line);
      failures.push(line);
    }
  }

  /** Deletes an object only if it is the downstream of this policy, rule and trigger. */
  private async deleteDownstream(item: Extract<GeneratedItem, { action: 'delete' }>, resource: JsonObject, failures: string[]): Promise<void> {
    const { client, log } = this.options;
    const ref = refOf(resource);
    try {
      const live = await this.retry(() => client.get(ref));
      if (!live) return;
      const want = labelsOf(resource);
      const have = labelsOf(live);
      const ours = ['policy-name', 'policy-namespace', 'rule-name', 'trigger-kind', 'trigger-namespace'].every((k) => (have[GENERATE_LABEL + k] ?? '') === (want[GENERATE_LABEL + k] ?? ''));
      const uid = want[`${GENERATE_LABEL}trigger-uid`];
      if (!ours || (uid && have[`${GENERATE_LABEL}trigger-uid`] !== uid)) return;
      if (await this.retry(() => client.delete(ref))) log(`generate: policy ${item.policy} rule ${item.rule} deleted ${describeRef(ref)} (its trigger ${triggerText(item.trigger)} is gone or no longer matches)`);
    } catch (e) {
      const line = `generate: policy ${item.policy} rule ${item.rule}: cannot delete ${describeRef(ref)}: ${(e as Error).message}`;
      log(line);
      failures.push(line);
    }
  }

  /** Evaluates a policy's generate rules for a request, with its clone sources (if any) fetched from the cluster. */
  private async reevaluate(item: BackgroundRequest, failures: string[], exceptions: JsonObject[], namespaceLabels: ClusterState['namespaceLabels'], live?: LiveContextState | null, onApplied?: (results: RuleResult[]) => void): Promise<void> {
    const listed = needsCloneSources(item.policy) ? await cloneSources(this.options.client, item.policy, (l) => this.options.log(l), (fn) => this.retry(fn)) : [];
    // A source listed everywhere (its namespace is a variable) lists this trigger's own copies
    // too: they are targets, not sources. The engine would take them for existing targets and
    // leave them out, where Kyverno's manageClone reads the source again and synchronizes them.
    const resources = listed.filter((o) => !isDownstreamOf(o, item.policy, triggerOf(item.request).uid));
    // The context data admission reads (live), but not this trigger's own copies (as above).
    const withLive = withLiveContext({ resources, namespaceLabels, apiCallResponses: [], globalContext: {}, exceptions }, live);
    const cluster: ClusterState = { ...withLive, resources: withLive.resources.filter((o) => !isDownstreamOf(o, item.policy, triggerOf(item.request).uid)) };
    const work = await evaluateReadingCluster(this.options.client, cluster, () => generateWork(item.policy, item.request, cluster), this.options.log);
    for (const line of work.errors) this.options.log(line);
    // Kyverno labels each source it copies (clone-source), so a later edit of it is propagated.
    const copies = work.items.flatMap((i) => (i.action === 'create' ? i.resources : []));
    if (resources.length && copies.length) await tagCloneSources(this.options.client, resources, copies, this.options.log);
    const failed = failures.length;
    for (const next of work.items) if (next.action !== 'request') await this.work(next, failures, exceptions, namespaceLabels, live);
    // As Kyverno's applyGenerate: results are reported only when every downstream object was
    // applied, and not when no rule applies at all ("policy does not apply to resource").
    const results = work.results ?? [];
    if (onApplied && failures.length === failed && results.length && !results.some(isControllerFailure)) onApplied(results);
  }
}

/** A downstream object of this policy for this trigger (its generate labels name both). */
export function isDownstreamOf(o: JsonObject, policy: Json, triggerUid: string | undefined): boolean {
  const l = labelsOf(o);
  const pm = asObject(policy.metadata);
  return !!triggerUid && l['app.kubernetes.io/managed-by'] === 'kyverno' && l[`${GENERATE_LABEL}policy-name`] === pm.name
    && (l[`${GENERATE_LABEL}policy-namespace`] ?? '') === (policy.kind === 'Policy' ? String(pm.namespace ?? '') : '') && l[`${GENERATE_LABEL}trigger-uid`] === triggerUid;
}

/**
 * The objects a policy's clone and cloneList patterns may copy: one GET for a literal
 * clone source, a LIST of the kind otherwise (in the source namespace, or everywhere when
 * it is a variable); the engine then picks by name and selector, as with test resources.
 */
export async function cloneSources(
  client: KubeClient,
  policy: Json,
  log: (line: string) => void,
  retry: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn(),
): Promise<JsonObject[]> {
  const out: JsonObject[] = [];
  const seen = new Set<string>();
  const add = (o: JsonObject | undefined) => {
    if (!o) return;
    const m = asObject(o.metadata);
    const key = `${String(o.apiVersion)}/${String(o.kind)}/${String(m.namespace ?? '')}/${String(m.name)}`;
    if (!seen.has(key)) (seen.add(key), out.push(o));
  };
  const key = policyKey(policy);
  const fetch = async (what: string, load: () => Promise<JsonObject[] | JsonObject | undefined>) => {
    try {
      const got = await retry(load);
      for (const o of Array.isArray(got) ? got : [got]) add(o);
    } catch (e) {
      log(`generate: policy ${key}: cannot read clone source ${what}: ${(e as Error).message}`);
    }
  };
  for (const rule of generateRulesOf(policy)) {
    for (const p of generatePatterns(rule)) {
      const clone = asObject(p.clone);
      const apiVersion = String(p.apiVersion ?? '');
      const kind = String(p.kind ?? '');
      if (clone.name) {
        if (!apiVersion || !kind || hasVariable(apiVersion) || hasVariable(kind)) {
          log(`generate: policy ${key} rule ${String(rule.name)}: the clone target needs a literal apiVersion and kind to find its source`);
          continue;
        }
        const ns = String(clone.namespace ?? '');
        if (!hasVariable(clone.name) && !hasVariable(ns)) {
          await fetch(`${kind} ${ns}/${String(clone.name)}`, () => client.get({ apiVersion, kind, name: String(clone.name), namespace: ns || undefined }));
        } else {
          await fetch(`${kind} objects`, () => client.list(apiVersion, kind, hasVariable(ns) ? undefined : ns || undefined));
        }
      }
      const cloneList = asObject(p.cloneList);
      const ns = String(cloneList.namespace ?? '');
      for (const spec of Array.isArray(cloneList.kinds) ? cloneList.kinds.map(String) : []) {
        const listed = cloneListKind(spec);
        if (!listed) {
          log(`generate: policy ${key} rule ${String(rule.name)}: cloneList kind ${spec} needs its apiVersion (e.g. v1/${spec})`);
          continue;
        }
        await fetch(`${spec} objects`, () => client.list(listed.apiVersion, listed.kind, hasVariable(ns) ? undefined : ns || undefined));
      }
    }
  }
  return out;
}
