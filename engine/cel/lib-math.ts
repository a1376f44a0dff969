/**
 * cel-go ext.Math as Kubernetes enables it (math.greatest/least, ceil/floor/round/trunc,
 * abs/sign, isInf/isNaN/isFinite, sqrt, bit operations) plus Kyverno's
 * `math.round(double, int)` (pkg/cel/libs/math).
 */
import type { Environment } from '@marcbachmann/cel-js';
import { UnsignedInt } from '@marcbachmann/cel-js/evaluator';

export class MathNamespace {}

const MIN_INT64 = -(1n << 63n);
const MAX_INT64 = (1n << 63n) - 1n;
const UINT64_MASK = (1n << 64n) - 1n;

type Numeric = bigint | number | UnsignedInt;

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof UnsignedInt) return Number(v.value);
  throw new Error(`no such overload: math function on ${typeof v}`);
}

/** Mixed int/uint/double comparison without precision loss for the integer cases. */
function compareNumeric(a: Numeric, b: Numeric): number {
  const ai = typeof a === 'bigint' ? a : a instanceof UnsignedInt ? a.value : null;
  const bi = typeof b === 'bigint' ? b : b instanceof UnsignedInt ? b.value : null;
  if (ai !== null && bi !== null) return ai < bi ? -1 : ai > bi ? 1 : 0;
  const x = toNumber(a), y = toNumber(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function extreme(fn: string, values: unknown[], sign: number): unknown {
  if (values.length === 0) throw new Error(`${fn}(list) argument must not be empty`);
  for (const v of values) {
    if (typeof v !== 'bigint' && typeof v !== 'number' && !(v instanceof UnsignedInt)) throw new Error(`${fn}(${typeof v}) no such overload`);
  }
  return values.reduce((m, v) => (compareNumeric(v as Numeric, m as Numeric) * sign > 0 ? v : m));
}

function shiftOffset(fn: string, n: bigint): bigint {
  if (n < 0n) throw new Error(`${fn}() negative offset: ${n}`);
  return n;
}

/** Go's int64 reinterpretation of a 64-bit pattern. */
function asInt64(bits: bigint): bigint {
  const v = bits & UINT64_MASK;
  return v > MAX_INT64 ? v - (1n << 64n) : v;
}

export function registerMathLibrary(env: Environment): void {
  env.registerType('MathNamespace', MathNamespace).registerConstant('math', 'MathNamespace', new MathNamespace());
  const ns = 'MathNamespace';
  const values = (args: unknown[]): unknown[] => (args.length === 1 && Array.isArray(args[0]) ? args[0] : args);
  for (let arity = 1; arity <= 8; arity++) {
    const params = Array(arity).fill('dyn').join(', ');
    env.registerFunction(`${ns}.greatest(${params}): dyn`, (_ns: unknown, ...args: unknown[]) => extreme('math.greatest', values(args), 1));
    env.registerFunction(`${ns}.least(${params}): dyn`, (_ns: unknown, ...args: unknown[]) => extreme('math.least', values(args), -1));
  }
  env
    .registerFunction(`${ns}.ceil(double): double`, (_n: unknown, v: number) => Math.ceil(v))
    .registerFunction(`${ns}.floor(double): double`, (_n: unknown, v: number) => Math.floor(v))
    // Go math.Round: half away from zero.
    .registerFunction(`${ns}.round(double): double`, (_n: unknown, v: number) => (Number.isFinite(v) ? Math.sign(v) * Math.round(Math.abs(v)) : v))
    .registerFunction(`${ns}.round(double, int): double`, (_n: unknown, v: number, p: bigint) => {
      const shift = 10 ** Number(p);
      const x = v * shift;
      return (Math.sign(x) * Math.round(Math.abs(x))) / shift;
    })
    .registerFunction(`${ns}.trunc(double): double`, (_n: unknown, v: number) => Math.trunc(v))
    .registerFunction(`${ns}.abs(int): int`, (_n: unknown, v: bigint) => {
      if (v === MIN_INT64) throw new Error('integer overflow');
      return v < 0n ? -v : v;
    })
    .registerFunction(`${ns}.abs(uint): uint`, (_n: unknown, v: UnsignedInt) => v)
    .registerFunction(`${ns}.abs(double): double`, (_n: unknown, v: number) => Math.abs(v))
    .registerFunction(`${ns}.sign(int): int`, (_n: unknown, v: bigint) => (v < 0n ? -1n : v > 0n ? 1n : 0n))
    .registerFunction(`${ns}.sign(uint): uint`, (_n: unknown, v: UnsignedInt) => new UnsignedInt(v.value > 0n ? 1n : 0n))
    .registerFunction(`${ns}.sign(double): double`, (_n: unknown, v: number) => (Number.isNaN(v) ? v : v > 0 ? 1 : v < 0 ? -1 : 0))
    .registerFunction(`${ns}.isInf(double): bool`, (_n: unknown, v: number) => v === Infinity || v === -Infinity)
    .registerFunction(`${ns}.isNaN(double): bool`, (_n: unknown, v: number) => Number.isNaN(v))
    .registerFunction(`${ns}.isFinite(double): bool`, (_n: unknown, v: number) => Number.isFinite(v))
    .registerFunction(`${ns}.sqrt(double): double`, (_n: unknown, v: number) => Math.sqrt(v))
    .registerFunction(`${ns}.sqrt(int): double`, (_n: unknown, v: bigint) => Math.sqrt(Number(v)))
    .registerFunction(`${ns}.sqrt(uint): double`, (_n: unknown, v: UnsignedInt) => Math.sqrt(Number(v.value)))
    .registerFunction(`${ns}.bitAnd(int, int): int`, (_n: unknown, a: bigint, b: bigint) => a & b)
    .registerFunction(`${ns}.bitAnd(uint, uint): uint`, (_n: unknown, a: UnsignedInt, b: UnsignedInt) => new UnsignedInt(a.value & b.value))
    .registerFunction(`${ns}.bitOr(int, int): int`, (_n: unknown, a: bigint, b: bigint) => a | b)
    .registerFunction(`${ns}.bitOr(uint, uint): uint`, (_n: unknown, a: UnsignedInt, b: UnsignedInt) => new UnsignedInt(a.value | b.value))
    .registerFunction(`${ns}.bitXor(int, int): int`, (_n: unknown, a: bigint, b: bigint) => a ^ b)
    .registerFunction(`${ns}.bitXor(uint, uint): uint`, (_n: unknown, a: UnsignedInt, b: UnsignedInt) => new UnsignedInt(a.value ^ b.value))
    .registerFunction(`${ns}.bitNot(int): int`, (_n: unknown, a: bigint) => ~a)
    .registerFunction(`${ns}.bitNot(uint): uint`, (_n: unknown, a: UnsignedInt) => new UnsignedInt(~a.value & UINT64_MASK))
    .registerFunction(`${ns}.bitShiftLeft(int, int): int`, (_n: unknown, a: bigint, s: bigint) => {
      const n = shiftOffset('math.bitShiftLeft', s);
      return n > 63n ? 0n : asInt64(a << n);
    })
    .registerFunction(`${ns}.bitShiftLeft(uint, int): uint`, (_n: unknown, a: UnsignedInt, s: bigint) => {
      const n = shiftOffset('math.bitShiftLeft', s);
      return new UnsignedInt(n > 63n ? 0n : (a.value << n) & UINT64_MASK);
    })
    // On int, cel-go shifts the 64-bit pattern as unsigned (math.bitShiftRight(-1024, 3) = 2305843009213693824).
    .registerFunction(`${ns}.bitShiftRight(int, int): int`, (_n: unknown, a: bigint, s: bigint) => {
      const n = shiftOffset('math.bitShiftRight', s);
      return n > 63n ? 0n : asInt64((a & UINT64_MASK) >> n);
    })
    .registerFunction(`${ns}.bitShiftRight(uint, int): uint`, (_n: unknown, a: UnsignedInt, s: bigint) => {
      const n = shiftOffset('math.bitShiftRight', s);
      return new UnsignedInt(n > 63n ? 0n : a.value >> n);
    });
}
