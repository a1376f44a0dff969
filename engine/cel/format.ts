/**
 * cel-go's `string.format(list)` (ext.Strings: %s %d %f %e %x %X %o %b %%, optional
 * precision for %f/%e) and Go's float formatting, which `string(double)` and `%s` use.
 */
import { isCelDuration, isCelQuantity, isCelUint } from './values';
import { chargeCost } from './budget';

interface Decimal { negative: boolean; digits: string; exponent: number }

/** Shortest round-trip digits of x (what Go's strconv uses with precision -1): x = 0.d1d2… × 10^exponent. */
function shortestDecimal(x: number): Decimal {
  const [mantissa, exp] = Math.abs(x).toExponential().split('e');
  const digits = mantissa.replace('.', '').replace(/0+$/, '') || '0';
  return { negative: x < 0 || Object.is(x, -0), digits, exponent: Number(exp) + 1 };
}

/** The exact decimal value of a finite double (every double is a finite decimal). */
function exactDecimal(x: number): Decimal {
  const negative = x < 0 || Object.is(x, -0);
  let v = Math.abs(x);
  if (v === 0) return { negative, digits: '0', exponent: 1 };
  let e = 0;
  while (!Number.isInteger(v)) { v *= 2; e++; }
  // x = v / 2^e = v * 5^e / 10^e
  const digits = (BigInt(v) * 5n ** BigInt(e)).toString();
  const trimmed = digits.replace(/0+$/, '');
  return { negative, digits: trimmed || '0', exponent: digits.length - e };
}

/** Rounds to `count` significant digits, half to even; may carry into a new leading digit. */
function roundDigits(d: Decimal, count: number): Decimal {
  if (count < 0) return { ...d, digits: '0', exponent: d.exponent };
  if (d.digits.length <= count) return d;
  const kept = d.digits.slice(0, count);
  const rest = d.digits.slice(count);
  const first = rest.charCodeAt(0) - 48;
  const tail = /[1-9]/.test(rest.slice(1));
  const lastKept = count > 0 ? kept.charCodeAt(count - 1) - 48 : 0;
  const up = first > 5 || (first === 5 && (tail || lastKept % 2 === 1));
  if (!up) return { ...d, digits: kept.replace(/0+$/, '') || '0', exponent: kept === '' ? d.exponent : d.exponent };
  const n = (BigInt(kept || '0') + 1n).toString();
  const carry = n.length > Math.max(count, 1) || (count === 0);
  return { negative: d.negative, digits: n.replace(/0+$/, '') || '0', exponent: d.exponent + (carry ? 1 : 0) };
}

function fixed(d: Decimal, precision: number): string {
  const r = roundDigits(d, d.exponent + precision);
  const all = r.digits === '0' ? '' : r.digits;
  const intLen = r.exponent;
  let intPart: string, frac: string;
  if (intLen <= 0) {
    intPart = '0';
    frac = ('0'.repeat(-intLen) + all).padEnd(precision, '0').slice(0, precision);
  } else {
    intPart = all.slice(0, intLen).padEnd(intLen, '0') || '0';
    frac = all.slice(intLen).padEnd(precision, '0').slice(0, precision);
  }
  // Go keeps the sign of negative values that round to zero ("-0.00").
  const sign = d.negative ? '-' : '';
  return sign + intPart.replace(/^0+(?=\d)/, '') + (precision > 0 ? '.' + frac : '');
}

