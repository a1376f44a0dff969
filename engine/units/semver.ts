/**
 * github.com/blang/semver/v4, the one semantic-version implementation of Kyverno: JMESPath
 * `semver_compare`, the numeric condition operators (GreaterThan… on "1.2.3") and the
 * Kubernetes CEL semver library all use it. Strict Parse (uint64 parts, no leading zeroes,
 * no "v", no spaces; prerelease and build identifiers of [0-9A-Za-z-]), Compare (build
 * metadata ignored; numeric prerelease identifiers below alphanumeric ones) and ParseRange
 * with its quirks (token splitting, "x" wildcards, error texts), with blang's error messages.
 */

/** A version or range blang/semver refuses; the message is blang's. */
export class SemverError extends Error {}

interface PreRelease {
  num: bigint | null;
  str: string;
}

export interface Version {
  major: bigint;
  minor: bigint;
  patch: bigint;
  pre: PreRelease[];
}

const NUMBERS = /^[0-9]*$/;
const ALPHANUM = /^[0-9A-Za-z-]*$/;
const MAX_UINT64 = (1n << 64n) - 1n;

function parseUint(s: string, what: string): bigint {
  if (!NUMBERS.test(s)) throw new SemverError(`Invalid character(s) found in ${what} number ${JSON.stringify(s)}`);
  if (s.length > 1 && s[0] === '0') {
    const cap = what[0].toUpperCase() + what.slice(1);
    throw new SemverError(`${cap} number must not contain leading zeroes ${JSON.stringify(s)}`);
  }
  if (s === '') throw new SemverError(`strconv.ParseUint: parsing "": invalid syntax`);
  const v = BigInt(s);
  if (v > MAX_UINT64) throw new SemverError(`strconv.ParseUint: parsing ${JSON.stringify(s)}: value out of range`);
  return v;
}

export function parseVersion(s: string): Version {
  if (s.length === 0) throw new SemverError('Version string empty');
  const parts = s.split('.');
  if (parts.length < 3) throw new SemverError('No Major.Minor.Patch elements found');
  const rest = parts.slice(2).join('.');
  const major = parseUint(parts[0], 'major');
  const minor = parseUint(parts[1], 'minor');
  let patchStr = rest;
  let build: string[] = [];
  let pre: string[] = [];
  const plus = patchStr.indexOf('+');
  if (plus >= 0) {
    build = patchStr.slice(plus + 1).split('.');
    patchStr = patchStr.slice(0, plus);
  }
  const dash = patchStr.indexOf('-');
  if (dash >= 0) {
    pre = patchStr.slice(dash + 1).split('.');
    patchStr = patchStr.slice(0, dash);
  }
  const patch = parseUint(patchStr, 'patch');
  const prerelease: PreRelease[] = pre.map((p) => {
    if (p.length === 0) throw new SemverError('Prerelease is empty');
    if (NUMBERS.test(p)) {
      if (p.length > 1 && p[0] === '0') throw new SemverError(`Numeric PreRelease version must not contain leading zeroes ${JSON.stringify(p)}`);
      const num = BigInt(p);
      if (num > MAX_UINT64) throw new SemverError(`strconv.ParseUint: parsing ${JSON.stringify(p)}: value out of range`);
      return { num, str: '' };
    }
    if (!ALPHANUM.test(p)) throw new SemverError(`Invalid character(s) found in prerelease ${JSON.stringify(p)}`);
    return { num: null, str: p };
  });
  for (const b of build) {
    if (b.length === 0) throw new SemverError('Build meta data is empty');
    if (!ALPHANUM.test(b)) throw new SemverError(`Invalid character(s) found in build meta data ${JSON.stringify(b)}`);
  }
  return { major, minor, patch, pre: prerelease };
}

export const ZERO_VERSION: Version = { major: 0n, minor: 0n, patch: 0n, pre: [] };

function cmpBig(a: bigint, b: bigint): number {
  return a === b ? 0 : a < b ? -1 : 1;
}

function comparePre(a: PreRelease, b: PreRelease): number {
  if (a.num !== null && b.num !== null) return cmpBig(a.num, b.num);
  if (a.num !== null) return -1;
  if (b.num !== null) return 1;
  return a.str === b.str ? 0 : a.str < b.str ? -1 : 1;
}

export function compareVersions(v: Version, o: Version): number {
  const main = cmpBig(v.major, o.major) || cmpBig(v.minor, o.minor) || cmpBig(v.patch, o.patch);
  if (main !== 0) return main;
  if (v.pre.length === 0 && o.pre.length === 0) return 0;
  if (v.pre.length === 0) return 1;
  if (o.pre.length === 0) return -1;
  let i = 0;
  for (; i < v.pre.length && i < o.pre.length; i++) {
    const c = comparePre(v.pre[i], o.pre[i]);
    if (c !== 0) return c;
  }
  if (i === v.pre.length && i === o.pre.length) return 0;
  return i === v.pre.length ? -1 : 1;
}

