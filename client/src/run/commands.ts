/**
 * "Kyverno: Run Policy Against File…" and "Kyverno: Run Workspace Policies on Current File".
 * Both accept explicit URIs as arguments (for keybindings, other extensions and tests) and
 * ask with quick picks otherwise.
 */
import * as vscode from 'vscode';
import type { Log } from '../log';
import { loadFile, sourced, workspacePolicyFiles, workspaceResourceFiles, type LoadedFile } from '../policies/workspace';
import { countStatuses, rowsOf, summarize, type RunReport, type Sourced } from './report';
import type { Runner } from './runner';

export interface RunPolicyArgs {
  policy?: vscode.Uri;
  resources?: vscode.Uri[];
}

function relative(uri: vscode.Uri): string {
  return vscode.workspace.asRelativePath(uri, false);
}

async function pickPolicyFile(): Promise<LoadedFile | undefined> {
  const active = vscode.window.activeTextEditor?.document;
  if (active && active.languageId === 'yaml') {
    const file = await loadFile(active.uri);
    if (file.contents.policies.length > 0) return file;
  }
  const files = await workspacePolicyFiles();
  if (files.length === 0) {
    void vscode.window.showWarningMessage('Kyverno: no policies found in the workspace (setting kyverno.policies).');
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    files.map((f) => ({
      label: f.contents.policies.map((p) => String((p.value.metadata as { name?: string } | undefined)?.name ?? '?')).join(', '),
      description: relative(f.uri),
      file: f,
    })),
    { title: 'Kyverno: policy to run', placeHolder: 'Pick a policy file', matchOnDescription: true },
  );
  return picked?.file;
}

async function pickResourceFiles(policyUri: vscode.Uri): Promise<LoadedFile[] | undefined> {
  const files = (await workspaceResourceFiles()).filter((f) => f.uri.toString() !== policyUri.toString());
  const folder = policyUri.path.slice(0, policyUri.path.lastIndexOf('/'));
  // Resources next to the policy first: they are the likeliest targets.
  files.sort((a, b) => Number(!a.uri.path.startsWith(folder)) - Number(!b.uri.path.startsWith(folder)));
  const browse = { label: '$(folder-opened) Browse…', description: 'choose files on disk', file: undefined as LoadedFile | undefined };
  const picked = await vscode.window.showQuickPick(
    [...files.map((f) => ({ label: relative(f.uri), description: `${f.contents.resources.length} resource(s)`, file: f as LoadedFile | undefined })), browse],
    { title: 'Kyverno: resources to run the policy against', canPickMany: true, placeHolder: 'Pick resource files' },
  );
  if (!picked || picked.length === 0) return undefined;
  const chosen = picked.filter((p) => p.file).map((p) => p.file as LoadedFile);
  if (picked.includes(browse)) {
    const uris = await vscode.window.showOpenDialog({ canSelectMany: true, filters: { YAML: ['yaml', 'yml', 'json'] }, openLabel: 'Run Policy' });
    for (const uri of uris ?? []) chosen.push(await loadFile(uri));
  }
  return chosen;
}

function announce(report: RunReport): void {
  const rows = report.runs.flatMap(rowsOf);
  const text = `Kyverno: ${summarize(countStatuses(rows))} on ${report.runs.length} resource(s).`;
  void vscode.window.showInformationMessage(text);
}

function resourcesOf(files: LoadedFile[]): Sourced[] {
  return files.flatMap((f) => sourced(f, 'resources'));
}

export function registerRunCommands(runner: Runner, log: Log): vscode.Disposable {
  const runPolicy = vscode.commands.registerCommand('kyverno.runPolicyAgainstFile', async (args?: RunPolicyArgs | vscode.Uri) => {
    try {
      const given = args instanceof vscode.Uri ? { policy: args } : args ?? {};
      const policyFile = given.policy ? await loadFile(given.policy) : await pickPolicyFile();
      if (!policyFile) return undefined;
      if (policyFile.contents.policies.length === 0) {
        void vscode.window.showErrorMessage(`Kyverno: ${relative(policyFile.uri)} holds no Kyverno policy.`);
        return undefined;
      }
      const resourceFiles = given.resources ? await Promise.all(given.resources.map(loadFile)) : await pickResourceFiles(policyFile.uri);
      if (!resourceFiles) return undefined;
      const resources = resourcesOf(resourceFiles);
      if (resources.length === 0) {
        void vscode.window.showWarningMessage('Kyverno: the chosen files hold no Kubernetes resources.');
        return undefined;
      }
      const report = await runner.run(`${relative(policyFile.uri)} on ${resourceFiles.map((f) => relative(f.uri)).join(', ')}`, {
        policies: sourced(policyFile, 'policies'),
        exceptions: [...sourced(policyFile, 'exceptions'), ...resourceFiles.flatMap((f) => sourced(f, 'exceptions'))],
        bindings: [...sourced(policyFile, 'bindings'), ...resourceFiles.flatMap((f) => sourced(f, 'bindings'))],
        resources,
      }, { reveal: 'focus', openDiff: true });
      announce(report);
      return report;
    } catch (e) {
      log.error('run policy against file failed', e);
      void vscode.window.showErrorMessage(`Kyverno: run failed: ${(e as Error).message}`);
      return undefined;
    }
  });

  const runWorkspace = vscode.commands.registerCommand('kyverno.runWorkspacePolicies', async (target?: vscode.Uri) => {
    try {
      const uri = target instanceof vscode.Uri ? target : vscode.window.activeTextEditor?.document.uri;
      if (!uri) {
        void vscode.window.showWarningMessage('Kyverno: open a YAML file with Kubernetes resources first.');
        return undefined;
      }
      const file = await loadFile(uri);
      if (file.contents.resources.length === 0) {
        void vscode.window.showWarningMessage(`Kyverno: ${relative(uri)} holds no Kubernetes resources to check.`);
        return undefined;
      }
      const policyFiles = await workspacePolicyFiles(undefined, true);
      if (!policyFiles.some((f) => f.contents.policies.length > 0)) {
        void vscode.window.showWarningMessage('Kyverno: no policies found in the workspace (setting kyverno.policies).');
        return undefined;
      }
      const report = await runner.run(`workspace policies on ${relative(uri)}`, {
        policies: policyFiles.flatMap((f) => sourced(f, 'policies')),
        exceptions: policyFiles.flatMap((f) => sourced(f, 'exceptions')),
        bindings: policyFiles.flatMap((f) => sourced(f, 'bindings')),
        resources: resourcesOf([file]),
      }, { reveal: 'focus', openDiff: true });
      announce(report);
      return report;
    } catch (e) {
      log.error('run workspace policies failed', e);
      void vscode.window.showErrorMessage(`Kyverno: run failed: ${(e as Error).message}`);
      return undefined;
    }
  });
  return vscode.Disposable.from(runPolicy, runWorkspace);
}
