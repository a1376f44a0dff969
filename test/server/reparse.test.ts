import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFile } from '../../server/src/service/documents';
import { reparseFile } from '../../server/src/service/reparse';
import { validateFile } from '../../server/src/service/validate';
import { documentSymbols } from '../../server/src/service/navigation';

const rule = (i: number) => `  - name: rule-${i}\n    match:\n      any:\n      - resources:\n          kinds: [Pod]\n    validate:\n      message: "m${i} {{ request.object.metadata.name }}"\n      pattern:\n        metadata:\n          labels:\n            l${i}: "?*"\n`;
const BASE = 'apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: p\nspec:\n  rules:\n' + Array.from({ length: 20 }, (_, i) => rule(i)).join('') + '---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n';

// Edits that stay inside one rule, change its shape, or break it.
const EDITS: Array<(t: string) => string> = [
  (t) => t.replace('m5 ', 'message five '),
  (t) => t.replace('l7: "?*"', 'l7: "?*"\n            extra: yes'),
  (t) => t.replace('rule-9', 'rule-3'),
  (t) => t.replace('      message: "m2', '      mesage: "m2'),
  (t) => t.replace('{{ request.object.metadata.name }}"\n      pattern:\n        metadata:\n          labels:\n            l4', '{{ to_uper(@) }}"\n      pattern:\n        metadata:\n          labels:\n            l4'),
  (t) => t.replace('kinds: [Pod]\n    validate:\n      message: "m11', 'kinds: [Pod\n    validate:\n      message: "m11'),
  (t) => t.replace('kinds: [Pod\n', 'kinds: [Pod]\n'),
  (t) => t.replace('  - name: rule-12\n', '  - name: rule-12\n    background: x\n'),
  (t) => t.replace('name: x', 'name: y'),
  (t) => t.replace('\n            extra: yes', ''),
  (t) => t.replace('m13 ', 'm13'),
];

test('incremental re-parse gives the same diagnostics, values and symbols as a full parse', () => {
  let text = BASE;
  let prev = parseFile('file:///r.yaml', text);
  const spliced: boolean[] = [];
  for (const edit of EDITS) {
    const next = edit(text);
    assert.notEqual(next, text);
    const inc = reparseFile(prev, next);
    const full = parseFile('file:///r.yaml', next);
    spliced.push(inc.docs[0].doc === prev.docs[0].doc);
    assert.deepEqual(inc.docs.map((d) => d.value), full.docs.map((d) => d.value));
    assert.deepEqual(validateFile(inc), validateFile(full));
    assert.deepEqual(documentSymbols(inc), documentSymbols(full));
    text = next;
    prev = inc;
  }
  // Edits inside one rule reuse the AST; a YAML error inside the rule falls back to a full parse.
  // The Pod document's edit stays inside one scalar, which is re-parsed alone.
  assert.deepEqual(spliced, [true, true, true, true, true, false, false, true, true, true, true]);
});

