/**
 * Live cluster data for admission, as Kyverno resolves it while evaluating: ConfigMaps of
 * `configMap` context entries (its ConfigMap lister/client chain), `apiCall` GETs of the API
 * server, GlobalContextEntry `kubernetesResource` data (its globalcontext controller) and CEL
 * `resource.*` reads. The engine evaluates synchronously and reads a `ClusterState`, so the
 * webhook keeps that state warm instead: it watches exactly what the served policies read
 * (webhook/context-reads.ts; recomputed when the policies change, a watch per read, narrowed
 * to a namespace and a name where the policy writes them literally) and hands each change to
 * the server processes, where the engine answers the entries from memory (an `apiCall` as
 * the API server would: engine/context/apicall.ts). Bounded: at most `maxObjectsPerRead`
 * objects per read (the rest is dropped and said once), managedFields stripped.
 */
import type { ClusterState, JsonObject } from '../engine/core/types';
import { asObject } from '../engine/core/json';
import { globalContextEntryData, setGlobalContextEntry } from '../engine/context';
import { parseDuration } from '../engine/units';
import { apiPath } from '../engine/cel/lib-cluster';
import type { KubeClient } from '../kube-api/client';
import { KubeError, statusMessage } from '../kube-api/errors';
import { watchKinds, type WatchedKind } from '../kube-api/watch';
import { policiesReadRoles, roleBindingIndexOf } from './user-roles';
import type { ReadRefusal, RoleBindingIndex } from '../engine/core/types';
import { foldReads, globalContextEntryReads, policyReads, readKey, type ContextRead } from './context-reads';

/** What the server processes merge into the policies' cluster state. */
export interface LiveContextState {
  resources: JsonObject[];
  globalContext: Record<string, unknown>;
  globalContextProjections: Record<string, Record<string, unknown>>;
  /** Entries whose data could not be fetched, with the reason (every read of them fails, as in Kyverno). */
  globalContextErrors?: Record<string, string>;
  /** While something reads the user's roles: the bindings by subject. */
  roleBindings?: RoleBindingIndex;
  /** The reads the API server refused (RBAC): what they cover fails as Kyverno's calls are told (ClusterState.readRefusals). */
  readRefusals?: ReadRefusal[];
}

/** Where objects come from: the API server (watchReads below) or a fake in tests. */
export interface ReadSource {
  /**
   * Calls `onObjects` with every object of the read, now and after each change, until `signal`
   * aborts; `onRefused` with the API server's message when it forbids the read (RBAC).
   */
  watch(read: ContextRead, onObjects: (objects: JsonObject[]) => void, signal: AbortSignal, onRefused?: (message: string) => void): void;
}

