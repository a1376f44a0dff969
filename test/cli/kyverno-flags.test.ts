// Kyverno 1.19 command lines against the built CLI (dist/cli.js): flags, output shapes, exit codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseString } from 'xml2js';

const root = resolve(__dirname, '../..');
const cliPath = resolve(root, 'dist/cli.js');
const suites = 'test/fixtures/cli/suites';
const exceptions = '../shared/conformance/kyverno-cli/test-exceptions';

function cli(...args: string[]) {
  assert.ok(existsSync(cliPath), 'dist/cli.js is missing: run `npm run build` first');
  const r = spawnSync(process.execPath, [cliPath, ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The result rows of the text tables (ID, POLICY, RULE, RESOURCE, RESULT, REASON...). */
function tableRows(text: string): string[][] {
  return text
    .split('\n')
    .filter((l) => /^│ \d+ /.test(l))
    .map((l) => l.split('│').slice(1, -1).map((c) => c.trim()));
}

test('test -t selects results by policy and resource, with wildcards', () => {
  const r = cli('test', exceptions, '-t', 'policy=psa,resource=bad-pod');
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(tableRows(r.out), [['1', 'psa', 'baseline', 'Pod/default/bad-pod', 'Pass', 'Ok']]);
  assert.match(r.out, /Test Summary: 1 tests passed and 0 tests failed/);
  const wild = cli('test', exceptions, '--test-case-selector=policy=disallow-*');
  assert.equal(wild.code, 0, wild.err);
  const rows = tableRows(wild.out);
  assert.ok(rows.length > 0);
  assert.ok(rows.every((row) => row[1].startsWith('disallow-')), wild.out);
});

test('test -t selecting nothing skips every test: summary 0/0, exit 0', () => {
  const r = cli('test', suites, '-t', 'rule=no-such-rule*,policy=none');
  assert.equal(r.code, 0, r.err);
  assert.doesNotMatch(r.out, /Loading test/);
  assert.match(r.out, /Test Summary: 0 tests passed and 0 tests failed/);
});

test('test -t with a bad term prints Kyverno\'s filter error and keeps the default', () => {
  const r = cli('test', `${suites}/excluded`, '-t', 'color=red');
  assert.match(r.out, /Filter errors:\n {2}Error: Invalid test-case-selector \(color=red\)\. Parameter can only be policy, rule or resource\./);
  assert.equal(r.code, 0);
});

test('test --fail-only prints Kyverno\'s summary and the aggregated failures', () => {
  const r = cli('test', suites, '--fail-only');
  assert.equal(r.code, 1);
  assert.match(r.out, /Test Summary: 1 out of 2 tests failed\n\nAggregated Failed Test Cases : \n┌/);
  assert.deepEqual(tableRows(r.out), [['1', 'configmaps-only', '', 'Pod/shop/web', 'Fail', 'Not found']]);
});

test('test --detailed-results adds the MESSAGE column', () => {
  const r = cli('test', suites, '--detailed-results');
  assert.equal(r.code, 1);
  assert.match(r.out, /│ ID │ POLICY +│ RULE +│ RESOURCE +│ RESULT │ REASON +│ MESSAGE +│/);
  assert.ok(tableRows(r.out).every((row) => row.length === 7));
});

test('test -o json prints Kyverno\'s row maps; yaml and markdown too', () => {
  const json = cli('test', `${suites}/not-found`, '-o', 'json', '--remove-color');
  assert.equal(json.code, 1);
  const start = json.out.indexOf('[');
  const end = json.out.lastIndexOf(']');
  assert.deepEqual(JSON.parse(json.out.slice(start, end + 1)), [
    { ID: 1, POLICY: 'configmaps-only', REASON: 'Not found', RESOURCE: 'Pod/shop/web', RESULT: 'Fail', RULE: '' },
  ]);
  const yaml = cli('test', `${suites}/not-found`, '--output-format', 'yaml');
  assert.match(yaml.out, /- ID: 1\n {2}POLICY: configmaps-only\n {2}REASON: Not found\n/);
  const md = cli('test', `${suites}/not-found`, '-o', 'markdown', '--detailed-results');
  assert.match(md.out, /\| ID \| POLICY \| RULE \| RESOURCE \| RESULT \| REASON \| MESSAGE \| \n\|(----\|){7}\n\| 1 \| configmaps-only \|  \| Pod\/shop\/web \| Fail \| Not found \| Not found \|\n/);
});

test('test -o junit is well-formed JUnit XML with one suite per policy', async () => {
  for (const detailed of [[], ['--detailed-results']]) {
    const r = cli('test', suites, '-o', 'junit', ...detailed);
    assert.equal(r.code, 1);
    const docs = r.out.split('<?xml').slice(1).map((d) => `<?xml${d.slice(0, d.indexOf('</testsuites>'))}</testsuites>`);
    assert.equal(docs.length, 2);
    const parsed = await Promise.all(docs.map((d) => new Promise<any>((ok, ko) => parseString(d, (e: unknown, v: unknown) => (e ? ko(e) : ok(v))))));
    const failing = parsed.find((p) => p.testsuites.$.failures === '1');
    assert.ok(failing, r.out);
    const suite = failing.testsuites.testsuite[0];
    assert.deepEqual({ ...suite.$ }, { name: 'configmaps-only', tests: '1', failures: '1' });
    assert.equal(suite.testcase[0].$.name, 'Pod/shop/web');
    assert.equal(suite.testcase[0].failure[0].$.message, 'Not found');
  }
});

test('test -o with an unknown format fails as Kyverno does', () => {
  const r = cli('test', suites, '-o', 'html');
  assert.equal(r.code, 1);
  assert.match(r.err, /invalid format, expected \(json, yaml, markdown, junit\)/);
});

test('test --require-tests turns "no tests" into exit 1', () => {
  const empty = mkdtempSync(join(tmpdir(), 'kstudio-empty-'));
  assert.equal(cli('test', empty).code, 0);
  const r = cli('test', empty, '--require-tests');
  assert.equal(r.code, 1);
  assert.match(r.err, /no tests found/);
  assert.deepEqual(readdirSync(empty), []);
});

test('Kyverno flags we cannot honour are named errors, not unknown flags', () => {
  for (const args of [['test', suites, '--registry'], ['test', suites, '-b', 'main']]) {
    const r = cli(...args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.err, /^Error: flag --(registry|git-branch) is not supported: /);
    assert.doesNotMatch(r.err, /unknown flag/);
  }
});

test('README documents every test flag', () => {
  const readme = readFileSync(resolve(root, 'README.md'), 'utf8');
  for (const flag of ['--test-case-selector', '--output-format', '--detailed-results', '--remove-color', '--fail-only', '--require-tests']) {
    assert.ok(readme.includes(flag), `README lacks ${flag}`);
  }
});
