// Expected values from kyverno/kyverno pkg/engine/jmespath/time_test.go.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jmesSearch, JmespathError } from '../../engine/jmespath';

const run = (expr: string, now?: Date) => jmesSearch(expr, '', now ? { now } : undefined);

test('time_since / time_diff', () => {
  assert.equal(run("time_since('', '2021-01-02T15:04:05-07:00', '2021-01-10T03:14:05-07:00')"), '180h10m0s');
  assert.equal(
    run("time_since('Mon Jan _2 15:04:05 MST 2006', 'Mon Jan 02 15:04:05 MST 2021', 'Mon Jan 10 03:14:16 MST 2021')"),
    '180h10m11s',
  );
  assert.equal(run("time_diff('2021-01-02T15:04:05-07:00', '2021-01-10T03:14:05-07:00')"), '180h10m0s');
  // An empty end time means "now".
  assert.equal(run("time_since('', '2024-01-01T00:00:00Z', '')", new Date('2024-01-02T03:04:05Z')), '27h4m5s');
  assert.equal(run("time_diff('2024-01-01T00:00:00.5Z', '2024-01-01T00:00:01Z')"), '500ms');
});

test('time_now / time_now_utc follow the injected clock', () => {
  const now = new Date('2024-05-06T07:08:09.123Z');
  assert.equal(run('time_now_utc()', now), '2024-05-06T07:08:09Z');
  assert.equal(run('time_now()', now), '2024-05-06T07:08:09Z');
});

test('time_to_cron / time_utc / time_add / time_parse', () => {
  assert.equal(run("time_to_cron('2023-02-02T15:04:05Z')"), '4 15 2 2 4');
  assert.equal(run("time_to_cron(time_utc('2023-02-02T15:04:05-07:00'))"), '4 22 2 2 4');
  assert.equal(run("time_utc('2023-02-02T15:04:05-07:00')"), '2023-02-02T22:04:05Z');
  assert.equal(run("time_add('2021-01-02T15:04:05-07:00', '3h')"), '2021-01-02T18:04:05-07:00');
  assert.equal(
    run("time_add(time_parse('Mon Jan 02 15:04:05 MST 2006', 'Sat Jan 02 15:04:05 MST 2021'), '5h30m40s')"),
    '2021-01-02T20:34:45Z',
  );
  assert.equal(run("time_parse('2006-01-02T15:04:05Z07:00', '2021-01-02T15:04:05-07:00')"), '2021-01-02T15:04:05-07:00');
  assert.equal(run("time_parse('Mon Jan 02 15:04:05 MST 2006', 'Sat Jan 02 15:04:05 MST 2021')"), '2021-01-02T15:04:05Z');
  assert.equal(run("time_parse('1136239445', '1136239445')"), '2006-01-02T22:04:05Z');
  assert.equal(run("time_parse('2006-01-02 3:04PM', '2024-03-05 1:07PM')"), '2024-03-05T13:07:00Z');
});

test('time_before / time_after / time_between / time_truncate', () => {
  assert.equal(run("time_before('2021-01-02T15:04:05-07:00', '2021-01-02T16:04:05-07:00')"), true);
  assert.equal(run("time_before('2021-01-02T15:04:05-07:00', '2021-01-02T15:04:05-07:00')"), false);
  assert.equal(run("time_after('2021-01-02T16:04:05-07:00', '2021-01-02T15:04:05-07:00')"), true);
  assert.equal(run("time_between('2021-01-02T17:04:05-07:00', '2021-01-02T15:04:05-07:00', '2021-01-02T18:04:05-07:00')"), true);
  assert.equal(run("time_between('2021-01-02T15:04:05-07:00', '2021-01-02T15:04:05-07:00', '2021-01-02T18:04:05-07:00')"), false);
  assert.equal(run("time_truncate('2024-01-02T03:04:05+02:00', '1h')"), '2024-01-02T03:00:00+02:00');
  assert.equal(run("time_truncate('2024-01-02T03:04:05Z', '24h')"), '2024-01-02T00:00:00Z');
});

test('time functions reject bad input with Go messages', () => {
  assert.throws(
    () => run("time_utc('2021-01-02')"),
    (e: unknown) => e instanceof JmespathError && /parsing time "2021-01-02" as "2006-01-02T15:04:05Z07:00": cannot parse "" as "T"/.test((e as Error).message),
  );
  assert.throws(() => run("time_add('2021-01-02T15:04:05Z', '3x')"), /time: unknown unit "x" in duration "3x"/);
  assert.throws(() => run("time_utc('2021-13-02T15:04:05Z')"), /month out of range/);
  assert.throws(() => run('time_before(`1`, `2`)'), JmespathError);
});
