// The shared folder walker and settings globs: loops through symbolic links end, each real
// folder is read once, caps hold, and globs match in linear time.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { walkFiles } from '../../io/walk';
import { compileGlob } from '../../io/glob';
import { WorkspaceIndex } from '../../server/src/workspace';
import { diskFiles } from '../../server/src/disk-files';
import { pathToFileURL } from 'node:url';

let dir = '';
const POLICY = 'apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: NAME\nspec:\n  rules: []\n';

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ks-walk-'));
  mkdirSync(join(dir, 'a/b'), { recursive: true });
  writeFileSync(join(dir, 'one.yaml'), POLICY.replace('NAME', 'one'));
  writeFileSync(join(dir, 'a/two.yaml'), POLICY.replace('NAME', 'two'));
  writeFileSync(join(dir, 'a/b/three.yml'), POLICY.replace('NAME', 'three'));
  writeFileSync(join(dir, 'a/notes.txt'), 'x');
  symlinkSync('.', join(dir, 'self'));
  symlinkSync('..', join(dir, 'a/up'));
  symlinkSync('../..', join(dir, 'a/b/upup'));
  symlinkSync(join(dir, 'a'), join(dir, 'alias-of-a'));
  symlinkSync('one.yaml', join(dir, 'link-to-one.yaml'));
  symlinkSync('missing', join(dir, 'dangling.yaml'));
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('links to . and .. end the walk; every real folder and file is read once', () => {
  const { files, truncated } = walkFiles(dir, { keep: (name) => /\.ya?ml$/.test(name) });
  assert.equal(truncated, undefined);
  const names = files.map((f) => f.slice(dir.length + 1)).sort();
  // alias-of-a is the folder `a` again, and link-to-one.yaml (listed before one.yaml, in
  // byte order) the file one.yaml: each real path is listed once, under its first path.
  assert.deepEqual(names, ['a/b/three.yml', 'a/two.yaml', 'link-to-one.yaml']);
});

test('the file and depth caps stop the walk and say so', () => {
  const capped = walkFiles(dir, { keep: (name) => /\.ya?ml$/.test(name), maxFiles: 2 });
  assert.equal(capped.files.length, 2);
  assert.match(capped.truncated ?? '', /more than 2 files/);
  const shallow = walkFiles(dir, { keep: (name) => /\.ya?ml$/.test(name), maxDepth: 1 });
  assert.ok(shallow.files.every((f) => !f.endsWith('three.yml')));
  assert.match(shallow.truncated ?? '', /deeper than 1 levels/);
});

test('settings globs match like before and in linear time', () => {
  const g = compileGlob('**/*.{yaml,yml}');
  assert.ok(g.test('one.yaml') && g.test('a/b/three.yml'));
  assert.ok(!g.test('a/notes.txt'));
  assert.ok(compileGlob('policies/*.yaml').test('policies/p.yaml'));
  assert.ok(!compileGlob('policies/*.yaml').test('policies/x/p.yaml'));
  assert.ok(compileGlob('p?.yaml').test('p1.yaml'));
  assert.ok(compileGlob('a+b(c)/x.yaml').test('a+b(c)/x.yaml'), 'regex characters are literal');
  const hostile = compileGlob('**/'.repeat(12) + '*.yaml');
  const started = Date.now();
  for (let i = 0; i < 50; i++) hostile.test('a/'.repeat(60) + 'x.yml');
  assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
  assert.throws(() => compileGlob('*'.repeat(5000)), /longer than/);
});

test('the language server workspace scan ends on link loops and reads each policy once', async () => {
  const index = new WorkspaceIndex(diskFiles([dir]));
  const started = Date.now();
  await index.scanInSlices();
  assert.ok(Date.now() - started < 5000);
  const names = index.policies().map((p) => (p.value.metadata as { name: string }).name).sort();
  assert.deepEqual(names, ['one', 'three', 'two']);
  // A hostile glob setting neither blocks nor breaks the scan; an unusable one falls back to the default.
  index.setGlob('**/'.repeat(12) + '*.yaml');
  await index.scanInSlices();
  assert.deepEqual(index.policies().map((p) => (p.value.metadata as { name: string }).name).sort(), ['one', 'two']);
  index.setGlob('*'.repeat(5000));
  assert.ok(index.accepts(pathToFileURL(join(dir, 'one.yaml')).toString()));
});
