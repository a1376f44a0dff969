/** Minimal DER reader for X.509 certificates and CSRs (bounded: no recursion on input). */
import { JmespathError } from './go-compat';

export interface DerNode {
  tag: number;
  /** the whole element (header + content) */
  raw: Uint8Array;
  content: Uint8Array;
}

export function readDer(bytes: Uint8Array, offset = 0): { node: DerNode; next: number } {
  const fail = () => new JmespathError('x509: malformed certificate');
  if (offset + 2 > bytes.length) throw fail();
  const tag = bytes[offset];
  let len = bytes[offset + 1];
  let header = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || offset + 2 + n > bytes.length) throw fail();
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + bytes[offset + 2 + i];
    header += n;
  }
  const end = offset + header + len;
  if (end > bytes.length) throw fail();
  return {
    node: { tag, raw: bytes.subarray(offset, end), content: bytes.subarray(offset + header, end) },
    next: end,
  };
}

export function children(node: DerNode): DerNode[] {
  const out: DerNode[] = [];
  let pos = 0;
  while (pos < node.content.length) {
    const { node: child, next } = readDer(node.content, pos);
    out.push(child);
    pos = next;
  }
  return out;
}

export function oidArcs(content: Uint8Array): number[] {
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

export function oidString(content: Uint8Array): string {
  return oidArcs(content).join('.');
}

export function bigIntOf(content: Uint8Array): bigint {
  let v = 0n;
  for (const b of content) v = (v << 8n) | BigInt(b);
  if (content.length > 0 && content[0] & 0x80) v -= 1n << BigInt(content.length * 8);
  return v;
}

/** BIT STRING payload without the unused-bits byte. */
export function bitStringBytes(node: DerNode): Uint8Array {
  return node.content.subarray(1);
}

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');

/** Decodes the ASN.1 string types found in names (UTF8, Printable, IA5, T61, BMP). */
export function asn1String(node: DerNode): string {
  if (node.tag === 0x1e) {
    let s = '';
    for (let i = 0; i + 1 < node.content.length; i += 2) s += String.fromCharCode((node.content[i] << 8) | node.content[i + 1]);
    return s;
  }
  if (node.tag === 0x14) return latin1.decode(node.content);
  return utf8.decode(node.content);
}

/** UTCTime / GeneralizedTime as Go's time.Time JSON (RFC 3339, UTC). */
export function asn1Time(node: DerNode): string {
  const s = latin1.decode(node.content);
  const m = node.tag === 0x17
    ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s)
    : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) throw new JmespathError('x509: malformed validity');
  let year = Number(m[1]);
  if (node.tag === 0x17) year += year >= 50 ? 1900 : 2000;
  return `${String(year).padStart(4, '0')}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`;
}
