// Bad inputs to `kyverno-studio test`, run through the built CLI (dist/cli.js; `npm run
// build` first). Each bad suite runs beside a good one: the bad one gets a one-line error
// naming its file (and line when known), the good one still passes, nothing prints a stack.
// Inputs are generated in a temporary folder (some are megabytes). No timing assertions:
// the generous timeouts only make a hang fail instead of blocking the run.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');
const cliPath = resolve(root, 'dist/cli.js');
let dir = '';

const POD = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  containers:\n    - name: app\n      image: nginx:1.27\n';

function testYaml(policy: string, resource: string, extra = ''): string {
  return [
    'apiVersion: cli.kyverno.io/v1alpha1',
    'kind: Test',
    'metadata:',
    '  name: t',
    `policies: [${policy}]`,
    `resources: [${resource}]`,
    'results:',
    '  - policy: p',
    '    rule: r',
    '    kind: Pod',
    '    resources: [web]',
    '    result: pass',
    extra,
  ].join('\n');
}

function clusterPolicy(ruleBody: string): string {
  return `apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: p\nspec:\n  rules:\n  - name: r\n    match:\n      any:\n      - resources:\n          kinds: [Pod]\n${ruleBody}`;
}

const NAME_PATTERN = clusterPolicy('    validate:\n      message: m\n      pattern:\n        metadata:\n          name: "?*"\n');

function suite(name: string, files: Record<string, string | Buffer>): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  for (const [f, text] of Object.entries(files)) writeFileSync(join(d, f), text);
  return d;
}

