// How the language server reaches the workspace's files: from disk in Node (disk-files.ts) and
// through the client in the browser build (client-files.ts: the worker has no file system), with
// one set of rules for what the scan looks at (workspace.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Connection } from 'vscode-languageserver';
import { clientFiles } from '../../server/src/client-files';
import { diskFiles } from '../../server/src/disk-files';
import { READ_FILE, WORKSPACE_FILES } from '../../server/src/protocol';
import { labelPolicy } from './label-policy';
import { MAX_FILE_BYTES, relativeToFolders, scannedPath, WorkspaceIndex } from '../../server/src/workspace';

const policy = (name: string) => labelPolicy(name);

test('relative paths below workspace folder URIs, for any scheme', () => {
  const folders = ['vscode-vfs://github/org/repo', 'memfs:/ws/'];
  assert.equal(relativeToFolders(folders, 'vscode-vfs://github/org/repo/policies/a%20b.yaml'), 'policies/a b.yaml');
  assert.equal(relativeToFolders(folders, 'memfs:/ws/x.yaml?query#frag'), 'x.yaml');
  assert.equal(relativeToFolders(folders, 'vscode-vfs://github/org/repo2/a.yaml'), undefined, 'a sibling folder with a longer name');
  assert.equal(relativeToFolders(folders, 'vscode-vfs://github/org/repo'), undefined, 'the folder itself');
  assert.equal(relativeToFolders(folders, 'memfs:/ws/%E0%A4%A.yaml'), undefined, 'a malformed escape');
  assert.equal(relativeToFolders([], 'memfs:/ws/x.yaml'), undefined);
});

test('the scan looks at YAML files outside dependency, build and hidden folders', () => {
  assert.ok(scannedPath('policies/p.yaml'));
  assert.ok(scannedPath('p.yml'));
  assert.ok(!scannedPath('policies/p.json'));
  assert.ok(!scannedPath('node_modules/pkg/p.yaml'));
  assert.ok(!scannedPath('a/.git/p.yaml'));
  assert.ok(!scannedPath('.github/workflows/p.yaml'));
  assert.ok(!scannedPath('dist/p.yaml'));
  assert.ok(scannedPath('.hidden.yaml'), 'hidden files are read; hidden folders are not');
  assert.ok(!scannedPath(`${'d/'.repeat(30)}p.yaml`), 'deeper than the walker goes');
});

/** A connection whose requests the test answers as the extension would. */
function fakeClient(files: Record<string, string | null>): { connection: Connection; asked: string[] } {
  const asked: string[] = [];
  const connection = {
    sendRequest: async (method: string, params: { max?: number; uri?: string; maxBytes?: number }) => {
      asked.push(method === READ_FILE ? `read ${params.uri}` : method);
      if (method === WORKSPACE_FILES) return Object.keys(files).slice(0, params.max);
      if (method === READ_FILE) {
        const text = files[params.uri!];
        return typeof text === 'string' && text.length <= params.maxBytes! ? text : null;
      }
      throw new Error(`unexpected ${method}`);
    },
  } as unknown as Connection;
  return { connection, asked };
}

test('the browser build scans the workspace through the client', async () => {
  const { connection, asked } = fakeClient({
    'memfs:/ws/policies/a.yaml': policy('a'),
    'memfs:/ws/node_modules/x/b.yaml': policy('b'),
    'memfs:/ws/other/c.yaml': policy('c'),
    'memfs:/ws/gone.yaml': null,
    'memfs:/elsewhere/d.yaml': policy('d'),
  });
  const index = new WorkspaceIndex(clientFiles(connection, ['memfs:/ws']), 'policies/**');
  assert.equal(await index.scanInSlices(), true);
  assert.deepEqual(index.policies().map((p) => (p.value.metadata as { name: string }).name), ['a']);
  assert.deepEqual(asked, [WORKSPACE_FILES, 'read memfs:/ws/policies/a.yaml'], 'only files the glob and the skip rules keep are read');
  assert.ok(index.accepts('memfs:/ws/policies/z.yaml'));
  assert.ok(!index.accepts('memfs:/ws/other/z.yaml'));
  assert.equal(await index.read('memfs:/ws/gone.yaml'), undefined);

  // A file larger than the scan reads is not read.
  const big = fakeClient({ 'memfs:/ws/big.yaml': `${policy('big')}#${'x'.repeat(MAX_FILE_BYTES)}` });
  const bigIndex = new WorkspaceIndex(clientFiles(big.connection, ['memfs:/ws']));
  await bigIndex.scanInSlices();
  assert.deepEqual(bigIndex.policies(), []);

  // No workspace folder (a single file opened): nothing is asked.
  const none = fakeClient({ 'memfs:/ws/a.yaml': policy('a') });
  await new WorkspaceIndex(clientFiles(none.connection, [])).scanInSlices();
  assert.deepEqual(none.asked, []);
});

test('in Node the same scan walks the disk, and files outside the folders are not accepted', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ks-diskfiles-'));
  try {
    mkdirSync(join(dir, 'policies'));
    mkdirSync(join(dir, 'node_modules'));
    writeFileSync(join(dir, 'policies', 'a.yaml'), policy('a'));
    writeFileSync(join(dir, 'node_modules', 'b.yaml'), policy('b'));
    const files = diskFiles([dir]);
    const index = new WorkspaceIndex(files);
    await index.scanInSlices();
    assert.deepEqual(index.policies().map((p) => (p.value.metadata as { name: string }).name), ['a']);
    assert.equal(files.relative(pathToFileURL(join(dir, 'policies', 'a.yaml')).toString()), 'policies/a.yaml');
    assert.equal(files.relative(pathToFileURL(join(tmpdir(), 'elsewhere.yaml')).toString()), undefined);
    assert.equal(files.relative('memfs:/ws/a.yaml'), undefined);
    assert.equal(await files.read(pathToFileURL(join(dir, 'missing.yaml')).toString()), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
