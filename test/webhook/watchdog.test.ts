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

// One parse_yaml of a mapping with 20,000 keys (about 200 KB, under the 2 MiB a parsed text may
// have): the YAML parser checks each key against the ones before it, so this single step takes
// tens of seconds, and no budget can interrupt it (the budgets look at the deadline between
// steps): only the watchdog ends it.
const SLOW = {
  apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'slow' },
  spec: { rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['Pod'] } }] }, validate: {
    deny: { conditions: { any: [{ key: "{{ length(parse_yaml(request.object.metadata.annotations.data)) }}", operator: 'LessThan', value: 0 }] } },
  } }] },
};

test('one process: a connection queued behind a stuck review fails promptly, and the replacement serves', async () => {
  const bundle = join(dir, 'webhook.js');
  await build({ entryPoints: [join(__dirname, '../../webhook/main.ts')], outfile: bundle, bundle: true, platform: 'node', format: 'cjs', logLevel: 'error' });
  const lines: string[] = [];
  server = await startWebhookServer({ port: 0, host: '127.0.0.1', tlsCertFile: join(dir, 'tls.crt'), tlsKeyFile: join(dir, 'tls.key'), workerScript: bundle, workers: 1, timeoutMs: 300, maxBodyBytes: 16 * 1024 * 1024, log: (l) => lines.push(l) });
  server.setPolicies([SLOW], { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] });
  const port = server.address().port;
  // Wait until the process serves.
  for (let i = 0; i < 100 && (await call(port, '/readyz')) !== 'answered 200'; i++) await new Promise((r) => setTimeout(r, 100));
  // Quadratic in the keys: 60,000 took minutes, so 20,000 stay well past the deadline plus the
  // 2 s grace however fast the machine.
  const data = Array.from({ length: 20_000 }, (_, i) => `k${i}: v`).join('\n');
  const body = JSON.stringify({
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: { uid: 'u', operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, namespace: 'd', userInfo: {}, object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'd', annotations: { data } }, spec: { containers: [] } } },
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
