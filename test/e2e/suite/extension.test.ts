/**
 * End-to-end behaviour of Kyverno Studio inside a real VS Code (code-server's Node extension
 * host) on the fixture workspace test/e2e/workspace, with the real language server.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { suite, suiteSetup, test } from 'mocha';
import type { KyvernoStudioApi } from '../../../client/src/extension';
import type { RunReport } from '../../../client/src/run/report';
import type { TestRunRecord } from '../../../client/src/testing/explorer';
import { PERMISSIVE_URI, REDHAT_YAML_ID, SCHEMA_SCHEME } from '../../../client/src/yaml/redhat-contributor';
import { codeOf, kyvernoDiagnostics, lineOf, open, sleep, waitFor, workspaceUri } from './wait';

let api: KyvernoStudioApi;

function rows(report: RunReport) {
  return report.runs.flatMap((run) =>
    run.responses.flatMap((r) => r.rules.map((rule) => ({ resource: String((run.resource.metadata as { name?: string }).name), policy: r.policy.name, rule: rule.name, status: rule.status, path: rule.path }))),
  );
}

function recordFor(file: string): Promise<TestRunRecord> {
  return new Promise((resolve) => {
    const sub = api.tests.onDidFinishFile((record) => {
      if (record.file !== file) return;
      sub.dispose();
      resolve(record);
    });
  });
}

function nextTestRecords(count: number): Promise<TestRunRecord[]> {
  const seen: TestRunRecord[] = [];
  return new Promise((resolve) => {
    const sub = api.tests.onDidFinishFile((record) => {
      seen.push(record);
      if (seen.length >= count) {
        sub.dispose();
        resolve(seen);
      }
    });
  });
}

suite('Kyverno Studio in VS Code', () => {
  suiteSetup(async () => {
    const ext = vscode.extensions.getExtension<KyvernoStudioApi>('kyverno-studio.kyverno-studio');
    assert.ok(ext, 'extension kyverno-studio.kyverno-studio is installed');
    api = await ext.activate();
    await waitFor('the language server', () => api.client?.isRunning());
  });

  test('a policy with a schema error shows the diagnostic on the bad field', async () => {
    const uri = workspaceUri('broken', 'broken-policy.yaml');
    const editor = await open(uri);
    const diag = await waitFor('schema diagnostic', () => kyvernoDiagnostics(uri).find((d) => codeOf(d) === 'KS1104'));
    assert.equal(diag.severity, vscode.DiagnosticSeverity.Error);
    assert.match(diag.message, /Sometimes/);
    assert.equal(diag.range.start.line, lineOf(editor.document, 'failureAction: Sometimes'));
  });

  test('a manifest that violates a workspace policy shows the diagnostic on the violating field', async () => {
    const uri = workspaceUri('manifests', 'pod-bad.yaml');
    const editor = await open(uri);
    const image = await waitFor('registry violation', () => kyvernoDiagnostics(uri).find((d) => d.message.includes('restrict-registries/approved-registry')));
    assert.equal(image.range.start.line, lineOf(editor.document, 'image: docker.io'));
    const label = kyvernoDiagnostics(uri).find((d) => d.message.includes('require-team-label/check-team'));
    assert.ok(label, 'the missing team label is reported too');
    assert.equal(label.range.start.line, lineOf(editor.document, 'labels:'));
    // The compliant pod has no violation.
    const good = workspaceUri('manifests', 'pod-good.yaml');
    await open(good);
    await waitFor('diagnostics of the good pod settle', async () => {
      await new Promise((r) => setTimeout(r, 1500));
      return true;
    });
    assert.deepEqual(kyvernoDiagnostics(good).filter((d) => d.severity === vscode.DiagnosticSeverity.Error), []);
  });

  test('completion offers rule keys inside a rule', async () => {
    const text = 'apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: p\nspec:\n  rules:\n  - name: r\n    \n';
    const doc = await vscode.workspace.openTextDocument({ language: 'yaml', content: text });
    await vscode.window.showTextDocument(doc);
    const position = new vscode.Position(7, 4);
    const labels = await waitFor('rule key completions', async () => {
      const list = await vscode.commands.executeCommand<vscode.CompletionList>('vscode.executeCompletionItemProvider', doc.uri, position);
      const names = list.items.map((i) => (typeof i.label === 'string' ? i.label : i.label.label));
      return names.includes('match') ? names : undefined;
    });
    for (const key of ['match', 'exclude', 'validate', 'mutate', 'generate', 'preconditions', 'context']) assert.ok(labels.includes(key), `${key} in ${labels.join(', ')}`);
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });

  test('running a mutate policy on a file lists the results and opens the mutation diff', async () => {
    const report = await vscode.commands.executeCommand<RunReport>('kyverno.runPolicyAgainstFile', {
      policy: workspaceUri('mutate', 'add-env-label.yaml'),
      resources: [workspaceUri('mutate', 'deployment.yaml')],
    });
    assert.ok(report, 'the command returns its report');
    assert.deepEqual(rows(report).map((r) => `${r.resource} ${r.policy}/${r.rule} ${r.status}`), ['web add-env-label/add-env pass']);
    const labels = (report.runs[0].patched.metadata as { labels: Record<string, string> }).labels;
    assert.equal(labels.env, 'dev');
    // Results view
    const roots = api.results.getChildren();
    assert.equal(roots.length, 1);
    const children = api.results.getChildren(roots[0]).map((n) => api.results.getTreeItem(n));
    assert.ok(children.some((c) => c.contextValue === 'kyverno.mutation'), 'a "show diff" node');
    assert.ok(children.some((c) => String(c.label).includes('add-env-label › add-env') && String(c.description).startsWith('pass')));
    // The diff editor: original on the left, mutated on the right, both read-only virtual documents.
    const diff = await waitFor('diff tab', () =>
      vscode.window.tabGroups.all.flatMap((g) => g.tabs).map((t) => t.input).find((i): i is vscode.TabInputTextDiff => i instanceof vscode.TabInputTextDiff && i.modified.scheme === 'kyverno-result'),
    );
    const original = await vscode.workspace.openTextDocument(diff.original);
    const mutated = await vscode.workspace.openTextDocument(diff.modified);
    assert.doesNotMatch(original.getText(), /env: dev/);
    assert.match(mutated.getText(), /env: dev/);
  });

  test('generated resources open as read-only documents', async () => {
    const report = await vscode.commands.executeCommand<RunReport>('kyverno.runPolicyAgainstFile', {
      policy: workspaceUri('generate', 'default-config.yaml'),
      resources: [workspaceUri('generate', 'namespace.yaml')],
    });
    assert.deepEqual(rows(report).map((r) => `${r.resource} ${r.rule} ${r.status}`), ['team-a generate-config pass']);
    const [resource] = api.results.getChildren();
    const generated = api.results.getChildren(resource).find((n) => n.kind === 'generated');
    assert.ok(generated, 'a generated-resource node');
    assert.equal(api.results.getTreeItem(generated).label, 'Generated ConfigMap team-a/team-defaults');
    await vscode.commands.executeCommand('kyverno.results.openGenerated', generated);
    const doc = await waitFor('generated document', () => vscode.window.activeTextEditor?.document.uri.scheme === 'kyverno-result' ? vscode.window.activeTextEditor.document : undefined);
    assert.equal(doc.languageId, 'yaml');
    assert.match(doc.getText(), /kind: ConfigMap/);
    assert.match(doc.getText(), /owner: payments/);
    // A virtual document: nothing backs it that could be written.
    await assert.rejects(Promise.resolve(vscode.workspace.fs.writeFile(doc.uri, new TextEncoder().encode('x'))));
    assert.equal(doc.isUntitled, false);
  });

  test('running the workspace policies on a manifest reports failures and jumps to the field', async () => {
    const uri = workspaceUri('manifests', 'pod-bad.yaml');
    const editor = await open(uri);
    const report = await vscode.commands.executeCommand<RunReport>('kyverno.runWorkspacePolicies', uri);
    const got = rows(report).map((r) => `${r.policy}/${r.rule} ${r.status}`).sort();
    assert.deepEqual(got, ['require-team-label/check-team fail', 'restrict-registries/approved-registry fail']);
    const [resource] = api.results.getChildren();
    const imageNode = api.results.getChildren(resource).find((n) => n.kind === 'rule' && n.row.policy === 'restrict-registries');
    assert.ok(imageNode);
    const range = await vscode.commands.executeCommand<vscode.Range>('kyverno.results.reveal', imageNode);
    assert.ok(range, 'the result maps to a range');
    assert.equal(range.start.line, lineOf(editor.document, 'image: docker.io'));
    assert.equal(vscode.window.activeTextEditor?.selection.start.line, range.start.line);
  });

  test('the CodeLens runs a rule on nearby resources and then shows its last result', async () => {
    const uri = workspaceUri('policies', 'require-team-label.yaml');
    await open(uri);
    const lenses = await waitFor('run lens', async () => {
      const l = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri);
      return l.find((x) => x.command?.command === 'kyverno.runRule') ? l : undefined;
    });
    const run = lenses.find((x) => x.command?.command === 'kyverno.runRule');
    assert.ok(run?.command);
    assert.deepEqual(run.command.arguments?.slice(1), ['require-team-label', 'check-team']);
    const report = await vscode.commands.executeCommand<RunReport>(run.command.command, ...(run.command.arguments ?? []));
    // The policy's .kyverno-test names both pods as its resources.
    assert.deepEqual(rows(report).map((r) => `${r.resource} ${r.status}`).sort(), ['bad-pod fail', 'good-pod pass']);
    const after = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri);
    assert.ok(after.some((l) => l.command?.title === 'Last run: 1 fail, 1 pass'), after.map((l) => l.command?.title).join(' | '));
  });

  test('the Test Explorer lists kyverno-test.yaml files and runs them like kyverno test', async () => {
    await api.tests.discoverAll();
    const ids: string[] = [];
    api.tests.controller.items.forEach((i) => ids.push(vscode.workspace.asRelativePath(vscode.Uri.parse(i.id))));
    assert.deepEqual(ids.sort(), ['expect-failure/kyverno-test.yaml', 'policies/.kyverno-test/kyverno-test.yaml']);
    const done = nextTestRecords(2);
    await vscode.commands.executeCommand('testing.runAll');
    const records = await done;
    const good = records.find((r) => r.file.endsWith('policies/.kyverno-test/kyverno-test.yaml'));
    const bad = records.find((r) => r.file.endsWith('expect-failure/kyverno-test.yaml'));
    assert.ok(good && bad);
    assert.equal(good.result.rows.length, 4);
    assert.equal(good.outcomes[good.file], 'passed');
    assert.equal(Object.values(good.outcomes).filter((o) => o === 'passed').length, 5);
    assert.equal(bad.outcomes[bad.file], 'failed');
    assert.deepEqual(bad.result.rows.map((r) => [r.expected, r.actual, r.ok]), [['pass', 'fail', false]]);
  });

  test('Create Test for Policy drafts a test that the Test Explorer runs green', async () => {
    const policy = workspaceUri('mutate', 'add-env-label.yaml');
    const created = await vscode.commands.executeCommand<vscode.Uri>('kyverno.createTest', { policy, resources: [workspaceUri('mutate', 'deployment.yaml')], overwrite: true });
    assert.ok(created);
    assert.equal(vscode.workspace.asRelativePath(created), 'mutate/.kyverno-test/kyverno-test.yaml');
    const text = new TextDecoder().decode(await vscode.workspace.fs.readFile(created));
    assert.match(text, /policy: add-env-label/);
    assert.match(text, /rule: add-env/);
    assert.match(text, /result: pass/);
    const item = await waitFor('the new test in the explorer', () => api.tests.controller.items.get(created.toString()));
    assert.ok(item.children.size >= 1, 'one child per expectation');
    const done = recordFor(created.toString());
    await vscode.commands.executeCommand('testing.runAll');
    const mine = await done;
    assert.equal(mine.result.error, null);
    assert.equal(mine.outcomes[mine.file], 'passed');
  });

  test('kyverno.manifests.enable turns manifest diagnostics off and on; policy checks stay', async () => {
    const manifest = workspaceUri('manifests', 'pod-bad.yaml');
    const broken = workspaceUri('broken', 'broken-policy.yaml');
    await open(broken);
    await open(manifest);
    const isManifestCheck = (d: vscode.Diagnostic) => codeOf(d).startsWith('KS2');
    await waitFor('manifest diagnostics', () => kyvernoDiagnostics(manifest).some(isManifestCheck));
    const config = vscode.workspace.getConfiguration('kyverno');
    await config.update('manifests.enable', false, vscode.ConfigurationTarget.Workspace);
    try {
      await waitFor('manifest diagnostics gone', () => !kyvernoDiagnostics(manifest).some(isManifestCheck));
      await waitFor('policy diagnostics kept', () => kyvernoDiagnostics(broken).some((d) => codeOf(d) === 'KS1104'));
    } finally {
      await config.update('manifests.enable', undefined, vscode.ConfigurationTarget.Workspace);
    }
    await waitFor('manifest diagnostics back', () => kyvernoDiagnostics(manifest).some(isManifestCheck));
  });

  test('the status bar shows the EKS context and the policy count', async () => {
    const ctx = await waitFor('kube context', () => api.status.kubeContext);
    assert.deepEqual(ctx.eks, { name: 'demo', region: 'eu-west-1', account: '123456789012' });
    assert.equal(api.status.contextItem.text, '$(cloud) EKS demo (eu-west-1)');
    const count = await api.status.countPolicies();
    assert.equal(count, 5);
    assert.equal(api.status.policiesItem.text, '$(shield) 5 policies');
  });

  test('deploy passes the trust and context checks and hands over to the deploy module', async () => {
    assert.equal(vscode.workspace.isTrusted, true);
    // The deploy module's first step is a quick pick of the policies; dismissing it ends the
    // command before anything reaches a cluster.
    let settled = false;
    const pending = Promise.resolve(vscode.commands.executeCommand<boolean>('kyverno.deploy', workspaceUri('policies', 'require-team-label.yaml'))).then((v) => {
      settled = true;
      return v;
    });
    for (let i = 0; i < 100 && !settled; i++) {
      await sleep(300);
      await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
    }
    assert.equal(await pending, true, 'the command reached the deploy module');
  });

  test('Install CLI on PATH writes a kyverno-studio shim that runs the CLI shipped in the extension', async () => {
    const { spawnSync } = await import('node:child_process');
    const { homedir } = await import('node:os');
    const path = await import('node:path');
    const plan = await vscode.commands.executeCommand<{ kind: string; file?: string }>('kyverno.installCli');
    assert.equal(plan?.kind, 'shim');
    // run.sh gives each VS Code instance its own HOME, so this is not the real ~/.local/bin.
    assert.equal(plan.file, path.join(homedir(), '.local', 'bin', 'kyverno-studio'));
    const r = spawnSync(plan.file!, ['version'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Version: \d+\.\d+\.\d+/);
    const tested = spawnSync(plan.file!, ['test', workspaceUri('policies', '.kyverno-test').fsPath], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(tested.status, 0, tested.stdout + tested.stderr);
    assert.match(tested.stdout, /Test Summary: [1-9]\d* tests passed and 0 tests failed/);
  });

  test('New Policy opens the shipped example policy, checked by the language server', async () => {
    const uri = vscode.Uri.parse(await vscode.commands.executeCommand<string>('kyverno.newPolicy'));
    assert.equal(uri.scheme, 'untitled');
    const editor = vscode.window.activeTextEditor!;
    assert.equal(editor.document.uri.toString(), uri.toString());
    assert.match(editor.document.getText(), /kind: ClusterPolicy[\s\S]*name: require-labels/);
    // The language server takes untitled YAML: an edit that breaks the schema is reported.
    await editor.edit((e) => e.replace(new vscode.Range(editor.document.positionAt(editor.document.getText().indexOf('failureAction: Audit')), editor.document.positionAt(editor.document.getText().indexOf('failureAction: Audit') + 'failureAction: Audit'.length)), 'failureAction: Sometimes'));
    await waitFor('schema diagnostic on the untitled policy', () => kyvernoDiagnostics(uri).find((d) => codeOf(d) === 'KS1104'));
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });

  test('the walkthrough\'s steps link to commands the extension registers', async () => {
    const ext = vscode.extensions.getExtension('kyverno-studio.kyverno-studio')!;
    const walkthroughs = (ext.packageJSON as { contributes: { walkthroughs: Array<{ steps: Array<{ description: string }> }> } }).contributes.walkthroughs;
    const linked = walkthroughs.flatMap((w) => w.steps.flatMap((s) => [...s.description.matchAll(/command:([\w.]+)/g)].map((m) => m[1])));
    assert.ok(linked.length >= 4, 'the steps link to commands');
    const registered = new Set(await vscode.commands.getCommands(true));
    assert.deepEqual(linked.filter((c) => !registered.has(c)), []);
  });

  test('with Red Hat YAML (a stand-in with its API) our schema contributor answers for Kyverno files; without it nothing registers', async () => {
    const redhat = vscode.extensions.getExtension<{ contributors: StandinContributor[] }>(REDHAT_YAML_ID);
    if (!redhat) {
      // Desktop VS Code run (no stand-in installed): nothing changes.
      assert.equal(await api.redhatYaml, false);
      return;
    }
    assert.equal(await api.redhatYaml, true);
    const standin = await redhat.activate();
    const ours = standin.contributors.filter((c) => c.schema === SCHEMA_SCHEME);
    assert.equal(ours.length, 1, 'one contributor for our scheme');
    const policy = workspaceUri('policies', 'require-team-label.yaml');
    const manifest = workspaceUri('manifests', 'pod-good.yaml');
    await open(manifest);
    await open(policy);
    const config = vscode.workspace.getConfiguration('kyverno');
    // standAside (the default): an empty schema for the policy, nothing for the Pod.
    assert.equal(ours[0].requestSchema(policy.toString()), PERMISSIVE_URI);
    assert.deepEqual(JSON.parse(await ours[0].requestSchemaContent(PERMISSIVE_URI)), {});
    assert.equal(ours[0].requestSchema(manifest.toString()), undefined);
    try {
      await config.update('redhatYaml', 'shareSchema', vscode.ConfigurationTarget.Global);
      const uri = ours[0].requestSchema(policy.toString());
      assert.ok(uri, 'a schema for the policy');
      assert.ok(uri.startsWith(`${SCHEMA_SCHEME}://`) && uri !== PERMISSIVE_URI, uri);
      const schema = JSON.parse(await ours[0].requestSchemaContent(uri)) as { allOf: { if: unknown; then: { properties: { apiVersion: { enum: string[] }; spec: unknown } } }[] };
      assert.equal(schema.allOf.length, 1);
      assert.deepEqual(schema.allOf[0].then.properties.apiVersion.enum, ['kyverno.io/v1']);
      assert.ok(schema.allOf[0].then.properties.spec, 'the ClusterPolicy schema of schemas/');
      await config.update('redhatYaml', 'off', vscode.ConfigurationTarget.Global);
      assert.equal(ours[0].requestSchema(policy.toString()), undefined);
    } finally {
      await config.update('redhatYaml', undefined, vscode.ConfigurationTarget.Global);
    }
  });
});

interface StandinContributor {
  schema: string;
  requestSchema: (resource: string) => string | undefined;
  requestSchemaContent: (uri: string) => Promise<string> | string;
  label?: string;
}