function exponential(d: Decimal, precision: number): string {
  const r = d.digits === '0' ? { ...d, exponent: 1 } : roundDigits(d, precision + 1);
  const digits = r.digits.padEnd(precision + 1, '0');
  const exp = r.digits === '0' ? 0 : r.exponent - 1;
  const expText = `${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return `${d.negative && r.digits !== '0' ? '-' : ''}${digits[0]}${precision > 0 ? '.' + digits.slice(1) : ''}e${expText}`;
}

/** strconv.FormatFloat(x, 'g', -1, 64), which cel-go's string(double) returns ("1e+20", "1.5"). */
export function goFormatDouble(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '-Inf';
  const d = shortestDecimal(x);
  const exp = d.exponent - 1;
  // Go: with the shortest precision, %e is chosen when the exponent is < -4 or >= 6.
  if (x !== 0 && (exp < -4 || exp >= 6)) return exponential(d, d.digits.length - 1);
  return (d.negative ? '-' : '') + fixed({ ...d, negative: false }, Math.max(d.digits.length - d.exponent, 0));
}

/** strconv.FormatFloat(x, 'f', -1, 64): shortest digits, never an exponent (what %s prints). */
function plainDouble(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity';
  const d = shortestDecimal(x);
  return (d.negative && x !== 0 ? '-' : '') + fixed({ ...d, negative: false }, Math.max(d.digits.length - d.exponent, 0));
}

function integerOf(v: unknown, clause: string): bigint {
  if (typeof v === 'bigint') return v;
  if (isCelUint(v)) return v.value;
  throw new Error(`error during formatting: ${clause} clause can only be used on integers, was given ${kindOf(v)}`);
}

function kindOf(v: unknown): string {
  if (typeof v === 'number') return 'double';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'bigint') return 'int';
  if (isCelUint(v)) return 'uint';
  if (v === null || v === undefined) return 'null_type';
  if (Array.isArray(v)) return 'list';
  if (v instanceof Uint8Array) return 'bytes';
  return 'map';
}

function numberOf(v: unknown, clause: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (isCelUint(v)) return Number(v.value);
  throw new Error(`error during formatting: ${clause} clause can only be used on integers, uints, and doubles, was given ${kindOf(v)}`);
}

function floatClause(v: unknown, precision: number, clause: string, render: (d: Decimal, p: number) => string): string {
  const x = numberOf(v, clause);
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity';
  return render(exactDecimal(x), precision);
}

/** `%s` of any CEL value, per the cel-spec strings extension. */
export function formatAsString(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return plainDouble(v);
  if (typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (isCelUint(v)) return String(v.value);
  if (v === null || v === undefined) return 'null';
  if (v instanceof Uint8Array) return new TextDecoder().decode(v);
  if (v instanceof Date) return v.toISOString().replace('.000Z', 'Z');
  if (Array.isArray(v)) return `[${v.map(formatAsString).join(', ')}]`;
  if (isCelDuration(v) || isCelQuantity(v)) return String(v);
  const entries = v instanceof Map ? [...v.entries()] : Object.entries(v as object);
  const rendered = entries.map(([k, x]) => [formatAsString(k), formatAsString(x)]).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return `{${rendered.map(([k, x]) => `${k}: ${x}`).join(', ')}}`;
}

function hexOf(v: unknown, upper: boolean): string {
  let text: string;
  if (typeof v === 'string' || v instanceof Uint8Array) {
    const bytes = typeof v === 'string' ? new TextEncoder().encode(v) : v;
    text = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  } else {
    const n = integerOf(v, 'hex');
    text = (n < 0n ? '-' : '') + (n < 0n ? -n : n).toString(16);
  }
  return upper ? text.toUpperCase() : text;
}

function radix(v: unknown, base: number, clause: string): string {
  if (base === 2 && typeof v === 'boolean') return v ? '1' : '0';
  const n = integerOf(v, clause);
  return (n < 0n ? '-' : '') + (n < 0n ? -n : n).toString(base);
}

export function formatString(template: string, args: unknown[]): string {
  let argIndex = 0;
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (c !== '%') { out += c; continue; }
    const m = /^%(?:\.(\d+))?([sdfeExXob%])/.exec(template.slice(i, i + 16));
    if (!m) throw new Error(`could not parse formatting clause: unrecognized formatting clause "${template[i + 1] ?? ''}"`);
    i += m[0].length - 1;
    const verb = m[2];
    if (verb === '%') { out += '%'; continue; }
    const precision = m[1] === undefined ? 6 : Number(m[1]);
    if (m[1] !== undefined && verb !== 'f' && verb !== 'e' && verb !== 'E') throw new Error(`error during formatting: precision is not supported for %${verb}`);
    if (argIndex >= args.length) throw new Error(`index ${argIndex} out of range`);
    const arg = args[argIndex++];
    let piece: string;
    switch (verb) {
      case 's': piece = formatAsString(arg); break;
      case 'd': piece = String(integerOf(arg, 'decimal')); break;
      case 'f': piece = floatClause(arg, precision, 'fixed-point', fixed); break;
      case 'e': case 'E': piece = floatClause(arg, precision, 'scientific', exponential); break;
      case 'x': case 'X': piece = hexOf(arg, verb === 'X'); break;
      case 'o': piece = radix(arg, 8, 'octal'); break;
      default: piece = radix(arg, 2, 'binary');
    }
    chargeCost(piece.length >> 6);
    out += piece;
  }
  return out;
}
