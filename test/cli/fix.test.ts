// `fix test` and `fix policy` (Kyverno's `kyverno fix`): messages, what --save writes, and that
// the fixed files load in the 1.19 format.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../cli/main';
import { fixPolicy, fixTest } from '../../engine/testing/fix';
import { testFormatProblems } from '../../engine/testing';

async function cli(...args: string[]) {
  let out = '';
  let err = '';
  const code = await main(args, { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) });
  return { code, out, err };
}

function withDir(body: (dir: string) => Promise<void>) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ks-fix-'));
    try {
      await body(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

const LEGACY = `name: legacy
policies:
- policy.yaml
- policy.yaml
resources:
- resource.yaml
variables: values.yaml
results:
- policy: p
  rule: r
  resources: [web, web]
  kind: Pod
  result: pass
- policy: a
  rule: r
  resources: [db]
  kind: Pod
  result: fail
`;

test('fix test: Kyverno\'s warnings, nothing written without --save', withDir(async (dir) => {
  writeFileSync(join(dir, 'kyverno-test.yaml'), LEGACY);
  writeFileSync(join(dir, 'values.yaml'), 'policies: []\n');
  const r = await cli('fix', 'test', dir);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, `Processing test file (${dir}/kyverno-test.yaml)...
  WARNING: api version is not set, setting \`cli.kyverno.io/v1alpha1\`
  WARNING: kind is not set, setting \`Test\`
  WARNING: name is deprecated, moving it into \`metadata.name\`
  WARNING: test results contains duplicate resources
  Processing values file (values.yaml)...
  WARNING: api version is not set, setting \`cli.kyverno.io/v1alpha1\`
  WARNING: kind is not set, setting \`Values\`

Done.
`);
  assert.equal(readFileSync(join(dir, 'kyverno-test.yaml'), 'utf8'), LEGACY);
}));

test('fix test --save writes the 1.19 format: sorted keys and results, duplicates gone', withDir(async (dir) => {
  writeFileSync(join(dir, 'kyverno-test.yaml'), LEGACY);
  writeFileSync(join(dir, 'values.yaml'), 'namespaces: []\n');
  const r = await cli('fix', 'test', dir, '--save');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /  Saving values file \(.*values\.yaml\)\.\.\.\n {4}OK\n\n {2}Saving test file \(.*kyverno-test\.yaml\)\.\.\.\n {4}OK\nDone\.\n$/);
  const saved = readFileSync(join(dir, 'kyverno-test.yaml'), 'utf8');
  assert.equal(saved, `apiVersion: cli.kyverno.io/v1alpha1
kind: Test
metadata:
  name: legacy
policies:
- policy.yaml
resources:
- resource.yaml
results:
- kind: Pod
  policy: a
  resources:
  - db
  result: fail
  rule: r
- kind: Pod
  policy: p
  resources:
  - web
  result: pass
  rule: r
variables: values.yaml
`);
  assert.match(readFileSync(join(dir, 'values.yaml'), 'utf8'), /^apiVersion: cli\.kyverno\.io\/v1alpha1\nkind: Values\n/);
  // A second run has nothing to change and writes nothing (unless --force).
  const again = await cli('fix', 'test', dir, '--save');
  assert.doesNotMatch(again.out, /Saving|WARNING/);
  assert.match((await cli('fix', 'test', dir, '--save', '--force')).out, /Saving test file/);
}));

test('fix test --compress merges results differing only by resources', () => {
  const doc = {
    apiVersion: 'cli.kyverno.io/v1alpha1', kind: 'Test', metadata: { name: 't' }, policies: ['p.yaml'], resources: ['r.yaml'],
    results: [
      { policy: 'p', rule: 'r', kind: 'Pod', result: 'pass', resources: ['b'] },
      { policy: 'p', rule: 'r', kind: 'Pod', result: 'fail', resources: ['c'] },
      { policy: 'p', rule: 'r', kind: 'Pod', result: 'pass', resources: ['a', 'b'] },
    ],
  };
  const plain = fixTest(doc, 'kyverno-test.yaml', false);
  assert.equal((plain.fixed.results as unknown[]).length, 3);
  const compressed = fixTest(doc, 'kyverno-test.yaml', true);
  assert.deepEqual(compressed.fixed.results, [
    { policy: 'p', rule: 'r', result: 'fail', kind: 'Pod', resources: ['c'] },
    { policy: 'p', rule: 'r', result: 'pass', kind: 'Pod', resources: ['b', 'a'] },
  ]);
  assert.deepEqual(compressed.messages, ['test results contains duplicate resources']);
  assert.deepEqual(testFormatProblems(compressed.fixed), []);
});

