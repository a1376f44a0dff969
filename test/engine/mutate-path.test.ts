// Mutation results: RuleResult.path (first changed field, in the original document's order)
// for patchStrategicMerge, patchesJson6902 and foreach; `{{@}}` in patches (Kyverno's
// jsonpointer SkipPast("foreach").SkipN(2) on the substitution path); condition errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyMutateRule } from '../../engine/mutate';
import { firstChangedPath } from '../../engine/mutate/diff';
import type { JsonObject } from '../../engine/core/types';

const pod = (): JsonObject => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'prod', labels: { app: 'web' } },
  spec: { containers: [{ name: 'nginx', image: 'nginx:latest' }, { name: 'sidecar', image: 'busybox:1.36' }] },
});
const scopeFor = (resource: JsonObject) => ({ data: { request: { operation: 'CREATE', object: resource } } as JsonObject });
const run = (mutate: JsonObject, resource = pod()) => applyMutateRule({ name: 'rule', mutate }, resource, scopeFor(resource));

test('path: patchStrategicMerge reports the first change in document order, not the merged (sorted) order', () => {
  // kyaml sorts keys, so `image` comes before `name` in the result; the first change in the
  // file is still the container's image, and metadata comes before spec.
  const out = run({ patchStrategicMerge: { spec: { containers: [{ name: 'sidecar', image: 'busybox:1.37' }] }, metadata: { annotations: { a: 'b' } } } });
  assert.equal(out.result.status, 'pass');
  assert.deepEqual(out.result.path, ['metadata', 'annotations']);
  const only = run({ patchStrategicMerge: { spec: { containers: [{ name: 'sidecar', image: 'busybox:1.37' }] } } });
  assert.deepEqual(only.result.path, ['spec', 'containers', 1, 'image']);
});

test('path: patchesJson6902 replace, add into a new parent, and removal', () => {
  assert.deepEqual(run({ patchesJson6902: '- op: replace\n  path: /spec/containers/1/image\n  value: x' }).result.path, ['spec', 'containers', 1, 'image']);
  assert.deepEqual(run({ patchesJson6902: '- op: add\n  path: /spec/nodeSelector/zone\n  value: a' }).result.path, ['spec', 'nodeSelector']);
  assert.deepEqual(run({ patchesJson6902: '- op: remove\n  path: /metadata/labels/app' }).result.path, ['metadata', 'labels', 'app']);
  assert.deepEqual(run({ patchesJson6902: '- op: add\n  path: /spec/containers/-\n  value: {name: c}' }).result.path, ['spec', 'containers']);
});

test('path: foreach reports the first changed element', () => {
  const out = run({ foreach: [{ list: 'request.object.spec.containers', patchesJson6902: '- op: replace\n  path: /spec/containers/{{elementIndex}}/image\n  value: "r/{{element.image}}"' }] });
  assert.equal(out.result.status, 'pass');
  assert.deepEqual(out.result.path, ['spec', 'containers', 0, 'image']);
});

test('path: no change, no path; firstChangedPath on lists and scalars', () => {
  assert.equal(run({ patchStrategicMerge: { metadata: { labels: { app: 'web' } } } }).result.path, undefined);
  assert.equal(firstChangedPath({ a: 1 }, { a: 1 }), undefined);
  assert.deepEqual(firstChangedPath({ a: [1, 2] }, { a: [1] }), ['a', 1]);
  assert.deepEqual(firstChangedPath({ a: 1, b: 1 }, { b: 2, a: 1 }), ['b']);
  assert.deepEqual(firstChangedPath({ a: 'x' }, { a: { b: 1 } }), ['a']);
});

test('{{@}}: a rule patch resolves against request.object at the same place', () => {
  const out = run({ patchStrategicMerge: { metadata: { labels: { app: '{{@}}-v2' } } } });
  assert.equal(((out.patched.metadata as JsonObject).labels as JsonObject).app, 'web-v2');
});

test('{{@}}: in a foreach entry the path starts at the entry, so two segments after the patch key are skipped', () => {
  // /patchStrategicMerge/metadata/labels/app → SkipN(2) → labels.app → request.object.labels.app (absent).
  const resource = { ...pod(), labels: { app: 'top-level' } };
  const out = run({ foreach: [{ list: "['one']", patchStrategicMerge: { metadata: { labels: { app: '{{@}}' } } } }] }, resource);
  assert.equal(out.result.status, 'pass', out.result.message);
  assert.equal(((out.patched.metadata as JsonObject).labels as JsonObject).app, 'top-level');
});

test('variable errors name the path inside the rule (/mutate/...)', () => {
  const out = run({ patchStrategicMerge: { metadata: { labels: { x: '{{ request.object.nope }}' } } } });
  assert.equal(out.result.status, 'error');
  assert.match(out.result.message, /at path \/mutate\/patchStrategicMerge\/metadata\/labels\/x/);
});

test('a foreach or target precondition that cannot be evaluated is a rule error, not a skip', () => {
  const fe = run({ foreach: [{ list: 'request.object.spec.containers', preconditions: { all: [{ key: '{{ element.name }}', operator: 'Frobnicates', value: 'x' }] }, patchStrategicMerge: { metadata: { labels: { a: 'b' } } } }] });
  assert.equal(fe.result.status, 'error');
  assert.match(fe.result.message, /^failed to mutate elements: failed to evaluate mutate\.foreach\[\d\]\.preconditions/);
  const trigger = pod();
  const target = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'prod' } };
  const t = applyMutateRule({ name: 'r', mutate: { targets: [{ apiVersion: 'v1', kind: 'ConfigMap', preconditions: { any: [{ key: '{{ target.missing.deep }}', operator: 'Equals', value: 1 }] } }], patchStrategicMerge: { metadata: { labels: { a: 'b' } } } } }, trigger, scopeFor(trigger), { targetResources: [target] });
  assert.equal(t.result.status, 'error');
  assert.match(t.result.message, /^failed to evaluate preconditions/);
  assert.equal(t.result.path, undefined);
});

test('path: a named element added by a strategic merge names the list, not a shifted index', () => {
  const out = run({ patchStrategicMerge: { spec: { containers: [{ name: 'istio-proxy', image: 'proxy:1' }] } } });
  assert.equal(out.result.status, 'pass');
  assert.deepEqual(((out.patched.spec as JsonObject).containers as JsonObject[]).map((c) => c.name), ['istio-proxy', 'nginx', 'sidecar']);
  assert.deepEqual(out.result.path, ['spec', 'containers']);
  assert.deepEqual(firstChangedPath({ c: [{ name: 'a' }, { name: 'b' }] }, { c: [{ name: 'b' }] }), ['c', 0]);
});
