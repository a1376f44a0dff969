/**
 * Writes Kubernetes events (events.k8s.io/v1) as Kyverno's event controller does: a bounded
 * queue (`--maxQueuedEvents`, 1000: beyond it events are dropped), a client-side rate limit
 * (`--eventsRateLimitQPS` 1000 / `--eventsRateLimitBurst` 2000), up to 3 retries for a failed
 * create (a 404, a namespace that is gone, is not retried), and events of a kind listed in
 * `omitEvents` never written. As Kyverno's event generator, it also decides once for every
 * source whether a PolicyApplied is written (`generateSuccessEvents`, then the
 * `successEventActions` when listed) and skips events about an object without a name.
 * Nothing throws into the caller.
 */
import { hostname } from 'node:os';
import { KubeError } from '../kube-api/errors';
import type { KubeClient } from '../kube-api/client';
import { eventObject, type EventInfo, type EventReason } from './event-info';
import { microTime } from './leader';

export interface EventWriterOptions {
  maxQueued?: number;
  qps?: number;
  burst?: number;
  /** Kyverno's `--omitEvents`. */
  omit?: EventReason[];
  retries?: number;
  /** Kyverno's `generateSuccessEvents`: PolicyApplied events are written only with it (default off). */
  successEvents?: boolean;
  /** Kyverno's `successEventActions`: when not empty, only PolicyApplied events with one of these actions. */
  successActions?: string[];
}

export class EventWriter {
  private readonly queue: Array<{ info: EventInfo; attempts: number }> = [];
  private tokens: number;
  private last = Date.now();
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private dropped = 0;
  private readonly opts: Required<EventWriterOptions>;
  private readonly host = hostname();
  private idleWaiters: Array<() => void> = [];
  /** Events written so far (tests, metrics). */
  written = 0;

  constructor(
    private readonly client: KubeClient,
    private readonly log: (line: string) => void,
    options: EventWriterOptions = {},
  ) {
    this.opts = { maxQueued: 1000, qps: 1000, burst: 2000, omit: [], retries: 3, successEvents: false, successActions: [], ...options };
    this.tokens = this.opts.burst;
  }

  /** Kyverno's ConfigMap changed its generateSuccessEvents or successEventActions. */
  setSuccessEvents(successEvents: boolean, successActions: string[]): void {
    this.opts.successEvents = successEvents;
    this.opts.successActions = successActions;
  }

  add(events: EventInfo[]): void {
    for (const info of events) {
      if (!this.wanted(info)) continue;
      if (this.queue.length >= this.opts.maxQueued) {
        if (this.dropped++ === 0) this.log(`events: more than ${this.opts.maxQueued} queued; dropping events until the queue drains`);
        continue;
      }
      this.queue.push({ info, attempts: 0 });
    }
    this.pump();
  }

  /** Kyverno's event generator Add: what is never written. */
  private wanted(info: EventInfo): boolean {
    if (!info.regarding.name) return false;
    if (this.opts.omit.includes(info.reason)) return false;
    if (info.reason !== 'PolicyApplied') return true;
    if (!this.opts.successEvents) return false;
    return this.opts.successActions.length === 0 || this.opts.successActions.includes(info.action);
  }

  /** Resolves when nothing is queued or being written. */
  idle(): Promise<void> {
    if (!this.queue.length && !this.running) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
    return this.idle();
  }

  private refill(): void {
    const now = Date.now();
    this.tokens = Math.min(this.opts.burst, this.tokens + ((now - this.last) / 1000) * this.opts.qps);
    this.last = now;
  }

  private pump(): void {
    if (this.running || this.timer) return;
    if (!this.queue.length) {
      if (this.dropped) this.log(`events: ${this.dropped} event(s) dropped while the queue was full`);
      this.dropped = 0;
      for (const w of this.idleWaiters.splice(0)) w();
      return;
    }
    this.refill();
    if (this.tokens < 1) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, Math.ceil(((1 - this.tokens) / this.opts.qps) * 1000));
      this.timer.unref();
      return;
    }
    this.tokens--;
    const item = this.queue.shift()!;
    this.running = true;
    void this.write(item).finally(() => {
      this.running = false;
      this.pump();
    });
  }

  private async write(item: { info: EventInfo; attempts: number }): Promise<void> {
    try {
      const event = eventObject(item.info, this.host, Date.now(), microTime);
      try {
        await this.client.create(event);
      } catch (e) {
        // API servers before 1.22 accept a new-style event about a cluster-scoped object only in
        // kube-system (later ones also in default, where Kyverno writes it).
        const meta = event.metadata as { namespace: string };
        if (!(e instanceof KubeError && e.status === 422 && !item.info.regarding.namespace && meta.namespace === 'default')) throw e;
        meta.namespace = 'kube-system';
        await this.client.create(event);
      }
      this.written++;
    } catch (e) {
      if (e instanceof KubeError && e.status === 404) return;
      if (++item.attempts < this.opts.retries) this.queue.push(item);
      else this.log(`events: dropping a ${item.info.reason} event for ${item.info.regarding.kind} ${item.info.regarding.name}: ${(e as Error).message}`);
    }
  }
}
