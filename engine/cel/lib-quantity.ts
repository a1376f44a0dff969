/** Kubernetes CEL `quantity` and `semver` libraries. */
import type { Environment } from '@marcbachmann/cel-js';
import semverParse from 'semver/functions/parse';
import semverCompare from 'semver/functions/compare';
import type { SemVer } from 'semver';

const SUFFIX: Record<string, number> = {
  '': 1, n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

export class CelQuantity {
  constructor(readonly value: number, readonly text: string) {}
}

export class CelSemver {
  constructor(readonly version: SemVer) {}
}

export function parseQuantityText(s: string): CelQuantity | null {
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/.exec(s);
  if (!m) return null;
  const base = Number(m[1]);
  const value = m[2] ? Number(m[1] + m[2]) : base * SUFFIX[m[3] ?? ''];
  return Number.isFinite(value) ? new CelQuantity(value, s) : null;
}

function quantity(s: string): CelQuantity {
  const q = parseQuantityText(s);
  if (!q) throw new Error(`quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': ${s}`);
  return q;
}

function cmp(a: number, b: number): bigint {
  return a < b ? -1n : a > b ? 1n : 0n;
}

function semver(s: string, normalize = false): CelSemver | null {
  let text = s;
  if (normalize) {
    text = text.replace(/^v/, '');
    const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?(.*)$/.exec(text);
    if (m) text = `${Number(m[1])}.${Number(m[2] ?? 0)}.${Number(m[3] ?? 0)}${m[4]}`;
  }
  const v = semverParse(text);
  return v ? new CelSemver(v) : null;
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
    .registerFunction('isQuantity(string): bool', (s: string) => parseQuantityText(s) !== null)
    .registerFunction('Quantity.isInteger(): bool', (q: CelQuantity) => Number.isInteger(q.value) && Math.abs(q.value) <= Number.MAX_SAFE_INTEGER * 1024)
    .registerFunction('Quantity.asInteger(): int', (q: CelQuantity) => {
      if (!Number.isInteger(q.value)) throw new Error('cannot convert value to integer');
      return BigInt(q.value);
    })
    .registerFunction('Quantity.asApproximateFloat(): double', (q: CelQuantity) => q.value)
    .registerFunction('Quantity.sign(): int', (q: CelQuantity) => BigInt(Math.sign(q.value)))
    .registerFunction('Quantity.compareTo(Quantity): int', (a: CelQuantity, b: CelQuantity) => cmp(a.value, b.value))
    .registerFunction('Quantity.isLessThan(Quantity): bool', (a: CelQuantity, b: CelQuantity) => a.value < b.value)
    .registerFunction('Quantity.isGreaterThan(Quantity): bool', (a: CelQuantity, b: CelQuantity) => a.value > b.value)
    .registerFunction('Quantity.add(Quantity): Quantity', (a: CelQuantity, b: CelQuantity) => new CelQuantity(a.value + b.value, ''))
    .registerFunction('Quantity.add(int): Quantity', (a: CelQuantity, b: bigint) => new CelQuantity(a.value + Number(b), ''))
    .registerFunction('Quantity.sub(Quantity): Quantity', (a: CelQuantity, b: CelQuantity) => new CelQuantity(a.value - b.value, ''))
    .registerFunction('Quantity.sub(int): Quantity', (a: CelQuantity, b: bigint) => new CelQuantity(a.value - Number(b), ''))
    .registerOperator('Quantity == Quantity', (a: CelQuantity, b: CelQuantity) => a.value === b.value)
    .registerFunction('semver(string): Semver', (s: string) => mustSemver(s))
    .registerFunction('semver(string, bool): Semver', (s: string, n: boolean) => mustSemver(s, n))
    .registerFunction('isSemver(string): bool', (s: string) => semver(s) !== null)
    .registerFunction('isSemver(string, bool): bool', (s: string, n: boolean) => semver(s, n) !== null)
    .registerFunction('Semver.major(): int', (v: CelSemver) => BigInt(v.version.major))
    .registerFunction('Semver.minor(): int', (v: CelSemver) => BigInt(v.version.minor))
    .registerFunction('Semver.patch(): int', (v: CelSemver) => BigInt(v.version.patch))
    .registerFunction('Semver.compareTo(Semver): int', (a: CelSemver, b: CelSemver) => BigInt(semverCompare(a.version, b.version)))
    .registerFunction('Semver.isLessThan(Semver): bool', (a: CelSemver, b: CelSemver) => semverCompare(a.version, b.version) < 0)
    .registerFunction('Semver.isGreaterThan(Semver): bool', (a: CelSemver, b: CelSemver) => semverCompare(a.version, b.version) > 0);
}