const ROLE_BINDINGS: ContextRead[] = [
  { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'rolebindings', via: 'roles' },
  { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterrolebindings', via: 'roles' },
];

export const GLOBAL_CONTEXT_ENTRY: ContextRead = { group: 'kyverno.io', version: 'v2', resource: 'globalcontextentries', via: 'globalReference' };

export interface LiveContextOptions {
  source: ReadSource;
  onChange: (state: LiveContextState) => void;
  log: (line: string) => void;
  /** Objects kept per read (default 10,000). */
  maxObjectsPerRead?: number;
  /** The user's roles are always needed (Kyverno's excludeRoles/excludeClusterRoles are set); asked again on each setPolicies. */
  rolesAlways?: boolean | (() => boolean);
  /** Changes within this many ms are sent once (default 100). */
  debounceMs?: number;
  /** The clock (ms), for tests. */
  now?: () => number;
  /**
   * A GlobalContextEntry's apiCall was made and succeeded at `at` (Kyverno's admission
   * controller then records it in status.lastRefreshTime: GlobalContextStatusWriter).
   */
  onRefreshed?: (entry: JsonObject, at: Date) => void;
}

/**
 * An apiCall entry's last call, kept until its refreshInterval has passed or its spec changes,
 * as Kyverno's externalapi entry keeps the data (or the error) of its last call
 * (pkg/globalcontext/externalapi/entry.go: wait.UntilWithContext over the interval; a spec
 * change makes a new entry, pkg/controllers/globalcontext/controller.go).
 */
interface ApiCallSnapshot {
  spec: string;
  at: number;
  data?: unknown;
  error?: string;
}

/** Kyverno's CRD default for an apiCall entry's refreshInterval. */
const DEFAULT_REFRESH_MS = 10 * 60_000;

/** An apiCall entry's refreshInterval in ms (Go duration; the CRD default when absent or unreadable). */
export function refreshIntervalMs(entry: JsonObject): number {
  const text = asObject(asObject(entry.spec).apiCall).refreshInterval;
  if (typeof text !== 'string' || text === '') return DEFAULT_REFRESH_MS;
  const ns = parseDuration(text);
  return ns === null || ns <= 0 ? DEFAULT_REFRESH_MS : Math.max(1, Math.round(ns / 1e6));
}

interface Running {
  read: ContextRead;
  stop: AbortController;
  objects: JsonObject[];
  /** Whether its first list arrived. */
  listed: boolean;
  /** The API server's message when it forbids the read (our service account lacks the RBAC). */
  refused?: string;
}

/** The object as the engine needs it: apiVersion and kind set, without managedFields. */
function slim(o: JsonObject): JsonObject {
  const { managedFields: _unused, ...metadata } = asObject(o.metadata);
  return { ...o, metadata };
}

export class LiveContext {
  private readonly running = new Map<string, Running>();
  private policyReadList: ContextRead[] = [];
  private entryReadKeys = new Set<string>();
  private wantsGlobalContext = false;
  private wantsRoles = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly capped = new Set<string>();
  private closed = false;
  private waiters: Array<() => void> = [];
  private readonly snapshots = new Map<string, ApiCallSnapshot>();
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private refreshDue = Infinity;

  constructor(private readonly opts: LiveContextOptions) {}

  /** The policies served changed: watch what they read now, stop what none reads any more. */
  setPolicies(policies: readonly JsonObject[]): void {
    const reads: ContextRead[] = [];
    let globalContext = false;
    for (const p of policies) {
      const r = policyReads(p);
      reads.push(...r.reads);
      globalContext ||= r.globalContext;
    }
    this.wantsGlobalContext = globalContext;
    if (globalContext) reads.push(GLOBAL_CONTEXT_ENTRY);
    this.wantsRoles = (typeof this.opts.rolesAlways === 'function' ? this.opts.rolesAlways() : !!this.opts.rolesAlways) || policiesReadRoles(policies);
    if (this.wantsRoles) reads.push(...ROLE_BINDINGS);
    this.policyReadList = foldReads(reads);
    this.reconcile();
  }

  /**
   * Resolves once every read has been listed and the state sent (at most after `timeoutMs`), as
   * Kyverno starts serving once its informer caches have synced: policies that read the cluster
   * are served with their data, not before it.
   */
  whenSynced(timeoutMs: number): Promise<void> {
    if (this.isSynced()) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve();
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push(done);
    });
  }

  /** Every read listed (its data sent, or about to be: removed reads only take data away). */
  isSynced(): boolean {
    return [...this.running.values()].every((r) => r.listed);
  }

  /** The watches running now (tests, logs). */
  reads(): ContextRead[] {
    return [...this.running.values()].map((r) => r.read);
  }

  /** Stops every watch. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    clearTimeout(this.refreshTimer);
    for (const r of this.running.values()) r.stop.abort();
    this.running.clear();
  }

  /** The state the engine reads, from what the watches hold now. */
  state(): LiveContextState {
    const resources: JsonObject[] = [];
    const seen = new Set<string>();
    const entries: JsonObject[] = [];
    const bindings: JsonObject[] = [];
    const bindingKeys = new Set(ROLE_BINDINGS.map(readKey));
    for (const { read, objects } of this.running.values()) {
      if (readKey(read) === readKey(GLOBAL_CONTEXT_ENTRY)) entries.push(...objects);
      if (bindingKeys.has(readKey(read))) bindings.push(...objects);
      for (const o of objects) {
        // Two reads may hold the same object (a name read and a namespace read from different policies).
        const meta = asObject(o.metadata);
        const id = `${String(o.apiVersion)}|${String(o.kind)}|${String(meta.namespace ?? '')}|${String(meta.name ?? '')}`;
        if (seen.has(id)) continue;
        seen.add(id);
        resources.push(o);
      }
    }
    const cluster: ClusterState = { resources, namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] };
    const readRefusals = this.readRefusals();
    if (this.wantsGlobalContext) {
      const names = new Set(entries.map((gce) => String(asObject(gce.metadata).name ?? '')));
      for (const name of this.snapshots.keys()) if (!names.has(name)) this.snapshots.delete(name);
      for (const gce of entries) {
        try {
          const data = this.entryData(gce, resources, readRefusals);
          if (data !== undefined) setGlobalContextEntry(cluster, gce, data);
        } catch (e) {
          const name = String(asObject(gce.metadata).name ?? '');
          (cluster.globalContextErrors ??= {})[name] = (e as Error).message;
          this.opts.log(`global context: entry ${name}: ${(e as Error).message}`);
        }
      }
    }
    const state: LiveContextState = { resources, globalContext: cluster.globalContext, globalContextProjections: cluster.globalContextProjections ?? {} };
    if (cluster.globalContextErrors) state.globalContextErrors = cluster.globalContextErrors;
    if (this.wantsRoles) state.roleBindings = roleBindingIndexOf(bindings);
    if (readRefusals.length) state.readRefusals = readRefusals;
    return state;
  }

  /** The reads the API server refused, as the engine matches them against what it reads. */
  private readRefusals(): ReadRefusal[] {
    const out: ReadRefusal[] = [];
    for (const { read, refused } of this.running.values()) {
      if (refused === undefined) continue;
      out.push({ group: read.group, resource: read.resource, ...(read.namespace !== undefined ? { namespace: read.namespace } : {}), ...(read.name !== undefined ? { name: read.name } : {}), message: refused });
    }
    return out;
  }

  /**
   * One entry's data: a kubernetesResource entry's objects as the watch holds them now (Kyverno
   * reads it from an informer); an apiCall entry's answer (from the watched objects, as the API
   * server would give it) made once per refreshInterval and kept in between, error included.
   * While some read is not listed yet the call is answered without being kept, so a first
   * call never freezes an empty answer for a whole interval.
   */
  private entryData(gce: JsonObject, resources: JsonObject[], readRefusals: ReadRefusal[]): unknown {
    const spec = asObject(gce.spec);
    if (spec.kubernetesResource || !spec.apiCall) return globalContextEntryData(gce, resources, { apiCalls: true });
    const name = String(asObject(gce.metadata).name ?? '');
    const now = (this.opts.now ?? Date.now)();
    const key = JSON.stringify(spec);
    const interval = refreshIntervalMs(gce);
    let snapshot = this.snapshots.get(name);
    if (!snapshot || snapshot.spec !== key || now - snapshot.at >= interval) {
      const keep = this.isSynced();
      try {
        snapshot = { spec: key, at: now, data: globalContextEntryData(gce, resources, { apiCalls: true, readRefusals }) };
        if (keep) this.opts.onRefreshed?.(gce, new Date(now));
      } catch (e) {
        snapshot = { spec: key, at: now, error: (e as Error).message };
      }
      if (keep) this.snapshots.set(name, snapshot);
    }
    // Every kept entry asks for its next call (a fired timer forgets the others' due times).
    if (this.snapshots.get(name) === snapshot) this.refreshAt(snapshot.at + interval);
    if (snapshot.error !== undefined) throw new Error(snapshot.error);
    return snapshot.data;
  }

  /** Sends the state again at `at` (the earliest refresh due), so due apiCall entries are called again. */
  private refreshAt(at: number): void {
    if (this.closed || at >= this.refreshDue) return;
    clearTimeout(this.refreshTimer);
    this.refreshDue = at;
    const delay = Math.max(0, at - (this.opts.now ?? Date.now)());
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      this.refreshDue = Infinity;
      this.schedule();
    }, Math.min(delay, 2 ** 31 - 1));
    (this.refreshTimer as { unref?: () => void }).unref?.();
  }

  private reconcile(): void {
    if (this.closed) return;
    // A GlobalContextEntry's kubernetesResource is read only while some policy reads the global context.
    const entryReads = this.wantsGlobalContext ? foldReads(this.entryReads()) : [];
    this.entryReadKeys = new Set(entryReads.map(readKey));
    const wanted = new Map<string, ContextRead>();
    for (const r of foldReads([...this.policyReadList, ...entryReads])) wanted.set(readKey(r), r);
    let changed = false;
    const before = new Set(this.running.keys());
    for (const [key, r] of this.running) {
      if (wanted.has(key)) continue;
      r.stop.abort();
      this.running.delete(key);
      changed = true;
    }
    for (const [key, read] of wanted) {
      if (this.running.has(key)) continue;
      const running: Running = { read, stop: new AbortController(), objects: [], listed: false };
      this.running.set(key, running);
      this.opts.source.watch(read, (objects) => this.received(key, running, objects), running.stop.signal, (message) => this.refused(key, running, message));
    }
    const started = [...wanted.keys()].filter((k) => !before.has(k));
    if (started.length || changed) this.opts.log(`context data: watching ${[...wanted.values()].map(describeRead).join(', ') || 'nothing'}`);
    if (changed) this.schedule();
  }

  private entryReads(): ContextRead[] {
    const gces = this.running.get(readKey(GLOBAL_CONTEXT_ENTRY))?.objects ?? [];
    return gces.flatMap(globalContextEntryReads);
  }

  private received(key: string, running: Running, objects: JsonObject[]): void {
    if (this.running.get(key) !== running) return;
    const max = this.opts.maxObjectsPerRead ?? 10_000;
    if (objects.length > max && !this.capped.has(key)) {
      this.capped.add(key);
      this.opts.log(`context data: ${objects.length} objects for ${key}, keeping the first ${max}; policies reading more see only those`);
    }
    running.objects = objects.slice(0, max).map(slim);
    running.listed = true;
    running.refused = undefined;
    if (key === readKey(GLOBAL_CONTEXT_ENTRY)) {
      // The entries name further resources to read.
      const before = [...this.entryReadKeys].sort().join(',');
      const after = [...new Set(foldReads(this.entryReads()).map(readKey))].sort().join(',');
      if (before !== after) this.reconcile();
    }
    this.schedule();
  }

  /** The API server forbade the read: it holds nothing, and apiCall entries reading it fail as Kyverno's call would. */
  private refused(key: string, running: Running, message: string): void {
    if (this.running.get(key) !== running || running.refused === message) return;
    running.objects = [];
    running.listed = true;
    running.refused = message;
    this.schedule();
  }

  private schedule(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.opts.onChange(this.state());
      if (!this.isSynced()) return;
      const waiting = this.waiters;
      this.waiters = [];
      for (const w of waiting) w();
    }, this.opts.debounceMs ?? 100);
  }
}

