/**
 * `npm run test:webhook-stress`: the built webhook (dist/webhook.js, as `serve` runs it) on
 * loopback, with its default connection bounds, under
 *   1. slow clients: connections trickling their headers or their body, cut at the headers
 *      and request timeouts while the load runs;
 *   2. a steady load (default 60 s at 300 reviews/s, even pace, open loop): no errors, and
 *      the resident memory of all its processes flat from start to end;
 *   3. hostile reviews (four at once, twice) during a 10 s load: every innocent review is
 *      still answered, and answered right.
 * Bounded in count and time (about 90 s); figures go to stdout and bench/results/.
 * Flags (env): STRESS_SECONDS, STRESS_RATE.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Agent, request } from 'node:https';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { makeCertificates } from '../../tls/certificates';
import { HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS } from '../../webhook/server-process';
import { HOSTILE_POLICY, hostileReview, innocentReview, TAG_POLICY } from '../webhook/hostile-workload';

const root = resolve(__dirname, '../..');
const SECONDS = Number(process.env.STRESS_SECONDS ?? 60);
const RATE = Number(process.env.STRESS_RATE ?? 300);
const TIMEOUT_MS = 2000;
const TRICKLERS = 25;
const certs = makeCertificates({ hosts: ['127.0.0.1'] });
const dir = mkdtempSync(join(tmpdir(), 'ks-webhook-stress-'));
let server: ChildProcess;
let port = 0;
const figures: Record<string, unknown> = {};

before(async () => {
  writeFileSync(join(dir, 'tls.crt'), certs.serving.certPem);
  writeFileSync(join(dir, 'tls.key'), certs.serving.keyPem);
  mkdirSync(join(dir, 'policies'));
  writeFileSync(join(dir, 'policies', 'tags.yaml'), JSON.stringify(TAG_POLICY));
  writeFileSync(join(dir, 'policies', 'hostile.yaml'), JSON.stringify(HOSTILE_POLICY));
  server = spawn(process.execPath, [join(root, 'dist/webhook.js'), '--policy', join(dir, 'policies'), '--port', '0', '--host', '127.0.0.1',
    '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key'), '--workers', '2', '--timeout-ms', String(TIMEOUT_MS)], { stdio: ['ignore', 'ignore', 'pipe'] });
  port = await new Promise<number>((res, rej) => {
    let err = '';
    server.stderr!.on('data', (c) => {
      err += c;
      const m = /serving \d+ policies on https:\/\/[^:]+:(\d+)/.exec(err);
      if (m) res(Number(m[1]));
    });
    server.on('exit', (code) => rej(new Error(`webhook exited ${code}: ${err}`)));
  });
  for (let i = 0; i < 100 && (await once('/readyz')) !== 200; i++) await new Promise((r) => setTimeout(r, 100));
});

after(() => {
  server?.kill('SIGTERM');
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  const date = new Date().toISOString();
  const out = { date, machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, loadavgAtEnd: loadavg(), node: process.version }, seconds: SECONDS, rate: RATE, ...figures };
  writeFileSync(join(root, 'bench/results', `webhook-stress-${date.replace(/[:.]/g, '-')}.json`), JSON.stringify(out, null, 2) + '\n');
  console.log(JSON.stringify(out, null, 2));
});

function once(path: string): Promise<number> {
  return new Promise((res) => {
    const req = request({ host: '127.0.0.1', port, path, ca: certs.ca.certPem, agent: false }, (r) => {
      r.resume();
      r.on('end', () => res(r.statusCode ?? 0));
    });
    req.on('error', () => res(0));
    req.end();
  });
}

/** Resident memory of the webhook and its server processes, in MiB (Linux /proc). */
function treeRssMiB(pid: number): number {
  let kib = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const status = readFileSync(`/proc/${d}/status`, 'utf8');
      if (d === String(pid) || /PPid:\s+(\d+)/.exec(status)?.[1] === String(pid)) kib += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    } catch {
      // ended meanwhile
    }
  }
  return +(kib / 1024).toFixed(1);
}

interface Load { total: number; errors: string[]; p50Ms: number; p99Ms: number; maxMs: number }

/**
 * `rate` innocent reviews per second at an even pace over 16 keep-alive connections, open
 * loop (latency from when a review was due). Half are denied; each answer is checked.
 */
async function steadyLoad(seconds: number, rate: number, during?: (elapsedMs: number) => void): Promise<Load> {
  const agent = new Agent({ keepAlive: true, maxSockets: 16, ca: certs.ca.certPem });
  const latencies: number[] = [];
  const errors: string[] = [];
  const total = Math.round(rate * seconds);
  const start = performance.now() + 50;
  await new Promise<void>((done) => {
    let sent = 0;
    let answered = 0;
    const finish = (error?: string) => {
      if (error && errors.length < 20) errors.push(error);
      else if (error) errors.push('');
      if (++answered === total) done();
    };
    const tick = () => {
      const now = performance.now();
      during?.(now - start);
      while (sent < total && start + (sent * 1000) / rate <= now) {
        const due = start + (sent * 1000) / rate;
        const uid = `s${sent}`;
        const tagged = sent % 2 === 0;
        const body = innocentReview(uid, tagged);
        sent++;
        const req = request({ host: '127.0.0.1', port, path: '/validate', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => {
            latencies.push(performance.now() - due);
            try {
              const response = JSON.parse(text).response;
              if (res.statusCode !== 200 || response.uid !== uid || response.allowed !== tagged) return finish(`${uid}: ${res.statusCode} ${text.slice(0, 200)}`);
            } catch {
              return finish(`${uid}: ${res.statusCode} ${text.slice(0, 200)}`);
            }
            finish();
          });
        });
        req.on('error', (e) => finish(`${uid}: ${e.message}`));
        req.end(body);
      }
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => +latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))].toFixed(2);
  return { total, errors, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: +latencies[latencies.length - 1].toFixed(2) };
}

