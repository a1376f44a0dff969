/**
 * The Deployment's bootstrap (deploy/plan.ts BOOTSTRAP): the code ConfigMap's bundle runs only
 * when its sha256 is the one pinned in the Deployment, so editing the ConfigMap alone cannot
 * change what runs. The real bootstrap text runs in a child Node whose file paths `/code/` and
 * `/tmp/webhook.js` are redirected into a temporary folder by a preloaded module.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { BOOTSTRAP, sha256 } from '../../deploy/plan';

function runBootstrap(code: string, pinned: string) {
  const dir = mkdtempSync(join(tmpdir(), 'ks-bootstrap-'));
  writeFileSync(join(dir, 'webhook.js.gz'), gzipSync(code));
  // Redirects the two absolute paths the bootstrap names; everything else is Node's own.
  const redirect = join(dir, 'redirect.cjs');
  writeFileSync(redirect, `
const fs = require('fs'), Module = require('module');
const map = (p) => p === '/code/webhook.js.gz' ? ${JSON.stringify(join(dir, 'webhook.js.gz'))} : p === '/tmp/webhook.js' ? ${JSON.stringify(join(dir, 'out.js'))} : p;
for (const name of ['readFileSync', 'writeFileSync']) { const orig = fs[name]; fs[name] = (p, ...rest) => orig(map(p), ...rest); }
const resolve = Module._resolveFilename; Module._resolveFilename = (r, ...rest) => resolve(map(r), ...rest);
`);
  return spawnSync(process.execPath, ['-r', redirect, '-e', BOOTSTRAP], { env: { ...process.env, KS_CODE_SHA256: pinned }, encoding: 'utf8', timeout: 20_000 });
}

test('the bundle whose sha256 is pinned runs', () => {
  const code = 'console.log("webhook started")';
  const r = runBootstrap(code, sha256(code));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /webhook started/);
});

test('a bundle changed in the ConfigMap does not run: exit 1 naming both digests', () => {
  const pinned = sha256('console.log("webhook started")');
  const r = runBootstrap('console.log("something else")', pinned);
  assert.equal(r.status, 1);
  assert.doesNotMatch(r.stdout, /something else/);
  assert.match(r.stderr, new RegExp(`webhook code sha256 ${sha256('console.log("something else")')} does not match the pinned ${pinned}`));
});
