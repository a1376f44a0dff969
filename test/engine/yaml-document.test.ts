/**
 * engine/loader's document model: one JSON-path-to-span mapping for the language service and the
 * extension, checked as a property over generated documents, plus the limits every reader shares.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import { documentValue, parseYamlText, resultSpan, spanOfPath, YAML_LIMITS, type JsonPath } from '../../engine/loader';

// Keys stay clear of YAML 1.1's booleans and nulls (`y`, `on`...), which go-yaml reads as such.
const key = fc.stringMatching(/^k[a-zA-Z0-9]{0,7}$/);
const leaf = fc.oneof(fc.stringMatching(/^[a-z][a-z0-9 ./:-]{0,12}[a-z0-9]$/), fc.integer({ min: -1000, max: 1000 }), fc.boolean());
const value = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.array(tie('node'), { minLength: 1, maxLength: 3 }), fc.dictionary(key, tie('node'), { minKeys: 1, maxKeys: 4 })),
})).node;
const document = fc.dictionary(key, value, { minKeys: 1, maxKeys: 5 });

/** Every path to a scalar of `v`. */
function leafPaths(v: unknown, path: JsonPath = []): JsonPath[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => leafPaths(x, [...path, i]));
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => leafPaths(x, [...path, k]));
  return [path];
}

test('the span of a path to a scalar is that scalar (block and flow styles)', () => {
  fc.assert(fc.property(document, fc.boolean(), fc.nat(), (data, flow, pick) => {
    const text = stringify(data, { collectionStyle: flow ? 'flow' : 'block' });
    const [doc] = parseYamlText(text).docs;
    const paths = leafPaths(data);
    const path = paths[pick % paths.length];
    const span = spanOfPath(text, doc, path);
    assert.ok(span, `no span for ${path.join('.')}`);
    let expected: unknown = data;
    for (const step of path) expected = (expected as Record<string | number, unknown>)[step];
    assert.deepEqual(parse(text.slice(span.start, span.end)), expected);
  }), { seed: 12, numRuns: 200 });
});

test('a missing field resolves to the last key found on its path; an empty result path to the kind', () => {
  fc.assert(fc.property(document, key, (data, missing) => {
    fc.pre(!(missing in data));
    const text = stringify({ kind: 'Pod', ...data });
    const [doc] = parseYamlText(text).docs;
    const first = Object.keys(data)[0];
    const span = spanOfPath(text, doc, [first, 'no-such-field', missing]);
    assert.ok(span);
    const child = data[first];
    // Missing below a collection: its key; below a scalar: the same key (the scalar cannot hold it).
    if (child && typeof child === 'object') assert.equal(text.slice(span.start, span.end), first);
    const kind = resultSpan(text, doc, [], []);
    assert.ok(kind);
    assert.equal(text.slice(kind.start, kind.end), 'Pod');
  }), { seed: 7, numRuns: 100 });
});

test('one set of limits: size, documents, aliases and depth', () => {
  assert.match(parseYamlText('a: 1\n', { limits: { maxChars: 2 } }).overLimit ?? '', /input too large \(5 characters, limit 2\)/);
  assert.match(parseYamlText('a: 1\n---\nb: 2\n---\nc: 3\n', { limits: { maxDocuments: 2 } }).overLimit ?? '', /too many YAML documents \(3, limit 2\)/);
  const [bomb] = parseYamlText('a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n').docs;
  assert.deepEqual(documentValue(bomb, { maxAliasCount: 2 }), { error: 'too many YAML aliases (more than 2 expansions; possible alias bomb)' });
  assert.deepEqual(documentValue(parseYamlText('[[[[[[1]]]]]]').docs[0], { maxDepth: 5 }), { error: 'YAML nested too deeply (more than 5 levels)' });
  assert.equal(YAML_LIMITS.maxDepth, 1000);
  // Duplicate keys: go-yaml v2 keeps the last; the language service asks for an error.
  assert.deepEqual(documentValue(parseYamlText('a: 1\na: 2\n').docs[0]), { value: { a: 2 } });
  assert.ok(parseYamlText('a: 1\na: 2\n', { uniqueKeys: true }).docs[0].errors.length > 0);
});
