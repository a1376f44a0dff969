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

/**
 * wildcardMatch(pattern, ·) with the pattern worked out once, for patterns matched again and
 * again (validate patterns): without `?`, the pieces between stars are found left to right
 * (the leftmost place of each piece never loses a match); other patterns use wildcardMatch.
 */
export function wildcardMatcher(pattern: string): (text: string) => boolean {
  if (pattern === '*') return () => true;
  // "one character or more", the usual "must be set".
  if (pattern === '?*') return (text) => text.length >= 1;
  if (pattern.includes('?')) return (text) => wildcardMatch(pattern, text);
  const pieces = pattern.split('*');
  if (pieces.length === 1) return (text) => text === pattern;
  const head = pieces[0];
  const tail = pieces[pieces.length - 1];
  const middle = pieces.slice(1, -1).filter((p) => p !== '');
  return (text) => {
    const end = text.length - tail.length;
    if (end < head.length || !text.startsWith(head) || !text.endsWith(tail)) return false;
    let at = head.length;
    for (let i = 0; i < middle.length; i++) {
      const found = text.indexOf(middle[i], at);
      if (found < 0 || found + middle[i].length > end) return false;
      at = found + middle[i].length;
    }
    return true;
  };
}
