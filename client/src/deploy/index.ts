/**
 * "Kyverno: Deploy to Cluster…" and "Kyverno: Undeploy from Cluster": the shared deploy code
 * (deploy/run.ts, deploy/undeploy.ts) with a VS Code face: a cancellable progress
 * notification, the log in the output channel, and a modal confirmation naming the context.
 */
import * as vscode from 'vscode';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { homedir } from 'node:os';
import { KubeClient } from '../../../kube-api/client';
import { runDeploy, type DeployUI } from '../../../deploy/run';
import { runUndeploy } from '../../../deploy/undeploy';
import { targetSummary, type ClusterTarget } from '../../../deploy/context';
import { localCertificates } from '../../../deploy/cli';
import { loadPolicyFiles } from '../../../webhook/serve';
import { DEFAULT_NAMESPACE, type DeployMode } from '../../../deploy/plan';

type Json = Record<string, unknown>;

function eksLine(t: ClusterTarget): string {
  return t.eks ? ` (EKS cluster ${t.eks.cluster ?? '?'}, region ${t.eks.region ?? '?'}, account ${t.eks.account ?? 'unknown'})` : '';
}

async function pickPolicies(output: vscode.OutputChannel, uri?: vscode.Uri, glob = '**/*.{yaml,yml}'): Promise<Json[] | undefined> {
  const files = uri ? [uri] : await vscode.workspace.findFiles(glob, '**/{node_modules,.git}/**', 2000);
  const problems: string[] = [];
  const found = loadPolicyFiles(files.map((f) => f.fsPath), (line) => problems.push(line));
  for (const p of problems) output.appendLine(`skipped: ${p}`);
  if (found.length === 0) {
    void vscode.window.showErrorMessage('Kyverno: no policies found in the workspace (ClusterPolicy, Policy or a CEL policy kind).');
    return undefined;
  }
  const items = found.map((p) => {
    const meta = (p.metadata ?? {}) as Json;
    return { label: String(meta.name ?? '(no name)'), description: `${String(p.kind)}${meta.namespace ? ` in ${String(meta.namespace)}` : ''}`, picked: true, policy: p };
  });
  const picked = await vscode.window.showQuickPick(items, { canPickMany: true, title: 'Kyverno: policies to deploy' });
  return picked && picked.length ? picked.map((i) => i.policy) : undefined;
}

async function pickMode(): Promise<{ mode: DeployMode; url?: string } | undefined> {
  const choice = await vscode.window.showQuickPick(
    [
      { label: 'In the cluster', detail: 'The webhook runs as a Deployment in the cluster (2 replicas).', mode: 'cluster' as const },
      { label: 'Policies only', detail: 'The cluster already runs Kyverno; apply just the policies.', mode: 'policies-only' as const },
      { label: 'Local webhook', detail: 'The webhook runs on this machine; the cluster calls it by URL.', mode: 'local' as const },
    ],
    { title: 'Kyverno: how to deploy' },
  );
  if (!choice) return undefined;
  if (choice.mode !== 'local') return { mode: choice.mode };
  const url = await vscode.window.showInputBox({
    title: 'URL the API server can reach this machine at',
    placeHolder: 'https://203.0.113.10:9443',
    validateInput: (v) => (/^https:\/\/[^/]+:\d+\/?$/.test(v) ? undefined : 'https://HOST:PORT'),
  });
  return url ? { mode: 'local', url } : undefined;
}

function uiFor(output: vscode.OutputChannel, progress: vscode.Progress<{ message?: string }>, verb: string): DeployUI {
  return {
    log: (line) => output.appendLine(line),
    step: (title) => progress.report({ message: title }),
    confirm: async (summary, target) => {
      const answer = await vscode.window.showWarningMessage(
        `${verb} to context "${target.context}"${eksLine(target)}?`,
        { modal: true, detail: `${targetSummary(target)}\n\n${summary}` },
        verb,
      );
      return answer === verb;
    },
    offerPoliciesOnly: async (reason, target) => {
      const answer = await vscode.window.showWarningMessage(
        `Kyverno is already installed in "${target.context}". Deploy only the policies?`,
        { modal: true, detail: reason },
        'Deploy policies only',
      );
      return answer === 'Deploy policies only';
    },
  };
}

function client(output: vscode.OutputChannel, kubeconfigPaths: string[] = [], contextName?: string): KubeClient | undefined {
  try {
    // One file: load it; several: client-node merges $KUBECONFIG itself.
    const kube = KubeClient.fromKubeconfig(kubeconfigPaths.length === 1 ? kubeconfigPaths[0] : undefined, contextName);
    return kube;
  } catch (e) {
    output.appendLine(`kubeconfig: ${(e as Error).message}`);
    void vscode.window.showErrorMessage(`Kyverno: ${(e as Error).message}`);
    return undefined;
  }
}

interface Options {
  output: vscode.OutputChannel;
  uri?: vscode.Uri;
  kubeconfigPaths?: string[];
  contextName?: string;
  image?: string;
  namespace?: string;
  policyGlob?: string;
  /** dist/ of the extension: webhook.js lives there. */
  distDir: string;
  /** Where local-mode certificates are kept. */
  storageDir: string;
}