/** Opens a TLS connection and sends `first`, then one byte every `everyMs`; resolves with ms until the server closed it. */
async function trickle(first: string, everyMs: number, limitMs: number): Promise<number> {
  const socket = await new Promise<TLSSocket>((res, rej) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ca: certs.ca.certPem, servername: 'localhost', checkServerIdentity: () => undefined }, () => res(s));
    s.on('error', rej);
  });
  const started = Date.now();
  socket.write(first);
  const timer = setInterval(() => socket.writable && socket.write('x'), everyMs);
  return new Promise((res) => {
    const limit = setTimeout(() => {
      clearInterval(timer);
      socket.destroy();
      res(Infinity);
    }, limitMs);
    socket.on('error', () => undefined);
    socket.resume();
    socket.once('close', () => {
      clearInterval(timer);
      clearTimeout(limit);
      res(Date.now() - started);
    });
  });
}

test(`slow clients are cut at the timeouts while a ${SECONDS} s steady load of ${RATE} reviews/s has no errors and flat memory`, async () => {
  // Warm-up (JIT, heap growth) before the memory at start is taken.
  await steadyLoad(5, RATE);
  const rssStart = treeRssMiB(server.pid!);
  const samples: number[] = [];
  let nextSample = 0;
  const headers = Array.from({ length: TRICKLERS }, () => trickle('POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ', 500, HEADERS_TIMEOUT_MS + 10_000));
  const bodies = Array.from({ length: TRICKLERS }, () => trickle('POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{', 500, REQUEST_TIMEOUT_MS + 10_000));
  const load = await steadyLoad(SECONDS, RATE, (elapsed) => {
    if (elapsed >= nextSample) {
      samples.push(treeRssMiB(server.pid!));
      nextSample += 5000;
    }
  });
  const rssEnd = treeRssMiB(server.pid!);
  const headerMs = await Promise.all(headers);
  const bodyMs = await Promise.all(bodies);
  figures.steady = { ...load, errors: load.errors.length, firstErrors: load.errors.slice(0, 5), rssStartMiB: rssStart, rssEndMiB: rssEnd, rssEvery5sMiB: samples };
  figures.slowClients = { headersTimeoutMs: HEADERS_TIMEOUT_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS, trickledHeadersClosedAfterMaxMs: Math.max(...headerMs), trickledBodiesClosedAfterMaxMs: Math.max(...bodyMs) };
  assert.deepEqual(load.errors, [], 'errors under steady load');
  // Each bound plus Node's check interval (a quarter of the headers timeout, at most 1 s) and slack.
  for (const ms of headerMs) assert.ok(ms < HEADERS_TIMEOUT_MS + 3000, `a connection trickling headers closed after ${ms} ms`);
  for (const ms of bodyMs) assert.ok(ms < REQUEST_TIMEOUT_MS + 3000, `a connection trickling its body closed after ${ms} ms`);
  assert.ok(rssEnd <= rssStart * 1.25 + 32, `memory grew from ${rssStart} to ${rssEnd} MiB`);
});

test('hostile reviews, four at once twice, do not drop or spoil innocent reviews', async () => {
  const hostile: Array<Promise<number>> = [];
  let nextWave = 500;
  const post = (body: string) => new Promise<number>((res) => {
    const req = request({ host: '127.0.0.1', port, path: '/validate', method: 'POST', ca: certs.ca.certPem, agent: false, headers: { 'content-length': Buffer.byteLength(body) } }, (r) => {
      r.resume();
      r.on('end', () => res(r.statusCode ?? 0));
    });
    req.on('error', () => res(0));
    req.end(body);
  });
  const body = hostileReview();
  const load = await steadyLoad(10, Math.min(RATE, 100), (elapsed) => {
    // Each wave holds both server processes for two deadlines; the next comes once they are free.
    if (elapsed >= nextWave && nextWave < 9000) {
      for (let i = 0; i < 4; i++) hostile.push(post(body));
      nextWave += 5000;
    }
  });
  const statuses = await Promise.all(hostile);
  figures.hostile = { innocent: load.total, errors: load.errors.length, firstErrors: load.errors.slice(0, 5), p50Ms: load.p50Ms, p99Ms: load.p99Ms, maxMs: load.maxMs, hostileStatuses: statuses };
  assert.deepEqual(load.errors, [], 'innocent reviews failed or were answered wrong');
  // A hostile review ends at its deadline with a 504 (never a dropped connection).
  assert.deepEqual([...new Set(statuses)], [504]);
  assert.equal(await once('/healthz'), 200);
});
