/**
 * Resource-level matching: a whole resource against a validate pattern (Kyverno's
 * pkg/engine/validate MatchPattern with validateResourceElement / validateMap /
 * validateArray). Paths are kept as segment arrays; Kyverno's "/a/b/" strings are derived
 * from them for messages. While walking, the path is one reused buffer with a depth (no
 * array per step); a failure copies the part in use.
 */
import { isConditionalAnchorError, isGlobalAnchorError, plainError, type PatternMatchError } from '../anchor/errors';
import { goTypeName, goValueString } from './goformat';
import { handleStep, mapPlan, type AnchorTracker, type MapPlan } from './handlers';
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
  /** The path of the element being matched: `stack[0..depth)` (entries beyond are stale). */
  stack: PathSegments;
  depth: number;
}

/** Descends into `segment` (undone with leave). */
export function enter(ctx: WalkContext, segment: string | number): void {
  ctx.stack[ctx.depth++] = segment;
}

export function leave(ctx: WalkContext): void {
  ctx.depth--;
}

/** A copy of the current path. */
export function currentPath(ctx: WalkContext): PathSegments {
  return ctx.stack.slice(0, ctx.depth);
}

import { isJsonObject as isMap } from '../core/json';
export { isMap };

function isScalarPattern(p: unknown): boolean {
  if (p === null || p === undefined) return true;
  const t = typeof p;
  return t === 'string' || t === 'number' || t === 'boolean';
}

/** A failure at the current position. */
export function failureAt(ctx: WalkContext, error: PatternMatchError): MatchFailure {
  return { path: currentPath(ctx), error };
}

/** Kyverno's path string: "/" for the root, "/spec/containers/0/" below it. */
export function kyvernoPath(path: PathSegments): string {
  return '/' + path.map((s) => `${s}/`).join('');
}

/** Conditional and global anchor failures make the rule not apply. */
export function isSkipError(err: PatternMatchError): boolean {
  return isConditionalAnchorError(err) || isGlobalAnchorError(err);
}

/**
 * Kyverno's validateResourceElement: dispatch on the pattern's shape. `resource` sits at
 * the context's current path.
 */
export function matchElement(resource: unknown, pattern: unknown, ctx: WalkContext, knownPlan?: MapPlan): MatchFailure | null {
  if (isMap(pattern)) {
    if (!isMap(resource)) {
      const message =
        `pattern and resource have different structures. Path: ${kyvernoPath(currentPath(ctx))}. ` +
        `Expected ${goTypeName(pattern, 'pattern')}, found ${goTypeName(resource, 'resource')}`;
      return failureAt(ctx, plainError(message));
    }
    const plan = knownPlan ?? mapPlan(pattern);
    if (plan.tracked.length > 0) ctx.anchors.record(plan, resource);
    return matchMap(resource, pattern, plan, ctx);
  }
  if (Array.isArray(pattern)) {
    if (!Array.isArray(resource)) {
      const message = `validation rule failed at path ${kyvernoPath(currentPath(ctx))}, resource does not satisfy the expected overlay pattern`;
      return failureAt(ctx, plainError(message));
    }
    return matchArray(resource, pattern, ctx);
  }
  if (isScalarPattern(pattern)) {
    // A scalar pattern against a list applies to every item.
    if (Array.isArray(resource)) {
      for (const value of resource) if (!matchValue(value, pattern)) return scalarMismatch(resource, pattern, ctx);
    } else if (!matchValue(resource, pattern)) return scalarMismatch(resource, pattern, ctx);
    return null;
  }
  return failureAt(ctx, plainError(`failed at '${kyvernoPath(currentPath(ctx))}', pattern contains unknown type`));
}

function scalarMismatch(resource: unknown, pattern: unknown, ctx: WalkContext): MatchFailure {
  const message =
    `resource value '${goValueString(resource, 'resource')}' does not match ` +
    `'${goValueString(pattern, 'pattern')}' at path ${kyvernoPath(currentPath(ctx))}`;
  return failureAt(ctx, plainError(message));
}

