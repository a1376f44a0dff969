/**
 * Go time.Duration: ParseDuration and Duration.String() with Go's exact rules.
 * Durations are int64 nanoseconds; BigInt keeps them exact past 2^53 (about 104 days).
 */

export class DurationError extends Error {}

const UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n, // U+00B5 micro sign
  'μs': 1_000n, // U+03BC Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

export const NANOS_PER_SECOND = 1_000_000_000n;
const MAX_INT64 = (1n << 63n) - 1n;
const MIN_INT64 = -(1n << 63n);
const LIMIT = 1n << 63n;
const MAX_DURATION_LENGTH = 1024;

function quote(s: string): string {
  return JSON.stringify(s);
}

function invalidDuration(orig: string): string {
  return `time: invalid duration ${quote(orig)}`;
}

/** time.ParseDuration; returns nanoseconds or throws DurationError with Go's message. */
export function parseDurationExact(orig: string): bigint {
  const d = scanDuration(orig);
  if (typeof d === 'string') throw new DurationError(d);
  return d;
}

/**
 * time.ParseDuration without exceptions: nanoseconds, or Go's error message. Patterns probe
 * most values for a duration, so a miss must stay cheap.
 */
export function scanDuration(orig: string): bigint | string {
  if (orig.length > MAX_DURATION_LENGTH) return invalidDuration(orig);
  let s = orig;
  let neg = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') return invalidDuration(orig);
  let d = 0n;
  while (s !== '') {
    if (!(s[0] === '.' || (s[0] >= '0' && s[0] <= '9'))) return invalidDuration(orig);
    let i = 0;
    let v = 0n;
    while (i < s.length && s[i] >= '0' && s[i] <= '9') {
      if (v > LIMIT / 10n) return invalidDuration(orig);
      v = v * 10n + BigInt(s.charCodeAt(i) - 48);
      if (v > LIMIT) return invalidDuration(orig);
      i++;
    }
    const pre = i > 0;
    s = s.slice(i);
    let post = false;
    let f = 0n;
    let scale = 1;
    if (s !== '' && s[0] === '.') {
      s = s.slice(1);
      let j = 0;
      let overflow = false;
      while (j < s.length && s[j] >= '0' && s[j] <= '9') {
        if (!overflow) {
          const y = f * 10n + BigInt(s.charCodeAt(j) - 48);
          if (f > MAX_INT64 / 10n || y > LIMIT) overflow = true;
          else {
            f = y;
            scale *= 10;
          }
        }
        j++;
      }
      post = j > 0;
      s = s.slice(j);
    }
    if (!pre && !post) return invalidDuration(orig);
    i = 0;
    while (i < s.length && !(s[i] === '.' || (s[i] >= '0' && s[i] <= '9'))) i++;
    if (i === 0) return `time: missing unit in duration ${quote(orig)}`;
    const u = s.slice(0, i);
    s = s.slice(i);
    const unit = UNITS[u];
    if (unit === undefined) return `time: unknown unit ${quote(u)} in duration ${quote(orig)}`;
    if (v > LIMIT / unit) return invalidDuration(orig);
    v *= unit;
    if (f > 0n) {
      // Go converts through float64 here ("nanosecond accurate for fractions of hours").
      v += BigInt(Math.trunc(Number(f) * (Number(unit) / scale)));
      if (v > LIMIT) return invalidDuration(orig);
    }
    d += v;
    if (d > LIMIT) return invalidDuration(orig);
  }
  if (neg) return -d;
  if (d > MAX_INT64) return invalidDuration(orig);
  return d;
}

/** Writes v/10^prec as ".frac" without trailing zeros (Go's fmtFrac). */
function fmtFrac(v: bigint, prec: number): [string, bigint] {
  let out = '';
  let print = false;
  for (let i = 0; i < prec; i++) {
    const digit = v % 10n;
    print = print || digit !== 0n;
    if (print) out = digit.toString() + out;
    v /= 10n;
  }
  return [print ? '.' + out : '', v];
}

/** Go's Duration.String(), e.g. "1h0m0s", "1.5s", "300ms", "0s". */
export function formatDuration(nanos: bigint | number): string {
  let d = typeof nanos === 'bigint' ? nanos : BigInt(Math.trunc(nanos));
  if (d > MAX_INT64 || d < MIN_INT64) d = BigInt.asIntN(64, d);
  const neg = d < 0n;
  let u = neg ? -d : d;
  let out: string;
  if (u < NANOS_PER_SECOND) {
    if (u === 0n) return '0s';
    let prec: number;
    let unit: string;
    if (u < 1_000n) {
      prec = 0;
      unit = 'ns';
    } else if (u < 1_000_000n) {
      prec = 3;
      unit = 'µs';
    } else {
      prec = 6;
      unit = 'ms';
    }
    const [frac, rest] = fmtFrac(u, prec);
    out = rest.toString() + frac + unit;
  } else {
    const [frac, secs] = fmtFrac(u, 9);
    u = secs;
    out = (u % 60n).toString() + frac + 's';
    u /= 60n;
    if (u > 0n) {
      out = (u % 60n).toString() + 'm' + out;
      u /= 60n;
      if (u > 0n) out = u.toString() + 'h' + out;
    }
  }
  return neg ? '-' + out : out;
}

/** Duration.Seconds() as Go computes it (integer seconds plus fractional nanos). */
export function durationSeconds(d: bigint): number {
  const sec = d / NANOS_PER_SECOND;
  const nsec = d % NANOS_PER_SECOND;
  return Number(sec) + Number(nsec) / 1e9;
}

/** Go's float64 -> Duration conversion: truncation toward zero, wrapped like amd64 on overflow. */
export function durationFromFloatNanos(f: number): bigint {
  if (!Number.isFinite(f) || f >= 2 ** 63 || f < -(2 ** 63)) return MIN_INT64;
  return BigInt(Math.trunc(f));
}

/** Go's int64 Duration arithmetic wraps on overflow. */
export function wrapInt64(v: bigint): bigint {
  return BigInt.asIntN(64, v);
}
