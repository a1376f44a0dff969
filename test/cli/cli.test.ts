// Spawns the built CLI (dist/cli.js; `npm run build` first) on fixtures under test/fixtures/cli.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

const root = resolve(__dirname, '../..');
const cliPath = resolve(root, 'dist/cli.js');
const fixtures = 'test/fixtures/cli';

function cli(...args: string[]) {
  assert.ok(existsSync(cliPath), 'dist/cli.js is missing: run `npm run build` first');
  const r = spawnSync(process.execPath, [cliPath, ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function noStack(text: string) {
  assert.doesNotMatch(text, /\n\s+at .+:\d+:\d+/, 'output must not contain a stack trace');
}

test('--help lists the commands and exits 0', () => {
  const r = cli('--help');
  assert.equal(r.code, 0);
  assert.match(r.out, /test\s+Run kyverno-test\.yaml/);
  assert.match(r.out, /apply\s+Apply policies/);
});

test('an unknown command is a one-line error', () => {
  const r = cli('frobnicate');
  assert.equal(r.code, 2);
  assert.match(r.err, /^Error: unknown command "frobnicate"/);
});

test('test --json prints exactly files and summary, with hidden .kyverno-test folders found', () => {
  const r = cli('test', `${fixtures}/suites/excluded`, '--json');
  assert.equal(r.code, 0, r.err);
  const report = JSON.parse(r.out);
  assert.deepEqual(Object.keys(report), ['files', 'summary']);
  assert.deepEqual(report.files, [
    {
      path: `${fixtures}/suites/excluded/.kyverno-test/kyverno-test.yaml`,
      error: null,
      rows: [
        { policy: 'configmap-labels', rule: 'check-labels', resource: 'shop/web', kind: 'Pod', column: 'v1/Pod/shop/web', expected: 'fail', actual: '', ok: true, reason: 'Excluded' },
      ],
      ok: true,
      reason: '',
    },
  ]);
  assert.deepEqual(report.summary, { files: 1, filesPassed: 1, rows: 1, rowsPassed: 1 });
});

test('a failing row makes the exit code 1 and the human table shows it', () => {
  const r = cli('test', `${fixtures}/suites`);
  assert.equal(r.code, 1);
  assert.match(r.out, /Not found/);
  assert.match(r.out, /Test Summary: 1 tests passed and 1 tests failed/);
  noStack(r.out + r.err);
});

test('bad test files are reported per file and the run goes on', () => {
  const r = cli('test', `${fixtures}/broken`, `${fixtures}/suites/excluded`, '--json');
  assert.equal(r.code, 1);
  const report = JSON.parse(r.out);
  const errors = report.files.map((f: { path: string; error: string | null }) => [f.path.split('/').slice(-2, -1)[0], f.error]);
  assert.match(errors[0][1], /broken\/malformed\/kyverno-test\.yaml:\d+: malformed YAML/);
  assert.match(errors[1][1], /broken\/missing-file\/does-not-exist\.yaml: file not found/);
  assert.equal(errors[2][1], null);
  assert.deepEqual(report.summary, { files: 3, filesPassed: 1, rows: 1, rowsPassed: 1 });
});

test('--file-name selects another test file name; a missing path is an error entry', () => {
  const r = cli('test', `${fixtures}/suites`, 'no/such/dir', '--file-name', 'other-test.yaml', '--json');
  const report = JSON.parse(r.out);
  assert.deepEqual(report.files, [
    { path: 'no/such/dir', error: 'no/such/dir: no such file or directory', loadError: true, rows: [], ok: false, reason: 'no/such/dir: no such file or directory' },
  ]);
  assert.equal(r.code, 1);
});

test('apply reports unreadable inputs with file and line and still applies the rest', () => {
  const r = cli('apply', `${fixtures}/apply/policy.yaml`, '--resource', `${fixtures}/apply`);
  assert.match(r.err, new RegExp(`${fixtures}/apply/bad\\.yaml:\\d+: malformed YAML`));
  assert.match(r.out, /Applying 1 policy rule\(s\) to 2 resource\(s\)/);
  assert.match(r.out, /pass: \d+, fail: \d+, warn: \d+, error: \d+, skip: \d+/);
  assert.equal(r.code, 1);
  noStack(r.out + r.err);
});

test('apply: a VAP binding reads --parameter-resource and a Pod outside matchConstraints is not evaluated', () => {
  const dir = `${fixtures}/apply-vap`;
  const r = cli('apply', `${dir}/policy.yaml`, '--resource', `${dir}/resources.yaml`, '--parameter-resource', `${dir}/params.yaml`);
  assert.match(r.out, /policy max-replicas -> resource default\/Deployment\/big failed:\n1 - max-replicas too many replicas/);
  assert.doesNotMatch(r.out, /Pod\/web/);
  assert.match(r.out, /pass: 0, fail: 1, warn: 0, error: 0, skip: 0/);
  assert.equal(r.code, 1);
  noStack(r.out + r.err);
});

test('apply without resources explains its usage', () => {
  const r = cli('apply', `${fixtures}/apply/policy.yaml`);
  assert.equal(r.code, 2);
  assert.match(r.err, /^Error: resource file\(s\) or cluster required/);
});

test('apply with a missing policy path names it', () => {
  const r = cli('apply', 'nope/policy.yaml', '--resource', `${fixtures}/apply/pod.yaml`);
  assert.match(r.err, /Error: nope\/policy\.yaml: no such file or directory/);
  assert.equal(r.code, 1);
});

test('apply --context-file feeds CEL resource lookups; the resources answer apiCall and GlobalContextEntry lists', () => {
  const dir = `${fixtures}/apply-context`;
  const withContext = cli('apply', `${dir}/policy.yaml`, '--resource', `${dir}/resources.yaml`, '--context-file', `${dir}/context.yaml`);
  assert.equal(withContext.code, 0, withContext.out + withContext.err);
  // The GlobalContextEntry is no resource to evaluate: a pod and two ConfigMaps remain.
  assert.match(withContext.out, /to 3 resource\(s\)/);
  assert.match(withContext.out, /pass: 2, fail: 0, warn: 0, error: 0/);
  const without = cli('apply', `${dir}/policy.yaml`, '--resource', `${dir}/resources.yaml`);
  assert.equal(without.code, 1);
  // Kyverno lists failed rules only: a validation rule in error shows in the counts and exit code.
  assert.doesNotMatch(without.out, /policy cm-allowed -> resource default\/Pod\/p failed/);
  assert.match(without.out, /pass: 1, fail: 0, warn: 0, error: 1/);
});

test('a test that checks nothing fails, in the table, in --json and in the summary; each YAML document is a test', () => {
  const human = cli('test', `${fixtures}/nothing-checked`);
  assert.equal(human.code, 1);
  assert.match(human.out, /kyverno-test\.yaml #1 \) \.\.\./);
  assert.match(human.err, /no results to check/);
  assert.match(human.out, /Test Summary: 1 tests passed and 1 tests failed/);
  const r = cli('test', `${fixtures}/nothing-checked`, '--json');
  assert.equal(r.code, 1);
  const report = JSON.parse(r.out);
  assert.deepEqual(
    report.files.map((f: { document: number; ok: boolean; rows: unknown[] }) => [f.document, f.ok, f.rows.length]),
    [
      [1, false, 0],
      [2, true, 1],
    ],
  );
  assert.match(report.files[0].reason, /no results to check/);
  assert.deepEqual(report.summary, { files: 2, filesPassed: 1, rows: 1, rowsPassed: 1 });
});

test('apply --json evaluates JSON-mode policies on JSON and YAML payloads', () => {
  const r = cli('apply', `${fixtures}/payloads/json-policy.yaml`, '--json', `${fixtures}/payloads/old.json`, '--json', `${fixtures}/payloads/new.yaml`);
  assert.equal(r.code, 1);
  assert.match(r.out, /Applying 1 policy rule\(s\) to 2 resource\(s\)/);
  assert.match(r.out, /policy check-version -> resource JSON payload failed:\n1 - .*the terraform version must be 1\.5\.9/);
  assert.match(r.out, /pass: 1, fail: 1, warn: 0, error: 0, skip: 0/);
});

test('apply --envoy-payload and --http-payload answer with the authorization policies', () => {
  const r = cli('apply', `${fixtures}/payloads/authz-policies.yaml`, '--envoy-payload', `${fixtures}/payloads/envoy-post.json`, '--http-payload', `${fixtures}/payloads/http-get.json`);
  assert.equal(r.code, 1);
  assert.match(r.out, /policy envoy-get-only -> resource JSON payload failed:\n1 - envoy-get-only request denied with status code 405/);
  assert.match(r.out, /policy http-deny-all -> resource JSON payload failed:\n1 - http-deny-all request denied, reason: closed/);
  assert.match(r.out, /pass: 0, fail: 2, warn: 0, error: 0, skip: 0/);
});

test('apply refuses --resource with --json, and names unreadable payloads', () => {
  const both = cli('apply', `${fixtures}/payloads/json-policy.yaml`, '--json', `${fixtures}/payloads/old.json`, '--resource', `${fixtures}/apply/pod.yaml`);
  assert.equal(both.code, 2);
  assert.match(both.err, /both resource and json files can not be used together/);
  const bad = cli('apply', `${fixtures}/payloads/authz-policies.yaml`, '--envoy-payload', `${fixtures}/payloads/json-policy.yaml`);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /failed to load Envoy payloads from path test\/fixtures\/cli\/payloads\/json-policy\.yaml/);
  noStack(bad.err);
});
