/**
 * Keeping server processes alive. The watchdog with a single server process: a connection handed to a process that is stuck
 * in one step no budget reaches (past the deadline and the grace) must fail as soon as the process is replaced (not hang), and the replacement
 * takes new connections.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:https';
import { build } from 'esbuild';
import { makeCertificates } from '../../tls/certificates';
import { startWebhookServer, type WebhookServer } from '../../webhook/server';

const dir = mkdtempSync(join(tmpdir(), 'ks-watchdog-'));
const certs = makeCertificates({ hosts: ['127.0.0.1'] });
writeFileSync(join(dir, 'tls.crt'), certs.serving.certPem);
writeFileSync(join(dir, 'tls.key'), certs.serving.keyPem);
let server: WebhookServer | undefined;

after(() => server?.close());

function call(port: number, path: string, body?: string): Promise<string> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, method: body === undefined ? 'GET' : 'POST', ca: certs.ca.certPem, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(`answered ${res.statusCode}`));
    });
    req.on('error', (e) => resolve(`failed: ${e.message}`));
    req.end(body);
  });
}

// A review stuck in one step no budget reaches (the budgets look at the deadline between steps):
// the server process's JSON.parse of a review carrying the marker spins for 8 s, far past the
// 300 ms deadline and the 2 s grace whatever the machine's speed (a huge document once stood in
// for it, and a fast machine parsed it within the grace). Only the watchdog ends it.
const STUCK_MARKER = 'stuck-for-the-watchdog';
const STUCK_ENTRY = (bundle: string) => `
const parse = JSON.parse;
JSON.parse = function (text, reviver) {
  if (typeof text === 'string' && text.includes(${JSON.stringify(STUCK_MARKER)})) { const end = Date.now() + 8000; while (Date.now() < end); }
  return parse.call(this, text, reviver);
};
require(${JSON.stringify(bundle)});
`;
const SLOW = {
  apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'slow' },
  spec: { rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['Pod'] } }] }, validate: {
    deny: { conditions: { any: [{ key: '{{ request.object.metadata.name }}', operator: 'Equals', value: 'never' }] } },
  } }] },
};

test('one process: a connection queued behind a stuck review fails promptly, and the replacement serves', async () => {
  const bundle = join(dir, 'webhook.js');
  await build({ entryPoints: [join(__dirname, '../../webhook/main.ts')], outfile: bundle, bundle: true, platform: 'node', format: 'cjs', logLevel: 'error' });
  const entry = join(dir, 'stuck-entry.js');
  writeFileSync(entry, STUCK_ENTRY(bundle));
  const lines: string[] = [];
  server = await startWebhookServer({ port: 0, host: '127.0.0.1', tlsCertFile: join(dir, 'tls.crt'), tlsKeyFile: join(dir, 'tls.key'), workerScript: entry, workers: 1, timeoutMs: 300, maxBodyBytes: 16 * 1024 * 1024, log: (l) => lines.push(l) });
  server.setPolicies([SLOW], { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] });
  const port = server.address().port;
  // Wait until the process serves.
  for (let i = 0; i < 100 && (await call(port, '/readyz')) !== 'answered 200'; i++) await new Promise((r) => setTimeout(r, 100));
  const body = JSON.stringify({
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: { uid: 'u', operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, namespace: 'd', userInfo: {}, object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'd', annotations: { note: STUCK_MARKER } }, spec: { containers: [] } } },
  });
  const started = Date.now();
  const stuck = call(port, '/validate', body);
  await new Promise((r) => setTimeout(r, 50));
  const queued = call(port, '/healthz');
  assert.match(await stuck, /^failed: (socket hang up|read ECONNRESET)$/);
  assert.match(await queued, /^failed: (socket hang up|read ECONNRESET)$|^answered 200$/);
  assert.ok(Date.now() - started < 15_000, `both ended after ${Date.now() - started} ms`);
  assert.equal(await call(port, '/healthz'), 'answered 200');
  assert.ok(lines.some((l) => /ran past its 300 ms deadline; server process \d+ restarted/.test(l)), lines.join('\n'));
});

test('a bundle that cannot start is retried with a growing delay, not in a tight loop', async () => {
  const broken = join(dir, 'broken.js');
  writeFileSync(broken, 'process.exit(3);\n');
  const lines: string[] = [];
  const failing = await startWebhookServer({ port: 0, host: '127.0.0.1', tlsCertFile: join(dir, 'tls.crt'), tlsKeyFile: join(dir, 'tls.key'), workerScript: broken, workers: 1, log: (l) => lines.push(l) });
  try {
    await new Promise((r) => setTimeout(r, 2500));
    const exits = lines.filter((l) => /server process exited/.test(l)).length;
    // 0.25 + 0.5 + 1 s of back-off fit in 2.5 s: about four starts, never dozens.
    assert.ok(exits >= 2 && exits <= 6, `${exits} starts in 2.5 s:\n${lines.join('\n')}`);
    assert.ok(lines.some((l) => /failed to start \d+ time\(s\) in a row; next try in \d+ ms/.test(l)));
    const reply = await failing.evaluate('validate', '{}');
    assert.ok(reply.status === 503 || reply.status === 500 || reply.status === 504, String(reply.status));
  } finally {
    await failing.close();
  }
});

test('an unusable certificate is refused at start, naming the file, before any process is forked', async () => {
  await assert.rejects(
    startWebhookServer({ port: 0, host: '127.0.0.1', tlsCertFile: join(dir, 'missing.crt'), tlsKeyFile: join(dir, 'tls.key'), workerScript: join(dir, 'unused.js') }),
    /cannot use the TLS certificate .*missing\.crt .*ENOENT/,
  );
  await assert.rejects(
    startWebhookServer({ port: 0, host: '127.0.0.1', tlsCertFile: join(dir, 'tls.key'), tlsKeyFile: join(dir, 'tls.key'), workerScript: join(dir, 'unused.js') }),
    /cannot use the TLS certificate .*tls\.key/,
  );
});
