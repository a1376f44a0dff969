/**
 * The "Policy Reports" view: the PolicyReports and ClusterPolicyReports of the active kube
 * context, grouped by namespace → policy → rule (or policy → rule → namespace), with counts on
 * every node, a summary chart (a webview of inline SVG), a filter, the resource of a result
 * opened read-only from the cluster at the failing field, and the workspace file that defines
 * the policy. Reports come from a watch (reports-watch.ts) into a pure model
 * (reports-model.ts); the tree refreshes debounced and renders lazily, a few hundred leaves per
 * group at a time. Nothing reads the cluster before the view is shown in a trusted workspace.
 */
import * as vscode from 'vscode';
import { stringify } from 'yaml';
// The Kubernetes client (with @kubernetes/client-node) is loaded when the view first reads a
// cluster, not at activation.
import type { KubeClient } from '../../../kube-api/client';
import { describeRef, type JsonObject } from '../../../kube-api/errors';
import { describeAutogenRules } from '../../../engine/autogen';
import { asArray, asObject } from '../../../engine/core/json';
import type { Log } from '../log';
import { objectName, objectNamespace } from '../policies/documents';
import { workspacePolicyFiles } from '../policies/workspace';
import { statusIcon } from '../run/results-view';
import { locateInText, type JsonPath } from '../yaml/locate';
import { contextLabel } from './kubeconfig';
import { summarySvg } from './reports-chart';
import {
  CLUSTER_SCOPE_LABEL,
  ReportsModel,
  countsLabel,
  failurePath,
  formatFilter,
  isEmptyFilter,
  parseFilter,
  totalOf,
  worstResult,
  type GroupNode,
  type ReportRow,
  type ResourceRef,
} from './reports-model';
import { watchReports } from './reports-watch';
import type { ClusterStatus } from './status';

export const REPORTS_VIEW = 'kyverno.reports';
export const REPORTS_CHART_VIEW = 'kyverno.reportsChart';
export const CLUSTER_SCHEME = 'kyverno-cluster';
/** Leaves shown per group before a "show more" node; each click shows this many more. */
export const LEAF_PAGE = 200;
const REFRESH_DEBOUNCE_MS = 300;

export type ReportNode =
  | { kind: 'group'; path: readonly string[] }
  | { kind: 'row'; row: ReportRow }
  | { kind: 'more'; path: readonly string[]; more: number };

function groupLabel(node: GroupNode): string {
  return node.dimension === 'namespace' && node.value === '' ? CLUSTER_SCOPE_LABEL : node.value || '(unnamed)';
}

function describeResource(r: ResourceRef | undefined): string {
  return r ? describeRef({ apiVersion: r.apiVersion, kind: r.kind, name: r.name, namespace: r.namespace }) : '(no resource)';
}

/** Read-only YAML of cluster objects, fetched when opened (and again on reopen). */
export class ClusterDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly objects = new Map<string, JsonObject | undefined>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly clientOf: () => KubeClient | undefined) {}

  static uriOf(r: ResourceRef): vscode.Uri {
    const safe = (s: string) => encodeURIComponent(s);
    return vscode.Uri.from({ scheme: CLUSTER_SCHEME, path: `/${safe(r.namespace ?? '-')}/${safe(r.kind)}/${safe(r.name)}.yaml`, query: r.apiVersion });
  }

  private static refOf(uri: vscode.Uri): ResourceRef {
    const [ns, kind, file] = uri.path.split('/').slice(1).map(decodeURIComponent);
    return { apiVersion: uri.query, kind, name: file.replace(/\.yaml$/, ''), namespace: ns === '-' ? undefined : ns };
  }

  /** The object last fetched for `uri` (after the document was opened). */
  objectOf(uri: vscode.Uri): JsonObject | undefined {
    return this.objects.get(uri.toString());
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const ref = ClusterDocuments.refOf(uri);
    const client = this.clientOf();
    if (!client) return `# Not connected to a cluster: ${describeResource(ref)} cannot be read.\n`;
    try {
      const obj = await client.get({ apiVersion: ref.apiVersion, kind: ref.kind, name: ref.name, namespace: ref.namespace });
      if (!obj) {
        this.objects.delete(uri.toString());
        return `# ${describeResource(ref)} is no longer in the cluster.\n`;
      }
      const meta = asObject(obj.metadata);
      const { managedFields: _managed, ...rest } = meta;
      const shown = { apiVersion: obj.apiVersion ?? ref.apiVersion, kind: obj.kind ?? ref.kind, ...obj, metadata: rest };
      this.objects.set(uri.toString(), shown);
      return `# ${describeResource(ref)}, read from the cluster (read-only)\n${stringify(shown, { lineWidth: 0 })}`;
    } catch (e) {
      return `# ${describeResource(ref)} could not be read: ${(e as Error).message}\n`;
    }
  }

  dispose(): void {
    this.changed.dispose();
  }
}

