/**
 * What each key of a pattern map does to the resource map at the same level (Kyverno's
 * anchor handlers): plain keys must match, `(k)` is a condition, `<(k)` a global
 * condition, `=(k)` applies only when present, `X(k)` must be absent, `^(k)` needs at
 * least one list item matching.
 */
import { anchorError, plainError } from '../anchor/errors';
import { parseAnchor, type AnchorType } from '../anchor/parse';
import { goTypeName } from './goformat';
import { isMap, kyvernoPath, matchElement, type JsonMap, type MatchFailure, type PathSegments, type WalkContext } from './resource';

export function hasOwn(map: JsonMap, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(map, key);
}

function getOwn(map: JsonMap, key: string): unknown {
  return hasOwn(map, key) ? map[key] : undefined;
}

const ANCHOR_PHASE: ReadonlySet<AnchorType> = new Set(['condition', 'existence', 'equality', 'negation']);
const NESTED_ANCHORS: ReadonlySet<AnchorType> = new Set(['condition', 'existence', 'equality', 'negation', 'global']);

/** Keys evaluated before all others in a map (Kyverno's GetAnchorsResourcesFromMap). */
export function isAnchorPhaseKey(key: string): boolean {
  const a = parseAnchor(key);
  return a !== null && ANCHOR_PHASE.has(a.type);
}

function hasNestedAnchors(pattern: unknown): boolean {
  if (Array.isArray(pattern)) return pattern.some(hasNestedAnchors);
  if (!isMap(pattern)) return false;
  for (const [k, v] of Object.entries(pattern)) {
    const a = parseAnchor(k);
    if (a && NESTED_ANCHORS.has(a.type)) return true;
    if (hasNestedAnchors(v)) return true;
  }
  return false;
}

/**
 * Kyverno's getSortedNestedAnchorResource: walks keys in sorted order pushing global
 * anchors and keys with nested anchors to the front (so they end up reversed), the rest
 * to the back.
 */
export function orderPlainKeys(keys: string[], pattern: JsonMap): string[] {
  const front: string[] = [];
  const back: string[] = [];
  for (const k of [...keys].sort()) {
    if (parseAnchor(k)?.type === 'global' || hasNestedAnchors(pattern[k])) front.unshift(k);
    else back.push(k);
  }
  return [...front, ...back];
}

/**
 * The order in which a pattern map's keys are evaluated: anchors first, then the rest.
 * A pattern map is matched once per list item and its order depends on the pattern alone,
 * so it is cached per pattern object (the caller owns the cache).
 */
export function evaluationOrder(pattern: JsonMap, keyOrderCache: WeakMap<JsonMap, string[]>): string[] {
  const cached = keyOrderCache.get(pattern);
  if (cached) return cached;
  const keys = Object.keys(pattern);
  const anchorKeys = keys.filter(isAnchorPhaseKey).sort();
  const order = [...anchorKeys, ...orderPlainKeys(keys.filter((k) => !isAnchorPhaseKey(k)), pattern)];
  keyOrderCache.set(pattern, order);
  return order;
}

const trackedAnchorCache = new WeakMap<JsonMap, ReadonlyArray<readonly [string, string]>>();

/** The condition/existence/negation anchor keys of a pattern map, with their bare keys (per pattern object). */
function trackedAnchors(pattern: JsonMap): ReadonlyArray<readonly [string, string]> {
  let out = trackedAnchorCache.get(pattern);
  if (out) return out;
  const found: Array<readonly [string, string]> = [];
  for (const key of Object.keys(pattern)) {
    const a = parseAnchor(key);
    if (a && (a.type === 'condition' || a.type === 'existence' || a.type === 'negation')) found.push([key, a.key]);
  }
  out = found;
  trackedAnchorCache.set(pattern, out);
  return out;
}

/**
 * Remembers, across the whole match, whether each condition/existence/negation anchor key
 * was ever present in the resource (Kyverno's AnchorMap). A failure while such a key never
 * appeared is reported without a path, which Kyverno turns into a rule error.
 */
export class AnchorTracker {
  private readonly seen = new Map<string, boolean>();

