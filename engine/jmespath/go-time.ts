/**
 * Go time.Parse / Time.Format(RFC3339) / Sub / Truncate, enough of the time package for
 * Kyverno's time_* functions. Times are exact: Unix nanoseconds plus a fixed UTC offset.
 */
import { JmespathError } from './go-compat';

export interface GoTime {
  unixNanos: bigint;
  /** seconds east of UTC, kept so Format(RFC3339) prints the offset the input had */
  offset: number;
}

export const RFC3339 = '2006-01-02T15:04:05Z07:00';
const NANOS = 1_000_000_000n;
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
/** Seconds from 0001-01-01 (Go's zero time) to the Unix epoch. */
const ZERO_TO_UNIX = 62135596800n;

function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(z: number): [number, number, number] {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp + (mp < 10 ? 3 : -9);
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
}

export interface Civil {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  nanosecond: number;
  weekday: number;
}

/** Calendar fields of t in its own offset (what Go's t.Hour(), t.Weekday()... return). */
export function civil(t: GoTime): Civil {
  const local = t.unixNanos + BigInt(t.offset) * NANOS;
  const secs = floorDiv(local, NANOS);
  const nanosecond = Number(local - secs * NANOS);
  const days = Number(floorDiv(secs, 86400n));
  const sod = Number(secs - BigInt(days) * 86400n);
  const [year, month, day] = civilFromDays(days);
  return {
    year,
    month,
    day,
    hour: Math.floor(sod / 3600),
    minute: Math.floor((sod % 3600) / 60),
    second: sod % 60,
    nanosecond,
    weekday: (((days + 4) % 7) + 7) % 7,
  };
}

const pad = (n: number, w = 2) => String(Math.abs(n)).padStart(w, '0');

/** Time.Format(time.RFC3339). */
export function formatRFC3339(t: GoTime): string {
  const c = civil(t);
  const year = c.year < 0 ? '-' + pad(c.year, 4) : pad(c.year, 4);
  let zone = 'Z';
  if (t.offset !== 0) {
    const abs = Math.abs(t.offset);
    zone = (t.offset < 0 ? '-' : '+') + pad(Math.floor(abs / 3600)) + ':' + pad(Math.floor((abs % 3600) / 60));
  }
  return `${year}-${pad(c.month)}-${pad(c.day)}T${pad(c.hour)}:${pad(c.minute)}:${pad(c.second)}${zone}`;
}

export function timeFromDate(d: Date): GoTime {
  return { unixNanos: BigInt(d.getTime()) * 1_000_000n, offset: 0 };
}

/** Time.Truncate(d): rounds down to a multiple of d since Go's zero time; d <= 0 leaves t unchanged. */
export function truncateTime(t: GoTime, d: bigint): GoTime {
  if (d <= 0n) return t;
  const sinceZero = t.unixNanos + ZERO_TO_UNIX * NANOS;
  const rem = ((sinceZero % d) + d) % d;
  return { unixNanos: t.unixNanos - rem, offset: t.offset };
}

/** Time.Sub, saturating at the int64 range like Go. */
export function subTimes(a: GoTime, b: GoTime): bigint {
  const d = a.unixNanos - b.unixNanos;
  const max = (1n << 63n) - 1n;
  if (d > max) return max;
  if (d < -max - 1n) return -max - 1n;
  return d;
}

class ParseFailure extends Error {}

const ZONE_PATTERNS: Record<string, RegExp> = {
  '07': /^([+-])([0-9]{2})/,
  '0700': /^([+-])([0-9]{2})([0-9]{2})/,
  '07:00': /^([+-])([0-9]{2}):([0-9]{2})/,
  '070000': /^([+-])([0-9]{2})([0-9]{2})([0-9]{2})/,
  '07:00:00': /^([+-])([0-9]{2}):([0-9]{2}):([0-9]{2})/,
};

function quote(s: string): string {
  return JSON.stringify(s);
}

/** Layout elements in the order Go's nextStdChunk tries them at each position. */
const STD_ELEMENTS = [
  'January', 'Jan', 'Monday', 'Mon', 'MST',
  '2006', '2', '_2', '002', '01', '02', '03', '04', '05', '06', '1', '15', '3', '4', '5',
  'PM', 'pm',
  '-07:00:00', '-0700', '-07:00', '-070000', '-07',
  'Z07:00:00', 'Z0700', 'Z07:00', 'Z070000', 'Z07',
];

interface Chunk {
  literal?: string;
  std?: string;
}

