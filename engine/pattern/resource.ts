/**
 * Resource-level matching: a whole resource against a validate pattern (Kyverno's
 * pkg/engine/validate MatchPattern with validateResourceElement / validateMap /
 * validateArray). Paths are kept as segment arrays; Kyverno's "/a/b/" strings are derived
 * from them for messages.
 */
import { isConditionalAnchorError, isGlobalAnchorError, plainError, type PatternMatchError } from '../anchor/errors';
import { goTypeName, goValueString } from './goformat';
import { evaluationOrder, handleKey, type AnchorTracker } from './handlers';
import { expandMetadataWildcards } from './metadata';
import { matchValue } from './value';

export type PathSegments = Array<string | number>;

/** A failed match: where (null where Kyverno reports an empty path) and why. */
export interface MatchFailure {
  path: PathSegments | null;
  error: PatternMatchError;
}

export type JsonMap = Record<string, unknown>;

export interface WalkContext {
  anchors: AnchorTracker;
  keyOrder: WeakMap<JsonMap, string[]>;
}

import { isJsonObject as isMap } from '../core/json';
export { isMap };

function isScalarPattern(p: unknown): boolean {
  return p === null || p === undefined || ['string', 'number', 'boolean'].includes(typeof p);
}

/** Kyverno's path string: "/" for the root, "/spec/containers/0/" below it. */
export function kyvernoPath(path: PathSegments): string {
  return '/' + path.map((s) => `${s}/`).join('');
}

/** Conditional and global anchor failures make the rule not apply. */
export function isSkipError(err: PatternMatchError): boolean {
  return isConditionalAnchorError(err) || isGlobalAnchorError(err);
}

/** Kyverno's validateResourceElement: dispatch on the pattern's shape. */
export function matchElement(resource: unknown, pattern: unknown, path: PathSegments, ctx: WalkContext): MatchFailure | null {
  if (isMap(pattern)) {
    if (!isMap(resource)) {
      const message =
        `pattern and resource have different structures. Path: ${kyvernoPath(path)}. ` +
        `Expected ${goTypeName(pattern, 'pattern')}, found ${goTypeName(resource, 'resource')}`;
      return { path, error: plainError(message) };
    }
    ctx.anchors.record(pattern, resource);
    return matchMap(resource, pattern, path, ctx);
  }
  if (Array.isArray(pattern)) {
    if (!Array.isArray(resource)) {
      const message = `validation rule failed at path ${kyvernoPath(path)}, resource does not satisfy the expected overlay pattern`;
      return { path, error: plainError(message) };
    }
    return matchArray(resource, pattern, path, ctx);
  }
  if (isScalarPattern(pattern)) {
    // A scalar pattern against a list applies to every item.
    const values = Array.isArray(resource) ? resource : [resource];
    for (const value of values) {
      if (!matchValue(value, pattern)) {
        const message =
          `resource value '${goValueString(resource, 'resource')}' does not match ` +
          `'${goValueString(pattern, 'pattern')}' at path ${kyvernoPath(path)}`;
        return { path, error: plainError(message) };
      }
    }
    return null;
  }
  return { path, error: plainError(`failed at '${kyvernoPath(path)}', pattern contains unknown type`) };
}

/**
 * Kyverno's validateMap: anchors (conditions, existence, equality, negation) first in key
 * order, then the other keys with global anchors and keys hiding nested anchors first.
 */
function matchMap(resource: JsonMap, rawPattern: JsonMap, path: PathSegments, ctx: WalkContext): MatchFailure | null {
  const pattern = expandMetadataWildcards(rawPattern, resource);
  let applied = 0;
  const skipped: PatternMatchError[] = [];
  for (const key of evaluationOrder(pattern, ctx.keyOrder)) {
    const failure = handleKey(key, pattern[key], resource, path, ctx);
    if (!failure) {
      applied++;
      continue;
    }
    // A condition failing on this map stops it at once; a child whose entries were all
    // skipped only skips this map when nothing else here applied.
    if (failure.error.skipGroup && isSkipError(failure.error)) {
      skipped.push(failure.error);
      continue;
    }
    // Skips take priority over failures met after them.
    if (skipped.length > 0) return skipGroup(skipped, path);
    return failure;
  }
  return applied === 0 && skipped.length > 0 ? skipGroup(skipped, path) : null;
}

/** multierr.Combine joins messages with "; "; the combined error keeps no anchor type. */
function skipGroup(errors: PatternMatchError[], path: PathSegments): MatchFailure {
  return { path, error: { message: errors.map((e) => e.message).join('; '), skipGroup: true } };
}

/** Kyverno's validateArray: the first pattern item decides how the list is matched. */
function matchArray(resource: unknown[], pattern: unknown[], path: PathSegments, ctx: WalkContext): MatchFailure | null {
  if (pattern.length === 0) return { path, error: plainError('pattern Array empty') };
  const first = pattern[0];
  if (isMap(first)) return matchArrayOfMaps(resource, first, path, ctx);
  if (isScalarPattern(first)) return matchElement(resource, first, path, ctx);
  if (resource.length < pattern.length) {
    const message =
      `validate Array failed, array length mismatch, resource Array len is ${resource.length} ` +
      `and pattern Array len is ${pattern.length}`;
    return { path: null, error: plainError(message) };
  }
  // Nested lists are matched position by position.
  return matchEach(
    pattern.map((p, i) => [resource[i], p, i] as const),
    path,
    ctx,
  );
}

/** Every resource item must match the map pattern; items whose conditions fail are skipped. */
function matchArrayOfMaps(resource: unknown[], pattern: JsonMap, path: PathSegments, ctx: WalkContext): MatchFailure | null {
  return matchEach(
    resource.map((r, i) => [r, pattern, i] as const),
    path,
    ctx,
  );
}

/** Matches items, collecting skips; all-skipped lists skip as a whole (Kyverno's PatternError{Skip}). */
function matchEach(items: ReadonlyArray<readonly [unknown, unknown, number]>, path: PathSegments, ctx: WalkContext): MatchFailure | null {
  let applied = 0;
  const skipped: PatternMatchError[] = [];
  for (const [res, pat, i] of items) {
    const failure = matchElement(res, pat, [...path, i], ctx);
    if (!failure) {
      applied++;
      continue;
    }
    if (isSkipError(failure.error)) {
      skipped.push(failure.error);
      continue;
    }
    return failure;
  }
  return applied === 0 && skipped.length > 0 ? skipGroup(skipped, path) : null;
}

