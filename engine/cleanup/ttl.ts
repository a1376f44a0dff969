/**
 * The `cleanup.kyverno.io/ttl` label (pkg/controllers/ttl, pkg/validation/resource): a
 * duration counted from the resource's creation, or an absolute UTC time. The value is read
 * as Kyverno reads it, in this order:
 * 1. go-openapi strfmt's ParseDuration: Go's time.ParseDuration ("1h30m"), else every
 *    "<digits><letters>" piece found anywhere in the text, summed when its unit is one of
 *    ns/us/ms/s/m/h/d/w (case-insensitive) or starts with the long name (nanoseconds,
 *    microseconds, milliseconds, seconds, minutes, hours, days, weeks), so "2d", "1 week"
 *    does not parse ("week" is not a prefix of "weeks") and "3 days" does;
 * 2. the layout 2006-01-02T150405Z (UTC, no separators in the time);
 * 3. the layout 2006-01-02 (midnight UTC).
 * Pure.
 */
import { scanDuration } from '../units/duration';

export const TTL_LABEL = 'cleanup.kyverno.io/ttl';
/** Kyverno's `--ttlReconciliationInterval`: how often the ttl manager looks for resources to watch. */
export const DEFAULT_TTL_INTERVAL_MS = 60_000;
/** The annotation choosing the deletion's propagation policy (Foreground, Background, Orphan). */
export const PROPAGATION_ANNOTATION = 'cleanup.kyverno.io/propagation-policy';

const UNITS: Array<[short: string, long: string, ms: number]> = [
  ['ns', 'nanoseconds', 1e-6],
  ['us', 'microseconds', 1e-3],
  ['ms', 'milliseconds', 1],
  ['s', 'seconds', 1000],
  ['m', 'minutes', 60_000],
  ['h', 'hours', 3_600_000],
  ['d', 'days', 86_400_000],
  ['w', 'weeks', 7 * 86_400_000],
];

/** strfmt.ParseDuration in milliseconds, or its error. */
export function parseStrfmtDuration(text: string): number | { error: string } {
  const go = scanDuration(text);
  if (typeof go !== 'string') return Number(go) / 1e6;
  let total = 0;
  let ok = false;
  // Go's \s is ASCII whitespace; \d ASCII digits. µ escaped: the Node bundles stay ASCII (scripts/bundles.mjs).
  for (const m of text.matchAll(/([0-9]+)[\t\n\f\r ]*([A-Za-z\u00b5]+)/g)) {
    if (m[1].length > 18 && BigInt(m[1]) > 9223372036854775807n) return { error: `strconv.Atoi: parsing ${JSON.stringify(m[1])}: value out of range` };
    const factor = Number(m[1]);
    const unit = m[2].toLowerCase().trim();
    for (const [short, long, ms] of UNITS) {
      if (unit === short || unit.startsWith(long)) {
        ok = true;
        total += factor * ms;
      }
    }
  }
  return ok ? total : { error: `unable to parse ${text} as duration` };
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const daysIn = (month: number, year: number) => (month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : DAYS_IN_MONTH[month - 1]);

/** The layout 2006-01-02T150405Z (fractional seconds after the seconds, as Go allows). */
function parseTtlDateTime(text: string): number | undefined {
  const m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2})([0-9]{2})([0-9]{2})([.,][0-9]+)?Z$/.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  if (month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || minute > 59 || second > 59) return undefined;
  return Date.UTC(year, month - 1, day, hour, minute, second) + (m[7] ? Number(`0.${m[7].slice(1)}`) * 1000 : 0);
}

/** Go's time.Parse("2006-01-02", text): UTC milliseconds, or Go's error message. */
function parseTtlDate(text: string): number | { error: string } {
  const q = JSON.stringify;
  const cannot = (rest: string, element: string) => ({ error: `parsing time ${q(text)} as "2006-01-02": cannot parse ${q(rest)} as ${q(element)}` });
  const twoDigits = (rest: string) => /^[0-9]{2}/.test(rest);
  let rest = text;
  if (!/^[0-9]{4}/.test(rest)) return cannot(rest, '2006');
  const year = Number(rest.slice(0, 4));
  rest = rest.slice(4);
  if (!rest.startsWith('-')) return cannot(rest, '-');
  rest = rest.slice(1);
  if (!twoDigits(rest)) return cannot(rest, '01');
  const month = Number(rest.slice(0, 2));
  if (month < 1 || month > 12) return { error: `parsing time ${q(text)}: month out of range` };
  rest = rest.slice(2);
  if (!rest.startsWith('-')) return cannot(rest, '-');
  rest = rest.slice(1);
  if (!twoDigits(rest)) return cannot(rest, '02');
  const day = Number(rest.slice(0, 2));
  if (day > 31) return { error: `parsing time ${q(text)}: day out of range` };
  rest = rest.slice(2);
  if (rest.length > 0) return { error: `parsing time ${q(text)}: extra text: ${q(rest)}` };
  if (day < 1 || day > daysIn(month, year)) return { error: `parsing time ${q(text)}: day out of range` };
  return Date.UTC(year, month - 1, day);
}

/**
 * When a resource labelled with `value` is due for deletion (UTC milliseconds), given its
 * creation time, or why the value cannot be read (Kyverno then leaves the resource alone).
 */
export function ttlDeletionTime(value: string, creationMs: number): number | { error: string } {
  const d = parseStrfmtDuration(value);
  if (typeof d === 'number') return creationMs + d;
  return parseTtlDateTime(value) ?? parseTtlDate(value);
}

/**
 * Kyverno's ttl webhook (/verifyttl) admits every request; a label it cannot read earns this
 * warning. Undefined when the object has no label or a readable one.
 */
export function ttlLabelWarning(labels: Record<string, unknown> | undefined): string | undefined {
  const value = labels?.[TTL_LABEL];
  if (value === undefined) return undefined;
  const parsed = ttlDeletionTime(String(value), 0);
  if (typeof parsed === 'number') return undefined;
  return `cleanup.kyverno.io/ttl label value cannot be parsed as any recognizable format (${parsed.error})`;
}

/** The propagation policy the annotation asks for (unknown values: none, as Kyverno). */
export function ttlPropagationPolicy(annotations: Record<string, unknown> | undefined): 'Foreground' | 'Background' | 'Orphan' | undefined {
  const v = annotations?.[PROPAGATION_ANNOTATION];
  return v === 'Foreground' || v === 'Background' || v === 'Orphan' ? v : undefined;
}
