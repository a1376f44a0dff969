/**
 * The text rewrites Kyverno applies to a generated rule (pkg/autogen/v1 updateFields and
 * pkg/engine/variables FindAndShiftReferences). Kyverno runs them over the rule's JSON
 * bytes, so they reach every string and every key, including names and messages.
 */

type Replacement = readonly [from: string, to: string];

const POD_RULES: readonly Replacement[] = [
  ['request.object.spec', 'request.object.spec.template.spec'],
  ['request.oldObject.spec', 'request.oldObject.spec.template.spec'],
  ['request.object.metadata', 'request.object.spec.template.metadata'],
  ['request.oldObject.metadata', 'request.oldObject.spec.template.metadata'],
];
const POD_CEL_RULES: readonly Replacement[] = [
  ['object.spec', 'object.spec.template.spec'],
  ['oldObject.spec', 'oldObject.spec.template.spec'],
  ['object.metadata', 'object.spec.template.metadata'],
  ['oldObject.metadata', 'oldObject.spec.template.metadata'],
];
const CRONJOB_RULES: readonly Replacement[] = [
  ['request.object.spec', 'request.object.spec.jobTemplate.spec.template.spec'],
  ['request.oldObject.spec', 'request.oldObject.spec.jobTemplate.spec.template.spec'],
  ['request.object.metadata', 'request.object.spec.jobTemplate.spec.template.metadata'],
  ['request.oldObject.metadata', 'request.oldObject.spec.jobTemplate.spec.template.metadata'],
];
const CRONJOB_CEL_RULES: readonly Replacement[] = [
  ['object.spec', 'object.spec.jobTemplate.spec.template.spec'],
  ['oldObject.spec', 'oldObject.spec.jobTemplate.spec.template.spec'],
  ['object.metadata', 'object.spec.jobTemplate.spec.template.metadata'],
  ['oldObject.metadata', 'oldObject.spec.jobTemplate.spec.template.metadata'],
];

export type Target = 'Pod' | 'Cronjob';

function replacementsFor(target: Target, cel: boolean): readonly Replacement[] {
  if (target === 'Pod') return cel ? POD_CEL_RULES : POD_RULES;
  return cel ? CRONJOB_CEL_RULES : CRONJOB_RULES;
}

/** Kyverno's updateFields on one string: each replacement runs over the output of the previous one. */
export function rewriteText(text: string, target: Target, cel: boolean): string {
  // Every pattern contains `bject.` (object./oldObject.); most strings and keys have none.
  if (!text.includes('bject.')) return text;
  let out = text;
  for (const [from, to] of replacementsFor(target, cel)) out = out.split(from).join(to);
  return out;
}

/**
 * Applies rewriteText to every string and key of a JSON value (the JSON-bytes rewrite,
 * structurally). The result is a fresh JSON copy: it shares no object with the input
 * (undefined members are dropped, undefined array items and non-finite numbers become null, as a
 * JSON round trip does).
 */
export function rewriteDeep(value: unknown, target: Target, cel: boolean): unknown {
  if (typeof value === 'string') return rewriteText(value, target, cel);
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : rewriteDeep(v, target, cel)));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v !== undefined) out[rewriteText(k, target, cel)] = rewriteDeep(v, target, cel);
    }
    return out;
  }
  return value;
}

/**
 * The matches of Kyverno's RegexReferences `^\$\(.[^ ]*\)|[^\\]\$\(.[^ ]*\)`, left to right and
 * non-overlapping: `$(` (at the start, or after a character other than a backslash), any
 * character but a newline, then the longest run without a space that ends in `)`.
 * Scanned in linear time so a hostile message cannot make it backtrack.
 */
export function findReferences(text: string): string[] {
  const n = text.length;
  // nextSpace[i]: first index >= i holding a space (n when none).
  const nextSpace = new Int32Array(n + 1).fill(n);
  for (let i = n - 1; i >= 0; i--) nextSpace[i] = text[i] === ' ' ? i : nextSpace[i + 1];
  // lastParen[i]: last index < i holding `)` (-1 when none).
  const lastParen = new Int32Array(n + 1).fill(-1);
  for (let i = 1; i <= n; i++) lastParen[i] = text[i - 1] === ')' ? i - 1 : lastParen[i - 1];
  const endOf = (dollar: number): number => {
    const q = dollar + 2;
    if (q >= n || text[q] === '\n') return -1;
    const close = lastParen[nextSpace[q + 1]];
    return close >= q + 1 ? close + 1 : -1;
  };
  const out: string[] = [];
  let s = 0;
  while (s < n) {
    let end = -1;
    if (s === 0 && text.startsWith('$(', 0)) end = endOf(0);
    if (end < 0 && text[s] !== '\\' && text.startsWith('$(', s + 1)) end = endOf(s + 1);
    if (end >= 0) {
      out.push(text.slice(s, end));
      s = end;
    } else {
      s++;
    }
  }
  return out;
}

/**
 * Kyverno's FindAndShiftReferences: `$(./../pattern/x)` style references in a message get
 * `shift` inserted after the pivot (`pattern`, `deny`, `anyPattern/<i>`, `podSecurity`).
 */
export function shiftReferences(value: string, shift: string, pivot: string): string {
  if (!value.includes('$(')) return value;
  const references = findReferences(value);
  let out = value;
  let currentPivot = pivot;
  for (const found of references) {
    const initial = found.startsWith('$(');
    const reference = initial ? found : found.slice(1);
    if (currentPivot === 'anyPattern') {
      const index = reference.indexOf(currentPivot);
      const ruleIndex = reference.slice(index + currentPivot.length + 1).split('/')[0];
      // Kyverno keeps the extended pivot for the following references too.
      currentPivot = `${currentPivot}/${ruleIndex}`;
    }
    const shifted = reference.split(currentPivot).join(`${currentPivot}/${shift}`);
    const replacement = (initial ? '' : found[0]) + shifted;
    const at = out.indexOf(found);
    if (at >= 0) out = out.slice(0, at) + replacement + out.slice(at + found.length);
  }
  return out;
}
