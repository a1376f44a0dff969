/**
 * The Kyverno custom JMESPath functions (pkg/engine/jmespath/functions.go, time.go):
 * names, argument types, notes and handlers in one table, used both to register
 * them and to document them.
 */
import { goJsonUnmarshal } from '../core/go-json';
import { chargeTextToParse } from '../core/budget';
import YAML from 'yaml';
import { regexMatches, regexReplaceAll, regexReplaceAllLiteral, RegexError } from '../regex';
import { wildcardMatch } from '../wildcard/wildcard';
import {
  argTypeError,
  base64Decode,
  base64Encode,
  fnError,
  goCompare,
  goEqualFold,
  goPathJoin,
  goReplace,
  goSplit,
  goToLower,
  goToUpper,
  goTrim,
  ifaceToString,
  JmespathError,
  utf8Bytes,
  utf8String,
} from './go-compat';
import { kyvernoAdd, kyvernoDivide, kyvernoModulo, kyvernoMultiply, kyvernoRound, kyvernoSubtract, kyvernoSum } from './functions-arithmetic';
import * as time from './functions-time';
import { parseRange, SemverError, tryParseVersion, ZERO_VERSION } from '../units/semver';
import { getImageInfo, imageInfoString, ImageReferenceError } from '../images/image-info';
import { randomFromPattern } from './random';
import { x509Decode } from './x509';
import { isJsonObject } from '../core/json';
import { md5Hex, sha1Hex, sha256Hex } from '../cel/hash';
import { parseIP } from '../cel/lib-network';

/**
 * The host of a URL as Go's url.Parse + Hostname() give it: the authority after `scheme://`
 * without user info, port or IPv6 brackets; '' when the text has no authority.
 */
function urlHostname(text: string): string {
  const at = text.indexOf('://');
  if (at < 0 || !/^[A-Za-z][A-Za-z0-9+.-]*$/.test(text.slice(0, at))) return '';
  const authority = text.slice(at + 3).split(/[/?#]/)[0];
  const host = authority.slice(authority.lastIndexOf('@') + 1);
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']') >= 0 ? host.indexOf(']') : undefined);
  const colon = host.lastIndexOf(':');
  return colon >= 0 ? host.slice(0, colon) : host;
}

/**
 * is_external_url: false for loopback and private addresses (Go's IP.IsLoopback/IsPrivate).
 * Kyverno resolves host names through DNS; the engine is offline, so a name is an error
 * (as Kyverno's is when the lookup fails) instead of a guess.
 */
function isExternalUrl(text: string): boolean {
  const host = urlHostname(text);
  const ip = parseIP(host);
  if (!ip) throw fnError('is_external_url', `lookup ${host}: resolving host names needs the network, which the offline engine does not use`);
  let b = ip.bytes;
  // An IPv4-mapped IPv6 address is judged as IPv4, as Go's To4 does.
  if (b.length === 16 && b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) b = b.slice(12);
  const loopback = b.length === 4 ? b[0] === 127 : b.slice(0, 15).every((x) => x === 0) && b[15] === 1;
  const isPrivate = b.length === 4 ? b[0] === 10 || (b[0] === 172 && (b[1] & 0xf0) === 16) || (b[0] === 192 && b[1] === 168) : (b[0] & 0xfe) === 0xfc;
  return !(loopback || isPrivate);
}

export type ArgType = 'any' | 'string' | 'number' | 'boolean' | 'array' | 'object' | 'array[string]';

export interface KyvernoFunction {
  name: string;
  args: ArgType[][];
  returns: ArgType;
  note: string;
  handler: (args: unknown[]) => unknown;
}

const MAX_STRING_RESULT = 16 * 1024 * 1024;

function bounded(fn: string, s: string): string {
  if (s.length > MAX_STRING_RESULT) throw fnError(fn, 'result is too large');
  return s;
}

function stringOrNumber(fn: string, v: unknown, index: number): string {
  const s = ifaceToString(v);
  if (s === null) throw argTypeError(fn, index, 'String or Real');
  return s;
}

