// Policy packs: the committed packs are fresh against Kyverno's sample library (when ../shared is
// present), the rendering sets the chart's failure action and exclude blocks, and what
// `create pack` writes behaves as intended under the test runner.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { main } from '../../cli/main';
import { runTestPaths } from '../../cli/commands/test-run';
import { findPacksDir, readPackFiles } from '../../packs/files';
import { parseNamespaceList, renderPackFile, PackError } from '../../packs/render';

const root = join(__dirname, '..', '..');

async function cli(...args: string[]) {
  let out = '';
  let err = '';
  const code = await main(args, { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) });
  return { code, out, err };
}

test('the committed packs are what the generator makes from ../shared (skipped output when absent)', () => {
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'gen-packs.mjs'), '--check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  if (existsSync(join(root, '..', 'shared', 'conformance', 'kyverno-policies'))) assert.match(r.stdout, /up to date/);
  else assert.match(r.stdout, /not found; keeping the committed packs/);
});

test('restricted holds baseline plus the restricted-only policies, as the chart installs them', () => {
  const dir = findPacksDir(__dirname);
  assert.ok(dir);
  const baseline = readPackFiles(dir, 'pss-baseline').map((f) => f.name);
  const restricted = readPackFiles(dir, 'pss-restricted').map((f) => f.name);
  assert.equal(baseline.length, 11);
  assert.ok(baseline.every((n) => restricted.includes(n)));
  assert.deepEqual(restricted.filter((n) => !baseline.includes(n)).sort(), [
    'disallow-capabilities-strict.yaml', 'disallow-privilege-escalation.yaml', 'require-run-as-non-root-user.yaml',
    'require-run-as-nonroot.yaml', 'restrict-seccomp-strict.yaml', 'restrict-volume-types.yaml',
  ]);
});

test('renderPackFile sets the action and appends excluded namespaces to every rule', () => {
  const text = 'apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: p}\nspec:\n  validationFailureAction: Audit\n  rules:\n  - name: a\n    match: {any: [{resources: {kinds: [Pod]}}]}\n  - name: b\n    match: {any: [{resources: {kinds: [Pod]}}]}\n    exclude:\n      any:\n      - resources: {names: [x]}\n';
  const out = parse(renderPackFile({ name: 'p.yaml', text }, { action: 'Enforce', excludeNamespaces: ['kube-system', 'kyverno'] }).text);
  assert.equal(out.spec.validationFailureAction, 'Enforce');
  assert.deepEqual(out.spec.rules[0].exclude, { any: [{ resources: { namespaces: ['kube-system', 'kyverno'] } }] });
  assert.deepEqual(out.spec.rules[1].exclude.any, [{ resources: { names: ['x'] } }, { resources: { namespaces: ['kube-system', 'kyverno'] } }]);
  const none = parse(renderPackFile({ name: 'p.yaml', text }, { action: 'Audit', excludeNamespaces: [] }).text);
  assert.equal(none.spec.rules[0].exclude, undefined);
  const legacy = text.replace('    exclude:\n      any:\n      - resources: {names: [x]}\n', '    exclude:\n      resources: {names: [x]}\n');
  assert.throws(() => renderPackFile({ name: 'p.yaml', text: legacy }, { action: 'Audit', excludeNamespaces: ['a'] }), (e: unknown) => e instanceof PackError && /p\.yaml: spec\.rules\[1\]/.test(e.message));
  assert.deepEqual(parseNamespaceList(' a, b,,c '), ['a', 'b', 'c']);
});

test('create pack: a privileged Pod fails restricted in Enforce and is not checked in an excluded namespace', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ks-pack-'));
  try {
    const packDir = join(dir, 'pack');
    const r = await cli('create', 'pack', 'pss-restricted', '--action', 'Enforce', '--exclude-namespaces', 'kube-system,trusted', '-o', packDir);
    assert.equal(r.code, 0, r.err);
    assert.ok(readdirSync(packDir).includes('NOTICE'));
    const pod = (ns: string, name: string) => `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}, namespace: ${ns}}\nspec:\n  containers:\n  - name: c\n    image: nginx\n    securityContext: {privileged: true}\n`;
    writeFileSync(join(dir, 'pods.yaml'), `${pod('default', 'bad')}---\n${pod('trusted', 'allowed')}`);
    writeFileSync(join(dir, 'kyverno-test.yaml'), [
      'apiVersion: cli.kyverno.io/v1alpha1', 'kind: Test', 'metadata: {name: pack}',
      'policies: [pack/disallow-privileged-containers.yaml]', 'resources: [pods.yaml]', 'results:',
      '- {policy: disallow-privileged-containers, rule: privileged-containers, resources: [default/bad], kind: Pod, result: fail}',
    ].join('\n'));
    const report = runTestPaths([dir]);
    assert.equal(report.files[0].error, null);
    assert.ok(report.files[0].ok, report.files[0].reason);
    // The same policy leaves the Pod of an excluded namespace alone: no result for it.
    writeFileSync(join(dir, 'kyverno-test.yaml'), [
      'apiVersion: cli.kyverno.io/v1alpha1', 'kind: Test', 'metadata: {name: pack}',
      'policies: [pack/disallow-privileged-containers.yaml]', 'resources: [pods.yaml]', 'results:',
      '- {policy: disallow-privileged-containers, rule: privileged-containers, resources: [trusted/allowed], kind: Pod, result: fail}',
    ].join('\n'));
    assert.equal(runTestPaths([dir]).files[0].rows[0].actual, '');
    const printed = await cli('create', 'pack', 'pss-baseline');
    assert.equal(printed.code, 0);
    const docs = printed.out.split('\n---\n').map((t) => parse(t));
    assert.equal(docs.length, 11);
    assert.ok(docs.every((d) => d.spec.validationFailureAction === 'Audit'));
    assert.equal((await cli('create', 'pack', 'pss-nope')).code, 1);
    assert.match((await cli('create', 'pack', 'pss-baseline', '--action', 'Block')).err, /invalid --action "Block"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
