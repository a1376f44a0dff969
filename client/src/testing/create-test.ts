/**
 * "Kyverno: Create Test for Policy": drafts `.kyverno-test/kyverno-test.yaml` next to the
 * policy, with expected results taken from the current engine results for the user to review.
 */
import * as vscode from 'vscode';
import type { Log } from '../log';
import { loadFile, sourced, workspaceResourceFiles, type LoadedFile } from '../policies/workspace';
import { runPolicies } from '../run/report';
import { nearbyResourceFiles } from '../run/rule-lens';
import { relativePath, scaffoldTest } from './scaffold';
import { objectName } from '../policies/documents';

export interface CreateTestArgs {
  policy?: vscode.Uri;
  resources?: vscode.Uri[];
  /** Replace an existing test file without asking. */
  overwrite?: boolean;
}

async function exists(uri: vscode.Uri): Promise<boolean> {
  try {
    await vscode.workspace.fs.stat(uri);
    return true;
  } catch {
    return false;
  }
}

async function chooseResources(policy: vscode.Uri): Promise<LoadedFile[] | undefined> {
  const nearby = await nearbyResourceFiles(policy);
  const near = new Set(nearby.map((f) => f.uri.toString()));
  const others = (await workspaceResourceFiles()).filter((f) => !near.has(f.uri.toString()) && f.uri.toString() !== policy.toString());
  const items = [...nearby, ...others].map((f) => ({
    label: vscode.workspace.asRelativePath(f.uri, false),
    description: `${f.contents.resources.length} resource(s)`,
    picked: near.has(f.uri.toString()),
    file: f,
  }));
  if (items.length === 0) {
    void vscode.window.showWarningMessage('Kyverno: no resource files in the workspace to build a test from.');
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(items, { title: 'Kyverno: resources for the new test', canPickMany: true });
  return picked && picked.length ? picked.map((p) => p.file) : undefined;
}

export function registerCreateTest(log: Log): vscode.Disposable {
  return vscode.commands.registerCommand('kyverno.createTest', async (args?: CreateTestArgs | vscode.Uri) => {
    try {
      const given: CreateTestArgs = args instanceof vscode.Uri ? { policy: args } : args ?? {};
      const policyUri = given.policy ?? vscode.window.activeTextEditor?.document.uri;
      if (!policyUri) {
        void vscode.window.showWarningMessage('Kyverno: open a policy file first.');
        return undefined;
      }
      const policyFile = await loadFile(policyUri);
      if (policyFile.contents.policies.length === 0) {
        void vscode.window.showErrorMessage(`Kyverno: ${vscode.workspace.asRelativePath(policyUri)} holds no Kyverno policy.`);
        return undefined;
      }
      const resourceFiles = given.resources ? await Promise.all(given.resources.map(loadFile)) : await chooseResources(policyUri);
      if (!resourceFiles) return undefined;
      const folder = vscode.Uri.joinPath(policyUri, '..', '.kyverno-test');
      const target = vscode.Uri.joinPath(folder, 'kyverno-test.yaml');
      if (!given.overwrite && (await exists(target))) {
        const answer = await vscode.window.showWarningMessage(`${vscode.workspace.asRelativePath(target)} exists. Replace it?`, { modal: true }, 'Replace');
        if (answer !== 'Replace') return undefined;
      }
      const report = runPolicies('create test', {
        policies: sourced(policyFile, 'policies'),
        exceptions: resourceFiles.flatMap((f) => sourced(f, 'exceptions')),
        resources: resourceFiles.flatMap((f) => sourced(f, 'resources')),
      });
      const text = scaffoldTest({
        name: objectName(policyFile.contents.policies[0].value) || 'policy-test',
        policyPaths: [relativePath(folder.path, policyUri.path)],
        resourcePaths: resourceFiles.map((f) => relativePath(folder.path, f.uri.path)),
        report,
      });
      await vscode.workspace.fs.createDirectory(folder);
      await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(text));
      log.info(`created ${target.fsPath}`);
      await vscode.window.showTextDocument(target, { preview: false });
      void vscode.window.showInformationMessage('Kyverno: test drafted from the current results. Review the expected results before committing it.');
      return target;
    } catch (e) {
      log.error('create test failed', e);
      void vscode.window.showErrorMessage(`Kyverno: could not create the test: ${(e as Error).message}`);
      return undefined;
    }
  });
}
