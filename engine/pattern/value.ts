/**
 * Value-level matching: one resource value against one scalar pattern (Kyverno's
 * pkg/engine/pattern Validate). Strings carry the pattern language: `|` (or) binds looser
 * than `&` (and); each term may start with an operator (`!`, `>`, `<`, `>=`, `<=`) or be a
 * range (`a-b`, `a!-b`); values are compared as durations, then as quantities, then as
 * wildcard strings.
 */
import { parseDuration, parseQuantity } from '../units';
import { wildcardMatch } from '../wildcard/wildcard';
import { goTrimSpace } from '../anchor/parse';
import { goFloatE, goFloatF, goIntString, goParseFloat, isGoInt } from './goformat';
import { IN_RANGE_RE, NOT_IN_RANGE_RE, operatorOf, splitRange, type Operator } from './operator';
import { isJsonObject } from '../core/json';

/** Whether a resource value satisfies a pattern. Maps only check the value is a map; arrays never match. */
export function matchValue(value: unknown, pattern: unknown): boolean {
  if (typeof pattern === 'boolean') return typeof value === 'boolean' && value === pattern;
  if (typeof pattern === 'number') return matchNumberPattern(value, pattern);
  if (pattern === null || pattern === undefined) return matchNilPattern(value);
  if (typeof pattern === 'string') return matchStringPatterns(value, pattern);
  if (Array.isArray(pattern)) return false;
  if (typeof pattern === 'object') return isJsonObject(value);
  return false;
}

/**
 * Pattern numbers are float64 in Kyverno: an int64 resource value matches only a
 * fraction-less pattern, a string value is parsed as a float.
 */
function matchNumberPattern(value: unknown, pattern: number): boolean {
  if (typeof value === 'number') return value === pattern;
  if (typeof value === 'string') {
    const parsed = goParseFloat(value);
    return parsed !== null && parsed === pattern;
  }
  return false;
}

/** A null pattern accepts absent values and every type's zero value, never maps or arrays. */
function matchNilPattern(value: unknown): boolean {
  if (value === null || value === undefined) return true;
  if (typeof value === 'number') return value === 0;
  if (typeof value === 'string') return value === '';
  if (typeof value === 'boolean') return !value;
  return false;
}

/** Go's strings.Trim(s, " "): spaces only, not tabs. */
function trimSpaces(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && s[a] === ' ') a++;
  while (b > a && s[b - 1] === ' ') b--;
  return s.slice(a, b);
}

// Policy patterns are matched on every request: how a pattern string splits and parses
// depends on the string alone, so it is remembered (bounded: dropped when full).
const MAX_REMEMBERED = 4096;

function remembered<T>(cache: Map<string, T>, key: string, make: (key: string) => T): T {
  if (cache.has(key)) return cache.get(key) as T;
  if (cache.size >= MAX_REMEMBERED) cache.clear();
  const value = make(key);
  cache.set(key, value);
  return value;
}

const alternativesCache = new Map<string, readonly (readonly string[])[]>();
const termCache = new Map<string, Term>();
const durationCache = new Map<string, number | null>();
const quantityCache = new Map<string, number | null>();

/** `a & b | c` → [[a, b], [c]], trimmed as Kyverno trims them. */
function splitAlternatives(pattern: string): readonly (readonly string[])[] {
  return pattern.split('|').map((alternative) => trimSpaces(alternative).split('&').map(trimSpaces));
}

export function matchStringPatterns(value: unknown, pattern: string): boolean {
  if (typeof value === 'string' && value === pattern) return true;
  for (const terms of remembered(alternativesCache, pattern, splitAlternatives)) {
    if (terms.every((term) => matchStringTerm(value, term))) return true;
  }
  return false;
}

interface Term {
  op: Operator;
  /** Range ends for `-` and `!-` (null when the range does not split). */
  ends: [string, string] | null;
  operand: string;
}

function parseTerm(pattern: string): Term {
  const op = operatorOf(pattern);
  if (op === '-') return { op, ends: splitRange(pattern, IN_RANGE_RE), operand: '' };
  if (op === '!-') return { op, ends: splitRange(pattern, NOT_IN_RANGE_RE), operand: '' };
  return { op, ends: null, operand: goTrimSpace(pattern.slice(op.length)) };
}

/** One operator term of a string pattern (Kyverno's validateStringPattern). */
export function matchStringTerm(value: unknown, pattern: string): boolean {
  const { op, ends, operand } = remembered(termCache, pattern, parseTerm);
  if (op === '-') {
    return ends !== null && matchStringTerm(value, `>= ${ends[0]}`) && matchStringTerm(value, `<= ${ends[1]}`);
  }
  if (op === '!-') {
    return ends !== null && (matchStringTerm(value, `< ${ends[0]}`) || matchStringTerm(value, `> ${ends[1]}`));
  }
  return compareWithOperator(value, operand, op);
}

/** Kyverno's validateString: durations first, then quantities, then strings. */
export function compareWithOperator(value: unknown, pattern: string, op: Operator): boolean {
  const asDuration = compareParsed(value, remembered(durationCache, pattern, parseDuration), op, parseDuration);
  if (asDuration !== undefined) return asDuration;
  const asQuantity = compareParsed(value, remembered(quantityCache, pattern, parseQuantity), op, parseQuantity);
  if (asQuantity !== undefined) return asQuantity;
  return compareString(value, pattern, op);
}

/**
 * Compares value and the parsed pattern once both parse with `parse`; undefined when either
 * does not, so the next interpretation is tried. An absent value reads as "0".
 */
function compareParsed(value: unknown, p: number | null, op: Operator, parse: (s: string) => number | null): boolean | undefined {
  if (p === null) return undefined;
  const text = numberToString(value);
  if (text === null) return undefined;
  const v = parse(text);
  if (v === null) return undefined;
  switch (op) {
    case '':
      return v === p;
    case '!':
      return v !== p;
    case '>':
      return v > p;
    case '<':
      return v < p;
    case '>=':
      return v >= p;
    case '<=':
      return v <= p;
    default:
      return undefined;
  }
}

/** Kyverno's convertNumberToString: absent is "0", floats print with six decimals. */
export function numberToString(value: unknown): string | null {
  if (value === null || value === undefined) return '0';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return isGoInt(value, 'resource') ? goIntString(value) : goFloatF(value);
  return null;
}

/** Equality (or inequality) as wildcard strings; ordering operators never apply to strings. */
function compareString(value: unknown, pattern: string, op: Operator): boolean {
  if (op !== '' && op !== '!') return false;
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'boolean') text = value ? 'true' : 'false';
  else if (typeof value === 'number') text = isGoInt(value, 'resource') ? goIntString(value) : goFloatE(value);
  else return false;
  const matched = wildcardMatch(pattern, text);
  return op === '!' ? !matched : matched;
}

