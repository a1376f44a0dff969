/**
 * Writes policy results (Audit admissions and background scans) to one report per resource
 * (the layout is report-layout.ts). Results are buffered and coalesced per report; every
 * `intervalMs` each touched report gets one read and one write, or a delete when nothing is
 * left. When policies change, results of policies or rules that are gone are pruned from all
 * our reports. A periodic sweep deletes reports whose resource is gone: the ownerReference
 * lets the garbage collector do that, but not for reports written without a UID, nor where no
 * garbage collector runs. Every API call is serialised on one queue; nothing throws into the
 * caller.
 */
import { KubeError, type ObjectRef } from '../kube-api/errors';
import type { KubeClient } from '../kube-api/client';
import type { JsonObject as Json } from '../engine/core/types';
import {
  OUR_REPORT_SELECTORS,
  OPEN_REPORTS,
  POLICY_REPORTS,
  type ReportGroup,
  ReportPolicies,
  buildReport,
  isLegacyReport,
  isOurs,
  mergeResults,
  reportKind,
  reportResult,
  reportSource,
  reportTarget,
  REPORT_RESULTS,
  SOURCE_KYVERNO,
  targetOf,
  type ReportItem,
  type ReportTarget,
} from './report-layout';
import { asObject } from '../engine/core/json';

export * from './report-layout';

export interface ReportWriterOptions {
  /** How often reports of deleted resources are looked for; 0 disables. Default 10 minutes. */
  sweepIntervalMs?: number;
  /** Reports younger than this are left to the next sweep: their resource may not be stored yet. */
  sweepGraceMs?: number;
  /** Reports deleted per sweep at most; the rest wait for the next one. */
  maxSweepDeletes?: number;
  /** Reports waiting for a flush at most; results for further resources are dropped (logged). */
  maxPendingReports?: number;
  /** Report reads/writes in flight at once. */
  concurrency?: number;
  /**
   * Kyverno's --allowedResults: only results with these statuses are reported (pkg/utils/report
   * IsStatusAllowed); default every status.
   */
  allowedResults?: string[];
  /** Kyverno's --openreportsEnabled: write openreports.io Reports instead of wgpolicyk8s.io PolicyReports. */
  openreports?: boolean;
}

/** The statuses of Kyverno's --allowedResults (its default: all of them, the report CRD's enum). */
export const ALL_RESULTS: string[] = [...REPORT_RESULTS];

interface Pending {
  target: ReportTarget;
  results: Json[];
  /** Policies (source and name) a background scan evaluated again: their stored results are replaced, not merged. */
  rescanned: Set<string>;
}

/** One policy scanned on one resource: what the scan reports replaces that policy's results there. */
export interface Rescan {
  resource: Json;
  /** The policy as results name it (`namespace/name` for namespaced policies). */
  policy: string;
  policyKind?: string;
}

const policyOfResult = (source: string, policy: string): string => `${source}\u0000${policy}`;

function refFor(target: ReportTarget, group: ReportGroup): ObjectRef {
  return { apiVersion: group.apiVersion, kind: reportKind(target.namespace, group), name: target.name, namespace: target.namespace || undefined };
}

function resultsOf(report: Json): Json[] {
  return Array.isArray(report.results) ? (report.results as Json[]) : [];
}

async function forEachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
}

export class ReportWriter {
  private pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private queue: Promise<void> = Promise.resolve();
  private policies: ReportPolicies | undefined;
  private readonly foreign = new Set<string>();
  private dropping = false;
  private maintaining = false;
  private readonly opts: Required<ReportWriterOptions>;
  private readonly group: ReportGroup;

  constructor(
    private readonly client: KubeClient,
    private readonly log: (line: string) => void,
    private readonly intervalMs = 5000,
    options: ReportWriterOptions = {},
  ) {
    this.opts = { sweepIntervalMs: 600_000, sweepGraceMs: 60_000, maxSweepDeletes: 500, maxPendingReports: 10_000, concurrency: 4, allowedResults: ALL_RESULTS, openreports: false, ...options };
    this.group = this.opts.openreports ? OPEN_REPORTS : POLICY_REPORTS;
  }

  /**
   * Maintenance, which only one replica does (the leader of the reports Lease): deletes the
   * per-namespace reports of earlier versions, prunes results of policies that are gone, then
   * sweeps periodically until `signal` aborts. Without it, this writer only writes the results
   * it is given (every replica writes those of the admissions it served).
   */
  start(signal?: AbortSignal): Promise<void> {
    this.maintaining = true;
    let done = this.enqueue('migration', () => this.migrate());
    if (this.policies) {
      const policies = this.policies;
      done = this.enqueue('prune', () => this.prune(policies));
    }
    if (this.opts.sweepIntervalMs > 0 && !this.sweepTimer) {
      this.sweepTimer = setInterval(() => void this.sweep(), this.opts.sweepIntervalMs);
      this.sweepTimer.unref();
    }
    signal?.addEventListener('abort', () => this.stopMaintenance(), { once: true });
    return done;
  }

