/**
 * Kyverno's wildcard matching (`*` any run, `?` one character), as in
 * github.com/kyverno/kyverno/ext/wildcard. Linear-time: no regular expression is built,
 * so hostile patterns cannot blow up.
 */
export function wildcardMatch(pattern: string, text: string): boolean {
  // The common cases of match filters and patterns: anything, or the text itself.
  if (pattern === '*' || pattern === text) return true;
  let p = 0;
  let t = 0;
  let starP = -1;
  let starT = 0;
  while (t < text.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === text[t])) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === '*') {
      starP = p++;
      starT = t;
    } else if (starP >= 0) {
      p = starP + 1;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

export function containsWildcard(s: string): boolean {
  return s.includes('*') || s.includes('?');
}
