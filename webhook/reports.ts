/**
 * Policy results as wgpolicyk8s.io/v1alpha2 PolicyReports (namespaced resources) and
 * ClusterPolicyReports (cluster-scoped ones), the format Policy Reporter reads. One report per
 * namespace holds the latest result per (policy, rule, resource); results from admission
 * (Audit) and from background scans land in the same place.
 */
import type { KubeClient } from '../deploy/kube';

type Json = Record<string, unknown>;

export const REPORT_NAME = 'kyverno-studio';
const MAX_RESULTS = 1000;

export interface ReportItem {
  policy: string;
  rule: string;
  /** Engine status: pass | fail | warn | error | skip. */
  status: string;
  message: string;
  resource: Json;
  /** Seconds since the epoch. */
  time?: number;
}

const RESULTS = new Set(['pass', 'fail', 'warn', 'error', 'skip']);

function resourceRef(resource: Json): Json {
  const meta = (resource.metadata ?? {}) as Json;
  const ref: Json = { apiVersion: resource.apiVersion, kind: resource.kind, name: meta.name ?? meta.generateName };
  if (meta.namespace) ref.namespace = meta.namespace;
  if (meta.uid) ref.uid = meta.uid;
  return ref;
}

function resultKey(r: Json): string {
  const res = ((r.resources as Json[]) ?? [])[0] ?? {};
  return `${String(r.policy)}|${String(r.rule)}|${String(res.kind)}|${String(res.namespace ?? '')}|${String(res.name)}`;
}

/** One report result (policy reporter's shape). */
export function reportResult(item: ReportItem): Json {
  const seconds = Math.floor(item.time ?? Date.now() / 1000);
  return {
    source: 'kyverno-studio',
    policy: item.policy,
    rule: item.rule,
    result: RESULTS.has(item.status) ? item.status : 'error',
    message: item.message,
    scored: true,
    timestamp: { seconds, nanos: 0 },
    resources: [resourceRef(item.resource)],
  };
}

/** Pure: merges new results into existing ones, newest per key wins, bounded in size. */
export function mergeResults(existing: Json[], incoming: Json[]): Json[] {
  const byKey = new Map<string, Json>();
  const when = (r: Json) => Number(((r.timestamp ?? {}) as Json).seconds ?? 0);
  for (const r of [...existing, ...incoming]) {
    const k = resultKey(r);
    const prev = byKey.get(k);
    if (!prev || when(r) >= when(prev)) byKey.set(k, r);
  }
  return [...byKey.values()].sort((a, b) => when(b) - when(a)).slice(0, MAX_RESULTS);
}

export function summarize(results: Json[]): Json {
  const s: Record<string, number> = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
  for (const r of results) s[String(r.result)] = (s[String(r.result)] ?? 0) + 1;
  return s;
}

/** Pure: the report object for a namespace ('' = cluster scope). */
export function buildReport(namespace: string, results: Json[]): Json {
  const metadata: Json = { name: REPORT_NAME, labels: { 'app.kubernetes.io/managed-by': 'kyverno-studio' } };
  if (namespace) metadata.namespace = namespace;
  return {
    apiVersion: 'wgpolicyk8s.io/v1alpha2',
    kind: namespace ? 'PolicyReport' : 'ClusterPolicyReport',
    metadata,
    results,
    summary: summarize(results),
  };
}

/** Collects results and writes them every `intervalMs`; never throws into the caller. */
export class ReportWriter {
  private pending = new Map<string, Json[]>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: KubeClient,
    private readonly log: (line: string) => void,
    private readonly intervalMs = 5000,
  ) {}

  add(items: ReportItem[]): void {
    for (const item of items) {
      const ns = String(((item.resource.metadata ?? {}) as Json).namespace ?? '');
      const list = this.pending.get(ns) ?? [];
      list.push(reportResult(item));
      this.pending.set(ns, list);
    }
    if (!this.timer && this.pending.size) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, this.intervalMs);
      this.timer.unref();
    }
  }

  /** Writes everything pending: read, merge, server-side apply. */
  flush(): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    this.flushing = this.flushing.then(async () => {
      for (const [ns, incoming] of batch) {
        const ref = { apiVersion: 'wgpolicyk8s.io/v1alpha2', kind: ns ? 'PolicyReport' : 'ClusterPolicyReport', name: REPORT_NAME, namespace: ns || undefined };
        try {
          const existing = await this.client.get(ref);
          const merged = mergeResults(((existing?.results ?? []) as Json[]), incoming);
          await this.client.apply(buildReport(ns, merged), { force: true });
        } catch (e) {
          this.log(`policy report ${ns || '(cluster)'}: ${(e as Error).message}`);
        }
      }
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}
