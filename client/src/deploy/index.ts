/**
 * The seam for "Kyverno: Deploy to Cluster…" / "Undeploy from Cluster". The commands (in
 * ../cluster/commands.ts) check workspace trust and the kube context, then call these.
 * Placeholder: the cluster side is written separately; until then the user is told plainly.
 */
import * as vscode from 'vscode';
import type { KubeContext } from '../cluster/kubeconfig';
import type { Log } from '../log';
import type { Settings } from '../settings';

export interface DeployRequest {
  /** The file the command was invoked on (explorer/editor), if any. */
  uri?: vscode.Uri;
  kubeContext: KubeContext;
  /** Absolute kubeconfig paths in effect. */
  kubeconfigPaths: string[];
  settings: Settings;
  log: Log;
}

export async function deployToCluster(request: DeployRequest): Promise<void> {
  request.log.info(`deploy requested (context ${request.kubeContext.context}): not available in this build`);
  // Not awaited: the message stays until dismissed and the command must not hang on it.
  void vscode.window.showInformationMessage(
    `Kyverno: deploying to a cluster is not available in this build yet (context "${request.kubeContext.context}", webhook image ${request.settings.webhookImage}).`,
  );
}

export async function undeployFromCluster(request: DeployRequest): Promise<void> {
  request.log.info(`undeploy requested (context ${request.kubeContext.context}): not available in this build`);
  void vscode.window.showInformationMessage(
    `Kyverno: undeploying from a cluster is not available in this build yet (context "${request.kubeContext.context}", namespace ${request.settings.webhookNamespace}).`,
  );
}
