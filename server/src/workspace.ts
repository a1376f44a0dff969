/**
 * The workspace's policies, PolicyExceptions and admission policy bindings (files under the
 * workspace folders matching the `kyverno.policies` glob), kept current from disk events and
 * open documents. Each file is parsed once per version: an event re-reads that file only,
 * and the evaluation's PolicySet (with its kind index) is rebuilt once per workspace version
 * from the documents already parsed. The scan reads only files whose text can hold such a
 * document, and runs in slices so that requests (an opened manifest, completion) are served
 * in between; the first scan makes what it found usable as it goes.
 */
import { readFileSync, statSync } from 'node:fs';
import type { ScanCache, CachedEntry } from './scan-cache';
import { relative, sep } from 'node:path';
import { walkFiles } from '../../io/walk';
import { compileGlob, type GlobMatcher } from '../../io/glob';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { mayHoldEvaluationDocuments } from '../../engine/loader/classify';
import { parseFile, workspacePolicies, policySet, type WorkspacePolicy, type ParsedFile, type PolicySet } from './service';

const SKIP_DIRS = new Set(['node_modules', '.git', 'dist', 'out', '.vscode-test']);
const MAX_FILES = 5000;
const MAX_DEPTH = 20;
const MAX_FILE_BYTES = 2 * 1024 * 1024;
/** Longest stretch of scanning before the scan lets queued requests run. */
const SLICE_MS = 15;
/** Scanning time before the first scan first reports the policies found so far (then twice that...). */
const PROGRESS_MS = 150;
/** Wait after a sliced scan before its cache is written. */
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

/** What a workspace file contributes. */
interface FileEntry { policies: WorkspacePolicy[]; crdKinds: string[] }

const EMPTY: FileEntry = { policies: [], crdKinds: [] };

function entryOf(file: ParsedFile | undefined): FileEntry {
  if (!file) return EMPTY;
  const crdKinds: string[] = [];
  for (const pd of file.docs) {
    if (pd.apiVersion === 'apiextensions.k8s.io/v1' && pd.kind === 'CustomResourceDefinition') {
      const k = (pd.value as { spec?: { names?: { kind?: string } } })?.spec?.names?.kind;
      if (typeof k === 'string' && k) crdKinds.push(k);
    }
  }
  const policies = workspacePolicies(file);
  return policies.length || crdKinds.length ? { policies, crdKinds } : EMPTY;
}

/** A file's entry from its text, parsing only a text that can contribute. */
function entryOfText(uri: string, text: string): FileEntry {
  if (!mayHoldEvaluationDocuments(text) && !text.includes('CustomResourceDefinition')) return EMPTY;
  return entryOf(parseFile(uri, text));
}

function toCached(entry: FileEntry): CachedEntry | null {
  return entry === EMPTY ? null : { policies: entry.policies.map((p) => ({ value: p.value, role: p.role })), crdKinds: entry.crdKinds };
}

function fromCached(uri: string, cached: CachedEntry | null): FileEntry {
  return cached ? { policies: cached.policies.map((p) => ({ uri, value: p.value, role: p.role })), crdKinds: cached.crdKinds } : EMPTY;
}

export class WorkspaceIndex {
  private byUri = new Map<string, FileEntry>();
  /** Open documents: their buffer, not the disk, is the truth (a scan leaves them alone). */
  private buffers = new Set<string>();
  private matcher: GlobMatcher;
  private set: { version: number; value: PolicySet } | undefined;
  /** Bumped by every scan: a slower, older scan stops when a newer one starts. */
  private scanGeneration = 0;
  /** Whether a first scan has completed (before it, the workspace's policies are unknown). */
  ready = false;
  version = 0;

  /** `cache`: the persistent scan cache (files whose stat did not change are not read again). */
  constructor(private folders: string[], glob = DEFAULT_POLICIES_GLOB, private readonly cache?: ScanCache) {
    this.matcher = matcherFor(glob);
  }

  setGlob(glob: string): void {
    this.matcher = matcherFor(glob);
  }

  accepts(uri: string): boolean {
    if (!uri.startsWith('file:')) return false;
    const path = fileURLToPath(uri);
    return this.folders.some((f) => {
      const rel = relative(f, path);
      return !rel.startsWith('..') && this.matcher.test(rel.split(sep).join('/'));
    });
  }

  /** The files of the folders the glob selects (the shared walker: each real folder once, capped). */
  private files(): string[] {
    const out: string[] = [];
    for (const folder of this.folders) {
      const left = MAX_FILES - out.length;
      if (left <= 0) break;
      out.push(...walkFiles(folder, {
        keep: (name, rel) => /\.ya?ml$/.test(name) && this.matcher.test(rel),
        skipDir: (name) => SKIP_DIRS.has(name) || name.startsWith('.'),
        maxFiles: left,
        maxDepth: MAX_DEPTH,
      }).files);
    }
    return out;
  }

  private readEntry(path: string): [string, FileEntry] | undefined {
    try {
      const st = statSync(path);
      if (st.size > MAX_FILE_BYTES) return undefined;
      const uri = pathToFileURL(path).toString();
      if (this.buffers.has(uri)) return undefined;
      const cached = this.cache?.lookup(path, st);
      let entry: FileEntry;
      if (cached !== undefined) {
        entry = fromCached(uri, cached);
      } else {
        const readAt = Date.now();
        entry = entryOfText(uri, readFileSync(path, 'utf8'));
        this.cache?.record(path, st, readAt, toCached(entry));
      }
      return entry === EMPTY ? undefined : [uri, entry];
    } catch {
      return undefined; // unreadable file: skipped
    }
  }

  /** Stores the completed scan's cache; a failure to write only costs the next start its speed. */
  private saveCache(): void {
    try {
      this.cache?.save();
    } catch (e) {
      this.onCacheError?.(e as Error);
    }
  }

  /** Told when the scan cache cannot be written. */
  onCacheError?: (e: Error) => void;

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

  /** Reads every policy file of the folders at once. */
  scan(): void {
    this.scanGeneration++;
    this.cache?.beginScan();
    const found = new Map<string, FileEntry>();
    for (const path of this.files()) {
      const e = this.readEntry(path);
      if (e) found.set(...e);
    }
    this.install(found);
    this.saveCache();
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
    const yieldNow = () => new Promise<void>((resolve) => setImmediate(resolve));
    await yieldNow();
    if (generation !== this.scanGeneration) return false;
    const incremental = !this.ready;
    this.cache?.beginScan();
    const found = new Map<string, FileEntry>();
    const paths = this.files();
    let sliceStart = performance.now();
    // Progress is reported after 150, 300, 600... ms of scanning (work, not waiting), so
    // the evaluations it triggers cannot take over from the scan.
    let scanned = 0;
    let nextReport = PROGRESS_MS;
    for (const path of paths) {
      if (performance.now() - sliceStart > SLICE_MS) {
        scanned += performance.now() - sliceStart;
        if (incremental && progress && scanned >= nextReport) {
          this.version++;
          progress();
          nextReport *= 2;
        }
        await yieldNow();
        if (generation !== this.scanGeneration) return false;
        sliceStart = performance.now();
      }
      const e = this.readEntry(path);
      if (!e) continue;
      found.set(...e);
      if (incremental) this.byUri.set(...e);
    }
    this.install(found);
    // After the evaluations the completed scan triggers: writing is not on their path.
    setTimeout(() => this.saveCache(), SAVE_DELAY_MS).unref?.();
    return true;
  }

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

  crdKinds(): string[] {
    return [...new Set([...this.byUri.values()].flatMap((e) => e.crdKinds))];
  }
}
