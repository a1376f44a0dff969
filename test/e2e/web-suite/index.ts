/**
 * The checks of the browser build inside VS Code's web worker extension host (code-server
 * with `extensionDevelopmentKind=web`, as vscode.dev runs extensions): loaded through
 * `extensionTestsPath`, bundled for the browser (no mocha: a Worker has no Node). Each check
 * logs PASS/FAIL on the console (the page captures it); run() rejects when one failed.
 */
import * as vscode from 'vscode';
import type { KyvernoStudioWebApi } from '../../../client/src/browser';
import type { RunReport } from '../../../client/src/run/report';
import { kyvernoDiagnostics, lineOf, open, waitFor, workspaceUri } from '../suite/wait';

const EXTENSION_ID = 'kyverno-studio.kyverno-studio';

const checks: [string, () => Promise<void>][] = [];
const check = (name: string, fn: () => Promise<void>) => checks.push([name, fn]);
function assert(ok: unknown, what: string): asserts ok {
  if (!ok) throw new Error(what);
}

let api: KyvernoStudioWebApi;

check('the browser entry runs, in a host without Node', async () => {
  const ext = vscode.extensions.getExtension<KyvernoStudioWebApi & { tests?: unknown }>(EXTENSION_ID);
  assert(ext, `${EXTENSION_ID} is installed`);
  api = (await ext.activate()) as KyvernoStudioWebApi;
  assert(api.client, 'the language client started');
  assert(!('tests' in api), 'the Node entry (with its Test Explorer) did not run');
  const g = globalThis as { process?: { versions?: { node?: string } }; require?: unknown };
  assert(!g.process?.versions?.node, 'no Node in this extension host');
  assert(vscode.env.uiKind === vscode.UIKind.Web, 'VS Code for the web');
});

check('a policy error is diagnosed by the language server in its Web Worker', async () => {
  const editor = await open(workspaceUri('broken', 'broken-policy.yaml'));
  const line = lineOf(editor.document, 'failureAction: Sometimes');
  const diags = await waitFor('policy diagnostics', () => {
    const d = kyvernoDiagnostics(editor.document.uri);
    return d.some((x) => x.range.start.line === line) ? d : undefined;
  });
  console.log(`  diagnostics: ${diags.map((d) => `${String(typeof d.code === 'object' ? d.code.value : d.code)} ${d.message}`).join(' | ')}`);
});

check('a manifest is checked against a workspace policy the server found through VS Code\'s file system', async () => {
  const editor = await open(workspaceUri('manifests', 'pod-bad.yaml'));
  assert(editor.document.uri.scheme !== 'file', `the workspace is not on a local disk here (${editor.document.uri.scheme}:)`);
  const diags = await waitFor('manifest diagnostics', () => {
    const d = kyvernoDiagnostics(editor.document.uri);
    return d.some((x) => /team label/.test(x.message)) ? d : undefined;
  }, 60000);
  console.log(`  diagnostics: ${diags.map((d) => d.message.split('\n')[0]).join(' | ')}`);
});

check('completion and hover come from the documented schemas bundled in the worker', async () => {
  const doc = await vscode.workspace.openTextDocument({
    language: 'yaml',
    content: 'apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: untitled\nspec:\n  \n  rules: []\n',
  });
  await vscode.window.showTextDocument(doc, { preview: false });
  const list = await waitFor('completion', async () => {
    const r = await vscode.commands.executeCommand<vscode.CompletionList>('vscode.executeCompletionItemProvider', doc.uri, new vscode.Position(5, 2));
    const labels = r.items.map((i) => (typeof i.label === 'string' ? i.label : i.label.label));
    return labels.includes('validationFailureAction') ? labels : undefined;
  });
  assert(list.includes('background'), 'background offered');
  const policy = await open(workspaceUri('policies', 'require-team-label.yaml'));
  const line = lineOf(policy.document, 'validate:');
  const hovers = await waitFor('hover', async () => {
    const h = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', policy.document.uri, new vscode.Position(line, 8));
    const text = h.flatMap((x) => x.contents.map((c) => (typeof c === 'string' ? c : 'value' in c ? c.value : ''))).join('\n');
    return /Validation is used to validate matching resources/.test(text) ? text : undefined;
  });
  console.log(`  hover: ${hovers.split('\n')[0]}`);
});

check('Run Workspace Policies works in the browser (the engine in the extension host)', async () => {
  const uri = workspaceUri('manifests', 'pod-bad.yaml');
  await open(uri);
  const report = await vscode.commands.executeCommand<RunReport>('kyverno.runWorkspacePolicies', uri);
  assert(report, 'a report');
  const rows = report.runs.flatMap((run) => run.responses.flatMap((r) => r.rules.map((rule) => `${r.policy.name}/${rule.name} ${rule.status}`))).sort();
  assert(rows.includes('require-team-label/check-team fail'), `rows: ${rows.join(', ')}`);
  assert(api.results.current === undefined || api.results.current.runs.length > 0, 'the results view shows the run');
});

check('deploy and CLI install are not available: their commands say why and do nothing', async () => {
  for (const command of ['kyverno.deploy', 'kyverno.installCli']) {
    const r = await vscode.commands.executeCommand(command);
    assert(r === false, `${command} returned ${String(r)}`);
  }
});

export async function run(): Promise<void> {
  let failed = 0;
  for (const [name, fn] of checks) {
    const t0 = Date.now();
    try {
      await fn();
      console.log(`PASS ${name} (${Date.now() - t0} ms)`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${name}: ${(e as Error).stack ?? e}`);
    }
  }
  // The manifest and the Problems panel on screen while the runner takes its screenshot
  // (it does on the summary line; the extension host stops when run() settles).
  await open(workspaceUri('manifests', 'pod-bad.yaml'));
  await vscode.commands.executeCommand('workbench.actions.view.problems');
  await new Promise((r) => setTimeout(r, 1000));
  console.log(`web extension host: ${checks.length - failed}/${checks.length} checks passed`);
  await new Promise((r) => setTimeout(r, 5000));
  if (failed) throw new Error(`${failed} check(s) failed`);
}
