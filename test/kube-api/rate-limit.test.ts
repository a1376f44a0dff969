// serve's --client-rate-limit-qps/--client-rate-limit-burst (Kyverno's --clientRateLimitQPS/Burst):
// client-go's token bucket in front of every request the API client sends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../../kube-api/client';

async function withApi(run: (client: KubeClient, seen: number[]) => Promise<void>): Promise<void> {
  const seen: number[] = [];
  const server = createServer((req, res) => {
    seen.push(Date.now());
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  try {
    await run(new KubeClient(config), seen);
  } finally {
    server.close();
  }
}

test('a burst goes at once, the requests after it one per 1/qps seconds', async () => {
  await withApi(async (client, seen) => {
    client.rateLimit(10, 3);
    const started = Date.now();
    await Promise.all([0, 1, 2, 3, 4].map((i) => client.request({ method: 'GET', path: `/api/${i}` })));
    assert.equal(seen.length, 5);
    // Two requests past the burst of three at 10 per second: at least ~200 ms after the start
    // (a loaded machine only makes it later, so only the lower bound is asserted).
    assert.ok(seen[4] - started >= 180, `the fifth request went after ${seen[4] - started} ms`);
    assert.ok(seen[3] - started >= 80, `the fourth after ${seen[3] - started} ms`);
  });
});
