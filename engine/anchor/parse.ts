/**
 * Anchors in pattern keys, as Kyverno's pkg/engine/anchor parses them: an optional
 * one-character modifier, then the key in parentheses, e.g. `(name)`, `=(labels)`,
 * `X(hostPID)`. Surrounding whitespace is ignored; the key must not be empty.
 */

export type AnchorModifier = '' | '<' | 'X' | '+' | '=' | '^';

export type AnchorType = 'condition' | 'global' | 'negation' | 'addIfNotPresent' | 'equality' | 'existence';

export interface Anchor {
  type: AnchorType;
  modifier: AnchorModifier;
  /** The key without its anchor decoration. */
  key: string;
}

const TYPE_BY_MODIFIER: Record<AnchorModifier, AnchorType> = {
  '': 'condition',
  '<': 'global',
  X: 'negation',
  '+': 'addIfNotPresent',
  '=': 'equality',
  '^': 'existence',
};

const MODIFIER_BY_TYPE: Record<AnchorType, AnchorModifier> = {
  condition: '',
  global: '<',
  negation: 'X',
  addIfNotPresent: '+',
  equality: '=',
  existence: '^',
};

const MODIFIERS = new Set(['<', 'X', '+', '=', '^']);

/** Go's strings.TrimSpace: Unicode White_Space, which (unlike String.prototype.trim) excludes U+FEFF. */
export function goTrimSpace(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && isGoSpace(s.charCodeAt(start))) start++;
  while (end > start && isGoSpace(s.charCodeAt(end - 1))) end--;
  return s.slice(start, end);
}

function isGoSpace(c: number): boolean {
  if (c <= 0xff) return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0x85 || c === 0xa0;
  return (
    c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000
  );
}

/** Parses an anchored key; null when the key is a plain key (Kyverno's anchor.Parse). */
export function parseAnchor(key: string): Anchor | null {
  const s = goTrimSpace(key);
  if (s.length < 3 || s[s.length - 1] !== ')') return null;
  let modifier: AnchorModifier;
  let open: number;
  if (s[0] === '(') {
    modifier = '';
    open = 0;
  } else if (MODIFIERS.has(s[0]) && s[1] === '(') {
    modifier = s[0] as AnchorModifier;
    open = 1;
  } else {
    return null;
  }
  const inner = s.slice(open + 1, s.length - 1);
  // Kyverno's expression uses `.+`, which matches neither an empty key nor a newline.
  if (inner.length === 0 || inner.includes('\n')) return null;
  return { type: TYPE_BY_MODIFIER[modifier], modifier, key: inner };
}

/** Builds the anchored form of a key (Kyverno's anchor.String); empty when the key is empty. */
export function anchorString(type: AnchorType, key: string): string {
  if (key === '') return '';
  return `${MODIFIER_BY_TYPE[type]}(${key})`;
}

function isType(key: string, ...types: AnchorType[]): boolean {
  const a = parseAnchor(key);
  return a !== null && types.includes(a.type);
}

export const isAnchor = (key: string): boolean => parseAnchor(key) !== null;
export const isConditionAnchor = (key: string): boolean => isType(key, 'condition');
export const isGlobalAnchor = (key: string): boolean => isType(key, 'global');
export const isNegationAnchor = (key: string): boolean => isType(key, 'negation');
export const isAddIfNotPresentAnchor = (key: string): boolean => isType(key, 'addIfNotPresent');
export const isEqualityAnchor = (key: string): boolean => isType(key, 'equality');
export const isExistenceAnchor = (key: string): boolean => isType(key, 'existence');
/** Condition or global anchor: the keys that decide whether a rule applies at all. */
export const containsCondition = (key: string): boolean => isType(key, 'condition', 'global');

/** The key without its anchor, or the key itself when it is not anchored. */
export function removeAnchor(key: string): string {
  return parseAnchor(key)?.key ?? key;
}

/**
 * Strips anchors from every segment of a slash-separated path, normalised like Go's
 * path.Join (Kyverno's RemoveAnchorsFromPath).
 */
export function removeAnchorsFromPath(path: string): string {
  let parts = path.split('/');
  if (parts[0] === '') parts = parts.slice(1);
  const joined = cleanPath(parts.map(removeAnchor).filter((p) => p !== '').join('/'));
  return path.startsWith('/') ? '/' + (joined === '.' ? '' : joined) : joined === '.' ? '' : joined;
}

function cleanPath(p: string): string {
  if (p === '') return '.';
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..' && out.length > 0 && out[out.length - 1] !== '..') out.pop();
    else out.push(seg);
  }
  return out.length === 0 ? '.' : out.join('/');
}
