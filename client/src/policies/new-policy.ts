/**
 * "Kyverno: New Policy" (the walkthrough's first step): an untitled YAML document holding the
 * example policy shipped in the .vsix (examples/policies/require-labels.yaml).
 */
import * as vscode from 'vscode';

export const STARTER_POLICY = ['examples', 'policies', 'require-labels.yaml'];

export function registerNewPolicy(context: vscode.ExtensionContext): vscode.Disposable {
  return vscode.commands.registerCommand('kyverno.newPolicy', async () => {
    const example = await vscode.workspace.fs.readFile(vscode.Uri.joinPath(context.extensionUri, ...STARTER_POLICY));
    const document = await vscode.workspace.openTextDocument({ language: 'yaml', content: new TextDecoder().decode(example) });
    await vscode.window.showTextDocument(document);
    return document.uri.toString();
  });
}
