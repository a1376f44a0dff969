/**
 * Kyverno's metrics port: with `metricsElsewhere` the admission port answers /metrics with 404
 * and the primary's plain-HTTP listener (webhook/metrics-listener.ts) serves the summed metrics.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { get } from 'node:http';
import { startTestWebhook, type TestWebhook } from './harness';
import { startMetricsListener, type MetricsListener } from '../../webhook/metrics-listener';
import { innocentReview, TAG_POLICY } from './hostile-workload';
import { parseServeArgs } from '../../webhook/serve';

let webhook: TestWebhook;
let listener: MetricsListener;

before(async () => {
  webhook = await startTestWebhook('metrics-port', { metricsElsewhere: true }, [TAG_POLICY]);
  listener = await startMetricsListener({ port: 0, host: '127.0.0.1', metricsText: () => webhook.server.metricsText(), log: () => {} });
});

after(async () => {
  await listener?.close();
  await webhook?.server.close();
});

const plain = (path: string, method = 'GET') =>
  new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port: listener.port, path, method, agent: false }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
  });

test('the metrics port serves the reviews counted by every server process; the admission port does not', async () => {
  for (let i = 0; i < 4; i++) assert.equal((await webhook.call('/validate', innocentReview(`m${i}`, i % 2 === 0))).status, 200);
  const scraped = await plain('/metrics');
  assert.equal(scraped.status, 200);
  const total = [...scraped.text.matchAll(/^kyverno_admission_requests_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
  assert.equal(total, 4, scraped.text.split('\n').filter((l) => l.startsWith('kyverno_admission_requests_total')).join('\n'));
  const onAdmission = await webhook.call('/metrics');
  assert.equal(onAdmission.status, 404);
  assert.match(onAdmission.text, /served on the metrics port/);
  assert.equal((await plain('/validate')).status, 404);
  assert.equal((await plain('/metrics', 'POST')).status, 404);
});

test('serve --metrics-port takes a port number', () => {
  assert.equal(parseServeArgs(['--policy', 'p.yaml', '--tls-cert', 'c', '--tls-key', 'k', '--metrics-port', '8000']).metricsPort, 8000);
  assert.equal(parseServeArgs(['--policy', 'p.yaml', '--tls-cert', 'c', '--tls-key', 'k']).metricsPort, undefined);
  assert.throws(() => parseServeArgs(['--policy', 'p.yaml', '--tls-cert', 'c', '--tls-key', 'k', '--metrics-port', 'http']), /--metrics-port http: not a port number/);
});
