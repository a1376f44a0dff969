/**
 * The workspace's policies, PolicyExceptions and admission policy bindings (files under the
 * workspace folders matching the `kyverno.policies` glob), kept current from disk events and
 * open documents. Each file is parsed once per version: an event re-reads that file only,
 * and the evaluation's PolicySet (with its kind index) is rebuilt once per workspace version
 * from the documents already parsed. The scan reads only files whose text can hold such a
 * document, and runs in slices so that requests (an opened manifest, completion) are served
 * in between; the first scan makes what it found usable as it goes.
 *
 * Files are listed and read through `WorkspaceFiles`: from disk in Node (`disk-files.ts`), and
 * through the client (VS Code's workspace file system) in the browser (`client-files.ts`), so
 * this module imports nothing of Node.
 */
import { compileGlob, type GlobMatcher } from '../../io/glob';
import { policySet, type WorkspacePolicy, type WorkspaceRole, type ParsedFile, type PolicySet } from './service';
import { ResourceSchemas, type CrdSchema } from './service/resource-schema';
import { EMPTY, entryOf, entryOfText, fromCached, mayContribute, toCached, type FileEntry } from './scan-entry';
import type { JsonObject } from '../../engine/core/types';
import { isExactJson } from '../../engine/core/json';

const SKIP_DIRS = new Set(['node_modules', '.git', 'dist', 'out', '.vscode-test']);
export const MAX_FILES = 5000;
export const MAX_DEPTH = 20;
/** Larger files are not read by the scan. */
export const MAX_FILE_BYTES = 2 * 1024 * 1024;

/** Folders the scan does not enter, by name: dependencies, build output, hidden folders. */
export function skippedFolder(name: string): boolean {
  return SKIP_DIRS.has(name) || name.startsWith('.');
}

/** Whether the scan looks at a file, by its '/'-separated path relative to its workspace folder. */
export function scannedPath(relative: string): boolean {
  const parts = relative.split('/');
  if (parts.length > MAX_DEPTH + 1 || !/\.ya?ml$/.test(parts[parts.length - 1])) return false;
  return !parts.slice(0, -1).some(skippedFolder);
}

/**
 * A URI's '/'-separated path relative to the first of `folders` (URIs) holding it, decoded;
 * undefined outside them. Both sides come from the same client, so they are encoded alike.
 */