export type VersionRange = (v: Version) => boolean;

/** blang's splitAndTrim: splits on spaces not preceded by an operator; drops 1-character tokens. */
function splitAndTrim(s: string): string[] {
  const result: string[] = [];
  let last = 0;
  let lastChar = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === ' ' && !'><='.includes(lastChar || '\u0000')) {
      if (last < i - 1) result.push(s.slice(last, i));
      last = i + 1;
    } else if (s[i] !== ' ') {
      lastChar = s[i];
    }
  }
  if (last < s.length - 1) result.push(s.slice(last));
  return result.map((r) => r.replaceAll(' ', ''));
}

function splitComparatorVersion(s: string): [string, string] {
  const i = s.search(/\p{Nd}/u);
  if (i < 0) throw new SemverError(`Could not get version from string: ${JSON.stringify(s)}`);
  return [s.slice(0, i).trim(), s.slice(i)];
}

function increment(v: string, index: number): string {
  const parts = v.split('.');
  if (!/^[+-]?[0-9]+$/.test(parts[index] ?? '')) return '';
  parts[index] = String(Number(parts[index]) + 1);
  return parts.join('.');
}

function expandWildcard(ap: string): string[] {
  if (!ap.includes('x')) return [ap];
  const [op, vStr] = splitComparatorVersion(ap);
  const parts = vStr.split('.');
  const wildcard = parts[parts.length - 1] === 'x' ? (parts.length === 2 ? 'minor' : parts.length === 3 ? 'patch' : 'none') : 'none';
  let flat = vStr.replace('.x.x', '.x').replace('.x', '.0');
  if (flat.split('.').length === 2) flat += '.0';
  const out: string[] = [];
  let resultOp = '';
  let inc = false;
  switch (op) {
    case '>': resultOp = '>='; inc = true; break;
    case '>=': resultOp = '>='; break;
    case '<': resultOp = '<'; break;
    case '<=': resultOp = '<'; inc = true; break;
    case '': case '=': case '==': out.push('>=' + flat); resultOp = '<'; inc = true; break;
    case '!=': case '!': out.push('<' + flat); resultOp = '>='; inc = true; break;
  }
  let resultVersion = flat;
  if (inc) resultVersion = wildcard === 'patch' ? increment(flat, 1) : wildcard === 'minor' ? increment(flat, 0) : '';
  out.push(resultOp + resultVersion);
  return out;
}

function comparator(op: string): ((c: number) => boolean) | null {
  switch (op) {
    case '': case '=': case '==': return (c) => c === 0;
    case '>': return (c) => c > 0;
    case '>=': return (c) => c >= 0;
    case '<': return (c) => c < 0;
    case '<=': return (c) => c <= 0;
    case '!': case '!=': return (c) => c !== 0;
  }
  return null;
}

/** semver.ParseRange, e.g. ">1.0.0 <2.0.0 || >=3.0.0", "1.2.x". */
export function parseRange(s: string): VersionRange {
  const parts = splitAndTrim(s);
  const orParts: string[][] = [];
  let last = 0;
  parts.forEach((p, i) => {
    if (p === '||') {
      if (i === 0) throw new SemverError("First element in range is '||'");
      orParts.push(parts.slice(last, i));
      last = i + 1;
    }
  });
  if (last === parts.length) throw new SemverError("Last element in range is '||'");
  orParts.push(parts.slice(last));
  const ors: VersionRange[] = orParts.map((group) => {
    const ands: VersionRange[] = group.flatMap(expandWildcard).map((ap) => {
      const [op, vStr] = splitComparatorVersion(ap);
      const cmp = comparator(op);
      if (!cmp) throw new SemverError(`Could not parse Range ${JSON.stringify(ap)}: Could not parse comparator ${JSON.stringify(op)} in ${JSON.stringify(op + vStr)}`);
      let version: Version;
      try {
        version = parseVersion(vStr);
      } catch (e) {
        throw new SemverError(`Could not parse Range ${JSON.stringify(ap)}: Could not parse version ${JSON.stringify(vStr)} in ${JSON.stringify(op + vStr)}: ${(e as Error).message}`);
      }
      return (v: Version) => cmp(compareVersions(v, version));
    });
    return (v: Version) => ands.every((f) => f(v));
  });
  return (v: Version) => ors.some((f) => f(v));
}

/** The version, or null when blang's strict Parse refuses it. */
export function tryParseVersion(s: string): Version | null {
  try {
    return parseVersion(s);
  } catch (e) {
    if (e instanceof SemverError) return null;
    throw e;
  }
}
