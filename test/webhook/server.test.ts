/**
 * The HTTPS server under abuse: a review stuck past its deadline, oversized bodies; and the
 * primary's bookkeeping across its server processes (connections spread, metrics summed).
 */
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

// Only Pods labelled stress=yes: per container it sorts and joins every image (quadratic work).
const SLOW_POLICY = {
  apiVersion: 'kyverno.io/v1',
  kind: 'ClusterPolicy',
  metadata: { name: 'slow' },
  spec: {
    validationFailureAction: 'Enforce',
    rules: [{
      name: 'per-container',
      match: { any: [{ resources: { kinds: ['Pod'], selector: { matchLabels: { stress: 'yes' } } } }] },
      validate: {
        foreach: [{
          list: 'request.object.spec.containers',
          deny: { conditions: { any: [{ key: "{{ request.object.spec.containers[].image | sort(@) | join(',', @) | length(@) }}", operator: 'LessThan', value: 0 }] } },
        }],
      },
    }],
  },
};

function review(containers: number, labels: Record<string, string> = {}): string {
  const list = Array.from({ length: containers }, (_, i) => ({ name: `c${i}`, image: `registry.example.com/app${i}:1.0` }));
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: { uid: 'u', operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, namespace: 'default', userInfo: {}, object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', labels }, spec: { containers: list } } },
  });
}

function call(path: string, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    // A fresh connection per call: the primary hands each to the next server process.
    const req = request({ host: '127.0.0.1', port, path, method: body === undefined ? 'GET' : 'POST', ca: certs.ca.certPem, servername: '127.0.0.1', agent: false }, (res) => {
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
    port: 0, host: '127.0.0.1', tlsCertFile: join(dir, 'tls.crt'), tlsKeyFile: join(dir, 'tls.key'), workerScript: worker, workers: 2, timeoutMs: 300, maxBodyBytes: 2_000_000,
  });
  server.setPolicies([POLICY, SLOW_POLICY], { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] });
  port = server.address().port;
});

after(() => server?.close());

test('a review stuck past its deadline: its process is replaced, its connection drops, the others keep serving', async () => {
  // Seconds of work inside one rule: no check between policies can stop it, the watchdog must.
  const started = Date.now();
  const stuck = call('/validate', review(5_000, { stress: 'yes' })).then(
    (r) => `answered ${r.status}`,
    (e: Error) => `dropped: ${e.message}`,
  );
  // Once the stuck process misses its heartbeats, new connections go to the other one (a probe
  // that still lands on the stuck one fails and is retried, as the kubelet retries).
  await new Promise((r) => setTimeout(r, 500));
  let health = await call('/healthz').catch(() => ({ status: 0, text: '' }));
  for (let i = 0; i < 5 && health.status !== 200; i++) health = await call('/healthz').catch(() => ({ status: 0, text: '' }));
  assert.equal(health.status, 200);
  const outcome = await stuck;
  assert.match(outcome, /dropped: (socket hang up|read ECONNRESET)|answered 504/);
  assert.ok(Date.now() - started < 20_000, `the stuck review ended after ${Date.now() - started} ms`);
  let ok = await call('/validate', review(1)).catch(() => ({ status: 0, text: '' }));
  for (let i = 0; i < 40 && ok.status !== 200; i++) {
    await new Promise((r) => setTimeout(r, 250));
    ok = await call('/validate', review(1)).catch(() => ({ status: 0, text: '' }));
  }
  assert.equal(ok.status, 200);
  assert.equal(JSON.parse(ok.text).response.allowed, true);
});

test('reviews spread over the processes are all counted in /metrics', async () => {
  const before = requestsCounted((await call('/metrics')).text);
  for (let i = 0; i < 6; i++) assert.equal((await call('/validate', review(1))).status, 200);
  const after = requestsCounted((await call('/metrics')).text);
  assert.equal(after - before, 6);
});

function requestsCounted(metrics: string): number {
  return metrics
    .split('\n')
    .filter((l) => l.startsWith('kyverno_studio_webhook_responses_total{path="validate",code="200"'))
    .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

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
