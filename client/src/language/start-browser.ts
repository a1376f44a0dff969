/**
 * Starts the Kyverno language server in a Web Worker (dist/browser/server.js) for the browser
 * build: LSP over postMessage, the same options as the Node server process, and the file
 * requests the worker sends because it has no file system.
 */
import * as vscode from 'vscode';
import { LanguageClient } from 'vscode-languageclient/browser';
import type { Log } from '../log';
import { CLIENT_ID, languageClientOptions } from './options';
import { serveWorkspaceFiles } from './workspace-files';

/** The browser's Worker (typed here: the project compiles without the DOM library). */
declare const Worker: new (url: string, options?: { name?: string }) => ConstructorParameters<typeof LanguageClient>[3];

/** YAML in the workspace folders' schemes (vscode-vfs, vscode-remote, file...) and untitled buffers. */
function documentSelector(): { scheme: string; language: string }[] {
  const schemes = new Set(['file', 'untitled', ...(vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.scheme)]);
  return [...schemes].map((scheme) => ({ scheme, language: 'yaml' }));
}

/**
 * Where the worker starts from. VS Code for the web starts workers from the extension's own
 * URL (https on vscode.dev, file); it refuses other schemes (an extension served by a remote
 * host, vscode-remote:), so there the script is read through VS Code's file system and
 * started from a blob.
 */
async function workerScript(main: vscode.Uri): Promise<string> {
  if (['https', 'http', 'file'].includes(main.scheme)) return main.toString(true);
  const bytes = await vscode.workspace.fs.readFile(main);
  return URL.createObjectURL(new Blob([bytes], { type: 'text/javascript' }));
}

export async function startBrowserLanguageClient(context: vscode.ExtensionContext, log: Log): Promise<LanguageClient> {
  const main = vscode.Uri.joinPath(context.extensionUri, 'dist', 'browser', 'server.js');
  const worker = new Worker(await workerScript(main), { name: 'Kyverno language server' });
  const client = new LanguageClient(CLIENT_ID, 'Kyverno Language Server', languageClientOptions(log, documentSelector()), worker);
  context.subscriptions.push(serveWorkspaceFiles(client));
  await client.start();
  log.info(`language server started in a Web Worker (${main.toString(true)})`);
  return client;
}
