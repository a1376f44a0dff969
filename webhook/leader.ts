/**
 * Leader election on a `coordination.k8s.io/v1` Lease, as client-go's leaderelection package
 * does it and with Kyverno's settings (pkg/leaderelection): retry period 2 s, lease duration
 * 6 × retry (12 s), renew deadline 5 × retry (10 s). A candidate takes the Lease when it has no
 * holder or when the holder's record has not changed for a lease duration, measured on our own
 * clock from when we last saw it change (so clock skew between replicas does not matter);
 * the leader renews every retry period and gives up when it cannot renew within the renew
 * deadline. Writes carry the resourceVersion read, so two candidates never both win.
 *
 * Where we differ: Kyverno runs with ReleaseOnCancel=false, so a stopped leader's successor
 * waits out the lease duration. We release on shutdown (holder cleared, duration 1 s), as
 * client-go does with ReleaseOnCancel=true, so a rolling update hands over within a retry period.
 */
import { KubeError } from '../kube-api/errors';
import type { KubeClient } from '../kube-api/client';
import { asObject } from '../engine/core/json';

type Json = Record<string, unknown>;

/** Kyverno's default `--leaderElectionRetryPeriod`. */
export const DEFAULT_RETRY_PERIOD_MS = 2000;
/** client-go's JitterFactor for the acquire loop. */
const JITTER = 1.2;

/** The Lease names of Kyverno's four controllers (cmd/<controller>/main.go). */
export const LEASE_NAMES = {
  admission: 'kyverno',
  background: 'kyverno-background-controller',
  reports: 'kyverno-reports-controller',
  cleanup: 'kyverno-cleanup-controller',
} as const;

export interface LeaseTimings {
  retryPeriodMs: number;
  leaseDurationMs: number;
  renewDeadlineMs: number;
}

export function leaseTimings(retryPeriodMs = DEFAULT_RETRY_PERIOD_MS): LeaseTimings {
  return { retryPeriodMs, leaseDurationMs: 6 * retryPeriodMs, renewDeadlineMs: 5 * retryPeriodMs };
}

export interface LeaderElectorOptions {
  client: KubeClient;
  name: string;
  namespace: string;
  /** This replica (Kyverno: the pod name). */
  identity: string;
  retryPeriodMs?: number;
  /** Called when this replica becomes leader; `signal` aborts when it stops leading. */
  onStartedLeading: (signal: AbortSignal) => void;
  onStoppedLeading?: () => void;
  /**
   * The Lease was lost (no renewal within the renew deadline). When set, `run` then ends, as
   * client-go's Run returns: Kyverno never campaigns again in that process (its admission and
   * cleanup controllers stop their server and Kubernetes restarts them), so a caller that a
   * Deployment restarts exits. Unset, `run` campaigns again.
   */
  onLost?: () => void;
  onNewLeader?: (identity: string) => void;
  log: (line: string) => void;
  now?: () => number;
}

