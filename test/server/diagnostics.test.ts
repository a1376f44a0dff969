import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { LspClient, positionOf, type PublishedDiagnostics } from './lsp-client';

let client: LspClient;
before(async () => {
  client = new LspClient();
  await client.initialize();
});
after(() => client.close());

function find(p: PublishedDiagnostics, code: string) {
  return p.diagnostics.filter((d) => d.code === code);
}

const POLICY = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: demo
spec:
  rules:
  - name: check
    match:
      any:
      - resources:
          kinds: [Pod]
    validate:
      failureAction: Enforse
      mesage: "bad {{ request.object.metadata.name | to_uper(@) }}"
      pattern:
        spec:
          (hostNetwork: false
  - name: check
    match:
      any:
      - resources:
          kinds: [Pod]
    validate:
      message: "{{ request.userInfo.username }}"
      deny: {}
      pattern:
        metadata:
          name: "?*"
`;

test('schema and Kyverno diagnostics land on the exact key or value', async () => {
  const uri = 'file:///virtual/policy.yaml';
  const p = await client.open(uri, POLICY);
  const unknown = find(p, 'KS1101');
  assert.equal(unknown.length, 1);
  assert.match(unknown[0].message, /Unknown field 'mesage'.*Did you mean 'message'\?/);
  assert.deepEqual(unknown[0].range.start, positionOf(POLICY, 'mesage:'));
  assert.deepEqual(unknown[0].range.end, positionOf(POLICY, 'mesage:', 'mesage'.length));

  const enumErr = find(p, 'KS1104');
  assert.equal(enumErr.length, 1);
  assert.deepEqual(enumErr[0].range.start, positionOf(POLICY, 'Enforse'));
  assert.match(enumErr[0].message, /"Audit"/);

  const fn = find(p, 'KS1205');
  assert.equal(fn.length, 1);
  assert.deepEqual(fn[0].range.start, positionOf(POLICY, 'to_uper'));
  assert.match(fn[0].message, /to_upper/);

  assert.equal(find(p, 'KS1201').length, 1, 'duplicate rule name');
  const second = POLICY.indexOf('- name: check', POLICY.indexOf('- name: check') + 1);
  assert.deepEqual(find(p, 'KS1201')[0].range.start, positionOf(POLICY.slice(0, second) + '\u0000', '\u0000', 8));
  assert.equal(find(p, 'KS1202').length, 1, 'deny and pattern together');
  assert.deepEqual(find(p, 'KS1203')[0].range.start, positionOf(POLICY, '(hostNetwork'));
  const bg = find(p, 'KS1208');
  assert.equal(bg.length, 1);
  assert.deepEqual(bg[0].range.start, positionOf(POLICY, 'request.userInfo'));
  for (const d of p.diagnostics) assert.ok(d.range.end.line === d.range.start.line, `${d.code} spans one line`);
});

test('YAML syntax errors, missing required fields and wrong types', async () => {
  const uri = 'file:///virtual/broken.yaml';
  const text = 'apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: x\nspec:\n  background: "yes"\n  rules:\n  - match:\n      any:\n      - resources:\n          kinds: [Pod]\n    validate:\n      pattern: {a: 1}\n---\nkey: [unclosed\n';
  const p = await client.open(uri, text);
  assert.ok(find(p, 'KS1001').length >= 1, 'syntax error reported');
  assert.ok(find(p, 'KS1001')[0].range.start.line >= 14);
  const type = find(p, 'KS1103');
  assert.equal(type.length, 1);
  assert.deepEqual(type[0].range.start, positionOf(text, '"yes"'));
  const req = find(p, 'KS1102');
  assert.ok(req.some((d) => /'name'/.test(d.message)));
});

test('CEL syntax errors are placed inside the expression; test and values files are recognised', async () => {
  const vpol = `apiVersion: policies.kyverno.io/v1
kind: ValidatingPolicy
metadata:
  name: v
spec:
  validations:
  - expression: "object.metadata.name.size() < "
    message: too long
`;
  const p = await client.open('file:///virtual/vpol.yaml', vpol);
  const cel = find(p, 'KS1207');
  assert.equal(cel.length, 1);
  assert.equal(cel[0].severity, 1);
  assert.equal(cel[0].range.start.line, 6);
  assert.ok(cel[0].range.start.character > positionOf(vpol, 'object.').character);

  const test1 = 'name: t\npolicies: [p.yaml]\nresources: [r.yaml]\nresults:\n- policy: p\n  rule: r\n  resources: [x]\n  kind: Pod\n  reslt: pass\n';
  const t = await client.open('file:///virtual/dir/kyverno-test.yaml', test1);
  assert.ok(find(t, 'KS1101').some((d) => /reslt/.test(d.message) && /result/.test(d.message)));

  const values = 'apiVersion: cli.kyverno.io/v1alpha1\nkind: Values\nmetadata:\n  name: v\npolicies:\n- name: p\n  rulez: []\n';
  const v = await client.open('file:///virtual/values.yaml', values);
  assert.ok(find(v, 'KS1101').some((d) => /rulez/.test(d.message)));
});

test('a valid multi-document file mixing a policy and a resource has no errors', async () => {
  const text = `apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
  - name: c
    image: nginx
---
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: ok
spec:
  background: false
  rules:
  - name: r
    match:
      any:
      - resources:
          kinds: [Pod]
    context:
    - name: cm
      configMap:
        name: x
        namespace: cm-ns
    validate:
      message: "{{ cm.data.x || '' }} {{ request.userInfo.username }} {{ to_upper(request.object.metadata.name) }}"
      pattern:
        metadata:
          =(labels):
            X(forbidden): "null"
`;
  const p = await client.open('file:///virtual/mixed.yaml', text);
  assert.deepEqual(p.diagnostics.filter((d) => d.severity === 1), []);
});
