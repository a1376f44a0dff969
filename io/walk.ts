/**
 * The one folder walker of every face (CLI `test`/`apply`, `serve`'s policy folders, the
 * language server's workspace scan, the Test Explorer). Symbolic links are followed, but
 * each real folder is entered once: a link to `.` or `..` (or any loop) adds nothing, and a
 * folder or file reached twice through links is read once (the first path in walk order wins). Depth and file count are capped; when a
 * cap stops the walk, `truncated` says which, so callers can say so.
 */
import { readdirSync, realpathSync, statSync, type Dirent } from 'node:fs';
import { join, sep } from 'node:path';

export const DEFAULT_MAX_FILES = 20_000;
export const DEFAULT_MAX_DEPTH = 32;

export interface WalkOptions {
  /** Whether a file (by name; `relative` is its '/'-separated path below the root) is listed. */
  keep(name: string, relative: string): boolean;
  /** Folders not entered, by name. */
  skipDir?(name: string): boolean;
  maxFiles?: number;
  maxDepth?: number;
}

export interface WalkResult {
  /** Files in a stable order: entries sorted by name (byte order) at each level. */
  files: string[];
  /** Why the walk stopped early, when a cap stopped it. */
  truncated?: string;
}

export function toPosix(p: string): string {
  return sep === '/' ? p : p.split(sep).join('/');
}

function realPath(p: string): string | undefined {
  try {
    return realpathSync.native(p);
  } catch {
    return undefined;
  }
}

const byName = (a: Dirent, b: Dirent) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** Files below `root` (a folder) that `keep` accepts; see the module comment for the rules. */
export function walkFiles(root: string, options: WalkOptions): WalkResult {
  const maxFiles = options.maxFiles ?? DEFAULT_MAX_FILES;
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  const files: string[] = [];
  const seenDirs = new Set<string>();
  const seenFiles = new Set<string>();
  let truncated: string | undefined;

  const walk = (dir: string, rel: string, depth: number): void => {
    const real = realPath(dir);
    if (real === undefined || seenDirs.has(real)) return;
    seenDirs.add(real);
    if (depth > maxDepth) {
      truncated ??= `folders nested deeper than ${maxDepth} levels were not read (below ${toPosix(dir)})`;
      return;
    }
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true }).sort(byName);
    } catch {
      return;
    }
    for (const entry of entries) {
      if (truncated && files.length >= maxFiles) return;
      const p = join(dir, entry.name);
      const r = rel ? `${rel}/${entry.name}` : entry.name;
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        try {
          const st = statSync(p);
          isDir = st.isDirectory();
          isFile = st.isFile();
        } catch {
          continue; // a dangling link
        }
      }
      if (isDir) {
        if (!options.skipDir?.(entry.name)) walk(p, r, depth + 1);
        continue;
      }
      if (!isFile || !options.keep(entry.name, r)) continue;
      // A plain file's real path is its real folder's plus its name: no system call needed.
      const target = entry.isSymbolicLink() ? realPath(p) : join(real, entry.name);
      if (target === undefined || seenFiles.has(target)) continue;
      seenFiles.add(target);
      if (files.length >= maxFiles) {
        truncated ??= `more than ${maxFiles} files: the rest were not read`;
        return;
      }
      files.push(toPosix(p));
    }
  };
  walk(root, '', 0);
  return truncated ? { files, truncated } : { files };
}
