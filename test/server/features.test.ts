import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { LspClient, positionOf } from './lsp-client';

let client: LspClient;
before(async () => {
  client = new LspClient();
  await client.initialize();
});
after(() => client.close());

type Item = { label: string; kind: number; detail?: string; insertTextFormat?: number; textEdit?: { newText: string } };
async function completeAt(uri: string, text: string, needle: string, delta = needle.length): Promise<Item[]> {
  await client.open(uri, text);
  const r = await client.request<Item[] | { items: Item[] }>('textDocument/completion', { textDocument: { uri }, position: positionOf(text, needle, delta) });
  return Array.isArray(r) ? r : r.items;
}
const labels = (items: Item[]) => items.map((i) => i.label);

const HEAD = 'apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: p\nspec:\n';

test('completes schema keys, enum values and kinds', async () => {
  const keys = await completeAt('file:///c/keys.yaml', HEAD + '  rules:\n  - name: r\n    mat\n', '    mat');
  assert.ok(labels(keys).includes('match'));
  assert.ok(labels(keys).includes('validate'));
  assert.ok(!labels(keys).includes('name'), 'existing sibling key not offered');

  const enums = await completeAt('file:///c/enum.yaml', HEAD + '  validationFailureAction: \n', 'validationFailureAction: ');
  assert.deepEqual(labels(enums).sort(), ['Audit', 'Enforce', 'audit', 'enforce'].sort());

  const kinds = await completeAt('file:///c/kinds.yaml', HEAD + '  rules:\n  - name: r\n    match:\n      any:\n      - resources:\n          kinds:\n          - Dep\n', '- Dep');
  assert.ok(labels(kinds).includes('Deployment'));
  assert.ok(labels(kinds).includes('Pod'));
});

test('offers rule snippets under rules and anchors in patterns', async () => {
  const snippets = await completeAt('file:///c/snip.yaml', HEAD + '  rules:\n  - \n', '  - ');
  const names = labels(snippets);
  for (const s of ['rule: validate pattern', 'rule: validate deny', 'rule: validate foreach', 'rule: mutate patchStrategicMerge', 'rule: generate', 'rule: validate CEL']) assert.ok(names.includes(s), s);
  const pattern = snippets.find((i) => i.label === 'rule: validate pattern')!;
  assert.equal(pattern.insertTextFormat, 2);
  // Continuation lines are relative to the line's indentation (insertTextMode adjustIndentation).
  assert.equal((pattern as { insertTextMode?: number }).insertTextMode, 2);
  assert.match(pattern.textEdit!.newText, /^name: .*\n {2}match:\n {4}any:/);

  const anchors = await completeAt('file:///c/anchor.yaml', HEAD + '  rules:\n  - name: r\n    validate:\n      pattern:\n        spec:\n          \n', '        spec:\n          ');
  assert.ok(labels(anchors).includes('=(key)'));
  assert.ok(labels(anchors).includes('X(key)'));

  const empty = await completeAt('file:///c/empty.yaml', '', '', 0);
  assert.ok(labels(empty).includes('ValidatingPolicy (CEL)'));
});

test('completes inside {{ }}: request fields, context names and functions', async () => {
  const text = HEAD + '  rules:\n  - name: r\n    context:\n    - name: myMap\n      configMap: {name: a, namespace: b}\n    validate:\n      message: "{{ req }}"\n';
  const roots = await completeAt('file:///c/vars.yaml', text, '{{ req');
  const names = labels(roots);
  assert.ok(names.includes('request'));
  assert.ok(names.includes('myMap'));
  assert.ok(names.includes('element'));
  const fn = roots.find((i) => i.label === 'regex_match')!;
  assert.match(fn.detail!, /regex_match\(/);
  assert.ok(names.includes('to_upper') && names.includes('length'));

  const t2 = text.replace('{{ req }}', '{{ request.ob }}');
  const fields = await completeAt('file:///c/vars2.yaml', t2, 'request.ob');
  assert.ok(labels(fields).includes('object'));
  assert.ok(labels(fields).includes('oldObject'));
});

test('completes CEL variables and functions in CEL expressions', async () => {
  const text = 'apiVersion: policies.kyverno.io/v1\nkind: ValidatingPolicy\nmetadata:\n  name: v\nspec:\n  variables:\n  - name: images\n    expression: "object.spec.containers"\n  validations:\n  - expression: "variables.im"\n';
  const vars = await completeAt('file:///c/cel.yaml', text, 'variables.im');
  assert.deepEqual(labels(vars), ['images']);
  const roots = await completeAt('file:///c/cel2.yaml', text.replace('variables.im', 'ob'), '"ob');
  assert.ok(labels(roots).includes('object'));
  assert.ok(labels(roots).includes('oldObject'));
  assert.ok(labels(roots).includes('has'));
});

test('hover shows CRD docs, function signatures and autogen rules', async () => {
  const text = HEAD + '  background: true\n  rules:\n  - name: check-pods\n    match:\n      any:\n      - resources:\n          kinds: [Pod]\n    validate:\n      message: "{{ to_upper(request.object.metadata.name) }}"\n      pattern:\n        metadata:\n          name: "?*"\n';
  const uri = 'file:///h/hover.yaml';
  await client.open(uri, text);
  type H = { contents: { value: string } } | null;
  const bg = await client.request<H>('textDocument/hover', { textDocument: { uri }, position: positionOf(text, 'background', 2) });
  assert.match(bg!.contents.value, /background/i);
  assert.match(bg!.contents.value, /boolean/);
  const fn = await client.request<H>('textDocument/hover', { textDocument: { uri }, position: positionOf(text, 'to_upper', 3) });
  assert.match(fn!.contents.value, /to_upper\(/);
  const rule = await client.request<H>('textDocument/hover', { textDocument: { uri }, position: positionOf(text, '- name: check-pods', 4) });
  assert.match(rule!.contents.value, /autogen-check-pods/);
  assert.match(rule!.contents.value, /autogen-cronjob-check-pods/);
});

test('symbols, folding and go-to-definition of context entries', async () => {
  const text = HEAD + '  rules:\n  - name: first\n    context:\n    - name: cm\n      configMap: {name: a, namespace: b}\n    match:\n      any:\n      - resources:\n          kinds: [Pod]\n    validate:\n      message: "{{ cm.data.key }}"\n      deny: {}\n  - name: second\n    match:\n      any:\n      - resources:\n          kinds: [Pod]\n    validate:\n      message: x\n      deny: {}\n';
  const uri = 'file:///n/nav.yaml';
  await client.open(uri, text);
  type Sym = { name: string; children?: Sym[] };
  const syms = await client.request<Sym[]>('textDocument/documentSymbol', { textDocument: { uri } });
  assert.equal(syms.length, 1);
  assert.equal(syms[0].name, 'ClusterPolicy p');
  assert.deepEqual(syms[0].children!.map((c) => c.name), ['first', 'second']);
  const folds = await client.request<Array<{ startLine: number; endLine: number }>>('textDocument/foldingRange', { textDocument: { uri } });
  assert.ok(folds.some((f) => f.startLine === positionOf(text, 'rules:').line));
  const def = await client.request<{ uri: string; range: { start: { line: number; character: number } } }>('textDocument/definition', { textDocument: { uri }, position: positionOf(text, '{{ cm.', 3) });
  assert.equal(def.uri, uri);
  assert.deepEqual(def.range.start, positionOf(text, 'cm\n      configMap'));
});
