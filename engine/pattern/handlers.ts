/**
 * What each key of a pattern map does to the resource map at the same level (Kyverno's
 * anchor handlers): plain keys must match, `(k)` is a condition, `<(k)` a global
 * condition, `=(k)` applies only when present, `X(k)` must be absent, `^(k)` needs at
 * least one list item matching.
 *
 * The walk's path is a reused buffer (enter before descending, leave after); a failure
 * takes a copy, so the success path allocates no path arrays.
 */
import { anchorError, plainError } from '../anchor/errors';
import { parseAnchor, type AnchorType } from '../anchor/parse';
import { goTypeName } from './goformat';
import { mayExpandMetadata } from './metadata';
import { currentPath, enter, failureAt, isMap, kyvernoPath, leave, matchArray, matchElement, matchMap, type JsonMap, type MatchFailure, type WalkContext } from './resource';
import { matchParsedStringPattern, parseStringPattern, type ParsedStringPattern } from './value';

export function hasOwn(map: JsonMap, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(map, key);
}

/**
 * `resource[key]` when it is the map's own entry, else undefined. A JSON map's own values
 * are never functions: a function (or `__proto__`) can be inherited, so only then is
 * ownership checked (the check is the walk's most frequent call otherwise).
 */
export function ownValue(map: JsonMap, key: string): unknown {
  const value = map[key];
  if (value === undefined) return undefined;
  if (typeof value === 'function' || key === '__proto__') return hasOwn(map, key) ? value : undefined;
  return value;
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

/** The order in which a pattern map's keys are evaluated: anchors first, then the rest. */
export function evaluationOrder(pattern: JsonMap): string[] {
  const keys = Object.keys(pattern);
  const anchorKeys = keys.filter(isAnchorPhaseKey).sort();
  return [...anchorKeys, ...orderPlainKeys(keys.filter((k) => !isAnchorPhaseKey(k)), pattern)];
}

/** One key of a pattern map with its anchor already parsed. */
interface KeyStep {
  key: string;
  /** The anchor's type; null for a plain key. */
  anchor: AnchorType | null;
  /** The key without its anchor decoration (the key itself when plain). */
  bare: string;
  /** Whether the key belongs to the first phase (isAnchorPhaseKey), decided once. */
  anchorPhase: boolean;
  value: unknown;
  /** The plan of `value` when it is a map (filled on first use; undefined until then). */
  valuePlan?: MapPlan | null;
  /** The plan of the first item of `value` when it is a list of maps (filled on first use). */
  itemPlan?: MapPlan | null;
  /** `value` parsed when it is a string pattern (filled on first use). */
  stringPattern?: ParsedStringPattern;
}

/** The plan of a step's value when it is a map, kept on the step so the walk skips the lookup. */
function valuePlanOf(step: KeyStep): MapPlan | undefined {
  if (step.valuePlan === undefined) step.valuePlan = isMap(step.value) ? mapPlan(step.value) : null;
  return step.valuePlan ?? undefined;
}

/**
 * matchElement(value, step.value) with what the step already knows: a map value goes
 * straight to its plan, a string pattern against a single value to its parsed form. Any
 * other case, and every failure, goes through matchElement, which words the error.
 */
function matchStepValue(value: unknown, step: KeyStep, ctx: WalkContext): MatchFailure | null {
  const pattern = step.value;
  if (typeof pattern === 'string') {
    if (!Array.isArray(value) && matchParsedStringPattern(value, pattern, (step.stringPattern ??= parseStringPattern(pattern)))) return null;
    return matchElement(value, pattern, ctx);
  }
  const plan = valuePlanOf(step);
  if (plan && isMap(value)) {
    if (plan.tracked.length > 0) ctx.anchors.record(plan, value);
    return matchMap(value, pattern as JsonMap, plan, ctx);
  }
  if (Array.isArray(pattern) && Array.isArray(value)) return matchArray(value, pattern, ctx, itemPlanOf(step));
  return matchElement(value, pattern, ctx, plan);
}

/** The plan of the first item of a step's list value when it is a map (kept on the step). */
function itemPlanOf(step: KeyStep): MapPlan | undefined {
  if (step.itemPlan === undefined) {
    const first = Array.isArray(step.value) ? step.value[0] : undefined;
    step.itemPlan = isMap(first) ? mapPlan(first) : null;
  }
  return step.itemPlan ?? undefined;
}

/** Everything about a pattern map that depends on the pattern alone. */
export interface MapPlan {
  /** The keys in evaluation order. */
  steps: readonly KeyStep[];
  /** Condition/existence/negation anchor keys with their bare keys (for AnchorTracker). */
  tracked: ReadonlyArray<readonly [string, string]>;
  /** Wildcard keys under metadata labels/annotations: the map is expanded per resource. */
  expandsMetadata: boolean;
}

// Policy patterns are matched on every request (and a map once per list item); pattern
// objects are never changed in place, so the plan lives as long as the pattern map.
const plans = new WeakMap<JsonMap, MapPlan>();

export function mapPlan(pattern: JsonMap): MapPlan {
  let plan = plans.get(pattern);
  if (plan) return plan;
  const steps = evaluationOrder(pattern).map((key): KeyStep => {
    const a = parseAnchor(key);
    return { key, anchor: a ? a.type : null, bare: a ? a.key : key, anchorPhase: a !== null && ANCHOR_PHASE.has(a.type), value: pattern[key] };
  });
  const tracked: Array<readonly [string, string]> = [];
  for (const key of Object.keys(pattern)) {
    const a = parseAnchor(key);
    if (a && (a.type === 'condition' || a.type === 'existence' || a.type === 'negation')) tracked.push([key, a.key]);
  }
  plan = { steps, tracked, expandsMetadata: mayExpandMetadata(pattern) };
  plans.set(pattern, plan);
  return plan;
}

/**
 * Remembers, across the whole match, whether each condition/existence/negation anchor key
 * was ever present in the resource (Kyverno's AnchorMap). A failure while such a key never
 * appeared is reported without a path, which Kyverno turns into a rule error.
 */
export class AnchorTracker {
  // Most patterns have no such anchors: the map is only made when one shows up.
  private seen: Map<string, boolean> | null = null;

  record(plan: MapPlan, resource: JsonMap): void {
    const tracked = plan.tracked;
    if (tracked.length === 0) return;
    const seen = (this.seen ??= new Map());
    for (const [key, bare] of tracked) {
      if (seen.get(key) === true) continue;
      if (!seen.has(key)) seen.set(key, false);
      if (hasOwn(resource, bare)) seen.set(key, true);
    }
  }

  /** Forgets every key (the tracker is reused from one match to the next). */
  reset(): void {
    this.seen = null;
  }

  keysAreMissing(): boolean {
    if (!this.seen) return false;
    for (const [key, present] of this.seen) {
      if (!present && parseAnchor(key)?.type !== 'negation') return true;
    }
    return false;
  }
}

/** Applies one pattern key to the resource map at the context's current path. */
export function handleStep(step: KeyStep, resource: JsonMap, ctx: WalkContext): MatchFailure | null {
  switch (step.anchor) {
    case 'condition':
    case 'global':
      return conditionHandler(step, step.anchor, resource, ctx);
    case 'existence':
      return existenceHandler(step.bare, step.value, resource, ctx);
    case 'equality': {
      if (!hasOwn(resource, step.bare)) return null;
      enter(ctx, step.bare);
      const failure = matchStepValue(resource[step.bare], step, ctx);
      leave(ctx);
      return failure;
    }
    case 'negation': {
      if (!hasOwn(resource, step.bare)) return null;
      const current = [...currentPath(ctx), step.bare];
      return { path: current, error: anchorError('negation', `${kyvernoPath(current)} is not allowed`) };
    }
    default:
      // Plain keys, and `+(k)`, which validate treats as a literal key name.
      return defaultHandler(step, resource, ctx);
  }
}

function defaultHandler(step: KeyStep, resource: JsonMap, ctx: WalkContext): MatchFailure | null {
  const key = step.key;
  const value = ownValue(resource, key);
  if (step.value === '*') {
    if (value !== null && value !== undefined) return null;
    return failureAt(ctx, plainError(`${kyvernoPath(currentPath(ctx))}/${key} not found`));
  }
  enter(ctx, key);
  const failure = matchStepValue(value, step, ctx);
  leave(ctx);
  return failure;
}

/**
 * A condition that does not hold turns into a skip error. A missing key fails a
 * conditional anchor but not a global one.
 */
function conditionHandler(step: KeyStep, kind: 'condition' | 'global', resource: JsonMap, ctx: WalkContext): MatchFailure | null {
  const key = step.bare;
  if (!hasOwn(resource, key)) {
    if (kind === 'global') return null;
    return { path: [...currentPath(ctx), key], error: anchorError('conditional', "conditional anchor key doesn't exist in the resource") };
  }
  enter(ctx, key);
  const failure = matchStepValue(resource[key], step, ctx);
  leave(ctx);
  if (!failure) return null;
  return { path: failure.path, error: anchorError(kind === 'condition' ? 'conditional' : 'global', failure.error.message) };
}

/** `^(list)`: for every map in the pattern list, at least one resource item must match it. */
function existenceHandler(key: string, pattern: unknown, resource: JsonMap, ctx: WalkContext): MatchFailure | null {
  if (!hasOwn(resource, key)) return null;
  const current = [...currentPath(ctx), key];
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
    let someMatch = false;
    const itemPlan = mapPlan(item);
    enter(ctx, key);
    for (let i = 0; i < value.length && !someMatch; i++) {
      enter(ctx, i);
      someMatch = matchElement(value[i], item, ctx, itemPlan) === null;
      leave(ctx);
    }
    leave(ctx);
    if (!someMatch) {
      return { path: current, error: plainError(`existence anchor validation failed at path ${kyvernoPath(current)}`) };
    }
  }
  return null;
}
