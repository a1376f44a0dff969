/**
 * Kyverno's data CEL libraries (sdk/extensions/cel/libs): json (unmarshal, marshal), yaml
 * (parse), x509 (decode), hash (sha1, sha256, md5), random, transform (listObjToMap), gzip
 * (compress, decompress) and user (parseServiceAccount). Since Kyverno 1.18 most functions
 * also exist under their library's prefix (`hash.sha256`, `random.random`, ...) beside the
 * unprefixed name. Decoded documents keep Go's encoding/json typing: every number is a double.
 */
import type { Environment } from '@marcbachmann/cel-js';
import { Duration, UnsignedInt } from '@marcbachmann/cel-js/evaluator';
import { parse as parseYaml } from 'yaml';
import { md5Hex, sha1Hex, sha256Hex } from './hash';
import { chargeCost } from './budget';
import { chargeTextToParse } from '../core/budget';
import { goJsonUnmarshal } from '../core/go-json';
import { gzipCompress, gzipDecompress } from './gzip';
import { randomFromPattern } from '../jmespath/random';
import { x509Decode } from '../jmespath/x509';
import { base64Decode, goJsonMarshal } from '../jmespath/go-compat';
import { bigIntOf, readChildren as children, readDer } from '../crypto/der';
import { fromCel, isCelOptional, typeOfCel } from './values';

export class JsonLib {}
export class YamlLib {}
export class X509Namespace {}
export class HashNamespace {}
export class RandomNamespace {}
export class TransformNamespace {}
export class GzipNamespace {}
export class UserNamespace {}

/** Kyverno's user.ServiceAccount (an object type: only Name and Namespace exist). */
export class ServiceAccount {
  constructor(readonly Name: string, readonly Namespace: string) {}
}

/** Decoded JSON/YAML as cel-go sees it after encoding/json: numbers stay doubles (also http and global context mocks). */
export function asDocument(value: unknown): unknown {
  if (Array.isArray(value)) {
    chargeCost(value.length);
    return value.map(asDocument);
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = asDocument(v);
    chargeCost(Object.keys(out).length);
    return out;
  }
  if (typeof value === 'bigint') return Number(value);
  return value ?? null;
}

/** cel-go's ConvertToNative(string) failure for a dyn argument that is not a string. */
function notAString(v: unknown): Error {
  const type = typeOfCel(v);
  const text: Record<string, string> = {
    int: "unsupported type conversion from 'int' to string", uint: "unsupported type conversion from 'uint' to string",
    double: "type conversion error from Double to 'string'", bool: "type conversion error from bool to 'string'",
    bytes: "type conversion error from Bytes to 'string'", 'google.protobuf.Duration': "type conversion error from 'Duration' to 'string'",
    'google.protobuf.Timestamp': "type conversion error from 'Timestamp' to 'string'", null_type: "type conversion error from 'null_type' to 'string'",
    list: "type conversion error from list to 'string'", map: "type conversion error from map to 'string'",
  };
  return new Error(text[type] ?? `type conversion error from '${type}' to 'string'`);
}

function unmarshalJson(text: unknown): unknown {
  if (typeof text !== 'string') throw notAString(text);
  // Kyverno returns encoding/json's error as is.
  return asDocument(goJsonUnmarshal(text));
}

function parseYamlText(text: string): unknown {
  chargeTextToParse(text, 'yaml.parse');
  let doc: unknown;
  try {
    // sigs.k8s.io/yaml goes through go-yaml, which reads YAML 1.1 scalars (yes/no are booleans).
    doc = parseYaml(text, { version: '1.1', maxAliasCount: 100 });
  } catch (err) {
    throw new Error(`yaml.parse: ${(err as Error).message.split('\n')[0]}`);
  }
  return asDocument(doc);
}

/** The fields Kyverno's CEL x509.decode keeps for a certificate (CertificateOutput). */
const CERTIFICATE_FIELDS = [
  'Raw', 'RawTBSCertificate', 'RawSubjectPublicKeyInfo', 'RawSubject', 'RawIssuer', 'Signature', 'PublicKeyAlgorithm',
  'PublicKey', 'SerialNumber', 'Issuer', 'NotBefore', 'NotAfter', 'KeyUsage', 'Extensions', 'ExtraExtensions', 'ExtKeyUsage',
  'BasicConstraintsValid', 'IsCA', 'MaxPathLen', 'MaxPathLenZero', 'AuthorityKeyId', 'OCSPServer', 'IssuingCertificateURL',
  'DNSNames', 'EmailAddresses', 'IPAddresses', 'PermittedDNSDomainsCritical', 'PermittedDNSDomains', 'ExcludedDNSDomains',
  'PermittedIPRanges', 'ExcludedIPRanges', 'PermittedEmailAddresses', 'ExcludedEmailAddresses', 'PermittedURIDomains',
  'ExcludedURIDomains', 'CRLDistributionPoints', 'PolicyIdentifiers',
];

