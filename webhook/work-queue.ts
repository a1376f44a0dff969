/**
 * A keyed work queue as Kyverno's controllers run one (client-go's rate-limited workqueue under
 * pkg/utils/controller Run): a key added while pending is queued once, a key being processed is
 * never processed twice at once (added meanwhile, it runs again after), a fixed number of
 * workers, and a failed key retried with client-go's DefaultTypedControllerRateLimiter — the
 * larger of a per-key exponential backoff (5 ms doubling, at most 1000 s) and a shared token
 * bucket (10 per second, burst 100) — until it has been retried `maxRetries` times, then
 * dropped (and logged) until something adds it again.
 */
import { TokenBucket } from '../kube-api/rate-limit';

export interface WorkQueueOptions {
  /** Kyverno's Workers for the controller. */
  workers: number;
  /** Kyverno's maxRetries for the controller. */
  maxRetries: number;
  process: (key: string) => Promise<void>;
  /** A key dropped after its last retry failed. */
  onDropped: (key: string, error: Error) => void;
  now?: () => number;
}

const BASE_BACKOFF_MS = 5;
const MAX_BACKOFF_MS = 1000 * 1000;
const BUCKET_QPS = 10;
const BUCKET_BURST = 100;

export class WorkQueue {
  private readonly pending: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  /** Keys added while being processed: queued again once done. */
  private readonly dirty = new Set<string>();
  private readonly requeues = new Map<string, number>();
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private running = 0;
  private stopped = true;
  private readonly bucket = new TokenBucket(BUCKET_QPS, BUCKET_BURST);
  private idlers: Array<() => void> = [];

  constructor(private readonly opts: WorkQueueOptions) {}

  /** Starts the workers; `stop()` (or a new start) drops every key. */
  start(): void {
    this.stop();
    this.stopped = false;
  }

  /** Drops every key and retry; work in flight finishes, nothing new starts. */
  stop(): void {
    this.stopped = true;
    this.pending.length = 0;
    this.queued.clear();
    this.dirty.clear();
    this.requeues.clear();
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.settle();
  }

  /** Queues `key` (ignored while stopped). */
  add(key: string): void {
    if (this.stopped) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.pending.push(key);
    this.pump();
  }

  /** Resolves once nothing is queued, processing or waiting for a retry. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idlers.push(resolve));
  }

  private isIdle(): boolean {
    return this.pending.length === 0 && this.running === 0 && this.timers.size === 0;
  }

  private settle(): void {
    if (!this.isIdle()) return;
    const waiting = this.idlers;
    this.idlers = [];
    for (const w of waiting) w();
  }

  private pump(): void {
    while (!this.stopped && this.running < this.opts.workers && this.pending.length > 0) {
      const key = this.pending.shift()!;
      this.queued.delete(key);
      this.processing.add(key);
      this.running++;
      void this.run(key);
    }
  }

  private async run(key: string): Promise<void> {
    let failure: Error | undefined;
    try {
      await this.opts.process(key);
    } catch (e) {
      failure = e as Error;
    }
    this.processing.delete(key);
    this.running--;
    if (!this.stopped) {
      if (failure) this.retry(key, failure);
      else this.requeues.delete(key);
      if (this.dirty.delete(key)) this.add(key);
    }
    this.pump();
    this.settle();
  }

  private retry(key: string, error: Error): void {
    const done = this.requeues.get(key) ?? 0;
    if (done >= this.opts.maxRetries) {
      this.requeues.delete(key);
      this.opts.onDropped(key, error);
      return;
    }
    this.requeues.set(key, done + 1);
    if (this.timers.has(key)) return;
    const delay = Math.max(Math.min(BASE_BACKOFF_MS * 2 ** done, MAX_BACKOFF_MS), this.bucketDelay());
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
      this.settle();
    }, delay);
    this.timers.set(key, timer);
  }

  /** The token bucket's wait for one more retry. */
  private bucketDelay(): number {
    return this.bucket.reserve((this.opts.now ?? Date.now)());
  }
}