function regexCall<T>(fn: string, run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (e instanceof RegexError) throw fnError(fn, e.message);
    throw e;
  }
}

/** Go's `!=` on interface values: primitives by value; maps and slices cannot be compared. */
function goInterfaceEqual(a: unknown, b: unknown): boolean {
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    throw new JmespathError(`runtime error: comparing uncomparable type ${Array.isArray(a) ? '[]interface {}' : 'map[string]interface {}'}`);
  }
  return a === b;
}

export function parseYamlAsJson(text: string): unknown {
  chargeTextToParse(text, 'parse_yaml');
  const docs = YAML.parseAllDocuments(text, {
    version: '1.1',
    // yaml.v2 (sigs.k8s.io/yaml) keeps timestamps as strings when decoding into interface{}.
    customTags: (tags) => tags.filter((t) => typeof t === 'object' && t.tag !== 'tag:yaml.org,2002:timestamp'),
  });
  const list = Array.isArray(docs) ? docs : [docs];
  if (list.length === 0) return null;
  const doc = list[0];
  if (doc.errors.length > 0) throw new JmespathError(`error converting YAML to JSON: yaml: ${doc.errors[0].message}`);
  if (!text.endsWith('\n')) {
    // A clipped block scalar ending the input has no line break to keep (yaml.v2); the JS parser adds one.
    YAML.visit(doc, {
      Scalar(_key, node) {
        const block = node.type === 'BLOCK_FOLDED' || node.type === 'BLOCK_LITERAL';
        if (block && node.range && node.range[1] >= text.length && typeof node.value === 'string' && node.value.endsWith('\n')) {
          node.value = node.value.slice(0, -1);
        }
      },
    });
  }
  return toJsonValue(doc.toJS({ maxAliasCount: 100 }));
}

function toJsonValue(v: unknown): unknown {
  if (v instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, val] of v) out[String(k)] = toJsonValue(val);
    return out;
  }
  if (v instanceof Set) return Object.fromEntries([...v].map((k) => [String(k), null]));
  if (Array.isArray(v)) return v.map(toJsonValue);
  if (v instanceof Uint8Array) return base64Encode(v);
  if (isJsonObject(v)) return Object.fromEntries(Object.entries(v).map(([k, val]) => [k, toJsonValue(val)]));
  if (typeof v === 'bigint') return Number(v);
  if (v === undefined) return null;
  return v;
}

function intArg(fn: string, f: number): number {
  if (!Number.isFinite(f) || Math.trunc(f) !== f) {
    throw new JmespathError(`JMESPath function '${fn}': argument #2: expected an integer number but got: ${f}`);
  }
  return f;
}

const s = (i: number) => (args: unknown[]) => args[i] as string;