/** Splits a Go layout into literal text and std elements (a simplified nextStdChunk). */
function chunkLayout(layout: string): Chunk[] {
  const chunks: Chunk[] = [];
  let lit = '';
  let i = 0;
  const push = (std: string) => {
    if (lit) chunks.push({ literal: lit });
    lit = '';
    chunks.push({ std });
  };
  while (i < layout.length) {
    const rest = layout.slice(i);
    // fractional seconds: ".000", ",999" after a seconds element
    const frac = /^[.,](0+|9+)(?![0-9])/.exec(rest);
    if (frac) {
      push(frac[0]);
      i += frac[0].length;
      continue;
    }
    let matched: string | undefined;
    if (rest.startsWith('Monday')) matched = 'Monday';
    else if (rest.startsWith('Mon') && !/^Mon[a-z]/.test(rest)) matched = 'Mon';
    else if (rest.startsWith('MST')) matched = 'MST';
    else if (rest.startsWith('January')) matched = 'January';
    else if (rest.startsWith('Jan') && !/^Jan[a-z]/.test(rest)) matched = 'Jan';
    else if (rest.startsWith('2006')) matched = '2006';
    else if (rest.startsWith('002')) matched = '002';
    else if (/^0[1-6]/.test(rest)) matched = rest.slice(0, 2);
    else if (rest.startsWith('15')) matched = '15';
    else if (/^_2(?!006)/.test(rest)) matched = '_2';
    else if (/^[12345]/.test(rest)) matched = rest[0];
    else if (rest.startsWith('PM')) matched = 'PM';
    else if (rest.startsWith('pm')) matched = 'pm';
    else {
      for (const z of STD_ELEMENTS) {
        if ((z.startsWith('-') || z.startsWith('Z')) && rest.startsWith(z)) {
          if (!matched || z.length > matched.length) matched = z;
        }
      }
    }
    if (matched) {
      push(matched);
      i += matched.length;
    } else {
      lit += layout[i];
      i++;
    }
  }
  if (lit) chunks.push({ literal: lit });
  return chunks;
}

function takeDigits(value: string, min: number, max: number): [number, string] {
  let n = 0;
  while (n < max && n < value.length && value[n] >= '0' && value[n] <= '9') n++;
  if (n < min) throw new ParseFailure();
  return [Number(value.slice(0, n)), value.slice(n)];
}

function takeName(value: string, names: string[], short: boolean): [number, string] {
  for (let k = 0; k < names.length; k++) {
    const name = short ? names[k].slice(0, 3) : names[k];
    if (value.length >= name.length && value.slice(0, name.length).toLowerCase() === name.toLowerCase()) {
      return [k, value.slice(name.length)];
    }
  }
  throw new ParseFailure();
}

function daysIn(month: number, year: number): number {
  if (month === 2) return (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)) ? 29 : 28;
  return [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
}

