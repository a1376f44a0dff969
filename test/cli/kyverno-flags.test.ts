// Kyverno 1.19 command lines against the built CLI (dist/cli.js): flags, output shapes, exit codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { WITHOUT_CORPUS } from '../fixtures/corpus-cases';

const root = resolve(__dirname, '../..');
const cliPath = resolve(root, 'dist/cli.js');
const suites = 'test/fixtures/cli/suites';
const exceptions = '../shared/conformance/kyverno-cli/test-exceptions';

function cli(...args: string[]) {
  assert.ok(existsSync(cliPath), 'dist/cli.js is missing: run `npm run build` first');
  const r = spawnSync(process.execPath, [cliPath, ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
}

/** A strict little XML reader: throws on unbalanced tags, stray `<`/`&` or unquoted attributes. */
function parseXml(text: string): XmlElement {
  const body = text.replace(/^<\?xml [^?]*\?>\s*/, '').replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, '');
  const root: XmlElement = { name: '#root', attrs: {}, children: [] };
  const stack = [root];
  const token = /<(\/?)([A-Za-z][\w-]*)((?:\s+[\w-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/y;
  const unescape = (s: string) => s.replace(/&(lt|gt|amp|quot|apos);/g, '');
  while (token.lastIndex < body.length) {
    const at = token.lastIndex;
    const m = token.exec(body);
    if (!m) throw new Error(`malformed XML at ${at}: ${body.slice(at, at + 40)}`);
    if (m[5] !== undefined) {
      if (/[<&]/.test(unescape(m[5]))) throw new Error(`unescaped text at ${at}`);
      continue;
    }
    const [, close, name, attrText, selfClose] = m;
    if (close) {
      if (stack.pop()?.name !== name) throw new Error(`unbalanced </${name}> at ${at}`);
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of attrText.matchAll(/([\w-]+)="([^"]*)"/g)) {
      if (/&/.test(unescape(a[2]))) throw new Error(`unescaped attribute ${a[1]}`);
      attrs[a[1]] = a[2];
    }
    const el = { name, attrs, children: [] };
    stack[stack.length - 1].children.push(el);
    if (!selfClose) stack.push(el);
  }
  if (stack.length !== 1 || root.children.length !== 1) throw new Error('unclosed elements or several roots');
  return root.children[0];
}

/** The result rows of the text tables (ID, POLICY, RULE, RESOURCE, RESULT, REASON...). */
function tableRows(text: string): string[][] {
  return text
    .split('\n')
    .filter((l) => /^│ \d+ /.test(l))
    .map((l) => l.split('│').slice(1, -1).map((c) => c.trim()));
}

test('test -t selects results by policy and resource, with wildcards', { skip: WITHOUT_CORPUS }, () => {
  const r = cli('test', exceptions, '-t', 'policy=psa,resource=bad-pod');
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(tableRows(r.out), [['1', 'psa', 'baseline', 'v1/Pod/default/bad-pod', 'Pass', 'Ok']]);
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
  assert.deepEqual(tableRows(r.out), [['1', 'configmaps-only', '', 'v1/Pod/shop/web', 'Fail', 'Not found']]);
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
    { ID: 1, POLICY: 'configmaps-only', REASON: 'Not found', RESOURCE: 'v1/Pod/shop/web', RESULT: 'Fail', RULE: '' },
  ]);
  const yaml = cli('test', `${suites}/not-found`, '--output-format', 'yaml');
  assert.match(yaml.out, /- ID: 1\n {2}POLICY: configmaps-only\n {2}REASON: Not found\n/);
  const md = cli('test', `${suites}/not-found`, '-o', 'markdown', '--detailed-results');
  assert.match(md.out, /\| ID \| POLICY \| RULE \| RESOURCE \| RESULT \| REASON \| MESSAGE \| \n\|(----\|){7}\n\| 1 \| configmaps-only \|  \| v1\/Pod\/shop\/web \| Fail \| Not found \| Not found \|\n/);
});

test('test -o junit is well-formed JUnit XML with one suite per policy', () => {
  for (const detailed of [[], ['--detailed-results']]) {
    const r = cli('test', suites, '-o', 'junit', ...detailed);
    assert.equal(r.code, 1);
    const docs = r.out.split('<?xml').slice(1).map((d) => `<?xml${d.slice(0, d.indexOf('</testsuites>'))}</testsuites>`);
    assert.equal(docs.length, 2);
    const parsed = docs.map(parseXml);
    assert.ok(parsed.every((p) => p.name === 'testsuites'));
    const failing = parsed.find((p) => p.attrs.failures === '1');
    assert.ok(failing, r.out);
    const suite = failing.children[0];
    assert.deepEqual(suite.attrs, { name: 'configmaps-only', tests: '1', failures: '1' });
    assert.deepEqual(suite.children.map((c) => [c.name, c.attrs.name, c.children[0].name, c.children[0].attrs.message]), [['testcase', 'v1/Pod/shop/web', 'failure', 'Not found']]);
  }
});

test('the XML reader used above rejects what Kyverno 1.19 writes without --detailed-results', () => {
  assert.throws(() => parseXml('<testsuites>\n <testsuite name="p">\n  <testcase name="r">\n   <failure message="m">\n    Result: Fail  </testcase>\n </testsuite>\n</testsuites>'));
  assert.throws(() => parseXml('<a b="x & y"></a>'));
  assert.equal(parseXml('<a b="x &amp; y"><c/><![CDATA[ <&> ]]></a>').children[0].name, 'c');
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

test('test -b without a git URL is accepted, as Kyverno ignores it for local folders', () => {
  const r = cli('test', `${suites}/excluded`, '-b', 'main');
  const plain = cli('test', `${suites}/excluded`);
  assert.equal(r.code, plain.code, r.err);
  assert.equal(r.out, plain.out);
});

test('README documents every test flag', () => {
  const readme = readFileSync(resolve(root, 'README.md'), 'utf8');
  for (const flag of ['--test-case-selector', '--output-format', '--detailed-results', '--remove-color', '--fail-only', '--require-tests']) {
    assert.ok(readme.includes(flag), `README lacks ${flag}`);
  }
});

const samples = '../shared/conformance/kyverno-policies/best-practices';
const latestTag = [`${samples}/disallow-latest-tag/disallow-latest-tag.yaml`, '-r', `${samples}/disallow-latest-tag/.kyverno-test/resource.yaml`];
const safeToEvict = [`${samples}/add-safe-to-evict/add-safe-to-evict.yaml`, '--resources', `${samples}/add-safe-to-evict/.kyverno-test/resource.yaml`];

test('apply prints Kyverno 1.19\'s failure lines and summary, exit 1 on a failure', { skip: WITHOUT_CORPUS }, () => {
  const r = cli('apply', ...latestTag);
  assert.equal(r.code, 1);
  // Two Pod rules with their autogen rules (ComputeRules), as Kyverno counts them.
  assert.match(r.out, /^\nApplying 6 policy rule\(s\) to 8 resource\(s\)\.\.\.\n/);
  assert.match(r.out, /\npolicy disallow-latest-tag -> resource default\/Pod\/badpod01 failed:\n1 - require-image-tag .+\n/);
  assert.match(r.out, /\npass: 10, fail: 6, warn: 0, error: 0, skip: 0 \n/);
  assert.match(r.err, /Error: exit as there are policy violations/);
});

test('apply --audit-warn with --warn-exit-code exits with the warn code; --warn-no-pass too', { skip: WITHOUT_CORPUS }, () => {
  const r = cli('apply', ...latestTag, '--audit-warn', '--warn-exit-code', '3');
  assert.equal(r.code, 3, r.err);
  assert.match(r.out, /failed as audit warning:\n1 - /);
  assert.match(r.out, /pass: 10, fail: 0, warn: 6, error: 0, skip: 0 \nexit as warnExitCode is 3/);
  assert.equal(cli('apply', ...latestTag, '--audit-warn').code, 0);
  const noPass = cli('apply', 'test/fixtures/cli/apply/policy.yaml', '-r', 'test/fixtures/cli/apply/pod.yaml', '--warn-no-pass', '--warn-exit-code=4');
  assert.match(noPass.out, /exit as no objects satisfied policy/);
  assert.equal(noPass.code, 4);
});

test('apply -t prints the results table (with MESSAGE when --detailed-results)', { skip: WITHOUT_CORPUS }, () => {
  const r = cli('apply', ...latestTag, '-t', '--remove-color');
  assert.equal(r.code, 1);
  const rows = tableRows(r.out);
  assert.equal(rows.length, 16);
  assert.deepEqual(rows[2], ['3', 'disallow-latest-tag', 'require-image-tag', 'default/Pod/badpod01', 'Fail', '']);
  assert.doesNotMatch(r.out, /pass: \d+/);
  const detailed = cli('apply', ...latestTag, '--table', '--detailed-results');
  assert.ok(tableRows(detailed.out).every((row) => row.length === 7));
});

test('apply -p prints a ClusterReport (yaml, or json with --output-format json)', { skip: WITHOUT_CORPUS }, () => {
  const r = cli('apply', ...latestTag, '-p');
  assert.equal(r.code, 1);
  assert.doesNotMatch(r.out, /Applying/);
  assert.match(r.out, /^apiVersion: openreports\.io\/v1alpha1\nkind: ClusterReport\nmetadata:\n  creationTimestamp: null\n  name: merged\nresults:\n- /);
  assert.match(r.out, /summary:\n  error: 0\n  fail: 6\n  pass: 10\n  skip: 0\n  warn: 0/);
  const json = JSON.parse(cli('apply', ...latestTag, '--policy-report', '--output-format', 'json').out);
  assert.equal(json.kind, 'ClusterReport');
  assert.deepEqual(json.summary, { error: 0, fail: 6, pass: 10, skip: 0, warn: 0 });
  assert.deepEqual(json.results[0].resources[0], { apiVersion: 'v1', kind: 'Pod', name: 'myapp-pod', namespace: 'default' });
});

test("apply -p: a rule's reportProperties reach its result, substituted, and a message property replaces the message (ToPolicyReportResult)", () => {
  const dir = mkdtempSync(join(tmpdir(), 'kstudio-props-'));
  const policyFile = join(dir, 'policy.yaml');
  const resourceFile = join(dir, 'ns.yaml');
  writeFileSync(policyFile, [
    'apiVersion: kyverno.io/v1', 'kind: ClusterPolicy', 'metadata: {name: require-owner}', 'spec:', '  rules:', '  - name: check-owner',
    '    match: {any: [{resources: {kinds: [Namespace]}}]}', '    context: [{name: objName, variable: {jmesPath: request.object.metadata.name}}]',
    "    reportProperties: {objName: '{{ objName }}', failMessage: 'owner missing on {{ objName }}'}",
    '    validate: {failureAction: Audit, pattern: {metadata: {labels: {owner: "?*"}}}}', '',
  ].join('\n'));
  writeFileSync(resourceFile, 'apiVersion: v1\nkind: Namespace\nmetadata: {name: bar}\n');
  const json = JSON.parse(cli('apply', policyFile, '-r', resourceFile, '-p', '--output-format', 'json').out);
  assert.equal(json.results[0].result, 'fail');
  assert.equal(json.results[0].message, 'owner missing on bar');
  assert.deepEqual(json.results[0].properties, { objName: 'bar', failMessage: 'owner missing on bar', process: 'background scan' });
});

test('apply prints each mutated resource; -o writes them to a file or a folder instead', { skip: WITHOUT_CORPUS }, () => {
  const r = cli('apply', ...safeToEvict);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /\npolicy add-safe-to-evict applied to default\/Pod\/myapp-pod01:\napiVersion: v1\nkind: Pod\nmetadata:\n  annotations:\n    cluster-autoscaler\.kubernetes\.io\/safe-to-evict: "true"\n[\s\S]*?\n\n---\n\n\nMutation:\nMutation has been applied successfully\./);
  const dir = mkdtempSync(join(tmpdir(), 'kstudio-out-'));
  const toDir = cli('apply', ...safeToEvict, '-o', `${dir}/mutated/`);
  assert.equal(toDir.code, 0, toDir.err);
  assert.doesNotMatch(toDir.out, /applied to/);
  assert.deepEqual(readdirSync(join(dir, 'mutated')).sort(), ['myapp-pod01-mutated.yaml', 'myapp-pod02-mutated.yaml', 'myapp-pod03-mutated.yaml', 'myapp-pod04-mutated.yaml']);
  const file = join(dir, 'all.yaml');
  assert.equal(cli('apply', ...safeToEvict, '--output', file).code, 0);
  assert.equal(readFileSync(file, 'utf8').split('\n---\n').length - 1, 4);
});

test('apply -i reads resources from stdin and prints only the mutated resources', { skip: WITHOUT_CORPUS }, () => {
  const r = spawnSync(process.execPath, [cliPath, 'apply', `${samples}/add-safe-to-evict/add-safe-to-evict.yaml`, '-r', '-', '-i'], {
    cwd: root, encoding: 'utf8', input: readFileSync(resolve(root, `${samples}/add-safe-to-evict/.kyverno-test/resource.yaml`), 'utf8'),
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\napiVersion: v1\nkind: Pod\n/);
  assert.doesNotMatch(r.stdout, /Applying|applied to/);
});

test('apply -s sets variables; with --values-file it is Kyverno\'s error', () => {
  const both = cli('apply', ...latestTag, '-s', 'a=b', '-f', 'x.yaml');
  assert.equal(both.code, 1);
  assert.match(both.err, /pass the values either using set flag or values_file flag/);
  assert.match(cli('apply', ...latestTag, '-s', 'novalue').err, /invalid --set value "novalue"/);
});

test('apply -e applies PolicyExceptions; --exceptions-with-resources takes them from the resources', { skip: WITHOUT_CORPUS }, () => {
  const dir = '../shared/conformance/kyverno-cli/apply/exception-within-resource';
  const policy = 'pol';
  const resources = 'res';
  const without = cli('apply', `${dir}/${policy}`, '-r', `${dir}/${resources}`);
  const withExceptions = cli('apply', `${dir}/${policy}`, '-r', `${dir}/${resources}`, '--exceptions-with-resources');
  assert.match(withExceptions.out, /with 1 exception\(s\)\.\.\.\n\npass: 2, fail: 0, warn: 0, error: 0, skip: 1 /);
  assert.notEqual(without.out, withExceptions.out);
  const viaE = cli('apply', `${dir}/${policy}`, '-r', `${dir}/${resources}`, '-e', `${dir}/res/exception.yaml`);
  assert.match(viaE.out, /with 1 exception\(s\)\.\.\./);
});

test('apply --generate-exceptions prints one PolicyException per failure, as Kyverno', { skip: WITHOUT_CORPUS }, () => {
  const r = cli('apply', ...latestTag, '--generate-exceptions');
  assert.equal(r.code, 1);
  assert.doesNotMatch(r.out, /Applying|pass: /);
  const docs = r.out.split('---\n').slice(1);
  assert.equal(docs.length, 6);
  assert.equal(docs[0], `apiVersion: kyverno.io/v2beta1
kind: PolicyException
metadata:
  creationTimestamp: null
  labels:
    cleanup.kyverno.io/ttl: 720h0m0s
  name: disallow-latest-tag-require-image-tag-default-badpod01
spec:
  exceptions:
  - policyName: disallow-latest-tag
    ruleNames:
    - require-image-tag
  match:
    all:
    - resources:
        kinds:
        - Pod
        names:
        - badpod01
        namespaces:
        - default

`);
  // An autogen rule's exception also covers the controller's pods and the plain rule.
  assert.ok(docs.some((d) => /kinds:\n {8}- Deployment\n {8}- Pod\n {8}names:\n {8}- \S+\n {8}- \S+-\*\n/.test(d) && /ruleNames:\n {4}- autogen-validate-image-tag\n {4}- validate-image-tag\n/.test(d)), r.out);
  const json = cli('apply', ...latestTag, '--generate-exceptions', '--output-format', 'json', '--generated-exception-ttl', '0');
  const first = json.out.split('\n')[1];
  assert.equal(first, '{"kind":"PolicyException","apiVersion":"kyverno.io/v2beta1","metadata":{"name":"disallow-latest-tag-require-image-tag-default-badpod01","creationTimestamp":null},"spec":{"match":{"all":[{"resources":{"kinds":["Pod"],"names":["badpod01"],"namespaces":["default"]}}]},"exceptions":[{"policyName":"disallow-latest-tag","ruleNames":["require-image-tag"]}]}}');
  assert.match(cli('apply', ...latestTag, '--generate-exceptions', '--generated-exception-ttl=90m').out, /cleanup\.kyverno\.io\/ttl: 1h30m0s\n/);
  const bad = cli('apply', ...latestTag, '--generate-exceptions', '--generated-exception-ttl=3x');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /^Error: invalid argument "3x" for "--generated-exception-ttl" flag: time: unknown unit "x" in duration "3x"/);
});

test('apply: the generated exceptions, given back with -e, turn every failure into a skip', { skip: WITHOUT_CORPUS }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'kstudio-genex-'));
  const file = join(dir, 'exceptions.yaml');
  writeFileSync(file, cli('apply', ...latestTag, '--generate-exceptions').out);
  const r = cli('apply', ...latestTag, '-e', file);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /with 6 exception\(s\)\.\.\.\n\npass: 10, fail: 0, warn: 0, error: 0, skip: 6 /);
  // With --audit-warn the Audit policy's failures are warnings: nothing to except.
  assert.equal(cli('apply', ...latestTag, '--generate-exceptions', '--audit-warn').out, '');
});

