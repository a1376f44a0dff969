/**
 * Anchor keys in patterns: `(k)` condition, `=(k)` equality, `X(k)` negation, `^(k)`
 * existence, `+(k)` add-if-not-present, `<(k)` global. Kyverno parses them with
 * ^([+<=X^])?\((.+)\)$; a key that starts like an anchor but does not parse is a typo.
 */
const ANCHOR = /^([+<=X^])?\((.+)\)$/;
const LOOKS_LIKE_ANCHOR = /^([+<=X^!?~*-])?\(|\)$/;

export const ANCHOR_DOCS: Record<string, string> = {
  '(': 'Conditional anchor `(key)`: the rest of the pattern applies only when this field matches.',
  '=(': 'Equality anchor `=(key)`: if the field is present, it must match.',
  'X(': 'Negation anchor `X(key)`: the field must not be present.',
  '^(': 'Existence anchor `^(key)`: at least one list element must match.',
  '+(': 'Add-if-not-present anchor `+(key)` (mutate): adds the field only when absent.',
  '<(': 'Global anchor `<(key)`: when it does not match, the whole rule is skipped.',
};

export function anchorOf(key: string): { modifier: string; key: string } | undefined {
  const m = ANCHOR.exec(key);
  return m ? { modifier: m[1] ?? '', key: m[2] } : undefined;
}

/** A problem message for an anchor key, or undefined when the key is fine. */
export function checkAnchorKey(key: string, mode: 'validate' | 'mutate'): string | undefined {
  const a = anchorOf(key);
  if (!a) {
    if (!LOOKS_LIKE_ANCHOR.test(key)) return undefined;
    // Keys such as `foo.bar/baz(1)` are ordinary field names; only prefixes count.
    if (!/^([+<=X^!?~*-])?\(/.test(key)) return undefined;
    return `Invalid anchor '${key}': expected (key), =(key), X(key), ^(key), +(key) or <(key).`;
  }
  if (a.key.trim() === '' ) return `Invalid anchor '${key}': empty key.`;
  if (mode === 'validate' && a.modifier === '+') return `Add-if-not-present anchor '${key}' is only allowed in mutate patterns.`;
  return undefined;
}