test('edits in the header (apiVersion, metadata, spec fields) are spliced, not re-parsed in full', () => {
  const header = 'apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: p\n  annotations:\n    a: "b"\nspec:\n  validationFailureAction: Audit\n  rules:\n' + Array.from({ length: 5 }, (_, i) => rule(i)).join('');
  const edits: Array<[string, (t: string) => string, boolean]> = [
    ['apiVersion value', (t) => t.replace('kyverno.io/v1', 'kyverno.io/v2'), true],
    ['kind value', (t) => t.replace('kind: ClusterPolicy', 'kind: Policy'), true],
    ['metadata.name', (t) => t.replace('name: p\n', 'name: policy-x\n'), true],
    ['a new annotation line', (t) => t.replace('    a: "b"\n', '    a: "b"\n    c: d\n'), true],
    ['a quoted value', (t) => t.replace('a: "b"', 'a: "b c"'), true],
    ['a spec field', (t) => t.replace('validationFailureAction: Audit', 'validationFailureAction: Enforce'), true],
    // The scalar alone cannot take these: the block around it (spec, metadata) is re-parsed.
    ['a value that becomes a flow list', (t) => t.replace('validationFailureAction: Enforce', 'validationFailureAction: [Enforce]'), true],
    ['a value that gains a comment', (t) => t.replace('name: policy-x', 'name: policy-x # c'), true],
    // At the top level there is no block around it but the document.
    ['a top-level value that gains a comment', (t) => t.replace('kind: Policy', 'kind: Policy # c'), false],
  ];
  let text = header;
  let prev = parseFile('file:///h.yaml', text);
  for (const [what, edit, splices] of edits) {
    const next = edit(text);
    assert.notEqual(next, text, what);
    const inc = reparseFile(prev, next);
    const full = parseFile('file:///h.yaml', next);
    assert.equal(inc.docs[0].doc === prev.docs[0].doc, splices, what);
    assert.deepEqual(inc.docs.map((d) => [d.value, d.apiVersion, d.kind]), full.docs.map((d) => [d.value, d.apiVersion, d.kind]), what);
    assert.deepEqual(validateFile(inc), validateFile(full), what);
    assert.deepEqual(documentSymbols(inc), documentSymbols(full), what);
    text = next;
    prev = inc;
  }
});

test('a text changed on separate lines at once (replace-all, multi-cursor) is spliced line by line, as a full parse reads it', () => {
  const cases: Array<[string, (t: string) => string, boolean]> = [
    ['metadata.name and a rule message', (t) => t.replace('name: p\n', 'name: q\n').replace('m12 ', 'm12 edited '), true],
    ['three rules at once', (t) => t.replace('m1 ', 'one ').replace('m9 ', 'nine ').replace('m18 ', 'eighteen '), true],
    ['a rule and the Pod document after it', (t) => t.replace('m3 ', 'three ').replace('name: x', 'name: z'), true],
    ['the same key renamed in every rule', (t) => t.replaceAll('kinds: [Pod]', 'kinds: [Deployment]'), true],
    // A changed line followed by a changed line is one edit over both (the rule around them).
    ['two adjacent lines', (t) => t.replace('validate:\n      message: "m4', 'validate:\n      message: "m4 x'), true],
    // A second change that breaks the YAML: the first is spliced, then the file is parsed in full.
    ['a rule and a broken one', (t) => t.replace('m2 ', 'two ').replace('kinds: [Pod]\n    validate:\n      message: "m15', 'kinds: [Pod\n    validate:\n      message: "m15'), false],
  ];
  for (const [what, edit, splices] of cases) {
    const prev = parseFile('file:///m.yaml', BASE);
    const next = edit(BASE);
    assert.notEqual(next, BASE, what);
    const inc = reparseFile(prev, next);
    const full = parseFile('file:///m.yaml', next);
    assert.equal(inc.text, next, what);
    assert.equal(inc.docs[0].doc === prev.docs[0].doc, splices, what);
    assert.deepEqual(inc.docs.map((d) => [d.value, d.apiVersion, d.kind, d.start, d.end]), full.docs.map((d) => [d.value, d.apiVersion, d.kind, d.start, d.end]), what);
    assert.deepEqual(validateFile(inc), validateFile(full), what);
    assert.deepEqual(documentSymbols(inc), documentSymbols(full), what);
  }
});

test('more separate changed lines than the line steps are one edit, still read as a full parse reads it', () => {
  const prev = parseFile('file:///n.yaml', BASE);
  const next = BASE.replace(/"m(\d+) /g, '"n$1 ');
  const inc = reparseFile(prev, next);
  const full = parseFile('file:///n.yaml', next);
  assert.deepEqual(inc.docs.map((d) => d.value), full.docs.map((d) => d.value));
  assert.deepEqual(validateFile(inc), validateFile(full));
});
