/**
 * Starts the Kyverno language server (dist/server.js) for YAML documents. The server owns
 * diagnostics, completion and hover; the settings that switch diagnostic families off are
 * applied here, so they work whatever the server supports.
 */
import * as vscode from 'vscode';
import { LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';
import type { Log } from '../log';
import { readSettings } from '../settings';
import { WORKSPACE_TRUSTED } from '../../../server/src/protocol';

export const CLIENT_ID = 'kyverno';

function codeOf(d: vscode.Diagnostic): string {
  const c = d.code;
  return typeof c === 'object' && c !== null ? String(c.value) : String(c ?? '');
}

/** Policy checks are KS1xxx, manifest evaluations KS2xxx (server/src/service/codes.ts). */
export function keepDiagnostic(d: vscode.Diagnostic, validate: boolean, manifests: boolean): boolean {
  const code = codeOf(d);
  if (!validate && code.startsWith('KS1')) return false;
  if (!manifests && code.startsWith('KS2')) return false;
  return true;
}

export async function startLanguageClient(context: vscode.ExtensionContext, log: Log): Promise<LanguageClient> {
  const module = context.asAbsolutePath('dist/server.js');
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc },
    debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6010'] } },
  };
  const settings = readSettings();
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'yaml' },
      { scheme: 'untitled', language: 'yaml' },
    ],
    outputChannel: log.channel,
    // The server reads registries only when the user turned it on and the workspace is trusted.
    // cacheDir: where the server keeps its workspace scan cache (this workspace's storage).
    initializationOptions: {
      settings: { policies: settings.policies, debounceMs: settings.debounceMs, registryAccess: settings.registryAccess },
      trusted: vscode.workspace.isTrusted,
      cacheDir: (context.storageUri ?? context.globalStorageUri).fsPath,
    },
    synchronize: { configurationSection: 'kyverno' },
    middleware: {
      handleDiagnostics(uri, diagnostics, next) {
        const s = readSettings(uri);
        next(uri, diagnostics.filter((d) => keepDiagnostic(d, s.validateEnable, s.manifestsEnable)));
      },
    },
  };
  const client = new LanguageClient(CLIENT_ID, 'Kyverno Language Server', serverOptions, clientOptions);
  await client.start();
  context.subscriptions.push(vscode.workspace.onDidGrantWorkspaceTrust(() => void client.sendNotification(WORKSPACE_TRUSTED)));
  log.info(`language server started (${module})`);
  return client;
}
