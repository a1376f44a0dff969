/**
 * Go regexp (RE2 syntax) for user patterns, on the linear-time re2js engine:
 * no backtracking, so hostile patterns cannot hang the engine.
 */
import { RE2JS } from 're2js';

export class RegexError extends Error {}

interface Compiled {
  re: RE2JS;
  groupNames: Map<string, number>;
}

const CACHE_LIMIT = 512;
const MAX_PATTERN_LENGTH = 32 * 1024;
const cache = new Map<string, Compiled>();

function compileEntry(pattern: string): Compiled {
  const hit = cache.get(pattern);
  if (hit) {
    // Refresh recency: Map iteration order is insertion order.
    cache.delete(pattern);
    cache.set(pattern, hit);
    return hit;
  }
  if (pattern.length > MAX_PATTERN_LENGTH) {
    throw new RegexError(`error parsing regexp: expression too large (${pattern.length} characters)`);
  }
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern);
  } catch (e) {
    throw new RegexError(goStyleMessage(e));
  }
  const groupNames = new Map(Object.entries(re.namedGroups()));
  const entry = { re, groupNames };
  cache.set(pattern, entry);
  if (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  return entry;
}

/** re2js messages look like Go's already ("error parsing regexp: missing closing ): `(a`"). */
function goStyleMessage(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.startsWith('error parsing regexp') ? msg : `error parsing regexp: ${msg}`;
}

/** Compiles (cached, bounded) a Go/RE2 pattern; throws RegexError on bad syntax. */
export function compileRegex(pattern: string): RE2JS {
  return compileEntry(pattern).re;
}

/** Go regexp.MatchString: true when the pattern matches anywhere in text (unanchored). */
export function regexMatches(pattern: string, text: string): boolean {
  return compileEntry(pattern).re.test(text);
}

type MatchIndexes = number[];

/** Match positions with Go's ReplaceAll rules (an empty match right after a match is skipped). */
function allMatches(entry: Compiled, src: string): MatchIndexes[] {
  const found = entry.re.re2().findAllSubmatchIndex(src, -1) as MatchIndexes[] | null;
  return found ?? [];
}

/** Parses a `$name` / `${name}` reference the way Go's regexp extract() does. */
function extractReference(template: string): { name: string; num: number; rest: string } | null {
  let str = template;
  if (str === '') return null;
  let brace = false;
  if (str[0] === '{') {
    brace = true;
    str = str.slice(1);
  }
  let i = 0;
  const chars = Array.from(str);
  let consumed = 0;
  for (const ch of chars) {
    if (!/[\p{L}\p{Nd}_]/u.test(ch)) break;
    consumed += ch.length;
    i++;
  }
  if (consumed === 0) return null;
  const name = str.slice(0, consumed);
  let restStart = consumed;
  if (brace) {
    if (restStart >= str.length || str[restStart] !== '}') return null;
    restStart++;
  }
  let num = 0;
  for (let k = 0; k < name.length; k++) {
    if (name[k] < '0' || name[k] > '9' || num >= 1e8) {
      num = -1;
      break;
    }
    num = num * 10 + (name.charCodeAt(k) - 48);
  }
  if (name[0] === '0' && name.length > 1) num = -1;
  return { name, num, rest: str.slice(restStart) };
}

/** Go Regexp.Expand for one match. */
function expand(entry: Compiled, template: string, src: string, match: MatchIndexes): string {
  let out = '';
  while (template.length > 0) {
    const dollar = template.indexOf('$');
    if (dollar < 0) break;
    out += template.slice(0, dollar);
    template = template.slice(dollar + 1);
    if (template !== '' && template[0] === '$') {
      out += '$';
      template = template.slice(1);
      continue;
    }
    const ref = extractReference(template);
    if (!ref) {
      out += '$';
      continue;
    }
    template = ref.rest;
    let group = ref.num;
    if (group < 0) group = entry.groupNames.get(ref.name) ?? -1;
    if (group >= 0 && 2 * group + 1 < match.length && match[2 * group] >= 0) {
      out += src.slice(match[2 * group], match[2 * group + 1]);
    }
  }
  return out + template;
}

function replace(pattern: string, src: string, replacement: (entry: Compiled, m: MatchIndexes) => string): string {
  const entry = compileEntry(pattern);
  let out = '';
  let last = 0;
  for (const m of allMatches(entry, src)) {
    out += src.slice(last, m[0]) + replacement(entry, m);
    last = m[1];
  }
  return out + src.slice(last);
}

/** Go Regexp.ReplaceAllString: `$1`, `${1}`, `$name`, `${name}` expand; `$$` is a literal `$`. */
export function regexReplaceAll(pattern: string, src: string, replacement: string): string {
  return replace(pattern, src, (entry, m) => expand(entry, replacement, src, m));
}

/** Go Regexp.ReplaceAllLiteralString: the replacement is inserted verbatim. */
export function regexReplaceAllLiteral(pattern: string, src: string, replacement: string): string {
  return replace(pattern, src, () => replacement);
}

/**
 * Go Regexp.FindAllStringSubmatchIndex(src, -1): for each non-overlapping match, the start and
 * end of the match then of each group (-1 for a group that did not take part).
 */
export function regexSubmatchIndexes(pattern: string, src: string): number[][] {
  return allMatches(compileEntry(pattern), src);
}

/** Go Regexp.NumSubexp: how many capturing groups the pattern has. */
export function regexGroupCount(pattern: string): number {
  return compileEntry(pattern).re.groupCount();
}
