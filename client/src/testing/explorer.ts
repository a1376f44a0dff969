/**
 * The Test Explorer: every kyverno-test.yaml of the workspace is a test, with one child per
 * expectation (results entry × resource). Runs go through engine/testing, so outcomes are
 * those of `kyverno-studio test`; a failure shows expected against actual and links to the row.
 */
import { readFileSync } from 'node:fs';
import * as vscode from 'vscode';
import type { TestFileResult, TestRow } from '../../../engine/testing';
import type { Log } from '../log';
import { readUriText } from '../policies/workspace';
import { toRange } from '../run/runner';
import { EXCLUDE_GLOB } from '../settings';
import { runTestFile } from './run-test';
import { declaredTest, expectationOf, type Expectation } from './test-items';
import { coverageStatements, type FileStatements } from './coverage-map';

/**
 * VS Code's test coverage API (1.88+), declared here: the extension supports VS Code 1.82, so
 * the API is looked up at run time and the coverage profile only exists where it is there.
 */
interface CoverageApi {
  FileCoverage: { fromDetails(uri: vscode.Uri, details: readonly unknown[]): object };
  StatementCoverage: new (executed: boolean, location: vscode.Range) => object;
}
type RunWithCoverage = vscode.TestRun & { addCoverage(coverage: object): void };
type CoverageProfile = vscode.TestRunProfile & { loadDetailedCoverage?: (run: vscode.TestRun, coverage: object) => Promise<object[]> };

function coverageApi(): CoverageApi | undefined {
  const api = vscode as unknown as Partial<CoverageApi>;
  return typeof api.FileCoverage === 'function' && typeof api.StatementCoverage === 'function' ? (api as CoverageApi) : undefined;
}

/** The statements of one policy file as VS Code coverage details. */
export function statementDetails(api: CoverageApi, file: FileStatements): object[] {
  return file.statements.map((s) => new api.StatementCoverage(s.exercised, new vscode.Range(s.start.line, s.start.character, s.end.line, s.end.character)));
}

export const TEST_GLOB = '**/kyverno-test.{yaml,yml}';

export type Outcome = 'passed' | 'failed' | 'errored' | 'skipped';

export interface TestRunRecord {
  file: string;
  result: TestFileResult;
  outcomes: Record<string, Outcome>;
}