  record(pattern: JsonMap, resource: JsonMap): void {
    for (const [key, bare] of trackedAnchors(pattern)) {
      if (this.seen.get(key) === true) continue;
      if (!this.seen.has(key)) this.seen.set(key, false);
      if (hasOwn(resource, bare)) this.seen.set(key, true);
    }
  }

  keysAreMissing(): boolean {
    for (const [key, present] of this.seen) {
      if (!present && parseAnchor(key)?.type !== 'negation') return true;
    }
    return false;
  }
}

/** Applies one pattern key to the resource map at `path`. */
export function handleKey(key: string, pattern: unknown, resource: JsonMap, path: PathSegments, ctx: WalkContext): MatchFailure | null {
  const anchor = parseAnchor(key);
  switch (anchor?.type) {
    case 'condition':
    case 'global':
      return conditionHandler(anchor.key, anchor.type, pattern, resource, path, ctx);
    case 'existence':
      return existenceHandler(anchor.key, pattern, resource, path, ctx);
    case 'equality': {
      if (!hasOwn(resource, anchor.key)) return null;
      return matchElement(resource[anchor.key], pattern, [...path, anchor.key], ctx);
    }
    case 'negation': {
      if (!hasOwn(resource, anchor.key)) return null;
      const current = [...path, anchor.key];
      return { path: current, error: anchorError('negation', `${kyvernoPath(current)} is not allowed`) };
    }
    default:
      return defaultHandler(key, pattern, resource, path, ctx);
  }
}

/** Plain keys (and `+(k)`, which validate treats as a literal key name). */
function defaultHandler(key: string, pattern: unknown, resource: JsonMap, path: PathSegments, ctx: WalkContext): MatchFailure | null {
  const value = getOwn(resource, key);
  if (pattern === '*') {
    if (value !== null && value !== undefined) return null;
    return { path, error: plainError(`${kyvernoPath(path)}/${key} not found`) };
  }
  return matchElement(value, pattern, [...path, key], ctx);
}

/**
 * A condition that does not hold turns into a skip error. A missing key fails a
 * conditional anchor but not a global one.
 */
function conditionHandler(
  key: string,
  kind: 'condition' | 'global',
  pattern: unknown,
  resource: JsonMap,
  path: PathSegments,
  ctx: WalkContext,
): MatchFailure | null {
  const current = [...path, key];
  const errorKind = kind === 'condition' ? 'conditional' : 'global';
  if (!hasOwn(resource, key)) {
    if (kind === 'global') return null;
    return { path: current, error: anchorError('conditional', "conditional anchor key doesn't exist in the resource") };
  }
  const failure = matchElement(resource[key], pattern, current, ctx);
  if (!failure) return null;
  return { path: failure.path, error: anchorError(errorKind, failure.error.message) };
}

/** `^(list)`: for every map in the pattern list, at least one resource item must match it. */
function existenceHandler(key: string, pattern: unknown, resource: JsonMap, path: PathSegments, ctx: WalkContext): MatchFailure | null {
  if (!hasOwn(resource, key)) return null;
  const current = [...path, key];
  const value = resource[key];
  if (!Array.isArray(value)) {
    const message = `invalid resource type ${goTypeName(value, 'resource')}: Existence ^ () anchor can be used only on list/array type resource`;
    return { path: current, error: plainError(message) };
  }
  if (!Array.isArray(pattern)) {
    const message = `invalid pattern type ${goTypeName(pattern, 'pattern')}: Pattern has to be of list to compare against resource`;
    return { path: current, error: plainError(message) };
  }
  for (const item of pattern) {
    if (!isMap(item)) {
      const message = `invalid pattern type ${goTypeName(pattern, 'pattern')}: Pattern has to be of type map to compare against items in resource`;
      return { path: current, error: plainError(message) };
    }
    const someMatch = value.some((element, i) => matchElement(element, item, [...current, i], ctx) === null);
    if (!someMatch) {
      return { path: current, error: plainError(`existence anchor validation failed at path ${kyvernoPath(current)}`) };
    }
  }
  return null;
}
