/**
 * Kyverno validate patterns: a resource against a pattern with anchors, wildcards and
 * operators (pkg/engine/validate MatchPattern), with Kyverno's skip/fail/error split and
 * wording.
 */
import { isNegationAnchorError } from '../anchor/errors';
import { AnchorTracker } from './handlers';
import { isSkipError, matchElement, type MatchFailure, type PathSegments, type WalkContext } from './resource';
import { reusedPatternCheck } from './compiled';

export type PatternOutcome =
  | { status: 'pass' }
  /** The resource does not satisfy the pattern: path is where (JSON path), message says why. */
  | { status: 'fail'; path: Array<string | number>; message: string }
  /** A conditional anchor did not hold: the rule is skipped, not failed. */
  | { status: 'skip'; path: Array<string | number>; message: string }
  /**
   * Kyverno reports the failure without a path (array length mismatch, or a condition or
   * existence anchor key absent from the whole resource): the rule errors.
   */
  | { status: 'error'; message: string; path?: Array<string | number> };

// Most matches pass: one shared, frozen outcome instead of a fresh one each time.
const PASSED: PatternOutcome = Object.freeze({ status: 'pass' });

// A match never starts another one (no callbacks): one walk context serves every call,
// reset at the start; failures copy the path, so nothing of it escapes.
const walk: WalkContext = { anchors: new AnchorTracker(), stack: [], depth: 0 };

/**
 * Validates a resource against a Kyverno pattern (anchors, wildcards, operators).
 * Variables must already be substituted. Never throws.
 *
 * A pattern object used again (a policy's literal pattern, request after request) is
 * compiled into a checker (compiled.ts) that answers the common pass without walking; any
 * other answer comes from the walk.
 */
export function validatePattern(resource: unknown, pattern: unknown): PatternOutcome {
  const check = reusedPatternCheck(pattern);
  if (check && check(resource)) return PASSED;
  return walkPattern(resource, pattern);
}

/** validatePattern by the walk alone (the reference the compiled checkers are tested against). */
export function walkPattern(resource: unknown, pattern: unknown): PatternOutcome {
  const anchors = walk.anchors;
  anchors.reset();
  walk.depth = 0;
  let failure: MatchFailure | null;
  try {
    failure = matchElement(resource, pattern, walk);
  } catch (e) {
    // Stack exhaustion on absurdly deep input (or cyclic objects) must not crash callers.
    const reason = e instanceof RangeError ? 'pattern or resource is nested too deeply to validate' : String(e);
    return { status: 'error', message: reason };
  }
  if (!failure) return PASSED;
  const { error, path } = failure;
  if (isSkipError(error)) return { status: 'skip', path: path ?? [], message: error.message };
  if (isNegationAnchorError(error)) return pathOutcome(error.message, path);
  // An anchor key that never appeared in the resource: Kyverno drops the path.
  if (anchors.keysAreMissing()) return { status: 'error', message: error.message, ...(path ? { path } : {}) };
  return pathOutcome(error.message, path);
}

function pathOutcome(message: string, path: PathSegments | null): PatternOutcome {
  return path ? { status: 'fail', path, message } : { status: 'error', message };
}

export { matchValue, matchStringPatterns } from './value';
export { patternCheck, type PatternCheck } from './compiled';
export { operatorOf, type Operator } from './operator';
export { expandMetadataWildcards } from './metadata';
export {
  anyPatternFailureEntries,
  combineAnyPatternOutcomes,
  formatAnyPatternEntry,
  formatAnyPatternFailure,
  formatPatternFailure,
  failurePathsInMessage,
  formatPatternPath,
  passedMessage,
  type AnyPatternResult,
} from './messages';