/** Lease times are MicroTime: RFC 3339 with exactly six fractional digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

interface LeaseRecord {
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions: number;
}

function recordOf(lease: Json): LeaseRecord {
  const spec = asObject(lease.spec);
  return {
    holderIdentity: typeof spec.holderIdentity === 'string' ? spec.holderIdentity : '',
    leaseDurationSeconds: Number(spec.leaseDurationSeconds ?? 0),
    acquireTime: typeof spec.acquireTime === 'string' ? spec.acquireTime : undefined,
    renewTime: typeof spec.renewTime === 'string' ? spec.renewTime : undefined,
    leaseTransitions: Number(spec.leaseTransitions ?? 0),
  };
}

export class LeaderElector {
  private readonly timings: LeaseTimings;
  private readonly now: () => number;
  private observedRaw = '';
  private observedTime = 0;
  private observed: LeaseRecord | undefined;
  private leading: AbortController | undefined;
  private reportedLeader = '';
  private lastError = '';

  constructor(private readonly opts: LeaderElectorOptions) {
    this.timings = leaseTimings(opts.retryPeriodMs);
    this.now = opts.now ?? Date.now;
  }

  get name(): string {
    return this.opts.name;
  }

  isLeader(): boolean {
    return this.leading !== undefined;
  }

  /** The holder last seen in the Lease ('' when none). */
  leader(): string {
    return this.observed?.holderIdentity ?? '';
  }

  private get path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.opts.namespace)}/leases/${encodeURIComponent(this.opts.name)}`;
  }

  /**
   * Campaigns and leads while it can renew, until `signal` aborts. After losing the Lease it
   * calls `onLost` and ends; without `onLost` (local mode, where nothing would restart the
   * process) it campaigns again.
   */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      // Acquire: try every retry period (with client-go's jitter) until we hold the Lease.
      while (!signal.aborted && !(await this.tryAcquireOrRenew())) await sleep(this.timings.retryPeriodMs * (1 + Math.random() * JITTER), signal);
      if (signal.aborted) break;
      this.startLeading();
      // Renew: every retry period; leadership ends when no renewal succeeds within the renew deadline.
      while (!signal.aborted) {
        const deadline = this.now() + this.timings.renewDeadlineMs;
        let renewed = false;
        while (!signal.aborted && this.now() < deadline) {
          if (await this.tryAcquireOrRenew(deadline - this.now())) {
            renewed = true;
            break;
          }
          await sleep(this.timings.retryPeriodMs, signal);
        }
        if (!renewed) break;
        await sleep(this.timings.retryPeriodMs, signal);
      }
      if (!signal.aborted) {
        this.opts.log(`leader election ${this.opts.name}: lost the lease (no renewal within ${this.timings.renewDeadlineMs} ms)`);
        this.stopLeading();
        if (this.opts.onLost) {
          this.opts.onLost();
          return;
        }
      }
    }
  }

  /** Gives the Lease up (holder cleared) so a successor takes it at its next retry; then stops leading. */
  async release(): Promise<void> {
    if (!this.leading || !this.observed) return this.stopLeading();
    const now = this.now();
    const record: LeaseRecord = { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: this.observed.leaseTransitions };
    try {
      const lease = await this.read(this.timings.renewDeadlineMs);
      if (lease && recordOf(lease).holderIdentity === this.opts.identity) await this.write(lease, record, this.timings.renewDeadlineMs);
    } catch (e) {
      this.opts.log(`leader election ${this.opts.name}: cannot release the lease: ${(e as Error).message}`);
    }
    this.stopLeading();
  }

  private startLeading(): void {
    this.leading = new AbortController();
    this.opts.log(`leader election ${this.opts.name}: ${this.opts.identity} started leading`);
    this.opts.onStartedLeading(this.leading.signal);
  }

  private stopLeading(): void {
    const was = this.leading;
    this.leading = undefined;
    if (!was) return;
    was.abort();
    this.opts.onStoppedLeading?.();
  }

  private async read(timeoutMs: number): Promise<Json | undefined> {
    try {
      return await this.opts.client.request<Json>({ method: 'GET', path: this.path, timeoutMs });
    } catch (e) {
      if (e instanceof KubeError && e.status === 404) return undefined;
      throw e;
    }
  }

  private write(existing: Json | undefined, record: LeaseRecord, timeoutMs: number): Promise<Json> {
    const spec = { ...record };
    if (!existing) {
      const body = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.opts.name, namespace: this.opts.namespace }, spec };
      return this.opts.client.request<Json>({ method: 'POST', path: this.path.replace(/\/[^/]+$/, ''), body, timeoutMs });
    }
    const body = { ...existing, spec };
    return this.opts.client.request<Json>({ method: 'PUT', path: this.path, body, timeoutMs });
  }

  /** One attempt, as client-go's tryAcquireOrRenew: true when we hold the Lease afterwards. */
  private async tryAcquireOrRenew(timeoutMs = this.timings.renewDeadlineMs): Promise<boolean> {
    const now = this.now();
    const mine: LeaseRecord = {
      holderIdentity: this.opts.identity,
      leaseDurationSeconds: Math.round(this.timings.leaseDurationMs / 1000),
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: 0,
    };
    try {
      const lease = await this.read(timeoutMs);
      if (!lease) {
        await this.write(undefined, mine, timeoutMs);
        this.observe(mine, now);
        return true;
      }
      const current = recordOf(lease);
      const raw = JSON.stringify(current);
      if (raw !== this.observedRaw) {
        this.observedRaw = raw;
        this.observedTime = now;
        this.observed = current;
        this.noteLeader(current.holderIdentity);
      }
      const heldByOther = current.holderIdentity !== '' && current.holderIdentity !== this.opts.identity;
      if (heldByOther && this.observedTime + current.leaseDurationSeconds * 1000 > now) return false;
      if (current.holderIdentity === this.opts.identity) {
        mine.acquireTime = current.acquireTime;
        mine.leaseTransitions = current.leaseTransitions;
      } else {
        mine.leaseTransitions = current.leaseTransitions + 1;
      }
      await this.write(lease, mine, timeoutMs);
      this.observe(mine, now);
      this.lastError = '';
      return true;
    } catch (e) {
      // A conflict means someone else wrote first: not ours this round. Anything else is logged
      // (once per distinct message: a missing namespace would otherwise fill the log).
      if (e instanceof KubeError && e.status === 409) return false;
      const message = e instanceof KubeError && e.status === 404 ? `cannot hold the Lease: namespace ${this.opts.namespace} not found` : (e as Error).message;
      if (message !== this.lastError) this.opts.log(`leader election ${this.opts.name}: ${message}`);
      this.lastError = message;
      return false;
    }
  }

  private observe(record: LeaseRecord, now: number): void {
    this.observed = record;
    this.observedRaw = JSON.stringify(record);
    this.observedTime = now;
    this.noteLeader(record.holderIdentity);
  }

  private noteLeader(identity: string): void {
    if (identity === this.reportedLeader) return;
    this.reportedLeader = identity;
    if (identity && identity !== this.opts.identity) this.opts.log(`leader election ${this.opts.name}: ${identity} is the leader`);
    this.opts.onNewLeader?.(identity);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