export function relativeToFolders(folders: string[], uri: string): string | undefined {
  const path = uri.replace(/[?#].*$/s, '');
  for (const folder of folders) {
    const base = folder.endsWith('/') ? folder : `${folder}/`;
    if (path.length <= base.length || !path.startsWith(base)) continue;
    try {
      return path.slice(base.length).split('/').map(decodeURIComponent).join('/');
    } catch {
      return undefined; // malformed escape
    }
  }
  return undefined;
}

/** How the index reaches the workspace's files (disk in Node, the client's file system in a browser). */
export interface WorkspaceFiles {
  /**
   * The URIs of the YAML files of the workspace folders whose folder-relative '/'-path `keep`
   * accepts, at most `max`, leaving out the folders `skippedFolder` names.
   */
  list(keep: (relative: string) => boolean, max: number): Promise<string[]>;
  /** A file's text; undefined when it cannot be read or is larger than MAX_FILE_BYTES. */
  read(uri: string): Promise<string | undefined>;
  /** A file's '/'-separated path relative to the workspace folder holding it; undefined outside them. */
  relative(uri: string): string | undefined;
  /** What files contributed in earlier scans, kept across server starts (Node: server/src/scan-cache.ts). */
  cache?: EntryCache;
  /** Manifest diagnostics kept across server starts (Node: server/src/result-store.ts). */
  results?: ResultStore;
  /**
   * Parsers beside the index's thread for a scan with many files to parse (Node: worker
   * threads, server/src/scan-workers.ts); undefined: the scan parses in its own thread.
   */
  parsers?: () => EntryParser | undefined;
}

/** Parses workspace files elsewhere with the index's own code (`scan-entry.ts`). */
export interface EntryParser {
  /** `toCached(entryOfText(uri, text))`, computed elsewhere; rejects when it could not be (the index then parses the file itself). */
  parse(uri: string, text: string): Promise<CachedEntry | null>;
  /** The scan is over. */
  release(): void;
}

/**
 * Manifest evaluation results by document, each under the digest of the inputs it was computed
 * from; the server publishes one only when the digest of the current inputs is equal.
 */
export interface ResultStore {
  /** A digest of `material` (and of the server build): equal only for equal material. */
  key(material: string): string;
  /** Whether a result is stored for the document (from any inputs). */
  has(uri: string): boolean;
  /** The diagnostics stored for the document under `key`; undefined when none or another key. */
  get(uri: string, key: string): unknown[] | undefined;
  put(uri: string, key: string, diagnostics: unknown[]): void;
  /** Writes what is pending (at shutdown). */
  flush(): void;
}

/** What a file contributes to the index, as a scan cache stores it. */
export interface CachedEntry {
  policies: Array<{ value: JsonObject; role: WorkspaceRole }>;
  crdKinds: string[];
  /** The CRDs' schemas (expression completion and hover). */
  crds: CrdSchema[];
  /**
   * Per policy, the `ResultStore.key` of its value's JSON (null: JSON cannot carry it
   * exactly), when results are stored: a reopened workspace then digests its policies
   * without serializing them.
   */
  digests?: Array<string | null>;
}

/** A persistent cache of the scan (see server/src/scan-cache.ts for when an entry is trusted). */
export interface EntryCache {
  /** A scan starts: what it neither looks up nor records is dropped at its save. */
  beginScan(): void;
  /** The stored entry of a file unchanged since (null: it contributes nothing); undefined: unknown. */
  lookup(uri: string): CachedEntry | null | undefined;
  /** What the file just read (after a lookup that missed) contributes. */
  record(uri: string, entry: CachedEntry | null): void;
  /** Stores the completed scan; errors are the caller's to report. */
  save(): void;
}
/** Longest stretch of scanning before the scan lets queued requests run. */
const SLICE_MS = 15;
/** Scanning time before the first scan first reports the policies found so far (then twice that...). */
const PROGRESS_MS = 150;
/** Files a scan parses in its own thread before it starts parsers beside it (a few are not worth a worker's start). */
const PARALLEL_AFTER = 16;
/** Files read ahead of the one the scan waits for while parsers work on them. */
const READ_AHEAD = 256;
/** Wait after a completed scan before its cache is written. */
const SAVE_DELAY_MS = 1000;

/** The default `kyverno.policies`: also what an unusable setting falls back to. */
export const DEFAULT_POLICIES_GLOB = '**/*.{yaml,yml}';

function matcherFor(glob: string): GlobMatcher {
  try {
    return compileGlob(glob);
  } catch {
    return compileGlob(DEFAULT_POLICIES_GLOB);
  }
}

/** A file of a scan on its way into the index. */
interface ScanItem {
  uri: string;
  /** What it contributes (once `done`); undefined: nothing. */
  entry?: FileEntry;
  /** Settles when a parser beside this thread has answered. */
  parsed?: Promise<void>;
  done: boolean;
  /** Read from its file (not answered from the scan cache). */
  fromFile: boolean;
}

/** What a scan's file reads need of the scan. */
interface ScanRun {
  superseded(): boolean;
  /** A parser for the next file to parse; undefined: parse it in this thread. */
  parser(): EntryParser | undefined;
}

export class WorkspaceIndex {
  private byUri = new Map<string, FileEntry>();
  /** Open documents: their buffer, not the disk, is the truth (a scan leaves them alone). */
  private buffers = new Set<string>();
  private matcher: GlobMatcher;
  private set: { version: number; value: PolicySet } | undefined;
  private schemas: { version: number; value: ResourceSchemas } | undefined;
  /** Bumped by every scan: a slower, older scan stops when a newer one starts. */
  private scanGeneration = 0;
  /** Whether a first scan has completed (before it, the workspace's policies are unknown). */
  ready = false;
  /** Whether the first scan reported progress (open manifests were evaluated with part of the policies). */
  progressed = false;
  private digest: { version: number; value: string | null } | undefined;
  private digests = new WeakMap<JsonObject, string | null>();
  /** Entries the scan recorded in the cache without their digests yet. */
  private undigested: Array<{ cached: CachedEntry; values: JsonObject[] }> = [];
  version = 0;

  constructor(private files: WorkspaceFiles, glob = DEFAULT_POLICIES_GLOB) {
    this.matcher = matcherFor(glob);
  }

  setGlob(glob: string): void {
    this.matcher = matcherFor(glob);
  }

  accepts(uri: string): boolean {
    const rel = this.files.relative(uri);
    return rel !== undefined && this.matcher.test(rel);
  }

  /**
   * A file of the scan: its entry from the scan cache, or read and parsed, here or (a scan
   * with many files to parse) by a parser beside this thread: `parsed` then settles when
   * `entry` is set. Unreadable files and open documents contribute nothing.
   */
  private async readEntry(uri: string, scan: ScanRun): Promise<ScanItem> {
    const item: ScanItem = { uri, fromFile: false, done: true };
    if (this.buffers.has(uri)) return item;
    try {
      const cached = this.files.cache?.lookup(uri);
      const results = this.files.results;
      if (cached !== undefined) {
        const entry = fromCached(uri, cached);
        if (results && cached?.digests?.length === entry.policies.length) entry.policies.forEach((p, i) => this.digests.set(p.value, cached.digests![i]));
        item.entry = entry;
        return item;
      }
      item.fromFile = true;
      const text = await this.files.read(uri);
      if (text === undefined || this.buffers.has(uri)) return item;
      const parser = mayContribute(text) ? scan.parser() : undefined;
      if (!parser) {
        item.entry = this.recorded(uri, entryOfText(uri, text));
        return item;
      }
      item.done = false;
      item.parsed = parser.parse(uri, text).then(
        (entry) => this.recorded(uri, fromCached(uri, entry)),
        // The parser failed: this thread parses the file (unless a newer scan took over).
        () => (scan.superseded() ? undefined : this.recorded(uri, entryOfText(uri, text))),
      ).then((entry) => {
        item.entry = entry;
      }, () => undefined).finally(() => {
        item.done = true;
      });
      return item;
    } catch {
      return item; // unreadable file: skipped
    }
  }

  /** A file's entry just read, recorded in the scan cache (its digests are added when the cache is saved, after the first evaluations). */
  private recorded(uri: string, entry: FileEntry): FileEntry {
    const record = toCached(entry);
    if (record && this.files.results) this.undigested.push({ cached: record, values: entry.policies.map((p) => p.value) });
    this.files.cache?.record(uri, record);
    return entry;
  }

  /** A workspace file's text as the scan reads it (undefined: unreadable, too large or gone). */
  read(uri: string): Promise<string | undefined> {
    return this.files.read(uri);
  }

  /** The scan's result replaces the disk files' entries; open buffers keep theirs. */
  private install(found: Map<string, FileEntry>): void {
    for (const uri of this.buffers) {
      const own = this.byUri.get(uri);
      if (own) found.set(uri, own);
    }
    this.byUri = found;
    this.ready = true;
    this.version++;
  }

  /**
   * The same scan in slices of at most SLICE_MS, yielding to the event loop in between so
   * requests are answered while it runs. The first scan fills the index as it goes, and calls
   * `progress` after PROGRESS_MS of scanning, then twice that... (so open manifests can be evaluated with the policies
   * found so far, then again when the scan completes); a later scan (a new glob) builds aside
   * and swaps at the end, so results do not flicker. Resolves false when a newer scan
   * superseded it.
   */
  async scanInSlices(progress?: () => void): Promise<boolean> {
    const generation = ++this.scanGeneration;
    // A macrotask (setTimeout, as browsers have no setImmediate) lets queued messages run.
    const yieldNow = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
    await yieldNow();
    if (generation !== this.scanGeneration) return false;
    const incremental = !this.ready;
    this.files.cache?.beginScan();
    this.undigested = [];
    const found = new Map<string, FileEntry>();
    const uris = await this.files.list((rel) => this.matcher.test(rel), MAX_FILES);
    if (generation !== this.scanGeneration) return false;
    let sliceStart = performance.now();
    // Progress is reported after 150, 300, 600... ms of reading files (work, not waiting),
    // so the evaluations it triggers cannot take over from the scan. Files answered from the
    // scan cache do not count: a scan made of them ends soon (a busy machine only makes it
    // longer), and an evaluation with part of the policies would delay the complete one.
    let reading = 0;
    let nextReport = PROGRESS_MS;
    const report = () => {
      if (incremental && progress && reading >= nextReport) {
        this.version++;
        this.progressed = true;
        progress();
        nextReport *= 2;
      }
    };
    // Parsers beside this thread, started once the scan has PARALLEL_AFTER files to parse.
    let parser: EntryParser | null | undefined;
    let toParse = 0;
    const run: ScanRun = {
      superseded: () => generation !== this.scanGeneration,
      parser: () => {
        if (++toParse <= PARALLEL_AFTER || !this.files.parsers) return undefined;
        if (parser === undefined) parser = this.files.parsers() ?? null;
        return parser ?? undefined;
      },
    };
    // Files enter the index in the listing's order (the order of the policies is the
    // evaluation's); one being parsed elsewhere holds back those after it, up to READ_AHEAD.
    const queue: ScanItem[] = [];
    const take = async (item: ScanItem): Promise<boolean> => {
      if (!item.done) {
        report();
        const waitStart = performance.now();
        await item.parsed;
        // The parsers' work on the files ahead of this one.
        reading += performance.now() - waitStart;
        if (run.superseded()) return false;
        sliceStart = performance.now();
      }
      if (item.entry && item.entry !== EMPTY && !this.buffers.has(item.uri)) {
        found.set(item.uri, item.entry);
        if (incremental) this.byUri.set(item.uri, item.entry);
      }
      return true;
    };
    try {
      for (const uri of uris) {
        if (performance.now() - sliceStart > SLICE_MS) {
          report();
          await yieldNow();
          if (run.superseded()) return false;
          sliceStart = performance.now();
        }
        const readStart = performance.now();
        const item = await this.readEntry(uri, run);
        if (item.fromFile) reading += performance.now() - readStart;
        if (run.superseded()) return false;
        queue.push(item);
        while (queue.length && (queue[0].done || queue.length > READ_AHEAD)) {
          if (!(await take(queue.shift()!))) return false;
        }
      }
      for (const item of queue) if (!(await take(item))) return false;
    } finally {
      if (parser) parser.release();
    }
    this.install(found);
    // After the evaluations the completed scan triggers: writing is not on their path.
    if (this.files.cache) setTimeout(() => this.saveCache(), SAVE_DELAY_MS);
    return true;
  }

  /** Stores the completed scan's cache; a failure to write only costs the next start its speed. */
  saveCache(): void {
    try {
      const results = this.files.results;
      if (results) for (const { cached, values } of this.undigested) cached.digests = values.map((v) => this.policyDigest(v, results));
      this.undigested = [];
      this.files.cache?.save();
    } catch (e) {
      this.onCacheError?.(e as Error);
    }
  }

  /** Told when the scan cache cannot be written. */
  onCacheError?: (e: Error) => void;

  /** Re-reads one file's policies (text, or an already parsed file); returns whether they changed. */
  update(uri: string, content: string | ParsedFile | undefined): boolean {
    const before = this.byUri.get(uri) ?? EMPTY;
    let entry = EMPTY;
    if (content !== undefined && this.accepts(uri)) entry = typeof content === 'string' ? entryOfText(uri, content) : entryOf(content);
    if (entry === EMPTY) this.byUri.delete(uri);
    else this.byUri.set(uri, entry);
    const changed = JSON.stringify(before) !== JSON.stringify(entry);
    if (changed) this.version++;
    // Unchanged: the previous objects stay, and with them the evaluation's caches.
    else if (before !== EMPTY) this.byUri.set(uri, before);
    return changed;
  }

  /** An open document's buffer: it is the truth for this file until closed. */
  updateBuffer(uri: string, file: ParsedFile): boolean {
    this.buffers.add(uri);
    return this.update(uri, file);
  }

  /** The document was closed: the file on disk applies again (undefined when it is gone). */
  closeBuffer(uri: string, text: string | undefined): boolean {
    this.buffers.delete(uri);
    return this.update(uri, text);
  }

  policies(): WorkspacePolicy[] {
    return [...this.byUri.values()].flatMap((e) => e.policies);
  }

  /** The workspace's documents sorted for evaluation, built once per version. */
  policySet(): PolicySet {
    if (this.set?.version !== this.version) this.set = { version: this.version, value: policySet(this.policies()) };
    return this.set.value;
  }

  /**
   * The digest (`ResultStore.key`) of everything of the workspace that manifest evaluation
   * reads: the policies, exceptions and bindings in evaluation order, as JSON; null when a
   * value JSON cannot carry exactly (the text would not tell it from another). Once per version.
   */
  evaluationDigest(store: ResultStore): string | null {
    if (this.digest?.version !== this.version) this.digest = { version: this.version, value: this.digestOf(store) };
    return this.digest.value;
  }

  /** One document's digest, once per object. */
  private policyDigest(value: JsonObject, store: ResultStore): string | null {
    let digest = this.digests.get(value);
    if (digest === undefined) this.digests.set(value, (digest = isExactJson(value) ? store.key(JSON.stringify(value)) : null));
    return digest;
  }

  private digestOf(store: ResultStore): string | null {
    const set = this.policySet();
    // Per document (objects are immutable, and an unchanged file keeps its objects), so an
    // edited policy costs the digest of that policy only.
    const parts: string[] = [];
    for (const group of [set.policies, set.exceptions, set.bindings]) {
      for (const value of group) {
        const digest = this.policyDigest(value, store);
        if (digest === null) return null;
        parts.push(digest);
      }
      parts.push('/');
    }
    return store.key(parts.join(' '));
  }

  /** Built-in kinds and the workspace's CRDs, for expressions that read the object (once per version). */
  resourceSchemas(): ResourceSchemas {
    if (this.schemas?.version !== this.version) this.schemas = { version: this.version, value: new ResourceSchemas([...this.byUri.values()].flatMap((e) => e.crds)) };
    return this.schemas.value;
  }

  crdKinds(): string[] {
    return [...new Set([...this.byUri.values()].flatMap((e) => e.crdKinds))];
  }
}
