/**
 * The anchor kinds mutation reacts to, over engine/anchor's parser. In a patch Kyverno only
 * acts on `(key)` and `<(key)` conditions and `+(key)`; any other anchor key is patched
 * literally.
 */
import { anchorString as formatAnchor, parseAnchor as parseAnyAnchor, type Anchor } from '../anchor';

export type ParsedAnchor = Anchor;

/** Parses `(key)`, `+(key)`, `<(key)`... ; undefined when the string is a plain key. */
export function parseAnchor(raw: string): ParsedAnchor | undefined {
  return parseAnyAnchor(raw) ?? undefined;
}

/** The key as written in the patch (`+(key)`), to find it again. */
export function anchorString(a: ParsedAnchor): string {
  return formatAnchor(a.type, a.key);
}

export const isCondition = (a: ParsedAnchor | undefined): boolean => a?.type === 'condition';
export const isGlobal = (a: ParsedAnchor | undefined): boolean => a?.type === 'global';
export const isAddIfNotPresent = (a: ParsedAnchor | undefined): boolean => a?.type === 'addIfNotPresent';
/** Kyverno's ContainsCondition: condition or global anchors (not equality/negation/existence). */
export const containsCondition = (a: ParsedAnchor | undefined): boolean => isCondition(a) || isGlobal(a);
/** Anchors that mutation preprocessing acts on (Kyverno's hasAnchor). */
export const isMutationAnchor = (a: ParsedAnchor | undefined): boolean => containsCondition(a) || isAddIfNotPresent(a);
