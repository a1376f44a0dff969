/** File-system side of the CLI: finding test files and reading what they name. */
import { readFileSync, statSync } from 'node:fs';
import { resolve, relative } from 'node:path';
import { toPosix, walkFiles } from '../../io/walk';

const YAML_FILE = /\.(ya?ml|json)$/i;
const MAX_FILE_BYTES = 20 * 1024 * 1024;

export { toPosix } from '../../io/walk';

type PathKind = 'file' | 'directory' | 'missing';

function pathKind(p: string): PathKind {
  try {
    return statSync(p).isDirectory() ? 'directory' : 'file';
  } catch {
    return 'missing';
  }
}

export function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * Files below dir (the shared walker: sorted, each real folder once, capped); a cap that
 * stopped the walk is reported once through `warn`.
 */
function filesBelow(dir: string, keep: (name: string) => boolean, skip: ReadonlySet<string> = new Set()): string[] {
  const { files, truncated } = walkFiles(dir, { keep, skipDir: (name) => skip.has(name) });
  if (truncated) warnOnce(`${toPosix(dir)}: ${truncated}`);
  return files;
}

const warned = new Set<string>();
function warnOnce(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  process.stderr.write(`Warning: ${message}\n`);
}

const NOT_SEARCHED = new Set(['node_modules', '.git']);

/** All files named `fileName` below the given paths (hidden folders included, like Kyverno). */
export function findTestFiles(paths: string[], fileName: string): { files: string[]; missing: string[] } {
  const files: string[] = [];
  const missing: string[] = [];
  for (const p of paths) {
    const kind = pathKind(p);
    if (kind === 'missing') missing.push(p);
    else if (kind === 'directory') files.push(...filesBelow(p, (name) => name === fileName, NOT_SEARCHED));
    else files.push(toPosix(p));
  }
  return { files, missing };
}

/** YAML files of a path: the file itself, or every YAML file below a folder (sorted). */
export function yamlFilesAt(path: string): string[] {
  return pathKind(path) === 'directory' ? filesBelow(path, (name) => YAML_FILE.test(name)) : [toPosix(path)];
}

/** A file that exists but cannot be used as text; the message names the problem, not the path. */
export class UnreadableFileError extends Error {}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** 1-based line of the first byte that is not valid UTF-8 (the decoder only says "invalid"). */
function invalidUtf8Line(bytes: Uint8Array): number {
  let line = 1;
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i];
    const need = b < 0x80 ? 0 : b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1;
    if (need < 0) return line;
    for (let k = 1; k <= need; k++) if (i + k >= bytes.length || (bytes[i + k] & 0xc0) !== 0x80) return line;
    if (b === 0x0a) line++;
    i += need + 1;
  }
  return line;
}

function readChecked(path: string, size: number): string {
  if (size > MAX_FILE_BYTES) throw new UnreadableFileError(`file too large (${size} bytes, limit ${MAX_FILE_BYTES})`);
  const bytes = readFileSync(path);
  try {
    return utf8.decode(bytes);
  } catch {
    // Kyverno's YAML decoder rejects such files too; silently replacing bytes would hide it.
    throw new UnreadableFileError(`line ${invalidUtf8Line(bytes)}: invalid UTF-8`);
  }
}

export function readText(path: string): string {
  return readChecked(path, statSync(path).size);
}

/** The one-line error for a file that could not be read. */
export function readFailure(path: string, err: unknown): string {
  if (err instanceof UnreadableFileError) {
    const at = /^line (\d+): (.*)$/.exec(err.message);
    return at ? `${path}:${at[1]}: ${at[2]}` : `${path}: ${err.message}`;
  }
  const e = err as NodeJS.ErrnoException;
  const reason = e?.code === 'ENOENT' ? 'no such file or directory' : e?.code === 'EISDIR' ? 'is a directory' : String(e?.message ?? err).split('\n')[0];
  return `${path}: cannot read file: ${reason}`;
}

/**
 * Reads the given paths (files or folders) into a path → text map. Missing paths are left
 * out (the engine names them as not found); files that exist but cannot be read are listed
 * in `failures` with their one-line error.
 */
export function readAll(paths: string[], into: Map<string, string> = new Map(), failures: string[] = []): Map<string, string> {
  for (const p of paths) {
    let stat;
    try {
      stat = statSync(p);
    } catch {
      continue;
    }
    const single = !stat.isDirectory();
    for (const f of single ? [toPosix(p)] : filesBelow(p, (name) => YAML_FILE.test(name))) {
      if (into.has(f)) continue;
      try {
        into.set(f, single ? readChecked(f, stat.size) : readText(f));
      } catch (err) {
        failures.push(readFailure(f, err));
      }
    }
  }
  return into;
}

export function displayPath(p: string): string {
  const rel = relative(process.cwd(), resolve(p));
  return toPosix(rel.startsWith('..') ? p : rel || '.');
}
