/**
 * How Go prints and parses the values Kyverno's messages and comparisons involve. JSON
 * numbers have one type in JavaScript but two in Kyverno: resources decode integers as
 * int64 (unstructured), patterns decode every number as float64. Callers say which side a
 * value comes from.
 */

export type ValueSide = 'resource' | 'pattern';

/** A resource number that Kyverno holds as int64. */
export function isGoInt(v: unknown, side: ValueSide): v is number {
  return side === 'resource' && typeof v === 'number' && Number.isInteger(v);
}

/** Go's %T. */
export function goTypeName(v: unknown, side: ValueSide): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return isGoInt(v, side) ? 'int64' : 'float64';
  if (Array.isArray(v)) return '[]interface {}';
  if (typeof v === 'object') return 'map[string]interface {}';
  return typeof v;
}

/** Go's %v for decoded JSON values (maps print with sorted keys). */
export function goValueString(v: unknown, side: ValueSide): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return isGoInt(v, side) ? goIntString(v) : goFloatG(v);
  if (Array.isArray(v)) return '[' + v.map((x) => goValueString(x, side)).join(' ') + ']';
  if (typeof v === 'object') {
    const obj = v as Record<string, unknown>;
    const keys = Object.keys(obj).sort(compareGoStrings);
    return 'map[' + keys.map((k) => `${k}:${goValueString(obj[k], side)}`).join(' ') + ']';
  }
  return String(v);
}

/** Go's sort.Strings order (byte-wise UTF-8; UTF-16 order agrees outside surrogates). */
export function compareGoStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function goIntString(v: number): string {
  return Number.isSafeInteger(v) ? String(v) : BigInt(v).toString();
}

function shortestDigits(v: number): { neg: boolean; digits: string; exp: number } {
  // toExponential() without an argument yields the shortest round-tripping digits, as Go's -1 precision.
  const [mant, e] = Math.abs(v).toExponential().split('e');
  return { neg: v < 0 || Object.is(v, -0), digits: mant.replace('.', ''), exp: Number(e) };
}

function special(v: number): string | null {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return null;
}

function expSuffix(exp: number, letter: 'e' | 'E'): string {
  const abs = Math.abs(exp);
  return letter + (exp < 0 ? '-' : '+') + (abs < 10 ? '0' : '') + abs;
}

function mantissa(digits: string): string {
  return digits.length > 1 ? digits[0] + '.' + digits.slice(1) : digits;
}

/** strconv.FormatFloat(v, 'g', -1, 64) as fmt's %v prints a float64. */
export function goFloatG(v: number): string {
  const s = special(v);
  if (s) return s;
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const { neg, digits, exp } = shortestDigits(v);
  const sign = neg ? '-' : '';
  // With the shortest precision Go switches to exponent form from 1e+06 and below 1e-04.
  if (exp < -4 || exp >= 6) return sign + mantissa(digits) + expSuffix(exp, 'e');
  if (exp < 0) return sign + '0.' + '0'.repeat(-exp - 1) + digits;
  const intLen = exp + 1;
  if (digits.length <= intLen) return sign + digits + '0'.repeat(intLen - digits.length);
  return sign + digits.slice(0, intLen) + '.' + digits.slice(intLen);
}

/** strconv.FormatFloat(v, 'E', -1, 64). */
export function goFloatE(v: number): string {
  const s = special(v);
  if (s) return s;
  if (v === 0) return (Object.is(v, -0) ? '-' : '') + '0E+00';
  const { neg, digits, exp } = shortestDigits(v);
  return (neg ? '-' : '') + mantissa(digits) + expSuffix(exp, 'E');
}

/** fmt.Sprintf("%f", v): six decimals, never an exponent. */
export function goFloatF(v: number): string {
  const s = special(v);
  if (s) return s;
  if (Math.abs(v) < 1e21) return v.toFixed(6);
  return (v < 0 ? '-' : '') + BigInt(Math.abs(v)).toString() + '.000000';
}

const FLOAT_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * strconv.ParseFloat(s, 64) for decimal input (also inf/infinity/nan). Hexadecimal floats
 * and underscores (which Go only accepts with a base prefix) are not accepted. Returns null
 * where Go returns an error, including out-of-range values.
 */
export function goParseFloat(s: string): number | null {
  const lower = s.toLowerCase();
  const body = lower.replace(/^[+-]/, '');
  if (body === 'inf' || body === 'infinity') return lower.startsWith('-') ? -Infinity : Infinity;
  if (body === 'nan') return NaN;
  if (!FLOAT_RE.test(s)) return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
}

/** strconv.ParseInt(s, 10, 64); null on error. Values beyond 2^53 lose precision. */
export function goParseInt(s: string): number | null {
  if (!/^[+-]?\d+$/.test(s)) return null;
  const b = BigInt(s);
  if (b > 9223372036854775807n || b < -9223372036854775808n) return null;
  return Number(b);
}
