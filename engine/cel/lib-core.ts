/**
 * Gaps between cel-js and cel-go as Kubernetes configures it: heterogeneous numeric equality
 * (`1 == 1.0`, `1 == 1u` are true in cel-go), `string(duration)`, and ext.Encoders' base64.
 */
import { Optional, type Environment } from '@marcbachmann/cel-js';
import { UnsignedInt } from '@marcbachmann/cel-js/evaluator';
import { goFormatDouble } from './format';
import { base64Decode, base64Encode } from '../jmespath/go-compat';
import { CelCIDR, CelIP, ipToString } from './lib-network';
import { OPT_ENTRY, OPT_LIST, OPT_MAP, TO_STRING } from './rewrite';
import { typeOfCel, isCelDuration } from './values';
import { celEquals } from './lib-strings';

export class Base64Namespace {}

function numeric(v: unknown): number {
  if (typeof v === 'bigint' || typeof v === 'number') return Number(v);
  return Number((v as { valueOf(): unknown }).valueOf());
}

/** cel-go prints durations in seconds with up to 9 fractional digits, e.g. "90s", "1.5s". */
function durationText(d: { seconds: bigint; nanos: number }): string {
  const negative = d.seconds < 0n || d.nanos < 0;
  const secs = d.seconds < 0n ? -d.seconds : d.seconds;
  const nanos = Math.abs(d.nanos);
  const frac = nanos ? '.' + String(nanos).padStart(9, '0').replace(/0+$/, '') : '';
  return `${negative ? '-' : ''}${secs}${frac}s`;
}

/** cel-go's string(x) for every convertible type. */
function toStringValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return goFormatDouble(v);
  if (typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (v instanceof UnsignedInt) return String(v.value);
  if (v instanceof Uint8Array) {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(v);
    } catch {
      throw new Error('invalid UTF-8 in bytes, cannot convert to string');
    }
  }
  if (v instanceof CelIP) return ipToString(v);
  if (v instanceof CelCIDR) return `${ipToString(v.ip)}/${v.prefix}`;
  // RFC 3339 with as many fractional digits as needed (Go's RFC3339Nano).
  if (v instanceof Date) return v.toISOString().replace(/\.?0+Z$/, 'Z');
  if (isCelDuration(v)) return durationText(v);
  throw new Error(`type conversion error from '${typeOfCel(v)}' to 'string'`);
}

/** The zero value of a CEL type (optional.ofNonZeroValue yields none for these). */
function isZeroValue(v: unknown): boolean {
  if (v === null || v === undefined || v === 0n || v === 0 || v === '' || v === false) return true;
  if (v instanceof UnsignedInt) return v.value === 0n;
  if (Array.isArray(v) || v instanceof Uint8Array) return v.length === 0;
  if (v instanceof Map) return v.size === 0;
  if (v instanceof Date) return v.getTime() === 0;
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) return Object.keys(v).length === 0;
  return false;
}

/** An optional entry of a list/map literal, until the literal unwraps it. */
class OptionalEntry {
  constructor(readonly value: Optional<unknown>) {}
}

function optionalEntry(v: unknown): OptionalEntry {
  if (!(v instanceof Optional)) throw new Error('optional entries in literals need an optional value (optional.of(x), x.?field, list[?i])');
  return new OptionalEntry(v);
}

function presentEntries(values: Iterable<[string, unknown]>): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const [k, v] of values) {
    if (!(v instanceof OptionalEntry)) out.push([k, v]);
    else if (v.value.hasValue()) out.push([k, v.value.value()]);
  }
  return out;
}

/** cel-go ext.Encoders: standard base64, falling back to the unpadded alphabet. */
function decodeBase64(s: string): Uint8Array {
  try {
    return base64Decode(s);
  } catch (err) {
    if (s.includes('=') || s.length % 4 === 0) throw new Error(`base64.decode: ${(err as Error).message}`);
    try {
      return base64Decode(s + '='.repeat(4 - (s.length % 4)));
    } catch {
      throw new Error(`base64.decode: ${(err as Error).message}`);
    }
  }
}

/** `encoders`: cel-go's ext.Encoders (base64), which Kyverno registers and the API server does not. */
export function registerCoreGaps(env: Environment, { encoders }: { encoders: boolean } = { encoders: true }): void {
  env
    .registerType('OptionalEntry', OptionalEntry)
    .registerFunction(`${OPT_ENTRY}(dyn): dyn`, (v: unknown) => optionalEntry(v))
    .registerFunction(`${OPT_LIST}(list): list`, (l: unknown[]) => presentEntries(l.map((v, i) => [String(i), v])).map(([, v]) => v))
    .registerFunction(`${OPT_MAP}(map): map`, (m: Record<string, unknown> | Map<string, unknown>) =>
      Object.fromEntries(presentEntries(m instanceof Map ? m.entries() : Object.entries(m))));
  env.registerFunction('OptionalNamespace.ofNonZeroValue(dyn): optional<dyn>', (_ns: unknown, v: unknown) => (isZeroValue(v) ? Optional.none() : Optional.of(v)));
  env.registerFunction(`${TO_STRING}(dyn): string`, (v: unknown) => toStringValue(v));
  // Registering == also provides != and the reversed operand order.
  env
    .registerOperator('int == double', (a: bigint, b: number) => numeric(a) === b)
    .registerOperator('int == uint', (a: bigint, b: unknown) => a === BigInt(numeric(b)))
    .registerOperator('uint == double', (a: unknown, b: number) => numeric(a) === b)
    // cel-go compares optionals: both empty, or both holding equal values.
    .registerOperator('optional<dyn> == optional<dyn>', (a: Optional<unknown>, b: Optional<unknown>) =>
      a.hasValue() === b.hasValue() && (!a.hasValue() || celEquals(a.value(), b.value())))
    .registerFunction('string(google.protobuf.Duration): string', (d: { seconds: bigint; nanos: number }) => durationText(d));
  if (!encoders) return;
  env
    .registerType('Base64Namespace', Base64Namespace)
    .registerConstant('base64', 'Base64Namespace', new Base64Namespace())
    .registerFunction('Base64Namespace.encode(bytes): string', (_ns: unknown, b: Uint8Array) => base64Encode(b))
    .registerFunction('Base64Namespace.decode(string): bytes', (_ns: unknown, s: string) => decodeBase64(s));
}