export class PolicyReportsView implements vscode.TreeDataProvider<ReportNode>, vscode.WebviewViewProvider, vscode.Disposable {
  readonly model = new ReportsModel();
  private readonly changed = new vscode.EventEmitter<ReportNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly limits = new Map<string, number>();
  private readonly disposables: vscode.Disposable[] = [];
  private tree: vscode.TreeView<ReportNode> | undefined;
  private chart: vscode.WebviewView | undefined;
  private client: KubeClient | undefined;
  private watching: AbortController | undefined;
  private contextName: string | undefined;
  private state = 'Open this view to read the policy reports of the active kube context.';
  private synced = false;
  private refreshTimer: NodeJS.Timeout | undefined;
  private shownVersion = -1;
  readonly documents = new ClusterDocuments(() => this.client);

  constructor(
    private readonly status: ClusterStatus,
    private readonly log: Log,
  ) {}

  register(): vscode.Disposable {
    this.tree = vscode.window.createTreeView(REPORTS_VIEW, { treeDataProvider: this, showCollapseAll: true });
    void vscode.commands.executeCommand('setContext', 'kyverno.reports.grouping', this.model.grouping);
    void vscode.commands.executeCommand('setContext', 'kyverno.reports.filtered', false);
    this.disposables.push(
      this.tree,
      this.documents,
      vscode.workspace.registerTextDocumentContentProvider(CLUSTER_SCHEME, this.documents),
      vscode.window.registerWebviewViewProvider(REPORTS_CHART_VIEW, this),
      this.tree.onDidChangeVisibility((e) => {
        if (e.visible) this.ensureWatching();
      }),
      this.status.onDidChangeContext(() => {
        if (this.watching && this.status.kubeContext?.context !== this.contextName) this.restart();
      }),
      vscode.workspace.onDidGrantWorkspaceTrust(() => {
        if (this.tree?.visible || this.chart?.visible) this.ensureWatching();
      }),
      vscode.commands.registerCommand('kyverno.reports.refresh', () => this.restart()),
      vscode.commands.registerCommand('kyverno.reports.filter', () => this.askFilter()),
      vscode.commands.registerCommand('kyverno.reports.clearFilter', () => this.applyFilter('')),
      vscode.commands.registerCommand('kyverno.reports.groupByPolicy', () => this.group('policy')),
      vscode.commands.registerCommand('kyverno.reports.groupByNamespace', () => this.group('namespace')),
      vscode.commands.registerCommand('kyverno.reports.showMore', (path: readonly string[]) => this.showMore(path)),
      vscode.commands.registerCommand('kyverno.reports.openResource', (node?: ReportNode | ReportRow) => this.openResource(rowOf(node))),
      vscode.commands.registerCommand('kyverno.reports.openPolicy', (node?: ReportNode | ReportRow) => this.openPolicy(node)),
    );
    if (this.tree.visible) this.ensureWatching();
    this.updateMessage();
    return this;
  }

  // ---- the watch -------------------------------------------------------------------------