function cli(...args: string[]) {
  assert.ok(existsSync(cliPath), 'dist/cli.js is missing: run `npm run build` first');
  const r = spawnSync(process.execPath, [cliPath, ...args], { cwd: root, encoding: 'utf8', timeout: 600_000, maxBuffer: 256 * 1024 * 1024 });
  assert.equal(r.signal, null, `the CLI did not finish (${r.signal})`);
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function noStack(text: string) {
  assert.doesNotMatch(text, /\n\s+at .+:\d+:\d+/, 'output must not contain a stack trace');
  assert.doesNotMatch(text, /internal error/);
}

/**
 * Runs a good suite then the bad one; returns the bad file's error line. As Kyverno, the
 * text output stops at the test whose inputs fail to load (no summary), and a test file that
 * cannot be parsed is listed under "Test errors:" before anything runs; --json reports both.
 */
function expectFileError(bad: string, message: RegExp): string {
  const good = join(dir, 'good');
  const human = cli('test', good, bad);
  noStack(human.out + human.err);
  const errorLines = human.err.split('\n').filter((l) => l.startsWith('Error: '));
  assert.equal(errorLines.length, 1, human.err);
  assert.equal(human.code, 1);
  assert.doesNotMatch(human.out, /Test Summary/);
  let text: string;
  if (/^Error: found 1 errors after loading tests$/.test(errorLines[0])) {
    const listed = /\n {4}Error: (.*)/.exec(human.out);
    assert.ok(listed && /\nTest errors:\n {2}Path: /.test(human.out), human.out);
    assert.doesNotMatch(human.out, /Checking results/);
    text = listed[1];
  } else {
    const inner = /^Error: failed to run test \((.*)\)$/.exec(errorLines[0]);
    assert.ok(inner, errorLines[0]);
    assert.match(human.out, /Checking results/);
    text = inner[1];
  }
  assert.match(text, message);

  const json = cli('test', bad, good, '--json');
  assert.equal(json.code, 1);
  const report = JSON.parse(json.out) as { files: Array<{ path: string; error: string | null; rows: unknown[] }> };
  assert.equal(report.files.length, 2);
  assert.match(report.files[0].error ?? '', message);
  assert.doesNotMatch(report.files[0].error ?? '', /\n/);
  assert.equal(report.files[1].error, null);
  return `Error: ${text}`;
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ks-bad-input-'));
  suite('good', { 'kyverno-test.yaml': testYaml('policy.yaml', 'pod.yaml'), 'policy.yaml': NAME_PATTERN, 'pod.yaml': POD });
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('malformed YAML names the file and line', () => {
  const bad = suite('malformed', {
    'kyverno-test.yaml': testYaml('policy.yaml', 'pod.yaml'),
    'policy.yaml': 'apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: p\n spec: [\n',
    'pod.yaml': POD,
  });
  expectFileError(bad, /malformed\/policy\.yaml:5: malformed YAML: /);
});

test('a missing input file is named', () => {
  const bad = suite('missing', { 'kyverno-test.yaml': testYaml('nope.yaml', 'pod.yaml'), 'pod.yaml': POD });
  expectFileError(bad, /missing\/nope\.yaml: file not found$/);
});

test('a folder without tests says so (Kyverno wording, exit 0) and names the folder', () => {
  const empty = join(dir, 'empty/sub');
  mkdirSync(empty, { recursive: true });
  const r = cli('test', join(dir, 'empty'));
  assert.equal(r.code, 0);
  assert.match(r.out, /No test yamls available/);
  assert.match(r.err, /empty: no kyverno-test\.yaml found/);
  noStack(r.out + r.err);
});

test('a policy with fields of the wrong type is rejected with the field path', () => {
  const bad = suite('wrong-types', {
    'kyverno-test.yaml': testYaml('policy.yaml', 'pod.yaml'),
    'policy.yaml': 'apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: p\nspec:\n  rules: "not a list"\n',
    'pod.yaml': POD,
  });
  expectFileError(bad, /wrong-types\/policy\.yaml:6:10: invalid policy p: spec\.rules must be a list, not a string/);
  const rule = suite('wrong-rule-types', {
    'kyverno-test.yaml': testYaml('policy.yaml', 'pod.yaml'),
    'policy.yaml': clusterPolicy('    validate:\n      message: 7\n      pattern: {}\n'),
    'pod.yaml': POD,
  });
  expectFileError(rule, /invalid policy p: spec\.rules\[0\]\.validate\.message must be a string, not a number/);
});

test('shapes Kyverno\'s admission rejects are errors at the line and column of the value (test and apply)', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['kinds-scalar', clusterPolicy('    validate:\n      message: m\n      pattern: {}\n').replace('kinds: [Pod]', 'kinds: Pod'), /:11:18: invalid policy p: spec\.rules\[0\]\.match\.any\[0\]\.resources\.kinds must be a list, not a string/],
    ['any-mapping', clusterPolicy('    validate:\n      message: m\n      pattern: {}\n').replace('      any:\n      - resources:\n          kinds: [Pod]', '      any:\n        resources:\n          kinds: [Pod]'), /:10:9: invalid policy p: spec\.rules\[0\]\.match\.any must be a list, not a mapping/],
    ['rules-mapping', 'apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: p\nspec:\n  rules: {}\n', /:6:10: invalid policy p: spec\.rules must be a list, not a mapping/],
    ['match-list', 'apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: p\nspec:\n  rules:\n  - name: r\n    match: []\n', /:8:12: invalid policy p: spec\.rules\[0\]\.match must be a mapping, not a list/],
    ['validate-string', clusterPolicy('    validate: "x"\n'), /:12:15: invalid policy p: spec\.rules\[0\]\.validate must be a mapping, not a string/],
  ];
  for (const [name, policy, message] of cases) {
    const bad = suite(name, { 'kyverno-test.yaml': testYaml('policy.yaml', 'pod.yaml'), 'policy.yaml': policy, 'pod.yaml': POD });
    expectFileError(bad, new RegExp(`${name}/policy\\.yaml${message.source}`));
    const applied = cli('apply', join(bad, 'policy.yaml'), '--resource', join(bad, 'pod.yaml'));
    noStack(applied.out + applied.err);
    assert.notEqual(applied.code, 0, `${name}: apply must not succeed with zero results`);
    assert.match(applied.err, message, name);
  }
  const results = suite('results-string', {
    'kyverno-test.yaml': 'apiVersion: cli.kyverno.io/v1alpha1\nkind: Test\nmetadata:\n  name: t\npolicies: [policy.yaml]\nresources: [pod.yaml]\nresults: "x"\n',
    'policy.yaml': NAME_PATTERN,
    'pod.yaml': POD,
  });
  expectFileError(results, /results-string\/kyverno-test\.yaml:7:10: field "results" must be a list/);
});

