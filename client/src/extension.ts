/**
 * Kyverno Studio for VS Code (Node extension host; the browser build is ./browser.ts). The
 * language server (dist/server.js) gives diagnostics,
 * completion and hover on YAML; the commands, results view, CodeLens and Test Explorer run
 * the embedded engine here in the extension host: their results carry whole objects
 * (patched and generated resources, JSON paths) that the editor shows directly, and the
 * engine is a pure library, so no extra protocol is needed.
 */
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { registerInstallCli } from './cli/command';
import { registerClusterCommands } from './cluster/commands';
import { PolicyReportsView } from './cluster/reports-view';
import { ClusterStatus } from './cluster/status';
import { registerEditorFeatures, restartOnFilterSettings } from './features';
import { startLanguageClient } from './language/start';
import type { Log } from './log';
import { registerAddPack } from './policies/add-pack';
import type { ResultsTree } from './run/results-view';
import { registerWithRedhatYaml } from './yaml/redhat';
import { TestExplorer } from './testing/explorer';

/** What activate() returns: for the e2e suite and for other extensions. */
export interface KyvernoStudioApi {
  client: LanguageClient | undefined;
  results: ResultsTree;
  tests: TestExplorer;
  status: ClusterStatus;
  /** The Policy Reports view (cluster reports of the active context). */
  reports: PolicyReportsView;
  log: Log;
  /** Whether a schema contributor was registered with Red Hat YAML (false when it is absent). */
  redhatYaml: Promise<boolean>;
}

let client: LanguageClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<KyvernoStudioApi> {
  const { log, results } = registerEditorFeatures(context);
  const tests = new TestExplorer(log);
  const status = new ClusterStatus(log);
  const reports = new PolicyReportsView(status, log);
  context.subscriptions.push(
    tests,
    status,
    registerClusterCommands(status, log),
    reports.register(),
    registerInstallCli(context, log),
    registerAddPack(context),
  );
  log.info(`Kyverno Studio ${String(context.extension.packageJSON.version)} activating (VS Code ${vscode.version}, trusted: ${vscode.workspace.isTrusted})`);

  try {
    client = await startLanguageClient(context, log);
  } catch (e) {
    log.error('the language server did not start', e);
    void vscode.window.showErrorMessage('Kyverno: the language server did not start; see the "Kyverno Studio" output.');
  }
  context.subscriptions.push(restartOnFilterSettings(() => client, log));
  void tests.discoverAll();
  // Not awaited: Red Hat YAML's own start must not hold ours up.
  const redhatYaml = registerWithRedhatYaml(context, log);
  return { client, results, tests, status, reports, log, redhatYaml };
}

export async function deactivate(): Promise<void> {
  if (client) await client.stop().catch(() => undefined);
  client = undefined;
}
