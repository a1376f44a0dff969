/**
 * Status bar: the active kube context (EKS clusters as `EKS name (region)`) and the number
 * of workspace policies. Reading the kubeconfig is local: no cluster is contacted.
 */
import * as vscode from 'vscode';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, basename } from 'node:path';
import type { Log } from '../log';
import { workspacePolicyFiles } from '../policies/workspace';
import { readSettings } from '../settings';
import { contextLabel, currentContext, kubeconfigPaths, type KubeContext } from './kubeconfig';

export class ClusterStatus implements vscode.Disposable {
  readonly contextItem = vscode.window.createStatusBarItem('kyverno.context', vscode.StatusBarAlignment.Left, 10);
  readonly policiesItem = vscode.window.createStatusBarItem('kyverno.policies', vscode.StatusBarAlignment.Left, 9);
  private context: KubeContext | undefined;
  private paths: string[] = [];
  private policyCount = 0;
  private watchers: vscode.Disposable[] = [];
  private readonly disposables: vscode.Disposable[] = [];
  private countTimer: NodeJS.Timeout | undefined;
  private readonly contextChanged = new vscode.EventEmitter<KubeContext | undefined>();
  /** Fires when the kubeconfig is read again (the context may or may not have changed). */
  readonly onDidChangeContext = this.contextChanged.event;

  constructor(private readonly log: Log) {
    this.contextItem.name = 'Kyverno: Kube Context';
    this.policiesItem.name = 'Kyverno: Policies';
    this.policiesItem.command = 'kyverno.runWorkspacePolicies';
    const yamlWatcher = vscode.workspace.createFileSystemWatcher('**/*.{yaml,yml}');
    const recount = () => this.scheduleCount();
    yamlWatcher.onDidCreate(recount);
    yamlWatcher.onDidChange(recount);
    yamlWatcher.onDidDelete(recount);
    this.disposables.push(
      yamlWatcher,
      vscode.workspace.onDidSaveTextDocument(recount),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('kyverno.kubeconfig')) this.refreshContext();
        if (e.affectsConfiguration('kyverno.policies')) recount();
      }),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.refreshContext()),
    );
    this.refreshContext();
    void this.countPolicies();
  }

  get kubeContext(): KubeContext | undefined {
    return this.context;
  }

  get kubeconfigPaths(): string[] {
    return this.paths;
  }

  get policies(): number {
    return this.policyCount;
  }

  refreshContext(): void {
    this.paths = kubeconfigPaths(readSettings().kubeconfig, process.env.KUBECONFIG, homedir(), delimiter);
    const texts: string[] = [];
    for (const p of this.paths) {
      try {
        texts.push(readFileSync(p, 'utf8'));
      } catch {
        // a missing kubeconfig just means no context
      }
    }
    this.context = currentContext(texts);
    this.watch();
    const ctx = this.context;
    if (!ctx) {
      this.contextItem.text = '$(circle-slash) no kube context';
      this.contextItem.tooltip = `No current-context in ${this.paths.join(', ')}`;
    } else {
      this.contextItem.text = `${ctx.eks ? '$(cloud)' : '$(server-environment)'} ${contextLabel(ctx)}`;
      const lines = [`Kube context: ${ctx.context}`, ctx.cluster && `Cluster: ${ctx.cluster}`, ctx.user && `User: ${ctx.user}`, ctx.namespace && `Namespace: ${ctx.namespace}`, ctx.server && `Server: ${ctx.server}`];
      if (ctx.eks) lines.push(`EKS: ${ctx.eks.name}${ctx.eks.region ? ` in ${ctx.eks.region}` : ''}${ctx.eks.account ? ` (account ${ctx.eks.account})` : ''}`);
      if (!vscode.workspace.isTrusted) lines.push('Untrusted workspace: cluster actions are disabled.');
      this.contextItem.tooltip = lines.filter(Boolean).join('\n');
    }
    this.contextItem.show();
    this.log.info(`kube context: ${ctx ? contextLabel(ctx) : 'none'} (${this.paths.join(delimiter)})`);
    this.contextChanged.fire(ctx);
  }

  private watch(): void {
    for (const w of this.watchers) w.dispose();
    this.watchers = this.paths.map((p) => {
      const w = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(dirname(p)), basename(p)));
      const again = () => this.refreshContext();
      w.onDidChange(again);
      w.onDidCreate(again);
      w.onDidDelete(again);
      return w;
    });
  }

  private scheduleCount(): void {
    clearTimeout(this.countTimer);
    this.countTimer = setTimeout(() => void this.countPolicies(), 500);
  }

  async countPolicies(): Promise<number> {
    try {
      const files = await workspacePolicyFiles();
      this.policyCount = files.reduce((n, f) => n + f.contents.policies.length, 0);
      this.policiesItem.text = `$(shield) ${this.policyCount} ${this.policyCount === 1 ? 'policy' : 'policies'}`;
      this.policiesItem.tooltip = `Kyverno policies in the workspace (kyverno.policies: ${readSettings().policies}) in ${files.length} file(s). Click to run them on the current file.`;
      this.policiesItem.show();
    } catch (e) {
      this.log.error('counting policies failed', e);
    }
    return this.policyCount;
  }

  dispose(): void {
    clearTimeout(this.countTimer);
    for (const w of this.watchers) w.dispose();
    for (const d of this.disposables) d.dispose();
    this.contextChanged.dispose();
    this.contextItem.dispose();
    this.policiesItem.dispose();
  }
}
