/**
 * "Kyverno: Add Policy Pack to Workspace": writes a pack shipped in the .vsix (packs/, Kyverno's
 * Pod Security Standards sample policies) into a workspace folder, rendered with the failure
 * action and excluded namespaces picked here, by the same renderer as `kyverno-studio create pack`.
 */
import * as vscode from 'vscode';
import { readPackFiles, readPackNotice } from '../../../packs/files';
import { isPackName, PACK_ACTIONS, PACK_NAMES, PACK_SUMMARIES, parseNamespaceList, renderPack, type PackAction } from '../../../packs/render';

export interface AddPackArgs {
  pack?: string;
  action?: PackAction;
  excludeNamespaces?: string[];
  /** Folder to write to; defaults to `<first workspace folder>/<pack>`. */
  target?: vscode.Uri;
}

export function registerAddPack(context: vscode.ExtensionContext): vscode.Disposable {
  return vscode.commands.registerCommand('kyverno.addPolicyPack', async (args: AddPackArgs = {}) => {
    const pack = args.pack ?? (await vscode.window.showQuickPick(PACK_NAMES.map((n) => ({ label: n, description: PACK_SUMMARIES[n] })), { title: 'Policy pack' }))?.label;
    if (pack === undefined) return undefined;
    if (!isPackName(pack)) {
      void vscode.window.showErrorMessage(`Unknown policy pack "${pack}" (expected ${PACK_NAMES.join(', ')})`);
      return undefined;
    }
    const action = args.action ?? ((await vscode.window.showQuickPick([...PACK_ACTIONS], { title: 'Failure action (validationFailureAction)' })) as PackAction | undefined);
    if (action === undefined) return undefined;
    let excludeNamespaces = args.excludeNamespaces;
    if (!excludeNamespaces) {
      const typed = await vscode.window.showInputBox({ title: 'Namespaces to exclude (comma-separated, may be empty)', value: 'kube-system' });
      if (typed === undefined) return undefined;
      excludeNamespaces = parseNamespaceList(typed);
    }
    const folder = vscode.workspace.workspaceFolders?.[0];
    const target = args.target ?? (folder ? vscode.Uri.joinPath(folder.uri, pack) : undefined);
    if (!target) {
      void vscode.window.showErrorMessage('Open a folder to add a policy pack to.');
      return undefined;
    }
    try {
      const packsDir = vscode.Uri.joinPath(context.extensionUri, 'packs').fsPath;
      const files = renderPack(readPackFiles(packsDir, pack), { action, excludeNamespaces });
      await vscode.workspace.fs.createDirectory(target);
      const encoder = new TextEncoder();
      for (const f of files) await vscode.workspace.fs.writeFile(vscode.Uri.joinPath(target, f.name), encoder.encode(f.text));
      await vscode.workspace.fs.writeFile(vscode.Uri.joinPath(target, 'NOTICE'), encoder.encode(readPackNotice(packsDir)));
      void vscode.window.showInformationMessage(`Added ${files.length} ${pack} policies (${action}) to ${vscode.workspace.asRelativePath(target)}`);
      return target.toString();
    } catch (err) {
      void vscode.window.showErrorMessage(`Could not add the ${pack} pack: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
  });
}