  /** Starts the watch once the view is shown, only in a trusted workspace (it reads a cluster). */
  private ensureWatching(): void {
    if (this.watching) return;
    if (!vscode.workspace.isTrusted) {
      this.state = 'Policy reports are read from the cluster only in a trusted workspace.';
      this.updateMessage();
      return;
    }
    this.status.refreshContext();
    const ctx = this.status.kubeContext;
    if (!ctx) {
      this.state = `No current kube context in ${this.status.kubeconfigPaths.join(', ')}.`;
      this.updateMessage();
      return;
    }
    const paths = this.status.kubeconfigPaths;
    const abort = new AbortController();
    this.watching = abort;
    this.contextName = ctx.context;
    this.synced = false;
    this.state = `Reading policy reports from ${contextLabel(ctx)}…`;
    this.updateMessage();
    void import('../../../kube-api/client').then(({ KubeClient }) => {
      if (abort.signal.aborted) return;
      try {
        this.client = KubeClient.fromKubeconfig(paths.length === 1 ? paths[0] : undefined, ctx.context);
      } catch (e) {
        // Not watching: showing the view again (or a refresh) tries again.
        if (this.watching === abort) this.watching = undefined;
        this.state = `Cannot read the kubeconfig: ${(e as Error).message}`;
        this.updateMessage();
        return;
      }
      this.watchWith(this.client, abort, ctx);
    });
  }

  private watchWith(client: KubeClient, abort: AbortController, ctx: NonNullable<ClusterStatus['kubeContext']>): void {
    this.log.info(`policy reports: watching ${contextLabel(ctx)}`);
    void watchReports(client, this.model, {
      signal: abort.signal,
      log: (line) => {
        this.log.info(`policy reports: ${line}`);
        if (!this.synced) {
          this.state = `${contextLabel(ctx)}: ${line}`;
          this.updateMessage();
        }
      },
      onChange: () => {
        if (abort.signal.aborted) return;
        this.synced = true;
        this.state = `Policy reports of ${contextLabel(ctx)}`;
        this.scheduleRefresh();
      },
    });
  }

  private restart(): void {
    this.watching?.abort();
    this.watching = undefined;
    this.client = undefined;
    this.model.clear();
    this.limits.clear();
    this.refreshNow();
    if (this.tree?.visible || this.chart?.visible) this.ensureWatching();
  }

