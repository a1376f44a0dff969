/**
 * The two cron readers Kyverno's cleanup uses, which do not agree:
 *
 * - admission (`ValidateSchedule` in api/kyverno/v2) checks a ClusterCleanupPolicy/CleanupPolicy
 *   schedule with robfig/cron v3's `ParseStandard`: exactly five fields (or a descriptor such as
 *   `@daily`, `@every 1h30m`, optionally after `CRON_TZ=`/`TZ=`), numbers or names in range,
 *   day of week 0–6;
 * - the controllers compute run times with aptible/supercronic's `cronexpr` (a fork of
 *   gorhill/cronexpr), which is also how a DeletingPolicy's schedule is checked at admission:
 *   five to seven fields (seven: seconds first and year last; six: year last), `L`, `W`, `LW`,
 *   `5L`, `5#3`, the `@yearly`…`@hourly` aliases but neither `@every` nor a time zone prefix, and
 *   day of month *and* day of week both restricted means both must hold (supercronic keeps
 *   gorhill's intersection, unlike Vixie cron's union).
 *
 * Times are computed in UTC (Kyverno's containers run in UTC; Go uses the process's zone).
 * Pure: no clock is read here.
 */
import { scanDuration } from '../units/duration';

// ---------------------------------------------------------------- robfig/cron v3 ParseStandard

interface Bounds {
  min: number;
  max: number;
  names?: Record<string, number>;
}

const MONTH_NAMES: Record<string, number> = { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 };
const DOW_NAMES: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };
const STANDARD_FIELDS: Bounds[] = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: MONTH_NAMES },
  { min: 0, max: 6, names: DOW_NAMES },
];
const DESCRIPTORS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);

/** Go's strconv.Atoi: optional sign, ASCII digits, within int64. */
function goAtoi(s: string): number | string {
  if (!/^[+-]?[0-9]+$/.test(s)) return `failed to parse int from ${s}: strconv.Atoi: parsing ${JSON.stringify(s)}: invalid syntax`;
  const n = BigInt(s);
  if (n > 9223372036854775807n || n < -9223372036854775808n) return `failed to parse int from ${s}: strconv.Atoi: parsing ${JSON.stringify(s)}: value out of range`;
  return Number(n);
}

function parseUint(s: string): number | string {
  const n = goAtoi(s);
  if (typeof n === 'string') return n;
  if (n < 0) return `negative number (${n}) not allowed: ${s}`;
  return n;
}

function standardRange(expr: string, r: Bounds): string | undefined {
  const rangeAndStep = expr.split('/');
  const lowAndHigh = rangeAndStep[0].split('-');
  let start: number;
  let end: number;
  if (lowAndHigh[0] === '*' || lowAndHigh[0] === '?') {
    start = r.min;
    end = r.max;
  } else {
    const named = (s: string) => r.names?.[s.toLowerCase()] ?? parseUint(s);
    const a = named(lowAndHigh[0]);
    if (typeof a === 'string') return a;
    start = a;
    if (lowAndHigh.length === 1) end = start;
    else if (lowAndHigh.length === 2) {
      const b = named(lowAndHigh[1]);
      if (typeof b === 'string') return b;
      end = b;
    } else return `too many hyphens: ${expr}`;
  }
  let step = 1;
  if (rangeAndStep.length === 2) {
    const s = parseUint(rangeAndStep[1]);
    if (typeof s === 'string') return s;
    step = s;
    if (lowAndHigh.length === 1) end = r.max;
  } else if (rangeAndStep.length > 2) return `too many slashes: ${expr}`;
  if (start < r.min) return `beginning of range (${start}) below minimum (${r.min}): ${expr}`;
  if (end > r.max) return `end of range (${end}) above maximum (${r.max}): ${expr}`;
  if (start > end) return `beginning of range (${start}) beyond end of range (${end}): ${expr}`;
  if (step === 0) return `step of range should be a positive number: ${expr}`;
  return undefined;
}