test('fix test: a test without a name gets its file name; a globalContextEntry without data warns', () => {
  const r = fixTest({ apiVersion: 'cli.kyverno.io/v1alpha1', kind: 'Test', policies: ['p'], resources: ['r'], globalContextEntries: [{ name: 'b', data: null }, { name: 'a', data: { k: 1 } }] }, 'kyverno-test.yaml', false);
  assert.deepEqual(r.messages, ['name is not set', 'globalContextEntries entry b has no data source']);
  assert.deepEqual(r.fixed.metadata, { name: 'kyverno-test.yaml' });
  assert.deepEqual((r.fixed.globalContextEntries as Array<{ name: string }>).map((e) => e.name), ['a', 'b']);
});

test('fix test: a field Kyverno\'s strict decoding refuses is a load error, and the file is left alone', withDir(async (dir) => {
  const text = 'apiVersion: cli.kyverno.io/v1alpha1\nkind: Test\nmetadata:\n  name: x\nresults:\n- policy: p\n  resource: a\n  status: pass\n';
  writeFileSync(join(dir, 'kyverno-test.yaml'), text);
  const r = await cli('fix', 'test', dir, '--save');
  assert.equal(r.code, 0);
  assert.equal(r.out, `Processing test file (${dir}/kyverno-test.yaml)...\n  ERROR: loading test file (${dir}/kyverno-test.yaml): error unmarshaling JSON: while decoding JSON: json: unknown field "resource"\nDone.\n`);
  assert.equal(readFileSync(join(dir, 'kyverno-test.yaml'), 'utf8'), text);
}));

test('fix test: Kyverno\'s argument and flag errors', withDir(async (dir) => {
  assert.deepEqual(await cli('fix', 'test'), { code: 1, out: '', err: 'Error: requires at least 1 arg(s), only received 0\n' });
  assert.equal((await cli('fix', 'test', dir, '-f', '')).err, 'Error: file-name must not be set to an empty string\n');
  assert.equal((await cli('fix', 'test', join(dir, 'nope'))).err, `Error: open ${join(dir, 'nope')}: no such file or directory\n`);
  assert.equal((await cli('fix', 'test', '--xxx')).code, 2);
  const nested = join(dir, 'a');
  mkdirSync(nested);
  writeFileSync(join(nested, 'my-test.yaml'), LEGACY);
  assert.match((await cli('fix', 'test', dir, '--file-name', 'my-test.yaml')).out, /Processing test file \(.*a\/my-test\.yaml\)/);
}));

test('fix policy: legacy match, failure action and operators; --save rewrites only policies that change', withDir(async (dir) => {
  const legacy = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: old
spec:
  validationFailureAction: enforce
  rules:
  - name: r
    match:
      resources:
        kinds: [Pod]
    exclude:
      subjects:
      - kind: User
        name: admin
    preconditions:
    - key: "{{ request.operation }}"
      operator: In
      value: [CREATE]
    validate:
      deny: {}
`;
  writeFileSync(join(dir, 'old.yaml'), legacy);
  writeFileSync(join(dir, 'notes.txt'), 'not yaml');
  const dry = await cli('fix', 'policy', dir);
  assert.equal(dry.out, `Processing file (${dir}/old.yaml)...
  WARNING: match uses old syntax, moving to any
  WARNING: exclude uses old syntax, moving to any
  WARNING: condition uses old operator \`In\`, updating
Done.
`);
  assert.equal(readFileSync(join(dir, 'old.yaml'), 'utf8'), legacy);
  const saved = await cli('fix', 'policy', dir, '--save');
  assert.match(saved.out, /Saving file \(.*old\.yaml\)\.\.\.\n {4}OK\nDone\.\n$/);
  assert.equal(readFileSync(join(dir, 'old.yaml'), 'utf8'), `---
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: old
spec:
  rules:
  - exclude:
      any:
      - subjects:
        - kind: User
          name: admin
    match:
      any:
      - resources:
          kinds:
          - Pod
    name: r
    preconditions:
      all:
      - key: "{{ request.operation }}"
        operator: AllIn
        value:
        - CREATE
    validate:
      deny: {}
  validationFailureAction: Enforce
`);
  const again = await cli('fix', 'policy', dir, '--save');
  assert.doesNotMatch(again.out, /Saving|WARNING/);
  // Kyverno spells any other failure action Audit.
  const upper = fixPolicy({ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', spec: { validationFailureAction: 'ENFORCE', rules: [] } });
  assert.deepEqual(upper.fixed.spec, { validationFailureAction: 'Audit', rules: [] });
}));
