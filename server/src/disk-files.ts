/**
 * The workspace index's files in Node: the workspace folders on disk, walked by the shared
 * walker (each real folder once, capped) and read with node:fs. The browser build uses
 * `client-files.ts` instead.
 */
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { walkFiles } from '../../io/walk';
import { MAX_DEPTH, MAX_FILE_BYTES, skippedFolder, type WorkspaceFiles } from './workspace';

/** `folders`: file system paths of the workspace folders. */
export function diskFiles(folders: string[]): WorkspaceFiles {
  return {
    async list(keep, max) {
      const out: string[] = [];
      for (const folder of folders) {
        const left = max - out.length;
        if (left <= 0) break;
        const { files } = walkFiles(folder, {
          keep: (name, rel) => /\.ya?ml$/.test(name) && keep(rel),
          skipDir: skippedFolder,
          maxFiles: left,
          maxDepth: MAX_DEPTH,
        });
        out.push(...files.map((p) => pathToFileURL(p).toString()));
      }
      return out;
    },
    async read(uri) {
      return readDiskFile(uri);
    },
    relative(uri) {
      if (!uri.startsWith('file:')) return undefined;
      let path: string;
      try {
        path = fileURLToPath(uri);
      } catch {
        return undefined;
      }
      for (const folder of folders) {
        const rel = relative(folder, path);
        if (rel !== '' && !rel.startsWith('..') && !isAbsolute(rel)) return rel.split(sep).join('/');
      }
      return undefined;
    },
  };
}

/** A file's text on disk, or undefined when it cannot be read (deleted, unreadable, not a file: URI, too large). */
export function readDiskFile(uri: string): string | undefined {
  try {
    const path = fileURLToPath(uri);
    if (statSync(path).size > MAX_FILE_BYTES) return undefined;
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
