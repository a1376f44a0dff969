/**
 * Kubernetes CEL `quantity` and `semver` libraries (k8s.io/apiserver/pkg/cel/library), on the
 * engine's own resource.Quantity (engine/units) and blang/semver (engine/units/semver).
 */
import type { Environment } from '@marcbachmann/cel-js';
import { Quantity } from '../units';
import { compareVersions, parseVersion, type Version } from '../units/semver';

const MAX_INT64 = (1n << 63n) - 1n;
const MIN_INT64 = -(1n << 63n);
const QUANTITY_SYNTAX = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

export class CelQuantity {
  constructor(readonly q: Quantity) {}
  toString(): string { return this.q.toString(); }
}

export class CelSemver {
  constructor(readonly version: Version) {}
}

function quantity(s: string): CelQuantity {
  const q = Quantity.tryParse(s);
  if (!q) throw new Error(`${QUANTITY_SYNTAX}: ${s}`);
  return new CelQuantity(q);
}

/**
 * Go's Quantity.AsInt64: only values held at a non-negative decimal scale that fit in int64
 * convert ("1k" yes, "1000m" and "0.5" no).
 */
function asInt64(q: Quantity): bigint | null {
  if (q.scale > 0) return null;
  const v = q.asExactInteger();
  return v !== null && v <= MAX_INT64 && v >= MIN_INT64 ? v : null;
}

function sign(n: number): bigint {
  return n < 0 ? -1n : n > 0 ? 1n : 0n;
}

/** semver(s, true): drops a leading "v", fills missing minor/patch, strips leading zeros. */
function normalizeSemver(text: string): string {
  const s = text.replace(/^v/, '');
  const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?(.*)$/.exec(s);
  return m ? `${BigInt(m[1])}.${BigInt(m[2] ?? 0)}.${BigInt(m[3] ?? 0)}${m[4]}` : s;
}

function semver(s: string, normalize = false): CelSemver | null {
  try {
    return new CelSemver(parseVersion(normalize ? normalizeSemver(s) : s));
  } catch {
    return null;
  }
}

function mustSemver(s: string, normalize = false): CelSemver {
  const v = semver(s, normalize);
  if (!v) throw new Error(`could not parse semver ${s}`);
  return v;
}

export function registerQuantityLibraries(env: Environment): void {
  env.registerType('Quantity', CelQuantity).registerType('Semver', CelSemver);
  env
    .registerFunction('quantity(string): Quantity', (s: string) => quantity(s))
    .registerFunction('isQuantity(string): bool', (s: string) => Quantity.tryParse(s) !== null)
    .registerFunction('Quantity.isInteger(): bool', (q: CelQuantity) => asInt64(q.q) !== null)
    .registerFunction('Quantity.asInteger(): int', (q: CelQuantity) => {
      const v = asInt64(q.q);
      if (v === null) throw new Error('cannot convert value to integer');
      return v;
    })
    .registerFunction('Quantity.asApproximateFloat(): double', (q: CelQuantity) => q.q.asApproximateFloat64())
    .registerFunction('Quantity.sign(): int', (q: CelQuantity) => BigInt(q.q.sign()))
    .registerFunction('Quantity.compareTo(Quantity): int', (a: CelQuantity, b: CelQuantity) => sign(a.q.cmp(b.q)))
    .registerFunction('Quantity.isLessThan(Quantity): bool', (a: CelQuantity, b: CelQuantity) => a.q.cmp(b.q) < 0)
    .registerFunction('Quantity.isGreaterThan(Quantity): bool', (a: CelQuantity, b: CelQuantity) => a.q.cmp(b.q) > 0)
    .registerFunction('Quantity.add(Quantity): Quantity', (a: CelQuantity, b: CelQuantity) => new CelQuantity(a.q.add(b.q)))
    .registerFunction('Quantity.add(int): Quantity', (a: CelQuantity, b: bigint) => new CelQuantity(a.q.add(Quantity.fromInt(b, 'DecimalExponent'))))
    .registerFunction('Quantity.sub(Quantity): Quantity', (a: CelQuantity, b: CelQuantity) => new CelQuantity(a.q.sub(b.q)))
    .registerFunction('Quantity.sub(int): Quantity', (a: CelQuantity, b: bigint) => new CelQuantity(a.q.sub(Quantity.fromInt(b, 'DecimalExponent'))))
    .registerOperator('Quantity == Quantity', (a: CelQuantity, b: CelQuantity) => a.q.cmp(b.q) === 0)
    .registerFunction('semver(string): Semver', (s: string) => mustSemver(s))
    .registerFunction('semver(string, bool): Semver', (s: string, n: boolean) => mustSemver(s, n))
    .registerFunction('isSemver(string): bool', (s: string) => semver(s) !== null)
    .registerFunction('isSemver(string, bool): bool', (s: string, n: boolean) => semver(s, n) !== null)
    .registerFunction('Semver.major(): int', (v: CelSemver) => v.version.major)
    .registerFunction('Semver.minor(): int', (v: CelSemver) => v.version.minor)
    .registerFunction('Semver.patch(): int', (v: CelSemver) => v.version.patch)
    .registerFunction('Semver.compareTo(Semver): int', (a: CelSemver, b: CelSemver) => BigInt(compareVersions(a.version, b.version)))
    .registerFunction('Semver.isLessThan(Semver): bool', (a: CelSemver, b: CelSemver) => compareVersions(a.version, b.version) < 0)
    .registerOperator('Semver == Semver', (a: CelSemver, b: CelSemver) => compareVersions(a.version, b.version) === 0)
    .registerFunction('Semver.isGreaterThan(Semver): bool', (a: CelSemver, b: CelSemver) => compareVersions(a.version, b.version) > 0);
}
