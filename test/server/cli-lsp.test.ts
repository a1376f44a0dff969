// `kyverno-studio lsp --stdio` from the CLI bundle, as Neovim or Helix launch it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { LspClient, POLICY_WITH_THREE_ERRORS as POLICY, REPO } from './lsp-client';

const CLI = join(REPO, 'dist', 'cli.js');

let client: LspClient;
before(async () => {
  assert.ok(existsSync(CLI), `${CLI} missing: run npm run build first`);
  client = new LspClient([CLI, 'lsp', '--stdio']);
  await client.initialize();
});
after(() => client.close());


test('dist/cli.js lsp --stdio publishes diagnostics over JSON-RPC', async () => {
  const p = await client.open('file:///tmp/cli-lsp/policy.yaml', POLICY);
  const codes = p.diagnostics.filter((d) => d.severity === 1).map((d) => d.code).sort();
  // arity (KS1206), duplicate rule (KS1201), podSecurity level (KS1211)
  assert.deepEqual(codes, ['KS1201', 'KS1206', 'KS1211']);
});

test('dist/cli.js lsp answers completion requests', async () => {
  const text = 'apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: p\nspec:\n  \n';
  await client.open('file:///tmp/cli-lsp/complete.yaml', text);
  const items = await client.request<Array<{ label: string }>>('textDocument/completion', {
    textDocument: { uri: 'file:///tmp/cli-lsp/complete.yaml' },
    position: { line: 5, character: 2 },
  });
  assert.ok(items.some((i) => i.label === 'rules'), 'spec keys offered');
});

test('lsp without --stdio is a usage error, not a hang', () => {
  const r = spawnSync(process.execPath, [CLI, 'lsp'], { encoding: 'utf8', timeout: 20000 });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /missing --stdio/);
  assert.equal(r.stdout, '');
});
