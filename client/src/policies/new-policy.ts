/** "Kyverno: New Policy": an untitled YAML document with a starter ClusterPolicy (the walkthrough's first step). */
import * as vscode from 'vscode';

export const STARTER_POLICY = `# A starter policy: every Pod needs an app.kubernetes.io/name label.
# Save it in your workspace, then open a Pod manifest: violations are underlined as you type.
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: require-app-label
  annotations:
    policies.kyverno.io/title: Require an app label
spec:
  background: true
  rules:
    - name: check-app-label
      match:
        any:
          - resources:
              kinds:
                - Pod
      validate:
        failureAction: Audit
        message: "The label \`app.kubernetes.io/name\` is required."
        pattern:
          metadata:
            labels:
              app.kubernetes.io/name: "?*"
`;

export function registerNewPolicy(): vscode.Disposable {
  return vscode.commands.registerCommand('kyverno.newPolicy', async () => {
    const document = await vscode.workspace.openTextDocument({ language: 'yaml', content: STARTER_POLICY });
    await vscode.window.showTextDocument(document);
    return document.uri.toString();
  });
}
