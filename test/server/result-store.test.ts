// Manifest diagnostics kept across server starts (server/src/result-store.ts): a reopened
// manifest publishes its stored result only when every input is the one it was computed from,
// what it publishes is what a fresh server publishes, and the live evaluation follows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DiskResultStore, MAX_RESULT_ENTRIES } from '../../server/src/result-store';
import { WorkspaceIndex, type ResultStore, type WorkspaceFiles } from '../../server/src/workspace';
import type { PublishedDiagnostics } from './lsp-client';
import { ScanCache, diskEntryCache } from '../../server/src/scan-cache';
import { diskFiles } from '../../server/src/disk-files';
import { labelPolicy } from './label-policy';

const policy = (name: string, message?: string) => labelPolicy(name, { message });

const POD = `apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - name: c
    image: nginx:1.27
`;

const tempDir = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));

test('the store finds a result only under its key and build, and keeps the text as opened and the latest', () => {
  const dir = tempDir('ks-results-');
  try {
    const store = DiskResultStore.open(dir, ['/ws'], 'build-1');
    assert.notEqual(store.key('a'), store.key('b'));
    assert.equal(store.key('a'), DiskResultStore.open(dir, ['/ws'], 'build-1').key('a'));
    assert.notEqual(store.key('a'), DiskResultStore.open(dir, ['/ws'], 'build-2').key('a'), 'another build gives other keys');
    const d = (m: string) => [{ message: m, range: {} }];
    store.put('file:///m.yaml', 'opened', d('opened'));
    for (let i = 0; i < 5; i++) store.put('file:///m.yaml', `edit-${i}`, d(`edit-${i}`));
    store.flush();
    const again = DiskResultStore.open(dir, ['/ws'], 'build-1');
    assert.deepEqual(again.get('file:///m.yaml', 'opened'), d('opened'));
    assert.deepEqual(again.get('file:///m.yaml', 'edit-4'), d('edit-4'));
    assert.equal(again.get('file:///m.yaml', 'edit-3'), undefined);
    assert.equal(again.get('file:///other.yaml', 'opened'), undefined);
    assert.equal(DiskResultStore.open(dir, ['/ws'], 'build-2').has('file:///m.yaml'), false, 'another build starts empty');
    assert.equal(DiskResultStore.open(dir, ['/other'], 'build-1').has('file:///m.yaml'), false, 'another workspace starts empty');
    for (let i = 0; i <= MAX_RESULT_ENTRIES; i++) again.put(`file:///n${i}.yaml`, 'k', d('n'));
    assert.equal(again.has('file:///m.yaml'), false, 'the least recently stored document goes first');
    // A damaged file is an empty store.
    const file = readdirSync(dir).find((f) => f.startsWith('workspace-results-'))!;
    writeFileSync(join(dir, file), '{"format":1,"buildId":"build-1","entries":{"file:///m.yaml":[{"key":"opened","diagnostics":[7]}]}}');
    assert.equal(DiskResultStore.open(dir, ['/ws'], 'build-1').has('file:///m.yaml'), false);
    writeFileSync(join(dir, file), 'not json');
    assert.equal(DiskResultStore.open(dir, ['/ws'], 'build-1').has('file:///m.yaml'), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the workspace's evaluation digest changes with any policy, exception or binding, and only then", async () => {
  const texts = new Map([['file:///ws/a.yaml', policy('a')], ['file:///ws/b.yaml', policy('b')]]);
  const files: WorkspaceFiles = {
    list: async () => [...texts.keys()],
    read: async (uri) => texts.get(uri),
    relative: (uri) => uri.slice('file:///ws/'.length),
  };
  const store: ResultStore = { key: (m) => `#${m.length}:${m}`, has: () => false, get: () => undefined, put: () => undefined, flush: () => undefined };
  const index = new WorkspaceIndex(files);
  await index.scanInSlices();
  const first = index.evaluationDigest(store);
  assert.ok(first);
  assert.equal(index.update('file:///ws/a.yaml', policy('a')), false);
  assert.equal(index.evaluationDigest(store), first, 'an unchanged file keeps the digest');
  index.update('file:///ws/a.yaml', policy('a', 'another message'));
  const edited = index.evaluationDigest(store);
  assert.notEqual(edited, first);
  index.update('file:///ws/e.yaml', `apiVersion: kyverno.io/v2
kind: PolicyException
metadata:
  name: e
spec:
  exceptions:
  - policyName: a
    ruleNames: [r]
  match:
    any:
    - resources:
        kinds: [Pod]
`);
  assert.notEqual(index.evaluationDigest(store), edited, 'an exception counts');
  index.update('file:///ws/a.yaml', policy('a', 'another message').replace('name: r', 'name: r\n    x: .inf'));
  assert.equal(index.evaluationDigest(store), null, 'a value JSON cannot carry exactly gives no digest');
});

test('a workspace reopened from the scan cache has the same digest without serializing its policies', async () => {
  const dir = tempDir('ks-results-digest-');
  const cacheDir = tempDir('ks-results-digest-cache-');
  try {
    writeFileSync(join(dir, 'a.yaml'), policy('a'));
    writeFileSync(join(dir, 'b.yaml'), policy('b') + '---\n' + policy('c'));
    const open = () => {
      const store = DiskResultStore.open(cacheDir, [dir], 'build-1');
      let keyed = 0;
      const counting: ResultStore = Object.assign(Object.create(store), { key: (m: string) => (keyed++, store.key(m)) });
      const files = { ...diskFiles([dir], diskEntryCache(ScanCache.open(cacheDir, [dir], 'build-1', { racyMs: 0 }))), results: counting };
      return { index: new WorkspaceIndex(files), store: counting, keyed: () => keyed };
    };
    const cold = open();
    await cold.index.scanInSlices();
    cold.index.saveCache();
    assert.equal(cold.keyed(), 3, 'one digest per policy, computed when the cache is saved');
    const digest = cold.index.evaluationDigest(cold.store);
    const warm = open();
    await warm.index.scanInSlices();
    assert.equal(warm.index.evaluationDigest(warm.store), digest);
    assert.equal(warm.keyed(), 1, "only the workspace's digest of the stored ones");
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(cacheDir, { recursive: true, force: true });
  }
});

const STORED = 'STORED ';

/** A workspace of three Enforce policies on Pods, a cache folder, and a manifest outside both (same URI each time). */
function setup() {
  const dir = tempDir('ks-results-ws-');
  const cacheDir = tempDir('ks-results-cache-');
  const elsewhere = tempDir('ks-results-manifest-');
  writeFileSync(join(dir, 'a.yaml'), policy('a'));
  writeFileSync(join(dir, 'b.yaml'), policy('b') + '---\n' + policy('c'));
  const manifest = pathToFileURL(join(elsewhere, 'pod.yaml')).toString();
  const storeFile = () => {
    const f = readdirSync(cacheDir).find((n) => n.startsWith('workspace-results-'));
    return f && join(cacheDir, f);
  };
  /** Marks every stored diagnostic, keeping the keys: published, it can only come from the store. */
  const tamper = () => {
    const file = storeFile();
    assert.ok(file, 'the results were stored');
    const data = JSON.parse(readFileSync(file, 'utf8'));
    for (const list of Object.values(data.entries) as Array<Array<{ diagnostics: Array<{ message: string }> }>>) {
      for (const e of list) for (const d of e.diagnostics) d.message = STORED + d.message;
    }
    writeFileSync(file, JSON.stringify(data));
  };
  /** Puts back a store saved by `saved()` (each check then starts from the same stored result). */
  const saved = () => readFileSync(storeFile()!, 'utf8');
  const restore = (text: string) => writeFileSync(storeFile()!, text);
  const done = () => [dir, cacheDir, elsewhere].forEach((d) => rmSync(d, { recursive: true, force: true }));
  return { dir, cacheDir, manifest, tamper, saved, restore, done };
}

type Shown = string[];
const shown = (p: PublishedDiagnostics): Shown => p.diagnostics.map((d) => `${d.code} ${d.message} ${JSON.stringify(d.range)} ${JSON.stringify(d.data ?? null)}`).sort();

/**
 * Opens the manifest in a new server and returns every publish for it until the live
 * evaluation's (`expected` diagnostics without the store's mark) plus a quiet moment.
 */
async function openSettled(ws: { dir: string; manifest: string }, text: string, expected: number, options: Record<string, unknown>, settings?: Record<string, unknown>): Promise<Shown[]> {
  const { LspClient } = await import('./lsp-client');
  const client = new LspClient();
  try {
    await client.initialize(ws.dir, settings, options);
    await client.open(ws.manifest, text);
    const deadline = Date.now() + 30_000;
    const mine = () => client.log.filter((p) => p.uri === ws.manifest);
    const live = () => mine().some((p) => p.diagnostics.length === expected && !p.diagnostics.some((d) => d.message.startsWith(STORED)));
    while (!live() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(live(), `the live evaluation published ${expected} diagnostics`);
    await new Promise((r) => setTimeout(r, 700));
    return mine().map(shown);
  } finally {
    await client.close();
  }
}

const marked = (publishes: Shown[]) => publishes.filter((p) => p.some((d) => d.includes(STORED)));

test('a reopened manifest publishes its stored result, exactly what a fresh server publishes, then the live one', async () => {
  const ws = setup();
  try {
    const fresh = await openSettled(ws, POD, 3, {});
    const final = fresh[fresh.length - 1];
    assert.equal(final.length, 3);
    // The first server with a cache folder stores the result (written at shutdown)...
    const first = await openSettled(ws, POD, 3, { cacheDir: ws.cacheDir });
    assert.deepEqual(first[first.length - 1], final);
    // ...the next one publishes it before evaluating: the same diagnostics as the fresh server.
    const reopened = await openSettled(ws, POD, 3, { cacheDir: ws.cacheDir });
    assert.ok(reopened.every((p) => p.length === 0 || JSON.stringify(p) === JSON.stringify(final)), 'no publish but the complete one');
    assert.deepEqual(reopened[reopened.length - 1], final);
    // The stored result is what it published first: marked, it shows, then the live evaluation replaces it.
    ws.tamper();
    const fromStore = await openSettled(ws, POD, 3, { cacheDir: ws.cacheDir });
    const withResults = fromStore.filter((p) => p.length);
    assert.deepEqual(withResults[0], final.map((d) => d.replace(/^(KS\d+) /, `$1 ${STORED}`)).sort());
    assert.deepEqual(withResults[withResults.length - 1], final);
  } finally {
    ws.done();
  }
});

test('a changed manifest, policy file or setting does not publish the stored result', async () => {
  const ws = setup();
  try {
    await openSettled(ws, POD, 3, { cacheDir: ws.cacheDir });
    ws.tamper();
    const stored = ws.saved();
    // The manifest's text (a comment changes no value, but the ranges could move).
    assert.deepEqual(marked(await openSettled(ws, `# a comment\n${POD}`, 3, { cacheDir: ws.cacheDir })), []);
    // A setting that reaches evaluation: the policies glob (another set of policies)...
    ws.restore(stored);
    assert.deepEqual(marked(await openSettled(ws, POD, 1, { cacheDir: ws.cacheDir }, { policies: 'a.yaml' })), []);
    // ...and registry access in a trusted workspace (registry answers are not part of the key).
    ws.restore(stored);
    assert.deepEqual(marked(await openSettled(ws, POD, 3, { cacheDir: ws.cacheDir, trusted: true }, { registryAccess: true })), []);
    // Unchanged inputs: the stored result applies (the checks above are not vacuous).
    ws.restore(stored);
    assert.ok(marked(await openSettled(ws, POD, 3, { cacheDir: ws.cacheDir })).length > 0);
    // A policy file.
    ws.restore(stored);
    writeFileSync(join(ws.dir, 'a.yaml'), policy('a', 'a: now another message'));
    const changed = await openSettled(ws, POD, 3, { cacheDir: ws.cacheDir });
    assert.deepEqual(marked(changed), []);
    assert.ok(changed[changed.length - 1].some((d) => d.includes('a: now another message')));
  } finally {
    ws.done();
  }
});
