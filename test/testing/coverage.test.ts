// Coverage of policies by a kyverno test run: rule-level (exercised = some non-skip result),
// preconditions, CEL validations reached (they stop at the first failure), merging across tests,
// folder totals, positions in the policy file, and the CLI's --coverage / --coverage-output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { coverageByFolder, coverageRanges, mergeCoverage, runTestText } from '../../engine/testing';
import { main } from '../../cli/main';

const CLASSIC = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: labels
spec:
  rules:
  - name: require-team
    match:
      any:
      - resources:
          kinds: [Pod]
    validate:
      message: team label required
      pattern:
        metadata:
          labels:
            team: "?*"
  - name: only-prod
    match:
      any:
      - resources:
          kinds: [Pod]
    preconditions:
      all:
      - key: "{{ request.object.metadata.namespace }}"
        operator: Equals
        value: prod
    validate:
      message: no latest
      pattern:
        spec:
          containers:
          - image: "!*:latest"
  - name: deployments-only
    match:
      any:
      - resources:
          kinds: [Service]
    validate:
      message: x
      deny: {}
`;

const VPOL = `apiVersion: policies.kyverno.io/v1alpha1
kind: ValidatingPolicy
metadata:
  name: vpol
spec:
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [pods]
  validations:
  - expression: "has(object.metadata.labels)"
    message: labels
  - expression: "object.metadata.name != 'bad'"
    message: name
  - expression: "true"
