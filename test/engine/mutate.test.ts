// applyMutateRule: rule outcomes (status, message, patchedResource, path), patchesJson6902,
// foreach and mutate existing, following Kyverno's mutation handlers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyMutateRule, applyJsonPatch, decodeJsonPatch } from '../../engine/mutate';
import type { JsonObject } from '../../engine/core/types';

const pod = (): JsonObject => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'prod', labels: { app: 'web' } },
  spec: { containers: [{ name: 'nginx', image: 'nginx:latest' }, { name: 'sidecar', image: 'busybox:1.36' }] },
});
const scopeFor = (resource: JsonObject) => ({ data: { request: { operation: 'CREATE', object: resource } } as JsonObject });
const run = (mutate: JsonObject, resource = pod(), options = {}) => applyMutateRule({ name: 'rule', mutate }, resource, scopeFor(resource), options);

test('pass: message names the mutated resource, path points at the first change', () => {
  const out = run({ patchStrategicMerge: { metadata: { labels: { team: 'a' } } } });
  assert.equal(out.result.status, 'pass');
  assert.equal(out.result.type, 'Mutation');
  assert.equal(out.result.message, 'mutated Pod/web in namespace prod');
  assert.deepEqual(out.result.path, ['metadata', 'labels', 'team']);
  assert.deepEqual((out.patched.metadata as JsonObject).labels, { app: 'web', team: 'a' });
  assert.deepEqual(out.result.patchedResource, out.patched);
});

test('pass on a cluster-scoped resource has no namespace in the message', () => {
  const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'dev' } };
  const out = run({ patchStrategicMerge: { metadata: { labels: { x: 'y' } } } }, ns);
  assert.equal(out.result.message, 'mutated Namespace/dev');
});

test('skip: a patch that changes nothing', () => {
  const out = run({ patchStrategicMerge: { metadata: { labels: { app: 'web' } } } });
  assert.deepEqual([out.result.status, out.result.message], ['skip', 'no patches applied']);
  assert.deepEqual(out.patched, pod());
});

test('skip: a conditional anchor that does not hold', () => {
  const out = run({ patchStrategicMerge: { metadata: { labels: { '(app)': 'db', tier: 'x' } } } });
  assert.deepEqual([out.result.status, out.result.message], ['skip', 'no patches applied']);
});

test('+() adds only when absent', () => {
  const out = run({ patchStrategicMerge: { metadata: { labels: { '+(app)': 'other', '+(tier)': 'front' } } } });
  assert.deepEqual((out.patched.metadata as JsonObject).labels, { app: 'web', tier: 'front' });
});

test('variables are substituted in the patch before patching', () => {
  const out = run({ patchStrategicMerge: { metadata: { annotations: { owner: '{{ request.object.metadata.labels.app }}' } } } });
  assert.deepEqual((out.patched.metadata as JsonObject).annotations, { owner: 'web' });
});

test('error: unresolvable variable, empty rule, bad JSON patch', () => {
  const v = run({ patchStrategicMerge: { metadata: { labels: { x: '{{ request.object.metadata.( }}' } } } });
  assert.equal(v.result.status, 'error');
  assert.match(v.result.message, /^variable substitution failed: /);
  const e = run({});
  assert.deepEqual([e.result.status, e.result.message], ['error', 'empty mutate rule']);
  const j = run({ patchesJson6902: '- op: replace\n  path: /spec/missing/field\n  value: 1' });
  assert.equal(j.result.status, 'error');
  assert.match(j.result.message, /^failed to patch resource: replace operation does not apply/);
  assert.deepEqual(j.patched, pod());
});

test('patchesJson6902: add creates missing parents, remove of a missing path is a no-op', () => {
  const out = run({ patchesJson6902: '- op: add\n  path: /metadata/annotations/a~1b\n  value: "1"\n- op: remove\n  path: /spec/nothing\n- op: add\n  path: /spec/tolerations/-\n  value: {key: k}' });
  assert.equal(out.result.status, 'pass');
  assert.deepEqual((out.patched.metadata as JsonObject).annotations, { 'a/b': '1' });
  assert.deepEqual((out.patched.spec as JsonObject).tolerations, [{ key: 'k' }]);
});

