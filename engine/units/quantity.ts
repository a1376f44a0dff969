/**
 * Kubernetes resource.Quantity (k8s.io/apimachinery/pkg/api/resource), exact:
 * the value is `unscaled * 10^-scale` (the inf.Dec representation), so parsing,
 * arithmetic and canonical formatting match the Go type digit for digit.
 */

export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

export class QuantityError extends Error {}

const BINARY_SUFFIXES: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL_SUFFIXES: Record<string, number> = {
  n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18,
};
const DECIMAL_BY_EXPONENT = new Map(Object.entries(DECIMAL_SUFFIXES).map(([s, e]) => [e, s]));
const BINARY_BY_EXPONENT = new Map([[0, ''], ...Object.entries(BINARY_SUFFIXES).map(([s, e]) => [e, s] as [number, string])]);
const MAX_INT64 = (1n << 63n) - 1n;
const NANO_SCALE = 9;
// Longest accepted input: real quantities are short; this bounds BigInt work on hostile text.
const MAX_QUANTITY_LENGTH = 1024;

function pow10(n: number): bigint {
  return 10n ** BigInt(n);
}

function abs(n: bigint): bigint {
  return n < 0n ? -n : n;
}

interface QuantityParts {
  positive: boolean;
  value: string;
  num: string;
  denom: string;
  suffix: string;
}

const DIGIT = /[0-9]/;

/** Splits a quantity string the way Go's parseQuantityString does (including its leniencies). */
function splitQuantity(str: string): QuantityParts {
  let positive = true;
  let pos = 0;
  const end = str.length;
  if (pos < end && (str[0] === '-' || str[0] === '+')) {
    positive = str[0] !== '-';
    pos++;
  }
  while (pos < end && str[pos] === '0') pos++;
  if (pos >= end) return { positive, value: '0', num: '0', denom: '', suffix: '' };
  let i = pos;
  while (i < end && DIGIT.test(str[i])) i++;
  let num = str.slice(pos, i);
  if (i >= end) return { positive, value: str, num: num || '0', denom: '', suffix: '' };
  pos = i;
  if (num === '') num = '0';
  let denom = '';
  if (str[pos] === '.') {
    pos++;
    i = pos;
    while (i < end && DIGIT.test(str[i])) i++;
    denom = str.slice(pos, i);
    if (i >= end) return { positive, value: str, num, denom, suffix: '' };
    pos = i;
  }
  const value = str.slice(0, pos);
  const suffixStart = pos;
  i = pos;
  while (i < end && 'eEinumkKMGTP'.includes(str[i])) i++;
  if (i >= end) return { positive, value, num, denom, suffix: str.slice(suffixStart) };
  pos = i;
  if (str[pos] === '-' || str[pos] === '+') pos++;
  for (i = pos; i < end; i++) {
    if (!DIGIT.test(str[i])) throw new QuantityError('quantities must match the regular expression \'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$\'');
  }
  return { positive, value, num, denom, suffix: str.slice(suffixStart) };
}

function interpretSuffix(suffix: string): { base: 2 | 10; exponent: number; format: QuantityFormat } | null {
  if (suffix in BINARY_SUFFIXES) return { base: 2, exponent: BINARY_SUFFIXES[suffix], format: 'BinarySI' };
  if (suffix in DECIMAL_SUFFIXES) return { base: 10, exponent: DECIMAL_SUFFIXES[suffix], format: 'DecimalSI' };
  if (suffix.length > 1 && (suffix[0] === 'e' || suffix[0] === 'E') && /^[+-]?[0-9]+$/.test(suffix.slice(1))) {
    const exponent = Number(suffix.slice(1));
    if (Math.abs(exponent) <= 2 ** 31 - 1) return { base: 10, exponent, format: 'DecimalExponent' };
  }
  return null;
}

