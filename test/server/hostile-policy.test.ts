/**
 * Issue 13's first row in the language server: a ValidatingPolicy whose variables double a
 * list 25 times once killed the server (V8 fatal error) as soon as a Pod manifest was open.
 * The manifest now gets a diagnostic naming the CEL cost budget, and the server keeps answering.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LspClient } from './lsp-client';

function doublingPolicy(count: number): string {
  const variables = ['  - name: v0', '    expression: "[1, 2, 3, 4]"'];
  for (let i = 1; i <= count; i++) variables.push(`  - name: v${i}`, `    expression: "variables.v${i - 1} + variables.v${i - 1}"`);
  return [
    'apiVersion: policies.kyverno.io/v1', 'kind: ValidatingPolicy', 'metadata:', '  name: doubling', 'spec:',
    '  matchConstraints:', '    resourceRules:', '    - apiGroups: [""]', '      apiVersions: [v1]', '      operations: [CREATE]', '      resources: [pods]',
    '  variables:', ...variables, '  validations:', `  - expression: "size(variables.v${count}) > 0"`, '',
  ].join('\n');
}

const POD = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: c\n    image: nginx:1.27\n';

let dir: string;
let client: LspClient;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ks-ws-hostile-'));
  mkdirSync(join(dir, 'policies'));
  writeFileSync(join(dir, 'policies', 'doubling.yaml'), doublingPolicy(25));
  client = new LspClient();
  await client.initialize(dir, { policies: 'policies/**/*.yaml' });
});
after(async () => {
  await client.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a Pod manifest open beside a policy doubling a CEL list 25 times: a cost-budget diagnostic, and the server lives on', async () => {
  const uri = pathToFileURL(join(dir, 'pod.yaml')).toString();
  let p = await client.open(uri, POD);
  // The workspace scan may land after didOpen: wait for the evaluation that includes the policy.
  for (let i = 0; i < 5 && !p.diagnostics.some((d) => /doubling/.test(d.message)); i++) p = await client.nextDiagnostics(uri);
  const d = p.diagnostics.find((x) => /doubling/.test(x.message));
  assert.ok(d, JSON.stringify(p.diagnostics));
  assert.match(d.message, /actual cost limit exceeded/);
  // Still serving: an edit is evaluated again.
  const again = await client.change(uri, POD.replace('web', 'web2'));
  assert.ok(again.diagnostics.some((x) => /actual cost limit exceeded/.test(x.message)));
});
