/**
 * gzip (RFC 1952) over DEFLATE (RFC 1951) in plain TypeScript, for Kyverno's `gzip.compress`
 * and `gzip.decompress` CEL functions (the engine runs in browsers too: no zlib).
 *
 * Decompression accepts any valid stream and fails with Go's compress/gzip messages.
 * Compression writes what Go's gzip.Writer writes for its header (no name, modification time
 * 0 as Kyverno sets it, OS 255) and its closing empty stored block, and codes the data as
 * literals in fixed-Huffman or stored blocks, whichever is smaller. For short inputs without
 * repeats this is byte-for-byte Go's output; for longer or repetitive inputs Go's LZ77 and
 * dynamic Huffman codes produce a smaller stream, which ours differs from in bytes but
 * decompresses to the same data.
 */

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

class BitWriter {
  private bytes: number[] = [];
  private bits = 0;
  private count = 0;

  write(value: number, n: number): void {
    this.bits |= value << this.count;
    this.count += n;
    while (this.count >= 8) {
      this.bytes.push(this.bits & 0xff);
      this.bits >>>= 8;
      this.count -= 8;
    }
  }

  /** A Huffman code goes out most significant bit first. */
  writeCode(code: number, n: number): void {
    for (let i = n - 1; i >= 0; i--) this.write((code >> i) & 1, 1);
  }

  align(): void {
    if (this.count > 0) this.write(0, 8 - this.count);
  }

  raw(data: Uint8Array): void {
    for (const b of data) this.bytes.push(b);
  }

  result(): number[] {
    return this.bytes;
  }
}

/** Fixed Huffman literal code (RFC 1951 3.2.6) for bytes and end-of-block. */
function fixedLiteral(v: number): [number, number] {
  if (v < 144) return [0x30 + v, 8];
  if (v < 256) return [0x190 + v - 144, 9];
  if (v < 280) return [v - 256, 7];
  return [0xc0 + v - 280, 8];
}

/** Go's deflate flushes a block every 16384 tokens. */
const BLOCK_TOKENS = 16384;

function deflateLiterals(data: Uint8Array): number[] {
  const w = new BitWriter();
  for (let start = 0; start < data.length; start += BLOCK_TOKENS) {
    const block = data.subarray(start, Math.min(data.length, start + BLOCK_TOKENS));
    let fixedBits = 3 + 7;
    for (const b of block) fixedBits += b < 144 ? 8 : 9;
    const storedBits = (block.length + 5) * 8;
    if (storedBits < fixedBits) {
      w.write(0, 3);
      w.align();
      w.write(block.length, 16);
      w.write(~block.length & 0xffff, 16);
      w.raw(block);
    } else {
      w.write(2, 3);
      for (const b of block) w.writeCode(...fixedLiteral(b));
      w.writeCode(...fixedLiteral(256));
    }
  }
  // Close: a final, empty stored block.
  w.write(1, 3);
  w.align();
  w.write(0, 16);
  w.write(0xffff, 16);
  return w.result();
}

function le32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

export function gzipCompress(data: Uint8Array): Uint8Array {
  const header = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
  return Uint8Array.from([...header, ...deflateLiterals(data), ...le32(crc32(data)), ...le32(data.length >>> 0)]);
}

export class GzipError extends Error {}

class BitReader {
  pos = 0;
  private bits = 0;
  private count = 0;
  constructor(readonly data: Uint8Array, readonly start: number) {
    this.pos = start;
  }

  need(n: number): number {
    while (this.count < n) {
      if (this.pos >= this.data.length) throw new GzipError('unexpected EOF');
      this.bits |= this.data[this.pos++] << this.count;
      this.count += 8;
    }
    const v = this.bits & ((1 << n) - 1);
    this.bits >>>= n;
    this.count -= n;
    return v;
  }

  alignToByte(): void {
    this.bits = 0;
    this.count = 0;
  }
}

interface Huffman {
  counts: number[];
  symbols: number[];
}

function buildHuffman(lengths: number[], offset: () => number): Huffman {
  const counts = new Array(16).fill(0);
  for (const l of lengths) counts[l]++;
  counts[0] = 0;
  let left = 1;
  for (let i = 1; i < 16; i++) {
    left = left * 2 - counts[i];
    if (left < 0) throw new GzipError(`flate: corrupt input before offset ${offset()}`);
  }
  const offs = new Array(16).fill(0);
  for (let i = 1; i < 15; i++) offs[i + 1] = offs[i] + counts[i];
  const symbols: number[] = [];
  lengths.forEach((l, sym) => {
    if (l) symbols[offs[l]++] = sym;
  });
  return { counts, symbols };
}

function decodeSymbol(r: BitReader, h: Huffman): number {
  let code = 0, first = 0, index = 0;
  for (let len = 1; len < 16; len++) {
    code |= r.need(1);
    const count = h.counts[len];
    if (code - count < first) return h.symbols[index + (code - first)];
    index += count;
    first = (first + count) << 1;
    code <<= 1;
  }
  throw new GzipError(`flate: corrupt input before offset ${r.pos}`);
}