async function deploy(o: Options): Promise<void> {
  const { output } = o;
  const policies = await pickPolicies(output, o.uri, o.policyGlob);
  if (!policies) return;
  const how = await pickMode();
  if (!how) return;
  const kube = client(output, o.kubeconfigPaths, o.contextName);
  if (!kube) return;
  const bundle = join(o.distDir, 'webhook.js');
  if (how.mode !== 'policies-only' && !existsSync(bundle)) {
    void vscode.window.showErrorMessage(`Kyverno: the webhook bundle ${bundle} is missing; rebuild the extension.`);
    return;
  }
  output.show(true);
  let stopLocal: (() => Promise<void>) | undefined;
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'Kyverno: deploy', cancellable: true },
    async (progress, token) => {
      const abort = new AbortController();
      token.onCancellationRequested(() => abort.abort());
      let certs;
      if (how.mode === 'local') {
        const dir = join(o.storageDir, 'local-webhook');
        certs = localCertificates(dir, how.url!);
        // The same webhook as in a cluster (policies watched from the API server, reports,
        // events, status, generate and mutate-existing); only the listener and certificates are local.
        const { startClusterMode } = await import('../../../webhook/cluster-mode');
        const { defaultResourceFilters } = await import('../../../webhook/resource-filters');
        const { trustBundle } = await import('../../../tls/certificates');
        const namespace = o.namespace ?? DEFAULT_NAMESPACE;
        const webhook = await startClusterMode({
          client: kube,
          server: {
            port: Number(new URL(how.url!).port || 443), host: new URL(how.url!).hostname.replace(/^\[|\]$/g, ''),
            tlsCertFile: join(dir, 'tls.crt'), tlsKeyFile: join(dir, 'tls.key'), workerScript: bundle, resourceFilters: defaultResourceFilters(namespace),
          },
          namespace,
          caPem: trustBundle(certs),
          localUrl: how.url,
          log: (line) => output.appendLine(line),
        });
        stopLocal = () => webhook.stop();
      }
      return runDeploy({
        client: kube,
        ui: uiFor(output, progress, 'Deploy'),
        mode: how.mode,
        policies,
        namespace: o.namespace,
        image: o.image,
        webhookCode: how.mode === 'cluster' ? readFileSync(bundle) : undefined,
        localUrl: how.url,
        certs,
        signal: abort.signal,
      });
    },
  );
  if (result.outcome !== 'deployed' && stopLocal) await stopLocal();
  if (result.outcome === 'deployed') {
    const where = result.target ? ` to "${result.target.context}"` : '';
    void vscode.window.showInformationMessage(
      `Kyverno: deployed ${policies.length} polic${policies.length === 1 ? 'y' : 'ies'}${where}${how.mode === 'local' ? ' (the local webhook runs inside VS Code until it closes; undeploy before that)' : ''}.`,
    );
    if (stopLocal) localServers.push({ dispose: () => void stopLocal!() });
  } else {
    // The rollback's own log lines are in the output channel; the notification says whether it finished.
    const incomplete = result.rollbackFailures.length ? ` The rollback could not put back ${result.rollbackFailures.length} object(s); see the log.` : '';
    if (result.outcome === 'cancelled') {
      void vscode.window.showWarningMessage(`Kyverno: deploy cancelled${result.rolledBack.length ? `; rolled back ${result.rolledBack.length} object(s)` : ''}.${incomplete}`);
    } else {
      output.appendLine(`Error: ${result.error ?? 'deploy failed'}`);
      void vscode.window.showErrorMessage(`Kyverno: deploy failed: ${(result.error ?? '').split('\n')[0]}${incomplete}`, 'Show Log').then((a) => a && output.show());
    }
  }
}

/** Local webhooks started by a deploy: stopped by an undeploy (or when the extension host exits). */
const localServers: vscode.Disposable[] = [];

async function undeploy(o: Pick<Options, 'output' | 'kubeconfigPaths' | 'contextName' | 'namespace'>): Promise<void> {
  const { output } = o;
  const kube = client(output, o.kubeconfigPaths, o.contextName);
  if (!kube) return;
  output.show(true);
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'Kyverno: undeploy', cancellable: true },
    (progress, token) => {
      const abort = new AbortController();
      token.onCancellationRequested(() => abort.abort());
      return runUndeploy({ client: kube, ui: uiFor(output, progress, 'Undeploy'), namespace: o.namespace, signal: abort.signal });
    },
  );
  if (result.outcome === 'undeployed') {
    void vscode.window.showInformationMessage(`Kyverno: removed ${result.deleted.length} object(s) from "${result.target?.context}".`);
    for (const d of localServers.splice(0)) d.dispose();
  } else if (result.outcome === 'nothing') void vscode.window.showInformationMessage(`Kyverno: nothing of kyverno-studio found in "${result.target?.context}".`);
  else if (result.outcome === 'failed') void vscode.window.showErrorMessage(`Kyverno: undeploy failed: ${result.error ?? ''}`);
}

/** What client/src/cluster/commands.ts hands over: the checked context, settings and log. */
export interface DeployRequest {
  uri?: vscode.Uri;
  kubeContext: { context: string };
  kubeconfigPaths: string[];
  settings: { policies?: string; webhookImage?: string; webhookNamespace?: string };
  log: { channel: vscode.OutputChannel };
}

export function deployToCluster(r: DeployRequest): Promise<void> {
  return deploy({
    output: r.log.channel,
    uri: r.uri?.scheme === 'file' ? r.uri : undefined,
    kubeconfigPaths: r.kubeconfigPaths,
    contextName: r.kubeContext.context,
    image: r.settings.webhookImage || undefined,
    namespace: r.settings.webhookNamespace || undefined,
    policyGlob: r.settings.policies,
    // The extension bundle (dist/client.js) sits next to dist/webhook.js.
    distDir: __dirname,
    storageDir: join(homedir(), '.kyverno-studio'),
  });
}

export function undeployFromCluster(r: DeployRequest): Promise<void> {
  return undeploy({ output: r.log.channel, kubeconfigPaths: r.kubeconfigPaths, contextName: r.kubeContext.context, namespace: r.settings.webhookNamespace || undefined });
}
