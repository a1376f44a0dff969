/**
 * The engine's one ASN.1 DER reader: keys (SubjectPublicKeyInfo, PKCS#1), X.509 certificates
 * and CSRs (signature checks here, `x509_decode` in JMESPath and CEL). Lengths are checked
 * against the buffer, so truncated or hostile input throws DerError instead of reading past the
 * end; nothing recurses on the input.
 */

export class DerError extends Error {}

export interface DerNode {
  tag: number;
  /** The whole element (tag, length and contents): what signatures are computed over. */
  raw: Uint8Array;
  /** The contents (without tag and length). */
  content: Uint8Array;
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
  return { tag, raw: buf.subarray(offset, pos + length), content: buf.subarray(pos, pos + length), end: pos + length };
}

/** The elements of a SEQUENCE, SET or other constructed value, in order. */
export function readChildren(node: DerNode): DerNode[] {
  const out: DerNode[] = [];
  let pos = 0;
  while (pos < node.content.length) {
    const child = readDer(node.content, pos);
    out.push(child);
    pos = child.end;
  }
  return out;
}

export const TAG = {
  BOOLEAN: 0x01, INTEGER: 0x02, BIT_STRING: 0x03, OCTET_STRING: 0x04, NULL: 0x05, OID: 0x06,
  UTF8_STRING: 0x0c, UTC_TIME: 0x17, GENERALIZED_TIME: 0x18, SEQUENCE: 0x30, SET: 0x31,
} as const;

export function expectTag(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (!node || node.tag !== tag) throw new DerError(`malformed ${what}`);
  return node;
}

/** The arcs of an OBJECT IDENTIFIER's contents. */
export function oidArcs(content: Uint8Array): number[] {
  if (content.length === 0) throw new DerError('empty OID');
  const arcs: number[] = [];
  let value = 0;
  for (let i = 0; i < content.length; i++) {
    value = value * 128 + (content[i] & 0x7f);
    if (!(content[i] & 0x80)) {
      if (arcs.length === 0) {
        const first = value < 80 ? Math.floor(value / 40) : 2;
        arcs.push(first, value - first * 40);
      } else arcs.push(value);
      value = 0;
    }
  }
  return arcs;
}

/** Dotted form of an OBJECT IDENTIFIER's contents. */
export function oidString(content: Uint8Array): string {
  return oidArcs(content).join('.');
}

/** An INTEGER's contents as a non-negative BigInt (key material is never negative). */
export function unsignedInteger(content: Uint8Array): bigint {
  let n = 0n;
  for (const b of content) n = (n << 8n) | BigInt(b);
  return n;
}

/** An INTEGER's contents as a signed (two's complement) BigInt, as Go's big.Int reads serials. */
export function bigIntOf(content: Uint8Array): bigint {
  let v = unsignedInteger(content);
  if (content.length > 0 && content[0] & 0x80) v -= 1n << BigInt(content.length * 8);
  return v;
}

/** BIT STRING payload without the unused-bits byte. */
export function bitStringBytes(node: DerNode): Uint8Array {
  return node.content.subarray(1);
}

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');

/** Decodes the ASN.1 string types found in names and extensions (UTF8, Printable, IA5, T61, BMP). */
export function asn1String(node: DerNode): string {
  if (node.tag === 0x1e) {
    let s = '';
    for (let i = 0; i + 1 < node.content.length; i += 2) s += String.fromCharCode((node.content[i] << 8) | node.content[i + 1]);
    return s;
  }
  if (node.tag === 0x14) return latin1.decode(node.content);
  return utf8.decode(node.content);
}

/** UTCTime / GeneralizedTime as RFC 3339 in UTC (Go's time.Time JSON). */
export function asn1Time(node: DerNode): string {
  const s = latin1.decode(node.content);
  const m = node.tag === TAG.UTC_TIME
    ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s)
    : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) throw new DerError('x509: malformed validity');
  let year = Number(m[1]);
  if (node.tag === TAG.UTC_TIME) year += year >= 50 ? 1900 : 2000;
  return `${String(year).padStart(4, '0')}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`;
}
