/**
 * A CodeLens on each rule (each CEL policy): "Run on nearby resources" and, once run, the
 * last result inline. Nearby resources are those of a kyverno-test.yaml next to the policy
 * (or in its `.kyverno-test` folder) that tests this file, else the resource files there.
 */
import * as vscode from 'vscode';
import { parseYamlDocuments, classifyDocument } from '../../../engine/loader';
import { readTestSpec } from '../../../engine/testing';
import type { Log } from '../log';
import { objectName, policyWithOnlyRule, ruleAnchors } from '../policies/documents';
import { loadFile, readUriText, sourced, type LoadedFile } from '../policies/workspace';
import { readSettings } from '../settings';
import type { Sourced } from './report';
import { summarize } from './report';
import { Runner, toRange } from './runner';

const YAML = /\.(ya?ml)$/i;

async function listYaml(folder: vscode.Uri): Promise<vscode.Uri[]> {
  try {
    const entries = await vscode.workspace.fs.readDirectory(folder);
    return entries
      .filter(([name, type]) => type === vscode.FileType.File && YAML.test(name))
      .map(([name]) => vscode.Uri.joinPath(folder, name))
      .sort((a, b) => a.path.localeCompare(b.path));
  } catch {
    return [];
  }
}

/** Resources of a test next to the policy that names it; undefined when there is none. */
async function testResources(policy: vscode.Uri, folders: vscode.Uri[]): Promise<vscode.Uri[] | undefined> {
  for (const folder of folders) {
    for (const uri of await listYaml(folder)) {
      if (!/kyverno-test\.ya?ml$/i.test(uri.path)) continue;
      const parsed = parseYamlDocuments(await readUriText(uri), uri.path);
      const doc = parsed.documents.find((d) => classifyDocument(d.value) === 'test');
      if (!doc) continue;
      try {
        const spec = readTestSpec(doc.value);
        const names = spec.policies.map((p) => vscode.Uri.joinPath(folder, p).toString());
        if (names.includes(policy.toString())) return spec.resources.map((r) => vscode.Uri.joinPath(folder, r));
      } catch {
        // a broken test is not a source of resources
      }
    }
  }
  return undefined;
}

export async function nearbyResourceFiles(policy: vscode.Uri): Promise<LoadedFile[]> {
  const folder = vscode.Uri.joinPath(policy, '..');
  const testFolder = vscode.Uri.joinPath(folder, '.kyverno-test');
  const fromTest = await testResources(policy, [testFolder, folder]);
  const candidates = fromTest ?? [...(await listYaml(folder)), ...(await listYaml(testFolder))];
  const out: LoadedFile[] = [];
  for (const uri of candidates) {
    if (uri.toString() === policy.toString()) continue;
    try {
      const file = await loadFile(uri);
      if (file.contents.resources.length > 0) out.push(file);
    } catch {
      // missing or unreadable: nothing to run against
    }
  }
  return out;
}

export class RuleLenses implements vscode.CodeLensProvider {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;

  constructor(private readonly runner: Runner) {
    runner.onDidChangeRuleResults(() => this.changed.fire());
  }

  refresh(): void {
    this.changed.fire();
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    if (!readSettings(document.uri).codeLensEnable) return [];
    const text = document.getText();
    const lenses: vscode.CodeLens[] = [];
    let anchors;
    try {
      anchors = ruleAnchors(text);
    } catch {
      return [];
    }
    for (const a of anchors) {
      const range = toRange(text, a.span);
      const args = [document.uri, a.policyName, a.ruleName];
      lenses.push(new vscode.CodeLens(range, { title: '$(play) Run on nearby resources', command: 'kyverno.runRule', arguments: args }));
      const last = this.runner.lastResult(document.uri.toString(), a.policyName, a.ruleName);
      if (last) {
        lenses.push(new vscode.CodeLens(range, { title: `Last run: ${summarize(last)}`, command: 'kyverno.results.focus', arguments: [] }));
      }
    }
    return lenses;
  }
}

export function registerRuleLenses(runner: Runner, log: Log): vscode.Disposable {
  const lenses = new RuleLenses(runner);
  const runRule = vscode.commands.registerCommand('kyverno.runRule', async (uri: vscode.Uri, policyName: string, ruleName?: string) => {
    try {
      const file = await loadFile(uri);
      const policies: Sourced[] = sourced(file, 'policies')
        .filter((p) => objectName(p.value) === policyName)
        .map((p) => (ruleName ? { ...p, value: policyWithOnlyRule(p.value, ruleName) } : p));
      if (policies.length === 0) {
        void vscode.window.showErrorMessage(`Kyverno: policy ${policyName} not found in ${vscode.workspace.asRelativePath(uri)}.`);
        return undefined;
      }
      const resourceFiles = await nearbyResourceFiles(uri);
      if (resourceFiles.length === 0) {
        void vscode.window.showWarningMessage('Kyverno: no resources next to this policy (or in its .kyverno-test folder). Use "Kyverno: Run Policy Against File…" to pick some.');
        return undefined;
      }
      return await runner.run(`${policyName}${ruleName ? ` › ${ruleName}` : ''} on nearby resources`, {
        policies,
        exceptions: resourceFiles.flatMap((f) => sourced(f, 'exceptions')),
        resources: resourceFiles.flatMap((f) => sourced(f, 'resources')),
      }, { reveal: 'keepEditor' });
    } catch (e) {
      log.error('run rule failed', e);
      void vscode.window.showErrorMessage(`Kyverno: run failed: ${(e as Error).message}`);
      return undefined;
    }
  });
  return vscode.Disposable.from(
    runRule,
    vscode.languages.registerCodeLensProvider([{ language: 'yaml', scheme: 'file' }, { language: 'yaml', scheme: 'untitled' }], lenses),
    vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration('kyverno.codeLens') && lenses.refresh()),
  );
}
