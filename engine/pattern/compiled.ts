/**
 * A validate pattern compiled once into a checker: a tree of closures that answers "does the
 * walk (resource.ts) meet no failure at all?" without a walk context, path buffer, anchor
 * tracker or step dispatch. Every node mirrors what the walker's handlers accept (handlers.ts
 * handleStep / matchStepValue, resource.ts matchElement / matchArray): when the checker says
 * yes, the walk passes. When it says no, the resource failed somewhere or something was only
 * skipped (a conditional anchor on one list item, say, which the walk may still absorb): the
 * caller walks the pattern, which decides and words the answer. So the checker only ever
 * short-cuts passes; every other outcome stays the walker's.
 *
 * Built from the same map plans as the walk (anchors parsed once, string patterns parsed
 * once), and kept per pattern object for as long as the pattern lives.
 */
import { isJsonObject as isMap } from '../core/json';
import { hasOwn, mapPlan, ownValue } from './handlers';
import { expandMetadataWildcards } from './metadata';
import { matchParsedStringPattern, matchValue, parseStringPattern } from './value';

type JsonMap = Record<string, unknown>;

/** True only when the walk of the compiled pattern over `value` meets no failure. */
export type PatternCheck = (value: unknown) => boolean;
type MapCheck = (value: JsonMap) => boolean;

const never: PatternCheck = () => false;

function isScalarPattern(p: unknown): boolean {
  if (p === null || p === undefined) return true;
  const t = typeof p;
  return t === 'string' || t === 'number' || t === 'boolean';
}

/** matchElement(value, pattern) === null, as a closure over the pattern. */
export function compilePattern(pattern: unknown): PatternCheck {
  if (isMap(pattern)) {
    const check = compileMap(pattern);
    return (value) => isMap(value) && check(value);
  }
  if (Array.isArray(pattern)) {
    const check = compileList(pattern);
    return (value) => Array.isArray(value) && check(value);
  }
  if (isScalarPattern(pattern)) return compileScalar(pattern);
  return never;
}

/** A scalar pattern: against a list it applies to every item (matchElement's scalar case). */
function compileScalar(pattern: unknown): PatternCheck {
  if (typeof pattern === 'string') {
    const parsed = parseStringPattern(pattern);
    return (value) => {
      if (!Array.isArray(value)) return matchParsedStringPattern(value, pattern, parsed);
      for (let i = 0; i < value.length; i++) if (!matchParsedStringPattern(value[i], pattern, parsed)) return false;
      return true;
    };
  }
  return (value) => {
    if (!Array.isArray(value)) return matchValue(value, pattern);
    for (let i = 0; i < value.length; i++) if (!matchValue(value[i], pattern)) return false;
    return true;
  };
}

/** matchArray: the first pattern item decides how the list is matched. */
function compileList(pattern: unknown[]): (value: unknown[]) => boolean {
  if (pattern.length === 0) return never;
  const first = pattern[0];
  if (isMap(first)) {
    // Every item must be a map that matches (a skipped item is left to the walk).
    const item = compileMap(first);
    return (value) => {
      for (let i = 0; i < value.length; i++) {
        const v = value[i];
        if (!isMap(v) || !item(v)) return false;
      }
      return true;
    };
  }
  if (isScalarPattern(first)) return compileScalar(first);
  // Nested lists: position by position, the resource at least as long as the pattern.
  const items = pattern.map(compilePattern);
  return (value) => {
    if (value.length < items.length) return false;
    for (let i = 0; i < items.length; i++) if (!items[i](value[i])) return false;
    return true;
  };
}

/**
 * compilePattern(pattern) applied to the value under `key`, with the map or list test in the
 * same closure: each level of a pattern is one call, not two.
 */
function valueCheck(key: string, pattern: unknown): MapCheck {
  if (isMap(pattern)) {
    const check = compileMap(pattern);
    return (r) => {
      const v = ownValue(r, key);
      return isMap(v) && check(v);
    };
  }
  if (Array.isArray(pattern)) {
    const check = compileList(pattern);
    return (r) => {
      const v = ownValue(r, key);
      return Array.isArray(v) && check(v);
    };
  }
  const check = compilePattern(pattern);
  return (r) => check(ownValue(r, key));
}

/** Every check holds; one or two are called directly (most maps in patterns have one or two keys). */
function allOf(checks: MapCheck[]): MapCheck {
  if (checks.length === 1) return checks[0];
  if (checks.length === 2) {
    const [a, b] = checks;
    return (r) => a(r) && b(r);
  }
  return (r) => {
    for (let i = 0; i < checks.length; i++) if (!checks[i](r)) return false;
    return true;
  };
}

/** matchMap: with no failure anywhere, the order of the keys does not matter. */
function compileMap(pattern: JsonMap): MapCheck {
  const plan = mapPlan(pattern);
  const checks = plan.steps.map((step): MapCheck => {
    const bare = step.bare;
    switch (step.anchor) {
      case 'condition': {
        // An absent key fails the condition: a skip, left to the walk.
        const check = compilePattern(step.value);
        return (r) => hasOwn(r, bare) && check(r[bare]);
      }
      case 'global':
      case 'equality': {
        const check = compilePattern(step.value);
        return (r) => !hasOwn(r, bare) || check(r[bare]);
      }
      case 'negation':
        return (r) => !hasOwn(r, bare);
      case 'existence':
        // Some item must match each pattern item (matched by the walk itself): left to it.
        return (r) => !hasOwn(r, bare);
      default: {
        // Plain keys, and `+(k)`, a literal key name for validate.
        const key = step.key;
        if (step.value === '*') {
          return (r) => {
            const v = ownValue(r, key);
            return v !== null && v !== undefined;
          };
        }
        return valueCheck(key, step.value);
      }
    }
  });
  const all = allOf(checks);
  if (!plan.expandsMetadata) return all;
  // Wildcard label/annotation keys: a resource that expands them is left to the walk.
  return (r) => expandMetadataWildcards(pattern, r) === pattern && all(r);
}

// A pattern object seen once may be a per-request substitution: it is compiled on its
// second use, and then kept with the object.
const compiled = new WeakMap<object, PatternCheck | null>();

/** The checker of a pattern, never throwing: a resource too deep for it is no pass, left to the walk. */
function safeCheck(pattern: object): PatternCheck {
  const check = compilePattern(pattern);
  return (value) => {
    try {
      return check(value);
    } catch {
      return false;
    }
  };
}

/**
 * The pattern's checker, compiled now (and kept with the pattern object), for callers that
 * hold a pattern for many matches (a policy's literal pattern).
 */
export function patternCheck(pattern: object): PatternCheck {
  let check = compiled.get(pattern);
  if (!check) compiled.set(pattern, (check = safeCheck(pattern)));
  return check;
}

/**
 * The pattern's checker once the same pattern object has been matched before; undefined on
 * its first use (and for scalar patterns), when compiling would cost more than one walk.
 */
export function reusedPatternCheck(pattern: unknown): PatternCheck | undefined {
  if (typeof pattern !== 'object' || pattern === null) return undefined;
  const known = compiled.get(pattern);
  if (known) return known;
  if (known === undefined) {
    compiled.set(pattern, null);
    return undefined;
  }
  const check = safeCheck(pattern);
  compiled.set(pattern, check);
  return check;
}
