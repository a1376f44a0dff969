/**
 * Globs from settings (`kyverno.policies`) as matchers over '/'-separated relative paths:
 * `**` (any folders), `*`, `?` and `{a,b}`. They run on RE2 (engine/regex): a setting such
 * as `**\/` repeated a dozen times matches in linear time instead of backtracking.
 */
import { compileRegex } from '../engine/regex';

export const MAX_GLOB_LENGTH = 1024;

export interface GlobMatcher {
  readonly glob: string;
  test(path: string): boolean;
}

const escapeRe2 = (s: string) => s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');

/** The RE2 pattern of a glob (anchored at both ends). */
export function globToPattern(glob: string): string {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      const slash = glob[i + 2] === '/';
      re += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '{') {
      const end = glob.indexOf('}', i);
      if (end < 0) re += '\\{';
      else {
        re += '(?:' + glob.slice(i + 1, end).split(',').map((s) => escapeRe2(s).replace(/\\\*/g, '[^/]*').replace(/\\\?/g, '[^/]')).join('|') + ')';
        i = end;
      }
    } else re += escapeRe2(c);
  }
  return `^${re}$`;
}

/** Compiles a glob; throws an Error naming the problem for an unusable one. */
export function compileGlob(glob: string): GlobMatcher {
  if (glob.length > MAX_GLOB_LENGTH) throw new Error(`glob longer than ${MAX_GLOB_LENGTH} characters`);
  const re = compileRegex(globToPattern(glob));
  return { glob, test: (path) => re.test(path) };
}