  private scheduleRefresh(): void {
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      this.refreshNow();
    }, REFRESH_DEBOUNCE_MS);
  }

  private refreshNow(): void {
    this.updateMessage();
    this.renderChart();
    if (this.shownVersion === this.model.version) return;
    this.shownVersion = this.model.version;
    this.changed.fire(undefined);
  }

  private updateMessage(): void {
    if (!this.tree) return;
    const t = this.model.totals;
    const filter = formatFilter(this.model.filter);
    this.tree.description = this.synced ? `${this.model.reportCount} reports · ${countsLabel(t) || 'no results'}` : undefined;
    // Untrusted: the view's welcome content says why and offers Manage Workspace Trust.
    if (!vscode.workspace.isTrusted) this.tree.message = undefined;
    else this.tree.message = this.synced ? (filter ? `Filter: ${filter}` : undefined) : this.state;
  }

  // ---- tree --------------------------------------------------------------------------------

  getChildren(node?: ReportNode): ReportNode[] {
    if (node?.kind === 'row' || node?.kind === 'more') return [];
    const group = node ? this.model.nodeAt(node.path) : this.model.tree;
    if (!group) return [];
    if (group.rows) {
      const key = group.path.join('\u0000');
      const { rows, more } = this.model.rowsOf(group, this.limits.get(key) ?? LEAF_PAGE);
      const out: ReportNode[] = rows.map((row) => ({ kind: 'row', row }));
      if (more > 0) out.push({ kind: 'more', path: group.path, more });
      return out;
    }
    return this.model.childrenOf(group).map((g) => ({ kind: 'group', path: g.path }));
  }

  getTreeItem(node: ReportNode): vscode.TreeItem {
    if (node.kind === 'more') {
      const item = new vscode.TreeItem(`Show ${Math.min(node.more, LEAF_PAGE)} more (${node.more} not shown)`);
      item.iconPath = new vscode.ThemeIcon('ellipsis');
      item.command = { command: 'kyverno.reports.showMore', title: 'Show More', arguments: [node.path] };
      return item;
    }
    if (node.kind === 'row') {
      const r = node.row;
      const item = new vscode.TreeItem(describeResource(r.resource));
      item.id = `${this.model.grouping}|row|${r.id}`;
      item.description = `${r.result}${r.message ? ` — ${r.message}` : ''}`;
      const tip = new vscode.MarkdownString();
      tip.appendMarkdown(`**${r.result}** · \`${r.policy}\` › \`${r.rule}\`\n\n`);
      tip.appendText(r.message || '(no message)');
      if (r.severity || r.category) tip.appendMarkdown(`\n\n${[r.severity && `severity: ${r.severity}`, r.category && `category: ${r.category}`].filter(Boolean).join(' · ')}`);
      item.tooltip = tip;
      item.iconPath = statusIcon(r.result);
      item.contextValue = 'kyverno.reportResult';
      if (r.resource) item.command = { command: 'kyverno.reports.openResource', title: 'Open Resource', arguments: [r] };
      return item;
    }
    const group = this.model.nodeAt(node.path);
    const item = new vscode.TreeItem(group ? groupLabel(group) : node.path[node.path.length - 1] ?? '', vscode.TreeItemCollapsibleState.Collapsed);
    item.id = `${this.model.grouping}|group|${node.path.join('\u0000')}`;
    if (group) {
      item.description = countsLabel(group.counts);
      item.iconPath = statusIcon(worstResult(group.counts));
      item.tooltip = `${group.dimension} ${groupLabel(group)}: ${totalOf(group.counts)} results (${countsLabel(group.counts)})`;
      item.contextValue = group.dimension === 'policy' ? 'kyverno.reportPolicy' : group.dimension === 'rule' ? 'kyverno.reportRule' : 'kyverno.reportNamespace';
    }
    return item;
  }

  private showMore(path: readonly string[]): void {
    const key = path.join('\u0000');
    this.limits.set(key, (this.limits.get(key) ?? LEAF_PAGE) + LEAF_PAGE);
    this.changed.fire({ kind: 'group', path });
  }

  private group(g: 'namespace' | 'policy'): void {
    this.model.setGrouping(g);
    this.limits.clear();
    void vscode.commands.executeCommand('setContext', 'kyverno.reports.grouping', g);
    this.refreshNow();
  }

  private async askFilter(): Promise<void> {
    const value = await vscode.window.showInputBox({
      title: 'Filter Policy Reports',
      value: formatFilter(this.model.filter),
      prompt: 'Results (fail, warn, error, skip, pass; comma-separated), ns:<namespace wildcard> (ns:- for cluster-scoped), and policy or rule text',
      placeHolder: 'fail,error ns:prod-* require',
    });
    if (value !== undefined) this.applyFilter(value);
  }

  /** Applies a filter typed as in the input box (the e2e suite calls it through the command's value). */
  applyFilter(text: string): void {
    const f = parseFilter(text);
    this.model.setFilter(f);
    this.limits.clear();
    void vscode.commands.executeCommand('setContext', 'kyverno.reports.filtered', !isEmptyFilter(f));
    this.refreshNow();
  }

  // ---- chart -------------------------------------------------------------------------------

  resolveWebviewView(view: vscode.WebviewView): void {
    this.chart = view;
    view.webview.options = { enableScripts: false };
    view.onDidChangeVisibility(() => {
      if (view.visible) {
        this.ensureWatching();
        this.renderChart();
      }
    });
    view.onDidDispose(() => (this.chart = undefined));
    this.ensureWatching();
    this.renderChart();
  }

  private renderChart(): void {
    const view = this.chart;
    if (!view) return;
    const t = this.model.totals;
    const dimension = this.model.grouping === 'namespace' ? 'namespaces' : 'policies';
    const rows = this.model.topGroups(8).map((g) => ({ label: groupLabel(g), counts: g.counts }));
    const body = this.synced
      ? `<p>${this.model.reportCount} reports, ${totalOf(t)} results${isEmptyFilter(this.model.filter) ? '' : ` (filter: ${escapeHtml(formatFilter(this.model.filter))})`}; top ${dimension} by failures:</p>${summarySvg(t, rows)}`
      : `<p>${escapeHtml(this.state)}</p>`;
    view.webview.html = `<!DOCTYPE html><html><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline';"><style>body{font-family:var(--vscode-font-family);font-size:var(--vscode-font-size);color:var(--vscode-foreground)} svg text{fill:var(--vscode-foreground);font-size:11px}</style></head><body>${body}</body></html>`;
  }

  // ---- opening things ----------------------------------------------------------------------

  private async openResource(row: ReportRow | undefined): Promise<void> {
    if (!row?.resource) return;
    if (!this.client) {
      void vscode.window.showWarningMessage('Kyverno: not connected to a cluster.');
      return;
    }
    const uri = ClusterDocuments.uriOf(row.resource);
    const doc = await vscode.workspace.openTextDocument(uri);
    const text = doc.getText();
    const obj = this.documents.objectOf(uri);
    // The failing field when the message names one, else the resource's kind.
    const path: JsonPath = (obj && failurePath(obj, row.message)) || [];
    // The document starts with a one-line comment: the object is its only YAML document.
    const span = obj ? locateInText(text, { docIndex: 0, itemPath: [] }, path) : undefined;
    const selection = span ? new vscode.Range(doc.positionAt(span.start), doc.positionAt(span.end)) : undefined;
    await vscode.window.showTextDocument(doc, { preview: true, selection });
  }

  private async openPolicy(node: ReportNode | ReportRow | undefined): Promise<void> {
    const target = this.policyOf(node);
    if (!target) return;
    const found = await findPolicyInWorkspace(target.policy, target.rule, target.namespace);
    if (!found) {
      void vscode.window.showInformationMessage(`Kyverno: no file of the workspace defines the policy ${target.policy}.`);
      return;
    }
    const doc = await vscode.workspace.openTextDocument(found.uri);
    const span = locateInText(doc.getText(), found.location, found.path);
    const selection = span ? new vscode.Range(doc.positionAt(span.start), doc.positionAt(span.end)) : undefined;
    await vscode.window.showTextDocument(doc, { selection });
  }

  private policyOf(node: ReportNode | ReportRow | undefined): { policy: string; rule?: string; namespace?: string } | undefined {
    const row = rowOf(node);
    if (row) return { policy: row.policy, rule: row.rule, namespace: row.namespace || undefined };
    if (node && 'kind' in node && node.kind === 'group') {
      const levels = this.model.grouping === 'namespace' ? ['namespace', 'policy', 'rule'] : ['policy', 'rule', 'namespace'];
      const at = (d: string) => node.path[levels.indexOf(d)];
      const policy = at('policy');
      if (policy !== undefined) return { policy, rule: at('rule'), namespace: at('namespace') || undefined };
    }
    return undefined;
  }

  dispose(): void {
    this.watching?.abort();
    clearTimeout(this.refreshTimer);
    for (const d of this.disposables) d.dispose();
    this.changed.dispose();
  }
}

