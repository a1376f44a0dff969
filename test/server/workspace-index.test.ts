// The language server's workspace index (server/src/workspace.ts) and the reuse of manifest
// results (ManifestResults): what is parsed, what is kept, what is evaluated again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { mayHoldEvaluationDocuments } from '../../engine/loader/classify';
import { walkFiles } from '../../io/walk';
import { parseFile, workspacePolicies, policySet, ManifestResults, evaluateManifests, type WorkspacePolicy } from '../../server/src/service';
import { WorkspaceIndex } from '../../server/src/workspace';
import { entryOf, entryOfText, toCached } from '../../server/src/scan-entry';
import { diskFiles } from '../../server/src/disk-files';
import { labelPolicy } from './label-policy';

const policy = (name: string, kind: string, label: string) => labelPolicy(name, { kind, label, message: `${label} is required` });

const POD = (comment = '') => `apiVersion: v1
kind: Pod
metadata:
  name: web${comment}
spec:
  containers:
  - name: c
    image: nginx:1.27
`;

test('the text pre-check keeps every text that holds a policy, exception or binding', () => {
  for (const text of [
    'apiVersion: kyverno.io/v1\nkind: ClusterPolicy\n',
    'apiVersion: "policies.kyverno.io/v1alpha1"\nkind: ValidatingPolicy\n',
    "{apiVersion: 'admissionregistration.k8s.io/v1', kind: ValidatingAdmissionPolicyBinding}",
    '{"apiVersion":"kyverno.io/v2","kind":"PolicyException"}',
    'apiVersion:\n  kyverno.io/v1\nkind: ClusterPolicy\n',
    'apiVersion: "kyverno\\x2eio/v1"\nkind: ClusterPolicy\n',
  ]) {
    assert.ok(mayHoldEvaluationDocuments(text), text);
    assert.equal(workspacePolicies(parseFile('file:///t.yaml', text)).length, 1, text);
  }
  for (const text of ['apiVersion: v1\nkind: Pod\n', 'apiVersion: cli.kyverno.io/v1alpha1\nkind: Test\n', 'apiVersion: wgpolicyk8s.io/v1alpha2\nkind: PolicyReport\n', 'apiVersion: reports.kyverno.io/v1\n']) {
    assert.equal(mayHoldEvaluationDocuments(text), false, text);
  }
});

test('on both corpora, a file the text pre-check skips holds no policy, exception or binding', (t) => {
  const root = resolve(__dirname, '../../../shared/conformance');
  if (!existsSync(root)) {
    t.skip(`corpora not found at ${root}`);
    return;
  }
  let skipped = 0;
  const wrong: string[] = [];
  for (const file of walkFiles(root, { keep: (name) => /\.ya?ml$/.test(name) }).files) {
    const text = readFileSync(file, 'utf8');
    if (mayHoldEvaluationDocuments(text)) continue;
    skipped++;
    if (workspacePolicies(parseFile(pathToFileURL(file).toString(), text)).length) wrong.push(file);
  }
  assert.deepEqual(wrong, []);
  assert.ok(skipped > 1000, `${skipped} files skipped`);
});

test('on both corpora, the scan (values only) gets from each file what the editor\'s full parse of it gives', (t) => {
  const root = resolve(__dirname, '../../../shared/conformance');
  if (!existsSync(root)) {
    t.skip(`corpora not found at ${root}`);
    return;
  }
  let contributing = 0;
  for (const file of walkFiles(root, { keep: (name) => /\.ya?ml$/.test(name) }).files) {
    const uri = pathToFileURL(file).toString();
    const text = readFileSync(file, 'utf8');
    const scanned = toCached(entryOfText(uri, text));
    assert.deepStrictEqual(scanned, toCached(entryOf(parseFile(uri, text))), file);
    if (scanned) contributing++;
  }
  assert.ok(contributing > 600, `${contributing} files contribute`);
});

