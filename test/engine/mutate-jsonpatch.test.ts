// patchesJson6902 with evanphx/json-patch v5 options as Kyverno sets them (SupportNegativeIndices,
// AllowMissingPathOnRemove, EnsurePathExistsOnAdd). Cases ported from Kyverno's
// pkg/engine/mutate/patch/patchJSON6902_test.go (Test_MissingPaths, TestJsonPatch) and
// evanphx's ensurePathExists behaviour.
import test from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { applyJsonPatch, decodeJsonPatch } from '../../engine/mutate';

const apply = (resource: string, patches: string): unknown => applyJsonPatch(parse(resource), decodeJsonPatch(patches));

const nginx = 'spec:\n  containers:\n  - name: nginx\n    image: nginx:1.14.2\n';
const toleration = { key: 'node-role.kubernetes.io/test', effect: 'NoSchedule', operator: 'Exists' };
const tolerationYaml = '{"key": "node-role.kubernetes.io/test", "effect": "NoSchedule", "operator": "Exists"}';

test('add to a missing map path creates it', () => {
  const out = apply(nginx, '- path: "/spec/nodeSelector"\n  op: add\n  value: {"node.kubernetes.io/role": "test"}') as any;
  assert.deepEqual(out.spec.nodeSelector, { 'node.kubernetes.io/role': 'test' });
});

for (const [name, path] of [['index 0', '/spec/tolerations/0'], ['index -1', '/spec/tolerations/-1'], ['append', '/spec/tolerations/-']]) {
  test(`add to a missing array by ${name} creates the array`, () => {
    const out = apply(nginx, `- path: "${path}"\n  op: add\n  value: ${tolerationYaml}`) as any;
    assert.deepEqual(out.spec.tolerations, [toleration]);
  });
}

test('add -1 to an existing array appends (the index counts from the grown array)', () => {
  const resource = `${nginx}  tolerations:\n  - key: a\n  - key: b\n`;
  const out = apply(resource, `- path: "/spec/tolerations/-1"\n  op: add\n  value: ${tolerationYaml}`) as any;
  assert.deepEqual(out.spec.tolerations.map((t: any) => t.key), ['a', 'b', toleration.key]);
  const first = apply(resource, '- path: "/spec/tolerations/-3"\n  op: add\n  value: {key: z}') as any;
  assert.deepEqual(first.spec.tolerations.map((t: any) => t.key), ['z', 'a', 'b']);
});

test('nested -1 segments under missing parents build the whole chain', () => {
  const out = apply(
    'spec:\n  template:\n    spec:\n      containers: []\n',
    '- path: /spec/template/spec/affinity/nodeAffinity/required/nodeSelectorTerms/-1/matchExpressions/-1\n  op: add\n  value: {key: zone}',
  ) as any;
  assert.deepEqual(out.spec.template.spec.affinity, { nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone' }] }] } } });
});

test('a negative index other than -1 under a missing parent is an error', () => {
  assert.throws(() => apply(nginx, '- path: /spec/x/-2/y\n  op: add\n  value: 1'), /negative index other than -1/);
});

test('add past the end of an array is an error; padding happens only for missing parents', () => {
  assert.throws(() => apply(nginx, '- path: /spec/containers/5\n  op: add\n  value: {}'), /invalid index/);
  const out = apply(nginx, '- path: /spec/lists/2/name\n  op: add\n  value: x') as any;
  assert.deepEqual(out.spec.lists, [null, null, { name: 'x' }]);
});

test('a null parent counts as missing for add', () => {
  const out = apply('spec:\n  nodeSelector: null\n', '- path: /spec/nodeSelector/zone\n  op: add\n  value: a') as any;
  assert.deepEqual(out.spec.nodeSelector, { zone: 'a' });
});

test('remove of a missing key, index or parent is a no-op', () => {
  const out = apply(nginx, '- op: remove\n  path: /spec/none\n- op: remove\n  path: /spec/containers/4\n- op: remove\n  path: /a/b/c\n- op: remove\n  path: /spec/containers/-9');
  assert.deepEqual(out, parse(nginx));
});

test('replace needs the key; insert, replace and multiple operations (TestJsonPatch)', () => {
  assert.throws(() => apply(nginx, '- op: replace\n  path: /spec/replica\n  value: 5'), /doc is missing key/);
  assert.throws(() => apply(nginx, '- op: replace\n  path: /spec/a/b\n  value: 5'), /doc is missing path/);
  const out = apply(
    `${nginx}  replica: 2\n`,
    '- op: replace\n  path: /spec/containers/0/name\n  value: my-nginx\n- op: add\n  path: /spec/replica\n  value: 999\n- op: add\n  path: /spec/containers/1\n  value: {"name":"new"}',
  ) as any;
  assert.equal(out.spec.replica, 999);
  assert.deepEqual(out.spec.containers.map((c: any) => c.name), ['my-nginx', 'new']);
});

test('move and copy need an existing source; move of the whole document is refused', () => {
  assert.throws(() => apply(nginx, '- op: copy\n  from: /spec/none\n  path: /spec/x'), /missing/);
  assert.throws(() => apply(nginx, '- op: move\n  from: ""\n  path: /spec/x'), /unable to move entire document/);
  const out = apply(nginx, '- op: copy\n  from: /spec/containers/-1\n  path: /spec/initContainers') as any;
  assert.deepEqual(out.spec.initContainers, { name: 'nginx', image: 'nginx:1.14.2' });
});

test('test compares JSON values; a missing value equals null', () => {
  assert.doesNotThrow(() => apply(nginx, '- op: test\n  path: /spec/containers/0\n  value: {image: "nginx:1.14.2", name: nginx}'));
  assert.doesNotThrow(() => apply(nginx, '- op: test\n  path: /spec/none\n  value: null'));
  assert.throws(() => apply(nginx, '- op: test\n  path: /spec/containers/0/name\n  value: other'), /test failed/);
});

test('decoding validates operations as DecodePatch does', () => {
  assert.throws(() => decodeJsonPatch('- op: add\n  path: /a'), /missing value field/);
  assert.throws(() => decodeJsonPatch('- op: copy\n  path: /a'), /missing from field/);
  assert.throws(() => decodeJsonPatch('- op: frobnicate\n  path: /a'), /unsupported operation/);
  assert.throws(() => decodeJsonPatch('op: add'), /expected a list/);
  assert.deepEqual(decodeJsonPatch('[{"op":"remove","path":"/a"}]'), [{ op: 'remove', path: '/a' }]);
});