/**
 * Kyverno's validateMap: anchors (conditions, existence, equality, negation) first in key
 * order, then the other keys with global anchors and keys hiding nested anchors first.
 */
export function matchMap(resource: JsonMap, rawPattern: JsonMap, rawPlan: MapPlan, ctx: WalkContext): MatchFailure | null {
  let plan = rawPlan;
  if (rawPlan.expandsMetadata) {
    const pattern = expandMetadataWildcards(rawPattern, resource);
    if (pattern !== rawPattern) plan = mapPlan(pattern);
  }
  // Phase 1, the anchors: a child all of whose entries were skipped is set aside; the map
  // skips when no anchor applied. Otherwise a failure, met at any phase, fails the map
  // (Kyverno's validateMap: skipped children alone do not hide a sibling's failure).
  let applied = 0;
  let skipped: PatternMatchError[] | null = null;
  let anchorPhase = true;
  for (const step of plan.steps) {
    if (anchorPhase && !step.anchorPhase) {
      anchorPhase = false;
      if (skipped && applied === 0) return skipGroup(skipped, ctx);
    }
    const failure = handleStep(step, resource, ctx);
    if (!failure) {
      applied++;
      continue;
    }
    if (anchorPhase && failure.error.skipGroup && isSkipError(failure.error)) {
      (skipped ??= []).push(failure.error);
      continue;
    }
    // A condition failing on this map itself skips it at once; in phase 2 any error, a
    // skipped child's included, is the map's.
    return failure;
  }
  return anchorPhase && applied === 0 && skipped ? skipGroup(skipped, ctx) : null;
}

/** multierr.Combine joins messages with "; "; the combined error keeps no anchor type. */
function skipGroup(errors: PatternMatchError[], ctx: WalkContext): MatchFailure {
  return failureAt(ctx, { message: errors.map((e) => e.message).join('; '), skipGroup: true });
}

/** Kyverno's validateArray: the first pattern item decides how the list is matched. */
export function matchArray(resource: unknown[], pattern: unknown[], ctx: WalkContext, firstPlan?: MapPlan): MatchFailure | null {
  if (pattern.length === 0) return failureAt(ctx, plainError('pattern Array empty'));
  const first = pattern[0];
  // Every resource item must match the map pattern; items whose conditions fail are skipped.
  if (isMap(first)) return matchEach(resource, first, null, resource.length, ctx, firstPlan ?? mapPlan(first));
  if (isScalarPattern(first)) return matchElement(resource, first, ctx);
  if (resource.length < pattern.length) {
    const message =
      `validate Array failed, array length mismatch, resource Array len is ${resource.length} ` +
      `and pattern Array len is ${pattern.length}`;
    return { path: null, error: plainError(message) };
  }
  // Nested lists are matched position by position.
  return matchEach(resource, null, pattern, pattern.length, ctx);
}

/**
 * Matches the first `count` items (each against `itemPattern`, or position by position
 * against `patterns`), collecting skips; all-skipped lists skip as a whole (Kyverno's
 * PatternError{Skip}).
 */
function matchEach(
  resource: unknown[],
  itemPattern: JsonMap | null,
  patterns: unknown[] | null,
  count: number,
  ctx: WalkContext,
  itemPlan?: MapPlan,
): MatchFailure | null {
  let applied = 0;
  let skipped: PatternMatchError[] | null = null;
  for (let i = 0; i < count; i++) {
    enter(ctx, i);
    const failure = matchElement(resource[i], itemPattern ?? patterns![i], ctx, itemPlan);
    leave(ctx);
    if (!failure) {
      applied++;
      continue;
    }
    if (isSkipError(failure.error)) {
      (skipped ??= []).push(failure.error);
      continue;
    }
    return failure;
  }
  return applied === 0 && skipped ? skipGroup(skipped, ctx) : null;
}
