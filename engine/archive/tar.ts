/**
 * Reading a tar archive (ustar, GNU long names, PAX path records) from bytes, as Go's
 * archive/tar Reader presents it: one entry per file with its full name (ustar prefix joined)
 * and type flag ('0' for regular files, '\0' counted as '0', '5' for directories). Sizes and
 * offsets are checked against the input, so a truncated archive throws TarError.
 * gzip decompression lives in engine/cel/gzip.ts.
 */

export class TarError extends Error {}

export interface TarEntry {
  name: string;
  /** Go's tar type flag as a character: '0' regular, '5' directory, '2' symlink, ... */
  type: string;
  data: Uint8Array;
}

const BLOCK = 512;
const decoder = new TextDecoder();

function cString(bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  return decoder.decode(nul < 0 ? bytes : bytes.subarray(0, nul));
}

/** An octal field, or base-256 when its top bit is set (GNU), as Go's parseNumeric. */
function numeric(bytes: Uint8Array): number {
  if (bytes.length > 0 && bytes[0] & 0x80) {
    let n = bytes[0] & 0x7f;
    for (let i = 1; i < bytes.length; i++) n = n * 256 + bytes[i];
    return n;
  }
  const text = cString(bytes).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarError('archive/tar: invalid header');
  return parseInt(text, 8);
}

function isZeroBlock(block: Uint8Array): boolean {
  for (const b of block) if (b !== 0) return false;
  return true;
}

/** PAX records "len key=value\n"; only `path` matters for names. */
function paxPath(data: Uint8Array): string | undefined {
  const text = decoder.decode(data);
  let path: string | undefined;
  let pos = 0;
  while (pos < text.length) {
    const space = text.indexOf(' ', pos);
    if (space < 0) break;
    const len = parseInt(text.slice(pos, space), 10);
    if (!Number.isFinite(len) || len <= 0) throw new TarError('archive/tar: invalid header');
    const record = text.slice(space + 1, pos + len - 1);
    const eq = record.indexOf('=');
    if (eq > 0 && record.slice(0, eq) === 'path') path = record.slice(eq + 1);
    pos += len;
  }
  return path;
}

export function readTar(archive: Uint8Array): TarEntry[] {
  const entries: TarEntry[] = [];
  let pos = 0;
  let longName: string | undefined;
  while (pos + BLOCK <= archive.length) {
    const header = archive.subarray(pos, pos + BLOCK);
    if (isZeroBlock(header)) break;
    let checksum = 0;
    for (let i = 0; i < BLOCK; i++) checksum += i >= 148 && i < 156 ? 0x20 : header[i];
    if (numeric(header.subarray(148, 156)) !== checksum) throw new TarError('archive/tar: invalid header');
    const size = numeric(header.subarray(124, 136));
    const flag = header[156] === 0 ? '0' : String.fromCharCode(header[156]);
    const dataStart = pos + BLOCK;
    if (dataStart + size > archive.length) throw new TarError('unexpected EOF');
    const data = archive.subarray(dataStart, dataStart + size);
    pos = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    if (pos > archive.length) throw new TarError('unexpected EOF');
    if (flag === 'L') {
      longName = cString(data);
      continue;
    }
    if (flag === 'x') {
      longName = paxPath(data) ?? longName;
      continue;
    }
    let name = cString(header.subarray(0, 100));
    const magic = decoder.decode(header.subarray(257, 263));
    if (magic.startsWith('ustar')) {
      const prefix = cString(header.subarray(345, 500));
      if (prefix !== '') name = `${prefix}/${name}`;
    }
    if (longName !== undefined) name = longName;
    longName = undefined;
    // Go reports the old regular-file flag as a directory when the name ends in "/".
    const type = header[156] === 0 ? (name.endsWith('/') ? '5' : '0') : flag;
    entries.push({ name, type, data });
  }
  // A partial header block is a truncated archive (a clean end is a block boundary).
  if (pos < archive.length && pos + BLOCK > archive.length) throw new TarError('unexpected EOF');
  return entries;
}
