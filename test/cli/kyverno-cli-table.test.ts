/**
 * Kyverno CLI command lines, as CI pipelines write them, run by the built `kyverno-studio`
 * (dist/cli.js) against the shared corpora: every flag of `apply` and `test` appears at least
 * once (checked below against the commands' flag tables), with the exit code and the shape of
 * the output Kyverno 1.19 gives. JUnit output is checked against the JUnit XML schema.
 */
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { APPLY_FLAGS } from '../../cli/commands/apply';
import { TEST_FLAGS } from '../../cli/commands/test';
import { validateJUnit } from './junit-schema';

const root = resolve(__dirname, '../..');
const cliPath = resolve(root, 'dist/cli.js');
const SHARED = resolve(root, '../shared/conformance');
const CLI = join(SHARED, 'kyverno-cli');
const SAMPLES = join(SHARED, 'kyverno-policies');
const corpora = existsSync(CLI) && existsSync(SAMPLES);

let tmp = '';
before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'ks-cli-table-'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Row {
  /** The command line after `kyverno-studio`; `$C` is the CLI corpus, `$P` the sample corpus, `$T` a temporary folder. */
  line: string;
  code: number;
  stdin?: string;
  out?: RegExp[];
  err?: RegExp[];
  check?: (out: string, err: string) => void;
}

const LATEST = '$P/best-practices/disallow-latest-tag';
const LATEST_POLICY = `${LATEST}/disallow-latest-tag.yaml`;
const LATEST_PODS = `${LATEST}/.kyverno-test/resource.yaml`;
const USERINFO = '$C/test/admission_user_info';
const EXC = '$C/test-exceptions/exceptions-1';
const MAP = '$C/test-mutating-admission-policy';
const VPOL = '$C/test-validating-policy';
const SUMMARY = /pass: \d+, fail: \d+, warn: \d+, error: \d+, skip: \d+ /;

