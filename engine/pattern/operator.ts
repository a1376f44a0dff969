/** Operators at the start of a string pattern (Kyverno's pkg/engine/operator). */

export type Operator = '' | '>=' | '<=' | '!' | '>' | '<' | '-' | '!-';

/** Both ends of a range: an optionally signed number with an optional unit suffix. */
const END = '([-|+]?\\d+(?:\\.\\d+)?[A-Za-z]*)';
export const IN_RANGE_RE = new RegExp(`^${END}-${END}$`);
export const NOT_IN_RANGE_RE = new RegExp(`^${END}!-${END}$`);

/**
 * Kyverno's GetOperatorFromStringPattern. Prefix operators win over ranges, so `!1-5` is
 * "not equal to 1-5"; patterns shorter than two characters are plain values.
 */
export function operatorOf(pattern: string): Operator {
  if (pattern.length < 2) return '';
  for (const op of ['>=', '<=', '>', '<', '!'] as const) {
    if (pattern.startsWith(op)) return op;
  }
  if (NOT_IN_RANGE_RE.test(pattern)) return '!-';
  if (IN_RANGE_RE.test(pattern)) return '-';
  return '';
}

/** The two ends of a range pattern, or null when the pattern is not one. */
export function splitRange(pattern: string, re: RegExp): [string, string] | null {
  const m = re.exec(pattern);
  return m ? [m[1], m[2]] : null;
}
