/**
 * CEL `matches`, `find` and `findAll` on the engine's one RE2 implementation (engine/regex:
 * linear time, bounded compile cache, Go-style RegexError messages).
 */
import { compileRegex, regexGroupCount, regexMatches, regexSubmatchIndexes } from '../regex';

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

/**
 * cel-go ext.Regex (`regex.replace`, `regex.extract`, `regex.extractAll`, library version 1, as
 * Kyverno's compiler enables it). Replacements use `\1`…`\9` for groups and `\\` for a
 * backslash; anything else after a backslash is an error, checked at each match.
 */
function expandBackslashes(template: string, src: string, match: number[], groups: number): string {
  let out = '';
  const chars = [...template];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    if (c !== '\\') { out += c; continue; }
    if (i + 1 >= chars.length) throw new Error(`invalid replacement string: '${template}' \\ not allowed at end`);
    const next = chars[++i];
    if (next === '\\') { out += '\\'; continue; }
    if (!/^[0-9]$/.test(next)) throw new Error(`invalid replacement string: '${template}' \\ must be followed by a digit or \\`);
    const group = Number(next);
    if (group > groups) throw new Error(`replacement string references group ${group} but regex has only ${groups} group(s)`);
    if (match[2 * group] !== -1) out += src.slice(match[2 * group], match[2 * group + 1]);
  }
  return out;
}

/** `regex.replace(target, pattern, replacement[, count])`: a negative count replaces all. */
export function celRegexReplace(target: string, pattern: string, replacement: string, count = -1): string {
  if (count === 0) return target;
  if (count > 2147483647) throw new Error('integer overflow');
  const groups = regexGroupCount(pattern);
  let out = '';
  let last = 0;
  let done = 0;
  for (const m of regexSubmatchIndexes(pattern, target)) {
    if (count > 0 && done >= count) break;
    out += target.slice(last, m[0]) + expandBackslashes(replacement, target, m, groups);
    last = m[1];
    done++;
  }
  return out + target.slice(last);
}

function atMostOneGroup(pattern: string): number {
  let groups: number;
  try {
    groups = regexGroupCount(pattern);
  } catch (err) {
    throw new Error(`given regex is invalid: ${(err as Error).message}`);
  }
  if (groups > 1) throw new Error(`regular expression has more than one capturing group: ${JSON.stringify(pattern)}`);
  return groups;
}

/** `regex.extract`: the first match, or its one group; null stands for optional.none(). */
export function celRegexExtract(target: string, pattern: string): string | null {
  const groups = atMostOneGroup(pattern);
  const m = regexSubmatchIndexes(pattern, target)[0];
  if (!m) return null;
  if (groups === 0) return target.slice(m[0], m[1]);
  // An empty or absent group reads as no match.
  return m[2] === -1 || m[2] === m[3] ? null : target.slice(m[2], m[3]);
}

/** `regex.extractAll`: every match, or every non-empty group value. */
export function celRegexExtractAll(target: string, pattern: string): string[] {
  const groups = atMostOneGroup(pattern);
  const out: string[] = [];
  for (const m of regexSubmatchIndexes(pattern, target)) {
    if (groups === 0) out.push(target.slice(m[0], m[1]));
    else if (m[2] !== -1 && m[2] !== m[3]) out.push(target.slice(m[2], m[3]));
  }
  return out;
}
