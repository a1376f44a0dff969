/** POSIX-style path arithmetic without node:path, so the engine stays browser-safe. */
import { goPathClean } from '../core/go-path';

export function dirname(p: string): string {
  const i = p.lastIndexOf('/');
  if (i < 0) return '.';
  if (i === 0) return '/';
  return p.slice(0, i);
}

export const normalizePath = goPathClean;

export function resolvePath(base: string, rel: string): string {
  if (rel.startsWith('/')) return normalizePath(rel);
  return normalizePath(`${base}/${rel}`);
}
