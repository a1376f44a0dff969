/**
 * The Kubernetes CEL string, list, set and regex libraries (k8s.io/apiserver/pkg/cel/library
 * and cel-go ext.Strings/ext.Lists) on top of what cel-js already ships.
 */
import { isCelOptional, isCelUint } from './values';
import type { Environment } from '@marcbachmann/cel-js';
import { HAS_FIELD, OR_VALUE, RE2_MATCHES } from './rewrite';
import { celRegexExtract, celRegexExtractAll, celRegexReplace, re2Find, re2FindAll, re2Matches } from './regex';
import { formatString } from './format';
import { chargeBuilt, chargeCost, ensureCost, TRAVERSAL_COST_FACTOR } from './budget';
import { Optional } from '@marcbachmann/cel-js';


export class SetsNamespace {}
export class ListsNamespace {}
export class StringsNamespace {}
export class RegexNamespace {}

function fail(message: string): never {
  throw new Error(message);
}

/** CEL ordering of two values of the same comparable type (numbers may mix, as in cel-go). */
export function compareValues(a: unknown, b: unknown): number {
  if (typeof a === 'bigint' && typeof b === 'bigint') return a < b ? -1 : a > b ? 1 : 0;
  if ((typeof a === 'number' || typeof a === 'bigint') && (typeof b === 'number' || typeof b === 'bigint')) {
    const x = Number(a), y = Number(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  if (a instanceof Date && b instanceof Date) return a.getTime() - b.getTime();
  const va = (a as { valueOf(): unknown })?.valueOf?.(), vb = (b as { valueOf(): unknown })?.valueOf?.();
  if (va !== a || vb !== b) return compareValues(va, vb);
  return fail(`no such overload: cannot compare ${typeof a} and ${typeof b}`);
}

export function celEquals(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if ((typeof a === 'bigint' || typeof a === 'number') && (typeof b === 'bigint' || typeof b === 'number')) return Number(a) === Number(b);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => celEquals(x, b[i]));
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
    const ka = Object.keys(a), kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => k in (b as object) && celEquals((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return false;
}

function indexOf(list: unknown[], v: unknown): bigint {
  return BigInt(list.findIndex((x) => celEquals(x, v)));
}

function lastIndexOf(list: unknown[], v: unknown): bigint {
  for (let i = list.length - 1; i >= 0; i--) if (celEquals(list[i], v)) return BigInt(i);
  return -1n;
}

function sum(list: unknown[]): unknown {
  if (list.length === 0) return 0n;
  let acc: unknown = list[0];
  for (const v of list.slice(1)) {
    if (typeof acc === 'bigint' && typeof v === 'bigint') acc = acc + v;
    else if (typeof acc === 'number' && typeof v === 'number') acc = acc + v;
    else fail('no such overload: sum over mixed types');
  }
  return acc;
}

function extreme(list: unknown[], sign: number): unknown {
  if (list.length === 0) fail('min/max called on empty list');
  return list.reduce((m, v) => (compareValues(v, m) * sign > 0 ? v : m));
}

/** Primitive keys make distinct() linear; 1, 1.0 and 1u share a key, as CEL equality has it. */
function primitiveKey(v: unknown): string | null {
  if (typeof v === 'string') return `s:${v}`;
  if (typeof v === 'boolean') return `b:${v}`;
  if (typeof v === 'bigint') return `n:${v}`;
  if (typeof v === 'number') return Number.isInteger(v) ? `n:${BigInt(v)}` : `d:${v}`;
  if (isCelUint(v)) return `n:${v.value}`;
  return null;
}

function distinct(list: unknown[]): unknown[] {
  chargeCost(list.length);
  const seen = new Set<string>();
  const out: unknown[] = [];
  for (const v of list) {
    const key = primitiveKey(v);
    if (key !== null) {
      if (!seen.has(key)) { seen.add(key); out.push(v); }
    } else if (!out.some((x) => celEquals(x, v))) {
      chargeCost(out.length);
      out.push(v);
    }
  }
  return out;
}

/** Every nested list is charged as built: `[v, v].flatten()` doubles like `v + v`. */
function flatten(list: unknown[], depth: number, out: unknown[] = []): unknown[] {
  chargeBuilt(list.length);
  for (const v of list) {
    if (Array.isArray(v) && depth > 0) flatten(v, depth - 1, out);
    else out.push(v);
  }
  return out;
}

/** The sets functions compare every pair: charged like cel-go's traversal of both lists. */
function chargePairs(a: unknown[], b: unknown[]): void {
  chargeCost(Math.ceil(a.length * b.length * TRAVERSAL_COST_FACTOR));
}

function replace(s: string, from: string, to: string, n = -1): string {
  if (n === 0) return s;
  if (from === '') {
    const chars = [...s];
    chargeCost(chars.length);
    const parts: string[] = [];
    let count = 0;
    for (let i = 0; i <= chars.length; i++) {
      if (n < 0 || count < n) { parts.push(to); count++; }
      if (i < chars.length) parts.push(chars[i]);
    }
    return parts.join('');
  }
  let out = '', rest = s, count = 0;
  while (n < 0 || count < n) {
    const i = rest.indexOf(from);
    if (i < 0) break;
    out += rest.slice(0, i) + to;
    rest = rest.slice(i + from.length);
    count++;
  }
  return out + rest;
}

/** cel-go strings.quote: Go-style escapes; invalid UTF-16 (lone surrogates) becomes U+FFFD. */
function quote(s: string): string {
  const escapes: Record<string, string> = { '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v', '\\': '\\\\', '"': '\\"' };
  return '"' + s.replace(/[\x07\b\f\n\r\t\v\\"]/g, (c) => escapes[c]).replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD') + '"';
}

export function registerStringLibraries(env: Environment): void {
  env
    .registerType('SetsNamespace', SetsNamespace)
    .registerType('ListsNamespace', ListsNamespace)
    .registerType('StringsNamespace', StringsNamespace)
    .registerConstant('sets', 'SetsNamespace', new SetsNamespace())
    .registerConstant('lists', 'ListsNamespace', new ListsNamespace())
    .registerConstant('strings', 'StringsNamespace', new StringsNamespace())
    .registerType('RegexNamespace', RegexNamespace)
    .registerConstant('regex', 'RegexNamespace', new RegexNamespace());

  // cel-go ext.Regex, version 1 (Kyverno's compiler environment).
  const replaced = (out: string): string => {
    chargeCost(out.length);
    return out;
  };
  env
    .registerFunction('RegexNamespace.replace(string, string, string): string', (_ns: unknown, s: string, p: string, r: string) => replaced(celRegexReplace(s, p, r)))
    .registerFunction('RegexNamespace.replace(string, string, string, int): string', (_ns: unknown, s: string, p: string, r: string, n: bigint) =>
      replaced(celRegexReplace(s, p, r, n < 0n ? -1 : Number(n))))
    .registerFunction('RegexNamespace.extract(string, string): optional<string>', (_ns: unknown, s: string, p: string) => {
      const found = celRegexExtract(s, p);
      return found === null ? Optional.none() : Optional.of(found);
    })
    .registerFunction('RegexNamespace.extractAll(string, string): list<string>', (_ns: unknown, s: string, p: string) => celRegexExtractAll(s, p));


  env.registerFunction(`dyn.${OR_VALUE}(dyn): dyn`, (v: unknown, fallback: unknown) => {
    if (isCelOptional(v)) return v.hasValue() ? v.value() : fallback;
    return v;
  });

  env.registerFunction(`${HAS_FIELD}(dyn, string): bool`, (v: unknown, field: string) => {
    if (v instanceof Map) return v.has(field);
    if (v && typeof v === 'object' && !Array.isArray(v)) return Object.prototype.hasOwnProperty.call(v, field);
    throw new Error(`has(): invalid type for field selection '${field}'`);
  });

  // strings
  env
    .registerFunction(`string.${RE2_MATCHES}(string): bool`, (s: string, p: string) => re2Matches(s, p))
    .registerFunction(`${RE2_MATCHES}(string, string): bool`, (s: string, p: string) => re2Matches(s, p))
    .registerFunction('string.find(string): string', (s: string, p: string) => re2Find(s, p))
    .registerFunction('string.findAll(string): list<string>', (s: string, p: string) => re2FindAll(s, p))
    .registerFunction('string.findAll(string, int): list<string>', (s: string, p: string, n: bigint) => re2FindAll(s, p, Number(n)))
    .registerFunction('string.charAt(int): string', (s: string, i: bigint) => {
      const chars = [...s];
      if (i < 0n || i > BigInt(chars.length)) fail(`index out of range: ${i}`);
      return chars[Number(i)] ?? '';
    })
    .registerFunction('string.replace(string, string): string', (s: string, a: string, b: string) => replace(s, a, b))
    .registerFunction('string.replace(string, string, int): string', (s: string, a: string, b: string, n: bigint) => replace(s, a, b, Number(n)))
    .registerFunction('string.reverse(): string', (s: string) => [...s].reverse().join(''))
    .registerFunction('string.format(list): string', (s: string, args: unknown[]) => formatString(s, args))
    .registerFunction('StringsNamespace.quote(string): string', (_ns: unknown, s: string) => quote(s));

  // lists (Kubernetes library + cel-go ext.Lists)
  env
    .registerFunction('list.isSorted(): bool', (l: unknown[]) => l.every((v, i) => i === 0 || compareValues(l[i - 1], v) <= 0))
    .registerFunction('list.sum(): dyn', (l: unknown[]) => sum(l))
    .registerFunction('list.min(): dyn', (l: unknown[]) => extreme(l, -1))
    .registerFunction('list.max(): dyn', (l: unknown[]) => extreme(l, 1))
    .registerFunction('list.indexOf(dyn): int', (l: unknown[], v: unknown) => indexOf(l, v))
    .registerFunction('list.lastIndexOf(dyn): int', (l: unknown[], v: unknown) => lastIndexOf(l, v))
    .registerFunction('list.slice(int, int): list', (l: unknown[], a: bigint, b: bigint) => {
      if (a < 0n || b < a || b > BigInt(l.length)) fail(`cannot slice(${a}, ${b}), invalid indices`);
      return l.slice(Number(a), Number(b));
    })
    .registerFunction('list.flatten(): list', (l: unknown[]) => flatten(l, 1))
    .registerFunction('list.flatten(int): list', (l: unknown[], d: bigint) => {
      if (d < 0n) fail('level must be non-negative');
      return flatten(l, Number(d));
    })
    .registerFunction('list.distinct(): list', (l: unknown[]) => distinct(l))
    .registerFunction('list.reverse(): list', (l: unknown[]) => [...l].reverse())
    .registerFunction('list.sort(): list', (l: unknown[]) => [...l].sort(compareValues))
    .registerFunction('ListsNamespace.range(int): list<int>', (_ns: unknown, n: bigint) => {
      ensureCost(n > 0n ? n : 0n);
      chargeCost(n > 0n ? n : 0n);
      return Array.from({ length: Math.max(0, Number(n)) }, (_, i) => BigInt(i));
    });

  // sets
  env
    .registerFunction('SetsNamespace.contains(list, list): bool', (_ns: unknown, a: unknown[], b: unknown[]) => {
      chargePairs(a, b);
      return b.every((x) => a.some((y) => celEquals(x, y)));
    })
    .registerFunction('SetsNamespace.equivalent(list, list): bool', (_ns: unknown, a: unknown[], b: unknown[]) => {
      chargePairs(a, b);
      return b.every((x) => a.some((y) => celEquals(x, y))) && a.every((x) => b.some((y) => celEquals(x, y)));
    })
    .registerFunction('SetsNamespace.intersects(list, list): bool', (_ns: unknown, a: unknown[], b: unknown[]) => {
      chargePairs(a, b);
      return a.some((x) => b.some((y) => celEquals(x, y)));
    });
}
