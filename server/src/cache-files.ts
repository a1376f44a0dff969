/**
 * The language server's files in the client's cache folder (the scan cache, the stored
 * results): one file per set of workspace folders, stamped with a format and the server build
 * that wrote it, size-capped both ways, and replaced whole (a temporary file renamed) so a
 * crash never leaves half a file.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';

export interface CacheFileStamp {
  format: number;
  buildId: string;
}

/** The file `<kind>-<digest>.json` under `dir` for the workspace `folders` (in any order). */
export function workspaceCacheFile(dir: string, kind: string, folders: readonly string[]): string {
  const name = createHash('sha256').update(JSON.stringify([...folders].sort())).digest('hex').slice(0, 16);
  return join(dir, `${kind}-${name}.json`);
}

/**
 * The file's data when it has this stamp and at most `maxBytes`; undefined otherwise, also
 * when it is missing or unreadable (a cache miss, never an error).
 */
export function readCacheFile<T extends CacheFileStamp>(file: string, stamp: CacheFileStamp, maxBytes: number): T | undefined {
  try {
    const text = readFileSync(file, 'utf8');
    if (text.length > maxBytes) return undefined;
    const data = JSON.parse(text) as T | null;
    return data && data.format === stamp.format && data.buildId === stamp.buildId ? data : undefined;
  } catch {
    return undefined;
  }
}

/** Replaces the file with `data`; false (nothing written) past `maxBytes`. I/O errors are thrown. */
export function writeCacheFile(file: string, data: CacheFileStamp, maxBytes: number): boolean {
  const text = JSON.stringify(data);
  if (text.length > maxBytes) return false;
  mkdirSync(join(file, '..'), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
  return true;
}
