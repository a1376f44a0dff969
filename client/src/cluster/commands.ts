/**
 * Deploy/undeploy commands: refuse in an untrusted workspace and without a kube context,
 * then hand over to ../deploy.
 */
import * as vscode from 'vscode';
// ../deploy brings the Kubernetes client: loaded on first use, not at activation.
import type { DeployRequest } from '../deploy';
import type { Log } from '../log';
import { readSettings } from '../settings';
import type { ClusterStatus } from './status';

function request(status: ClusterStatus, log: Log, uri: unknown): DeployRequest | undefined {
  if (!vscode.workspace.isTrusted) {
    void vscode.window.showWarningMessage('Kyverno: cluster actions are disabled in an untrusted workspace. Trust the workspace to deploy.');
    return undefined;
  }
  status.refreshContext();
  const kubeContext = status.kubeContext;
  if (!kubeContext) {
    void vscode.window.showWarningMessage(`Kyverno: no current kube context in ${status.kubeconfigPaths.join(', ')}.`);
    return undefined;
  }
  const target = uri instanceof vscode.Uri ? uri : vscode.window.activeTextEditor?.document.uri;
  return { uri: target, kubeContext, kubeconfigPaths: status.kubeconfigPaths, settings: readSettings(), log };
}

export function registerClusterCommands(status: ClusterStatus, log: Log): vscode.Disposable {
  return vscode.Disposable.from(
    vscode.commands.registerCommand('kyverno.deploy', async (uri?: vscode.Uri) => {
      const r = request(status, log, uri);
      if (r) await (await import('../deploy')).deployToCluster(r);
      return r !== undefined;
    }),
    vscode.commands.registerCommand('kyverno.undeploy', async (uri?: vscode.Uri) => {
      const r = request(status, log, uri);
      if (r) await (await import('../deploy')).undeployFromCluster(r);
      return r !== undefined;
    }),
  );
}
