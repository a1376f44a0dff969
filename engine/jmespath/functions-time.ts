/** Kyverno's time_* functions (pkg/engine/jmespath/time.go). */
import { formatDuration, parseDurationExact, DurationError, wrapInt64 } from '../units';
import { argTypeError, JmespathError } from './go-compat';
import { civil, formatRFC3339, GoTime, parseTime, RFC3339, subTimes, timeFromDate, truncateTime } from './go-time';

/** The clock; replaced per evaluation so results are reproducible (jmesSearch's `now` option). */
let clock: () => Date = () => new Date();

export function withClock<T>(now: Date | undefined, run: () => T): T {
  if (!now) return run();
  const saved = clock;
  clock = () => now;
  try {
    return run();
  } finally {
    clock = saved;
  }
}

function str(fn: string, args: unknown[], i: number): string {
  const v = args[i];
  if (typeof v !== 'string') throw argTypeError(fn, i + 1, 'string');
  return v;
}

function timeArg(fn: string, args: unknown[], i: number): GoTime {
  return parseTime(RFC3339, str(fn, args, i));
}

function durationArg(fn: string, args: unknown[], i: number): bigint {
  try {
    return parseDurationExact(str(fn, args, i));
  } catch (e) {
    if (e instanceof DurationError) throw new JmespathError(e.message);
    throw e;
  }
}

function now(): GoTime {
  return timeFromDate(clock());
}

export function timeSince(args: unknown[]): string {
  const layout = str('time_since', args, 0);
  const ts1 = str('time_since', args, 1);
  const ts2 = str('time_since', args, 2);
  const effective = layout !== '' ? layout : RFC3339;
  const t1 = parseTime(effective, ts1);
  const t2 = ts2 !== '' ? parseTime(effective, ts2) : now();
  return formatDuration(subTimes(t2, t1));
}

export function timeNow(): string {
  // Kyverno formats time.Now() in the process's local zone; the engine runs as UTC.
  return formatRFC3339(now());
}

export function timeNowUtc(): string {
  return formatRFC3339(now());
}

export function timeToCron(args: unknown[]): string {
  const c = civil(timeArg('time_to_cron', args, 0));
  return `${c.minute} ${c.hour} ${c.day} ${c.month} ${c.weekday}`;
}

export function timeAdd(args: unknown[]): string {
  // Kyverno reports time_add argument errors under the name time_to_cron (a quirk kept as is).
  const t = timeArg('time_to_cron', args, 0);
  const d = durationArg('time_to_cron', args, 1);
  return formatRFC3339({ unixNanos: t.unixNanos + d, offset: t.offset });
}

export function timeParse(args: unknown[]): string {
  const layout = str('time_parse', args, 0);
  const ts = str('time_parse', args, 1);
  if (/^[+-]?[0-9]+$/.test(layout)) {
    if (!/^[+-]?[0-9]+$/.test(ts)) {
      throw new JmespathError(`strconv.ParseInt: parsing ${JSON.stringify(ts)}: invalid syntax`);
    }
    const epoch = BigInt(ts);
    if (epoch !== wrapInt64(epoch)) {
      throw new JmespathError(`strconv.ParseInt: parsing ${JSON.stringify(ts)}: value out of range`);
    }
    return formatRFC3339({ unixNanos: epoch * 1_000_000_000n, offset: 0 });
  }
  return formatRFC3339(parseTime(layout, ts));
}

export function timeUtc(args: unknown[]): string {
  const t = timeArg('time_utc', args, 0);
  return formatRFC3339({ unixNanos: t.unixNanos, offset: 0 });
}

export function timeDiff(args: unknown[]): string {
  const t1 = timeArg('time_diff', args, 0);
  const t2 = timeArg('time_diff', args, 1);
  return formatDuration(subTimes(t2, t1));
}

export function timeBefore(args: unknown[]): boolean {
  return timeArg('time_before', args, 0).unixNanos < timeArg('time_before', args, 1).unixNanos;
}

export function timeAfter(args: unknown[]): boolean {
  return timeArg('time_after', args, 0).unixNanos > timeArg('time_after', args, 1).unixNanos;
}

export function timeBetween(args: unknown[]): boolean {
  const t = timeArg('time_between', args, 0).unixNanos;
  const start = timeArg('time_between', args, 1).unixNanos;
  const end = timeArg('time_between', args, 2).unixNanos;
  return t > start && t < end;
}

export function timeTruncate(args: unknown[]): string {
  const t = timeArg('time_truncate', args, 0);
  const d = durationArg('time_truncate', args, 1);
  return formatRFC3339(truncateTime(t, d));
}
