/**
 * CEL `matches`, `find` and `findAll`, and cel-go's ext.Regex (`regex.replace`,
 * `regex.extract`, `regex.extractAll`, version 1 as Kyverno enables it), on the engine's one
 * RE2 implementation (engine/regex: linear time, bounded compile cache, Go-style messages).
 */
import { Optional, type Environment } from '@marcbachmann/cel-js';
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

interface GoMatch {
  /** [start, end] of the whole match, then of each group (-1 when a group did not take part). */
  index: number[];
  groups: Array<string | null>;
}

/** Go's FindAll*SubmatchIndex: successive matches, an empty match right after a match is skipped. */
function goFindAll(pattern: string, input: string): { matches: GoMatch[]; groupCount: number } {
  const re = compileRegex(pattern);
  const m = re.matcher(input);
  const groupCount = re.groupCount();
  const matches: GoMatch[] = [];
  let pos = 0;
  let prevEnd = -1;
  while (pos <= input.length && m.find(pos)) {
    const start = m.start();
    const end = m.end();
    let accept = true;
    if (end === pos) {
      if (start === prevEnd) accept = false;
      const cp = input.codePointAt(pos);
      pos += cp !== undefined && cp > 0xffff ? 2 : 1;
    } else {
      pos = end;
    }
    prevEnd = end;
    if (!accept) continue;
    const index: number[] = [start, end];
    const groups: Array<string | null> = [m.group()];
    for (let g = 1; g <= groupCount; g++) {
      const text = m.group(g);
      index.push(text === null ? -1 : m.start(g), text === null ? -1 : m.end(g));
      groups.push(text);
    }
    matches.push({ index, groups });
  }
  return { matches, groupCount };
}

/** cel-go ext.Regex replaceStrValidator: `\N` inserts group N, `\\` a backslash. */
function expandReplacement(target: string, match: GoMatch, replacement: string, groupCount: number): string {
  let out = '';
  const chars = [...replacement];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    if (i + 1 >= chars.length) throw new Error(`invalid replacement string: '${replacement}' \\ not allowed at end`);
    const next = chars[++i];
    if (next === '\\') {
      out += '\\';
      continue;
    }
    if (!/^[0-9]$/.test(next)) throw new Error(`invalid replacement string: '${replacement}' \\ must be followed by a digit or \\`);
    const group = Number(next);
    if (group > groupCount) throw new Error(`replacement string references group ${group} but regex has only ${groupCount} group(s)`);
    if (match.index[2 * group] !== -1) out += target.slice(match.index[2 * group], match.index[2 * group + 1]);
  }
  return out;
}

/** regex.replace(target, pattern, replacement[, count]); count < 0 replaces all, 0 none. */
export function regexReplace(target: string, pattern: string, replacement: string, count = -1n): string {
  if (count === 0n) return target;
  if (count > 2147483647n) throw new Error('integer overflow');
  const { matches, groupCount } = goFindAll(pattern, target);
  let out = '';
  let last = 0;
  let done = 0n;
  for (const match of matches) {
    if (count > 0n && done >= count) break;
    const expanded = expandReplacement(target, match, replacement, groupCount);
    out += target.slice(last, match.index[0]) + expanded;
    last = match.index[1];
    done++;
  }
  return out + target.slice(last);
}

function compileForExtract(pattern: string): number {
  let groupCount: number;
  try {
    groupCount = compileRegex(pattern).groupCount();
  } catch (err) {
    throw new Error(`given regex is invalid: ${(err as Error).message}`);
  }
  if (groupCount > 1) throw new Error(`regular expression has more than one capturing group: ${JSON.stringify(pattern)}`);
  return groupCount;
}

/** regex.extract: the first match, or its one capturing group; none when absent or empty. */
export function regexExtract(target: string, pattern: string): string | null {
  compileForExtract(pattern);
  const m = compileRegex(pattern).matcher(target);
  if (!m.find()) return null;
  if (m.groupCount() >= 1) {
    const group = m.group(1);
    return group ? group : null;
  }
  return m.group() ?? '';
}

/** regex.extractAll: every match, or every non-empty capture of the one group. */
export function regexExtractAll(target: string, pattern: string): string[] {
  const groupCount = compileForExtract(pattern);
  const { matches } = goFindAll(pattern, target);
  if (groupCount !== 1) return matches.map((m) => m.groups[0] ?? '');
  return matches.map((m) => m.groups[1]).filter((g): g is string => !!g);
}

export class RegexNamespace {}

export function registerRegexLibrary(env: Environment): void {
  env
    .registerType('RegexNamespace', RegexNamespace)
    .registerConstant('regex', 'RegexNamespace', new RegexNamespace())
    .registerFunction('RegexNamespace.replace(string, string, string): string', (_ns: unknown, t: string, p: string, r: string) => regexReplace(t, p, r))
    .registerFunction('RegexNamespace.replace(string, string, string, int): string', (_ns: unknown, t: string, p: string, r: string, n: bigint) => regexReplace(t, p, r, n < 0n ? -1n : n))
    .registerFunction('RegexNamespace.extract(string, string): optional<string>', (_ns: unknown, t: string, p: string) => {
      const found = regexExtract(t, p);
      return found === null ? Optional.none() : Optional.of(found);
    })
    .registerFunction('RegexNamespace.extractAll(string, string): list<string>', (_ns: unknown, t: string, p: string) => regexExtractAll(t, p));
}
