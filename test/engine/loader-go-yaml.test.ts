// engine/loader reads YAML as Kyverno does (sigs.k8s.io/yaml over go-yaml v2), not as YAML 1.2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { GO_YAML_OPTIONS, parseYamlDocuments, resolveGoNumber } from '../../engine/loader';

function load(text: string): unknown {
  const r = parseYamlDocuments(text, 'f.yaml');
  assert.deepEqual(r.errors, []);
  return r.documents[0]?.value;
}

test('YAML 1.1 booleans of go-yaml v2, as values and as keys', () => {
  assert.deepEqual(load('a: yes\nb: On\nc: y\nd: NO\ne: off\nf: "yes"\ng: True\n'), { a: true, b: true, c: true, d: false, e: false, f: 'yes', g: true });
  // sigs.k8s.io/yaml turns a boolean key into "true"/"false".
  assert.deepEqual(load('on: push\nn: 1\n'), { true: 'push', false: 1 });
});

test('integers as strconv.ParseInt(s, 0, 64) reads them after go-yaml drops underscores', () => {
  assert.deepEqual(load('a: 0644\nb: 0x1F\nc: -0x1F\nd: 0o17\ne: 0b101\nf: 1_000\ng: +12\nh: 08\ni: 1e3\nj: 12abc\n'), {
    a: 420, b: 31, c: -31, d: 15, e: 5, f: 1000, g: 12, h: 8, i: 1000, j: '12abc',
  });
  assert.equal(resolveGoNumber('09.5'), 9.5);
  assert.equal(resolveGoNumber('1:20'), '1:20');
});

test('timestamps and sexagesimal numbers stay strings; nulls as go-yaml spells them', () => {
  assert.deepEqual(load('a: 2024-01-01\nb: 1:20\nc: ~\nd: Null\ne:\n'), { a: '2024-01-01', b: '1:20', c: null, d: null, e: null });
});

test('merge keys are merged, and duplicate keys keep the last value', () => {
  assert.deepEqual(load('base: &b\n  x: 1\n  z: 0\nc:\n  <<: *b\n  z: 2\n'), { base: { x: 1, z: 0 }, c: { x: 1, z: 2 } });
  assert.deepEqual(load('a: 1\na: 2\n'), { a: 2 });
});

test('a quoted scalar may continue on lines indented less than its key, as libyaml accepts', () => {
  const text = 'spec:\n  rules:\n    - message: "first\n  second"\n      name: r\n    - message: \'one\n two\'\n      name: s\n';
  const r = parseYamlDocuments(text, 'f.yaml');
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.documents[0].value, { spec: { rules: [{ message: 'first second', name: 'r' }, { message: 'one two', name: 's' }] } });
  // Lines keep their numbers.
  const second = parseYamlDocuments(`${text}---\nkind: X\n`, 'f.yaml');
  assert.equal(second.documents[1].line, 10);
});

test('block scalars and plain scalars with quotes inside are left alone', () => {
  assert.deepEqual(load('a: |\n  "not closed\nb: don\'t "x\nc: "x\n y"\n'), { a: '"not closed\n', b: 'don\'t "x', c: 'x y' });
});

test('tabs as indentation stay an error, as in go-yaml', () => {
  assert.equal(parseYamlDocuments('a:\n\tb: 1\n', 'f.yaml').errors.length > 0, true);
});

test('stringify with the same options quotes the strings go-yaml would read otherwise', () => {
  const value = { a: 'no', b: 'on', c: '0644', d: 'y', e: true, f: 5, g: 'plain', h: null };
  const text = stringify(value, GO_YAML_OPTIONS);
  assert.deepEqual(load(text), value);
});