/** Rounds unscaled*10^-scale to `target` scale, away from zero (inf.RoundUp on a positive amount). */
function roundUpToScale(unscaled: bigint, scale: number, target: number): bigint {
  if (scale <= target) return unscaled * pow10(target - scale);
  const div = pow10(scale - target);
  const q = unscaled / div;
  return unscaled % div === 0n ? q : q + (unscaled < 0n ? -1n : 1n);
}

function removeFactors(value: bigint, factor: bigint): [bigint, number] {
  let times = 0;
  while (value !== 0n && value % factor === 0n) {
    value /= factor;
    times++;
  }
  return [value, times];
}

export class Quantity {
  /** value = unscaled * 10^-scale */
  constructor(
    readonly unscaled: bigint,
    readonly scale: number,
    readonly format: QuantityFormat,
  ) {}

  /** resource.ParseQuantity; throws QuantityError with Go's messages. */
  static parse(str: string): Quantity {
    if (str.length === 0) throw new QuantityError('quantities must match the regular expression \'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$\'');
    if (str.length > MAX_QUANTITY_LENGTH) throw new QuantityError('quantity is too long');
    if (str === '0') return new Quantity(0n, 0, 'DecimalSI');
    const parts = splitQuantity(str);
    const suffix = interpretSuffix(parts.suffix);
    if (!suffix) throw new QuantityError('unable to parse quantity\'s suffix');
    let { format } = suffix;
    const { base, exponent } = suffix;
    const { num, denom, positive } = parts;
    if (Math.abs(exponent) > 100_000) throw new QuantityError('quantity exponent is out of range');

    // Go's int64 fast path; reproduced because it decides the inf.Dec scale that divide() sees.
    let precision = 0;
    let goScale = 0;
    let mantissa = 1n;
    if (base === 10) {
      goScale = exponent;
      precision = 18 - (num.length + denom.length);
    } else if (denom.length === 0) {
      mantissa = 1n << BigInt(exponent);
      precision = 15 - num.length - Math.trunc(Math.fround(Math.fround(exponent) * 3) / 10) - 1;
    } else {
      precision = -1;
    }
    if (precision >= 0) {
      goScale -= denom.length;
      if (goScale >= -NANO_SCALE) {
        const value = BigInt(num + denom) * mantissa;
        if (value <= MAX_INT64) return new Quantity(positive ? value : -value, -goScale || 0, format);
      }
    }

    const dec = /^[+-]?([0-9]*)(?:\.([0-9]*))?$/.exec(parts.value);
    if (!dec || (dec[1] === '' && (dec[2] ?? '') === '')) throw new QuantityError('quantities must match the regular expression \'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$\'');
    let unscaled = BigInt((dec[1] || '0') + (dec[2] ?? ''));
    let scale = (dec[2] ?? '').length;
    if (base === 10) scale -= exponent;
    else unscaled *= 1n << BigInt(exponent);
    if (Math.abs(scale) > 100_000) throw new QuantityError('quantity exponent is out of range');
    if (unscaled !== 0n) {
      unscaled = roundUpToScale(unscaled, scale, NANO_SCALE);
      scale = NANO_SCALE;
    }
    if (format === 'BinarySI' && unscaled > MAX_INT64 * pow10(scale)) unscaled = MAX_INT64 * pow10(scale);
    if (format === 'BinarySI' && unscaled > 0n && unscaled < pow10(scale)) format = 'DecimalSI';
    return new Quantity(positive ? unscaled : -unscaled, scale, format);
  }

  static tryParse(str: string): Quantity | null {
    try {
      return Quantity.parse(str);
    } catch {
      return null;
    }
  }

  static fromInt(value: bigint, format: QuantityFormat): Quantity {
    return new Quantity(value, 0, format);
  }

  isZero(): boolean {
    return this.unscaled === 0n;
  }

  sign(): number {
    return this.unscaled === 0n ? 0 : this.unscaled < 0n ? -1 : 1;
  }

