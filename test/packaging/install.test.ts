/**
 * The npm package as a user gets it: `npm pack` of the built tree, `npm install -g` of the
 * tarball into a temporary prefix (offline: the package has no dependencies to fetch), then the
 * installed `kyverno-studio` from that prefix's bin folder, run outside the repository so
 * nothing resolves from its node_modules: `version`, `test` and `apply` on a copy of examples/,
 * the webhook (`serve`, whose server processes are forked from the installed dist/webhook.js),
 * and the language server over stdio as Neovim and Helix start it (server/README.md).
 * Needs `npm run build` first (npm test builds).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { builtinModules } from 'node:module';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { makeCertificates } from '../../tls/certificates';
import { LspClient, POLICY_WITH_THREE_ERRORS, REPO, positionOf } from '../server/lsp-client';

const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { name: string; version: string };
const IS_WINDOWS = process.platform === 'win32';
const dir = mkdtempSync(join(tmpdir(), 'ks-package-'));
const prefix = join(dir, 'prefix');
const work = join(dir, 'work');
// npm's global layout: <prefix>/bin and <prefix>/lib/node_modules (Windows: <prefix>, <prefix>/node_modules).
const binDir = IS_WINDOWS ? prefix : join(prefix, 'bin');
const installed = IS_WINDOWS ? join(prefix, 'node_modules', pkg.name) : join(prefix, 'lib', 'node_modules', pkg.name);
const bin = join(binDir, IS_WINDOWS ? 'kyverno-studio.cmd' : 'kyverno-studio');

/** The environment of a user shell: the prefix's bin and node on PATH, no npm or repo settings. */
const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_|NODE_PATH$|NODE_OPTIONS$|INIT_CWD$)/i.test(k)));
env.PATH = [binDir, dirname(process.execPath), ...(process.env.PATH ?? '').split(delimiter)].join(delimiter);

let tarballFiles: string[] = [];