`;

const POD = (name: string, ns: string, labels: string) => `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n  namespace: ${ns}\n${labels}spec:\n  containers:\n  - name: c\n    image: nginx:1\n`;

function files(entries: Record<string, string>) {
  return new Map(Object.entries(entries));
}

const TEST = (policy: string, results: string) => `apiVersion: cli.kyverno.io/v1alpha1\nkind: Test\nmetadata: {name: t}\npolicies: [${policy}]\nresources: [pods.yaml]\nresults:\n${results}`;

test('classic rules: exercised only with a non-skip result; a precondition never met leaves the rule unexercised but matched', () => {
  const pods = POD('a', 'dev', '  labels: {team: x}\n');
  const text = TEST('policy.yaml', '- {policy: labels, rule: require-team, resources: [dev/a], kind: Pod, result: pass}\n');
  const [run] = runTestText('/t/kyverno-test.yaml', text, files({ '/t/policy.yaml': CLASSIC, '/t/pods.yaml': pods, '/t/kyverno-test.yaml': text }), { coverage: true });
  assert.ok(run.ok, run.reason);
  const [policy] = run.coverage!;
  assert.equal(policy.file, '/t/policy.yaml');
  assert.deepEqual(policy.rules.map((r) => [r.name, r.matched, r.exercised]), [['require-team', true, true], ['only-prod', true, false], ['deployments-only', false, false]]);
  assert.deepEqual(policy.rules[1].parts, [{ path: ['spec', 'rules', 1, 'preconditions'], kind: 'preconditions', exercised: false }]);
  assert.deepEqual(policy.rules[1].results, { skip: 1 });
  // Without the option the run carries no coverage.
  assert.equal(runTestText('/t/kyverno-test.yaml', text, files({ '/t/policy.yaml': CLASSIC, '/t/pods.yaml': pods, '/t/kyverno-test.yaml': text }))[0].coverage, undefined);
});

test('CEL validations count as reached up to the first failing one; merging tests ORs them', () => {
  const run = (pods: string) => {
    const text = TEST('vpol.yaml', '- {isValidatingPolicy: true, policy: vpol, resources: [x], kind: Pod, result: fail}\n');
    return runTestText('/t/kyverno-test.yaml', text, files({ '/t/vpol.yaml': VPOL, '/t/pods.yaml': pods, '/t/kyverno-test.yaml': text }), { coverage: true })[0].coverage!;
  };
  const failsFirst = run(POD('x', 'default', ''));
  assert.deepEqual(failsFirst[0].rules[0].parts.map((p) => p.exercised), [true, false, false]);
  const failsSecond = run(POD('bad', 'default', '  labels: {a: b}\n'));
  assert.deepEqual(failsSecond[0].rules[0].parts.map((p) => p.exercised), [true, true, false]);
  const passes = run(POD('ok', 'default', '  labels: {a: b}\n'));
  assert.deepEqual(passes[0].rules[0].parts.map((p) => p.exercised), [true, true, true]);
  const merged = mergeCoverage([failsFirst, failsSecond]);
  assert.equal(merged.length, 1);
  assert.deepEqual(merged[0].rules[0].parts.map((p) => p.exercised), [true, true, false]);
  assert.deepEqual(merged[0].rules[0].results, { fail: 2 });
  assert.deepEqual(coverageByFolder(merged), [{ folder: '/t', rules: 1, rulesExercised: 1, validations: 3, validationsExercised: 2 }]);
});

test('coverageRanges places rules and parts at their lines in the policy file', () => {
  const pods = POD('a', 'dev', '  labels: {team: x}\n');
  const text = TEST('policy.yaml', '- {policy: labels, rule: require-team, resources: [dev/a], kind: Pod, result: pass}\n');
  const coverage = runTestText('/t/kyverno-test.yaml', text, files({ '/t/policy.yaml': CLASSIC, '/t/pods.yaml': pods, '/t/kyverno-test.yaml': text }), { coverage: true })[0].coverage!;
  const ranges = coverageRanges(CLASSIC, coverage);
  const lines = CLASSIC.split('\n');
  const rule = (label: string) => ranges.find((r) => r.label === label)!;
  assert.equal(lines[rule('labels/require-team').start.line].trim(), '- name: require-team');
  assert.equal(lines[rule('labels/require-team').end.line].trim(), 'team: "?*"');
  assert.equal(rule('labels/require-team').exercised, true);
  assert.equal(rule('labels/only-prod').exercised, false);
  const pre = ranges.find((r) => r.kind === 'preconditions')!;
  assert.equal(lines[pre.start.line].trim(), 'all:');
  assert.equal(pre.exercised, false);
});

async function cli(...args: string[]) {
  let out = '';
  let err = '';
  const code = await main(args, { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) });
  return { code, out, err };
}

test('kyverno-studio test --coverage prints per file and per folder; --coverage-output writes JSON', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ks-cov-'));
  try {
    mkdirSync(join(dir, 'suite'));
    writeFileSync(join(dir, 'suite', 'policy.yaml'), CLASSIC);
    writeFileSync(join(dir, 'suite', 'pods.yaml'), POD('a', 'dev', '  labels: {team: x}\n'));
    writeFileSync(join(dir, 'suite', 'kyverno-test.yaml'), TEST('policy.yaml', '- {policy: labels, rule: require-team, resources: [dev/a], kind: Pod, result: pass}\n'));
    const out = join(dir, 'coverage.json');
    const r = await cli('test', join(dir, 'suite'), '--coverage', '--coverage-output', out);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /policy\.yaml: 1\/3 rules/);
    assert.match(r.out, /never exercised: labels\/only-prod \(matched, always skipped\)/);
    assert.match(r.out, /never exercised: labels\/deployments-only\n/);
    assert.match(r.out, /Total: rules 1\/3 \(33%\)/);
    const json = JSON.parse(readFileSync(out, 'utf8'));
    assert.deepEqual(json.totals, { rules: 3, rulesExercised: 1, validations: 0, validationsExercised: 0 });
    assert.equal(json.files[0].ranges.filter((x: { kind: string }) => x.kind === 'rule').length, 3);
    const asJson = await cli('test', join(dir, 'suite'), '--json', '--coverage');
    assert.equal(JSON.parse(asJson.out).coverage.policies[0].name, 'labels');
    const plain = await cli('test', join(dir, 'suite'), '--json');
    assert.equal(JSON.parse(plain.out).coverage, undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
