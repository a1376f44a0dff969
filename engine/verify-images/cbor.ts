/**
 * The part of CBOR (RFC 8949) COSE_Sign1 envelopes need: definite-length items decoded into
 * plain values (maps as `Map`, tags as `CborTag`, byte strings as Uint8Array), and the one
 * structure a COSE verifier encodes, the Sig_structure array of a text and byte strings.
 */

export class CborTag {
  constructor(readonly tag: number, readonly value: CborValue) {}
}

export type CborValue = number | bigint | string | boolean | null | undefined | Uint8Array | CborValue[] | Map<CborValue, CborValue> | CborTag;

export class CborError extends Error {}

const MAX_DEPTH = 32;
const textDecoder = new TextDecoder('utf-8', { fatal: true });

class Reader {
  offset = 0;
  constructor(readonly bytes: Uint8Array) {}

  byte(): number {
    if (this.offset >= this.bytes.length) throw new CborError('unexpected end of CBOR data');
    return this.bytes[this.offset++];
  }

  take(n: number): Uint8Array {
    if (n > this.bytes.length - this.offset) throw new CborError('unexpected end of CBOR data');
    const out = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  /** The argument of an initial byte: the value, or a length. */
  argument(info: number): number | bigint {
    if (info < 24) return info;
    if (info === 24) return this.byte();
    if (info === 25) return (this.byte() << 8) | this.byte();
    if (info === 26) return ((this.byte() << 24) >>> 0) + (this.byte() << 16) + (this.byte() << 8) + this.byte();
    if (info === 27) {
      let v = 0n;
      for (let i = 0; i < 8; i++) v = (v << 8n) | BigInt(this.byte());
      return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
    }
    throw new CborError(info === 31 ? 'indefinite-length CBOR items are not supported' : `invalid CBOR additional information ${info}`);
  }

  length(info: number): number {
    const n = this.argument(info);
    if (typeof n !== 'number' || n > this.bytes.length) throw new CborError('CBOR length exceeds the data');
    return n;
  }

  item(depth: number): CborValue {
    if (depth > MAX_DEPTH) throw new CborError('CBOR nesting too deep');
    const initial = this.byte();
    const major = initial >> 5;
    const info = initial & 31;
    switch (major) {
      case 0:
        return this.argument(info);
      case 1: {
        const n = this.argument(info);
        return typeof n === 'number' ? -1 - n : -1n - n;
      }
      case 2:
        return this.take(this.length(info));
      case 3:
        try {
          return textDecoder.decode(this.take(this.length(info)));
        } catch (e) {
          if (e instanceof CborError) throw e;
          throw new CborError('invalid UTF-8 in a CBOR text string');
        }
      case 4: {
        const n = this.length(info);
        const out: CborValue[] = [];
        for (let i = 0; i < n; i++) out.push(this.item(depth + 1));
        return out;
      }
      case 5: {
        const n = this.length(info);
        const out = new Map<CborValue, CborValue>();
        for (let i = 0; i < n; i++) {
          const key = this.item(depth + 1);
          if (out.has(key)) throw new CborError('duplicate CBOR map key');
          out.set(key, this.item(depth + 1));
        }
        return out;
      }
      case 6: {
        const tag = this.argument(info);
        return new CborTag(Number(tag), this.item(depth + 1));
      }
      default: {
        if (info === 20) return false;
        if (info === 21) return true;
        if (info === 22) return null;
        if (info === 23) return undefined;
        if (info === 25) return halfFloat((this.byte() << 8) | this.byte());
        if (info === 26) return new DataView(this.take(4).slice().buffer).getFloat32(0);
        if (info === 27) return new DataView(this.take(8).slice().buffer).getFloat64(0);
        throw new CborError(`unsupported CBOR simple value ${info}`);
      }
    }
  }
}

function halfFloat(bits: number): number {
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  const sign = bits & 0x8000 ? -1 : 1;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** One CBOR item that must span all of `bytes`. */
export function decodeCbor(bytes: Uint8Array): CborValue {
  const reader = new Reader(bytes);
  const value = reader.item(0);
  if (reader.offset !== bytes.length) throw new CborError('trailing data after the CBOR item');
  return value;
}

function head(major: number, length: number): Uint8Array {
  if (length < 24) return Uint8Array.of((major << 5) | length);
  if (length < 0x100) return Uint8Array.of((major << 5) | 24, length);
  if (length < 0x10000) return Uint8Array.of((major << 5) | 25, length >> 8, length & 0xff);
  return Uint8Array.of((major << 5) | 26, (length >>> 24) & 0xff, (length >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff);
}

/** CBOR of an array of text and byte strings (COSE's Sig_structure). */
export function encodeCborStrings(items: ReadonlyArray<string | Uint8Array>): Uint8Array {
  const parts: Uint8Array[] = [head(4, items.length)];
  for (const item of items) {
    const bytes = typeof item === 'string' ? new TextEncoder().encode(item) : item;
    parts.push(head(typeof item === 'string' ? 3 : 2, bytes.length), bytes);
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
