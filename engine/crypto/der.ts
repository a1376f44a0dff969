/**
 * A minimal ASN.1 DER reader: enough to take apart SubjectPublicKeyInfo and PKCS#1 keys.
 * Lengths are checked against the buffer, so truncated or hostile input throws DerError
 * instead of reading past the end.
 */

export class DerError extends Error {}

export interface DerNode {
  tag: number;
  /** The contents (without tag and length). */
  value: Uint8Array;
  /** Offset just past this element in the buffer it was read from. */
  end: number;
}

/** Reads one element at `offset`. */
export function readDer(buf: Uint8Array, offset = 0): DerNode {
  if (offset + 2 > buf.length) throw new DerError('truncated DER element');
  const tag = buf[offset];
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte DER tags are not supported');
  let length = buf[offset + 1];
  let pos = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw new DerError('unsupported DER length');
    if (pos + count > buf.length) throw new DerError('truncated DER length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buf[pos + i];
    pos += count;
  }
  if (pos + length > buf.length) throw new DerError('DER element longer than its input');
  return { tag, value: buf.subarray(pos, pos + length), end: pos + length };
}

/** The elements of a SEQUENCE (or any constructed value), in order. */
export function readChildren(node: DerNode): DerNode[] {
  const out: DerNode[] = [];
  let pos = 0;
  while (pos < node.value.length) {
    const child = readDer(node.value, pos);
    out.push(child);
    pos = child.end;
  }
  return out;
}

export const TAG = { INTEGER: 0x02, BIT_STRING: 0x03, NULL: 0x05, OID: 0x06, SEQUENCE: 0x30 } as const;

export function expectTag(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (!node || node.tag !== tag) throw new DerError(`malformed ${what}`);
  return node;
}

/** Dotted form of an OBJECT IDENTIFIER's contents. */
export function oidString(value: Uint8Array): string {
  if (value.length === 0) throw new DerError('empty OID');
  const parts: number[] = [];
  const first = value[0];
  parts.push(first < 80 ? Math.floor(first / 40) : 2, first < 80 ? first % 40 : first - 80);
  let n = 0;
  for (let i = 1; i < value.length; i++) {
    n = n * 128 + (value[i] & 0x7f);
    if (!(value[i] & 0x80)) {
      parts.push(n);
      n = 0;
    }
  }
  return parts.join('.');
}

/** An INTEGER's contents as a non-negative BigInt (keys never carry negative numbers). */
export function unsignedInteger(value: Uint8Array): bigint {
  let n = 0n;
  for (const b of value) n = (n << 8n) | BigInt(b);
  return n;
}