/** time.Parse(layout, value). Errors carry Go's message text. */
export function parseTime(layout: string, value: string): GoTime {
  const orig = value;
  let year = 1, month = 1, day = 1, hour = 0, minute = 0, second = 0, nanos = 0;
  let pmSet = false, amSet = false, yday = -1;
  let offset: number | null = null;
  for (const chunk of chunkLayout(layout)) {
    if (chunk.literal !== undefined) {
      if (!value.startsWith(chunk.literal)) {
        throw new JmespathError(`parsing time ${quote(orig)} as ${quote(layout)}: cannot parse ${quote(value)} as ${quote(chunk.literal)}`);
      }
      value = value.slice(chunk.literal.length);
      continue;
    }
    const std = chunk.std!;
    const before = value;
    try {
      switch (std) {
        case '2006': [year, value] = takeDigits(value, 4, 4); break;
        case '06': { let y; [y, value] = takeDigits(value, 2, 2); year = y >= 69 ? 1900 + y : 2000 + y; break; }
        case 'January': [month, value] = takeName(value, MONTHS, false); month++; break;
        case 'Jan': [month, value] = takeName(value, MONTHS, true); month++; break;
        case 'Monday': [, value] = takeName(value, DAYS, false); break;
        case 'Mon': [, value] = takeName(value, DAYS, true); break;
        case '01': case '1': [month, value] = takeDigits(value, std === '01' ? 2 : 1, 2); break;
        case '02': case '2': [day, value] = takeDigits(value, std === '02' ? 2 : 1, 2); break;
        case '_2': if (value[0] === ' ') value = value.slice(1); [day, value] = takeDigits(value, 1, 2); break;
        case '002': [yday, value] = takeDigits(value, 3, 3); break;
        case '15': [hour, value] = takeDigits(value, 1, 2); break;
        case '03': case '3': [hour, value] = takeDigits(value, std === '03' ? 2 : 1, 2); break;
        case '04': case '4': [minute, value] = takeDigits(value, std === '04' ? 2 : 1, 2); break;
        case '05': case '5': {
          [second, value] = takeDigits(value, std === '05' ? 2 : 1, 2);
          // Go accepts a fractional second even when the layout has none.
          const m = /^[.,]([0-9]+)/.exec(value);
          if (m) {
            nanos = Number(m[1].slice(0, 9).padEnd(9, '0'));
            value = value.slice(m[0].length);
          }
          break;
        }
        case 'PM': case 'pm': {
          const v = value.slice(0, 2).toUpperCase();
          if (v === 'PM') pmSet = true;
          else if (v === 'AM') amSet = true;
          else throw new ParseFailure();
          value = value.slice(2);
          break;
        }
        case 'MST': {
          if (value.startsWith('UTC')) { offset = 0; value = value.slice(3); break; }
          const m = /^[A-Z]{3,5}(?:[+-][0-9]{1,2})?/.exec(value);
          if (!m) throw new ParseFailure();
          // Unknown abbreviations get a fabricated zone with offset 0, as in Go.
          offset = 0;
          value = value.slice(m[0].length);
          break;
        }
        default: {
          if (std.startsWith('.') || std.startsWith(',')) {
            const n = std.length - 1;
            const m = /^[.,]([0-9]+)/.exec(value);
            if (std[1] === '0') {
              if (!m || m[1].length < n) throw new ParseFailure();
              nanos = Number(m[1].slice(0, n).padEnd(9, '0').slice(0, 9));
              value = value.slice(n + 1);
            } else if (m) {
              nanos = Number(m[1].slice(0, 9).padEnd(9, '0'));
              value = value.slice(m[0].length);
            }
            break;
          }
          // numeric zone offsets; a 'Z' form accepts a literal "Z" for UTC
          if (std.startsWith('Z') && value.startsWith('Z')) { offset = 0; value = value.slice(1); break; }
          const re = ZONE_PATTERNS[std.slice(1)];
          if (!re) throw new ParseFailure();
          const m = re.exec(value);
          if (!m) throw new ParseFailure();
          const h = Number(m[2]), mi = Number(m[3] ?? 0), s = Number(m[4] ?? 0);
          if (h > 24 || mi > 60 || s > 60) throw new ParseFailure();
          offset = (h * 3600 + mi * 60 + s) * (m[1] === '-' ? -1 : 1);
          value = value.slice(m[0].length);
        }
      }
    } catch (e) {
      if (!(e instanceof ParseFailure)) throw e;
      throw new JmespathError(`parsing time ${quote(orig)} as ${quote(layout)}: cannot parse ${quote(before)} as ${quote(std)}`);
    }
    if (std === '15' && hour > 23) throw new JmespathError(`parsing time ${quote(orig)}: hour out of range`);
    if ((std === '03' || std === '3') && hour > 12) throw new JmespathError(`parsing time ${quote(orig)}: hour out of range`);
    if ((std === '04' || std === '4') && minute > 59) throw new JmespathError(`parsing time ${quote(orig)}: minute out of range`);
    if ((std === '05' || std === '5') && second > 59) throw new JmespathError(`parsing time ${quote(orig)}: second out of range`);
    if ((std === '01' || std === '1') && (month < 1 || month > 12)) throw new JmespathError(`parsing time ${quote(orig)}: month out of range`);
  }
  if (value.length > 0) {
    throw new JmespathError(`parsing time ${quote(orig)}: extra text: ${quote(value)}`);
  }
  if (pmSet && hour < 12) hour += 12;
  else if (amSet && hour === 12) hour = 0;
  if (yday >= 0) {
    let m = 1;
    let d = yday;
    while (m <= 12 && d > daysIn(m, year)) d -= daysIn(m++, year);
    if (m > 12 || d < 1) throw new JmespathError(`parsing time ${quote(orig)}: day-of-year out of range`);
    month = m;
    day = d;
  }
  if (day < 1 || day > daysIn(month, year)) throw new JmespathError(`parsing time ${quote(orig)}: day out of range`);
  const days = daysFromCivil(year, month, day);
  const local = BigInt(days) * 86400n + BigInt(hour * 3600 + minute * 60 + second);
  const off = offset ?? 0;
  return { unixNanos: (local - BigInt(off)) * NANOS + BigInt(nanos), offset: off };
}
