/**
 * The LSP adapter: wires the pure language service (./service) to a vscode-languageserver
 * connection. It runs in Node (`main.ts`: the extension's server process and
 * `kyverno-studio lsp --stdio`) and in a browser's Web Worker (`browser-main.ts`); what differs
 * between them (reaching the workspace's files, registry access) comes in as a `ServerHost`, so
 * this module imports nothing of Node. `vscode-languageserver` resolves to its Node or browser
 * build by the bundle's platform (its package.json's `browser` field).
 */
import {
  TextDocuments,
  TextDocumentSyncKind,
  DidChangeWatchedFilesNotification,
  type InitializeParams,
  type InitializeResult,
  type CodeAction,
  type Connection,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import {
  parseFile,
  validateFile,
  complete,
  hover,
  documentSymbols,
  foldingRanges,
  definition,
  manifestDocuments,
  manifestResources,
  mutationEdit,
  ManifestResults,
  Codes,
  type ParsedFile,
  type MutationData,
  type Diagnostic,
} from './service';
import { internalErrorDiagnostic, runCheck } from './service/guard';
import { WorkspaceIndex, type ResultStore, type WorkspaceFiles } from './workspace';
import { reparseFile } from './service/reparse';
import { WORKSPACE_TRUSTED } from './protocol';
import type { ImageRegistrySnapshot } from '../../engine/verify-images';
import type { JsonObject } from '../../engine/core/types';

/** Reading OCI registries for the images manifests' policies verify (Node only). */
export interface RegistryAccess {
  /** The images the policies would verify in these resources, by reference. */
  images(policies: readonly JsonObject[], resources: readonly JsonObject[]): ReadonlySet<string>;
  prefetch(policies: readonly JsonObject[], resources: readonly JsonObject[]): Promise<ImageRegistrySnapshot>;
}

/** What the server needs from where it runs. */
export interface ServerHost {
  /**
   * The workspace's files, for the workspace folders' URIs the client sent in `initialize`;
   * `cacheDir`: a folder the client gave for the scan cache (the extension's storage).
   */
  files(folders: string[], connection: Connection, cacheDir?: string): WorkspaceFiles;
  /** Absent: the `kyverno.registryAccess` setting has no effect (the browser build). */
  registry?: RegistryAccess;
}

export interface ServerSettings {
  /** Glob (relative to each workspace folder) selecting the files whose policies apply to manifests. */
  policies: string;
  /**
   * Longest wait after an edit before validating (edits in between restart it). The wait
   * adapts: none when the document's recent validations took under 100 ms (the median of
   * the last few, so one slow run, a garbage collection, does not delay the next edit),
   * else that time, capped by this value, so a slow file is not re-checked on every keystroke.
   */
  debounceMs: number;
  /** Manifest diagnostics may read OCI registries (image signatures); off by default, never in an untrusted workspace. */
  registryAccess: boolean;
}

/** Validations whose durations set the wait after an edit (see ServerSettings.debounceMs). */
const COSTS_KEPT = 5;

function median(values: readonly number[]): number {
  if (!values.length) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const WARM_UP = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: warm-up
spec:
  rules:
  - name: r
    match:
      any:
      - resources:
          kinds: [Pod]
    validate:
      message: "{{ to_upper(request.object.metadata.name) }}"
      cel:
        expressions:
        - expression: "object.metadata.name.size() < 64"
`;

const DEFAULT_SETTINGS: ServerSettings = { policies: '**/*.{yaml,yml}', debounceMs: 150, registryAccess: false };

export function runServer(connection: Connection, host: ServerHost): void {
  const documents = new TextDocuments(TextDocument);
  const parsed = new Map<string, { version: number; file: ParsedFile }>();
  const timers = new Map<string, ReturnType<typeof setTimeout>>();
  /** Per document, the durations of its last validations (newest last, at most COSTS_KEPT). */
  const costs = new Map<string, number[]>();
  let settings: ServerSettings = { ...DEFAULT_SETTINGS };
  let index = new WorkspaceIndex(host.files([], connection));
  /** Manifest diagnostics kept from earlier server runs (the Node host with a cache folder). */
  let results: ResultStore | undefined;
  /**
   * Open documents whose stored result was consulted (once the first scan completed): a stored
   * result is published at most once per opened document, before its first live evaluation
   * with the whole workspace.
   */
  const storeConsulted = new Set<string>();
  const manifests = new ManifestResults();
  let canWatch = false;
  let canConfigure = false;
  /** Whether the client said the workspace is trusted; unknown clients are not. */
  let trusted = false;
  /** Per document: the registry snapshot for its images (by the set of images), or the read under way. */
  const snapshots = new Map<string, { key: string; snapshot?: ImageRegistrySnapshot }>();

  /**
   * The registry snapshot for a file's manifests when registry access is on in a trusted
   * workspace. The first time (or when the images change) the registry is read in the
   * background and the file validated again once it answers; until then evaluation is offline.
   */
  function registrySnapshot(uri: string, file: ParsedFile): ImageRegistrySnapshot | undefined {
    const registry = host.registry;
    if (!registry || !settings.registryAccess || !trusted) return undefined;
    const policies = index.policies().map((w) => w.value);
    const resources = manifestResources(file);
    const images = registry.images(policies, resources);
    if (images.size === 0) return undefined;
    const key = [...images].sort().join('\n');
    const hit = snapshots.get(uri);
    if (hit?.key === key) return hit.snapshot;
    snapshots.set(uri, { key });
    registry.prefetch(policies, resources).then((snapshot) => {
      const entry = snapshots.get(uri);
      if (entry?.key !== key) return;
      entry.snapshot = snapshot;
      schedule(uri, 0);
    }, (e) => log(`registry read for ${uri} failed: ${(e as Error).message}`));
    return undefined;
  }

  function parse(doc: TextDocument): ParsedFile {
    const hit = parsed.get(doc.uri);
    if (hit && hit.version === doc.version) return hit.file;
    // The previous version's AST is reused (and consumed) by the incremental re-parse; should
    // it fail, a fresh parse of the text gives the same answer.
    let file: ParsedFile;
    try {
      file = hit ? reparseFile(hit.file, doc.getText()) : parseFile(doc.uri, doc.getText());
    } catch (e) {
      connection.console.error(`incremental re-parse failed: ${(e as Error).stack ?? e}`);
      file = parseFile(doc.uri, doc.getText());
    }
    parsed.set(doc.uri, { version: doc.version, file });
    return file;
  }

  const log = (message: string) => connection.console.error(message);

  /**
   * A workspace file changed on disk or its buffer closed: its policies are read again from
   * the file (unless a buffer for it is open by the time the read answers: the buffer wins).
   */
  async function reloadFromFiles(uris: string[]): Promise<void> {
    let changed = false;
    for (const uri of uris) {
      if (documents.get(uri)) continue;
      const text = await index.read(uri).catch(() => undefined);
      if (documents.get(uri)) continue;
      changed = safe('policy reload', false, () => index.closeBuffer(uri, text)) || changed;
    }
    if (changed) revalidateManifests();
  }

  function safe<T>(what: string, fallback: T, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      connection.console.error(`${what} failed: ${(e as Error).stack ?? e}`);
      return fallback;
    }
  }

  function validateNow(uri: string): void {
    const doc = documents.get(uri);
    if (!doc) return;
    const started = performance.now();
    let policiesChanged = false;
    let diagnostics: Diagnostic[] = [];
    // Each stage on its own: an internal error is one diagnostic, never an empty list.
    try {
      const file = parse(doc);
      runCheck(file, 0, 'validation', diagnostics, () => diagnostics.push(...validateFile(file, { log, resourceSchemas: index.resourceSchemas() })), log);
      if (index.accepts(uri)) policiesChanged = safe('policy index', false, () => index.updateBuffer(uri, file));
      // During the first workspace scan, with the policies found so far (scanWorkspace
      // evaluates again as it progresses and when it completes).
      runCheck(file, 0, 'the evaluation of workspace policies', diagnostics, () => {
        if (manifestDocuments(file).length) diagnostics.push(...manifestDiagnostics(uri, file));
      }, log);
    } catch (e) {
      log(`parsing ${uri} failed: ${(e as Error).stack ?? e}`);
      diagnostics = [internalErrorDiagnostic(parseFile(uri, ''), 0, 'parsing', e)];
    }
    const recent = costs.get(uri) ?? [];
    recent.push(performance.now() - started);
    if (recent.length > COSTS_KEPT) recent.shift();
    costs.set(uri, recent);
    connection.sendDiagnostics({ uri, version: doc.version, diagnostics: diagnostics as never });
    if (policiesChanged) revalidateManifests(uri);
  }

  /**
   * The digest of everything a document's manifest diagnostics are computed from: its URI and
   * text, the workspace's policies, exceptions and bindings (once the first scan completed) and
   * this server build. Undefined when results are not kept: no store, the scan not complete,
   * a value JSON cannot carry exactly, or registry reads taking part (their answers change
   * without the inputs changing).
   */
  function resultKey(uri: string, file: ParsedFile): string | undefined {
    if (!results || !resultsKept()) return undefined;
    const workspace = index.evaluationDigest(results);
    return workspace === null ? undefined : results.key(JSON.stringify([uri, file.text, workspace]));
  }

  /** Whether results can be stored and looked up now (see resultKey). */
  function resultsKept(): boolean {
    return index.ready && !(host.registry && settings.registryAccess && trusted);
  }

  /**
   * A document's manifest diagnostics. Reopened, a document whose inputs are those of a stored
   * result publishes it at once, and is evaluated live right after (which replaces it: policies
   * that read the clock may answer differently now). Every live evaluation on the complete
   * workspace is stored.
   */
  function manifestDiagnostics(uri: string, file: ParsedFile): Diagnostic[] {
    if (results && !storeConsulted.has(uri)) {
      const key = resultKey(uri, file);
      if (key) storeConsulted.add(uri);
      const stored = key ? results.get(uri, key) : undefined;
      if (stored) {
        schedule(uri, 0);
        return stored as Diagnostic[];
      }
      // A stored result may apply once the scan completes (it validates the document again
      // then): with the scan cache that takes a few milliseconds, and evaluating with part
      // of the policies first would delay it by a cold evaluation.
      if (!index.ready && !index.progressed && results.has(uri)) return [];
    }
    const out = manifests.diagnostics(file, index.policySet(), registrySnapshot(uri, file));
    if (results && resultsKept()) storeLater(uri, file, out);
    return out;
  }

  /**
   * Stores a result after it is published (digesting a cold workspace is not on the way to
   * the diagnostics), unless the inputs changed meanwhile: then the key would not be theirs.
   */
  function storeLater(uri: string, file: ParsedFile, diagnostics: Diagnostic[]): void {
    const version = index.version;
    setTimeout(() => {
      if (index.version !== version || parsed.get(uri)?.file !== file) return;
      const key = safe('storing results', undefined, () => resultKey(uri, file));
      if (key) results?.put(uri, key, diagnostics);
    }, 0);
  }

  /** Cheap documents are validated on the next tick (which still coalesces queued edits). */
  function delayFor(uri: string): number {
    const cost = median(costs.get(uri) ?? []);
    return cost < 100 ? 0 : Math.min(settings.debounceMs, cost);
  }

  function schedule(uri: string, delay = delayFor(uri)): void {
    clearTimeout(timers.get(uri));
    timers.set(uri, setTimeout(() => {
      timers.delete(uri);
      validateNow(uri);
    }, delay));
  }

  /**
   * A policy changed: manifests that use it must be re-evaluated (those whose candidate
   * policies did not change reuse their results, see ManifestResults).
   */
  function revalidateManifests(except?: string, delay = settings.debounceMs): void {
    for (const d of documents.all()) {
      if (d.uri === except) continue;
      const file = parsed.get(d.uri)?.file;
      if (!file || manifestDocuments(file).length) schedule(d.uri, delay);
    }
  }

  /**
   * Scans the workspace in slices (requests are served meanwhile); open manifests are
   * evaluated with the policies found so far while the first scan runs, and once it completes.
   */
  function scanWorkspace(): void {
    index.scanInSlices(() => revalidateManifests(undefined, 0)).then((completed) => {
      if (completed) revalidateManifests(undefined, 0);
    }, (e) => log(`workspace scan failed: ${(e as Error).stack ?? e}`));
  }

  async function loadSettings(): Promise<void> {
    if (!canConfigure) return;
    const s = (await connection.workspace.getConfiguration('kyverno').catch(() => undefined)) as Partial<ServerSettings> | undefined;
    applySettings(s);
  }

  function applySettings(s: Partial<ServerSettings> | undefined): void {
    if (!s) return;
    const glob = typeof s.policies === 'string' && s.policies ? s.policies : settings.policies;
    const changed = glob !== settings.policies;
    const registryChanged = typeof s.registryAccess === 'boolean' && s.registryAccess !== settings.registryAccess;
    settings = {
      policies: glob,
      debounceMs: typeof s.debounceMs === 'number' ? s.debounceMs : settings.debounceMs,
      registryAccess: typeof s.registryAccess === 'boolean' ? s.registryAccess : settings.registryAccess,
    };
    if (registryChanged) {
      snapshots.clear();
      if (!changed) revalidateManifests();
    }
    if (changed) {
      index.setGlob(glob);
      scanWorkspace();
    }
  }

  connection.onInitialize((params: InitializeParams): InitializeResult => {
    const folders = (params.workspaceFolders ?? []).map((f) => f.uri);
    if (!folders.length && params.rootUri) folders.push(params.rootUri);
    const init = (params.initializationOptions ?? {}) as { settings?: Partial<ServerSettings>; trusted?: boolean; cacheDir?: unknown };
    if (init.settings) settings = { ...settings, ...init.settings };
    trusted = init.trusted === true;
    const cacheDir = typeof init.cacheDir === 'string' && init.cacheDir ? init.cacheDir : undefined;
    const files = safe('scan cache', host.files(folders, connection), () => host.files(folders, connection, cacheDir));
    results = files.results;
    index = new WorkspaceIndex(files, settings.policies);
    index.onCacheError = (e) => log(`writing the workspace scan cache failed: ${e.message}`);
    canWatch = Boolean(params.capabilities.workspace?.didChangeWatchedFiles?.dynamicRegistration);
    canConfigure = Boolean(params.capabilities.workspace?.configuration);
    return {
      capabilities: {
        textDocumentSync: TextDocumentSyncKind.Incremental,
        completionProvider: { triggerCharacters: ['.', '{', '(', ' ', '-'], resolveProvider: false },
        hoverProvider: true,
        documentSymbolProvider: true,
        foldingRangeProvider: true,
        definitionProvider: true,
        codeActionProvider: { codeActionKinds: ['quickfix'] },
      },
      serverInfo: { name: 'kyverno-studio', version: '0.1.0' },
    };
  });

  connection.onInitialized(async () => {
    // The scan starts with the initial settings; a different glob in the configuration restarts it.
    scanWorkspace();
    if (canWatch) {
      await connection.client.register(DidChangeWatchedFilesNotification.type, { watchers: [{ globPattern: '**/*.{yaml,yml}' }] }).catch(() => undefined);
    }
    await loadSettings();
    // Load the engine modules and compile hot paths now rather than on the first keystroke.
    setTimeout(() => safe('warm-up', undefined, () => validateFile(parseFile('warm-up:', WARM_UP))), 0);
  });

  // The extension tells when the user trusts the workspace (VS Code keeps the server running).
  connection.onNotification(WORKSPACE_TRUSTED, () => {
    trusted = true;
    if (settings.registryAccess) revalidateManifests();
  });

  connection.onDidChangeConfiguration((change) => {
    const s = (change.settings as { kyverno?: Partial<ServerSettings> } | undefined)?.kyverno;
    if (s) applySettings(s);
    else void loadSettings();
  });

  connection.onDidChangeWatchedFiles((change) => {
    // A deleted file reads as undefined, which removes its policies.
    void reloadFromFiles(change.changes.map((ev) => ev.uri)).catch((e) => log(`policy reload failed: ${(e as Error).stack ?? e}`));
  });

  documents.onDidChangeContent((e) => schedule(e.document.uri));
  documents.onDidClose((e) => {
    clearTimeout(timers.get(e.document.uri));
    parsed.delete(e.document.uri);
    costs.delete(e.document.uri);
    storeConsulted.delete(e.document.uri);
    manifests.forget(e.document.uri);
    // Unsaved edits die with the buffer: the policy on disk applies again.
    const uri = e.document.uri;
    if (index.accepts(uri)) void reloadFromFiles([uri]).catch((err) => log(`policy reload failed: ${(err as Error).stack ?? err}`));
    connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
  });

  connection.onCompletion((p) => {
    const doc = documents.get(p.textDocument.uri);
    if (!doc) return [];
    return safe('completion', [], () => complete(parse(doc), doc.offsetAt(p.position), { workspaceKinds: index.crdKinds(), resourceSchemas: index.resourceSchemas() })) as never;
  });
  connection.onHover((p) => {
    const doc = documents.get(p.textDocument.uri);
    if (!doc) return null;
    return (safe('hover', undefined, () => hover(parse(doc), doc.offsetAt(p.position), { resourceSchemas: index.resourceSchemas() })) ?? null) as never;
  });
  connection.onDocumentSymbol((p) => {
    const doc = documents.get(p.textDocument.uri);
    return (doc ? safe('symbols', [], () => documentSymbols(parse(doc))) : []) as never;
  });
  connection.onFoldingRanges((p) => {
    const doc = documents.get(p.textDocument.uri);
    return doc ? safe('folding', [], () => foldingRanges(parse(doc))) : [];
  });
  connection.onDefinition((p) => {
    const doc = documents.get(p.textDocument.uri);
    return (doc ? safe('definition', undefined, () => definition(parse(doc), doc.offsetAt(p.position))) ?? null : null) as never;
  });
  connection.onCodeAction((p) => {
    const actions: CodeAction[] = [];
    const doc = documents.get(p.textDocument.uri);
    for (const d of p.context.diagnostics) {
      if (d.code !== Codes.mutation || !d.data || !doc) continue;
      const fix = safe('mutation edit', undefined, () => mutationEdit(parse(doc), d.data as MutationData));
      if (!fix) continue;
      actions.push({
        title: fix.title,
        kind: 'quickfix',
        diagnostics: [d],
        edit: { changes: { [fix.uri]: [{ range: fix.range, newText: fix.newText }] } },
      });
    }
    return actions;
  });

  // Results stored in the last seconds would otherwise be lost with the process.
  connection.onShutdown(() => safe('storing results', undefined, () => results?.flush()));

  documents.listen(connection);
  connection.listen();
}
