/**
 * A webhook on loopback for the tests that need real HTTPS and server processes: certificates
 * made by deploy/certs, the server-process bundle built from source, and a `call` that opens
 * a fresh connection each time (so the primary hands it to the next server process).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:https';
import { build } from 'esbuild';
import { makeCertificates } from '../../tls/certificates';
import { startWebhookServer, type WebhookServer, type WebhookServerOptions } from '../../webhook/server';
import type { JsonObject } from '../../engine/core/types';

export interface TestWebhook {
  server: WebhookServer;
  port: number;
  certs: ReturnType<typeof makeCertificates>;
  call(path: string, body?: string): Promise<{ status: number; text: string }>;
}

type Bounds = Omit<WebhookServerOptions, 'port' | 'tlsCertFile' | 'tlsKeyFile' | 'workerScript'>;

export async function startTestWebhook(name: string, options: Bounds, policies: JsonObject[]): Promise<TestWebhook> {
  const dir = mkdtempSync(join(tmpdir(), `ks-webhook-${name}-`));
  const certs = makeCertificates({ hosts: ['127.0.0.1'] });
  writeFileSync(join(dir, 'tls.crt'), certs.serving.certPem);
  writeFileSync(join(dir, 'tls.key'), certs.serving.keyPem);
  const worker = join(dir, 'webhook.js');
  await build({ entryPoints: [join(__dirname, '../../webhook/main.ts')], outfile: worker, bundle: true, platform: 'node', format: 'cjs', logLevel: 'error' });
  const server = await startWebhookServer({ host: '127.0.0.1', ...options, port: 0, tlsCertFile: join(dir, 'tls.crt'), tlsKeyFile: join(dir, 'tls.key'), workerScript: worker });
  server.setPolicies(policies, { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] });
  const port = server.address().port;
  const call = (path: string, body?: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, method: body === undefined ? 'GET' : 'POST', ca: certs.ca.certPem, agent: false }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.end(body);
    });
  // Until a server process has the policies.
  for (let i = 0; i < 100 && (await call('/readyz').catch(() => ({ status: 0 }))).status !== 200; i++) await new Promise((r) => setTimeout(r, 100));
  return { server, port, certs, call };
}
