/**
 * Runs policies against resource files in the extension host and shows the outcome: the
 * results tree, the mutation diff, generated resources, and the per-rule summary the
 * CodeLens displays.
 */
import * as vscode from 'vscode';
import { stringify } from 'yaml';
import type { JsonObject } from '../../../engine/core/types';
import { GO_YAML_OPTIONS } from '../../../engine/loader';
import type { Log } from '../log';
import { describeObject, objectName } from '../policies/documents';
import { readUriText } from '../policies/workspace';
import { locateInText, positionsOf, type TextSpan } from '../yaml/locate';
import { countStatuses, isMutated, rowsOf, runPolicies, summarize, type ResourceRun, type RunInput, type RunReport, type StatusCounts } from './report';
import { RESULTS_VIEW, type ResultNode, type ResultsTree } from './results-view';
import type { ResultDocuments } from './virtual-docs';

export interface RunOptions {
  /** Open the diff of the first mutated resource (the interactive commands do). */
  openDiff?: boolean;
  /**
   * Show the results view: 'focus' moves the focus there; 'keepEditor' gives it back to the
   * editor (CodeLens runs: VS Code refreshes lenses only while their editor has focus).
   */
  reveal?: 'focus' | 'keepEditor';
}

export class Runner {
  /** Last outcome per `policyFile#policy#rule`, for the CodeLens. */
  private readonly lastByRule = new Map<string, StatusCounts>();
  private readonly ruleResultsChanged = new vscode.EventEmitter<void>();
  readonly onDidChangeRuleResults = this.ruleResultsChanged.event;

  constructor(
    private readonly tree: ResultsTree,
    private readonly docs: ResultDocuments,
    private readonly log: Log,
  ) {}

  static ruleKey(policyFile: string, policy: string, rule: string | undefined): string {
    return `${policyFile}#${policy}#${rule ?? ''}`;
  }

  lastResult(policyFile: string, policy: string, rule: string | undefined): StatusCounts | undefined {
    return this.lastByRule.get(Runner.ruleKey(policyFile, policy, rule));
  }

  async run(title: string, input: RunInput, options: RunOptions = {}): Promise<RunReport> {
    const started = Date.now();
    const report = runPolicies(title, input);
    const rows = report.runs.flatMap(rowsOf);
    this.log.info(`${title}: ${input.policies.length} policies × ${input.resources.length} resources → ${summarize(countStatuses(rows))} (${Date.now() - started} ms)`);
    for (const run of report.runs) {
      for (const row of rowsOf(run)) {
        this.log.info(`  ${row.status.toUpperCase().padEnd(5)} ${describeObject(run.resource)} ${row.policy}${row.rule ? `/${row.rule}` : ''}${row.message ? `: ${row.message}` : ''}`);
      }
    }
    this.remember(input, report);
    this.tree.show(report);
    if (options.reveal) {
      await vscode.commands.executeCommand(`${RESULTS_VIEW}.focus`);
      if (options.reveal === 'keepEditor') await vscode.commands.executeCommand('workbench.action.focusActiveEditorGroup');
    }
    const firstMutated = report.runs.find(isMutated);
    if (options.openDiff && firstMutated) await this.showDiff(firstMutated);
    return report;
  }

  /** Stores per-rule counts; rules of a policy that produced nothing are remembered as empty. */
  private remember(input: RunInput, report: RunReport): void {
    const byPolicy = new Map<string, string>();
    for (const p of input.policies) byPolicy.set(objectName(p.value), p.file);
    const fresh = new Map<string, StatusCounts>();
    const counts = (key: string) => {
      let c = fresh.get(key);
      if (!c) fresh.set(key, (c = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 }));
      return c;
    };
    for (const p of input.policies) {
      const spec = p.value.spec as { rules?: Array<{ name?: unknown }> } | undefined;
      const rules = Array.isArray(spec?.rules) ? spec.rules.map((r) => String(r?.name ?? '')) : [undefined];
      for (const r of rules) counts(Runner.ruleKey(p.file, objectName(p.value), r));
    }
    for (const run of report.runs) {
      for (const row of rowsOf(run)) {
        const file = byPolicy.get(row.policy);
        if (!file) continue;
        // autogen-<rule> and autogen-cronjob-<rule> results belong to <rule>'s lens.
        const base = row.rule.replace(/^autogen-(cronjob-)?/, '');
        const key = fresh.has(Runner.ruleKey(file, row.policy, base)) ? Runner.ruleKey(file, row.policy, base) : Runner.ruleKey(file, row.policy, undefined);
        counts(key)[row.status]++;
      }
    }
    for (const [k, v] of fresh) this.lastByRule.set(k, v);
    this.ruleResultsChanged.fire();
  }

  async showDiff(run: ResourceRun): Promise<void> {
    const name = objectName(run.resource) || 'resource';
    const left = this.docs.put(`${name}.original.yaml`, stringify(run.resource, GO_YAML_OPTIONS));
    const right = this.docs.put(`${name}.mutated.yaml`, stringify(run.patched, GO_YAML_OPTIONS));
    await vscode.commands.executeCommand('vscode.diff', left, right, `${describeObject(run.resource)}: original ↔ mutated`, { preview: false });
  }

  async openGenerated(resource: JsonObject): Promise<void> {
    const uri = this.docs.put(`${String(resource.kind ?? 'resource')}-${objectName(resource) || 'generated'}.yaml`, stringify(resource, GO_YAML_OPTIONS));
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.languages.setTextDocumentLanguage(doc, 'yaml');
    await vscode.window.showTextDocument(doc, { preview: false });
  }

  /** Opens the resource's file with the result's field (or the resource) selected. */
  async reveal(node: ResultNode): Promise<vscode.Range | undefined> {
    const uri = vscode.Uri.parse(node.run.file);
    const text = await readUriText(uri);
    const path = node.kind === 'rule' ? node.row.path ?? [] : [];
    const span = locateInText(text, node.run.location, path);
    const editor = await vscode.window.showTextDocument(uri, { preview: true });
    if (!span) return undefined;
    const range = toRange(text, span);
    editor.selection = new vscode.Selection(range.start, range.end);
    editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    return range;
  }

  register(): vscode.Disposable {
    return vscode.Disposable.from(
      this.ruleResultsChanged,
      vscode.commands.registerCommand('kyverno.results.reveal', (node: ResultNode) => this.reveal(node)),
      vscode.commands.registerCommand('kyverno.results.showDiff', (node: ResultNode) => this.showDiff(node.run)),
      vscode.commands.registerCommand('kyverno.results.openGenerated', (node: ResultNode) =>
        node.kind === 'generated' ? this.openGenerated(node.resource) : undefined,
      ),
      vscode.commands.registerCommand('kyverno.results.clear', () => this.tree.show(undefined)),
    );
  }
}

export function toRange(text: string, span: TextSpan): vscode.Range {
  const at = positionsOf(text);
  const s = at(span.start);
  const e = at(span.end);
  return new vscode.Range(s.line, s.character, e.line, e.character);
}