test('apply --generate-exceptions: a Pod Security failure\'s exception lists its controls, and -p its properties', { skip: WITHOUT_CORPUS }, () => {
  const dir = '../shared/conformance/kyverno-policies/pod-security/subrule/podsecurity-subrule-baseline';
  const args = [`${dir}/podsecurity-subrule-baseline.yaml`, '-r', `${dir}/.kyverno-test/resource.yaml`];
  const r = cli('apply', ...args, '--generate-exceptions');
  assert.equal(r.code, 1);
  assert.match(r.out, /\n {2}podSecurity:\n {2}- controlName: Host Namespaces\n/);
  const report = cli('apply', ...args, '-p');
  assert.match(report.out, /controls: hostNamespaces\n/);
  assert.match(report.out, /controlsJSON: '\[\{"ID":"hostNamespaces","Name":"Host Namespaces","Images":null\}\]'\n/);
  assert.match(report.out, /standard: baseline\n/);
  const dirOut = mkdtempSync(join(tmpdir(), 'kstudio-genex-pss-'));
  writeFileSync(join(dirOut, 'ex.yaml'), r.out);
  assert.match(cli('apply', ...args, '-e', join(dirOut, 'ex.yaml')).out, /pass: 1, fail: 0, warn: 0, error: 0, skip: 1 /);
});