const RSA = 1;

function decodeX509(pem: string): unknown {
  const decoded = x509Decode(pem) as Record<string, unknown>;
  if (decoded.PublicKeyAlgorithm !== RSA) throw new Error('certificate should use rsa algorithm');
  const isCertificate = /-----BEGIN CERTIFICATE-----/.test(pem) && 'RawTBSCertificate' in decoded;
  if (!isCertificate) return asDocument(decoded);
  const out: Record<string, unknown> = {};
  for (const k of CERTIFICATE_FIELDS) out[k] = decoded[k] ?? null;
  out.SerialNumber = int64Serial(String(decoded.RawTBSCertificate));
  return asDocument(out);
}

/**
 * CertificateOutput.SerialNumber is cert.SerialNumber.Int64(): the low 64 bits of the
 * magnitude as an int64, negated for a negative serial (certificates carry up to 20 bytes).
 */
function int64Serial(rawTbsBase64: string): number {
  const parts = children(readDer(base64Decode(rawTbsBase64)));
  const serial = bigIntOf(parts[parts[0].tag === 0xa0 ? 1 : 0].content);
  const low = BigInt.asIntN(64, serial < 0n ? -serial : serial);
  return Number(BigInt.asIntN(64, serial < 0n ? -low : low));
}

/** Nanoseconds of a CEL duration (Go's time.Duration marshals as its int64 nanoseconds). */
function durationNanos(d: Duration): bigint {
  return d.seconds * 1_000_000_000n + BigInt(d.nanos);
}

/** A CEL value as the Go value json.Marshal sees (JSON numbers keep int64 precision as bigint). */
function toMarshalable(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  if (v instanceof UnsignedInt) return v.value;
  if (v instanceof Duration) return durationNanos(v);
  // time.Time marshals as RFC 3339 with only the fractional digits needed; []byte as base64.
  if (v instanceof Date) return v.toISOString().replace(/\.?0+Z$/, 'Z');
  if (v instanceof Uint8Array) return fromCel(v);
  if (isCelOptional(v)) return v.hasValue() ? toMarshalable(v.value()) : null;
  if (Array.isArray(v)) {
    chargeCost(v.length);
    return v.map(toMarshalable);
  }
  const entries = v instanceof Map ? [...v.entries()] : Object.entries(v as object);
  chargeCost(entries.length);
  const out: Record<string, unknown> = {};
  for (const [k, x] of entries) {
    if (typeof k !== 'string') throw new Error(`unsupported type conversion from '${typeOfCel(k)}' to string`);
    out[k] = toMarshalable(x);
  }
  return out;
}

/**
 * json.marshal: encoding/json's output (sorted keys, HTML-safe escapes). A bare null reaches
 * json.Marshal as cel-go's protobuf NullValue enum, which encodes as 0. Inside maps and lists
 * cel-go passes values from the resource (JSON) through, so their nulls stay null; values of a
 * CEL map literal would reach Go as cel-go's own types, which we do not tell apart.
 */
function marshalJson(v: unknown): string {
  if (v === null || v === undefined) return '0';
  return goJsonMarshal(toMarshalable(v));
}

/** parseServiceAccount: "system:serviceaccount:<namespace>:<name>", the name keeps later colons. */
function parseServiceAccount(username: string): ServiceAccount {
  const prefix = 'system:serviceaccount:';
  if (!username.startsWith(prefix)) return new ServiceAccount('', '');
  const rest = username.slice(prefix.length);
  const sep = rest.indexOf(':');
  return sep < 0 ? new ServiceAccount('', '') : new ServiceAccount(rest.slice(sep + 1), rest.slice(0, sep));
}

function gzipDecompressText(data: Uint8Array): string {
  const out = gzipDecompress(data);
  chargeCost(out.length);
  // Go's string(bytes) keeps invalid UTF-8 bytes; the nearest JavaScript string replaces them.
  return new TextDecoder().decode(out);
}

function gzipCompressText(value: unknown): Uint8Array {
  if (typeof value !== 'string') throw notAString(value);
  const bytes = new TextEncoder().encode(value);
  chargeCost(bytes.length);
  return gzipCompress(bytes);
}