test('patchesJson6902: JSON text, negative indexes, test/move/copy', () => {
  const ops = decodeJsonPatch('[{"op":"replace","path":"/spec/containers/-1/image","value":"busybox:1.37"},{"op":"test","path":"/metadata/name","value":"web"},{"op":"copy","from":"/metadata/labels","path":"/metadata/annotations"},{"op":"move","from":"/metadata/labels/app","path":"/metadata/labels/name"}]');
  const out = applyJsonPatch(pod(), ops) as JsonObject;
  assert.equal(((out.spec as JsonObject).containers as JsonObject[])[1].image, 'busybox:1.37');
  assert.deepEqual(out.metadata, { name: 'web', namespace: 'prod', labels: { name: 'web' }, annotations: { app: 'web' } });
  assert.throws(() => applyJsonPatch(pod(), decodeJsonPatch('- op: test\n  path: /metadata/name\n  value: db')), /test failed/);
  assert.throws(() => decodeJsonPatch('- path: /a'), /failed to decode patches/);
});

test('foreach: patchStrategicMerge per element, element and elementIndex in scope', () => {
  const out = run({ foreach: [{
    list: 'request.object.spec.containers',
    patchStrategicMerge: { spec: { containers: [{ name: '{{ element.name }}', env: [{ name: 'INDEX', value: '{{ to_string(elementIndex) }}' }] }] } },
  }] });
  assert.equal(out.result.status, 'pass');
  const containers = (out.patched.spec as JsonObject).containers as JsonObject[];
  // Descending by default for patchStrategicMerge, so kustomize's prepend restores the order.
  assert.deepEqual(containers.map((c) => [c.name, (c.env as JsonObject[])[0].value]), [['nginx', '0'], ['sidecar', '1']]);
});

test('foreach: order Ascending with patchStrategicMerge reverses the containers', () => {
  const out = run({ foreach: [{ list: 'request.object.spec.containers', order: 'Ascending',
    patchStrategicMerge: { spec: { containers: [{ name: '{{ element.name }}', imagePullPolicy: 'Always' }] } } }] });
  assert.deepEqual(((out.patched.spec as JsonObject).containers as JsonObject[]).map((c) => c.name), ['sidecar', 'nginx']);
});

test('foreach: patchesJson6902 with {{elementIndex}} paths, Descending order for removals', () => {
  const resource = { ...pod(), spec: { containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'bad' }, { name: 'c', image: 'bad' }] } };
  const out = run({ foreach: [{
    list: 'request.object.spec.containers', order: 'Descending',
    preconditions: { all: [{ key: '{{ element.image }}', operator: 'Equals', value: 'bad' }] },
    patchesJson6902: '- op: remove\n  path: /spec/containers/{{elementIndex}}',
  }] }, resource);
  assert.deepEqual(((out.patched.spec as JsonObject).containers as JsonObject[]).map((c) => c.name), ['a']);
});

test('foreach: nested foreach sees element0/elementIndex0 of the outer list', () => {
  const resource = { ...pod(), spec: { containers: [{ name: 'a', ports: [{ containerPort: 80 }, { containerPort: 81 }] }] } };
  const out = run({ foreach: [{ list: 'request.object.spec.containers', foreach: [{
    list: 'element.ports',
    patchesJson6902: '- op: add\n  path: /spec/containers/{{elementIndex0}}/ports/{{elementIndex1}}/name\n  value: "{{ element0.name }}-{{ element.containerPort }}"',
  }] }] }, resource);
  assert.equal(out.result.status, 'pass');
  assert.deepEqual((((out.patched.spec as JsonObject).containers as JsonObject[])[0].ports as JsonObject[]).map((p) => p.name), ['a-80', 'a-81']);
});

test('foreach: nothing to do is a skip with the element count message', () => {
  const out = run({ foreach: [{ list: 'request.object.spec.initContainers', patchesJson6902: '- op: remove\n  path: /spec/x' }] });
  assert.deepEqual([out.result.status, out.result.message], ['skip', '0 elements processed']);
});

test('foreach: an element error makes the rule an error', () => {
  const out = run({ foreach: [{ list: 'request.object.spec.containers', patchesJson6902: '- op: replace\n  path: /spec/missing\n  value: 1' }] });
  assert.equal(out.result.status, 'error');
  assert.match(out.result.message, /^failed to mutate elements: failed to patch resource: /);
});

