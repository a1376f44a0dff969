/**
 * The workspace scan's parsing beside the server's thread (Node): worker threads running
 * `scan-worker.ts` (bundled as dist/scan-worker.js next to the server) parse the files the
 * scan hands them with the index's own code and send back what each contributes as plain
 * data. Parsing the YAML of a large workspace is most of the scan's time; in workers it runs
 * on the machine's other cores while the server's thread answers requests and evaluates open
 * manifests with the policies found so far. A worker that fails (or a script that cannot be
 * found) only means the scan parses those files itself: `parse` rejects and the index falls
 * back to its thread.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CachedEntry, EntryParser } from './workspace';

export interface ScanRequest { id: number; uri: string; text: string }
export type ScanReply = { id: number; entry: CachedEntry | null } | { id: number; error: string };

/** The most workers a scan starts (each loads the YAML parser and holds its own heap). */
const MAX_WORKERS = 4;

/**
 * The worker script beside this module: dist/scan-worker.js next to dist/server.js and
 * dist/cli.js. Run from source there is none (the scan parses in its own thread); tests
 * start workers on the source through a tsx bootstrap.
 */
export function scanWorkerScript(dir: string = typeof __dirname === 'string' ? __dirname : ''): string | undefined {
  const file = join(dir, 'scan-worker.js');
  return existsSync(file) ? file : undefined;
}

interface Job { resolve: (e: CachedEntry | null) => void; reject: (e: Error) => void }

interface Slot { worker: Worker; jobs: Map<number, Job>; failed: boolean }

export class ScanWorkers implements EntryParser {
  private slots: Slot[] = [];
  private nextId = 0;

  private constructor(script: string, count: number) {
    for (let i = 0; i < count; i++) {
      const slot: Slot = { worker: new Worker(script), jobs: new Map(), failed: false };
      // An idle worker does not keep the server alive.
      slot.worker.unref();
      slot.worker.on('message', (m: ScanReply) => {
        const job = slot.jobs.get(m.id);
        if (!job) return;
        slot.jobs.delete(m.id);
        if ('error' in m) job.reject(new Error(m.error));
        else job.resolve(m.entry);
      });
      const fail = (e: Error) => {
        slot.failed = true;
        for (const job of slot.jobs.values()) job.reject(e);
        slot.jobs.clear();
      };
      slot.worker.on('error', fail);
      slot.worker.on('exit', (code) => fail(new Error(`scan worker exited (${code})`)));
      this.slots.push(slot);
    }
  }

  /**
   * Workers for one scan: one per core beside the server's thread (which evaluates open
   * manifests meanwhile), at least one, at most MAX_WORKERS; undefined without a worker
   * script. More workers than free cores cost CPU time (each compiles the parser and keeps a
   * heap) without shortening the scan.
   */
  static start(script = scanWorkerScript(), count = Math.max(1, Math.min(MAX_WORKERS, availableParallelism() - 1))): ScanWorkers | undefined {
    if (!script || count < 1) return undefined;
    try {
      return new ScanWorkers(script, count);
    } catch {
      return undefined;
    }
  }

  parse(uri: string, text: string): Promise<CachedEntry | null> {
    const live = this.slots.filter((s) => !s.failed);
    if (!live.length) return Promise.reject(new Error('no scan worker'));
    // The least busy worker: files differ in size, so a fixed rotation would leave one behind.
    const slot = live.reduce((a, b) => (b.jobs.size < a.jobs.size ? b : a));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      slot.jobs.set(id, { resolve, reject });
      slot.worker.postMessage({ id, uri, text } satisfies ScanRequest);
    });
  }

  /** Stops the workers (jobs still running reject). */
  release(): void {
    for (const slot of this.slots) {
      slot.failed = true;
      void slot.worker.terminate();
    }
    this.slots = [];
  }
}
