// Dotted variable names of test values, read as Kyverno's AddVariable reads them (CSV with '.').
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { variablePath, withVariables } from '../../engine/variables';

test('a double-quoted field of a variable name keeps its dots', () => {
  assert.deepEqual(variablePath('request.object.metadata.annotations."example.com/team"'), ['request', 'object', 'metadata', 'annotations', 'example.com/team']);
  assert.deepEqual(variablePath('a."b.c".d'), ['a', 'b.c', 'd']);
  assert.deepEqual(variablePath('a."say ""hi"""'), ['a', 'say "hi"']);
  assert.deepEqual(variablePath('plain.name'), ['plain', 'name']);
});

test('a name CSV cannot read splits plainly', () => {
  assert.deepEqual(variablePath('a.b"c.d'), ['a', 'b"c', 'd']);
  assert.deepEqual(variablePath('a."unclosed'), ['a', '"unclosed']);
});

test('a value under a quoted name lands at that key', () => {
  const scope = withVariables({ data: { request: { object: { metadata: { name: 'x' } } } } }, { 'request.object.metadata.annotations."example.com/team"': 'a' });
  assert.deepEqual(scope.data.request, { object: { metadata: { name: 'x', annotations: { 'example.com/team': 'a' } } } });
});
