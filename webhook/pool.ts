/** A small pool of evaluation workers with a hard deadline per review. */
import { Worker } from 'node:worker_threads';
import type { ClusterState, JsonObject } from '../engine/core/types';
import type { WebhookPath } from './admission';
import type { ReviewReply, ToWorker } from './protocol';

interface Pending {
  resolve: (r: ReviewReply) => void;
  timer: NodeJS.Timeout;
  slot: Slot;
}

interface Slot {
  worker: Worker;
  inFlight: number;
}

export class EvaluationTimeout extends Error {}

export class WorkerPool {
  private slots: Slot[] = [];
  private pending = new Map<number, Pending>();
  private nextId = 1;
  private policyMessage: ToWorker | null = null;

  constructor(
    private readonly script: string,
    size: number,
    private readonly timeoutMs: number,
  ) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const worker = new Worker(this.script, { workerData: { role: 'kyverno-studio-evaluator' } });
    const slot: Slot = { worker, inFlight: 0 };
    worker.on('message', (reply: ReviewReply) => this.settle(reply.id, reply));
    worker.on('error', (err) => this.replace(slot, `worker failed: ${err.message}`));
    worker.unref();
    if (this.policyMessage) worker.postMessage(this.policyMessage);
    return slot;
  }

  /** Replaces a dead or stuck worker; its in-flight reviews fail with the reason. */
  private replace(slot: Slot, reason: string): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    void slot.worker.terminate();
    this.slots[i] = this.spawn();
    for (const [id, p] of this.pending) {
      if (p.slot === slot) this.settle(id, { type: 'answer', id, status: 500, body: JSON.stringify({ message: reason }), outcomes: [], reportable: [] });
    }
  }

  private settle(id: number, reply: ReviewReply): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.slot.inFlight--;
    p.resolve(reply);
  }

  setPolicies(policies: JsonObject[], cluster: ClusterState): void {
    this.policyMessage = { type: 'policies', policies, cluster };
    for (const s of this.slots) s.worker.postMessage(this.policyMessage);
  }

  review(path: WebhookPath, body: string, only?: string[]): Promise<ReviewReply> {
    const slot = this.slots.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
    const id = this.nextId++;
    slot.inFlight++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.settle(id, {
          type: 'answer',
          id,
          status: 504,
          body: JSON.stringify({ message: `policy evaluation exceeded ${this.timeoutMs} ms` }),
          outcomes: [],
          reportable: [],
        });
        this.replace(slot, 'worker restarted after a timed-out evaluation');
      }, this.timeoutMs);
      this.pending.set(id, { resolve, timer, slot });
      slot.worker.postMessage({ type: 'review', id, path, body, only } satisfies ToWorker);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
