import { quantityOf, tryParseVersion, compareVersions as compareParsedVersions } from '../units';

/**
 * Kyverno's range operand for AnyIn/AllIn/...: `low-high` (inclusive) or `low!-high`
 * (outside), bounds being numbers or quantities.
 */
export function inRange(key: string, range: string): boolean {
  const m = /^\s*(-?[\d.]+[a-zA-Z]*)\s*(!?)-\s*(-?[\d.]+[a-zA-Z]*)\s*$/.exec(range);
  if (!m) return false;
  const k = quantityOf(key);
  const lo = quantityOf(m[1]);
  const hi = quantityOf(m[3]);
  if (k === null || lo === null || hi === null) return false;
  const inside = k.cmp(lo) >= 0 && k.cmp(hi) <= 0;
  return m[2] === '!' ? !inside : inside;
}

/** Compares two strict semantic versions (as blang/semver Parse); null when either is not one. */
export function compareVersions(a: string, b: string): number | null {
  const va = tryParseVersion(a);
  const vb = va && tryParseVersion(b);
  return va && vb ? compareParsedVersions(va, vb) : null;
}
