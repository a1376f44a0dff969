/**
 * The "Policy Results" tree: one node per resource of the last run, one child per rule
 * result (pass / fail / warn / skip / error with its message), plus the mutation diff and
 * the generated resources. Clicking a result jumps to the field it is about.
 */
import * as vscode from 'vscode';
import type { JsonObject, RuleStatus } from '../../../engine/core/types';
import { describeObject } from '../policies/documents';
import { countStatuses, generatedOf, isMutated, rowsOf, summarize, worstStatus, type ResourceRun, type ResultRow, type RunReport } from './report';

export const RESULTS_VIEW = 'kyverno.results';

export type ResultNode =
  | { kind: 'resource'; run: ResourceRun }
  | { kind: 'rule'; run: ResourceRun; row: ResultRow }
  | { kind: 'mutation'; run: ResourceRun }
  | { kind: 'generated'; run: ResourceRun; resource: JsonObject };

const STATUS_ICONS: Record<RuleStatus, [string, string]> = {
  pass: ['pass', 'testing.iconPassed'],
  fail: ['error', 'testing.iconFailed'],
  warn: ['warning', 'list.warningForeground'],
  error: ['bug', 'testing.iconErrored'],
  skip: ['circle-slash', 'testing.iconSkipped'],
};

export function statusIcon(status: RuleStatus | undefined): vscode.ThemeIcon {
  if (!status) return new vscode.ThemeIcon('circle-outline');
  const [icon, color] = STATUS_ICONS[status];
  return new vscode.ThemeIcon(icon, new vscode.ThemeColor(color));
}

function fileName(uri: string): string {
  return vscode.Uri.parse(uri).path.split('/').pop() ?? uri;
}

export class ResultsTree implements vscode.TreeDataProvider<ResultNode> {
  private report: RunReport | undefined;
  private readonly changed = new vscode.EventEmitter<ResultNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  get current(): RunReport | undefined {
    return this.report;
  }

  show(report: RunReport | undefined): void {
    this.report = report;
    this.changed.fire(undefined);
  }

  getChildren(node?: ResultNode): ResultNode[] {
    if (!this.report) return [];
    if (!node) return this.report.runs.map((run) => ({ kind: 'resource', run }));
    if (node.kind !== 'resource') return [];
    const children: ResultNode[] = rowsOf(node.run).map((row) => ({ kind: 'rule', run: node.run, row }));
    if (isMutated(node.run)) children.push({ kind: 'mutation', run: node.run });
    for (const resource of generatedOf(node.run)) children.push({ kind: 'generated', run: node.run, resource });
    return children;
  }

  getTreeItem(node: ResultNode): vscode.TreeItem {
    switch (node.kind) {
      case 'resource': {
        const counts = countStatuses(rowsOf(node.run));
        const item = new vscode.TreeItem(describeObject(node.run.resource), vscode.TreeItemCollapsibleState.Expanded);
        item.description = `${fileName(node.run.file)} · ${summarize(counts)}`;
        item.iconPath = statusIcon(worstStatus(counts));
        item.contextValue = 'kyverno.resource';
        item.command = { command: 'kyverno.results.reveal', title: 'Go to Resource', arguments: [node] };
        return item;
      }
      case 'rule': {
        const { row } = node;
        const label = row.rule ? `${row.policy} › ${row.rule}` : row.policy;
        const item = new vscode.TreeItem(label, vscode.TreeItemCollapsibleState.None);
        item.description = `${row.status}${row.message ? ` — ${row.message}` : ''}`;
        const tip = new vscode.MarkdownString();
        tip.appendMarkdown(`**${row.status.toUpperCase()}** \`${row.policy}\`${row.rule ? ` › \`${row.rule}\`` : ''}\n\n`);
        if (row.message) tip.appendText(row.message);
        if (row.path?.length) tip.appendMarkdown(`\n\nField: \`${row.path.join('.')}\``);
        item.tooltip = tip;
        item.iconPath = statusIcon(row.status);
        item.contextValue = `kyverno.rule.${row.status}`;
        item.command = { command: 'kyverno.results.reveal', title: 'Go to Field', arguments: [node] };
        return item;
      }
      case 'mutation': {
        const item = new vscode.TreeItem('Mutated resource: show diff', vscode.TreeItemCollapsibleState.None);
        item.iconPath = new vscode.ThemeIcon('diff');
        item.contextValue = 'kyverno.mutation';
        item.command = { command: 'kyverno.results.showDiff', title: 'Show Mutation Diff', arguments: [node] };
        return item;
      }
      case 'generated': {
        const item = new vscode.TreeItem(`Generated ${describeObject(node.resource)}`, vscode.TreeItemCollapsibleState.None);
        item.iconPath = new vscode.ThemeIcon('new-file');
        item.contextValue = 'kyverno.generated';
        item.command = { command: 'kyverno.results.openGenerated', title: 'Open Generated Resource', arguments: [node] };
        return item;
      }
    }
  }
}
