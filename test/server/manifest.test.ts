import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LspClient, positionOf } from './lsp-client';
import { ADD_ENV as MUTATE } from '../client/fixtures';

const POLICY = (action: string, label: string) => `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: require-label
spec:
  rules:
  - name: check-label
    match:
      any:
      - resources:
          kinds: [Pod]
    validate:
      failureAction: ${action}
      message: "label ${label} is required"
      pattern:
        metadata:
          labels:
            ${label}: "?*"
`;
const POD = `apiVersion: v1
kind: Pod
metadata:
  name: web  # keep me
  labels:
    team: a
spec:
  containers:
  - name: c
    image: nginx:1.27
`;

let dir: string;
let client: LspClient;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ks-ws-'));
  mkdirSync(join(dir, 'policies'));
  mkdirSync(join(dir, 'other'));
  writeFileSync(join(dir, 'policies', 'require.yaml'), POLICY('Enforce', 'app'));
  writeFileSync(join(dir, 'policies', 'mutate.yaml'), MUTATE);
  // Outside the configured glob: must not apply.
  writeFileSync(join(dir, 'other', 'ignored.yaml'), POLICY('Enforce', 'owner'));
  client = new LspClient();
  await client.initialize(dir, { policies: 'policies/**/*.yaml' });
});
after(async () => {
  await client.close();
  rmSync(dir, { recursive: true, force: true });
});

test('violations are published at the blamed field; Enforce is an Error; the glob selects policies', async () => {
  const uri = pathToFileURL(join(dir, 'pod.yaml')).toString();
  let p = await client.open(uri, POD);
  // The workspace scan may land after didOpen: wait for the evaluation that includes policies.
  for (let i = 0; i < 5 && !p.diagnostics.some((d) => d.code === 'KS2001'); i++) p = await client.nextDiagnostics(uri);
  const v = p.diagnostics.filter((d) => d.code === 'KS2001');
  assert.equal(v.length, 1);
  assert.equal(v[0].severity, 1);
  assert.match(v[0].message, /require-label\/check-label/);
  assert.deepEqual(v[0].range.start, positionOf(POD, 'labels:'));
  assert.ok(!p.diagnostics.some((d) => /owner/.test(d.message)), 'policy outside the glob ignored');
});

test('a mutation is an Information diagnostic whose code action applies the patch', async () => {
  const uri = pathToFileURL(join(dir, 'pod.yaml')).toString();
  const p = client.published.get(uri)!;
  const m = p.diagnostics.find((d) => d.code === 'KS2003');
  assert.ok(m, 'mutation diagnostic');
  assert.equal(m.severity, 3);
  const actions = await client.request<Array<{ title: string; edit: { changes: Record<string, Array<{ newText: string }>> } }>>('textDocument/codeAction', {
    textDocument: { uri },
    range: m.range,
    context: { diagnostics: [m] },
  });
  assert.equal(actions.length, 1);
  const text = actions[0].edit.changes[uri][0].newText;
  assert.match(text, /env: dev/);
  assert.match(text, /# keep me/);
  assert.match(text, /team: a/);
});

test('editing a policy re-evaluates open manifests (Audit → Warning)', async () => {
  const podUri = pathToFileURL(join(dir, 'pod.yaml')).toString();
  const policyUri = pathToFileURL(join(dir, 'policies', 'require.yaml')).toString();
  await client.open(policyUri, POLICY('Enforce', 'app'));
  const wait = client.nextDiagnostics(podUri);
  await client.conn.sendNotification('textDocument/didChange', { textDocument: { uri: policyUri, version: 2 }, contentChanges: [{ text: POLICY('Audit', 'tier') }] });
  const p = await wait;
  const v = p.diagnostics.filter((d) => d.code === 'KS2002');
  assert.equal(v.length, 1);
  assert.equal(v[0].severity, 2);
  assert.match(v[0].message, /tier/);
  assert.equal(p.diagnostics.filter((d) => d.code === 'KS2001').length, 0);
});
