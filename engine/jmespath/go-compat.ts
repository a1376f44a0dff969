/**
 * Go standard-library behaviours Kyverno's JMESPath functions rely on (strings,
 * strconv, encoding/json, encoding/base64, path/filepath), reproduced in pure JS.
 */
import { goPathClean } from '../core/go-path';

export class JmespathError extends Error {}

export function fnError(fn: string, detail: string): JmespathError {
  return new JmespathError(`JMESPath function '${fn}': ${detail}`);
}

export function argTypeError(fn: string, index: number, type: string): JmespathError {
  return fnError(fn, `argument #${index} is not of type ${type}`);
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: false });

export function utf8Bytes(s: string): Uint8Array {
  return utf8Encoder.encode(s);
}

export function utf8String(bytes: Uint8Array): string {
  return utf8Decoder.decode(bytes);
}

/**
 * strings.Compare: byte order of UTF-8, which is code point order. UTF-16 code units agree
 * with it except at the first difference between a surrogate (a code point past U+FFFF) and
 * a unit from U+E000 up, so only that difference is remapped (no per-call arrays: sort calls
 * this n log n times).
 */
export function goCompare(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x < y ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** unicode.ToUpper/ToLower per rune: Go never expands one rune into several ("ß" stays "ß"). */
function mapRunes(s: string, f: (c: string) => string): string {
  let out = '';
  for (const c of s) {
    const m = f(c);
    out += Array.from(m).length === 1 ? m : c;
  }
  return out;
}

export function goToUpper(s: string): string {
  return mapRunes(s, (c) => c.toUpperCase());
}

export function goToLower(s: string): string {
  return mapRunes(s, (c) => c.toLowerCase());
}

/** strings.EqualFold: rune-wise simple case folding. */
export function goEqualFold(a: string, b: string): boolean {
  const ca = Array.from(a);
  const cb = Array.from(b);
  if (ca.length !== cb.length) return false;
  for (let i = 0; i < ca.length; i++) {
    const x = ca[i];
    const y = cb[i];
    if (x === y) continue;
    if (goToLower(x) === goToLower(y) || goToUpper(x) === goToUpper(y)) continue;
    return false;
  }
  return true;
}

/** strings.Trim(s, cutset). */
export function goTrim(s: string, cutset: string): string {
  if (s === '' || cutset === '') return s;
  const cut = new Set(Array.from(cutset));
  const runes = Array.from(s);
  let start = 0;
  let end = runes.length;
  while (start < end && cut.has(runes[start])) start++;
  while (end > start && cut.has(runes[end - 1])) end--;
  return runes.slice(start, end).join('');
}

/** strings.Split(s, sep). */
export function goSplit(s: string, sep: string): string[] {
  if (sep === '') return Array.from(s);
  return s.split(sep);
}

/** strings.Replace(s, old, new, n); n < 0 replaces every occurrence. */
export function goReplace(s: string, old: string, repl: string, n: number): string {
  if (old === repl || n === 0) return s;
  if (old === '') {
    const runes = Array.from(s);
    let out = '';
    let done = 0;
    for (let i = 0; i <= runes.length; i++) {
      if (n < 0 || done < n) {
        out += repl;
        done++;
      }
      if (i < runes.length) out += runes[i];
    }
    return out;
  }
  let out = '';
  let pos = 0;
  let done = 0;
  while (n < 0 || done < n) {
    const at = s.indexOf(old, pos);
    if (at < 0) break;
    out += s.slice(pos, at) + repl;
    pos = at + old.length;
    done++;
  }
  return out + s.slice(pos);
}

/** Expands JS exponent notation ("1.5e+21") into plain digits, as Go's 'f' format prints. */
function plainDecimal(s: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) return s;
  const [, sign, int, frac = '', expStr] = m;
  const exp = Number(expStr);
  const digits = int + frac;
  const point = int.length + exp;
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`.replace(/\.?0+$/, '');
  if (point >= digits.length) return sign + digits + '0'.repeat(point - digits.length);
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** strconv.FormatFloat(f, 'f', -1, 32): shortest digits that round-trip through float32. */
export function formatFloat32(f: number): string {
  const x = Math.fround(f);
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'NaN' : x > 0 ? '+Inf' : '-Inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  for (let p = 1; p <= 9; p++) {
    const candidate = Number(x.toPrecision(p));
    if (Math.fround(candidate) === x) return plainDecimal(String(candidate));
  }
  return plainDecimal(String(x));
}

/** Go's fmt "%v" for float64: strconv 'g' shortest, exponent form below 1e-4 and from 1e6 ("1e+06"). */
export function formatFloatV(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (!Number.isFinite(f)) return f > 0 ? '+Inf' : '-Inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  const [mant, e] = f.toExponential().split('e');
  const exp = Number(e);
  if (exp < -4 || exp >= 6) {
    const n = Math.abs(exp);
    return `${mant}e${exp < 0 ? '-' : '+'}${n < 10 ? '0' + n : n}`;
  }
  return plainDecimal(String(f));
}

/** Go ifaceToString (Kyverno utility): numbers print as float32, booleans as true/false. */
export function ifaceToString(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return formatFloat32(v);
  if (typeof v === 'boolean') return String(v);
  return null;
}

function escapeJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i];
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || ch === '<' || ch === '>' || ch === '&' || c === 0x2028 || c === 0x2029) {
      out += '\\u' + c.toString(16).padStart(4, '0');
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        out += ch + s[i + 1];
        i++;
      } else out += '\ufffd';
    } else if (c >= 0xdc00 && c <= 0xdfff) out += '\ufffd';
    else out += ch;
  }
  return out + '"';
}

/** encoding/json.Marshal: sorted object keys, HTML-safe escaping, Go float formatting. */
export function goJsonMarshal(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return escapeJsonString(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  // An int64 from CEL (json.marshal) keeps its exact digits.
  if (typeof v === 'bigint') return String(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new JmespathError(`json: unsupported value: ${formatFloatV(v)}`);
    return Object.is(v, -0) ? '-0' : String(v).replace(/e([+-])(\d)$/, 'e$1$2');
  }
  if (Array.isArray(v)) return '[' + v.map(goJsonMarshal).join(',') + ']';
  if (typeof v === 'object') {
    const keys = Object.keys(v as object).sort(goCompare);
    return '{' + keys.map((k) => escapeJsonString(k) + ':' + goJsonMarshal((v as Record<string, unknown>)[k])).join(',') + '}';
  }
  return 'null';
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export function base64Encode(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i];
    const b = i + 1 < bytes.length ? bytes[i + 1] : 0;
    const c = i + 2 < bytes.length ? bytes[i + 2] : 0;
    const n = (a << 16) | (b << 8) | c;
    out += B64[(n >> 18) & 63] + B64[(n >> 12) & 63];
    out += i + 1 < bytes.length ? B64[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.length ? B64[n & 63] : '=';
  }
  return out;
}

/** base64.StdEncoding.DecodeString: strict padding; CR/LF are skipped like Go does. */
export function base64Decode(s: string): Uint8Array {
  const out: number[] = [];
  const quad: number[] = [];
  let pad = 0;
  let i = 0;
  const fail = (at: number) => new JmespathError(`illegal base64 data at input byte ${at}`);
  for (; i < s.length; i++) {
    const ch = s[i];
    if (ch === '\r' || ch === '\n') continue;
    if (ch === '=') {
      if (quad.length < 2) throw fail(i);
      pad++;
      quad.push(0);
      if (quad.length === 4) {
        emit();
        i++;
        break;
      }
      continue;
    }
    if (pad > 0) throw fail(i);
    const v = B64.indexOf(ch);
    if (v < 0) throw fail(i);
    quad.push(v);
    if (quad.length === 4) emit();
  }
  for (; i < s.length; i++) {
    if (s[i] !== '\r' && s[i] !== '\n') throw fail(i);
  }
  if (quad.length !== 0) throw fail(s.length);
  return Uint8Array.from(out);

  function emit() {
    const n = (quad[0] << 18) | (quad[1] << 12) | (quad[2] << 6) | quad[3];
    out.push((n >> 16) & 255);
    if (pad < 2) out.push((n >> 8) & 255);
    if (pad < 1) out.push(n & 255);
    quad.length = 0;
  }
}

/** filepath.Join(s) on a Unix host: Clean, except that "" stays "". */
export function goPathJoin(s: string): string {
  return s === '' ? '' : goPathClean(s);
}

/** Go float -> int conversion (truncation). */
export function goInt(f: number): number {
  return Math.trunc(f);
}
