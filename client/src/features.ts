/**
 * What the extension offers in every extension host, Node or browser: the run commands and
 * results view, CodeLens, Create Test, New Policy and the output channel. All of it reads the
 * workspace through VS Code's file system API and runs the pure engine, so the browser build
 * (client/src/browser.ts) registers it unchanged; what needs Node (Test Explorer, kube context,
 * deploy, CLI install, policy packs, Red Hat YAML) is added by client/src/extension.ts.
 */
import * as vscode from 'vscode';
import { Log } from './log';
import { registerNewPolicy } from './policies/new-policy';
import { registerRunCommands } from './run/commands';
import { RESULTS_VIEW, ResultsTree } from './run/results-view';
import { registerRuleLenses } from './run/rule-lens';
import { Runner } from './run/runner';
import { RESULT_SCHEME, ResultDocuments } from './run/virtual-docs';
import { registerCreateTest } from './testing/create-test';

export interface EditorFeatures {
  log: Log;
  results: ResultsTree;
}

export function registerEditorFeatures(context: vscode.ExtensionContext): EditorFeatures {
  const log = new Log();
  const results = new ResultsTree();
  const documents = new ResultDocuments();
  const runner = new Runner(results, documents, log);
  const view = vscode.window.createTreeView(RESULTS_VIEW, { treeDataProvider: results, showCollapseAll: true });
  results.onDidChangeTreeData(() => {
    view.description = results.current?.title;
  });
  context.subscriptions.push(
    log,
    documents,
    view,
    vscode.workspace.registerTextDocumentContentProvider(RESULT_SCHEME, documents),
    runner.register(),
    registerRunCommands(runner, log),
    registerRuleLenses(runner, log),
    registerCreateTest(log),
    registerNewPolicy(context),
    vscode.commands.registerCommand('kyverno.showOutput', () => log.channel.show(true)),
  );
  return { log, results };
}

/**
 * Diagnostics already shown are filtered again only when the server republishes them: the
 * Node client restarts its server process. (The browser's Worker-backed client has no restart:
 * its diagnostics follow on the next edit.)
 */
export function restartOnFilterSettings(client: () => { restart(): Promise<void> } | undefined, log: Log): vscode.Disposable {
  return vscode.workspace.onDidChangeConfiguration(async (e) => {
    const c = client();
    if (c && (e.affectsConfiguration('kyverno.validate.enable') || e.affectsConfiguration('kyverno.manifests.enable'))) {
      await c.restart().catch((err: unknown) => log.error('language server restart failed', err));
    }
  });
}
