/**
 * A hostile review does not cost the innocent ones: the engine's budgets look at the review's
 * deadline as they charge, so a review stuck in one policy ends with a 504 at its deadline and
 * its server process goes on with the reviews queued behind it (no process is replaced, no
 * connection dropped). Four hostile reviews at once leave the service answering.
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
import { HOSTILE_POLICY, innocentReview, hostileReview, TAG_POLICY } from './hostile-workload';

const dir = mkdtempSync(join(tmpdir(), 'ks-webhook-isolation-'));
const certs = makeCertificates({ hosts: ['127.0.0.1'] });
let server: WebhookServer;
let port = 0;
const log: string[] = [];
const TIMEOUT_MS = 1000;

before(async () => {
  writeFileSync(join(dir, 'tls.crt'), certs.serving.certPem);
  writeFileSync(join(dir, 'tls.key'), certs.serving.keyPem);
  const worker = join(dir, 'webhook.js');
  await build({ entryPoints: [join(__dirname, '../../webhook/main.ts')], outfile: worker, bundle: true, platform: 'node', format: 'cjs', logLevel: 'error' });
  server = await startWebhookServer({
    port: 0, host: '127.0.0.1', tlsCertFile: join(dir, 'tls.crt'), tlsKeyFile: join(dir, 'tls.key'), workerScript: worker, workers: 2, timeoutMs: TIMEOUT_MS,
    log: (l) => log.push(l),
  });
  server.setPolicies([TAG_POLICY, HOSTILE_POLICY], { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] });
  port = server.address().port;
  for (let i = 0; i < 100 && (await call('/readyz').catch(() => ({ status: 0 }))).status !== 200; i++) await new Promise((r) => setTimeout(r, 100));
});

after(() => server?.close());

function call(path: string, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    // A connection per call: the primary hands each to the next server process in turn.
    const req = request({ host: '127.0.0.1', port, path, method: body === undefined ? 'GET' : 'POST', ca: certs.ca.certPem, servername: '127.0.0.1', agent: false }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Innocent reviews (half of them denied) sent while `hostile` reviews run; all must be answered right. */
async function hostileWithInnocents(hostile: number, innocents: number): Promise<void> {
  const restartsBefore = log.filter((l) => /restarted/.test(l)).length;
  const started = Date.now();
  const bad = Array.from({ length: hostile }, () => call('/validate', hostileReview()));
  // The hostile reviews are inside their policy when the innocent ones arrive.
  await new Promise((r) => setTimeout(r, 100));
  const good = Array.from({ length: innocents }, (_, i) => call('/validate', innocentReview(`u${i}`, i % 2 === 0)).then((r) => ({ i, ...r })));
  for (const r of await Promise.all(good)) {
    assert.equal(r.status, 200, `innocent review ${r.i}: ${r.status} ${r.text}`);
    const response = JSON.parse(r.text).response;
    assert.equal(response.uid, `u${r.i}`);
    assert.equal(response.allowed, r.i % 2 === 0, `innocent review ${r.i}: ${r.text}`);
    if (!response.allowed) assert.match(response.status.message, /images-need-tags:\n {2}tags: 'validation error: tag images/);
  }
  for (const r of await Promise.all(bad)) {
    assert.equal(r.status, 504, r.text);
    assert.match(JSON.parse(r.text).message, /exceeded its deadline/);
  }
  // Each hostile review held its process until its deadline, not longer.
  assert.ok(Date.now() - started < (hostile / 2 + 1) * TIMEOUT_MS + 5000, `took ${Date.now() - started} ms`);
  assert.equal(log.filter((l) => /restarted/.test(l)).length, restartsBefore, log.join('\n'));
}

test('one hostile review and 16 concurrent innocent ones: every innocent review is answered correctly, no process is replaced', async () => {
  await hostileWithInnocents(1, 16);
});

test('four hostile reviews at once: the innocent ones are still answered and the service stays up', async () => {
  await hostileWithInnocents(4, 16);
  assert.equal((await call('/healthz')).status, 200);
  const after = await call('/validate', innocentReview('later', true));
  assert.equal(JSON.parse(after.text).response.allowed, true);
});
