/** RE2 regular expressions for CEL (`matches`, `find`, `findAll`), compiled once per pattern. */
import { RE2JS } from 're2js';

const cache = new Map<string, RE2JS>();
const MAX_CACHE = 500;

export function compileRe2(pattern: string): RE2JS {
  let re = cache.get(pattern);
  if (!re) {
    try {
      re = RE2JS.compile(pattern);
    } catch (err) {
      throw new Error(`invalid regular expression '${pattern}': ${(err as Error).message}`);
    }
    if (cache.size >= MAX_CACHE) cache.clear();
    cache.set(pattern, re);
  }
  return re;
}

export function re2Matches(input: string, pattern: string): boolean {
  return compileRe2(pattern).matcher(input).find();
}

export function re2Find(input: string, pattern: string): string {
  const m = compileRe2(pattern).matcher(input);
  return m.find() ? (m.group() ?? '') : '';
}

export function re2FindAll(input: string, pattern: string, limit = -1): string[] {
  const out: string[] = [];
  if (limit === 0) return out;
  const m = compileRe2(pattern).matcher(input);
  while (m.find()) {
    out.push(m.group() ?? '');
    if (limit > 0 && out.length >= limit) break;
  }
  return out;
}
