/**
 * Kubernetes quantities, Go durations and blang semantic versions, with the exact semantics Kyverno inherits
 * from k8s.io/apimachinery resource.Quantity and Go's time package.
 */
import { Quantity } from './quantity';
import { scanDuration } from './duration';

export { Quantity, QuantityError, goPow10 } from './quantity';
export { SemverError, parseVersion, tryParseVersion, compareVersions, parseRange, ZERO_VERSION } from './semver';
export type { Version, VersionRange } from './semver';
export type { QuantityFormat } from './quantity';
export {
  DurationError,
  parseDurationExact,
  formatDuration,
  durationSeconds,
  durationFromFloatNanos,
  wrapInt64,
  NANOS_PER_SECOND,
} from './duration';

/** Numeric value of a Kubernetes quantity ("500m", "1Gi", "2e3"), or null when Go's ParseQuantity rejects it. */
export function parseQuantity(s: string): number | null {
  const q = quantityOf(s);
  return q ? q.asApproximateFloat64() : null;
}

/** The exact quantity ("500m", "1Gi", a 600-digit number), or null when Go's ParseQuantity rejects it. */
export function quantityOf(s: string): Quantity | null {
  return LOOKS_LIKE_QUANTITY.test(s) ? Quantity.tryParse(s) : null;
}

/** Cheap shape checks that reject most strings before the exact (throwing) parsers run. */
// µ and μ (micro sign, Greek mu) escaped: the Node bundles stay ASCII (scripts/bundles.mjs).
const LOOKS_LIKE_DURATION = /^[+-]?(?:0|[0-9.][0-9.a-z\u00b5\u03bc]*)$/;
const LOOKS_LIKE_QUANTITY = /^[+-]?[0-9.][0-9.a-zA-Z+-]*$/;

/** Compares two quantities exactly (strings are parsed); -1, 0 or 1. Throws QuantityError on bad input. */
export function compareQuantities(a: string | Quantity, b: string | Quantity): number {
  const qa = typeof a === 'string' ? Quantity.parse(a) : a;
  const qb = typeof b === 'string' ? Quantity.parse(b) : b;
  return qa.cmp(qb);
}

/** Go time.ParseDuration ("1h30m", "300ms") in nanoseconds, or null. Beyond 2^53 ns the number is approximate: use parseDurationExact. */
export function parseDuration(s: string): number | null {
  // Patterns probe every value for a duration; most are not, and exceptions are costly.
  if (!LOOKS_LIKE_DURATION.test(s)) return null;
  const d = scanDuration(s);
  return typeof d === 'string' ? null : Number(d);
}
