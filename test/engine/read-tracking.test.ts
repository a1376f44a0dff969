// Recording views (engine/core/read-tracking): what an evaluation read of a resource, and
// whether an edited resource would give every one of those reads the same answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReadRecorder, readsHold, holdsView, isRecordingView } from '../../engine/core/read-tracking';
import { toCelDocument } from '../../engine/cel/values';

const resource = () => ({
  kind: 'Pod',
  metadata: { name: 'a', labels: { app: 'web', note: 'x' } },
  spec: { containers: [{ name: 'c', image: 'nginx' }] },
});

function record(read: (view: any) => void) {
  const recorder = new ReadRecorder(resource());
  read(recorder.view);
  recorder.stop();
  return recorder;
}

test('a field read holds while its value stays, whatever else changes', () => {
  const { root } = record((v) => assert.equal(v.metadata.labels.app, 'web'));
  const edited = resource();
  edited.metadata.labels.note = 'y';
  (edited.spec.containers[0] as Record<string, unknown>).image = 'busybox';
  assert.ok(readsHold(root, edited));
  edited.metadata.labels.app = 'db';
  assert.ok(!readsHold(root, edited));
});

test('a missing field read holds until the field appears; a container read until its type changes', () => {
  const { root } = record((v) => {
    assert.equal(v.metadata.annotations, undefined);
    assert.equal(typeof v.spec, 'object');
  });
  const withAnnotations: Record<string, any> = resource();
  withAnnotations.metadata.annotations = {};
  assert.ok(!readsHold(root, withAnnotations));
  const specAsList: Record<string, any> = resource();
  specAsList.spec = [];
  assert.ok(!readsHold(root, specAsList));
  assert.ok(readsHold(root, resource()));
});

test('listing keys, iterating an array and serialising record everything they depend on', () => {
  const keys = record((v) => Object.keys(v.metadata.labels)).root;
  const renamed: Record<string, any> = resource();
  renamed.metadata.labels = { app: 'web', other: 'x' };
  assert.ok(!readsHold(keys, renamed));
  const changedValue = resource();
  changedValue.metadata.labels.note = 'changed';
  assert.ok(readsHold(keys, changedValue), 'only the keys were read');

  const images = record((v) => v.spec.containers.map((c: any) => c.image)).root;
  const added = resource();
  added.spec.containers.push({ name: 'd', image: 'nginx' });
  assert.ok(!readsHold(images, added), 'the array grew');

  const whole = record((v) => JSON.stringify(v)).root;
  assert.ok(readsHold(whole, resource()));
  assert.ok(!readsHold(whole, changedValue));
  const spread = record((v) => ({ ...v.metadata.labels })).root;
  assert.ok(!readsHold(spread, changedValue), 'a spread reads every value');
});

test('a view refuses writes and notes them; views are told apart inside results', () => {
  const recorder = new ReadRecorder(resource());
  const view = recorder.view as any;
  assert.throws(() => { 'use strict'; view.metadata.name = 'b'; });
  assert.equal(view.metadata.name, 'a');
  assert.ok(recorder.wrote);
  assert.ok(isRecordingView(view.metadata));
  assert.ok(holdsView([{ message: 'x', details: { at: view.spec } }]));
  assert.ok(!holdsView([{ message: 'x', path: ['spec'] }]));
  assert.equal(view.metadata, view.metadata, 'one view per path');
});

test("CEL reads a recording view field by field, with integers as int64", () => {
  const recorder = new ReadRecorder({ spec: { replicas: 2, ratio: 0.5, items: [1, 2] }, status: { x: 1 } });
  const cel = toCelDocument(recorder.view) as any;
  assert.equal(cel.spec.replicas, 2n);
  assert.equal(cel.spec.ratio, 0.5);
  assert.equal(cel.spec.items.length, 2);
  assert.deepEqual(cel.spec.items.map((x: unknown) => x), [1n, 2n]);
  recorder.stop();
  assert.ok(readsHold(recorder.root, { spec: { replicas: 2, ratio: 0.5, items: [1, 2] }, status: { x: 99 } }), 'status was never read');
  assert.ok(!readsHold(recorder.root, { spec: { replicas: 3, ratio: 0.5, items: [1, 2] }, status: { x: 1 } }));
});

test('asking whether a key is there is a read, when it is missing too', () => {
  const { root } = record((v) => {
    assert.ok(!Object.hasOwn(v.metadata, 'annotations'));
    assert.ok(Object.hasOwn(v.metadata, 'labels'));
  });
  const annotated: Record<string, any> = resource();
  annotated.metadata.annotations = {};
  assert.ok(!readsHold(root, annotated));
  const relabelled: Record<string, any> = resource();
  relabelled.metadata.labels = { other: 'x' };
  assert.ok(readsHold(root, relabelled), 'only the presence of labels was read');
  delete relabelled.metadata.labels;
  assert.ok(!readsHold(root, relabelled));
});
