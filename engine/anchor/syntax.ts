/**
 * Anchor checks for authoring tools. Kyverno itself rejects, at policy admission, anchors a
 * validate pattern does not support and existence anchors whose value is not a non-empty
 * list (pkg/policy/common ValidatePattern); those errors use Kyverno's wording. Keys that
 * look like a broken anchor are silently plain keys to Kyverno — they are reported here
 * because they are almost always typos.
 */
import { goTrimSpace, parseAnchor, type Anchor, type AnchorType } from './parse';

/** Where a pattern is used: validate patterns accept fewer anchors than mutate overlays. */
export type AnchorContext = 'validate' | 'mutate';

/** Anchors Kyverno accepts in validate.pattern / anyPattern. */
const VALIDATE_ANCHORS: ReadonlySet<AnchorType> = new Set(['condition', 'existence', 'equality', 'negation', 'global']);

const KNOWN_MODIFIERS = '<X+=^';

/**
 * Returns an error text for a key that is a malformed anchor or an anchor not allowed in
 * the context, or null when the key is fine (plain or a supported anchor).
 */
export function checkAnchorSyntax(key: string, context: AnchorContext = 'validate'): string | null {
  const anchor = parseAnchor(key);
  if (anchor) return checkSupported(key, anchor, context);
  return checkMalformed(key);
}

function checkSupported(key: string, anchor: Anchor, context: AnchorContext): string | null {
  if (context === 'validate' && !VALIDATE_ANCHORS.has(anchor.type)) return `unsupported anchor ${key}`;
  return null;
}

function checkMalformed(key: string): string | null {
  const s = goTrimSpace(key);
  const open = s[0] === '(' ? 0 : s[1] === '(' ? 1 : -1;
  if (open < 0) return null;
  const modifier = open === 1 ? s[0] : '';
  const knownModifier = modifier === '' || KNOWN_MODIFIERS.includes(modifier);
  if (!s.endsWith(')')) {
    return knownModifier ? `malformed anchor "${key}": missing closing parenthesis, the key is treated as a plain field name` : null;
  }
  if (!knownModifier) {
    return `unknown anchor modifier "${modifier}" in "${key}": expected (key), <(key), X(key), +(key), =(key) or ^(key)`;
  }
  const inner = s.slice(open + 1, -1);
  if (inner.length === 0) return `malformed anchor "${key}": the key inside the parentheses is empty`;
  if (inner.includes('\n')) return `malformed anchor "${key}": the key contains a line break`;
  return null;
}

export interface AnchorIssue {
  /** JSON path (keys and indexes) of the offending key inside the pattern. */
  path: Array<string | number>;
  message: string;
}

/**
 * Walks a whole pattern and reports every anchor problem: the key-level checks above plus
 * Kyverno's existence-anchor value checks. Bounded by the pattern's size.
 */
export function checkPatternAnchors(pattern: unknown, context: AnchorContext = 'validate'): AnchorIssue[] {
  const issues: AnchorIssue[] = [];
  const stack: Array<{ value: unknown; path: Array<string | number>; depth: number }> = [{ value: pattern, path: [], depth: 0 }];
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!;
    if (depth > 10_000) continue;
    if (Array.isArray(value)) {
      value.forEach((v, i) => stack.push({ value: v, path: [...path, i], depth: depth + 1 }));
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
      const keyPath = [...path, key];
      const problem = checkAnchorSyntax(key, context);
      if (problem) issues.push({ path: keyPath, message: problem });
      const anchor = parseAnchor(key);
      if (anchor?.type === 'existence' && !problem) {
        if (!Array.isArray(child)) issues.push({ path: keyPath, message: 'existence anchor should have value of type list' });
        else if (child.length === 0) issues.push({ path: keyPath, message: 'existence anchor: should have at least one value' });
      }
      stack.push({ value: child, path: keyPath, depth: depth + 1 });
    }
  }
  return issues;
}
