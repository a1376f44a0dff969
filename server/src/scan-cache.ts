/**
 * A persistent cache of the workspace scan: what each file contributed (its policies,
 * exceptions and bindings as plain JSON, and the CRD kinds it declares), keyed by the file's
 * path and its stat (size, mtime, ctime, inode). Reopening a workspace then reads the
 * stats, not the 2,000 files, and parses none of the unchanged ones: the YAML parse of the
 * policies was most of the time to a manifest's first complete diagnostics.
 *
 * Soundness: an entry is only used when every stat field is equal, and only files whose
 * last change (mtime and ctime) was at least RACY_MS before they were read are recorded, so
 * a change in the same clock tick as the read cannot hide behind an equal stat (git's racy
 * check). ctime cannot be set back by tools that restore mtimes. A value that JSON cannot
 * carry exactly (Infinity, NaN, -0, BigInt...) is never cached: the file is parsed again.
 * The cache belongs to one build of the server (`buildId`): another build may read YAML
 * differently. A missing, unreadable or malformed cache file is an empty cache.
 */
import { statSync, type Stats } from 'node:fs';
import type { JsonObject } from '../../engine/core/types';
import { isExactJson } from '../../engine/core/json';
import { fileURLToPath } from 'node:url';
import type { WorkspaceRole } from './service';
import type { CachedEntry, EntryCache } from './workspace';
import { readCacheFile, workspaceCacheFile, writeCacheFile } from './cache-files';

/** The format of the file; bumped when its shape changes. */
const FORMAT = 2;
/** How long before it was read a file must last have changed to be recorded. */
export const RACY_MS = 2000;
/** A cache larger than this is neither written nor read. */
const MAX_CACHE_BYTES = 64 * 1024 * 1024;

interface Record { stat: string; entry: CachedEntry | null }

interface CacheFile { format: number; buildId: string; files: { [path: string]: Record } }

function statKey(st: Stats): string {
  return `${st.size}:${st.mtimeMs}:${st.ctimeMs}:${st.ino}`;
}

export class ScanCache {
  private previous = new Map<string, Record>();
  private current = new Map<string, Record>();
  private changed = false;
  private scanning = false;
  /** Files answered from the cache, and files looked up but not found there (for tests and logs). */
  hits = 0;
  misses = 0;

  private constructor(private readonly file: string, private readonly buildId: string, private readonly racyMs: number) {}

  /**
   * The cache of the scan of `folders` stored under `dir`; `buildId` names the server build
   * (an entry written by another build is not used).
   */
  static open(dir: string, folders: readonly string[], buildId: string, opts: { racyMs?: number } = {}): ScanCache {
    const cache = new ScanCache(workspaceCacheFile(dir, 'workspace-scan', folders), buildId, opts.racyMs ?? RACY_MS);
    cache.load();
    return cache;
  }

  /** No cache yet, or one that cannot be read: the scan reads every file. */
  private load(): void {
    const data = readCacheFile<CacheFile>(this.file, { format: FORMAT, buildId: this.buildId }, MAX_CACHE_BYTES);
    if (!data?.files || typeof data.files !== 'object') return;
    for (const [path, r] of Object.entries(data.files)) {
      if (r && typeof r.stat === 'string' && isEntry(r.entry)) this.previous.set(path, r);
    }
  }

  /** The stored entry of a file whose stat is unchanged (null: it contributes nothing); undefined: unknown. */
  lookup(path: string, st: Stats): CachedEntry | null | undefined {
    const r = this.previous.get(path);
    if (!r || r.stat !== statKey(st)) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.current.set(path, r);
    return r.entry;
  }

  /** Records what a file read at `readAt` (ms since the epoch) contributed. */
  record(path: string, st: Stats, readAt: number, entry: CachedEntry | null): void {
    if (Math.max(st.mtimeMs, st.ctimeMs) > readAt - this.racyMs) return;
    if (entry && !entry.policies.every((p) => isExactJson(p.value))) return;
    this.current.set(path, { stat: statKey(st), entry });
    this.changed = true;
  }

  /**
   * Writes what this scan used and recorded (files gone since are dropped); nothing when it
   * matches the file already there. Returns whether it wrote. Errors are the caller's to log.
   */
  save(): boolean {
    // Once per scan: a second save (a delayed one) must not store an empty scan.
    if (!this.scanning) return false;
    this.scanning = false;
    if (!this.changed && this.current.size === this.previous.size) return false;
    const data: CacheFile = { format: FORMAT, buildId: this.buildId, files: Object.fromEntries(this.current) };
    if (!writeCacheFile(this.file, data, MAX_CACHE_BYTES)) return false;
    this.previous = this.current;
    this.current = new Map();
    this.changed = false;
    return true;
  }

  /** Starts the next scan: what it does not look up or record is dropped at its save. */
  beginScan(): void {
    this.scanning = true;
    this.current = new Map();
    this.changed = false;
  }
}

function isEntry(e: unknown): e is CachedEntry | null {
  if (e === null) return true;
  const x = e as CachedEntry;
  return Boolean(x) && Array.isArray(x.policies) && Array.isArray(x.crdKinds)
    && x.policies.every((p) => p && typeof p.value === 'object' && p.value !== null && (p.role === 'policy' || p.role === 'exception' || p.role === 'binding'))
    && x.crdKinds.every((k) => typeof k === 'string')
    && Array.isArray(x.crds) && x.crds.every((c) => c && typeof c.kind === 'string' && Array.isArray(c.versions))
    && (x.digests === undefined || (Array.isArray(x.digests) && x.digests.length === x.policies.length && x.digests.every((d) => d === null || typeof d === 'string')));
}

/**
 * The scan cache as the workspace index uses it (by URI): a lookup takes the file's stat, and
 * the record that follows a miss stores that stat with the time it was taken (before the read).
 */
export function diskEntryCache(cache: ScanCache): EntryCache {
  const pending = new Map<string, { path: string; st: Stats; readAt: number }>();
  return {
    beginScan: () => {
      pending.clear();
      cache.beginScan();
    },
    lookup(uri) {
      let path: string;
      let st: Stats;
      try {
        path = fileURLToPath(uri);
        st = statSync(path);
      } catch {
        return undefined;
      }
      const found = cache.lookup(path, st);
      if (found === undefined) pending.set(uri, { path, st, readAt: Date.now() });
      return found;
    },
    record(uri, entry) {
      const p = pending.get(uri);
      if (!p) return;
      pending.delete(uri);
      cache.record(p.path, p.st, p.readAt, entry);
    },
    save: () => {
      cache.save();
    },
  };
}
