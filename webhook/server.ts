/**
 * The admission webhook over HTTPS: /validate and /mutate take AdmissionReview v1; /healthz,
 * /readyz and /metrics serve the cluster's probes and Prometheus. The engine runs in a worker
 * pool so each review has a hard deadline and a slow policy cannot stall the server.
 */
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFileSync, watchFile, unwatchFile } from 'node:fs';
import type { ClusterState, JsonObject } from '../engine/core/types';
import { WebhookMetrics } from './metrics';
import { WorkerPool } from './pool';
import type { ReportableWithResource, ReviewReply } from './protocol';

export interface WebhookServerOptions {
  port: number;
  host?: string;
  tlsCertFile: string;
  tlsKeyFile: string;
  /** Path of the script that starts an evaluation worker (the bundle itself). */
  workerScript: string;
  workers?: number;
  timeoutMs?: number;
  maxBodyBytes?: number;
  /** Reviews waiting for a worker beyond this are answered 503 at once (memory stays bounded). */
  maxQueued?: number;
  /** Called with the validation results of every admitted (non dry-run) request, for policy reports. */
  onReportable?: (items: ReportableWithResource[]) => void;
  log?: (line: string) => void;
}

export interface WebhookServer {
  server: Server;
  metrics: WebhookMetrics;
  setPolicies(policies: JsonObject[], cluster: ClusterState): void;
  /** Evaluates a review in the pool without HTTP (background scans); `only` limits the policies. */
  evaluate(path: 'validate' | 'mutate', body: string, only?: string[]): Promise<ReviewReply>;
  close(): Promise<void>;
  address(): { port: number };
}

const DEFAULT_MAX_BODY = 3 * 1024 * 1024;

function send(res: ServerResponse, status: number, body: string, type = 'application/json'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) tooBig = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(tooBig ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function startWebhookServer(opts: WebhookServerOptions): Promise<WebhookServer> {
  const log = opts.log ?? (() => {});
  const metrics = new WebhookMetrics();
  const pool = new WorkerPool(opts.workerScript, opts.workers ?? 2, opts.timeoutMs ?? 8000);
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const maxQueued = opts.maxQueued ?? 2000;
  let ready = false;

  const tls = () => ({ cert: readFileSync(opts.tlsCertFile), key: readFileSync(opts.tlsKeyFile) });
  const server = createHttpsServer({ ...tls(), minVersion: 'TLSv1.2' }, (req, res) => {
    void handle(req, res).catch((e: Error) => {
      log(`request failed: ${e.message}`);
      if (!res.headersSent) send(res, 500, JSON.stringify({ message: 'internal error' }));
    });
  });

  // Slow or stalled clients must not hold sockets forever.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 65_000;

  // Certificates in a mounted Secret are swapped in place; polling survives the symlink dance.
  const reloadTls = () => {
    try {
      server.setSecureContext({ ...tls(), minVersion: 'TLSv1.2' });
      log('TLS certificate reloaded');
    } catch (e) {
      log(`TLS reload failed, keeping the previous certificate: ${(e as Error).message}`);
    }
  };
  watchFile(opts.tlsCertFile, { interval: 2000 }, reloadTls);
  watchFile(opts.tlsKeyFile, { interval: 2000 }, reloadTls);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && url === '/healthz') return send(res, 200, 'ok', 'text/plain');
    if (req.method === 'GET' && url === '/readyz') return send(res, ready ? 200 : 503, ready ? 'ready' : 'no policies loaded yet', 'text/plain');
    if (req.method === 'GET' && url === '/metrics') return send(res, 200, metrics.render(), 'text/plain; version=0.0.4');
    if (url !== '/validate' && url !== '/mutate') return send(res, 404, JSON.stringify({ message: `no route ${url}` }));
    if (req.method !== 'POST') return send(res, 405, JSON.stringify({ message: `${req.method} is not allowed; POST an AdmissionReview` }));
    const started = process.hrtime.bigint();
    const path = url === '/validate' ? 'validate' : 'mutate';
    const body = await readBody(req, maxBody);
    let reply: ReviewReply;
    if (body === null) {
      reply = { type: 'answer', id: 0, status: 400, body: JSON.stringify({ message: `body is larger than ${maxBody} bytes` }), outcomes: [], reportable: [] };
    } else {
      reply =
        pool.pending >= maxQueued
          ? { type: 'answer', id: 0, status: 503, body: JSON.stringify({ message: `overloaded: ${pool.pending} reviews queued` }), outcomes: [], reportable: [] }
          : await pool.review(path, body, undefined, opts.onReportable !== undefined);
    }
    send(res, reply.status, reply.body);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    metrics.recordRequest(path, reply.status, reply.allowed, seconds, reply.outcomes);
    if (reply.allowed && !reply.dryRun && reply.subject && reply.reportable.length && opts.onReportable) {
      const resource = reply.subject;
      opts.onReportable(reply.reportable.map((r) => ({ ...r, resource })));
    }
  }

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve({
        server,
        metrics,
        setPolicies(policies, cluster) {
          pool.setPolicies(policies, cluster);
          ready = true;
        },
        evaluate: (path, body, only) => pool.review(path, body, only),
        async close() {
          unwatchFile(opts.tlsCertFile);
          unwatchFile(opts.tlsKeyFile);
          await new Promise<void>((r) => server.close(() => r()));
          await pool.close();
        },
        address() {
          const a = server.address();
          return { port: typeof a === 'object' && a ? a.port : opts.port };
        },
      });
    });
  });
}
