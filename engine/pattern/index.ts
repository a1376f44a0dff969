/**
 * Kyverno validate patterns: a resource against a pattern with anchors, wildcards and
 * operators (pkg/engine/validate MatchPattern), with Kyverno's skip/fail/error split and
 * wording.
 */
import { isNegationAnchorError } from '../anchor/errors';
import { AnchorTracker } from './handlers';
import { isSkipError, matchElement, type JsonMap, type MatchFailure, type PathSegments } from './resource';

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

/**
 * Validates a resource against a Kyverno pattern (anchors, wildcards, operators).
 * Variables must already be substituted. Never throws.
 */
// A map's key order depends on the pattern alone, and policy patterns are matched again on
// every request: the cache lives as long as the pattern objects.
const keyOrder = new WeakMap<JsonMap, string[]>();

export function validatePattern(resource: unknown, pattern: unknown): PatternOutcome {
  const anchors = new AnchorTracker();
  let failure: MatchFailure | null;
  try {
    failure = matchElement(resource, pattern, [], { anchors, keyOrder });
  } catch (e) {
    // Stack exhaustion on absurdly deep input (or cyclic objects) must not crash callers.
    const reason = e instanceof RangeError ? 'pattern or resource is nested too deeply to validate' : String(e);
    return { status: 'error', message: reason };
  }
  if (!failure) return { status: 'pass' };
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
export { operatorOf, type Operator } from './operator';
export { expandMetadataWildcards } from './metadata';
export {
  combineAnyPatternOutcomes,
  formatAnyPatternEntry,
  formatAnyPatternFailure,
  formatPatternFailure,
  formatPatternPath,
  type AnyPatternResult,
} from './messages';