function rowOf(node: ReportNode | ReportRow | undefined): ReportRow | undefined {
  if (!node) return undefined;
  if ('kind' in node && (node.kind === 'row' || node.kind === 'group' || node.kind === 'more')) return node.kind === 'row' ? node.row : undefined;
  return node as ReportRow;
}

function escapeHtml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The workspace file defining a policy (reports name a namespaced policy `namespace/name` or
 * `name`), and the path to select: the rule's name (an autogen rule's source rule), else the
 * policy's name.
 */
export async function findPolicyInWorkspace(policy: string, rule: string | undefined, namespace: string | undefined) {
  const [nsPart, namePart] = policy.includes('/') ? policy.split('/', 2) : [namespace, policy];
  let best: { uri: vscode.Uri; location: { docIndex: number; itemPath: JsonPath }; path: JsonPath; score: number } | undefined;
  for (const file of await workspacePolicyFiles()) {
    for (const p of file.contents.policies) {
      if (objectName(p.value) !== namePart) continue;
      const pns = objectNamespace(p.value);
      // A namespaced policy only reports on its own namespace; a cluster-wide one anywhere.
      if (pns && nsPart && pns !== nsPart) continue;
      const rules = asArray(asObject(p.value.spec).rules).map(asObject);
      let index = rule ? rules.findIndex((r) => r.name === rule) : -1;
      if (rule && index < 0) {
        const generated = describeAutogenRules(p.value);
        index = generated.findIndex((g) => g.rules.some((r) => r.name === rule));
      }
      const path: JsonPath = index >= 0 ? ['spec', 'rules', index, 'name'] : ['metadata', 'name'];
      const score = (index >= 0 ? 2 : 0) + (pns === nsPart ? 1 : 0);
      if (!best || score > best.score) best = { uri: file.uri, location: p.location, path, score };
    }
  }
  return best;
}