test('apply --exceptions-within-resources is --exceptions-with-resources; --exceptions-within-policies is accepted', () => {
  const a = cli('apply', ...latestTag, '--exceptions-within-resources');
  const b = cli('apply', ...latestTag, '--exceptions-with-resources');
  assert.equal(a.out, b.out);
  assert.equal(cli('apply', ...latestTag, '--exceptions-within-policies').out, cli('apply', ...latestTag).out);
});

test('version and --version print the package version in Kyverno\'s shape', () => {
  const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8'));
  const r = cli('version');
  assert.equal(r.code, 0);
  assert.equal(r.out, `Version: ${pkg.version}\nTime: ---\nGit commit ID: ---\n`);
  assert.equal(cli('--version').out, r.out);
  assert.deepEqual(JSON.parse(cli('version', '-o', 'json').out), { version: pkg.version, time: '---', gitCommitId: '---' });
  assert.equal(cli('version', '-o', 'yaml').out, `gitCommitId: ---\ntime: ---\nversion: ${pkg.version}\n\n`);
  const bad = cli('version', '-o', 'xml');
  assert.equal(bad.code, 1);
  assert.match(bad.err, /invalid output format: xml \(supported formats: json, yaml\)/);
});

test('README documents every apply flag', () => {
  const readme = readFileSync(resolve(root, 'README.md'), 'utf8');
  for (const flag of ['--policy-report', '--output-format', '--table', '--detailed-results', '--output PATH', '--set', '--exception', '--exceptions-with-resources', '--warn-exit-code', '--warn-no-pass', '--continue-on-fail', '--stdin', '--resources', '--target-resource', '--context-file', 'kyverno-studio version']) {
    assert.ok(readme.includes(flag), `README lacks ${flag}`);
  }
});
