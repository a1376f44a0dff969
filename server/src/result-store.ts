/**
 * Manifest diagnostics kept across server starts, so that reopening a workspace shows an
 * unchanged manifest's evaluation results without compiling a policy: the first evaluation of
 * the library's few hundred candidate policies (CEL compilation mostly) was most of the time
 * to a reopened manifest's complete diagnostics. The language server publishes a stored result
 * only when it was computed from exactly the same inputs, and evaluates live right after,
 * replacing it (see `storedManifestDiagnostics` in server.ts).
 *
 * Soundness: an entry is found by the SHA-256 of everything its diagnostics were computed from
 * (the caller's key material: the document's URI and text, the workspace's policies,
 * exceptions and bindings as exact JSON, the settings that reach evaluation) together with this
 * server build (`buildId`), so any input change is a miss. A missing, unreadable or malformed
 * file is an empty store.
 */
import { createHash } from 'node:crypto';
import { readCacheFile, workspaceCacheFile, writeCacheFile } from './cache-files';
import type { ResultStore } from './workspace';

/** The format of the file; bumped when its shape changes. */
const FORMAT = 1;
/** Documents remembered at most (the most recently evaluated). */
export const MAX_RESULT_ENTRIES = 64;
/** A store larger than this is neither written nor read. */
const MAX_STORE_BYTES = 16 * 1024 * 1024;
/** Wait after the last change before the store is written. */
const SAVE_DELAY_MS = 2000;

interface Entry { key: string; diagnostics: unknown[] }
interface StoreFile { format: number; buildId: string; entries: { [uri: string]: Entry[] } }

function isEntry(e: unknown): e is Entry {
  const x = e as Entry;
  return Boolean(x) && typeof x.key === 'string' && Array.isArray(x.diagnostics)
    && x.diagnostics.every((d) => d !== null && typeof d === 'object' && typeof (d as { message?: unknown }).message === 'string');
}

export class DiskResultStore implements ResultStore {
  /**
   * Per document, at most two results: the first one stored by this process (the text as
   * opened, which is the text on disk unless it is saved later) and the latest (the text last
   * edited, which is usually the one saved).
   */
  private entries = new Map<string, Entry[]>();
  /** Documents stored by this process (their first entry is kept as the text as opened). */
  private stored = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Told when the store cannot be written (it only costs the next start its speed). */
  onError?: (e: Error) => void;

  private constructor(private readonly file: string, private readonly buildId: string) {}

  /** The store of the workspace `folders` under `dir`, for this server build. */
  static open(dir: string, folders: readonly string[], buildId: string): DiskResultStore {
    const store = new DiskResultStore(workspaceCacheFile(dir, 'workspace-results', folders), buildId);
    store.load();
    return store;
  }

  private load(): void {
    const data = readCacheFile<StoreFile>(this.file, { format: FORMAT, buildId: this.buildId }, MAX_STORE_BYTES);
    if (!data?.entries || typeof data.entries !== 'object') return;
    for (const [uri, list] of Object.entries(data.entries)) {
      if (Array.isArray(list) && list.length <= 2 && list.every(isEntry)) this.entries.set(uri, list);
    }
  }

  key(material: string): string {
    return createHash('sha256').update(this.buildId).update('\u0000').update(material).digest('hex');
  }

  has(uri: string): boolean {
    return this.entries.has(uri);
  }

  get(uri: string, key: string): unknown[] | undefined {
    return this.entries.get(uri)?.find((e) => e.key === key)?.diagnostics;
  }

  put(uri: string, key: string, diagnostics: unknown[]): void {
    const before = this.entries.get(uri) ?? [];
    const entry = { key, diagnostics };
    let list: Entry[];
    if (!this.stored.has(uri) || !before.length) {
      this.stored.add(uri);
      list = [entry];
    } else if (before[before.length - 1]?.key === key) {
      return;
    } else {
      list = before[0]?.key === key ? [before[0]] : [before[0], entry];
    }
    this.entries.delete(uri);
    this.entries.set(uri, list);
    // The oldest entries go first (a Map keeps insertion order).
    for (const old of this.entries.keys()) {
      if (this.entries.size <= MAX_RESULT_ENTRIES) break;
      this.entries.delete(old);
    }
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), SAVE_DELAY_MS);
      this.timer.unref?.();
    }
  }

  /** Writes pending changes now (also at shutdown); errors go to `onError`. */
  flush(): void {
    if (!this.timer) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    try {
      const data: StoreFile = { format: FORMAT, buildId: this.buildId, entries: Object.fromEntries(this.entries) };
      writeCacheFile(this.file, data, MAX_STORE_BYTES);
    } catch (e) {
      this.onError?.(e as Error);
    }
  }
}
