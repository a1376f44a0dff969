/**
 * Kyverno's arithmetic functions (pkg/engine/jmespath/arithmetic.go): each operand is a
 * number (scalar), a Kubernetes quantity or a Go duration, with Kyverno's type table.
 */
import {
  Quantity,
  QuantityError,
  parseDurationExact,
  formatDuration,
  durationSeconds,
  durationFromFloatNanos,
  wrapInt64,
  NANOS_PER_SECOND,
} from '../units';
import { fnError, formatFloatV } from './go-compat';

type Operand =
  | { kind: 'scalar'; value: number }
  | { kind: 'quantity'; value: Quantity }
  | { kind: 'duration'; value: bigint };

function toOperand(arg: unknown): Operand | null {
  if (typeof arg === 'number') return { kind: 'scalar', value: arg };
  if (typeof arg === 'string') {
    const q = Quantity.tryParse(arg);
    if (q) return { kind: 'quantity', value: q };
    try {
      return { kind: 'duration', value: parseDurationExact(arg) };
    } catch {
      return null;
    }
  }
  return null;
}

function operands(fn: string, args: unknown[]): [Operand, Operand] {
  const a = toOperand(args[0]);
  const b = toOperand(args[1]);
  if (!a || !b) throw fnError(fn, 'invalid operands');
  return [a, b];
}

const mismatch = (fn: string) => fnError(fn, 'Types mismatch');
const zeroDivisor = (fn: string) => fnError(fn, 'Zero divisor passed');
const nonIntModulo = (fn: string) => fnError(fn, 'Non-integer argument(s) passed for modulo');

/** resource.ParseQuantity(fmt.Sprintf("%v", f)), as Kyverno converts scalars for quantity maths. */
function scalarAsQuantity(f: number): Quantity {
  try {
    return Quantity.parse(formatFloatV(f));
  } catch (e) {
    if (e instanceof QuantityError) throw new QuantityError(e.message);
    throw e;
  }
}

function addOperands(fn: string, a: Operand, b: Operand, negate: boolean): unknown {
  if (a.kind === 'quantity' && b.kind === 'quantity') {
    return (negate ? a.value.sub(b.value) : a.value.add(b.value)).toString();
  }
  if (a.kind === 'duration' && b.kind === 'duration') {
    return formatDuration(wrapInt64(negate ? a.value - b.value : a.value + b.value));
  }
  if (a.kind === 'scalar' && b.kind === 'scalar') return negate ? a.value - b.value : a.value + b.value;
  throw mismatch(fn);
}

export function kyvernoAdd(args: unknown[], fn = 'add'): unknown {
  const [a, b] = operands(fn, args);
  return addOperands(fn, a, b, false);
}

export function kyvernoSubtract(args: unknown[]): unknown {
  const [a, b] = operands('subtract', args);
  return addOperands('subtract', a, b, true);
}

export function kyvernoSum(args: unknown[]): unknown {
  const items = args[0];
  if (!Array.isArray(items)) throw mismatch('sum');
  if (items.length === 0) throw fnError('sum', 'at least one element in the array is required');
  let result: unknown = items[0];
  for (const item of items.slice(1)) result = kyvernoAdd([result, item], 'sum');
  return result;
}

function multiplyDuration(d: bigint, f: number): string {
  const seconds = durationSeconds(d) * f;
  return formatDuration(durationFromFloatNanos(seconds * 1e9));
}

function multiplyQuantity(q: Quantity, f: number): string {
  return q.mul(scalarAsQuantity(f), q.format).toString();
}

export function kyvernoMultiply(args: unknown[]): unknown {
  const [a, b] = operands('multiply', args);
  if (a.kind === 'scalar') {
    if (b.kind === 'scalar') return a.value * b.value;
    if (b.kind === 'quantity') return multiplyQuantity(b.value, a.value);
    return multiplyDuration(b.value, a.value);
  }
  if (b.kind !== 'scalar') throw mismatch('multiply');
  if (a.kind === 'quantity') return multiplyQuantity(a.value, b.value);
  return multiplyDuration(a.value, b.value);
}

