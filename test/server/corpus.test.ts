import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { LspClient } from './lsp-client';
import { policyFiles } from '../../server/tools/corpus-check';

const CORPUS = '/work/shared/conformance/kyverno-policies';

let client: LspClient;
before(async () => {
  client = new LspClient();
  await client.initialize();
});
after(() => client.close());

test('every corpus policy Kyverno accepts opens with zero error-level diagnostics', async () => {
  const files = policyFiles(CORPUS);
  assert.ok(files.length > 400, `corpus found (${files.length} policy files)`);
  const falseErrors: string[] = [];
  for (const f of files) {
    const uri = pathToFileURL(f).toString();
    const p = await client.open(uri, readFileSync(f, 'utf8'));
    for (const d of p.diagnostics) {
      if (d.severity === 1) falseErrors.push(`${f}:${d.range.start.line + 1} ${d.code} ${d.message}`);
    }
    await client.conn.sendNotification('textDocument/didClose', { textDocument: { uri } });
  }
  assert.deepEqual(falseErrors, []);
});