/** listObjToMap(keys, values, keyField, valueField): {keys[i][keyField]: values[i][valueField]}. */
function listObjToMap(keys: unknown[], values: unknown[], keyName: string, valueName: string): Record<string, unknown> {
  if (keys.length !== values.length) throw new Error(`listObjToMap must take lists of equal length. list1: ${keys.length}, list2: ${values.length}`);
  chargeCost(keys.length);
  const out: Record<string, unknown> = {};
  keys.forEach((entry, i) => {
    const k = entry && typeof entry === 'object' ? (entry as Record<string, unknown>)[keyName] : undefined;
    if (typeof k !== 'string') throw new Error('the passed key name cannot be handled as a string in the key object list');
    const value = values[i];
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('object cannot be handled as a map string to any in the value object list');
    out[k] = (value as Record<string, unknown>)[valueName] ?? null;
  });
  return out;
}

export function registerDataLibraries(env: Environment): void {
  env
    .registerType('json.Json', JsonLib)
    .registerType('yaml.Yaml', YamlLib)
    .registerType('X509Namespace', X509Namespace)
    .registerType('HashNamespace', HashNamespace)
    .registerType('RandomNamespace', RandomNamespace)
    .registerType('TransformNamespace', TransformNamespace)
    .registerType('GzipNamespace', GzipNamespace)
    .registerType('UserNamespace', UserNamespace)
    .registerType('user.ServiceAccount', { ctor: ServiceAccount, fields: { Name: 'string', Namespace: 'string' } })
    .registerConstant('json', 'json.Json', new JsonLib())
    .registerConstant('yaml', 'yaml.Yaml', new YamlLib())
    .registerConstant('x509', 'X509Namespace', new X509Namespace())
    .registerConstant('hash', 'HashNamespace', new HashNamespace())
    .registerConstant('random', 'RandomNamespace', new RandomNamespace())
    .registerConstant('transform', 'TransformNamespace', new TransformNamespace())
    .registerConstant('gzip', 'GzipNamespace', new GzipNamespace())
    .registerConstant('user', 'UserNamespace', new UserNamespace())
    .registerFunction('json.Json.unmarshal(dyn): dyn', (_l: unknown, s: unknown) => unmarshalJson(s))
    .registerFunction('json.Json.marshal(dyn): string', (_l: unknown, v: unknown) => marshalJson(v))
    .registerFunction('yaml.Yaml.parse(string): dyn', (_l: unknown, s: string) => parseYamlText(s))
    .registerFunction('X509Namespace.decode(string): dyn', (_l: unknown, s: string) => decodeX509(s))
    .registerFunction('GzipNamespace.decompress(bytes): string', (_ns: unknown, b: Uint8Array) => gzipDecompressText(b))
    .registerFunction('GzipNamespace.compress(dyn): bytes', (_ns: unknown, v: unknown) => gzipCompressText(v));
  const both = (name: string, params: string, ret: string, ns: string, fn: (...args: never[]) => unknown) => {
    env.registerFunction(`${name}(${params}): ${ret}`, fn as (...args: unknown[]) => unknown);
    env.registerFunction(`${ns}.${name}(${params}): ${ret}`, ((_ns: unknown, ...args: never[]) => fn(...args)) as (...args: unknown[]) => unknown);
  };
  both('sha1', 'string', 'string', 'HashNamespace', (s: string) => sha1Hex(s));
  both('sha256', 'string', 'string', 'HashNamespace', (s: string) => sha256Hex(s));
  both('md5', 'string', 'string', 'HashNamespace', (s: string) => md5Hex(s));
  both('random', '', 'string', 'RandomNamespace', () => randomFromPattern('[0-9a-z]{8}'));
  both('random', 'string', 'string', 'RandomNamespace', (p: string) => randomFromPattern(p));
  both('listObjToMap', 'list, list, string, string', 'map', 'TransformNamespace', (a: unknown[], b: unknown[], k: string, v: string) =>
    listObjToMap(a.map(fromCelShallow), b.map(fromCelShallow), k, v));
  both('parseServiceAccount', 'string', 'user.ServiceAccount', 'UserNamespace', (s: string) => parseServiceAccount(s));
}

/** Entries handed to listObjToMap may be cel-js Maps; their values are kept as CEL values. */
function fromCelShallow(v: unknown): unknown {
  if (v instanceof Map) return Object.fromEntries([...v.entries()].map(([k, x]) => [String(k), x]));
  return isCelOptional(v) ? fromCel(v) : v;
}