export function kyvernoDivide(args: unknown[]): unknown {
  const [a, b] = operands('divide', args);
  if (a.kind === 'quantity') {
    if (b.kind === 'quantity') {
      const divisor = b.value.asApproximateFloat64();
      if (divisor === 0) throw zeroDivisor('divide');
      return a.value.asApproximateFloat64() / divisor;
    }
    if (b.kind === 'scalar') {
      if (b.value === 0) throw zeroDivisor('divide');
      const q = scalarAsQuantity(b.value);
      const scale = Math.max(a.value.scale, q.scale);
      return a.value.quoRoundDown(q, scale, a.value.format).toString();
    }
    throw mismatch('divide');
  }
  if (a.kind === 'duration') {
    if (b.kind === 'duration') {
      if (durationSeconds(b.value) === 0) throw zeroDivisor('divide');
      return durationSeconds(a.value) / durationSeconds(b.value);
    }
    if (b.kind === 'scalar') {
      if (b.value === 0) throw zeroDivisor('divide');
      const seconds = durationSeconds(a.value) / b.value;
      return formatDuration(durationFromFloatNanos(seconds * 1e9));
    }
    throw mismatch('divide');
  }
  if (b.kind !== 'scalar') throw mismatch('divide');
  if (b.value === 0) throw zeroDivisor('divide');
  return a.value / b.value;
}

/** Go's int64(f) for finite in-range floats; NaN/overflow never equal their float, so they fail the integer check. */
function int64Of(f: number): bigint | null {
  if (!Number.isFinite(f) || Math.abs(f) >= 2 ** 63) return null;
  return BigInt(Math.trunc(f));
}

export function kyvernoModulo(args: unknown[]): unknown {
  const [a, b] = operands('modulo', args);
  if (a.kind === 'quantity' && b.kind === 'quantity') {
    const f1 = a.value.asApproximateFloat64();
    const f2 = b.value.asApproximateFloat64();
    const i1 = int64Of(f1);
    const i2 = int64Of(f2);
    if (i1 === null || Number(i1) !== f1) throw nonIntModulo('modulo');
    if (i2 === null || Number(i2) !== f2) throw nonIntModulo('modulo');
    if (i2 === 0n) throw zeroDivisor('modulo');
    return Quantity.fromInt(i1 % i2, a.value.format).toString();
  }
  if (a.kind === 'duration' && b.kind === 'duration') {
    if (b.value === 0n) throw zeroDivisor('modulo');
    return formatDuration(a.value % b.value);
  }
  if (a.kind === 'scalar' && b.kind === 'scalar') {
    const i1 = int64Of(a.value);
    const i2 = int64Of(b.value);
    if (i1 === null || Number(i1) !== a.value) throw nonIntModulo('modulo');
    if (i2 === null || Number(i2) !== b.value) throw nonIntModulo('modulo');
    if (i2 === 0n) throw zeroDivisor('modulo');
    return Number(i1 % i2);
  }
  throw mismatch('modulo');
}

export function kyvernoRound(args: unknown[]): unknown {
  const [value, places] = args as [number, number];
  if (!Number.isFinite(places) || Math.trunc(places) !== places) {
    throw fnError('round', 'Non-integer argument(s) passed for round off');
  }
  if (places < 0) throw fnError('round', '%!d(MISSING) argument is out of bounds (%!d(MISSING))');
  const shift = 10 ** places;
  return goRound(value * shift) / shift;
}

/** math.Round: half away from zero (JS Math.round rounds half toward +Infinity). */
function goRound(x: number): number {
  if (!Number.isFinite(x)) return x;
  const r = Math.round(Math.abs(x));
  const t = Math.abs(x) - Math.trunc(Math.abs(x)) === 0.5 ? Math.trunc(Math.abs(x)) + 1 : r;
  return x < 0 ? -t : t;
}

export { NANOS_PER_SECOND };
