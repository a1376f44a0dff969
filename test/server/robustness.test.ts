import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { LspClient } from './lsp-client';

let client: LspClient;
before(async () => {
  client = new LspClient();
  await client.initialize();
});
after(() => client.close());

/** The server still answers after a hostile input. */
async function stillUp(): Promise<void> {
  const uri = 'file:///r/alive.yaml';
  const p = await client.open(uri, 'apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: a\nspec:\n  rulez: []\n');
  assert.ok(p.diagnostics.some((d) => d.code === 'KS1101'));
  await client.conn.sendNotification('textDocument/didClose', { textDocument: { uri } });
}

async function timed<T>(limitMs: number, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  const r = await fn();
  assert.ok(Date.now() - t0 < limitMs, `took ${Date.now() - t0} ms (limit ${limitMs})`);
  return r;
}

test('a 10 MB file gets a diagnostic, not an analysis', async () => {
  const text = 'data: "' + 'x'.repeat(10 * 1024 * 1024) + '"\n';
  const p = await timed(15000, () => client.open('file:///r/big.yaml', text));
  assert.equal(p.diagnostics.length, 1);
  assert.equal(p.diagnostics[0].code, 'KS1002');
  const items = await client.request<unknown[]>('textDocument/completion', { textDocument: { uri: 'file:///r/big.yaml' }, position: { line: 0, character: 10 } });
  assert.deepEqual(items, []);
  await stillUp();
});

test('a YAML alias bomb is refused', async () => {
  const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < 9; i++) {
    const prev = String.fromCharCode(96 + i);
    const cur = String.fromCharCode(97 + i);
    levels.push(`${cur}: &${cur} [${Array(9).fill('*' + prev).join(',')}]`);
  }
  const p = await timed(10000, () => client.open('file:///r/bomb.yaml', levels.join('\n') + '\n'));
  assert.ok(p.diagnostics.some((d) => d.code === 'KS1003'));
  await stillUp();
});

test('10,000 documents in one file', async () => {
  const pod = (i: number) => `apiVersion: v1\nkind: Pod\nmetadata:\n  name: p${i}\nspec:\n  containers:\n  - name: c\n    image: nginx\n`;
  const text = Array.from({ length: 10000 }, (_, i) => pod(i)).join('---\n') + '---\napiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: last\nspec:\n  rulez: []\n';
  const p = await timed(60000, () => client.open('file:///r/many.yaml', text));
  assert.ok(p.diagnostics.some((d) => d.code === 'KS1101' && d.range.start.line > 80000), 'the last document is analysed too');
  await stillUp();
});

test('invalid UTF-8 (replacement characters, lone surrogates)', async () => {
  const bytes = Buffer.from('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  k: "\xff\xfe\xc3"\n', 'latin1');
  const text = bytes.toString('utf8') + 'other: "\uD800"\n';
  const p = await client.open('file:///r/utf8.yaml', text);
  assert.ok(Array.isArray(p.diagnostics));
  await stillUp();
});

test('a policy with 500 rules', async () => {
  const rule = (i: number) => `  - name: rule-${i}\n    match:\n      any:\n      - resources:\n          kinds: [Pod]\n    validate:\n      message: "{{ request.object.metadata.name }}"\n      pattern:\n        metadata:\n          labels:\n            l${i}: "?*"\n`;
  const text = 'apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: big\nspec:\n  rules:\n' + Array.from({ length: 500 }, (_, i) => rule(i)).join('') + rule(7);
  const p = await timed(30000, () => client.open('file:///r/rules.yaml', text));
  const dup = p.diagnostics.filter((d) => d.code === 'KS1201');
  assert.equal(dup.length, 1);
  assert.equal(dup[0].range.start.line, 6 + 500 * 11);
  await stillUp();
});