test('the workspace index: slices, open buffers win over the disk, unchanged files keep their objects', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ks-wsindex-'));
  try {
    writeFileSync(join(dir, 'a.yaml'), policy('a', 'Pod', 'team'));
    writeFileSync(join(dir, 'b.yaml'), policy('b', 'ConfigMap', 'owner'));
    writeFileSync(join(dir, 'pod.yaml'), POD());
    const index = new WorkspaceIndex(diskFiles([dir]));
    assert.equal(index.ready, false);
    assert.equal(await index.scanInSlices(), true);
    assert.equal(index.ready, true);
    assert.deepEqual(index.policies().map((p) => (p.value.metadata as { name: string }).name).sort(), ['a', 'b']);
    const first = index.policySet();
    assert.equal(index.policySet(), first, 'one PolicySet per version');

    // An open buffer replaces the file's policies; a later scan leaves it alone.
    const uri = pathToFileURL(join(dir, 'a.yaml')).toString();
    assert.equal(index.updateBuffer(uri, parseFile(uri, policy('a', 'Pod', 'tier'))), true);
    await index.scanInSlices();
    assert.ok(JSON.stringify(index.policies()).includes('tier is required'));
    const bObject = index.policies().find((p) => (p.value.metadata as { name: string }).name === 'b')!.value;
    // The same text again changes nothing, and keeps the objects the engine caches on.
    assert.equal(index.update(pathToFileURL(join(dir, 'b.yaml')).toString(), policy('b', 'ConfigMap', 'owner')), false);
    assert.equal(index.policies().find((p) => (p.value.metadata as { name: string }).name === 'b')!.value, bObject);
    // Closing the buffer brings back the disk's version.
    assert.equal(index.closeBuffer(uri, readFileSync(join(dir, 'a.yaml'), 'utf8')), true);
    assert.ok(JSON.stringify(index.policies()).includes('team is required'));

    // A newer scan supersedes an older one.
    const older = index.scanInSlices();
    const newer = index.scanInSlices();
    assert.deepEqual(await Promise.all([older, newer]), [false, true]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('manifest results are reused while the manifests and their candidate policies are unchanged', () => {
  const ws = (texts: string[]): WorkspacePolicy[] => texts.flatMap((text, i) => workspacePolicies(parseFile(`file:///ws/p${i}.yaml`, text)));
  const podPolicy = ws([policy('pods', 'Pod', 'team')]);
  const cmPolicy = ws([policy('cms', 'ConfigMap', 'owner')]);
  const results = new ManifestResults();
  const set1 = policySet([...podPolicy, ...cmPolicy]);
  const before = results.diagnostics(parseFile('file:///m.yaml', POD()), set1);
  assert.equal(before.length, 1);
  assert.equal(results.evaluations, 1);

  // A comment is no change to the manifest: reused, and placed on the new text.
  const shifted = '# a comment\n' + POD();
  const again = results.diagnostics(parseFile('file:///m.yaml', shifted), set1);
  assert.equal(results.evaluations, 1);
  assert.deepEqual(again, evaluateManifests(parseFile('file:///m.yaml', shifted), set1));
  assert.equal(again[0].range.start.line, before[0].range.start.line + 1);

  // Another workspace version in which only a ConfigMap policy changed: still reused.
  const set2 = policySet([...podPolicy, ...ws([policy('cms', 'ConfigMap', 'tier')])]);
  results.diagnostics(parseFile('file:///m.yaml', shifted), set2);
  assert.equal(results.evaluations, 1);

  // The Pod policy changed, or the manifest did: evaluated again.
  const set3 = policySet([...ws([policy('pods', 'Pod', 'app')]), ...cmPolicy]);
  assert.match(results.diagnostics(parseFile('file:///m.yaml', shifted), set3)[0].message, /app is required/);
  assert.equal(results.evaluations, 2);
  results.diagnostics(parseFile('file:///m.yaml', POD('-2')), set3);
  assert.equal(results.evaluations, 3);
});
