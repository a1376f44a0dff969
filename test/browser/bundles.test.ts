// The browser build (package.json's `browser` entry: the extension in VS Code's web worker
// extension host, the language server in a Web Worker) must not reach any Node API. Checked
// three ways: esbuild builds the browser entries with the project's options and they import
// nothing but `vscode`; the emitted bundles call no Node built-in through require(); and the
// language server bundle, run in a JavaScript realm that has only a browser worker's globals
// (no process, require, Buffer, setImmediate), serves a whole LSP session.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';
import { build, type BuildOptions, type Metafile } from 'esbuild';

const REPO = resolve(__dirname, '../..');
const manifest = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { browser?: string; main: string };

interface Entry { in: string; out: string; platform: string; external?: string[] }
async function bundles(): Promise<{ ENTRIES: Entry[]; esbuildOptions: (e: Entry, o?: BuildOptions) => BuildOptions }> {
  return (await import(pathToFileURL(join(REPO, 'scripts', 'bundles.mjs')).href)) as never;
}

test('package.json has a browser entry, built with platform browser next to the language server worker', async () => {
  const { ENTRIES } = await bundles();
  assert.equal(manifest.browser, './dist/browser/client');
  const browserEntries = ENTRIES.filter((e) => e.platform === 'browser');
  assert.deepEqual(browserEntries.map((e) => e.out).sort(), ['dist/browser/client.js', 'dist/browser/server.js']);
  assert.equal(`./${browserEntries.find((e) => e.out.endsWith('client.js'))!.out.replace(/\.js$/, '')}`, manifest.browser);
});

test('the browser entries import nothing but vscode, and no Node built-in is reached', { timeout: 120_000 }, async () => {
  const { ENTRIES, esbuildOptions } = await bundles();
  for (const entry of ENTRIES.filter((e) => e.platform === 'browser')) {
    const r = await build(esbuildOptions(entry, { absWorkingDir: REPO, write: false, metafile: true, sourcemap: false, logLevel: 'silent' }));
    const meta = r.metafile as Metafile;
    const imports = Object.values(meta.outputs).flatMap((o) => o.imports.map((i) => i.path));
    assert.deepEqual([...new Set(imports)].filter((p) => p !== 'vscode'), [], `${entry.in} imports`);
    // Node-only modules of this repository stay out (the swap in scripts/bundles.mjs replaces schema-files.ts).
    const inputs = Object.keys(meta.inputs);
    const nodeOnly = inputs.filter((p) => /^(io\/walk\.ts|kube-api\/|deploy\/|webhook\/|registry\/docker-config)|server\/src\/(main|disk-files)\.ts$|schema-files\.ts$/.test(p));
    assert.deepEqual(nodeOnly, [], `${entry.in} bundles Node-only modules`);
  }
});

const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

test('the emitted browser bundles call no Node built-in', (t) => {
  for (const file of ['dist/browser/client.js', 'dist/browser/server.js']) {
    const path = join(REPO, file);
    if (!existsSync(path)) {
      t.skip('dist/ is missing: run `npm run build` first');
      return;
    }
    const text = readFileSync(path, 'utf8');
    const required = [...text.matchAll(/\brequire\(\s*["'`]([^"'`]+)["'`]\s*\)/g)].map((m) => m[1]);
    assert.deepEqual(required.filter((m) => BUILTINS.has(m) || m.startsWith('node:')), [], file);
    assert.doesNotMatch(text, /\bfrom\s*["']node:/, file);
  }
});

/** A realm with a dedicated worker's globals only; the server's messages are JSON both ways. */
function workerRealm(): { deliver: (message: unknown) => void; onPost: (cb: (m: unknown) => void) => void; context: vm.Context } {
  let listener: (m: unknown) => void = () => {};
  const sandbox: Record<string, unknown> = {
    console: { log() {}, info() {}, warn() {}, error() {}, debug() {} },
    setTimeout, clearTimeout, setInterval, clearInterval, queueMicrotask,
    TextEncoder, TextDecoder, URL, performance, crypto: globalThis.crypto, atob, btoa, structuredClone, AbortController,
    postMessage: (m: unknown) => listener(JSON.parse(JSON.stringify(m))),
    addEventListener() {},
    removeEventListener() {},
  };
  sandbox.self = sandbox;
  const context = vm.createContext(sandbox);
  const deliverInRealm = vm.runInContext('(s) => globalThis.onmessage({ data: JSON.parse(s) })', context) as (s: string) => void;
  return { deliver: (m) => deliverInRealm(JSON.stringify(m)), onPost: (cb) => (listener = cb), context };
}

test('the language server bundle serves LSP in a realm without Node globals, reading the workspace through the client', { timeout: 60_000 }, async (t) => {
  const path = join(REPO, 'dist/browser/server.js');
  if (!existsSync(path)) {
    t.skip('dist/ is missing: run `npm run build` first');
    return;
  }
  const realm = workerRealm();
  for (const name of ['process', 'require', 'Buffer', 'setImmediate', 'global', 'module']) {
    assert.equal(vm.runInContext(`typeof ${name}`, realm.context), 'undefined', name);
  }
  vm.runInContext(readFileSync(path, 'utf8'), realm.context, { filename: path });
  const { runLspScenario, checkLspScenario } = (await import(pathToFileURL(join(REPO, 'test/browser/lsp-scenario.mjs')).href)) as {
    runLspScenario: (t: unknown, o?: unknown) => Promise<unknown>;
    checkLspScenario: (r: unknown) => void;
  };
  const result = await runLspScenario({ send: realm.deliver, listen: realm.onPost }, { timeoutMs: 30_000 });
  checkLspScenario(result);
});
