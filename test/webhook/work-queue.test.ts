// The controllers' work queue (webhook/work-queue.ts), as client-go's rate-limited workqueue
// behaves under Kyverno's controllers: one pending copy of a key, never the same key twice at
// once, retries with backoff up to maxRetries, then the key is dropped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkQueue } from '../../webhook/work-queue';

test('a key queued several times while pending runs once; one added while it runs runs again after; workers bound the concurrency', async () => {
  const runs: string[] = [];
  let inFlight = 0;
  let most = 0;
  let release!: () => void;
  let gate = new Promise<void>((r) => (release = r));
  const queue = new WorkQueue({
    workers: 2,
    maxRetries: 10,
    onDropped: () => assert.fail('nothing fails'),
    process: async (key) => {
      runs.push(key);
      inFlight++;
      most = Math.max(most, inFlight);
      await gate;
      inFlight--;
    },
  });
  queue.start();
  for (const k of ['a', 'b', 'c', 'c', 'c']) queue.add(k);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(runs, ['a', 'b'], 'two workers; `c` waits, queued once');
  queue.add('a'); // while `a` runs
  const first = release;
  gate = new Promise<void>((r) => (release = r));
  first();
  await new Promise((r) => setImmediate(r));
  release();
  await queue.idle();
  assert.deepEqual([...runs].sort(), ['a', 'a', 'b', 'c']);
  assert.equal(most, 2);
});

test('a failing key is retried maxRetries times with a growing delay, then dropped once; a success forgets its failures', async () => {
  const times: number[] = [];
  const dropped: string[] = [];
  let failUntil = Infinity;
  const queue = new WorkQueue({
    workers: 1,
    maxRetries: 4,
    onDropped: (key, e) => dropped.push(`${key}: ${e.message}`),
    process: async () => {
      times.push(Date.now());
      if (times.length < failUntil) throw new Error('boom');
    },
  });
  queue.start();
  queue.add('k');
  await queue.idle();
  assert.equal(times.length, 5, 'the first run and 4 retries');
  assert.deepEqual(dropped, ['k: boom']);
  // 5, 10, 20, 40 ms between runs (the timers fire no earlier).
  const gaps = times.slice(1).map((t, i) => t - times[i]);
  gaps.forEach((g, i) => assert.ok(g >= 5 * 2 ** i - 1, `retry ${i + 1} waited ${g} ms`));

  // Added again later: retried afresh; once it succeeds nothing more runs.
  times.length = 0;
  failUntil = 2;
  queue.add('k');
  await queue.idle();
  assert.equal(times.length, 2);
  assert.equal(dropped.length, 1);
});

test('stop drops what is queued and waiting for a retry; add is ignored until start', async () => {
  const runs: string[] = [];
  const queue = new WorkQueue({ workers: 1, maxRetries: 10, onDropped: () => {}, process: async (k) => void runs.push(k) });
  queue.add('before-start');
  await queue.idle();
  assert.deepEqual(runs, []);
  queue.start();
  queue.add('x'); // starts at once (one worker)
  queue.add('y'); // waits behind it
  queue.stop();
  await queue.idle();
  assert.deepEqual(runs, ['x'], 'the waiting key was dropped');
});