test('foreach: request.object is the patched resource in the next entry', () => {
  const out = run({ foreach: [
    { list: "['x']", patchStrategicMerge: { metadata: { labels: { step: 'one' } } } },
    { list: "['y']", patchStrategicMerge: { metadata: { annotations: { seen: '{{ request.object.metadata.labels.step }}' } } } },
  ] });
  assert.deepEqual((out.patched.metadata as JsonObject).annotations, { seen: 'one' });
});

test('mutate existing: each matching target is patched with target in scope, the trigger is untouched', () => {
  const trigger = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'trigger', namespace: 'prod' }, data: { v: '2' } };
  const targets = [
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's1', namespace: 'prod', labels: { sync: 'yes' } } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's2', namespace: 'prod' } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's3', namespace: 'other', labels: { sync: 'yes' } } },
  ];
  const out = applyMutateRule({ name: 'sync', mutate: {
    targets: [{ apiVersion: 'v1', kind: 'Secret', namespace: '{{ request.object.metadata.namespace }}', selector: { matchLabels: { sync: 'yes' } } }],
    patchStrategicMerge: { metadata: { annotations: { version: '{{ request.object.data.v }}', self: '{{ target.metadata.name }}' } } },
  } }, trigger, scopeFor(trigger), { targetResources: targets });
  assert.deepEqual(out.patched, trigger);
  assert.equal(out.targets?.length, 1);
  assert.equal(out.result.status, 'pass');
  assert.equal(out.result.message, 'mutated Secret/s1 in namespace prod');
  assert.deepEqual((out.targets![0].patched.metadata as JsonObject).annotations, { version: '2', self: 's1' });
});

test('mutate existing: target preconditions skip, no targets skip', () => {
  const trigger = pod();
  const target = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's1', namespace: 'prod' } };
  const out = applyMutateRule({ name: 'r', mutate: {
    targets: [{ apiVersion: 'v1', kind: 'Secret', name: 's*', preconditions: { all: [{ key: '{{ target.metadata.name }}', operator: 'Equals', value: 'nope' }] } }],
    patchStrategicMerge: { metadata: { labels: { a: 'b' } } },
  } }, trigger, scopeFor(trigger), { targetResources: [target] });
  assert.equal(out.result.status, 'skip');
  assert.match(out.result.message, /^preconditions not met/);
  const none = applyMutateRule({ name: 'r', mutate: { targets: [{ apiVersion: 'v1', kind: 'Secret' }], patchStrategicMerge: { metadata: { labels: { a: 'b' } } } } }, trigger, scopeFor(trigger));
  assert.equal(none.result.status, 'skip');
  assert.deepEqual(none.targets, []);
});

test('patchesJson6902: a hostile index is rejected, not allocated', () => {
  const started = Date.now();
  const out = run({ patchesJson6902: '- op: add\n  path: /spec/extra/999999999/x\n  value: 1' });
  assert.equal(out.result.status, 'error');
  assert.match(out.result.message, /out of bounds/);
  assert.ok(Date.now() - started < 1000);
});

test('removing several list elements: JSON patches apply in order (each index on the list the previous one left); a Descending foreach removes them all', () => {
  const volumes = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `v${i + 1}` }));
  const withVolumes: JsonObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { volumes: volumes(4) } };
  const sequential = run({ patchesJson6902: '- op: remove\n  path: /spec/volumes/0\n- op: remove\n  path: /spec/volumes/1' }, withVolumes);
  assert.deepEqual((sequential.patched.spec as JsonObject).volumes, [{ name: 'v2' }, { name: 'v4' }]);
  const all = run({ foreach: [{ list: 'request.object.spec.volumes', order: 'Descending', patchesJson6902: '- op: remove\n  path: /spec/volumes/{{elementIndex}}' }] }, withVolumes);
  assert.deepEqual((all.patched.spec as JsonObject).volumes, []);
  // Ascending, the indexes shift under the loop: every other element stays, and removing past
  // the end is no error (Kyverno patches with AllowMissingPathOnRemove).
  const ascending = run({ foreach: [{ list: 'request.object.spec.volumes', order: 'Ascending', patchesJson6902: '- op: remove\n  path: /spec/volumes/{{elementIndex}}' }] }, withVolumes);
  assert.equal(ascending.result.status, 'pass', JSON.stringify(ascending.result));
  assert.deepEqual((ascending.patched.spec as JsonObject).volumes, [{ name: 'v2' }, { name: 'v4' }]);
});
