/**
 * Kyverno's data CEL libraries (pkg/cel/libs): json.unmarshal, yaml.parse, md5/sha1/sha256,
 * random, x509.decode, time_* helpers, listObjToMap and jmespath(query, value) (the engine's
 * JMESPath, which also knows Kyverno's custom functions). Decoded documents keep Go's
 * encoding/json typing: every number is a double.
 */
import type { Environment } from '@marcbachmann/cel-js';
import { parse as parseYaml } from 'yaml';
import { md5Hex, sha1Hex, sha256Hex } from './hash';
import { CelCostError, chargeCost } from './budget';
import { randomFromPattern } from '../jmespath/random';
import { x509Decode } from '../jmespath/x509';
import { timeAdd, timeAfter, timeBefore, timeDiff, timeNow, timeNowUtc, timeParse } from '../jmespath/functions-time';
import { jmesSearch } from '../jmespath';
import { fromCel, toCel, isCelOptional } from './values';

export class JsonLib {}
export class YamlLib {}
export class X509Namespace {}

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

function unmarshalJson(text: string): unknown {
  try {
    return asDocument(JSON.parse(text));
  } catch (err) {
    if (err instanceof CelCostError) throw err;
    throw new Error(`json.unmarshal: ${(err as Error).message}`);
  }
}

function parseYamlText(text: string): unknown {
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
  return asDocument(out);
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
    .registerType('JsonLib', JsonLib)
    .registerType('YamlLib', YamlLib)
    .registerType('X509Namespace', X509Namespace)
    .registerConstant('json', 'JsonLib', new JsonLib())
    .registerConstant('yaml', 'YamlLib', new YamlLib())
    .registerConstant('x509', 'X509Namespace', new X509Namespace())
    .registerFunction('JsonLib.unmarshal(string): dyn', (_l: unknown, s: string) => unmarshalJson(s))
    .registerFunction('YamlLib.parse(string): dyn', (_l: unknown, s: string) => parseYamlText(s))
    .registerFunction('X509Namespace.decode(string): dyn', (_l: unknown, s: string) => decodeX509(s))
    .registerFunction('md5(string): string', (s: string) => md5Hex(s))
    .registerFunction('sha1(string): string', (s: string) => sha1Hex(s))
    .registerFunction('sha256(string): string', (s: string) => sha256Hex(s))
    .registerFunction('random(): string', () => randomFromPattern('[0-9a-z]{8}'))
    .registerFunction('random(string): string', (p: string) => randomFromPattern(p))
    .registerFunction('listObjToMap(list, list, string, string): map', (a: unknown[], b: unknown[], k: string, v: string) =>
      listObjToMap(a.map(fromCelShallow), b.map(fromCelShallow), k, v))
    .registerFunction('jmespath(string, dyn): dyn', (query: string, value: unknown) => {
      try {
        return toCel(jmesSearch(query, fromCel(value)));
      } catch (err) {
        throw new Error(`jmespath evaluation failed: ${(err as Error).message}`);
      }
    })
    .registerFunction('time_now(): string', () => timeNow())
    .registerFunction('time_now_utc(): string', () => timeNowUtc())
    .registerFunction('time_parse(string, string): string', (layout: string, value: string) => timeParse([layout, value]))
    .registerFunction('time_add(string, string): string', (t: string, d: string) => timeAdd([t, d]))
    .registerFunction('time_diff(string, string): string', (a: string, b: string) => timeDiff([a, b]))
    .registerFunction('time_before(string, string): bool', (a: string, b: string) => timeBefore([a, b]))
    .registerFunction('time_after(string, string): bool', (a: string, b: string) => timeAfter([a, b]));
}

/** Entries handed to listObjToMap may be cel-js Maps; their values are kept as CEL values. */
function fromCelShallow(v: unknown): unknown {
  if (v instanceof Map) return Object.fromEntries([...v.entries()].map(([k, x]) => [String(k), x]));
  return isCelOptional(v) ? fromCel(v) : v;
}
