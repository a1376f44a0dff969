/**
 * The errors anchors raise while a resource is validated (Kyverno's anchor/error.go).
 * A failed conditional or global anchor means "the rule does not apply" (skip); a matched
 * negation anchor is a hard failure.
 */

export type AnchorErrorKind = 'conditional' | 'global' | 'negation';

export const CONDITIONAL_ANCHOR_ERR_MSG = 'conditional anchor mismatch';
export const GLOBAL_ANCHOR_ERR_MSG = 'global anchor mismatch';
export const NEGATION_ANCHOR_ERR_MSG = 'negation anchor matched in resource';

const PREFIX: Record<AnchorErrorKind, string> = {
  conditional: CONDITIONAL_ANCHOR_ERR_MSG,
  global: GLOBAL_ANCHOR_ERR_MSG,
  negation: NEGATION_ANCHOR_ERR_MSG,
};

/** An error raised while matching a pattern; `anchor` is set for anchor errors. */
export interface PatternMatchError {
  message: string;
  anchor?: AnchorErrorKind;
  /**
   * Set on the error of a list (or map) whose every entry was skipped (Kyverno's
   * PatternError with Skip): unlike a direct anchor failure, sibling keys still count.
   */
  skipGroup?: boolean;
}

export function anchorError(kind: AnchorErrorKind, msg: string): PatternMatchError {
  return { message: `${PREFIX[kind]}: ${msg}`, anchor: kind };
}

export function plainError(message: string): PatternMatchError {
  return { message };
}

/**
 * Kyverno recognises anchor errors by type, and errors that lost their type on the way up
 * (wrapped in array results) by their text; both are reproduced.
 */
function isKind(err: PatternMatchError | null | undefined, kind: AnchorErrorKind): boolean {
  if (!err) return false;
  if (err.anchor !== undefined) return err.anchor === kind;
  return err.message.includes(PREFIX[kind]);
}

export const isConditionalAnchorError = (err: PatternMatchError | null | undefined): boolean => isKind(err, 'conditional');
export const isGlobalAnchorError = (err: PatternMatchError | null | undefined): boolean => isKind(err, 'global');
export const isNegationAnchorError = (err: PatternMatchError | null | undefined): boolean => isKind(err, 'negation');