function npm(args: string[], cwd: string) {
  const r = spawnSync(IS_WINDOWS ? 'npm.cmd' : 'npm', [...args, '--cache', join(dir, 'npm-cache'), '--no-audit', '--no-fund', '--no-update-notifier'], {
    cwd, env, encoding: 'utf8', timeout: 180_000, shell: IS_WINDOWS,
  });
  assert.equal(r.status, 0, `npm ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

function kyvernoStudio(...args: string[]) {
  const r = spawnSync(bin, args, { cwd: work, env, encoding: 'utf8', timeout: 120_000, shell: IS_WINDOWS });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

before(() => {
  assert.ok(existsSync(join(REPO, 'dist', 'cli.js')), 'dist/ is missing: run `npm run build` first');
  // --ignore-scripts: the tree is built already; the tarball is what `npm publish` would upload.
  const packed = JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', dir], REPO)) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarballFiles = packed[0].files.map((f) => f.path).sort();
  npm(['install', '--global', '--offline', '--prefix', prefix, join(dir, packed[0].filename)], dir);
  mkdirSync(work);
  cpSync(join(REPO, 'examples'), join(work, 'examples'), { recursive: true });
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('the tarball holds only what runs: the bundles, schemas, CRDs and the documents', () => {
  const allowed = /^(package\.json|README\.md|LICENSE|CHANGELOG\.md|dist\/(cli|server|scan-worker|webhook)\.js|schemas\/[^/]+\.json|deploy\/crds\/([^/]+\.yaml|index\.json|LICENSE)|packs\/NOTICE|packs\/pss-(baseline|restricted)\/[^/]+\.yaml)$/;
  assert.deepEqual(tarballFiles.filter((f) => !allowed.test(f)), [], 'unexpected files in the package');
  for (const required of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'dist/cli.js', 'dist/server.js', 'dist/scan-worker.js', 'dist/webhook.js', 'schemas/index.json', 'deploy/crds/index.json']) {
    assert.ok(tarballFiles.includes(required), `${required} missing from the package`);
  }
  // Every schema and CRD the indexes name is shipped.
  const schemaIndex = JSON.parse(readFileSync(join(installed, 'schemas', 'index.json'), 'utf8')) as unknown;
  const schemaFiles = JSON.stringify(schemaIndex).match(/[\w.-]+\.json/g) ?? [];
  assert.ok(schemaFiles.length > 10, 'schemas/index.json names the schema files');
  for (const f of schemaFiles) assert.ok(tarballFiles.includes(`schemas/${f}`), `schemas/${f} missing`);
  const crds = JSON.parse(readFileSync(join(installed, 'deploy', 'crds', 'index.json'), 'utf8')) as Array<{ file: string }>;
  assert.ok(crds.length > 10);
  for (const c of crds) assert.ok(tarballFiles.includes(`deploy/crds/${c.file}`), `deploy/crds/${c.file} missing`);
});

test('the installed package declares no runtime dependencies and installs no node_modules', () => {
  const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as Record<string, unknown>;
  for (const field of ['dependencies', 'optionalDependencies', 'peerDependencies', 'bundleDependencies']) {
    assert.equal(manifest[field], undefined, `package.json has ${field}`);
  }
  assert.equal(existsSync(join(installed, 'node_modules')), false);
});

// Optional modules the bundled libraries load inside try/catch and do without: ws's native
// speed-ups and node-fetch's legacy charset conversion.
const OPTIONAL = new Set(['bufferutil', 'utf-8-validate', 'encoding']);

test('the bundles require nothing but Node built-ins', () => {
  const builtins = new Set(builtinModules);
  const dist = join(installed, 'dist');
  const bundles = readdirSync(dist).filter((f) => f.endsWith('.js'));
  assert.deepEqual(bundles.sort(), ['cli.js', 'scan-worker.js', 'server.js', 'webhook.js']);
  for (const file of bundles) {
    const text = readFileSync(join(dist, file), 'utf8');
    // esbuild writes every require it leaves as require("x"); quoted source text (ajv's code
    // generator snippets, the webhook's in-cluster bootstrap) does not count.
    const required = [...text.matchAll(/(?<![\w$.'"`])require\(\s*"([^"]+)"\s*\)/g)].map((m) => m[1]);
    assert.ok(required.some((m) => builtins.has(m.replace(/^node:/, ''))), `${file}: the scan sees its require calls`);
    const foreign = [...new Set(required)].filter((m) => !builtins.has(m.replace(/^node:/, '')) && !OPTIONAL.has(m));
    assert.deepEqual(foreign, [], `${file} requires modules the package does not ship`);
    const computed = [...text.matchAll(/(?<![\w$.'"`])require\(\s*[^"'`\s)][^)]{0,40}/g)].map((m) => m[0]);
    assert.deepEqual(computed, [], `${file}: no computed require() calls`);
  }
});

test('the bundles are ASCII, so that V8 keeps each script\'s source one byte per character', () => {
  const dist = join(installed, 'dist');
  for (const file of readdirSync(dist).filter((f) => f.endsWith('.js'))) {
    const text = readFileSync(join(dist, file), 'utf8');
    const at = text.search(/[^\x00-\x7f]/);
    assert.equal(at, -1, `${file}: non-ASCII ${JSON.stringify(text.slice(Math.max(0, at - 40), at + 10))}`);
  }
});

test('`kyverno-studio` is on the PATH of the prefix and prints its version', () => {
  assert.ok(existsSync(bin), `${bin} not created by npm install -g`);
  const r = kyvernoStudio('version');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, new RegExp(`^Version: ${pkg.version.replace(/\./g, '\\.')}\\n`));
  assert.equal(kyvernoStudio('--version').out, r.out);
});

test('`kyverno-studio test` runs the examples suite from the installed package', () => {
  const r = kyvernoStudio('test', 'examples');
  assert.equal(r.code, 0, r.out + r.err);
  assert.match(r.out, /Test Summary: 7 tests passed and 0 tests failed/);
  // A wrong expectation fails the run with exit code 1.
  const suite = join(work, 'examples', 'kyverno-test.yaml');
  writeFileSync(suite, readFileSync(suite, 'utf8').replace(/(resources: \[default\/bad-pod\]\n\s+kind: Pod\n\s+result:) fail/, '$1 pass'));
  const failing = kyvernoStudio('test', 'examples');
  assert.equal(failing.code, 1, failing.out);
  assert.match(failing.out, /Test Summary: 6 tests passed and 1 tests failed/);
  cpSync(join(REPO, 'examples', 'kyverno-test.yaml'), suite);
});

test('`kyverno-studio apply` exits 1 on the examples\' violations and 0 with --audit-warn', () => {
  const r = kyvernoStudio('apply', 'examples/policies', '--resource', 'examples/resources');
  assert.equal(r.code, 1, r.out + r.err);
  assert.match(r.out, /pass: 5, fail: 3, warn: 0, error: 0, skip: 0/);
  const warned = kyvernoStudio('apply', 'examples/policies', '--resource', 'examples/resources', '--audit-warn');
  assert.equal(warned.code, 0, warned.out + warned.err);
  assert.match(warned.out, /pass: 5, fail: 0, warn: 3, error: 0, skip: 0/);
});

function https(port: number, ca: string, path: string, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: body === undefined ? 'GET' : 'POST', ca, agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('`kyverno-studio serve` answers AdmissionReviews from the installed webhook bundle', async () => {
  const certs = makeCertificates({ hosts: ['127.0.0.1'] });
  writeFileSync(join(dir, 'tls.crt'), certs.serving.certPem);
  writeFileSync(join(dir, 'tls.key'), certs.serving.keyPem);
  // require-labels from the examples, enforced: the review must come back denied.
  const enforced = join(dir, 'enforced-require-labels.yaml');
  writeFileSync(enforced, readFileSync(join(REPO, 'examples', 'policies', 'require-labels.yaml'), 'utf8').replace('failureAction: Audit', 'failureAction: Enforce'));
  const server: ChildProcess = spawn(bin, ['serve', '--policy', enforced, '--host', '127.0.0.1', '--port', '0', '--workers', '1', '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key')], {
    cwd: work, env, stdio: ['ignore', 'ignore', 'pipe'], shell: IS_WINDOWS,
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let log = '';
      const timer = setTimeout(() => reject(new Error(`serve did not start:\n${log}`)), 60_000);
      server.stderr!.on('data', (chunk: Buffer) => {
        log += chunk.toString();
        const m = /serving (\d+) policies on https:\/\/127\.0\.0\.1:(\d+)/.exec(log);
        if (m) {
          clearTimeout(timer);
          assert.equal(m[1], '1');
          resolve(Number(m[2]));
        }
      });
      server.on('exit', (code) => reject(new Error(`serve exited with ${code}:\n${log}`)));
    });
    // /readyz is 200 once a server process (forked from the installed dist/webhook.js) is up.
    let ready = 0;
    for (let i = 0; i < 100 && ready !== 200; i++) {
      ready = (await https(port, certs.ca.certPem, '/readyz')).status;
      if (ready !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(ready, 200);
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bad-pod', namespace: 'default' }, spec: { containers: [{ name: 'app', image: 'docker.io/library/nginx:latest' }] } };
    const review = {
      apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
      request: { uid: 'u-1', operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, namespace: 'default', userInfo: { username: 'dev' }, object: pod },
    };
    const answer = await https(port, certs.ca.certPem, '/validate', JSON.stringify(review));
    assert.equal(answer.status, 200, answer.text);
    const response = (JSON.parse(answer.text) as { response: { uid: string; allowed: boolean; status?: { message?: string } } }).response;
    assert.equal(response.uid, 'u-1');
    assert.equal(response.allowed, false, JSON.stringify(response));
    assert.match(response.status?.message ?? '', /require-labels/);
  } finally {
    server.kill();
  }
});


test('`kyverno-studio lsp --stdio` from the installed package serves an editor over stdio', async () => {
  // Started as the Neovim and Helix configurations in server/README.md start it: the command
  // found on PATH with `lsp --stdio`, settings answered from the editor's configuration.
  const client = new LspClient(['lsp', '--stdio'], bin, { cwd: work, env, shell: IS_WINDOWS });
  try {
    const init = (await client.initialize(work, { kyverno: { policies: '**/*.{yaml,yml}' } })) as { capabilities: Record<string, unknown> };
    assert.ok(init.capabilities.hoverProvider, 'hover offered');
    const uri = pathToFileURL(join(work, 'bad-policy.yaml')).toString();
    const published = await client.open(uri, POLICY_WITH_THREE_ERRORS);
    const errors = published.diagnostics.filter((d) => d.severity === 1);
    assert.deepEqual(errors.map((d) => d.code).sort(), ['KS1201', 'KS1206', 'KS1211']);
    assert.equal(errors.find((d) => d.code === 'KS1206')!.range.start.line, positionOf(POLICY_WITH_THREE_ERRORS, 'to_upper').line);
    // Hover reads the documented schemas shipped in the package.
    const hover = await client.request<{ contents: { value: string } | string } | null>('textDocument/hover', {
      textDocument: { uri },
      position: positionOf(POLICY_WITH_THREE_ERRORS, 'validate:', 2),
    });
    const text = typeof hover?.contents === 'string' ? hover.contents : hover?.contents.value ?? '';
    assert.match(text, /validate/i, 'hover on `validate` documents it');
    const exited = new Promise<number | null>((resolve) => client.proc.on('exit', (code) => resolve(code)));
    await client.close();
    assert.equal(await exited, 0, 'shutdown then exit ends the server with code 0');
  } finally {
    client.proc.kill();
  }
});