export const KYVERNO_FUNCTIONS: KyvernoFunction[] = [
  { name: 'compare', args: [['string'], ['string']], returns: 'number', note: 'compares two strings lexicographically', handler: (a) => goCompare(s(0)(a), s(1)(a)) },
  { name: 'equal_fold', args: [['string'], ['string']], returns: 'boolean', note: 'allows comparing two strings for equivalency where the only differences are letter cases', handler: (a) => goEqualFold(s(0)(a), s(1)(a)) },
  { name: 'replace', args: [['string'], ['string'], ['string'], ['number']], returns: 'string', note: 'replaces a specified number of instances of the source string with the replacement string in a parent', handler: (a) => bounded('replace', goReplace(s(0)(a), s(1)(a), s(2)(a), Math.trunc(a[3] as number))) },
  { name: 'replace_all', args: [['string'], ['string'], ['string']], returns: 'string', note: 'replace all instances of one string with another in an overall parent string', handler: (a) => bounded('replace_all', goReplace(s(0)(a), s(1)(a), s(2)(a), -1)) },
  { name: 'to_upper', args: [['string']], returns: 'string', note: 'takes in a string and outputs the same string with all upper-case letters', handler: (a) => goToUpper(s(0)(a)) },
  { name: 'to_lower', args: [['string']], returns: 'string', note: 'takes in a string and outputs the same string with all lower-case letters', handler: (a) => goToLower(s(0)(a)) },
  { name: 'trim', args: [['string'], ['string']], returns: 'string', note: 'trims both ends of the source string by characters appearing in the second string', handler: (a) => goTrim(s(0)(a), s(1)(a)) },
  { name: 'trim_prefix', args: [['string'], ['string']], returns: 'string', note: 'trims the second string prefix from the first string if the first string starts with the prefix', handler: (a) => (s(0)(a).startsWith(s(1)(a)) ? s(0)(a).slice(s(1)(a).length) : s(0)(a)) },
  { name: 'split', args: [['string'], ['string']], returns: 'array[string]', note: 'splits the first string when the second string is found and converts it into an array', handler: (a) => goSplit(s(0)(a), s(1)(a)) },
  { name: 'regex_replace_all', args: [['string'], ['string', 'number'], ['string', 'number']], returns: 'string', note: 'converts all parameters to string', handler: (a) => regexCall('regex_replace_all', () => bounded('regex_replace_all', regexReplaceAll(s(0)(a), stringOrNumber('regex_replace_all', a[1], 2), stringOrNumber('regex_replace_all', a[2], 3)))) },
  { name: 'regex_replace_all_literal', args: [['string'], ['string', 'number'], ['string', 'number']], returns: 'string', note: 'converts all parameters to string', handler: (a) => regexCall('regex_replace_all_literal', () => bounded('regex_replace_all_literal', regexReplaceAllLiteral(s(0)(a), stringOrNumber('regex_replace_all_literal', a[1], 2), stringOrNumber('regex_replace_all_literal', a[2], 3)))) },
  // Kyverno returns the raw regexp error for regex_match (no function prefix).
  { name: 'regex_match', args: [['string'], ['string', 'number']], returns: 'boolean', note: 'first string is the regular exression which is compared with second input which can be a number or string', handler: (a) => {
    const src = stringOrNumber('regex_match', a[1], 2);
    try {
      return regexMatches(s(0)(a), src);
    } catch (e) {
      if (e instanceof RegexError) throw new JmespathError(e.message);
      throw e;
    }
  } },
  { name: 'pattern_match', args: [['string'], ['string', 'number']], returns: 'boolean', note: "'*' matches zero or more alphanumeric characters, '?' matches a single alphanumeric character", handler: (a) => wildcardMatch(s(0)(a), stringOrNumber('regex_match', a[1], 2)) },
  { name: 'label_match', args: [['object'], ['object']], returns: 'boolean', note: 'object arguments must be enclosed in backticks; ex. `{{request.object.spec.template.metadata.labels}}`', handler: (a) => {
    const [labels, match] = a as [Record<string, unknown>, Record<string, unknown>];
    return Object.entries(labels).every(([k, v]) => Object.prototype.hasOwnProperty.call(match, k) && goInterfaceEqual(match[k], v));
  } },
  { name: 'to_boolean', args: [['string']], returns: 'boolean', note: "It returns true or false for any string, such as 'True', 'TruE', 'False', 'FAlse', 'faLSE', etc.", handler: (a) => {
    const v = goToLower(s(0)(a));
    if (v === 'true') return true;
    if (v === 'false') return false;
    throw fnError('to_boolean', `lowercase argument must be 'true' or 'false' (provided: '${s(0)(a)}')`);
  } },
  { name: 'add', args: [['any'], ['any']], returns: 'any', note: 'does arithmetic addition of two specified values of numbers, quantities, and durations', handler: (a) => kyvernoAdd(a) },
  { name: 'sum', args: [['array']], returns: 'any', note: 'does arithmetic addition of specified array of values of numbers, quantities, and durations', handler: kyvernoSum },
  { name: 'subtract', args: [['any'], ['any']], returns: 'any', note: 'does arithmetic subtraction of two specified values of numbers, quantities, and durations', handler: kyvernoSubtract },
  { name: 'multiply', args: [['any'], ['any']], returns: 'any', note: 'does arithmetic multiplication of two specified values of numbers, quantities, and durations', handler: kyvernoMultiply },
  { name: 'divide', args: [['any'], ['any']], returns: 'any', note: 'divisor must be non zero', handler: kyvernoDivide },
  { name: 'modulo', args: [['any'], ['any']], returns: 'any', note: 'divisor must be non-zero, arguments must be integers', handler: kyvernoModulo },
  { name: 'round', args: [['number'], ['number']], returns: 'number', note: 'does roundoff to upto the given decimal places', handler: kyvernoRound },
  { name: 'base64_decode', args: [['string']], returns: 'string', note: 'decodes a base 64 string', handler: (a) => utf8String(base64Decode(s(0)(a))) },
  { name: 'base64_encode', args: [['string']], returns: 'string', note: 'encodes a regular, plaintext and unencoded string to base64', handler: (a) => base64Encode(utf8Bytes(s(0)(a))) },
  { name: 'time_since', args: [['string'], ['string'], ['string']], returns: 'string', note: 'calculate the difference between a start and end period of time where the end may either be a static definition or the then-current time', handler: time.timeSince },
  { name: 'time_now', args: [], returns: 'string', note: 'returns current time in RFC 3339 format', handler: time.timeNow },
  { name: 'time_now_utc', args: [], returns: 'string', note: 'returns current UTC time in RFC 3339 format', handler: time.timeNowUtc },
  { name: 'path_canonicalize', args: [['string']], returns: 'string', note: 'normalizes or canonicalizes a given path by removing excess slashes', handler: (a) => goPathJoin(s(0)(a)) },
  { name: 'truncate', args: [['string'], ['number']], returns: 'string', note: 'length argument must be enclosed in backticks; ex. "{{request.object.metadata.name | truncate(@, `9`)}}"', handler: (a) => {
    const n = Math.max(0, Math.trunc(a[1] as number));
    const runes = Array.from(s(0)(a));
    return runes.length > n ? runes.slice(0, n).join('') : s(0)(a);
  } },
  { name: 'semver_compare', args: [['string'], ['string']], returns: 'boolean', note: 'compares two strings which comply with the semantic versioning schema and outputs a boolean response as to the position of the second relative to the first', handler: (a) => {
    // Kyverno ignores the version's parse error and compares 0.0.0.
    const version = tryParseVersion(s(0)(a)) ?? ZERO_VERSION;
    try {
      return parseRange(s(1)(a))(version);
    } catch (e) {
      // The range's error goes out as blang words it (no function prefix), as in Kyverno.
      throw e instanceof SemverError ? new JmespathError(e.message) : e;
    }
  } },
  { name: 'parse_json', args: [['string']], returns: 'any', note: 'decodes a valid JSON encoded string to the appropriate type. Opposite of `to_string` function', handler: (a) => {
    try {
      return goJsonUnmarshal(s(0)(a));
    } catch (e) {
      // Kyverno returns encoding/json's error as is.
      throw new JmespathError((e as Error).message);
    }
  } },
  { name: 'parse_yaml', args: [['string']], returns: 'any', note: 'decodes a valid YAML encoded string to the appropriate type provided it can be represented as JSON', handler: (a) => parseYamlAsJson(s(0)(a)) },
  { name: 'lookup', args: [['object', 'array'], ['string', 'number']], returns: 'any', note: 'returns the value corresponding to the given key/index in the given object/array', handler: (a) => {
    const [input, key] = a;
    if (Array.isArray(input)) {
      if (typeof key !== 'number') throw argTypeError('lookup', 2, 'Number');
      const i = intArg('lookup', key);
      return i < 0 || i > input.length - 1 ? null : input[i];
    }
    if (typeof key !== 'string') throw argTypeError('lookup', 2, 'String');
    const obj = input as Record<string, unknown>;
    return Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : null;
  } },
  { name: 'items', args: [['object', 'array'], ['string'], ['string']], returns: 'array', note: 'converts a map or array to an array of objects where each key:value is an item in the array', handler: (a) => {
    const [input, keyName, valName] = a as [unknown, string, string];
    if (Array.isArray(input)) return input.map((v, i) => ({ [keyName]: i, [valName]: v }));
    const obj = input as Record<string, unknown>;
    return Object.keys(obj).sort(goCompare).map((k) => ({ [keyName]: k, [valName]: obj[k] }));
  } },
  { name: 'object_from_lists', args: [['array'], ['array']], returns: 'object', note: 'converts a pair of lists containing keys and values to an object', handler: (a) => {
    const [keys, values] = a as [unknown[], unknown[]];
    const out: Record<string, unknown> = {};
    keys.forEach((k, i) => {
      const key = ifaceToString(k);
      if (key === null) throw argTypeError('object_from_lists', 1, 'StringArray');
      out[key] = i < values.length ? values[i] : null;
    });
    return out;
  } },
  { name: 'random', args: [['string']], returns: 'string', note: 'Generates a random sequence of characters', handler: (a) => randomFromPattern(s(0)(a)) },
  { name: 'x509_decode', args: [['string']], returns: 'object', note: 'decodes an x.509 certificate to an object. you may also use this in conjunction with `base64_decode` jmespath function to decode a base64-encoded certificate', handler: (a) => x509Decode(s(0)(a)) },
  { name: 'time_to_cron', args: [['string']], returns: 'string', note: 'converts a time (RFC 3339) to a cron expression (string).', handler: time.timeToCron },
  { name: 'time_add', args: [['string'], ['string']], returns: 'string', note: 'adds duration (second string) to a time value (first string)', handler: time.timeAdd },
  { name: 'time_parse', args: [['string'], ['string']], returns: 'string', note: 'changes a time value of a given layout to RFC 3339', handler: time.timeParse },
  { name: 'time_utc', args: [['string']], returns: 'string', note: 'calcutes time in UTC from a given time in RFC 3339 format', handler: time.timeUtc },
  { name: 'time_diff', args: [['string'], ['string']], returns: 'string', note: 'calculate the difference between a start and end date in RFC3339 format', handler: time.timeDiff },
  { name: 'time_before', args: [['string'], ['string']], returns: 'boolean', note: 'checks if a time is before another time, both in RFC3339 format', handler: time.timeBefore },
  { name: 'time_after', args: [['string'], ['string']], returns: 'boolean', note: 'checks if a time is after another time, both in RFC3339 format', handler: time.timeAfter },
  { name: 'time_between', args: [['string'], ['string'], ['string']], returns: 'boolean', note: 'checks if a time is between a start and end time, all in RFC3339 format', handler: time.timeBetween },
  { name: 'time_truncate', args: [['string'], ['string']], returns: 'string', note: 'returns the result of rounding time down to a multiple of duration', handler: time.timeTruncate },
  { name: 'image_normalize', args: [['string']], returns: 'string', note: 'normalizes an image reference', handler: (a) => {
    try {
      return imageInfoString(getImageInfo(s(0)(a)));
    } catch (e) {
      throw e instanceof ImageReferenceError ? fnError('image_normalize', e.message) : e;
    }
  } },
  { name: 'is_external_url', args: [['string']], returns: 'boolean', note: 'determine if a URL points to an external network address', handler: (a) => isExternalUrl(s(0)(a)) },
  // Kyverno's note for sha256 is the one it gives (it describes the function's usual purpose).
  { name: 'sha256', args: [['string']], returns: 'string', note: 'generate unique resources name if length exceeds the limit', handler: (a) => sha256Hex(s(0)(a)) },
  { name: 'sha1', args: [['string']], returns: 'string', note: 'generate a SHA-1 hash', handler: (a) => sha1Hex(s(0)(a)) },
  { name: 'md5', args: [['string']], returns: 'string', note: 'generates an MD5 hash', handler: (a) => md5Hex(s(0)(a)) },
];
