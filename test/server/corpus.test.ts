// Every policy the conformance corpus's kyverno-test.yaml suites load is one Kyverno accepts
// (its own CLI runs those suites), so any error-level diagnostic on it is a false error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { LspClient } from './lsp-client';
import { DEFAULT_CORPUS, policyFiles } from '../../server/tools/corpus-check';
import { parseFile } from '../../server/src/service/documents';
import { schemaFor } from '../../server/src/service/schemas';

const present = existsSync(DEFAULT_CORPUS);
const skip = present ? false : `conformance corpus not found at ${DEFAULT_CORPUS} (../shared is absent)`;

let client: LspClient | undefined;
before(async () => {
  if (!present) return;
  client = new LspClient();
  await client.initialize();
});
after(() => client?.close());

test('every corpus policy Kyverno accepts opens with zero error-level diagnostics', { skip }, async () => {
  const files = policyFiles(DEFAULT_CORPUS);
  assert.ok(files.length > 400, `corpus found (${files.length} policy files)`);
  const unchecked: string[] = [];
  const falseErrors: string[] = [];
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    const uri = pathToFileURL(f).toString();
    // A file no schema applies to would pass without being checked at all.
    const parsed = parseFile(uri, text);
    const policies = parsed.docs.filter((pd) => schemaFor(pd.apiVersion, pd.kind, uri, pd.value));
    if (policies.length === 0) unchecked.push(f);
    const p = await client!.open(uri, text);
    for (const d of p.diagnostics) {
      if (d.severity === 1) falseErrors.push(`${f}:${d.range.start.line + 1} ${d.code} ${d.message}`);
    }
    await client!.conn.sendNotification('textDocument/didClose', { textDocument: { uri } });
  }
  assert.deepEqual(unchecked, [], 'every corpus file holds a document the server validates');
  assert.deepEqual(falseErrors, []);
});

test('the corpus check sees errors: a corpus policy with a broken rule gets them', { skip }, async () => {
  const f = policyFiles(DEFAULT_CORPUS).find((x) => /^kind: ClusterPolicy$/m.test(readFileSync(x, 'utf8')) && /^\s+- name: /m.test(readFileSync(x, 'utf8')));
  assert.ok(f, 'a ClusterPolicy in the corpus');
  const broken = readFileSync(f, 'utf8').replace(/^(\s+)- name: /m, '$1- nmae: x\n$1  name: ');
  const uri = pathToFileURL(f).toString() + '.broken.yaml';
  const p = await client!.open(uri, broken);
  assert.ok(p.diagnostics.some((d) => d.severity === 1 && d.code === 'KS1101'), 'unknown field reported');
});
