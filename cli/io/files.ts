/** File-system side of the CLI: finding test files and reading what they name. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve, relative, sep } from 'node:path';

const YAML_FILE = /\.(ya?ml|json)$/i;
const MAX_FILE_BYTES = 20 * 1024 * 1024;

export function toPosix(p: string): string {
  return sep === '/' ? p : p.split(sep).join('/');
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
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

/** All files named `fileName` below the given paths (hidden folders included, like Kyverno). */
export function findTestFiles(paths: string[], fileName: string): { files: string[]; missing: string[] } {
  const files: string[] = [];
  const missing: string[] = [];
  const walk = (dir: string) => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const name of names) {
      if (name === 'node_modules' || name === '.git') continue;
      const p = join(dir, name);
      if (isDirectory(p)) walk(p);
      else if (name === fileName) files.push(toPosix(p));
    }
  };
  for (const p of paths) {
    if (!exists(p)) missing.push(p);
    else if (isDirectory(p)) walk(p);
    else files.push(toPosix(p));
  }
  return { files, missing };
}

/** YAML files of a path: the file itself, or every YAML file below a folder (sorted). */
export function yamlFilesAt(path: string): string[] {
  if (!isDirectory(path)) return [toPosix(path)];
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (isDirectory(p)) walk(p);
      else if (YAML_FILE.test(name)) out.push(toPosix(p));
    }
  };
  walk(path);
  return out;
}

export function readText(path: string): string {
  const size = statSync(path).size;
  if (size > MAX_FILE_BYTES) throw new Error(`${path}: file too large (${size} bytes)`);
  return readFileSync(path, 'utf8');
}

/** Reads the given paths (files or folders) into a path → text map; unreadable ones are left out. */
export function readAll(paths: string[], into: Map<string, string> = new Map()): Map<string, string> {
  for (const p of paths) {
    if (!exists(p)) continue;
    for (const f of yamlFilesAt(p)) {
      if (into.has(f)) continue;
      try {
        into.set(f, readText(f));
      } catch {
        // The engine reports the path as not found, with its name.
      }
    }
  }
  return into;
}

export function displayPath(p: string): string {
  const rel = relative(process.cwd(), resolve(p));
  return toPosix(rel.startsWith('..') ? p : rel || '.');
}
