/**
 * Kyverno's metrics port (`--metricsPort`, 8000): plain HTTP serving only /metrics, apart from
 * the admission port. With it, the admission port stops answering /metrics, so the port the API
 * server reaches (and that is exposed to the cluster network for admission) carries no
 * monitoring data, and who may scrape is decided for this port alone (a ServiceMonitor, a
 * NetworkPolicy). Served by the primary, which sums the server processes' metrics.
 */
import { createServer, type Server } from 'node:http';

export interface MetricsListenerOptions {
  port: number;
  host?: string;
  metricsText: () => Promise<string>;
  log: (line: string) => void;
}

export interface MetricsListener {
  port: number;
  close(): Promise<void>;
}

export function startMetricsListener(opts: MetricsListenerOptions): Promise<MetricsListener> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics is served on this port\n');
      return;
    }
    opts.metricsText().then(
      (text) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(text),
      (e: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics unavailable: ${e.message}\n`),
    );
  });
  // A scraper needs one short request at a time: slow or idle clients are cut early.
  server.headersTimeout = 5_000;
  server.requestTimeout = 10_000;
  server.keepAliveTimeout = 30_000;
  server.maxConnections = 16;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => {
      server.removeAllListeners('error');
      server.on('error', (e) => opts.log(`metrics listener error: ${e.message}`));
      const address = server.address();
      resolve({
        port: typeof address === 'object' && address ? address.port : opts.port,
        close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
      });
    });
  });
}