  /** Leadership lost: no more pruning or sweeping here (writes of admission results go on). */
  stopMaintenance(): void {
    this.maintaining = false;
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  /**
   * Queues results. With `rescan` (a background scan of one policy on one resource), the
   * policy's earlier results on that resource are dropped, as Kyverno's background controller
   * rebuilds a resource's scan report: a result the scan no longer gives (a binding that no
   * longer selects it, a rule that no longer matches) disappears.
   */
  add(items: ReportItem[], rescan?: Rescan): void {
    if (rescan) {
      const p = this.pendingFor(rescan.resource);
      if (p) {
        const source = reportSource(rescan.policyKind);
        p.rescanned.add(policyOfResult(source, rescan.policy));
        p.results = p.results.filter((r) => r.source !== source || r.policy !== rescan.policy);
      }
    }
    for (const item of items) {
      if (!this.opts.allowedResults.includes(item.status)) continue;
      const p = this.pendingFor(item.resource);
      if (p) p.results = mergeResults(p.results, [reportResult(item, this.policies)]);
    }
    if (!this.timer && this.pending.size) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, this.intervalMs);
      this.timer.unref();
    }
  }

  private pendingFor(resource: Json): Pending | undefined {
    const target = reportTarget(resource);
    if (!target) return undefined;
    const key = `${target.namespace}/${target.name}`;
    let p = this.pending.get(key);
    if (!p) {
      if (this.pending.size >= this.opts.maxPendingReports) {
        if (!this.dropping) this.log(`policy reports: ${this.pending.size} reports wait for a write; results for further resources are dropped until then`);
        this.dropping = true;
        return undefined;
      }
      p = { target, results: [], rescanned: new Set() };
      this.pending.set(key, p);
    }
    return p;
  }

  /**
   * The policies that exist now. Results of other policies (and of rules a policy no longer
   * has) are never written again; when something was removed since the last call, and on the
   * first call, every report we own is pruned, and emptied ones are deleted.
   */
  retainPolicies(policies: Json[]): Promise<void> {
    const next = ReportPolicies.of(policies);
    const previous = this.policies;
    this.policies = next;
    if (!this.maintaining || (previous && !previous.dropsAnyIn(next))) return this.queue;
    return this.enqueue('prune', () => this.prune(next));
  }

  /** Writes everything pending: per report, one read and one write (or delete). */
  flush(): Promise<void> {
    const batch = [...this.pending.values()];
    this.pending = new Map();
    this.dropping = false;
    if (!batch.length) return this.queue;
    return this.enqueue('flush', () => this.each('write', batch, (p) => this.write(p.target, p.results, p.rescanned)));
  }

  /** Deletes reports whose resource no longer exists (and re-keys ones written without a UID). */
  sweep(): Promise<void> {
    return this.enqueue('sweep', () => this.sweepOrphans());
  }

  async close(): Promise<void> {
    this.stopTimers();
    await this.flush();
  }

  private stopTimers(): void {
    clearTimeout(this.timer);
    clearInterval(this.sweepTimer);
    this.timer = undefined;
    this.sweepTimer = undefined;
  }

  private enqueue(what: string, task: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(task).catch((e: Error) => this.log(`policy reports (${what}): ${e.message}`));
    return this.queue;
  }

  /** Runs `fn` over `items` a few at a time; failures are counted and logged once. */
  private async each<T>(what: string, items: T[], fn: (item: T) => Promise<unknown>): Promise<void> {
    let failed = 0;
    let first = '';
    await forEachLimited(items, this.opts.concurrency, async (item) => {
      try {
        await fn(item);
      } catch (e) {
        if (!failed++) first = (e as Error).message;
      }
    });
    if (failed) this.log(`policy reports: ${failed} of ${items.length} report ${what}s failed; first: ${first}`);
  }

  private kept(results: Json[], namespace: string, policies = this.policies): Json[] {
    return policies ? results.filter((r) => policies.keeps(r, namespace)) : results;
  }

  /**
   * Read, merge, write. The write carries the resourceVersion read, so a concurrent writer
   * (another replica) makes it fail with a conflict instead of losing its results; one retry.
   */
  private async write(target: ReportTarget, incoming: Json[], rescanned: ReadonlySet<string> = new Set(), retried = false, storedWins = false): Promise<void> {
    const ref = refFor(target, this.group);
    const existing = await this.client.get(ref);
    if (existing && !isOurs(existing)) {
      if (this.foreign.size < 1000 && !this.foreign.has(ref.name)) {
        this.foreign.add(ref.name);
        this.log(`policy reports: ${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name} is managed by someone else; left alone`);
      }
      return;
    }
    const stored = (existing ? resultsOf(existing) : []).filter((r) => !rescanned.has(policyOfResult(String(r.source ?? SOURCE_KYVERNO), String(r.policy ?? ''))));
    // Of two results as new as each other, the incoming one wins, unless it is older by nature (storedWins).
    const merged = this.kept(storedWins ? mergeResults(incoming, stored) : mergeResults(stored, incoming), target.namespace);
    if (!merged.length) {
      if (existing) await this.client.delete(ref);
      return;
    }
    try {
      await this.client.apply(this.withVersion(buildReport(target, merged, this.group), existing), { force: true });
    } catch (e) {
      if (!retried && e instanceof KubeError && e.status === 409) return this.write(target, incoming, rescanned, true, storedWins);
      throw e;
    }
  }

  private withVersion(report: Json, existing: Json | undefined): Json {
    const rv = asObject(existing?.metadata).resourceVersion;
    if (typeof rv === 'string' && rv) (report.metadata as Json).resourceVersion = rv;
    return report;
  }

  private async listOurs(): Promise<Json[]> {
    const found = new Map<string, Json>();
    for (const selector of OUR_REPORT_SELECTORS) {
      for (const kind of [this.group.namespacedKind, this.group.clusterKind]) {
        for (const r of await this.client.list(this.group.apiVersion, kind, undefined, selector)) found.set(`${kind}/${String(asObject(r.metadata).namespace ?? '')}/${String(asObject(r.metadata).name)}`, r);
      }
    }
    return [...found.values()].filter(isOurs);
  }

  private async migrate(): Promise<void> {
    const legacy = (await this.listOurs()).filter(isLegacyReport);
    await this.each('delete', legacy, (r) => this.client.delete(refFor(targetOf(r), this.group)));
    if (legacy.length) this.log(`policy reports: removed ${legacy.length} per-namespace report(s) of the earlier layout`);
  }

  private async prune(policies: ReportPolicies): Promise<void> {
    let rewritten = 0;
    let deleted = 0;
    const reports = (await this.listOurs()).filter((r) => !isLegacyReport(r));
    await this.each('prune', reports, async (r) => {
      const target = targetOf(r);
      const results = resultsOf(r);
      const kept = this.kept(results, target.namespace, policies);
      if (kept.length === results.length) return;
      if (!kept.length) {
        await this.client.delete(refFor(target, this.group));
        deleted++;
        return;
      }
      try {
        await this.client.apply(this.withVersion(buildReport(target, kept, this.group), r), { force: true });
        rewritten++;
      } catch (e) {
        // Someone wrote it since the list; that write already left out what is gone.
        if (!(e instanceof KubeError && e.status === 409)) throw e;
      }
    });
    if (rewritten || deleted) this.log(`policy reports: pruned results of removed policies or rules (${rewritten} report(s) rewritten, ${deleted} deleted)`);
  }

  private async sweepOrphans(): Promise<void> {
    const now = Date.now();
    const old = (r: Json) => {
      const created = Date.parse(String(asObject(r.metadata).creationTimestamp ?? ''));
      return Number.isNaN(created) || now - created >= this.opts.sweepGraceMs;
    };
    const byKind = new Map<string, Json[]>();
    for (const r of await this.listOurs()) {
      const scope = asObject(r.scope);
      if (isLegacyReport(r) || !old(r) || typeof scope.apiVersion !== 'string' || typeof scope.kind !== 'string') continue;
      const k = `${scope.apiVersion}|${scope.kind}`;
      byKind.set(k, [...(byKind.get(k) ?? []), r]);
    }
    let deleted = 0;
    let rekeyed = 0;
    // One list per kind, not one read per report.
    for (const [k, reports] of byKind) {
      if (deleted >= this.opts.maxSweepDeletes) break;
      const [apiVersion, kind] = k.split('|');
      let live: Json[];
      try {
        live = await this.client.list(apiVersion, kind);
      } catch (e) {
        this.log(`policy reports: cannot list ${kind} to find reports of deleted resources: ${(e as Error).message}`);
        continue;
      }
      const uids = new Set(live.map((o) => asObject(o.metadata).uid).filter((u) => typeof u === 'string'));
      const byName = new Map(live.map((o) => [`${String(asObject(o.metadata).namespace ?? '')}/${String(asObject(o.metadata).name)}`, o]));
      for (const r of reports) {
        const scope = asObject(r.scope);
        const uid = typeof scope.uid === 'string' && scope.uid ? scope.uid : undefined;
        const resource = byName.get(`${String(scope.namespace ?? '')}/${String(scope.name)}`);
        const ref = refFor(targetOf(r), this.group);
        try {
          if (uid ? !uids.has(uid) : !resource) {
            if (deleted >= this.opts.maxSweepDeletes) break;
            await this.client.delete(ref);
            deleted++;
          } else if (!uid && resource) {
            // Written before the UID was known: move the results to the UID-named report.
            const target = reportTarget(resource);
            if (!target?.owner) continue;
            // What the UID-named report holds was written since (with the UID known): it wins a tie.
            await this.write(target, resultsOf(r), undefined, false, true);
            await this.client.delete(ref);
            rekeyed++;
          }
        } catch (e) {
          this.log(`policy reports: sweeping ${ref.kind} ${ref.name}: ${(e as Error).message}`);
        }
      }
    }
    if (deleted || rekeyed) this.log(`policy reports: ${deleted} report(s) of deleted resources removed, ${rekeyed} re-keyed by UID`);
  }
}
