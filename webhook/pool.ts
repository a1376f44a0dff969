/**
 * A small pool of evaluation workers with a hard deadline per review. A review's deadline
 * starts once its worker has booted: otherwise, with a deadline shorter than a worker's start
 * (a busy machine), every replacement worker would time out again and the pool never recover.
 */
import { Worker } from 'node:worker_threads';
import type { ClusterState, JsonObject } from '../engine/core/types';
import type { WebhookPath } from './admission';
import type { ReviewReply, ToWorker } from './protocol';

interface Pending {
  resolve: (r: ReviewReply) => void;
  timer?: NodeJS.Timeout;
  slot: Slot;
}

interface Slot {
  worker: Worker;
  inFlight: number;
  ready: boolean;
  /** Reviews sent before the worker was ready: their deadlines start when it is. */
  waiting: number[];
  bootTimer: NodeJS.Timeout;
}

const BOOT_TIMEOUT_MS = 30_000;

export class EvaluationTimeout extends Error {}

export class WorkerPool {
  private slots: Slot[] = [];
  private pendingReviews = new Map<number, Pending>();
  private nextId = 1;
  private policyMessage: ToWorker | null = null;
  private closed = false;

  constructor(
    private readonly script: string,
    size: number,
    private readonly timeoutMs: number,
  ) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const worker = new Worker(this.script, { workerData: { role: 'kyverno-studio-evaluator' } });
    const slot: Slot = { worker, inFlight: 0, ready: false, waiting: [], bootTimer: setTimeout(() => this.replace(slot, 'worker did not start'), BOOT_TIMEOUT_MS) };
    slot.bootTimer.unref();
    worker.on('message', (reply: ReviewReply | { type: 'ready' }) => {
      if (reply.type === 'ready') return this.markReady(slot);
      this.settle(reply.id, reply);
    });
    worker.on('error', (err) => this.replace(slot, `worker failed: ${err.message}`));
    worker.on('exit', (code) => {
      if (!this.closed && this.slots.includes(slot)) this.replace(slot, `worker exited with code ${code}`);
    });
    worker.unref();
    if (this.policyMessage) worker.postMessage(this.policyMessage);
    return slot;
  }

  private markReady(slot: Slot): void {
    slot.ready = true;
    clearTimeout(slot.bootTimer);
    for (const id of slot.waiting.splice(0)) this.startDeadline(id);
  }

  private startDeadline(id: number): void {
    const p = this.pendingReviews.get(id);
    if (!p) return;
    p.timer = setTimeout(() => {
      this.settle(id, {
        type: 'answer',
        id,
        status: 504,
        body: JSON.stringify({ message: `policy evaluation exceeded ${this.timeoutMs} ms` }),
        outcomes: [],
        reportable: [],
      });
      this.replace(p.slot, 'worker restarted after a timed-out evaluation');
    }, this.timeoutMs);
  }

  /** Replaces a dead or stuck worker; its in-flight reviews fail with the reason. */
  private replace(slot: Slot, reason: string): void {
    const i = this.slots.indexOf(slot);
    if (i < 0 || this.closed) return;
    clearTimeout(slot.bootTimer);
    this.slots[i] = this.spawn();
    void slot.worker.terminate();
    for (const [id, p] of this.pendingReviews) {
      if (p.slot === slot) this.settle(id, { type: 'answer', id, status: 500, body: JSON.stringify({ message: reason }), outcomes: [], reportable: [] });
    }
  }

  private settle(id: number, reply: ReviewReply): void {
    const p = this.pendingReviews.get(id);
    if (!p) return;
    this.pendingReviews.delete(id);
    clearTimeout(p.timer);
    p.slot.inFlight--;
    p.resolve(reply);
  }

  /** Reviews sent to workers and not answered yet. */
  get pending(): number {
    return this.pendingReviews.size;
  }

  setPolicies(policies: JsonObject[], cluster: ClusterState): void {
    this.policyMessage = { type: 'policies', policies, cluster };
    for (const s of this.slots) s.worker.postMessage(this.policyMessage);
  }

  review(path: WebhookPath, body: string, only?: string[], reports = true): Promise<ReviewReply> {
    // Least busy worker, preferring ones that have booted.
    const slot = this.slots.reduce((a, b) => (Number(!b.ready) - Number(!a.ready) || b.inFlight - a.inFlight) < 0 ? b : a);
    const id = this.nextId++;
    slot.inFlight++;
    return new Promise((resolve) => {
      this.pendingReviews.set(id, { resolve, slot });
      if (slot.ready) this.startDeadline(id);
      else slot.waiting.push(id);
      slot.worker.postMessage({ type: 'review', id, path, body, only, reports } satisfies ToWorker);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.slots) clearTimeout(s.bootTimer);
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
