// The persistent workspace scan cache (server/src/scan-cache.ts): a reopened workspace reads
// no unchanged file, finds exactly what a scan without the cache finds, and never trusts an
// entry whose file may have changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, cpSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ScanCache, diskEntryCache } from '../../server/src/scan-cache';
import { isExactJson } from '../../engine/core/json';
import { WorkspaceIndex } from '../../server/src/workspace';
import { diskFiles } from '../../server/src/disk-files';
import { parseFile, evaluateManifests } from '../../server/src/service';
import { labelPolicy } from './label-policy';
import { WITHOUT_CORPUS } from '../fixtures/corpus-cases';

const policy = (name: string, after?: string) => labelPolicy(name, { after });

const POD = `apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - name: c
    image: nginx:1.27
`;

function workspace(files: Record<string, string>): { dir: string; cacheDir: string; done(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'ks-scan-cache-'));
  const cacheDir = mkdtempSync(join(tmpdir(), 'ks-scan-cache-store-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return { dir, cacheDir, done: () => { rmSync(dir, { recursive: true, force: true }); rmSync(cacheDir, { recursive: true, force: true }); } };
}

/** A scan with a cache opened afresh (as a new server process would), racy check off unless given. */
async function scanWith(dir: string, cacheDir: string, opts: { racyMs?: number; buildId?: string } = {}): Promise<{ index: WorkspaceIndex; cache: ScanCache }> {
  const cache = ScanCache.open(cacheDir, [dir], opts.buildId ?? 'build-1', { racyMs: opts.racyMs ?? 0 });
  const index = new WorkspaceIndex(diskFiles([dir], diskEntryCache(cache)));
  await index.scanInSlices();
  index.saveCache();
  return { index, cache };
}

const names = (index: WorkspaceIndex) => index.policies().map((p) => `${p.uri.split('/').pop()}:${p.role}:${(p.value.metadata as { name: string }).name}`).sort();

test('a reopened workspace reads no unchanged file and finds the same documents', async () => {
  const ws = workspace({ 'a.yaml': policy('a'), 'b.yaml': policy('b') + '---\n' + policy('c'), 'pod.yaml': POD, 'notes.yaml': 'x: 1\n' });
  try {
    const first = await scanWith(ws.dir, ws.cacheDir);
    assert.equal(first.cache.hits, 0);
    const second = await scanWith(ws.dir, ws.cacheDir);
    assert.equal(second.cache.misses, 0, 'every file answered from the cache');
    assert.equal(second.cache.hits, 4, 'files without policies are remembered too');
    assert.deepEqual(names(second.index), names(first.index));
    assert.deepEqual(second.index.policies().map((p) => p.value), first.index.policies().map((p) => p.value));
    const pod = parseFile(pathToFileURL(join(ws.dir, 'pod.yaml')).toString(), POD);
    assert.deepEqual(evaluateManifests(pod, second.index.policySet()), evaluateManifests(pod, first.index.policySet()));
    assert.equal(evaluateManifests(pod, second.index.policySet()).length, 3);
  } finally {
    ws.done();
  }
});

test('a file changed since the cache was written is read again; a deleted one is gone', async () => {
  const ws = workspace({ 'a.yaml': policy('a'), 'b.yaml': policy('b') });
  try {
    await scanWith(ws.dir, ws.cacheDir);
    writeFileSync(join(ws.dir, 'a.yaml'), policy('renamed'));
    rmSync(join(ws.dir, 'b.yaml'));
    const { index, cache } = await scanWith(ws.dir, ws.cacheDir);
    assert.deepEqual(names(index), ['a.yaml:policy:renamed']);
    assert.equal(cache.misses, 1);
    // Same size and mtime, new content: the inode or ctime still tells (a restored mtime is no disguise).
    const before = policy('xx');
    writeFileSync(join(ws.dir, 'a.yaml'), before);
    await scanWith(ws.dir, ws.cacheDir);
    const when = new Date(Date.now() - 60_000);
    utimesSync(join(ws.dir, 'a.yaml'), when, when);
    writeFileSync(join(ws.dir, 'a.yaml'), policy('yy'));
    utimesSync(join(ws.dir, 'a.yaml'), when, when);
    assert.deepEqual(names((await scanWith(ws.dir, ws.cacheDir)).index), ['a.yaml:policy:yy']);
  } finally {
    ws.done();
  }
});

test('a file changed just before it was read is not recorded (racy stat)', async () => {
  const ws = workspace({ 'a.yaml': policy('a') });
  try {
    const first = await scanWith(ws.dir, ws.cacheDir, { racyMs: 60_000 });
    assert.equal(first.cache.hits, 0);
    const second = await scanWith(ws.dir, ws.cacheDir, { racyMs: 60_000 });
    assert.equal(second.cache.hits, 0, 'the fresh file was read again');
    assert.deepEqual(names(second.index), ['a.yaml:policy:a']);
  } finally {
    ws.done();
  }
});

test('values JSON cannot carry exactly are never cached', async () => {
  assert.equal(isExactJson({ a: [1, 'x', null, true, { b: 2.5 }] }), true);
  for (const bad of [Infinity, NaN, -0, 10n, undefined, new Date(0), [1, , 2]]) assert.equal(isExactJson({ a: bad }), false, String(bad));
  const ws = workspace({ 'inf.yaml': policy('inf', '\n      x-limit: .inf'.replace('\n      ', '\n  ')) });
  try {
    const first = await scanWith(ws.dir, ws.cacheDir);
    const value = JSON.stringify(first.index.policies()[0].value, (_k, v) => (v === Infinity ? 'Infinity' : v));
    assert.match(value, /Infinity/, 'the loader reads .inf as Infinity');
    const second = await scanWith(ws.dir, ws.cacheDir);
    assert.equal(second.cache.hits, 0);
    assert.deepEqual(second.index.policies()[0].value, first.index.policies()[0].value);
  } finally {
    ws.done();
  }
});

test('a cache from another build, or a damaged one, is not used', async () => {
  const ws = workspace({ 'a.yaml': policy('a') });
  try {
    await scanWith(ws.dir, ws.cacheDir);
    assert.equal((await scanWith(ws.dir, ws.cacheDir, { buildId: 'build-2' })).cache.hits, 0);
    for (const f of readdirSync(ws.cacheDir)) writeFileSync(join(ws.cacheDir, f), '{"format":1,"buildId":"build-2","files":{"x":{"stat":"1","entry":{"policies":[{"value":1,"role":"policy"}],"crdKinds":[]}}}}');
    const { index, cache } = await scanWith(ws.dir, ws.cacheDir, { buildId: 'build-2' });
    assert.equal(cache.hits, 0);
    assert.deepEqual(names(index), ['a.yaml:policy:a']);
    for (const f of readdirSync(ws.cacheDir)) writeFileSync(join(ws.cacheDir, f), '{not json');
    assert.deepEqual(names((await scanWith(ws.dir, ws.cacheDir)).index), ['a.yaml:policy:a']);
  } finally {
    ws.done();
  }
});

test('on sample-library folders, the cached scan gives the diagnostics of a cold scan', { skip: WITHOUT_CORPUS }, async () => {
  const library = resolve(__dirname, '../../../shared/conformance/kyverno-policies');
  const dir = mkdtempSync(join(tmpdir(), 'ks-scan-cache-lib-'));
  const cacheDir = mkdtempSync(join(tmpdir(), 'ks-scan-cache-lib-store-'));
  try {
    for (const sub of ['pod-security', 'pod-security-vpol', 'best-practices-mpol']) cpSync(join(library, sub), join(dir, sub), { recursive: true });
    const cold = new WorkspaceIndex(diskFiles([dir]));
    await cold.scanInSlices();
    await scanWith(dir, cacheDir);
    const warm = await scanWith(dir, cacheDir);
    assert.ok(warm.cache.hits > 40 && warm.cache.misses === 0, `${warm.cache.hits} hits, ${warm.cache.misses} misses`);
    const deployment = parseFile('file:///elsewhere/deploy.yaml', `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      hostNetwork: true
      containers:
      - name: web
        image: nginx:latest
        securityContext:
          privileged: true
`);
    const expected = evaluateManifests(deployment, cold.policySet(), { now: new Date('2026-01-01T00:00:00Z') });
    assert.ok(expected.length > 5, `${expected.length} diagnostics`);
    assert.deepEqual(evaluateManifests(deployment, warm.index.policySet(), { now: new Date('2026-01-01T00:00:00Z') }), expected);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(cacheDir, { recursive: true, force: true });
  }
});

test('a server reopening the workspace with the cache publishes what a server without it publishes', async () => {
  const { LspClient } = await import('./lsp-client');
  const ws = workspace({ 'a.yaml': policy('a'), 'b.yaml': policy('b') + '---\n' + policy('c'), 'notes.yaml': 'x: 1\n' });
  const manifest = pathToFileURL(join(ws.cacheDir, '..', `${ws.dir.split('/').pop()}-pod.yaml`)).toString();
  // Files changed within RACY_MS of the scan are not recorded: let them age first.
  await new Promise((r) => setTimeout(r, 2100));
  const stored = () => readdirSync(ws.cacheDir).find((f) => f.startsWith('workspace-scan-'));
  const settled = async (options: Record<string, unknown>) => {
    const client = new LspClient();
    try {
      await client.initialize(ws.dir, undefined, options);
      let published = await client.open(manifest, POD);
      for (let i = 0; i < 40 && published.diagnostics.length < 3; i++) published = await client.change(manifest, POD + `# ${i}\n`);
      // The scan is stored a second after it completes: wait for it before closing.
      const deadline = Date.now() + 10_000;
      while (options.cacheDir && !stored() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      return published.diagnostics.map((d) => `${d.code} ${d.message} ${JSON.stringify(d.range)}`).sort();
    } finally {
      await client.close();
    }
  };
  try {
    const cold = await settled({});
    assert.equal(cold.length, 3);
    assert.deepEqual(await settled({ cacheDir: ws.cacheDir }), cold);
    // The first server stored the scan...
    const file = stored();
    assert.ok(file, 'the scan cache was written');
    assert.equal(Object.keys(JSON.parse(readFileSync(join(ws.cacheDir, file), 'utf8')).files).length, 3);
    // ...and the next one answers from it, with the same diagnostics.
    assert.deepEqual(await settled({ cacheDir: ws.cacheDir }), cold);
  } finally {
    ws.done();
  }
});
