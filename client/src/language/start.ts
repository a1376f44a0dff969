/**
 * Starts the Kyverno language server (dist/server.js) as a Node process (IPC) for YAML files
 * on disk and untitled ones. The browser build starts it in a Web Worker (./start-browser.ts).
 */
import * as vscode from 'vscode';
import { LanguageClient, TransportKind, type ServerOptions } from 'vscode-languageclient/node';
import type { Log } from '../log';
import { WORKSPACE_TRUSTED } from '../../../server/src/protocol';
import { CLIENT_ID, languageClientOptions } from './options';

export { CLIENT_ID, keepDiagnostic } from './options';

export async function startLanguageClient(context: vscode.ExtensionContext, log: Log): Promise<LanguageClient> {
  const module = context.asAbsolutePath('dist/server.js');
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc },
    debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6010'] } },
  };
  const clientOptions = languageClientOptions(log, [
    { scheme: 'file', language: 'yaml' },
    { scheme: 'untitled', language: 'yaml' },
  ]);
  const client = new LanguageClient(CLIENT_ID, 'Kyverno Language Server', serverOptions, clientOptions);
  await client.start();
  context.subscriptions.push(vscode.workspace.onDidGrantWorkspaceTrust(() => void client.sendNotification(WORKSPACE_TRUSTED)));
  log.info(`language server started (${module})`);
  return client;
}