const ROWS: Row[] = [
  // apply: resources, output forms, exit codes (the rule count includes autogen rules: 2 Pod rules are 6)
  { line: `apply ${LATEST_POLICY} --resource ${LATEST_PODS}`, code: 1, out: [/^\nApplying 6 policy rule\(s\) to 8 resource\(s\)\.\.\./, /policy disallow-latest-tag -> resource default\/Pod\/badpod01 failed:\n1 - require-image-tag /, SUMMARY], err: [/Error: exit as there are policy violations/] },
  { line: `apply ${LATEST_POLICY} -r ${LATEST_PODS} --audit-warn`, code: 0, out: [/failed as audit warning:/, /pass: \d+, fail: 0, warn: [1-9]\d*, error: 0/] },
  { line: `apply ${LATEST_POLICY} -r ${LATEST_PODS} --audit-warn --warn-exit-code 3`, code: 3, out: [/exit as warnExitCode is 3/] },
  { line: `apply ${LATEST_POLICY} -r ${LATEST_PODS} --audit-warn --warn-exit-code=x`, code: 2, err: [/invalid argument "x" for "--warn-exit-code" flag/] },
  { line: `apply ${USERINFO}/disallow_latest_tag.yaml -r ${USERINFO}/resource.yaml -u ${USERINFO}/user_info.yaml --warn-no-pass`, code: 0, out: [/pass: [1-9]/] },
  { line: `apply ${EXC}/policy.yaml --resources ${EXC}/resources.yaml -e ${EXC}/exception.yaml -t --detailed-results --remove-color`, code: 1, out: [/with 1 exception\(s\)/, /│ ID │ POLICY .* MESSAGE/] },
  { line: `apply ${EXC}/policy.yaml -r ${EXC}/resources.yaml --exceptions ${EXC}/exception.yaml -p`, code: 1, out: [/^apiVersion: openreports\.io\/v1alpha1\nkind: (Cluster)?Report/m, /result: skip/] },
  { line: `apply ${EXC}/policy.yaml -r ${EXC}/resources.yaml -e ${EXC}/exception.yaml --policy-report --output-format json`, code: 1, check: (out) => assert.match(JSON.parse(out.slice(out.indexOf('{'))).kind, /^(Cluster)?Report$/) },
  { line: 'apply $C/apply/exception-within-resource/pol -r $C/apply/exception-within-resource/res --exceptions-with-resources', code: 0, out: [/with 1 exception\(s\)/, /skip: 1/] },
  { line: `apply ${MAP}/with-params/policy.yaml -r ${MAP}/with-params/resource.yaml --parameter-resource ${MAP}/with-params/param.yaml`, code: 0, out: [/policy change-deployment-replicas applied to default\/Deployment\/test-deployment:\n/, /replicas: 10/] },
  { line: `apply ${MAP}/with-params/policy.yaml -r ${MAP}/with-params/resource.yaml --parameter-resource ${MAP}/with-params/param.yaml -o $T/mutated.yaml`, code: 0, check: () => assert.match(readFileSync(join(tmp, 'mutated.yaml'), 'utf8'), /replicas: 10\n[\s\S]*---/) },
  { line: `apply ${MAP}/with-params/policy.yaml -r ${MAP}/with-params/resource.yaml --parameter-resource ${MAP}/with-params/param.yaml --output $T/out/`, code: 0, check: () => assert.deepEqual(readdirSync(join(tmp, 'out')), ['test-deployment-mutated.yaml']) },
  { line: `apply ${LATEST_POLICY} -r - -i`, stdin: LATEST_PODS, code: 1, check: (out) => assert.doesNotMatch(out, /Applying/) },
  { line: `apply ${MAP}/specify-namespace-selector/policy.yaml -r ${MAP}/specify-namespace-selector/resource.yaml -f ${MAP}/specify-namespace-selector/values.yaml`, code: 0, out: [SUMMARY] },
  { line: `apply ${MAP}/specify-namespace-selector/policy.yaml -r ${MAP}/specify-namespace-selector/resource.yaml --values ${MAP}/specify-namespace-selector/values.yaml`, code: 0, out: [SUMMARY] },
  { line: `apply ${MAP}/specify-namespace-selector/policy.yaml -r ${MAP}/specify-namespace-selector/resource.yaml --values-file ${MAP}/specify-namespace-selector/values.yaml -s a=b`, code: 1, err: [/pass the values either using set flag or values_file flag/] },
  { line: `apply ${LATEST_POLICY} -r ${LATEST_PODS} --set request.operation=CREATE --continue-on-fail --registry`, code: 1, out: [SUMMARY] },
  { line: `apply ${VPOL}/json-check-dockerfile/policy.yaml --json ${VPOL}/json-check-dockerfile/payload.json`, code: 1, out: [/-> resource JSON payload failed:/] },
  { line: `apply ${VPOL}/json-check-dockerfile/policy.yaml --json ${VPOL}/json-check-dockerfile/payload.json -r ${LATEST_PODS}`, code: 2, err: [/both resource and json files can not be used together/] },
  { line: `apply ${VPOL}/http-allow/policy.yaml --http-payload ${VPOL}/http-allow/request.json`, code: 0, out: [/pass: 1, fail: 0/] },
  { line: `apply ${VPOL}/envoy-jwt/policy.yaml --envoy-payload ${VPOL}/envoy-jwt/request-pass.json`, code: 0, out: [/pass: 1, fail: 0/] },
  { line: 'apply $C/test-mutate/mutate-existing/policy.yaml -r $C/test-mutate/mutate-existing/trigger-cm.yaml --target-resource $C/test-mutate/mutate-existing/raw-secret.yaml', code: 0, out: [/Mutation has been applied successfully\./] },
  { line: 'apply $C/test-mutate/mutate-existing/policy.yaml -r $C/test-mutate/mutate-existing/trigger-cm.yaml --target-resources $C/test-mutate/mutate-existing/raw-secret.yaml', code: 0, out: [SUMMARY] },
  { line: 'apply $C/test-deleting-policy/use-resource-lib-pass/policy.yaml -r $C/test-deleting-policy/use-resource-lib-pass/resource.yaml --context-file $C/test-deleting-policy/use-resource-lib-pass/context.yaml', code: 0, out: [/pass: 1/] },
  { line: `apply ${LATEST_POLICY} -r ${LATEST_PODS} --crd-paths $C/test-context-apicall-vpol/crds/computeclass-crd.yaml --audit-warn`, code: 0, out: [SUMMARY] },
  { line: `apply ${LATEST_POLICY} -r ${LATEST_PODS} --crd-path $C/test-context-apicall-vpol/crds`, code: 1, err: [/CRD file must have \.yaml or \.yml extension/] },
  { line: `apply ${LATEST_POLICY} -r ${LATEST_PODS} --crd-paths $C/test-context-apicall-vpol/crds/computeclass-crd.yaml --kubeconfig x`, code: 1, err: [/crd-paths and kubeconfig flags are mutually exclusive/] },
  // apply --cluster: the cluster cases run against kube-apiserver in test/cluster; here the
  // flags are parsed and an unreachable kubeconfig fails as a load error.
  { line: `apply ${LATEST_POLICY} -c -n default --kubeconfig $T/none --context ctx --cluster-wide-resources --concurrent 2 --batch-size 50 --continue-on-error --show-performance`, code: 1, err: [/^Error: failed to load resources \(cannot load the kubeconfig .*none: no such file\)/] },
  { line: `apply ${LATEST_POLICY} --cluster --kubeconfig=$T/none`, code: 1, err: [/failed to load resources/] },
  { line: `apply ${LATEST_POLICY}`, code: 2, err: [/resource file\(s\) or cluster required/] },
  { line: 'apply', code: 2, err: [/require policy/] },
  { line: `apply ${LATEST_POLICY} -r ${LATEST_PODS} --generate-exceptions --generated-exception-ttl 24h --output-format yaml`, code: 1, out: [/^---\napiVersion: kyverno\.io\/v2beta1\nkind: PolicyException\n/, /cleanup\.kyverno\.io\/ttl: 24h0m0s/] },
  { line: `apply ${LATEST_POLICY} -r ${LATEST_PODS} --exceptions-within-resources --exceptions-within-policies`, code: 1, out: [SUMMARY] },
  // Git sources (a full run against a git server is in git-source.test.ts): nothing listens on port 9.
  { line: `apply http://127.0.0.1:9/acme/policies -r ${LATEST_PODS} --git-branch main --username u --password p`, code: 1, err: [/^Error: failed to load policies \(failed to clone repository \(/] },
  { line: `apply ${LATEST_POLICY} -r ${LATEST_PODS} --frobnicate`, code: 2, err: [/unknown flag --frobnicate/] },
  { line: 'apply --help', code: 0, out: [/^Usage: kyverno-studio apply/] },
  // test
  { line: `test ${LATEST}`, code: 0, out: [/^Loading test {2}\( .*kyverno-test\.yaml \) \.\.\.\n {2}Checking results \.\.\./, /│ ID │ POLICY +│ RULE +│ RESOURCE +│ RESULT │ REASON │/, /apps\/v1\/Deployment\/default\/baddeployment01/, /Test Summary: 10 tests passed and 0 tests failed/] },
  { line: `test ${LATEST} --file-name kyverno-test.yaml --detailed-results --remove-color`, code: 0, out: [/│ MESSAGE/] },
  { line: `test ${LATEST} -f other.yaml`, code: 0, out: [/No test yamls available/] },
  { line: `test ${LATEST} -f other.yaml --require-tests`, code: 1, err: [/no tests found/] },
  { line: `test ${LATEST} -t policy=disallow-latest-tag,rule=validate-image-tag`, code: 0, check: (out) => assert.doesNotMatch(out, /require-image-tag/) },
  { line: `test ${LATEST} --test-case-selector "policy=nope"`, code: 0, out: [/^\nTest Summary: 0 tests passed and 0 tests failed\n/] },
  { line: `test ${LATEST} -o json`, code: 0, check: (out) => assert.deepEqual(Object.keys(JSON.parse(out.slice(out.indexOf('['), out.lastIndexOf(']') + 1))[0]), ['ID', 'POLICY', 'REASON', 'RESOURCE', 'RESULT', 'RULE']) },
  { line: `test ${LATEST} --output-format yaml`, code: 0, out: [/^- ID: 1\n {2}POLICY: disallow-latest-tag\n/m] },
  { line: `test ${LATEST} -o markdown`, code: 0, out: [/^\| ID \| POLICY \| RULE \| RESOURCE \| RESULT \| REASON \| \n\|(----\|){6}$/m] },
  { line: `test ${LATEST} -o junit --detailed-results`, code: 0, check: junitValid },
  { line: 'test $C/test-fail/missing-policy -o junit', code: 1, check: junitValid },
  { line: 'test $C/test-fail/missing-policy --fail-only', code: 1, out: [/Test Summary: 1 out of 1 tests failed/, /Aggregated Failed Test Cases : \n/] },
  { line: `test ${LATEST} --fail-only`, code: 0, out: [/Test Summary: 0 out of 10 tests failed/] },
  { line: `test ${LATEST} -o bogus`, code: 1, err: [/invalid format, expected \(json, yaml, markdown, junit\)/] },
  { line: `test ${LATEST} --coverage --coverage-output /dev/null`, code: 0, out: [/Policy coverage:/, /Total: rules \d+\/\d+/] },
  { line: `test ${LATEST} --registry`, code: 0, out: [/10 tests passed/] },
  { line: `test ${LATEST} --json`, code: 0, check: (out) => assert.deepEqual(JSON.parse(out).summary, { files: 1, filesPassed: 1, rows: 10, rowsPassed: 10 }) },
  { line: 'test $C/test-exceptions', code: 0, out: [/Test Summary: \d+ tests passed and 0 tests failed/] },
  { line: 'test http://127.0.0.1:9/acme/policies -b main', code: 1, err: [/^Error: failed to clone repository \(/] },
  { line: `test ${LATEST} -b main`, code: 0, out: [/10 tests passed/] },
  // fix (experimental in Kyverno): a dry run over a folder of current-format tests changes nothing.
  { line: `fix test ${LATEST}`, code: 0, out: [/^Processing test file \(.*kyverno-test\.yaml\)\.\.\.\n\nDone\.\n$/] },
  { line: 'fix policy $P/best-practices/disallow-latest-tag', code: 0, out: [/^Processing file \(.*disallow-latest-tag\.yaml\)\.\.\.\nDone\.\n$/] },
  { line: 'test -h', code: 0, out: [/^Usage: kyverno-studio test/] },
  // the other commands
  { line: 'version', code: 0, out: [/^Version: .+\nTime: ---\nGit commit ID: ---$/m] },
  { line: '--version', code: 0, out: [/^Version: /] },
  { line: 'version -o json', code: 0, check: (out) => assert.deepEqual(Object.keys(JSON.parse(out)), ['version', 'time', 'gitCommitId']) },
  { line: `jp query -i ${LATEST_PODS} metadata.name`, code: 0, out: [/^# metadata\.name\n"myapp-pod"$/m] },
  { line: 'jp function sha256', code: 0, out: [/^Name: sha256\n {2}Signature: sha256\(string\) string\n/] },
  { line: 'jp parse a.b', code: 0, out: [/^# a\.b\nASTSubexpression \{\n {2}children: \{\n {4}ASTField \{\n {6}value: "a"/] },
  { line: 'create test -n t -p p.yaml -r r.yaml --pass p,r,res,default,Pod', code: 0, out: [/^# test name\nname: t\n/, /result: pass/] },
  { line: 'create exception ex --policy-rules p,r --any kind=Pod', code: 0, out: [/kind: PolicyException/] },
  { line: 'create values -g k=v', code: 0, out: [/globalValues:\n {2}k: v/] },
  { line: 'create user-info -u me -g g1', code: 0, out: [/username: me/] },
  { line: 'create metrics-config -i ns1', code: 0, out: [/"include": \[/] },
  // Kyverno commands not offered: the reason, exit 1 (Kyverno's exit code for a failed command).
  { line: 'oci pull -i ghcr.io/acme/policies:v1 ./policies', code: 1, err: [/^Error: kyverno oci pull is not supported: policy images are not written or unpacked here/] },
  { line: 'migrate --resource clusterpolicies.kyverno.io', code: 1, err: [/^Error: kyverno migrate is not supported: /] },
  { line: 'docs -o ./docs', code: 1, err: [/^Error: kyverno docs is not supported: /] },
  { line: 'completion bash', code: 0, out: [/complete -o filenames -F _kyverno_studio kyverno-studio/] },
  { line: 'completion zsh', code: 0, out: [/^#compdef kyverno-studio/] },
];

function junitValid(out: string): void {
  const xml = out.slice(out.indexOf('<?xml'), out.indexOf('</testsuites>') + '</testsuites>'.length);
  assert.deepEqual(validateJUnit(xml), []);
}

/** Splits a command line on spaces, keeping double-quoted words whole. */
function words(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => (m[1] ?? m[2]).replace(/\$C/g, CLI).replace(/\$P/g, SAMPLES).replace(/\$T/g, tmp));
}

test('every flag of apply and test appears in the table', () => {
  for (const [command, spec] of [['apply', APPLY_FLAGS], ['test', TEST_FLAGS]] as const) {
    const used = new Set(ROWS.filter((r) => r.line.startsWith(`${command} `)).flatMap((r) => words(r.line).filter((w) => w.startsWith('-')).map((w) => w.split('=')[0])));
    const names = [...spec.values, ...(spec.scalars ?? []), ...spec.booleans];
    const aliasOf = (name: string) => Object.entries(spec.aliases ?? {}).filter(([, n]) => n === name).map(([a]) => `-${a}`);
    const missing = names.filter((n) => !used.has(`--${n}`) && !aliasOf(n).some((a) => used.has(a)));
    assert.deepEqual(missing, [], `${command} flags without a row`);
  }
});

for (const row of ROWS) {
  test(`kyverno-studio ${row.line}`, { skip: corpora ? false : 'the shared corpora (../shared/conformance) are not checked out' }, () => {
    assert.ok(existsSync(cliPath), 'dist/cli.js is missing: run `npm run build` first');
    const r = spawnSync(process.execPath, [cliPath, ...words(row.line)], {
      cwd: root,
      encoding: 'utf8',
      timeout: 120_000,
      input: row.stdin ? readFileSync(words(row.stdin)[0], 'utf8') : '',
      env: { ...process.env, KUBECONFIG: join(tmp, 'no-kubeconfig') },
    });
    assert.equal(r.signal, null, `did not finish (${r.signal})`);
    assert.equal(r.status, row.code, `exit code\n--- stdout\n${r.stdout.slice(0, 2000)}\n--- stderr\n${r.stderr.slice(0, 2000)}`);
    assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');
    for (const re of row.out ?? []) assert.match(r.stdout, re);
    for (const re of row.err ?? []) assert.match(r.stderr, re);
    row.check?.(r.stdout, r.stderr);
  });
}