const LENGTH_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LENGTH_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
const CODE_LENGTH_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/** Inflates one DEFLATE stream starting at `start`; returns the data and where the stream ended. */
function inflate(data: Uint8Array, start: number, maxOutput: number): { out: Uint8Array; end: number } {
  const r = new BitReader(data, start);
  const corrupt = () => new GzipError(`flate: corrupt input before offset ${r.pos - start}`);
  let out = new Uint8Array(Math.max(1024, data.length * 4));
  let size = 0;
  const push = (b: number) => {
    if (size >= maxOutput) throw new GzipError(`gzip: decompressed data larger than ${maxOutput} bytes`);
    if (size === out.length) {
      const bigger = new Uint8Array(out.length * 2);
      bigger.set(out);
      out = bigger;
    }
    out[size++] = b;
  };
  let last = 0;
  while (!last) {
    last = r.need(1);
    const type = r.need(2);
    if (type === 0) {
      r.alignToByte();
      if (r.pos + 4 > data.length) throw new GzipError('unexpected EOF');
      const len = data[r.pos] | (data[r.pos + 1] << 8);
      const nlen = data[r.pos + 2] | (data[r.pos + 3] << 8);
      if ((len ^ 0xffff) !== nlen) throw corrupt();
      r.pos += 4;
      if (r.pos + len > data.length) throw new GzipError('unexpected EOF');
      for (let i = 0; i < len; i++) push(data[r.pos + i]);
      r.pos += len;
      continue;
    }
    if (type === 3) throw corrupt();
    let lit: Huffman, dist: Huffman;
    if (type === 1) {
      const lengths = new Array(288).fill(8, 0, 144).fill(9, 144, 256).fill(7, 256, 280).fill(8, 280, 288);
      lit = buildHuffman(lengths, () => r.pos - start);
      dist = buildHuffman(new Array(30).fill(5), () => r.pos - start);
    } else {
      const nlen = r.need(5) + 257, ndist = r.need(5) + 1, ncode = r.need(4) + 4;
      if (nlen > 286 || ndist > 30) throw corrupt();
      const codeLengths = new Array(19).fill(0);
      for (let i = 0; i < ncode; i++) codeLengths[CODE_LENGTH_ORDER[i]] = r.need(3);
      const codeHuff = buildHuffman(codeLengths, () => r.pos - start);
      const lengths: number[] = [];
      while (lengths.length < nlen + ndist) {
        const sym = decodeSymbol(r, codeHuff);
        if (sym < 16) lengths.push(sym);
        else if (sym === 16) {
          if (!lengths.length) throw corrupt();
          const prev = lengths[lengths.length - 1];
          for (let n = 3 + r.need(2); n > 0; n--) lengths.push(prev);
        } else if (sym === 17) for (let n = 3 + r.need(3); n > 0; n--) lengths.push(0);
        else for (let n = 11 + r.need(7); n > 0; n--) lengths.push(0);
      }
      if (lengths.length > nlen + ndist) throw corrupt();
      lit = buildHuffman(lengths.slice(0, nlen), () => r.pos - start);
      dist = buildHuffman(lengths.slice(nlen), () => r.pos - start);
    }
    for (;;) {
      const sym = decodeSymbol(r, lit);
      if (sym < 256) push(sym);
      else if (sym === 256) break;
      else {
        const li = sym - 257;
        if (li >= 29) throw corrupt();
        const len = LENGTH_BASE[li] + r.need(LENGTH_EXTRA[li]);
        const di = decodeSymbol(r, dist);
        if (di >= 30) throw corrupt();
        const d = DIST_BASE[di] + r.need(DIST_EXTRA[di]);
        if (d > size) throw corrupt();
        for (let i = 0; i < len; i++) push(out[size - d]);
      }
    }
  }
  return { out: out.subarray(0, size), end: r.pos };
}

/**
 * gzip.NewReader + io.ReadAll: every member of a multi-member stream, header checks,
 * CRC-32 and size checks, with Go's error texts.
 */
export function gzipDecompress(data: Uint8Array, maxOutput = 64 * 1024 * 1024): Uint8Array {
  if (data.length === 0) throw new GzipError('EOF');
  const parts: Uint8Array[] = [];
  let pos = 0;
  let total = 0;
  while (pos < data.length) {
    if (data.length - pos < 10) throw new GzipError('unexpected EOF');
    if (data[pos] !== 0x1f || data[pos + 1] !== 0x8b || data[pos + 2] !== 8) throw new GzipError('gzip: invalid header');
    const flags = data[pos + 3];
    pos += 10;
    if (flags & 4) {
      if (pos + 2 > data.length) throw new GzipError('unexpected EOF');
      pos += 2 + (data[pos] | (data[pos + 1] << 8));
    }
    for (const bit of [8, 16]) {
      if (flags & bit) {
        while (pos < data.length && data[pos] !== 0) pos++;
        if (pos >= data.length) throw new GzipError('unexpected EOF');
        pos++;
      }
    }
    if (flags & 2) pos += 2;
    if (pos > data.length) throw new GzipError('unexpected EOF');
    const { out, end } = inflate(data, pos, maxOutput - total);
    pos = end;
    if (pos + 8 > data.length) throw new GzipError('unexpected EOF');
    const crc = (data[pos] | (data[pos + 1] << 8) | (data[pos + 2] << 16) | (data[pos + 3] << 24)) >>> 0;
    const isize = (data[pos + 4] | (data[pos + 5] << 8) | (data[pos + 6] << 16) | (data[pos + 7] << 24)) >>> 0;
    if (crc !== crc32(out) || isize !== out.length >>> 0) throw new GzipError('gzip: invalid checksum');
    pos += 8;
    parts.push(out);
    total += out.length;
  }
  const result = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    result.set(p, at);
    at += p.length;
  }
  return result;
}