/** Go's time.LoadLocation, as far as a pure engine can tell (IANA names through Intl). */
function knownLocation(name: string): boolean {
  if (name === '' || name === 'UTC' || name === 'Local') return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/**
 * robfig/cron v3 `ParseStandard`: undefined when `spec` parses, else robfig's error. Kyverno's
 * cleanup policy admission rejects any spec this refuses.
 */
export function standardCronError(spec: string): string | undefined {
  if (spec.length === 0) return 'empty spec string';
  if (spec.startsWith('TZ=') || spec.startsWith('CRON_TZ=')) {
    const space = spec.indexOf(' ');
    // Without a space robfig slices out of range (a panic in Go): no valid schedule either way.
    if (space < 0) return `provided bad location ${spec.slice(spec.indexOf('=') + 1)}: no schedule after the time zone`;
    const location = spec.slice(spec.indexOf('=') + 1, space);
    if (!knownLocation(location)) return `provided bad location ${location}: unknown time zone ${location}`;
    spec = spec.slice(space).trim();
  }
  if (spec.startsWith('@')) {
    if (DESCRIPTORS.has(spec)) return undefined;
    if (spec.startsWith('@every ')) {
      const d = scanDuration(spec.slice('@every '.length));
      return typeof d === 'string' ? `failed to parse duration ${spec}: ${d}` : undefined;
    }
    return `unrecognized descriptor: ${spec}`;
  }
  const fields = spec.split(/\s+/u).filter(Boolean);
  if (fields.length !== 5) return `expected exactly 5 fields, found ${fields.length}: ${fields.join(' ')}`;
  for (const [i, field] of fields.entries()) {
    for (const expr of field.split(',').filter(Boolean)) {
      const err = standardRange(expr, STANDARD_FIELDS[i]);
      if (err) return err;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------- supercronic cronexpr

/** cronexpr's tokens: what `atoi` reads (a token it lacks reads as 0, Go's map zero value). */
const NUMBER_TOKENS = new Map<string, number>();
for (let i = 0; i < 60; i++) {
  NUMBER_TOKENS.set(String(i), i);
  if (i < 10) NUMBER_TOKENS.set(`0${i}`, i);
}
for (let y = 1970; y <= 2099; y++) NUMBER_TOKENS.set(String(y), y);
const MONTH_TOKENS = new Map<string, number>();
['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'].forEach((name, i) => {
  MONTH_TOKENS.set(String(i + 1), i + 1).set(name.slice(0, 3), i + 1).set(name, i + 1);
});
const DOW_TOKENS = new Map<string, number>([['7', 0]]);
['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'].forEach((name, i) => {
  DOW_TOKENS.set(String(i), i).set(name.slice(0, 3), i).set(name, i);
});

interface FieldDescriptor {
  name: string;
  min: number;
  max: number;
  pattern: string;
  atoi: (s: string) => number;
}

const atoi = (s: string) => NUMBER_TOKENS.get(s) ?? 0;
const SECOND: FieldDescriptor = { name: 'second', min: 0, max: 59, pattern: '0?[0-9]|[1-5][0-9]', atoi };
const MINUTE: FieldDescriptor = { ...SECOND, name: 'minute' };
const HOUR: FieldDescriptor = { name: 'hour', min: 0, max: 23, pattern: '0?[0-9]|1[0-9]|2[0-3]', atoi };
const DOM: FieldDescriptor = { name: 'day-of-month', min: 1, max: 31, pattern: '0?[1-9]|[12][0-9]|3[01]', atoi };
const MONTH: FieldDescriptor = {
  name: 'month',
  min: 1,
  max: 12,
  pattern: '0?[1-9]|1[012]|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|january|february|march|april|march|april|june|july|august|september|october|november|december',
  atoi: (s) => MONTH_TOKENS.get(s) ?? 0,
};
const DOW: FieldDescriptor = {
  name: 'day-of-week',
  min: 0,
  max: 6,
  pattern: '0?[0-7]|sun|mon|tue|wed|thu|fri|sat|sunday|monday|tuesday|wednesday|thursday|friday|saturday',
  atoi: (s) => DOW_TOKENS.get(s) ?? 0,
};
const YEAR: FieldDescriptor = { name: 'year', min: 1970, max: 2099, pattern: '19[789][0-9]|20[0-9]{2}', atoi };

const layouts = new Map<string, RegExp>();
function layout(template: string, value: string): RegExp {
  const source = template.replaceAll('%value%', value);
  let re = layouts.get(source);
  if (!re) layouts.set(source, (re = new RegExp(source)));
  return re;
}

type Directive = { kind: 'none'; text: string } | { kind: 'one'; first: number } | { kind: 'span' | 'all'; first: number; last: number; step: number };

class CronSyntaxError extends Error {}

function parseDirectives(s: string, d: FieldDescriptor): Directive[] {
  const entries = s.match(/[^,]+/g) ?? [];
  if (entries.length === 0) throw new CronSyntaxError(`${d.name} field: missing directive`);
  return entries.map((text): Directive => {
    const n = text.toLowerCase();
    if (/^\*$|^\?$/.test(n)) return { kind: 'all', first: d.min, last: d.max, step: 1 };
    if (layout('^(%value%)$', d.pattern).test(n)) return { kind: 'one', first: d.atoi(n) };
    let m = layout('^(%value%)-(%value%)$', d.pattern).exec(n);
    if (m) {
      const first = d.atoi(m[1]);
      const last = d.atoi(m[2]);
      if (last < first) throw new CronSyntaxError(`invalid interval ${n} (normalized to ${first}-${last})`);
      return { kind: 'span', first, last, step: 1 };
    }
    const interval = (first: number, last: number, stepText: string): Directive => {
      const step = atoi(stepText);
      if (step < 1 || step > d.max) throw new CronSyntaxError(`invalid interval ${n}`);
      return { kind: 'span', first, last, step };
    };
    if ((m = /^\*\/([0-9]+)$/.exec(n))) return interval(d.min, d.max, m[1]);
    if ((m = layout('^(%value%)/([0-9]+)$', d.pattern).exec(n))) return interval(d.atoi(m[1]), d.max, m[2]);
    if ((m = layout('^(%value%)-(%value%)/([0-9]+)$', d.pattern).exec(n))) return interval(d.atoi(m[1]), d.atoi(m[2]), m[3]);
    return { kind: 'none', text };
  });
}

function populate(set: Set<number>, first: number, last: number, step: number): void {
  for (let i = first; i <= last; i += step) set.add(i);
}

function sorted(set: Set<number>): number[] {
  return [...set].sort((a, b) => a - b);
}

function genericField(s: string, d: FieldDescriptor): number[] {
  const values = new Set<number>();
  for (const directive of parseDirectives(s, d)) {
    if (directive.kind === 'none') throw new CronSyntaxError(`syntax error in ${d.name} field: '${directive.text}'`);
    if (directive.kind === 'all') return Array.from({ length: d.max - d.min + 1 }, (_, i) => d.min + i);
    if (directive.kind === 'one') values.add(directive.first);
    else populate(values, directive.first, directive.last, directive.step);
  }
  return sorted(values);
}

/** A parsed cronexpr expression. */
export interface CronExpression {
  seconds: number[];
  minutes: number[];
  hours: number[];
  months: number[];
  years: number[];
  daysOfMonth: Set<number>;
  workdaysOfMonth: Set<number>;
  lastDayOfMonth: boolean;
  lastWorkdayOfMonth: boolean;
  daysOfMonthRestricted: boolean;
  daysOfWeek: Set<number>;
  specificWeekDaysOfWeek: Set<number>;
  lastWeekDaysOfWeek: Set<number>;
  daysOfWeekRestricted: boolean;
}

const ALIASES: Record<string, string> = {
  '@yearly': '0 0 0 1 1 * *',
  '@annually': '0 0 0 1 1 * *',
  '@monthly': '0 0 0 1 * * *',
  '@weekly': '0 0 0 * * 0 *',
  '@daily': '0 0 0 * * * *',
  '@hourly': '0 0 * * * * *',
};

/** cronexpr.Parse: the expression, or cronexpr's error message. */
export function parseCronExpression(line: string): CronExpression | { error: string } {
  const cron = line.replace(/@(yearly|annually|monthly|weekly|daily|hourly)/g, (a) => ALIASES[a]);
  // Go's \S: anything but ASCII space, \t, \n, \f, \r.
  const fields = cron.match(/[^ \t\n\f\r]+/g) ?? [];
  if (fields.length < 5) return { error: 'missing field(s)' };
  const count = Math.min(fields.length, 7);
  try {
    let i = 0;
    const seconds = count === 7 ? genericField(fields[i++], SECOND) : [0];
    const minutes = genericField(fields[i++], MINUTE);
    const hours = genericField(fields[i++], HOUR);
    const dom = parseDom(fields[i++]);
    const months = genericField(fields[i++], MONTH);
    const dow = parseDow(fields[i++]);
    const years = i < count ? genericField(fields[i], YEAR) : Array.from({ length: 130 }, (_, k) => 1970 + k);
    return { seconds, minutes, hours, months, years, ...dom, ...dow };
  } catch (e) {
    if (e instanceof CronSyntaxError) return { error: e.message };
    throw e;
  }
}

function parseDom(s: string) {
  const out = { daysOfMonth: new Set<number>(), workdaysOfMonth: new Set<number>(), lastDayOfMonth: false, lastWorkdayOfMonth: false, daysOfMonthRestricted: true };
  for (const d of parseDirectives(s, DOM)) {
    if (d.kind === 'none') {
      const n = d.text.toLowerCase();
      if (n === 'l') out.lastDayOfMonth = true;
      else if (n === 'lw') out.lastWorkdayOfMonth = true;
      else {
        const m = layout('^(%value%)w$', DOM.pattern).exec(n);
        if (!m) throw new CronSyntaxError(`syntax error in day-of-month field: '${d.text}'`);
        out.workdaysOfMonth.add(DOM.atoi(m[1]));
      }
    } else if (d.kind === 'one') out.daysOfMonth.add(d.first);
    else {
      populate(out.daysOfMonth, d.first, d.last, d.step);
      if (d.kind === 'all') out.daysOfMonthRestricted = false;
    }
  }
  return out;
}

function parseDow(s: string) {
  const out = { daysOfWeek: new Set<number>(), specificWeekDaysOfWeek: new Set<number>(), lastWeekDaysOfWeek: new Set<number>(), daysOfWeekRestricted: true };
  for (const d of parseDirectives(s, DOW)) {
    if (d.kind === 'none') {
      const n = d.text.toLowerCase();
      let m = layout('^(%value%)l$', DOW.pattern).exec(n);
      if (m) out.lastWeekDaysOfWeek.add(DOW.atoi(m[1]));
      else if ((m = layout('^(%value%)#([1-5])$', DOW.pattern).exec(n))) out.specificWeekDaysOfWeek.add((DOW.atoi(m[2]) - 1) * 7 + (DOW.atoi(m[1]) % 7));
      else throw new CronSyntaxError(`syntax error in day-of-week field: '${d.text}'`);
    } else if (d.kind === 'one') out.daysOfWeek.add(d.first);
    else {
      populate(out.daysOfWeek, d.first, d.last, d.step);
      if (d.kind === 'all') out.daysOfWeekRestricted = false;
    }
  }
  return out;
}

const DOW_OFFSETS = [
  [1, 8, 15, 22, 29],
  [2, 9, 16, 23, 30],
  [3, 10, 17, 24, 31],
  [4, 11, 18, 25],
  [5, 12, 19, 26],
  [6, 13, 20, 27],
  [7, 14, 21, 28],
];

const utcDate = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0) => new Date(Date.UTC(y, mo - 1, d, h, mi, s));
const lastDayOf = (y: number, mo: number) => utcDate(y, mo + 1, 0).getUTCDate();

function workdayOfMonth(year: number, month: number, dom: number, lastDom: number): number {
  const dow = utcDate(year, month, dom).getUTCDay();
  if (dow === 6) return dom > 1 ? dom - 1 : dom + 2;
  if (dow === 0) return dom < lastDom ? dom + 1 : dom - 2;
  return dom;
}

/** The days of `month` the expression allows (cronexpr's calculateActualDaysOfMonth). */
function actualDaysOfMonth(e: CronExpression, year: number, month: number): number[] {
  const last = lastDayOf(year, month);
  if (!e.daysOfMonthRestricted && !e.daysOfWeekRestricted) return Array.from({ length: last }, (_, i) => i + 1);
  const byMonth = new Set<number>();
  const byWeek = new Set<number>();
  if (e.daysOfMonthRestricted) {
    if (e.lastDayOfMonth) byMonth.add(last);
    if (e.lastWorkdayOfMonth) byMonth.add(workdayOfMonth(year, month, last, last));
    for (const v of e.daysOfMonth) if (v <= last) byMonth.add(v);
    for (const v of e.workdaysOfMonth) if (v <= last) byMonth.add(workdayOfMonth(year, month, v, last));
  }
  if (!e.daysOfWeekRestricted) return sorted(byMonth);
  let offset = 7 - utcDate(year, month, 1).getUTCDay();
  for (const v of e.daysOfWeek) {
    const w = DOW_OFFSETS[(offset + v) % 7];
    for (let k = 0; k < 4; k++) byWeek.add(w[k]);
    if (w.length > 4 && w[4] <= last) byWeek.add(w[4]);
  }
  for (const v of e.specificWeekDaysOfWeek) {
    const day = 1 + 7 * Math.floor(v / 7) + ((offset + v) % 7);
    if (day <= last) byWeek.add(day);
  }
  const lastWeekOrigin = utcDate(year, month + 1, 1 - 7);
  offset = 7 - lastWeekOrigin.getUTCDay();
  for (const v of e.lastWeekDaysOfWeek) {
    const day = lastWeekOrigin.getUTCDate() + ((offset + v) % 7);
    if (day <= last) byWeek.add(day);
  }
  if (!e.daysOfMonthRestricted) return sorted(byWeek);
  return sorted(byMonth).filter((d) => byWeek.has(d));
}

/** The first index of `list` (ascending) holding a value >= v, as Go's sort.SearchInts. */
function search(list: number[], v: number): number {
  let i = 0;
  while (i < list.length && list[i] < v) i++;
  return i;
}

/**
 * cronexpr's Next: the first instant strictly after `fromMs` (whole seconds) the expression
 * matches, in UTC milliseconds; null when none is left before 2100 (Go's zero time).
 */
export function nextCronTime(e: CronExpression, fromMs: number): number | null {
  let days: number[] = [];
  const at = (y: number, mo: number, d: number, h: number, mi: number, s: number) => utcDate(y, mo, d, h, mi, s);
  const nextYear = (t: Date): Date | null => {
    const i = search(e.years, t.getUTCFullYear() + 1);
    if (i === e.years.length) return null;
    days = actualDaysOfMonth(e, e.years[i], e.months[0]);
    if (days.length === 0) return nextMonth(at(e.years[i], e.months[0], 1, e.hours[0], e.minutes[0], e.seconds[0]));
    return at(e.years[i], e.months[0], days[0], e.hours[0], e.minutes[0], e.seconds[0]);
  };
  const nextMonth = (t: Date): Date | null => {
    const i = search(e.months, t.getUTCMonth() + 2);
    if (i === e.months.length) return nextYear(t);
    days = actualDaysOfMonth(e, t.getUTCFullYear(), e.months[i]);
    if (days.length === 0) return nextMonth(at(t.getUTCFullYear(), e.months[i], 1, e.hours[0], e.minutes[0], e.seconds[0]));
    return at(t.getUTCFullYear(), e.months[i], days[0], e.hours[0], e.minutes[0], e.seconds[0]);
  };
  const nextDay = (t: Date): Date | null => {
    const i = search(days, t.getUTCDate() + 1);
    if (i === days.length) return nextMonth(t);
    return at(t.getUTCFullYear(), t.getUTCMonth() + 1, days[i], e.hours[0], e.minutes[0], e.seconds[0]);
  };
  const nextHour = (t: Date): Date | null => {
    const i = search(e.hours, t.getUTCHours() + 1);
    if (i === e.hours.length) return nextDay(t);
    return at(t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate(), e.hours[i], e.minutes[0], e.seconds[0]);
  };
  const nextMinute = (t: Date): Date | null => {
    const i = search(e.minutes, t.getUTCMinutes() + 1);
    if (i === e.minutes.length) return nextHour(t);
    return at(t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate(), t.getUTCHours(), e.minutes[i], e.seconds[0]);
  };
  const nextSecond = (t: Date): Date | null => {
    const i = search(e.seconds, t.getUTCSeconds() + 1);
    if (i === e.seconds.length) return nextMinute(t);
    return at(t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate(), t.getUTCHours(), t.getUTCMinutes(), e.seconds[i]);
  };
  const t = new Date(fromMs);
  const step = (): Date | null => {
    let v = t.getUTCFullYear();
    let i = search(e.years, v);
    if (i === e.years.length) return null;
    if (v !== e.years[i]) return nextYear(t);
    v = t.getUTCMonth() + 1;
    i = search(e.months, v);
    if (i === e.months.length) return nextYear(t);
    if (v !== e.months[i]) return nextMonth(t);
    days = actualDaysOfMonth(e, t.getUTCFullYear(), v);
    if (days.length === 0) return nextMonth(t);
    v = t.getUTCDate();
    i = search(days, v);
    if (i === days.length) return nextMonth(t);
    if (v !== days[i]) return nextDay(t);
    v = t.getUTCHours();
    i = search(e.hours, v);
    if (i === e.hours.length) return nextDay(t);
    if (v !== e.hours[i]) return nextHour(t);
    v = t.getUTCMinutes();
    i = search(e.minutes, v);
    if (i === e.minutes.length) return nextHour(t);
    if (v !== e.minutes[i]) return nextMinute(t);
    i = search(e.seconds, t.getUTCSeconds());
    if (i === e.seconds.length) return nextMinute(t);
    return nextSecond(t);
  };
  return step()?.getTime() ?? null;
}

/** cronexpr.Parse then Next, for callers holding only the schedule text. */
export function nextScheduledTime(schedule: string, fromMs: number): { time: number | null } | { error: string } {
  const e = parseCronExpression(schedule);
  if ('error' in e) return e;
  return { time: nextCronTime(e, fromMs) };
}