test('a policy Kyverno\'s validation rejects is skipped as kyverno apply and kyverno test do, each error at its line and column', () => {
  // Line 5 is `spec:`; the timeout is on line 7, the subject kind on line 15 (subjects need background off).
  const policy = clusterPolicy('    validate:\n      message: m\n      pattern:\n        metadata:\n          name: "?*"\n')
    .replace('spec:\n', 'spec:\n  background: false\n  webhookTimeoutSeconds: 40\n')
    .replace('          kinds: [Pod]\n', '          kinds: [Pod]\n        subjects:\n        - kind: Robot\n          name: x\n');
  const bad = suite('rejected-by-validation', { 'kyverno-test.yaml': testYaml('policy.yaml', 'pod.yaml'), 'policy.yaml': policy, 'pod.yaml': POD });
  const reason = 'spec.webhookTimeoutSeconds: Invalid value: 40: the timeout value must be between 1 and 30 seconds';
  const subject = 'spec.rules[0].match.any[0].subjects[0].kind: Invalid value: "Robot": kind must be \'User\', \'Group\', or \'ServiceAccount\'';

  const applied = cli('apply', join(bad, 'policy.yaml'), '--resource', join(bad, 'pod.yaml'));
  noStack(applied.out + applied.err);
  assert.equal(applied.code, 1, 'an invalid policy is an error of the run');
  // Kyverno counts the rules (with autogen's) before validating, prints the skipped policy with its aggregated reason, and counts one error.
  assert.match(applied.out, /Applying 3 policy rule\(s\) to 1 resource\(s\)\.\.\./);
  assert.ok(applied.out.includes(`Policies Skipped:\n1. p: [${reason}, ${subject}]\n`), applied.out);
  assert.match(applied.out, /pass: 0, fail: 0, warn: 0, error: 1, skip: 0/);
  assert.ok(applied.err.includes(`rejected-by-validation/policy.yaml:7:26: invalid policy p: ${reason}`), applied.err);
  assert.ok(applied.err.includes(`rejected-by-validation/policy.yaml:15:17: invalid policy p: ${subject}`), applied.err);

  const tested = cli('test', bad, '--json');
  noStack(tested.out + tested.err);
  const report = JSON.parse(tested.out) as { files: Array<{ ok: boolean; rows: Array<{ actual: string; ok: boolean; reason: string }> }> };
  const [row] = report.files[0].rows;
  // output.go: the results of a policy skipped by validation are skip / "Invalid Policy", not failures.
  assert.equal(row.actual, 'skip');
  assert.equal(row.ok, true);
  assert.match(row.reason, /^Invalid Policy: .*rejected-by-validation\/policy\.yaml:7:26: invalid policy p: spec\.webhookTimeoutSeconds/);
  assert.equal(tested.code, 0);
});

test('a policy without spec is rejected (classic and CEL kinds)', () => {
  const classic = suite('no-spec', {
    'kyverno-test.yaml': testYaml('policy.yaml', 'pod.yaml'),
    'policy.yaml': 'apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: p\n',
    'pod.yaml': POD,
  });
  expectFileError(classic, /no-spec\/policy\.yaml:1:1: invalid policy p: spec is required/);
  const cel = suite('vpol-no-spec', {
    'kyverno-test.yaml': testYaml('policy.yaml', 'pod.yaml', '    isValidatingPolicy: true\n'),
    'policy.yaml': 'apiVersion: policies.kyverno.io/v1\nkind: ValidatingPolicy\nmetadata:\n  name: p\n',
    'pod.yaml': POD,
  });
  expectFileError(cel, /vpol-no-spec\/policy\.yaml:1:1: invalid policy p: spec is required/);
});

test('an unknown JMESPath function is a rule error whose row carries the engine message', () => {
  const bad = suite('unknown-jmespath', {
    'kyverno-test.yaml': testYaml('policy.yaml', 'pod.yaml'),
    'policy.yaml': clusterPolicy(
      '    validate:\n      message: m\n      deny:\n        conditions:\n          any:\n          - key: "{{ no_such_function(request.object.metadata.name) }}"\n            operator: Equals\n            value: x\n',
    ),
    'pod.yaml': POD,
  });
  const r = cli('test', bad, '--json');
  assert.equal(r.code, 1);
  const report = JSON.parse(r.out);
  const row = report.files[0].rows[0];
  assert.equal(row.actual, 'error');
  assert.match(row.reason, /^Want pass, got error: .*no_such_function/);
  assert.doesNotMatch(row.reason, /\n/);
  noStack(r.out + r.err);
});

const LONG = `${'a'.repeat(100_000)}!`;
const POD_WITH_LONG = POD.replace('  namespace: shop\n', `  namespace: shop\n  annotations:\n    long: "${LONG}"\n`);

