import { test } from 'node:test';
import assert from 'node:assert/strict';
import { locateInText, positionsOf } from '../../client/src/yaml/locate';
import { PODS } from './fixtures';

const lineOf = (text: string, offset: number) => positionsOf(text)(offset).line;

test('a JSON path resolves to the scalar value of that field (as the language server underlines it)', () => {
  const span = locateInText(PODS, { docIndex: 1, itemPath: [] }, ['spec', 'containers', 0, 'image']);
  assert.ok(span);
  assert.equal(PODS.slice(span.start, span.end), 'docker.io/nginx:latest');
});

test('a missing field resolves to its closest existing parent key', () => {
  const span = locateInText(PODS, { docIndex: 1, itemPath: [] }, ['metadata', 'labels', 'team']);
  assert.ok(span);
  assert.equal(PODS.slice(span.start, span.end), 'labels');
  assert.equal(lineOf(PODS, span.start), 15);
});

test('an empty path points at the kind of the resource', () => {
  const span = locateInText(PODS, { docIndex: 1, itemPath: [] }, []);
  assert.ok(span);
  assert.equal(PODS.slice(span.start, span.end), 'Pod');
  assert.equal(lineOf(PODS, span.start), 12);
});

test('items of a List document are located through their item path', () => {
  const list = `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Pod
    metadata: {name: a}
  - apiVersion: v1
    kind: Pod
    metadata:
      name: b
`;
  const span = locateInText(list, { docIndex: 0, itemPath: ['items', 1] }, ['metadata', 'name']);
  assert.ok(span);
  assert.equal(list.slice(span.start, span.end), 'b');
});

test('positions are 0-based lines and columns', () => {
  const at = positionsOf('a: 1\nbb: 2\n');
  assert.deepEqual(at(0), { line: 0, character: 0 });
  assert.deepEqual(at(6), { line: 1, character: 1 });
});
