/**
 * Hand-over: a closed webhook stops answering at once. The API server keeps pooled keep-alive
 * connections to the webhook; after close() none of them is answered by the old process any
 * more, and new connections are refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'node:https';
import { TAG_POLICY } from './hostile-workload';
import { startTestWebhook } from './harness';

test('close(): pooled keep-alive connections stop being answered and new ones are refused, within seconds', async () => {
  const webhook = await startTestWebhook('handover', { workers: 2 }, [TAG_POLICY]);
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  const get = () =>
    new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: webhook.port, path: '/healthz', ca: webhook.certs.ca.certPem, agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      // A pooled socket the server closed may end the request without an error event; and a
      // request nothing answers must fail here rather than leave the promise pending forever.
      req.on('close', () => reject(new Error('closed without a response')));
      req.setTimeout(5000, () => req.destroy(new Error('no answer within 5 s')));
      req.end();
    });
  // Warm the pool: several idle keep-alive connections, as the API server holds them.
  assert.deepEqual(await Promise.all([get(), get(), get(), get()]), [200, 200, 200, 200]);
  const started = Date.now();
  await webhook.server.close();
  const took = Date.now() - started;
  assert.ok(took < 5000, `close took ${took} ms (it must not wait for idle connections to time out)`);
  const after = await get().then((s) => `answered ${s}`, (e: NodeJS.ErrnoException) => `failed ${e.code ?? e.message}`);
  assert.match(after, /^failed /, 'nothing answers after close, not even on a pooled connection');
  agent.destroy();
});
