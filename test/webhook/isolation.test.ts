/**
 * A hostile review does not cost the innocent ones: the engine's budgets look at the review's
 * deadline as they charge, so a review stuck in one policy ends with a 504 at its deadline and
 * its server process goes on with the reviews queued behind it (no process is replaced, no
 * connection dropped). Four hostile reviews at once leave the service answering. Reviews that
 * come in together are evaluated together (server-process.ts evaluateWaiting): each gets its
 * own answer, and its own deadline from the start of its evaluation.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:tls';
import { HOSTILE_POLICY, innocentReview, hostileReview, TAG_POLICY } from './hostile-workload';
import { startTestWebhook, type TestWebhook } from './harness';

let webhook: TestWebhook;
const log: string[] = [];
const TIMEOUT_MS = 1000;

before(async () => {
  webhook = await startTestWebhook('isolation', { workers: 2, timeoutMs: TIMEOUT_MS, log: (l) => log.push(l) }, [TAG_POLICY, HOSTILE_POLICY]);
});

after(() => webhook?.server.close());

const call = (path: string, body?: string) => webhook.call(path, body);

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

/**
 * Reviews written at once on one connection (HTTP/1.1 pipelining): the server process reads
 * them in the same round of I/O, so they wait and are evaluated together. The answers, in order.
 */
function pipelined(bodies: string[]): Promise<Array<{ status: number; text: string }>> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: webhook.port, ca: webhook.certs.ca.certPem, servername: '127.0.0.1' }, () => {
      socket.write(bodies.map((b) => `POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(b)}\r\n\r\n${b}`).join(''));
    });
    let data = Buffer.alloc(0);
    const answers: Array<{ status: number; text: string }> = [];
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      for (;;) {
        const end = data.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = data.subarray(0, end).toString();
        const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (data.length < end + 4 + length) return;
        answers.push({ status: Number(head.split(' ')[1]), text: data.subarray(end + 4, end + 4 + length).toString() });
        data = data.subarray(end + 4 + length);
        if (answers.length === bodies.length) {
          socket.end();
          resolve(answers);
          return;
        }
      }
    });
    socket.on('error', reject);
  });
}

test('reviews that come in together are answered each with its own answer, in order', async () => {
  const answers = await pipelined(Array.from({ length: 24 }, (_, i) => innocentReview(`p${i}`, i % 3 !== 0)));
  assert.equal(answers.length, 24);
  answers.forEach((a, i) => {
    assert.equal(a.status, 200, a.text);
    const response = JSON.parse(a.text).response;
    assert.equal(response.uid, `p${i}`);
    assert.equal(response.allowed, i % 3 !== 0, a.text);
  });
});

test('a hostile review and innocent ones that come in together: the innocent ones get their whole deadline after it', async () => {
  const answers = await pipelined([hostileReview('together'), ...Array.from({ length: 6 }, (_, i) => innocentReview(`t${i}`, i % 2 === 0))]);
  assert.equal(answers[0].status, 504, answers[0].text);
  answers.slice(1).forEach((a, i) => {
    assert.equal(a.status, 200, `innocent review ${i}: ${a.status} ${a.text}`);
    assert.equal(JSON.parse(a.text).response.allowed, i % 2 === 0, a.text);
  });
});