test('a catastrophic-backtracking regex on a long string stays bounded (JMESPath regex_match)', () => {
  const bad = suite('regex-jmespath', {
    'kyverno-test.yaml': testYaml('policy.yaml', 'pod.yaml'),
    'policy.yaml': clusterPolicy(
      "    validate:\n      message: m\n      deny:\n        conditions:\n          any:\n          - key: \"{{ regex_match('(a+)+$', request.object.metadata.annotations.long) }}\"\n            operator: Equals\n            value: true\n",
    ),
    'pod.yaml': POD_WITH_LONG,
  });
  const r = cli('test', bad, '--json');
  const report = JSON.parse(r.out);
  assert.deepEqual(report.summary, { files: 1, filesPassed: 1, rows: 1, rowsPassed: 1 });
  assert.equal(r.code, 0);
});

/** A ValidatingPolicy `p` on Pod CREATE with these variable lines and one validation expression. */
function podValidatingPolicy(variables: string[], expression: string): string {
  return [
    'apiVersion: policies.kyverno.io/v1',
    'kind: ValidatingPolicy',
    'metadata:',
    '  name: p',
    'spec:',
    '  matchConstraints:',
    '    resourceRules:',
    '    - apiGroups: [""]',
    '      apiVersions: [v1]',
    '      operations: [CREATE]',
    '      resources: [pods]',
    ...(variables.length > 0 ? ['  variables:', ...variables] : []),
    '  validations:',
    `  - expression: "${expression}"`,
    '',
  ].join('\n');
}

test('a catastrophic-backtracking regex on a long string stays bounded (CEL matches)', () => {
  const bad = suite('regex-cel', {
    'kyverno-test.yaml': testYaml('policy.yaml', 'pod.yaml', '    isValidatingPolicy: true\n'),
    'policy.yaml': podValidatingPolicy([], `!object.metadata.annotations.long.matches('(a+)+$')`),
    'pod.yaml': POD_WITH_LONG,
  });
  const r = cli('test', bad, '--json');
  const report = JSON.parse(r.out);
  assert.deepEqual(report.summary, { files: 1, filesPassed: 1, rows: 1, rowsPassed: 1 });
});

/** A ValidatingPolicy whose variables double a list `count` times (v1 = v0 + v0, ...). */
function doublingValidatingPolicy(count: number): string {
  const variables = ['  - name: v0', '    expression: "[1, 2, 3, 4]"'];
  for (let i = 1; i <= count; i++) variables.push(`  - name: v${i}`, `    expression: "variables.v${i - 1} + variables.v${i - 1}"`);
  return podValidatingPolicy(variables, `size(variables.v${count}) > 0`);
}

test('a CEL list doubled 25 times by variables is an error result naming the cost budget, not a V8 crash', () => {
  const bad = suite('cel-doubling', {
    'kyverno-test.yaml': testYaml('policy.yaml', 'pod.yaml', '    isValidatingPolicy: true\n').replace('result: pass', 'result: error'),
    'policy.yaml': doublingValidatingPolicy(25),
    'pod.yaml': POD,
  });
  const r = cli('test', bad, '--json');
  noStack(r.err);
  const report = JSON.parse(r.out);
  assert.deepEqual(report.summary, { files: 1, filesPassed: 1, rows: 1, rowsPassed: 1 });
  // kyverno apply lists failed rules only: the error shows in the counts and in the detailed table.
  const applied = cli('apply', join(bad, 'policy.yaml'), '--resource', join(bad, 'pod.yaml'));
  noStack(applied.out + applied.err);
  assert.match(applied.out, /error: 1/);
  const table = cli('apply', join(bad, 'policy.yaml'), '--resource', join(bad, 'pod.yaml'), '-t', '--detailed-results');
  noStack(table.out + table.err);
  assert.match(table.out, /actual cost limit exceeded \(CEL cost budget of 1000000/);
});

test('symbolic links to . and .. in a folder: test and apply end and read every file once', () => {
  const linked = suite('links', { 'kyverno-test.yaml': testYaml('policy.yaml', 'pod.yaml'), 'policy.yaml': NAME_PATTERN, 'pod.yaml': POD });
  symlinkSync('.', join(linked, 'self'));
  mkdirSync(join(linked, 'inner'));
  symlinkSync('..', join(linked, 'inner/up'));
  const r = cli('test', linked, '--json');
  noStack(r.err);
  const report = JSON.parse(r.out);
  assert.deepEqual(report.summary, { files: 1, filesPassed: 1, rows: 1, rowsPassed: 1 });
  const applied = cli('apply', linked, '--resource', join(linked, 'pod.yaml'));
  noStack(applied.out + applied.err);
  // One Pod rule and its two autogen rules: the policy was read once.
  assert.match(applied.out, /Applying 3 policy rule\(s\) to 1 resource\(s\)/);
});

test('a YAML alias bomb is refused', () => {
  let bomb = 'a: &a ["x","x","x","x","x","x","x","x","x","x"]\n';
  for (let i = 1; i < 12; i++) {
    const prev = String.fromCharCode(96 + i);
    bomb += `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${prev}`).join(',')}]\n`;
  }
  const bad = suite('alias-bomb', {
    'kyverno-test.yaml': testYaml('policy.yaml', 'pod.yaml'),
    'policy.yaml': `apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: p\n${bomb}`,
    'pod.yaml': POD,
  });
  expectFileError(bad, /alias-bomb\/policy\.yaml:1: too many YAML aliases/);
});

test('a 10 MB resource file is read and evaluated', () => {
  const big = `${POD}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\n  namespace: shop\ndata:\n  blob: "${'x'.repeat(10 * 1024 * 1024)}"\n`;
  const d = suite('ten-mb', { 'kyverno-test.yaml': testYaml('policy.yaml', 'big.yaml'), 'policy.yaml': NAME_PATTERN, 'big.yaml': big });
  const r = cli('test', d, '--json');
  const report = JSON.parse(r.out);
  assert.equal(report.files[0].error, null);
  assert.deepEqual(report.summary, { files: 1, filesPassed: 1, rows: 1, rowsPassed: 1 });
});

test('a file over the size limit is refused by name', () => {
  const huge = `${POD}# ${'x'.repeat(21 * 1024 * 1024)}\n`;
  const bad = suite('too-large', { 'kyverno-test.yaml': testYaml('policy.yaml', 'huge.yaml'), 'policy.yaml': NAME_PATTERN, 'huge.yaml': huge });
  expectFileError(bad, /too-large\/huge\.yaml: file too large \(\d+ bytes, limit \d+\)/);
});

