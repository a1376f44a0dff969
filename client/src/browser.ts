/**
 * Kyverno Studio in VS Code for the web (vscode.dev, github.dev): package.json's `browser`
 * entry, run by VS Code's web worker extension host. The language server runs in a Web Worker
 * (./language/start-browser.ts) and the run commands, results view, CodeLens and Create Test
 * work as on the desktop (features.ts). What needs Node or a cluster (deploy, kube context,
 * CLI install, policy packs, Test Explorer, registry access) is not registered: the context
 * key `kyverno.webHost` hides it in menus, and its commands explain why if called anyway.
 * This bundle must import no Node API (test/browser/bundles.test.ts).
 */
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/browser';
import { registerEditorFeatures } from './features';
import { startBrowserLanguageClient } from './language/start-browser';
import type { Log } from './log';
import type { ResultsTree } from './run/results-view';

/** Set while the browser build runs: package.json's `when` clauses hide Node-only commands and views. */
export const WEB_HOST_CONTEXT = 'kyverno.webHost';

/** Commands package.json contributes that need Node (a file system, a kube context, child processes). */
export const NODE_ONLY_COMMANDS = ['kyverno.deploy', 'kyverno.undeploy', 'kyverno.installCli', 'kyverno.addPolicyPack'];

export interface KyvernoStudioWebApi {
  client: LanguageClient | undefined;
  results: ResultsTree;
  log: Log;
}

let client: LanguageClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<KyvernoStudioWebApi> {
  await vscode.commands.executeCommand('setContext', WEB_HOST_CONTEXT, true);
  const { log, results } = registerEditorFeatures(context);
  for (const command of NODE_ONLY_COMMANDS) {
    context.subscriptions.push(vscode.commands.registerCommand(command, () => {
      void vscode.window.showInformationMessage('Kyverno: this command needs VS Code desktop or a remote (Node) extension host; in the browser, policies are checked and run but not deployed or installed.');
      return false;
    }));
  }
  log.info(`Kyverno Studio ${String(context.extension.packageJSON.version)} activating in the browser (VS Code ${vscode.version})`);
  try {
    client = await startBrowserLanguageClient(context, log);
  } catch (e) {
    log.error('the language server did not start', e);
    void vscode.window.showErrorMessage('Kyverno: the language server did not start; see the "Kyverno Studio" output.');
  }
  return { client, results, log };
}

export async function deactivate(): Promise<void> {
  if (client) await client.stop().catch(() => undefined);
  client = undefined;
}
