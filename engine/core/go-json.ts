/**
 * Go's encoding/json.Unmarshal into `any`, as far as callers can tell: the same values (every
 * number a float64, here a JavaScript number) and, for malformed input, the same error text,
 * which Go's scanner produces before decoding ("invalid character 'x' looking for beginning
 * of value", "unexpected end of JSON input", ...).
 */

export class GoJsonSyntaxError extends Error {}

/** Go's quoteChar: the offending byte as a quoted character. */
function quoteChar(byte: number): string {
  if (byte === 0x27) return `'\\''`;
  if (byte === 0x22) return `'"'`;
  const ch = String.fromCharCode(byte);
  const quoted = JSON.stringify(ch).slice(1, -1);
  if (byte < 0x20 || byte === 0x7f) {
    const named: Record<number, string> = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r' };
    return `'${named[byte] ?? `\\x${byte.toString(16).padStart(2, '0')}`}'`;
  }
  if (byte >= 0x80 && byte < 0xa0) return `'\\u00${byte.toString(16).padStart(2, '0')}'`;
  return `'${quoted === '\\\\' ? '\\\\' : ch}'`;
}

const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isHex = (c: number) => isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);

/** Go's scanner over the UTF-8 bytes: the first syntax error, or null for valid JSON. */
export function goJsonSyntaxError(text: string): string | null {
  const b = new TextEncoder().encode(text);
  let i = 0;
  const fail = (context: string) => `invalid character ${quoteChar(b[i])} ${context}`;
  const END = 'unexpected end of JSON input';
  const skipSpace = () => {
    while (i < b.length && isSpace(b[i])) i++;
  };
  // Returns an error message or null; advances i past one value.
  const value = (depth: number): string | null => {
    skipSpace();
    if (i >= b.length) return END;
    if (depth > 10000) return 'exceeded max depth';
    const c = b[i];
    if (c === 0x7b) return object(depth);
    if (c === 0x5b) return array(depth);
    if (c === 0x22) return string();
    if (c === 0x2d || isDigit(c)) return number();
    for (const word of ['true', 'false', 'null']) {
      if (c === word.charCodeAt(0)) {
        i++;
        for (let k = 1; k < word.length; k++, i++) {
          if (i >= b.length) return END;
          if (b[i] !== word.charCodeAt(k)) return fail(`in literal ${word} (expecting '${word[k]}')`);
        }
        return null;
      }
    }
    return fail('looking for beginning of value');
  };
  const string = (): string | null => {
    i++;
    for (;;) {
      if (i >= b.length) return END;
      const c = b[i];
      if (c === 0x22) {
        i++;
        return null;
      }
      if (c < 0x20) return fail('in string literal');
      if (c === 0x5c) {
        i++;
        if (i >= b.length) return END;
        const e = b[i];
        if (e === 0x75) {
          for (let k = 0; k < 4; k++) {
            i++;
            if (i >= b.length) return END;
            if (!isHex(b[i])) return fail('in \\u hexadecimal character escape');
          }
        } else if (!'bfnrt\\/"'.includes(String.fromCharCode(e))) return fail('in string escape code');
      }
      i++;
    }
  };
  const number = (): string | null => {
    if (b[i] === 0x2d) {
      i++;
      if (i >= b.length) return END;
      if (!isDigit(b[i])) return fail('in numeric literal');
    }
    if (b[i] === 0x30) i++;
    else while (i < b.length && isDigit(b[i])) i++;
    if (i < b.length && b[i] === 0x2e) {
      i++;
      if (i >= b.length) return END;
      if (!isDigit(b[i])) return fail('after decimal point in numeric literal');
      while (i < b.length && isDigit(b[i])) i++;
    }
    if (i < b.length && (b[i] === 0x65 || b[i] === 0x45)) {
      i++;
      if (i < b.length && (b[i] === 0x2b || b[i] === 0x2d)) i++;
      if (i >= b.length) return END;
      if (!isDigit(b[i])) return fail('in exponent of numeric literal');
      while (i < b.length && isDigit(b[i])) i++;
    }
    return null;
  };
  const object = (depth: number): string | null => {
    i++;
    skipSpace();
    if (i >= b.length) return END;
    if (b[i] === 0x7d) {
      i++;
      return null;
    }
    for (;;) {
      skipSpace();
      if (i >= b.length) return END;
      if (b[i] !== 0x22) return fail('looking for beginning of object key string');
      const keyError = string();
      if (keyError) return keyError;
      skipSpace();
      if (i >= b.length) return END;
      if (b[i] !== 0x3a) return fail('after object key');
      i++;
      const valueError = value(depth + 1);
      if (valueError) return valueError;
      skipSpace();
      if (i >= b.length) return END;
      if (b[i] === 0x7d) {
        i++;
        return null;
      }
      if (b[i] !== 0x2c) return fail('after object key:value pair');
      i++;
    }
  };
  const array = (depth: number): string | null => {
    i++;
    skipSpace();
    if (i >= b.length) return END;
    if (b[i] === 0x5d) {
      i++;
      return null;
    }
    for (;;) {
      const valueError = value(depth + 1);
      if (valueError) return valueError;
      skipSpace();
      if (i >= b.length) return END;
      if (b[i] === 0x5d) {
        i++;
        return null;
      }
      if (b[i] !== 0x2c) return fail('after array element');
      i++;
    }
  };
  const error = value(0);
  if (error) return error;
  skipSpace();
  return i < b.length ? fail('after top-level value') : null;
}

/** json.Unmarshal(text, &v) with v of type any. */
export function goJsonUnmarshal(text: string): unknown {
  const error = goJsonSyntaxError(text);
  if (error) throw new GoJsonSyntaxError(error);
  return JSON.parse(text);
}

/** How Go's UnmarshalTypeError names a JSON value of the wrong type ("json: cannot unmarshal <this> into ..."). */
export function goJsonTypeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'boolean') return 'bool';
  return typeof v === 'object' ? 'object' : typeof v;
}
