/** The HTTPS server under abuse: a review past its deadline, an overload queue, oversized bodies. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:https';
import { build } from 'esbuild';
import { makeCertificates } from '../../deploy/certs';
import { startWebhookServer, type WebhookServer } from '../../webhook/server';

const dir = mkdtempSync(join(tmpdir(), 'ks-webhook-server-'));
const certs = makeCertificates({ hosts: ['127.0.0.1'] });
let server: WebhookServer;
let port = 0;

const POLICY = {
  apiVersion: 'kyverno.io/v1',
  kind: 'ClusterPolicy',
  metadata: { name: 'images-need-tags' },
  spec: {
    validationFailureAction: 'Enforce',
    rules: [{ name: 'tags', match: { any: [{ resources: { kinds: ['Pod'] } }] }, validate: { message: 'tag images', pattern: { spec: { containers: [{ image: '*:*' }] } } } }],
  },
};

function review(containers: number): string {
  const list = Array.from({ length: containers }, (_, i) => ({ name: `c${i}`, image: `registry.example.com/app${i}:1.0` }));
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: { uid: 'u', operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'Pod' }, namespace: 'default', userInfo: {}, object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { containers: list } } },
  });
}

function call(path: string, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: body === undefined ? 'GET' : 'POST', ca: certs.ca.certPem, servername: '127.0.0.1' }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

before(async () => {
  writeFileSync(join(dir, 'tls.crt'), certs.serving.certPem);
  writeFileSync(join(dir, 'tls.key'), certs.serving.keyPem);
  const worker = join(dir, 'webhook.js');
  await build({ entryPoints: [join(__dirname, '../../webhook/main.ts')], outfile: worker, bundle: true, platform: 'node', format: 'cjs', logLevel: 'error' });
  server = await startWebhookServer({
    port: 0, host: '127.0.0.1', tlsCertFile: join(dir, 'tls.crt'), tlsKeyFile: join(dir, 'tls.key'), workerScript: worker, workers: 1, timeoutMs: 150, maxBodyBytes: 2_000_000,
  });
  server.setPolicies([POLICY], { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] });
  port = server.address().port;
});

after(() => server?.close());

test('a review past its deadline gets a 504, the stuck worker is replaced, and the server keeps serving', async () => {
  const slow = await call('/validate', review(15_000));
  assert.equal(slow.status, 504, slow.text.slice(0, 200));
  assert.match(slow.text, /exceeded 150 ms/);
  assert.equal((await call('/healthz')).status, 200);
  // The replacement worker boots first (the 150 ms deadline is tight for that on a busy
  // machine); it must be serving again within seconds.
  let ok = await call('/validate', review(1));
  for (let i = 0; i < 40 && ok.status === 504; i++) {
    await new Promise((r) => setTimeout(r, 250));
    ok = await call('/validate', review(1));
  }
  assert.equal(ok.status, 200);
  assert.equal(JSON.parse(ok.text).response.allowed, true);
});

test('an oversized body is refused with a clear message', async () => {
  const big = await call('/validate', 'x'.repeat(2_100_000));
  assert.equal(big.status, 400);
  assert.match(big.text, /larger than 2000000 bytes/);
  assert.equal((await call('/readyz')).status, 200);
});

test('the server certificate made by deploy/certs verifies against its CA', async () => {
  const r = await call('/healthz');
  assert.equal(r.text, 'ok');
});
