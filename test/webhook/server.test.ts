/**
 * The HTTPS server under abuse: a review stuck past its deadline, oversized bodies; and the
 * primary's bookkeeping across its server processes (connections spread, metrics summed).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { HOSTILE_POLICY, TAG_POLICY } from './hostile-workload';
import { startTestWebhook, type TestWebhook } from './harness';

let webhook: TestWebhook;
const call = (path: string, body?: string) => webhook.call(path, body);

function review(containers: number, labels: Record<string, string> = {}): string {
  const list = Array.from({ length: containers }, (_, i) => ({ name: `c${i}`, image: `registry.example.com/app${i}:1.0` }));
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: { uid: 'u', operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, namespace: 'default', userInfo: {}, object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', labels }, spec: { containers: list } } },
  });
}

before(async () => {
  webhook = await startTestWebhook('server', { workers: 2, timeoutMs: 300, maxBodyBytes: 2_000_000 }, [TAG_POLICY, HOSTILE_POLICY]);
});

after(() => webhook?.server.close());

test('a review stuck in a policy past its deadline answers 504 at the deadline; its process and the others keep serving', async () => {
  // Seconds of work inside one rule: the engine's budgets look at the deadline as they charge.
  const started = Date.now();
  const stuck = call('/validate', review(5_000, { stress: 'yes' })).then(
    (r) => `answered ${r.status}`,
    (e: Error) => `dropped: ${e.message}`,
  );
  const health = await call('/healthz');
  assert.equal(health.status, 200);
  assert.equal(await stuck, 'answered 504');
  assert.ok(Date.now() - started < 5_000, `the stuck review ended after ${Date.now() - started} ms`);
  for (let i = 0; i < 4; i++) {
    const ok = await call('/validate', review(1));
    assert.equal(ok.status, 200);
    assert.equal(JSON.parse(ok.text).response.allowed, true);
  }
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

/** POSTs `pieces` one write at a time, a pause between them (so they arrive as separate chunks). */
function postInPieces(path: string, pieces: Buffer[]): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const length = pieces.reduce((n, p) => n + p.length, 0);
    const req = request({ host: '127.0.0.1', port: webhook.port, path, method: 'POST', ca: webhook.certs.ca.certPem, agent: false, headers: { 'content-length': length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    const next = (i: number) => {
      if (i === pieces.length) return void req.end();
      req.write(pieces[i]);
      setTimeout(() => next(i + 1), 20);
    };
    next(0);
  });
}

test('a body that arrives in pieces, split inside a multi-byte character, is read whole', async () => {
  const body = Buffer.from(review(1, { team: 'équipe-ü' }).replace('"uid":"u"', '"uid":"ü-split"'));
  // Inside the uid's first character: a piece decoded alone would garble the uid the answer echoes.
  const split = body.indexOf(Buffer.from('ü-split')) + 1;
  const r = await postInPieces('/validate', [body.subarray(0, 10), body.subarray(10, split), body.subarray(split)]);
  assert.equal(r.status, 200);
  const response = JSON.parse(r.text).response;
  assert.equal(response.uid, 'ü-split');
  assert.equal(response.allowed, true);
});

test('a client that goes away in the middle of its body costs nothing to the next reviews', async () => {
  await new Promise<void>((resolve) => {
    const req = request({ host: '127.0.0.1', port: webhook.port, path: '/validate', method: 'POST', ca: webhook.certs.ca.certPem, agent: false, headers: { 'content-length': 10_000 } });
    req.on('error', () => resolve());
    req.write('{"apiVersion":');
    setTimeout(() => {
      req.destroy();
      resolve();
    }, 50);
  });
  for (let i = 0; i < 4; i++) {
    const ok = await call('/validate', review(1));
    assert.equal(ok.status, 200);
    assert.equal(JSON.parse(ok.text).response.allowed, true);
  }
});

test('the server certificate made by deploy/certs verifies against its CA', async () => {
  const r = await call('/healthz');
  assert.equal(r.text, 'ok');
});
