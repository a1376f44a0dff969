// Git repositories as policy and test paths (Kyverno's `-b/--git-branch`), against a real git
// smart-HTTP server on loopback (git http-backend behind node:http), with the built CLI.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseGitSource, isGitSource } from '../../cli/io/git-source';
import { WITHOUT_CORPUS } from '../fixtures/corpus-cases';

const root = resolve(__dirname, '../..');
const cliPath = resolve(root, 'dist/cli.js');
const samples = resolve(root, '../shared/conformance/kyverno-policies/best-practices');
const hasGit = spawnSync('git', ['--version']).status === 0;

let server: Server;
let base = '';
let work = '';
const seenAuth: string[] = [];

function git(cwd: string, ...args: string[]) {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

/** Runs the built CLI with its own temporary folder, so what its clones leave behind can be seen. */
function cli(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  assert.ok(existsSync(cliPath), 'dist/cli.js is missing: run `npm run build` first');
  return new Promise((done) => {
    const child = spawn(process.execPath, [cliPath, ...args], { cwd: root, env: { ...process.env, TMPDIR: join(work, 'tmp') } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => done({ code, out, err }));
  });
}

before(async () => {
  // The repository is built from the shared samples; without them the tests that use it are skipped.
  if (!hasGit || WITHOUT_CORPUS) return;
  work = mkdtempSync(join(tmpdir(), 'kstudio-git-'));
  mkdirSync(join(work, 'tmp'));
  // A repository "acme/policies" with a branch "release": the sample policy and its test in a folder.
  const src = join(work, 'src');
  mkdirSync(join(src, 'latest'), { recursive: true });
  cpSync(join(samples, 'disallow-latest-tag/disallow-latest-tag.yaml'), join(src, 'latest/disallow-latest-tag.yaml'));
  cpSync(join(samples, 'disallow-latest-tag/.kyverno-test'), join(src, 'latest/.kyverno-test'), { recursive: true });
  writeFileSync(join(src, 'README.md'), 'not a policy\n');
  git(src, 'init', '-q', '-b', 'release');
  git(src, 'add', '.');
  git(src, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'policies');
  mkdirSync(join(work, 'repos/acme'), { recursive: true });
  git(work, 'clone', '-q', '--bare', src, join(work, 'repos/acme/policies'));
  // git http-backend as CGI: smart HTTP, so shallow clones work as against a real forge.
  server = createServer((req, res) => {
    seenAuth.push(req.headers.authorization ?? '');
    const url = new URL(req.url ?? '/', 'http://x');
    const cgi = spawn('git', ['http-backend'], {
      env: {
        ...process.env,
        GIT_PROJECT_ROOT: join(work, 'repos'),
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: url.pathname,
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method ?? 'GET',
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        REMOTE_ADDR: '127.0.0.1',
        GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
      },
    });
    req.pipe(cgi.stdin);
    const chunks: Buffer[] = [];
    cgi.stdout.on('data', (c: Buffer) => chunks.push(c));
    cgi.on('close', () => {
      const all = Buffer.concat(chunks);
      const split = all.indexOf('\r\n\r\n');
      const head = all.subarray(0, split).toString().split('\r\n');
      let status = 200;
      for (const line of head) {
        const [k, ...v] = line.split(':');
        if (k.toLowerCase() === 'status') status = Number.parseInt(v.join(':').trim(), 10);
        else res.setHeader(k, v.join(':').trim());
      }
      res.statusCode = status;
      res.end(all.subarray(split + 4));
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('Kyverno\'s git URL split: branch from the path without -b, folder with -b', () => {
  assert.equal(isGitSource('https://github.com/kyverno/policies'), true);
  assert.equal(isGitSource('http://github.com/kyverno/policies'), true);
  assert.equal(isGitSource('/https/kyverno/policies'), false);
  assert.equal(isGitSource('file:///tmp/repo'), false);
  assert.deepEqual(parseGitSource('https://github.com/kyverno/policies', ''), { repoURL: 'https://github.com/kyverno/policies', branch: 'main', folder: '/' });
  // Kyverno keeps the trailing slash of a branch (its clone of such a branch then fails).
  assert.deepEqual(parseGitSource('https://github.com/kyverno/policies/release-1.19/', ''), { repoURL: 'https://github.com/kyverno/policies', branch: 'release-1.19/', folder: '/' });
  assert.deepEqual(parseGitSource('https://github.com/kyverno/policies/release-1.19', ''), { repoURL: 'https://github.com/kyverno/policies', branch: 'release-1.19', folder: '/' });
  assert.deepEqual(parseGitSource('https://github.com/kyverno/policies/best-practices/require-labels/', 'main'), { repoURL: 'https://github.com/kyverno/policies', branch: 'main', folder: '/best-practices/require-labels/' });
  assert.deepEqual(parseGitSource('https://github.com/kyverno/policies/pod-security', 'main'), { repoURL: 'https://github.com/kyverno/policies', branch: 'main', folder: '//pod-security' });
  assert.throws(() => parseGitSource('https://github.com/kyverno', ''), /invalid URL path \/kyverno - expected https:\/\/<any_git_source_domain>\/:owner\/:repository\/:branch/);
});

test('apply reads policies from a git branch named in the URL, or by -b with a folder', { skip: WITHOUT_CORPUS || (!hasGit && 'git is not installed') }, async () => {
  const resource = join(samples, 'disallow-latest-tag/.kyverno-test/resource.yaml');
  const local = await cli('apply', join(samples, 'disallow-latest-tag/disallow-latest-tag.yaml'), '-r', resource);
  const byUrl = await cli('apply', `${base}/acme/policies/release`, '-r', resource);
  assert.equal(byUrl.code, 1, byUrl.err);
  // The folder holds the policy and its test's resource.yaml too: the resources are not policies.
  assert.equal(byUrl.out, local.out);
  const byBranch = await cli('apply', `${base}/acme/policies/latest/`, '-b', 'release', '-r', resource);
  assert.equal(byBranch.out, local.out);
  assert.equal(byBranch.code, 1);
  // No temporary clone is left behind.
  assert.deepEqual(readdirSync(join(work, 'tmp')), []);
});

test('apply sends --username/--password as basic auth, only when both are set', { skip: WITHOUT_CORPUS || (!hasGit && 'git is not installed') }, async () => {
  seenAuth.length = 0;
  await cli('apply', `${base}/acme/policies/release`, '-r', join(samples, 'disallow-latest-tag/.kyverno-test/resource.yaml'), '--username', 'ci', '--password', 's3cret');
  assert.ok(seenAuth.includes(`Basic ${Buffer.from('ci:s3cret').toString('base64')}`), seenAuth.join(','));
  seenAuth.length = 0;
  await cli('apply', `${base}/acme/policies/release`, '-r', join(samples, 'disallow-latest-tag/.kyverno-test/resource.yaml'), '--username', 'ci');
  assert.ok(seenAuth.every((a) => a === ''), seenAuth.join(','));
});

test('apply: an unknown branch or a missing folder fails in one line, exit 1', { skip: WITHOUT_CORPUS || (!hasGit && 'git is not installed') }, async () => {
  const resource = join(samples, 'disallow-latest-tag/.kyverno-test/resource.yaml');
  const noBranch = await cli('apply', `${base}/acme/policies`, '-r', resource);
  assert.equal(noBranch.code, 1);
  assert.match(noBranch.err, /^Error: failed to load policies \(failed to clone repository \(.*main.*\)\)\n$/);
  const noFolder = await cli('apply', `${base}/acme/policies/nope`, '-b', 'release', '-r', resource);
  assert.equal(noFolder.code, 1);
  assert.match(noFolder.err, /^Error: failed to load policies \(failed to list YAMLs in repository \(\/\/nope does not exist in branch release\)\)\n$/);
  const badUrl = await cli('apply', 'https://example.invalid/acme', '-r', resource);
  assert.equal(badUrl.code, 1);
  assert.match(badUrl.err, /invalid URL path \/acme/);
  assert.deepEqual(readdirSync(join(work, 'tmp')), [], 'a failed clone leaves nothing behind');
});

test('test runs the kyverno-test.yaml files of a git branch', { skip: WITHOUT_CORPUS || (!hasGit && 'git is not installed') }, async () => {
  const r = await cli('test', `${base}/acme/policies/release`);
  assert.equal(r.code, 0, r.out + r.err);
  assert.match(r.out, /Test Summary: \d+ tests passed and 0 tests failed/);
  const sub = await cli('test', `${base}/acme/policies/latest`, '--git-branch', 'release');
  assert.equal(sub.code, 0, sub.err);
  assert.match(sub.out, /Test Summary: \d+ tests passed and 0 tests failed/);
  const missing = await cli('test', `${base}/acme/policies/nope`);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /^Error: failed to clone repository \(/);
});
