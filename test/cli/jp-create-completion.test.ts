// `jp`, `create` and `completion`, run in-process through main(); the bash completion script
// is sourced in a real bash and its function called as bash's completion would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../cli/main';
import { goJsonIndent } from '../../cli/commands/jp';

async function cli(...args: string[]) {
  let out = '';
  let err = '';
  const code = await main(args, { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) });
  return { code, out, err };
}

test('jp query prints each expression and its result as Go JSON (indented, compact, unquoted)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ks-jp-'));
  try {
    writeFileSync(join(dir, 'in.yaml'), 'a:\n  b: [1, 2.5, "<x>"]\n  e: {}\nnum: 3\n');
    writeFileSync(join(dir, 'q.jmespath'), 'a.b[2]');
    const r = await cli('jp', 'query', '-i', join(dir, 'in.yaml'), 'a', '-q', join(dir, 'q.jmespath'));
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, '# a\n{\n  "b": [\n    1,\n    2.5,\n    "\\u003cx\\u003e"\n  ],\n  "e": {}\n}\n# a.b[2]\n"\\u003cx\\u003e"\n');
    const compact = await cli('jp', 'query', '-i', join(dir, 'in.yaml'), '-c', '-u', 'a', 'a.b[2]', 'add(num, `1`)');
    assert.equal(compact.out, '# a\n{"b":[1,2.5,"\\u003cx\\u003e"],"e":{}}\n# a.b[2]\n<x>\n# add(num, `1`)\n4\n');
    const bad = await cli('jp', 'query', '-i', join(dir, 'in.yaml'), 'a.[');
    assert.equal(bad.code, 1);
    assert.match(bad.err, /^Error: failed to compile JMESPath: a\.\[, error: /);
    const failing = await cli('jp', 'query', '-i', join(dir, 'in.yaml'), 'to_upper(num)');
    assert.match(failing.err, /^Error: error evaluating JMESPath expression: /);
    const missing = await cli('jp', 'query', '-i', join(dir, 'nope.yaml'), 'a');
    assert.match(missing.err, /^Error: failed open file .*nope\.yaml/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('goJsonIndent matches json.MarshalIndent (empty containers, escapes, nesting)', () => {
  assert.equal(goJsonIndent({ b: [], a: { c: null, d: 'x"y' } }), '{\n  "a": {\n    "c": null,\n    "d": "x\\"y"\n  },\n  "b": []\n}');
  assert.equal(goJsonIndent('a&b'), '"a\\u0026b"');
});

test('jp function lists Kyverno functions sorted, with signature and note; names filter', async () => {
  const all = await cli('jp', 'function');
  const names = [...all.out.matchAll(/^Name: (\S+)$/gm)].map((m) => m[1]);
  assert.equal(names.length, 51);
  assert.deepEqual(names.slice(0, 3), ['add', 'base64_decode', 'base64_encode']);
  assert.match(all.out, /^Name: equal_fold\n {2}Signature: equal_fold\(string, string\) bool\n {2}Note: {6}allows comparing/m);
  const one = await cli('jp', 'function', 'to_upper');
  assert.equal(one.out, 'Name: to_upper\n  Signature: to_upper(string) string\n  Note:      takes in a string and outputs the same string with all upper-case letters\n\n');
});

test('jp parse prints the tree in go-jmespath layout', async () => {
  const r = await cli('jp', 'parse', 'foo[?a == `1`].b');
  assert.equal(r.code, 0);
  assert.equal(
    r.out,
    [
      '# foo[?a == `1`].b',
      'ASTFilterProjection {',
      '  children: {',
      '    ASTField {',
      '      value: "foo"',
      '    }',
      '    ASTField {',
      '      value: "b"',
      '    }',
      '    ASTComparator {',
      '      value: tEQ',
      '      children: {',
      '        ASTField {',
      '          value: "a"',
      '        }',
      '        ASTLiteral {',
      '          value: 1',
      '        }',
      '    }',
      '}',
      '',
      '',
    ].join('\n'),
  );
  const bad = await cli('jp', 'parse', 'a[');
  assert.equal(bad.code, 1);
  assert.match(bad.err, /^Error: /);
  assert.equal((await cli('jp', 'nope')).code, 2);
});

test('create renders Kyverno templates to stdout or -o; required flags and arguments', async () => {
  const t = await cli('create', 'test', '-n', 'demo', '-p', 'a.yaml', '-p', 'b.yaml', '-f', 'values.yaml', '--fail', 'pol,rule,res,ns,Pod', '--skip', 'bad');
  assert.equal(t.out, '# test name\nname: demo\n# list of policy files\npolicies:\n  - a.yaml\n  - b.yaml\n# list of resource files\nresources:\n# variables file (optional)\nvariables: values.yaml\n# list of expected results\nresults:\n  - policy: pol\n    rule: rule\n    resource: res\n    namespace: ns\n    kind: Pod\n    result: fail\n');
  const e = await cli('create', 'exception', 'ex', '--namespace', 'prod', '--policy-rules', 'p,r1', '--all', 'kind=Pod,operation=CREATE');
  assert.equal(e.out, 'apiVersion: kyverno.io/v2\nkind: PolicyException\nmetadata:\n  name: ex\n  namespace: prod\nspec:\n  background: true\n  match:\n    all:\n    - kinds:\n        - Pod\n      operations:\n        - CREATE\n  exceptions:\n    - policyName: p\n      ruleNames:\n        - r1\n');
  assert.match((await cli('create', 'exception', 'ex', '--policy-rules', 'p,r', '--background=false')).out, /background: false/);
  const noRules = await cli('create', 'exception', 'ex');
  assert.equal(noRules.code, 1);
  assert.match(noRules.err, /required flag\(s\) "policy-rules" not set/);
  assert.equal((await cli('create', 'exception')).code, 1);
  const v = await cli('create', 'values', '-g', 'b=2,a=1', '-n', 'ns,team=x', '--rule', 'p,r,k=v');
  assert.equal(v.out, '# list of policy values\npolicies:\n  - name: p\n    rules:\n      - name: r\n        values:\n          k: v\n# list of global values\nglobalValues:\n  a: 1\n  b: 2\n# list of namespace selectors\nnamespaceSelector:\n  - name: ns\n    labels:\n      team: x\n');
  const u = await cli('create', 'user-info', '-u', 'me', '-r', 'r1,r2', '-c', 'admin');
  assert.equal(u.out, '# list of roles\nroles:\n  - r1\n  - r2\n# list of cluster roles\nclusterRoles:\n  - admin\nuserInfo:\n  # user name\n  username: me\n  # list of groups\n  groups:\n');
  const m = await cli('create', 'metrics-config', '--namespace', 'kv', '-e', 'kube-system');
  assert.equal(m.out, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kyverno-metrics\n  namespace: kv\ndata:\n  namespaces: |\n    {\n      "exclude": [\n        "kube-system"\n      ]\n    }\n');
  const role = await cli('create', 'cluster-role', 'x', '-g', 'apps', '--resources', 'deployments', '--verbs', 'get', '--verbs', 'list');
  assert.match(role.out, /verbs: \["get", "list"\]$/m);
  assert.match((await cli('create', 'cluster-role', 'x', '-g', 'apps')).err, /required flag\(s\) "resources" not set/);
  const dir = mkdtempSync(join(tmpdir(), 'ks-create-'));
  try {
    const file = join(dir, 'values.yaml');
    assert.equal((await cli('create', 'values', '-o', file)).out, '');
    assert.equal(readFileSync(file, 'utf8'), '# list of policy values\npolicies:\n# list of global values\nglobalValues:\n# list of namespace selectors\nnamespaceSelector:\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the bash completion script, sourced in bash, completes commands, subcommands, flags and flag values', async () => {
  const script = (await cli('completion', 'bash')).out;
  const dir = mkdtempSync(join(tmpdir(), 'ks-completion-'));
  try {
    writeFileSync(join(dir, 'ks.bash'), script);
    const probe = (...words: string[]) =>
      `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; COMPREPLY=(); _kyverno_studio; echo "\${COMPREPLY[*]}"`;
    const cases: Array<[string[], string]> = [
      [['kyverno-studio', 'ap'], 'apply'],
      [['kyverno-studio', 'apply', 'p.yaml', '--warn'], '--warn-exit-code --warn-no-pass'],
      [['kyverno-studio', 'apply', '--output-format', ''], 'yaml json'],
      [['kyverno-studio', 'test', '-o', 'j'], 'json junit'],
      [['kyverno-studio', 'test', '--fail'], '--fail-only'],
      [['kyverno-studio', 'jp', ''], 'query function parse'],
      [['kyverno-studio', 'jp', 'parse', '-'], '--file --help -f -h'],
      [['kyverno-studio', 'create', 'us'], 'user-info'],
      [['kyverno-studio', 'version', '--output', ''], 'json yaml'],
      [['kyverno-studio', 'completion', ''], 'bash zsh'],
      [['kyverno-studio', 'apply', '--git'], '--git-branch'],
      [['kyverno-studio', 'fix', ''], 'test policy'],
      [['kyverno-studio', 'fix', 'test', '--c'], '--compress'],
      // serve's flags in Kyverno's spelling (long aliases) complete too.
      [['kyverno-studio', 'serve', '--webhookT'], '--webhookTimeout'],
      [['kyverno-studio', 'serve', '--webhook-t'], '--webhook-timeout'],
      // Kyverno's toggles take a value.
      [['kyverno-studio', 'serve', '--enableDeferredLoading', ''], 'true false'],
      [['kyverno-studio', 'serve', '--forceFailurePolicyIgnore', ''], 'true false'],
    ];
    const r = spawnSync('bash', ['-c', [`source ${join(dir, 'ks.bash')}`, 'complete -p kyverno-studio', ...cases.map(([w]) => probe(...w))].join('\n')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.match(lines[0], /complete -o filenames -F _kyverno_studio kyverno-studio/);
    cases.forEach(([w, expected], i) => assert.equal(lines[i + 1], expected, w.join(' ')));
    // File names complete where no flag or command is expected.
    writeFileSync(join(dir, 'policy.yaml'), '');
    const files = spawnSync('bash', ['-c', `source ${join(dir, 'ks.bash')}\ncd ${dir}\n${probe('kyverno-studio', 'apply', 'pol')}`], { encoding: 'utf8' });
    assert.equal(files.stdout.trim(), 'policy.yaml');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const zsh = await cli('completion', 'zsh');
  assert.match(zsh.out, /^#compdef kyverno-studio\n/);
  assert.match(zsh.out, /"apply "\)\n {6}flags=\(.*--resource/);
  assert.equal((await cli('completion', 'fish')).code, 2);
});