/** A read in words: `configmaps policy-data/blocked`; `*` stands for any namespace or name. */
function describeRead(r: ContextRead): string {
  return `${r.resource}${r.group ? `.${r.group}` : ''} ${r.namespace ?? '*'}/${r.name ?? '*'}`;
}

/**
 * `cluster` with the live context data: apiCall entries answered from it as the API server would.
 * Admission and the background controllers (generate, mutate existing, cleanup) read the same
 * data, as Kyverno's resolve context the same way; an object the cluster already holds (a
 * candidate target read afresh) is kept once.
 */
export function withLiveContext(cluster: ClusterState, live: LiveContextState | null | undefined): ClusterState {
  if (!live) return cluster;
  return {
    ...cluster,
    resources: live.resources.length ? joinObjects(cluster.resources, live.resources) : cluster.resources,
    apiCallsAllowed: true,
    globalContextStore: true,
    globalContext: { ...live.globalContext, ...cluster.globalContext },
    globalContextProjections: { ...live.globalContextProjections, ...cluster.globalContextProjections },
    globalContextErrors: live.globalContextErrors ? { ...live.globalContextErrors, ...cluster.globalContextErrors } : cluster.globalContextErrors,
    roleBindings: live.roleBindings ?? cluster.roleBindings,
    readRefusals: live.readRefusals ?? cluster.readRefusals,
  };
}