  cmp(other: Quantity): number {
    const s = Math.max(this.scale, other.scale);
    const a = this.unscaled * pow10(s - this.scale);
    const b = other.unscaled * pow10(s - other.scale);
    return a === b ? 0 : a < b ? -1 : 1;
  }

  /** Quantity.Add: keeps this format unless this is zero. */
  add(other: Quantity): Quantity {
    const s = Math.max(this.scale, other.scale);
    const sum = this.unscaled * pow10(s - this.scale) + other.unscaled * pow10(s - other.scale);
    return new Quantity(sum, s, this.isZero() ? other.format : this.format);
  }

  sub(other: Quantity): Quantity {
    return this.add(new Quantity(-other.unscaled, other.scale, other.format)).withFormat(
      this.isZero() ? other.format : this.format,
    );
  }

  /** inf.Dec Mul: unscaled values multiply, scales add. */
  mul(other: Quantity, format: QuantityFormat = this.format): Quantity {
    return new Quantity(this.unscaled * other.unscaled, this.scale + other.scale, format);
  }

  /** inf.Dec QuoRound(this, other, scale, RoundDown): truncates toward zero at `scale`. */
  quoRoundDown(other: Quantity, scale: number, format: QuantityFormat = this.format): Quantity {
    if (other.unscaled === 0n) throw new QuantityError('division by zero');
    // this/other = (u1 * 10^-s1) / (u2 * 10^-s2); scaled result = that * 10^scale
    const shift = scale - this.scale + other.scale;
    let numerator = this.unscaled;
    let denominator = other.unscaled;
    if (shift >= 0) numerator *= pow10(shift);
    else denominator *= pow10(-shift);
    return new Quantity(numerator / denominator, scale, format);
  }

  withFormat(format: QuantityFormat): Quantity {
    return new Quantity(this.unscaled, this.scale, format);
  }

  /** Quantity.AsApproximateFloat64 (same float steps as Go). */
  asApproximateFloat64(): number {
    const base = Number(this.unscaled);
    const exponent = -this.scale;
    if (exponent === 0) return base;
    return base * goPow10(exponent);
  }

  /** Integer value when exact (Quantity.AsInt64 on integral values), else null. */
  asExactInteger(): bigint | null {
    if (this.scale <= 0) return this.unscaled * pow10(-this.scale);
    const div = pow10(this.scale);
    return this.unscaled % div === 0n ? this.unscaled / div : null;
  }

  /** Quantity.String(): the canonical form (CanonicalizeBytes). */
  toString(): string {
    if (this.isZero()) return '0';
    let format = this.format;
    let integral: bigint | null = null;
    if (format === 'BinarySI') {
      const small = this.cmp(Quantity.fromInt(-1024n, 'DecimalSI')) > 0 && this.cmp(Quantity.fromInt(1024n, 'DecimalSI')) < 0;
      integral = small ? null : this.asExactInteger();
      if (integral === null) format = 'DecimalSI';
    }
    if (format === 'BinarySI' && integral !== null) {
      const [amount, times] = removeFactors(integral, 1024n);
      return amount.toString() + (BINARY_BY_EXPONENT.get(times * 10) ?? '');
    }
    let [amount, times] = removeFactors(this.unscaled, 10n);
    let exponent = -this.scale + times;
    while (exponent % 3 !== 0) {
      amount *= 10n;
      exponent--;
    }
    let suffix: string;
    if (format === 'DecimalExponent') suffix = exponent === 0 ? '' : `e${exponent}`;
    else suffix = DECIMAL_BY_EXPONENT.get(exponent) ?? '';
    return amount.toString() + suffix;
  }
}

/** Go's math.Pow10: exact table products, so results equal Go's bit for bit for |n| < 32. */
export function goPow10(n: number): number {
  if (n >= 0) return Number(`1e${n}`);
  return 1 / Number(`1e${-n}`);
}

export function absQuantity(q: Quantity): Quantity {
  return new Quantity(abs(q.unscaled), q.scale, q.format);
}
