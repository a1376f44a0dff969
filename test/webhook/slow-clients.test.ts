/**
 * Slow and idle clients against the server processes (loopback only, short bounds): trickled
 * headers, idle TLS connections and silent TCP connections are closed at their timeouts even
 * though the processes never listen themselves; a process closes connections past its cap.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { connect as tcpConnect, type Socket } from 'node:net';
import { reviewDeadlinesMs } from '../../webhook/rules';
import { startTestWebhook, type TestWebhook } from './harness';

let webhook: TestWebhook;
let port = 0;
let certs: TestWebhook['certs'];

const HEADERS_MS = 600;
const IDLE_MS = 800;
const CAP = 4;

before(async () => {
  webhook = await startTestWebhook('slow', {
    workers: 2, timeoutMs: 2000, headersTimeoutMs: HEADERS_MS, requestTimeoutMs: 1500, idleTimeoutMs: IDLE_MS, maxConnectionsPerProcess: CAP,
  }, []);
  ({ port, certs } = webhook);
});

after(() => webhook?.server.close());

function tls(): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ca: certs.ca.certPem, servername: '127.0.0.1' }, () => resolve(s));
    s.on('error', reject);
  });
}

/** Milliseconds until the server closes the socket (or `limit`, then the test fails). */
function closedAfter(socket: Socket, limit: number): Promise<number> {
  const started = Date.now();
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(Infinity), limit);
    socket.on('error', () => undefined);
    // Read whatever comes: a paused socket would never see the server's end.
    socket.resume();
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - started);
    });
  });
}

test('trickled headers are cut at the headers timeout', async () => {
  const s = await tls();
  s.write('POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\n');
  const trickle = setInterval(() => s.writable && s.write('X'), 100);
  const ms = await closedAfter(s, 10_000);
  clearInterval(trickle);
  assert.ok(ms < HEADERS_MS * 4 + 1000, `closed after ${ms} ms`);
});

test('an idle TLS connection and a silent TCP connection are closed', async () => {
  const idle = await tls();
  const raw = await new Promise<Socket>((resolve) => {
    const s = tcpConnect(port, '127.0.0.1', () => resolve(s));
  });
  const [idleMs, rawMs] = await Promise.all([closedAfter(idle, 10_000), closedAfter(raw, 10_000)]);
  assert.ok(idleMs < IDLE_MS * 3 + 1000, `idle TLS closed after ${idleMs} ms`);
  assert.ok(rawMs < HEADERS_MS * 3 + 1000, `silent TCP closed after ${rawMs} ms`);
});

test('connections past the per-process cap are closed at once; the server keeps answering', async () => {
  const sockets: Socket[] = [];
  const closes: Array<Promise<number>> = [];
  for (let i = 0; i < CAP * 2 + 4; i++) {
    const s = tcpConnect(port, '127.0.0.1');
    sockets.push(s);
    closes.push(closedAfter(s, 300));
  }
  const quick = (await Promise.all(closes)).filter((ms) => ms < 300).length;
  assert.ok(quick >= 4, `${quick} connections were refused past the cap`);
  for (const s of sockets) s.destroy();
  await new Promise((r) => setTimeout(r, 100));
  const s = await tls();
  s.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  const text = await new Promise<string>((resolve) => {
    let t = '';
    s.on('data', (c) => (t += c));
    s.on('close', () => resolve(t));
  });
  assert.match(text, /^HTTP\/1.1 200/);
});

test('the review deadline follows the webhook configurations\' timeoutSeconds, with margin', () => {
  const cp = (name: string, timeout?: number, validate = true) => ({
    apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name },
    spec: { ...(timeout ? { webhookTimeoutSeconds: timeout } : {}), rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['Pod'] } }] }, ...(validate ? { validate: { pattern: {} } } : { mutate: { patchStrategicMerge: {} } }) }] },
  });
  assert.deepEqual(reviewDeadlinesMs([cp('a')]), { validate: 8000 });
  // As in Kyverno, a policy's timeout raises its webhook's above the default (10 s), never lowers it.
  assert.deepEqual(reviewDeadlinesMs([cp('a', 3), cp('b', 20, false)]), { validate: 8000, mutate: 16000 });
  // One path serves every webhook of its kind: the smallest timeout wins (Fail and Ignore alike).
  const ignore = { ...cp('c', 15), spec: { ...cp('c', 15).spec, failurePolicy: 'Ignore' } };
  assert.deepEqual(reviewDeadlinesMs([cp('a', 30), ignore]), { validate: 12000 });
});