/**
 * Reads from the API server: one list+watch per read (kube-api/watch.ts), in the read's
 * namespace and, for a named object, with a `metadata.name` field selector (which RBAC
 * authorizes by resourceNames). A resource the cluster does not serve is retried until it is.
 */
export function apiServerReads(client: KubeClient, log: (line: string) => void): ReadSource {
  return {
    watch(read, onObjects, signal, onRefused) {
      const apiVersion = read.group ? `${read.group}/${read.version}` : read.version;
      const forbidden = (e: unknown) => {
        if (e instanceof KubeError && e.status === 403) onRefused?.(statusMessage(e));
      };
      void (async () => {
        let kind: string | undefined;
        for (let wait = 1000; !signal.aborted; wait = Math.min(wait * 2, 60_000)) {
          kind = await client.kindFor(apiVersion, read.resource).catch(() => undefined);
          if (kind) break;
          // Nothing is served under it yet: the read is listed, empty (not waited for). The
          // API server authorizes before it looks the resource up: ask it once whether the read
          // is forbidden, as Kyverno's own GET would be told.
          if (wait === 1000) {
            onObjects([]);
            await client.request({ method: 'GET', path: readPath(read) }).catch(forbidden);
          }
          log(`context data: the cluster does not serve ${read.resource} (${apiVersion}) that a policy reads; retrying`);
          client.forgetDiscovery();
          await new Promise((r) => setTimeout(r, wait).unref?.());
        }
        if (!kind || signal.aborted) return;
        const watched: WatchedKind = { apiVersion, kind, namespace: read.namespace, fieldSelector: read.name ? `metadata.name=${read.name}` : undefined };
        await watchKinds(client, [watched], (store) => onObjects([...store.objects.values()] as JsonObject[]), log, signal, 50, undefined, undefined, forbidden);
      })();
    },
  };
}

/** The API path of a read: its collection, or its object when it names one. */
function readPath(read: ContextRead): string {
  return apiPath(read.group ? `${read.group}/${read.version}` : read.version, read.resource, read.namespace ?? '', read.name || undefined);
}

/** `known` then each of `more` not among them (by kind, namespace and name). */
function joinObjects(known: JsonObject[], more: JsonObject[]): JsonObject[] {
  if (known.length === 0) return [...more];
  const key = (o: JsonObject) => `${String(o.apiVersion)}|${String(o.kind)}|${String(asObject(o.metadata).namespace ?? '')}|${String(asObject(o.metadata).name ?? '')}`;
  const seen = new Set(known.map(key));
  return [...known, ...more.filter((o) => !seen.has(key(o)))];
}