export class TestExplorer implements vscode.Disposable {
  readonly controller: vscode.TestController;
  private readonly expectations = new WeakMap<vscode.TestItem, Expectation>();
  private readonly finished = new vscode.EventEmitter<TestRunRecord>();
  /** Fires after each test file ran (the e2e suite and other extensions listen). */
  readonly onDidFinishFile = this.finished.event;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly log: Log) {
    this.controller = vscode.tests.createTestController('kyverno', 'Kyverno Tests');
    this.controller.resolveHandler = async (item) => {
      if (!item) await this.discoverAll();
    };
    this.controller.refreshHandler = () => this.discoverAll();
    this.controller.createRunProfile('Run', vscode.TestRunProfileKind.Run, (request, token) => this.run(request, token), true);
    const api = coverageApi();
    if (api) {
      const details = new WeakMap<object, object[]>();
      const profile: CoverageProfile = this.controller.createRunProfile('Run with Coverage', vscode.TestRunProfileKind.Coverage, (request, token) =>
        this.run(request, token, { api, details }),
      );
      profile.loadDetailedCoverage = async (_run, coverage) => details.get(coverage) ?? [];
    }
    const watcher = vscode.workspace.createFileSystemWatcher(TEST_GLOB);
    watcher.onDidCreate((uri) => void this.discover(uri));
    watcher.onDidChange((uri) => void this.discover(uri));
    watcher.onDidDelete((uri) => this.controller.items.delete(uri.toString()));
    this.disposables.push(
      watcher,
      this.finished,
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (/kyverno-test\.ya?ml$/i.test(e.document.uri.path)) void this.discover(e.document.uri);
      }),
    );
  }

  async discoverAll(): Promise<void> {
    const uris = await vscode.workspace.findFiles(TEST_GLOB, EXCLUDE_GLOB, 5000);
    const keep = new Set(uris.map((u) => u.toString()));
    this.controller.items.forEach((item) => {
      if (!keep.has(item.id)) this.controller.items.delete(item.id);
    });
    await Promise.all(uris.map((u) => this.discover(u)));
  }

  async discover(uri: vscode.Uri): Promise<vscode.TestItem | undefined> {
    let text: string;
    try {
      text = await readUriText(uri);
    } catch {
      this.controller.items.delete(uri.toString());
      return undefined;
    }
    const declared = declaredTest(text);
    const file = this.controller.items.get(uri.toString()) ?? this.controller.createTestItem(uri.toString(), vscode.workspace.asRelativePath(uri, false), uri);
    file.description = declared.name || undefined;
    file.error = declared.error ? new vscode.MarkdownString(`Not a runnable Kyverno test: ${declared.error}`) : undefined;
    file.range = new vscode.Range(0, 0, 0, 0);
    const children = declared.expectations.map((e) => {
      const label = `${e.policy}${e.rule ? ` › ${e.rule}` : ''}${e.resource ? ` › ${e.resource}` : ''}`;
      const child = this.controller.createTestItem(e.id, label, uri);
      child.description = `expect ${e.result}`;
      if (e.span) child.range = toRange(text, e.span);
      this.expectations.set(child, e);
      return child;
    });
    file.children.replace(children);
    this.controller.items.add(file);
    return file;
  }

  private async run(request: vscode.TestRunRequest, token: vscode.CancellationToken, coverage?: { api: CoverageApi; details: WeakMap<object, object[]> }): Promise<void> {
    const run = this.controller.createTestRun(request);
    const results: TestFileResult[] = [];
    // Group what was asked for by file: a test file always runs as a whole, like the CLI.
    const byFile = new Map<vscode.TestItem, Set<vscode.TestItem> | 'all'>();
    const roots: vscode.TestItem[] = [];
    if (request.include) roots.push(...request.include);
    else this.controller.items.forEach((i) => roots.push(i));
    for (const item of roots) {
      const file = item.parent ?? item;
      if (item === file) byFile.set(file, 'all');
      else {
        const current = byFile.get(file);
        if (current !== 'all') byFile.set(file, new Set([...(current ?? []), item]));
      }
    }
    try {
      for (const [file, wanted] of byFile) {
        if (token.isCancellationRequested) break;
        const result = await this.runFile(run, file, wanted, request.exclude ?? [], coverage !== undefined);
        if (result) results.push(result);
      }
      if (coverage) this.addCoverage(run as RunWithCoverage, coverage.api, coverage.details, results);
    } finally {
      run.end();
    }
  }

  /** Coverage of the policy files the run's tests name, per file (rules, preconditions, CEL validations). */
  private addCoverage(run: RunWithCoverage, api: CoverageApi, details: WeakMap<object, object[]>, results: TestFileResult[]): void {
    const open = new Map(vscode.workspace.textDocuments.map((d) => [d.uri.fsPath, d.getText()]));
    const readText = (path: string) => {
      try {
        return open.get(path) ?? readFileSync(path, 'utf8');
      } catch {
        return undefined;
      }
    };
    for (const file of coverageStatements(results, readText)) {
      const statements = statementDetails(api, file);
      const fileCoverage = api.FileCoverage.fromDetails(vscode.Uri.file(file.file), statements);
      details.set(fileCoverage, statements);
      run.addCoverage(fileCoverage);
    }
  }

  private async runFile(run: vscode.TestRun, file: vscode.TestItem, wanted: Set<vscode.TestItem> | 'all', exclude: readonly vscode.TestItem[], coverage = false): Promise<TestFileResult | undefined> {
    const uri = file.uri as vscode.Uri;
    await this.discover(uri);
    const children: vscode.TestItem[] = [];
    file.children.forEach((c) => {
      if ((wanted === 'all' || wanted.has(c) || [...wanted].some((w) => w.id === c.id)) && !exclude.some((x) => x.id === c.id)) children.push(c);
    });
    run.started(file);
    children.forEach((c) => run.enqueued(c));
    const started = Date.now();
    const overlay = new Map<string, string>();
    for (const d of vscode.workspace.textDocuments) if (d.isDirty && d.uri.scheme === 'file') overlay.set(d.uri.fsPath, d.getText());
    const result = runTestFile(uri.fsPath, overlay, undefined, coverage);
    const duration = Date.now() - started;
    const outcomes: Record<string, Outcome> = {};
    this.log.info(`test ${vscode.workspace.asRelativePath(uri)}: ${result.error ?? `${result.rows.filter((r) => r.ok).length}/${result.rows.length} rows passed`}`);
    if (result.error !== null) {
      const message = new vscode.TestMessage(result.error);
      message.location = new vscode.Location(uri, new vscode.Position(0, 0));
      run.errored(file, message, duration);
      outcomes[file.id] = 'errored';
      for (const c of children) {
        run.skipped(c);
        outcomes[c.id] = 'skipped';
      }
      this.finished.fire({ file: uri.toString(), result, outcomes });
      return result;
    }
    const rowsByChild = new Map<vscode.TestItem, TestRow[]>();
    const all: vscode.TestItem[] = [];
    file.children.forEach((c) => all.push(c));
    const declared = all.map((c) => this.expectations.get(c)).filter((e): e is Expectation => e !== undefined);
    for (const row of result.rows) {
      const exp = expectationOf(row, declared);
      const child = exp ? all.find((c) => this.expectations.get(c) === exp) : undefined;
      if (!child) {
        this.log.info(`  row without a declared expectation: ${row.policy}/${row.rule}/${row.resource}`);
        continue;
      }
      rowsByChild.set(child, [...(rowsByChild.get(child) ?? []), row]);
    }
    for (const child of children) {
      const rows = rowsByChild.get(child) ?? [];
      const location = child.range ? new vscode.Location(uri, child.range) : undefined;
      if (rows.length === 0) {
        const m = new vscode.TestMessage('No result: the policy or resource of this expectation was not found in the run.');
        m.location = location;
        run.failed(child, m, duration);
        outcomes[child.id] = 'failed';
        continue;
      }
      const failed = rows.filter((r) => !r.ok);
      if (failed.length === 0) {
        run.passed(child, duration);
        outcomes[child.id] = 'passed';
        continue;
      }
      const messages = failed.map((r) => {
        const m = vscode.TestMessage.diff(`${r.resource}: ${r.reason}`, r.expected, r.actual || '(no result)');
        m.location = location;
        return m;
      });
      run.failed(child, messages, duration);
      outcomes[child.id] = 'failed';
    }
    const fileFailed = children.some((c) => outcomes[c.id] !== 'passed');
    if (fileFailed) run.failed(file, [], duration);
    else run.passed(file, duration);
    outcomes[file.id] = fileFailed ? 'failed' : 'passed';
    this.finished.fire({ file: uri.toString(), result, outcomes });
    return result;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    this.controller.dispose();
  }
}
