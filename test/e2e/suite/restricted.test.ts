/**
 * Restricted mode: the workspace is not trusted and its .vscode/settings.json points
 * kyverno.kubeconfig (and the webhook settings) at values that must not be used. What
 * package.json's `capabilities.untrustedWorkspaces` promises: the engine still checks and runs
 * policies, nothing reaches a cluster, and the workspace cannot choose the kubeconfig or the
 * webhook image/namespace.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { suite, suiteSetup, test } from 'mocha';
import type { KyvernoStudioApi } from '../../../client/src/extension';
import type { RunReport } from '../../../client/src/run/report';
import { codeOf, kyvernoDiagnostics, lineOf, open, waitFor, workspaceUri } from './wait';

let api: KyvernoStudioApi;

interface WorkspaceSettings {
  'kyverno.kubeconfig': string;
  'kyverno.webhook.image': string;
  'kyverno.webhook.namespace': string;
  'kyverno.debounceMs': number;
}

async function workspaceSettingsFile(): Promise<WorkspaceSettings> {
  const bytes = await vscode.workspace.fs.readFile(workspaceUri('.vscode', 'settings.json'));
  return JSON.parse(new TextDecoder().decode(bytes)) as WorkspaceSettings;
}

suite('Kyverno Studio in an untrusted workspace (restricted mode)', () => {
  suiteSetup(async () => {
    assert.equal(vscode.workspace.isTrusted, false, 'restricted.sh opens a workspace that is not trusted');
    const ext = vscode.extensions.getExtension<KyvernoStudioApi>('kyverno-studio.kyverno-studio');
    assert.ok(ext, 'extension kyverno-studio.kyverno-studio is installed');
    api = await ext.activate();
    await waitFor('the language server', () => api.client?.isRunning());
  });

  test('the workspace settings file is read, except the restricted kyverno settings', async () => {
    const file = await workspaceSettingsFile();
    const c = vscode.workspace.getConfiguration('kyverno');
    // An unrestricted setting from the same file applies: the file is really in effect...
    assert.equal(c.get('debounceMs'), file['kyverno.debounceMs']);
    // ...but the restricted ones fall back to their defaults.
    assert.ok(file['kyverno.kubeconfig'], 'the fixture sets kyverno.kubeconfig');
    assert.equal(c.get('kubeconfig'), '');
    assert.notEqual(c.get('webhook.image'), file['kyverno.webhook.image']);
    assert.equal(c.get('webhook.image'), 'public.ecr.aws/docker/library/node:22-alpine');
    assert.equal(c.get('webhook.namespace'), 'kyverno-studio');
  });

  test('the status bar ignores the kubeconfig chosen by the workspace', async () => {
    const file = await workspaceSettingsFile();
    const ctx = await waitFor('kube context', () => api.status.kubeContext);
    assert.ok(!api.status.kubeconfigPaths.includes(file['kyverno.kubeconfig']), `paths: ${api.status.kubeconfigPaths.join(', ')}`);
    assert.deepEqual(ctx.eks, { name: 'demo', region: 'eu-west-1', account: '123456789012' });
    assert.equal(api.status.contextItem.text, '$(cloud) EKS demo (eu-west-1)');
    assert.match(String(api.status.contextItem.tooltip), /Untrusted workspace: cluster actions are disabled/);
  });

  test('policies are still checked: diagnostics on a policy and on a violating manifest', async () => {
    const broken = workspaceUri('broken', 'broken-policy.yaml');
    await open(broken);
    await waitFor('schema diagnostic', () => kyvernoDiagnostics(broken).find((d) => codeOf(d) === 'KS1104'));
    const uri = workspaceUri('manifests', 'pod-bad.yaml');
    const editor = await open(uri);
    const image = await waitFor('registry violation', () => kyvernoDiagnostics(uri).find((d) => d.message.includes('restrict-registries/approved-registry')));
    assert.equal(image.range.start.line, lineOf(editor.document, 'image: docker.io'));
  });

  test('policies are still run by the embedded engine', async () => {
    const uri = workspaceUri('manifests', 'pod-bad.yaml');
    await open(uri);
    const report = await vscode.commands.executeCommand<RunReport>('kyverno.runWorkspacePolicies', uri);
    const got = report.runs.flatMap((run) => run.responses.flatMap((r) => r.rules.map((rule) => `${r.policy.name}/${rule.name} ${rule.status}`))).sort();
    assert.deepEqual(got, ['require-team-label/check-team fail', 'restrict-registries/approved-registry fail']);
  });

  test('deploy and undeploy refuse to run (their handlers are reachable through the API)', async () => {
    // `enablement: isWorkspaceTrusted` only gates the UI; executeCommand reaches the handler,
    // which must refuse before any kube client exists. A dialog or quick pick here would mean
    // the command went on; false means it stopped at the trust check.
    const deployed = await vscode.commands.executeCommand<boolean>('kyverno.deploy', workspaceUri('policies', 'require-team-label.yaml'));
    assert.equal(deployed, false);
    const undeployed = await vscode.commands.executeCommand<boolean>('kyverno.undeploy');
    assert.equal(undeployed, false);
  });
});
