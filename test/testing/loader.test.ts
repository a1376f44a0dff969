// engine/loader: multi-document parsing with positions, bounded inputs, classification.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyDocument, expandLists, parseYamlDocuments } from '../../engine/loader';

test('each document carries its file and starting line', () => {
  const text = 'a: 1\n---\n# comment\n\nb: 2\n---\n---\nc: 3\n';
  const r = parseYamlDocuments(text, 'f.yaml');
  assert.deepEqual(r.errors, []);
  assert.deepEqual(
    r.documents.map((d) => [d.value, d.line, d.index]),
    [
      [{ a: 1 }, 1, 0],
      [{ b: 2 }, 5, 1],
      [{ c: 3 }, 8, 3],
    ],
  );
});

test('malformed YAML is an error with file and line, the other documents still load', () => {
  const r = parseYamlDocuments('ok: 1\n---\nbad: [1, 2\nnext: 3\n', 'x.yaml');
  assert.deepEqual(r.documents.map((d) => d.value), [{ ok: 1 }]);
  assert.equal(r.errors.length > 0, true);
  assert.equal(r.errors[0].file, 'x.yaml');
  assert.ok((r.errors[0].line ?? 0) >= 3);
  assert.doesNotMatch(r.errors[0].message, /\n/);
});

test('input beyond the size limit is refused without parsing', () => {
  const r = parseYamlDocuments('a: 1\n'.repeat(10), 'big.yaml', { maxChars: 20 });
  assert.deepEqual(r.documents, []);
  assert.match(r.errors[0].message, /input too large/);
});

test('alias expansion is bounded', () => {
  const text = 'a: &a [x, x]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]\n';
  const r = parseYamlDocuments(text, 'alias.yaml', { maxAliasCount: 2 });
  assert.deepEqual(r.documents, []);
  assert.match(r.errors[0].message, /too many YAML aliases \(more than 2 expansions/);
  assert.equal(parseYamlDocuments(text, 'alias.yaml').documents.length, 1);
});

test('documents are classified by apiVersion and kind', () => {
  const cases: Array<[unknown, string]> = [
    [{ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy' }, 'policy'],
    [{ apiVersion: 'policies.kyverno.io/v1', kind: 'ValidatingPolicy' }, 'policy'],
    [{ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy' }, 'policy'],
    [{ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding' }, 'binding'],
    [{ apiVersion: 'kyverno.io/v2', kind: 'PolicyException' }, 'exception'],
    [{ apiVersion: 'cli.kyverno.io/v1alpha1', kind: 'Test' }, 'test'],
    [{ apiVersion: 'cli.kyverno.io/v1alpha1', kind: 'Values' }, 'values'],
    [{ apiVersion: 'v1', kind: 'Pod' }, 'resource'],
    [{ kind: 'Pod' }, 'invalid'],
    [[1, 2], 'invalid'],
  ];
  for (const [doc, cls] of cases) assert.equal(classifyDocument(doc), cls, JSON.stringify(doc));
});

test('List documents are flattened into their items', () => {
  assert.deepEqual(expandLists({ apiVersion: 'v1', kind: 'List', items: [{ a: 1 }, { b: 2 }] }), [{ a: 1 }, { b: 2 }]);
  assert.deepEqual(expandLists({ kind: 'Pod' }), [{ kind: 'Pod' }]);
});