test('10,000 documents in one file are all evaluated', () => {
  let many = '';
  for (let i = 0; i < 10_000; i++) many += `---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: pod-${i}\n  namespace: shop\n`;
  const spec = testYaml('policy.yaml', 'many.yaml').replace('resources: [web]', 'resources: [pod-0, pod-9999]');
  const d = suite('many-docs', { 'kyverno-test.yaml': spec, 'policy.yaml': NAME_PATTERN, 'many.yaml': many });
  const r = cli('test', d, '--json');
  const report = JSON.parse(r.out);
  assert.equal(report.files[0].error, null);
  assert.deepEqual(
    report.files[0].rows.map((row: { resource: string; ok: boolean }) => [row.resource, row.ok]),
    [
      ['shop/pod-0', true],
      ['shop/pod-9999', true],
    ],
  );
  assert.equal(r.code, 0);
});

test('invalid UTF-8 is refused with its line', () => {
  const policy = Buffer.concat([
    Buffer.from('apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: p\n  annotations:\n    x: "'),
    Buffer.from([0xff, 0xfe, 0xc3]),
    Buffer.from('"\n'),
  ]);
  const bad = suite('utf8', { 'kyverno-test.yaml': testYaml('policy.yaml', 'pod.yaml'), 'policy.yaml': policy, 'pod.yaml': POD });
  expectFileError(bad, /utf8\/policy\.yaml:6: invalid UTF-8$/);
  const badTest = suite('utf8-test', { 'kyverno-test.yaml': Buffer.concat([Buffer.from('apiVersion: cli.kyverno.io/v1alpha1\nkind: Test\n# '), Buffer.from([0xc0, 0x80]), Buffer.from('\n')]) });
  expectFileError(badTest, /utf8-test\/kyverno-test\.yaml:3: invalid UTF-8$/);
});

test('YAML nested 10,000 levels deep (flow and block) is refused', () => {
  const header = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  x:';
  const flow = suite('deep-flow', {
    'kyverno-test.yaml': testYaml('policy.yaml', 'deep.yaml'),
    'policy.yaml': NAME_PATTERN,
    'deep.yaml': `${header} ${'['.repeat(10_000)}${']'.repeat(10_000)}\n`,
  });
  expectFileError(flow, /deep-flow\/deep\.yaml:6: YAML nested too deeply/);
  const block = suite('deep-block', {
    'kyverno-test.yaml': testYaml('policy.yaml', 'deep.yaml'),
    'policy.yaml': NAME_PATTERN,
    'deep.yaml': `${header}\n  ${'- '.repeat(10_000)}x\n`,
  });
  expectFileError(block, /deep-block\/deep\.yaml:\d+: YAML nested too deeply/);
});
