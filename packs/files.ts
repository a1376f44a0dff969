/** Reading the shipped packs from disk (CLI and extension host; the rendering is in render.ts). */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { PackFile, PackName } from './render';

/** The `packs` folder of the installed package: the first one above `from` (bundle or sources). */
export function findPacksDir(from: string): string | null {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'packs', 'NOTICE'))) return join(dir, 'packs');
    if (dirname(dir) === dir) return null;
  }
}

/** The policy files of one pack, as shipped (before rendering). */
export function readPackFiles(packsDir: string, name: PackName): PackFile[] {
  const dir = join(packsDir, name);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => ({ name: f, text: readFileSync(join(dir, f), 'utf8') }));
}

/** The attribution shipped with the packs (written beside a pack the user adds). */
export function readPackNotice(packsDir: string): string {
  return readFileSync(join(packsDir, 'NOTICE'), 'utf8');
}
