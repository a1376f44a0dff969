/** Spawns the language server and talks JSON-RPC over its stdio, as an editor would. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';

export const REPO = join(__dirname, '..', '..');

export interface PublishedDiagnostics {
  uri: string;
  version?: number;
  diagnostics: Array<{ range: { start: { line: number; character: number }; end: { line: number; character: number } }; severity: number; code: string; message: string; data?: unknown }>;
}

export class LspClient {
  readonly proc: ChildProcess;
  readonly conn: MessageConnection;
  private waiters: Array<{ uri: string; resolve: (p: PublishedDiagnostics) => void }> = [];
  readonly published = new Map<string, PublishedDiagnostics>();
  /** Every publish, in order. */
  readonly log: PublishedDiagnostics[] = [];
  private versions = new Map<string, number>();

  /**
   * `args`: how `command` (node by default) starts the server; by default the sources through
   * tsx. An installed `kyverno-studio` binary is started as an editor would: its path as
   * `command`, `['lsp', '--stdio']` as `args`.
   */
  constructor(args = ['--import', 'tsx', join(REPO, 'server', 'src', 'main.ts'), '--stdio'], command = process.execPath, options: { cwd?: string; env?: NodeJS.ProcessEnv; shell?: boolean } = {}) {
    this.proc = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'], ...options });
    this.conn = createMessageConnection(new StreamMessageReader(this.proc.stdout!), new StreamMessageWriter(this.proc.stdin!));
    this.conn.onNotification('textDocument/publishDiagnostics', (p: PublishedDiagnostics) => {
      this.published.set(p.uri, p);
      this.log.push(p);
      const keep: typeof this.waiters = [];
      for (const w of this.waiters) (w.uri === p.uri ? w.resolve(p) : keep.push(w));
      this.waiters = keep;
    });
    this.conn.onRequest('client/registerCapability', () => null);
    this.conn.onRequest('workspace/configuration', (p: { items: unknown[] }) => p.items.map(() => null));
    this.conn.listen();
  }

  /** `options`: more initializationOptions (the extension sends `trusted`). */
  async initialize(workspaceFolder?: string, settings?: Record<string, unknown>, options: Record<string, unknown> = {}): Promise<unknown> {
    const folders = workspaceFolder ? [{ uri: pathToFileURL(workspaceFolder).toString(), name: 'ws' }] : null;
    const r = await this.conn.sendRequest('initialize', {
      processId: process.pid,
      rootUri: null,
      workspaceFolders: folders,
      capabilities: { workspace: { didChangeWatchedFiles: { dynamicRegistration: true } }, textDocument: { publishDiagnostics: {} } },
      initializationOptions: settings || Object.keys(options).length ? { ...(settings ? { settings } : {}), ...options } : undefined,
    });
    await this.conn.sendNotification('initialized', {});
    return r;
  }

  nextDiagnostics(uri: string, timeoutMs = 20000): Promise<PublishedDiagnostics> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no diagnostics for ${uri} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ uri, resolve: (p) => (clearTimeout(t), resolve(p)) });
    });
  }

  async open(uri: string, text: string): Promise<PublishedDiagnostics> {
    const wait = this.nextDiagnostics(uri);
    this.versions.set(uri, 1);
    await this.conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'yaml', version: 1, text } });
    return wait;
  }

  async change(uri: string, text: string): Promise<PublishedDiagnostics> {
    const version = (this.versions.get(uri) ?? 1) + 1;
    this.versions.set(uri, version);
    const wait = this.nextDiagnostics(uri);
    await this.conn.sendNotification('textDocument/didChange', { textDocument: { uri, version }, contentChanges: [{ text }] });
    return wait;
  }

  request<T>(method: string, params: unknown): Promise<T> {
    return this.conn.sendRequest(method, params) as Promise<T>;
  }

  async close(): Promise<void> {
    try {
      await Promise.race([this.conn.sendRequest('shutdown'), new Promise((r) => setTimeout(r, 2000))]);
      await this.conn.sendNotification('exit');
      // The server ends itself on `exit`; the kill below is for one that does not.
      if (this.proc.exitCode === null) await Promise.race([new Promise((r) => this.proc.once('exit', r)), new Promise((r) => setTimeout(r, 2000))]);
    } catch {
      /* already gone */
    }
    this.conn.dispose();
    this.proc.kill();
  }
}

/** Zero-based position of the first occurrence of needle (+ delta characters). */
export function positionOf(text: string, needle: string, delta = 0): { line: number; character: number } {
  const i = text.indexOf(needle);
  if (i < 0) throw new Error(`not found: ${needle}`);
  const off = i + delta;
  const before = text.slice(0, off);
  const line = before.split('\n').length - 1;
  return { line, character: off - (before.lastIndexOf('\n') + 1) };
}

/** A policy with three errors: a JMESPath arity (KS1206), a duplicate rule (KS1201), a podSecurity level (KS1211). */
export const POLICY_WITH_THREE_ERRORS = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: p
spec:
  rules:
  - name: r
    match:
      any:
      - resources:
          kinds: [Pod]
    validate:
      message: "{{ to_upper(request.object.metadata.name, 'x') }}"
      pattern:
        metadata:
          labelz: {}
          =(labels):
            app: "?*"
  - name: r
    match:
      any:
      - resources:
          kinds: [ConfigMap]
    validate:
      podSecurity:
        level: baseline
        exclude:
        - controlName: Capabilities
`;
