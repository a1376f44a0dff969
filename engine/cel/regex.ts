/**
 * CEL `matches`, `find` and `findAll` on the engine's one RE2 implementation (engine/regex:
 * linear time, bounded compile cache, Go-style RegexError messages).
 */
import { compileRegex, regexMatches } from '../regex';

export { compileRegex };

export function re2Matches(input: string, pattern: string): boolean {
  return regexMatches(pattern, input);
}

export function re2Find(input: string, pattern: string): string {
  const m = compileRegex(pattern).matcher(input);
  return m.find() ? (m.group() ?? '') : '';
}

export function re2FindAll(input: string, pattern: string, limit = -1): string[] {
  const out: string[] = [];
  if (limit === 0) return out;
  const m = compileRegex(pattern).matcher(input);
  while (m.find()) {
    out.push(m.group() ?? '');
    if (limit > 0 && out.length >= limit) break;
  }
  return out;
}
