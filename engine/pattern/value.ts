/**
 * Value-level matching: one resource value against one scalar pattern (Kyverno's
 * pkg/engine/pattern Validate). Strings carry the pattern language: `|` (or) binds looser
 * than `&` (and); each term may start with an operator (`!`, `>`, `<`, `>=`, `<=`) or be a
 * range (`a-b`, `a!-b`); values are compared as durations, then as quantities, then as
 * wildcard strings.
 */
import { parseDuration, parseQuantity } from '../units';
import { wildcardMatch, wildcardMatcher } from '../wildcard/wildcard';
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
  const hit = cache.get(key);
  if (hit !== undefined || cache.has(key)) return hit as T;
  if (cache.size >= MAX_REMEMBERED) cache.clear();
  const value = make(key);
  cache.set(key, value);
  return value;
}

const alternativesCache = new Map<string, readonly (readonly Term[])[]>();
const termCache = new Map<string, Term>();
const durationCache = new Map<string, number | null>();
const quantityCache = new Map<string, number | null>();

/** `a & b | c` → [[a, b], [c]], trimmed as Kyverno trims them, each term parsed. */
function splitAlternatives(pattern: string): readonly (readonly Term[])[] {
  return pattern.split('|').map((alternative) => trimSpaces(alternative).split('&').map((term) => parseTerm(trimSpaces(term))));
}

export function matchStringPatterns(value: unknown, pattern: string): boolean {
  return matchParsedStringPattern(value, pattern, parseStringPattern(pattern));
}

/** A string pattern split and parsed (remembered per pattern string). */
export type ParsedStringPattern = readonly (readonly Term[])[];

export function parseStringPattern(pattern: string): ParsedStringPattern {
  return remembered(alternativesCache, pattern, splitAlternatives);
}

/** matchStringPatterns with the pattern already parsed (callers that keep it skip the lookup). */
export function matchParsedStringPattern(value: unknown, pattern: string, alternatives: ParsedStringPattern): boolean {
  if (typeof value === 'string' && value === pattern) return true;
  for (const terms of alternatives) {
    let all = true;
    for (const term of terms) {
      if (!termMatches(value, term)) {
        all = false;
        break;
      }
    }
    if (all) return true;
  }
  return false;
}

/** One operator term, parsed with everything that depends on the pattern alone. */
export interface Term {
  op: Operator;
  /** For `-` and `!-`: the two comparisons Kyverno makes (null when the range does not split). */
  bounds: [Term, Term] | null;
  operand: string;
  /** The operand as a duration and as a quantity (null when it is not one). */
  duration: number | null;
  quantity: number | null;
  /** The operand as a wildcard matcher (for the string comparison). */
  matchText: (text: string) => boolean;
}

function parseTerm(pattern: string): Term {
  const op = operatorOf(pattern);
  if (op === '-' || op === '!-') {
    const ends = splitRange(pattern, op === '-' ? IN_RANGE_RE : NOT_IN_RANGE_RE);
    // Kyverno checks a range as two operator patterns built from its ends.
    const bounds: [Term, Term] | null = !ends
      ? null
      : op === '-'
        ? [parseTerm(`>= ${ends[0]}`), parseTerm(`<= ${ends[1]}`)]
        : [parseTerm(`< ${ends[0]}`), parseTerm(`> ${ends[1]}`)];
    return { op, bounds, operand: '', duration: null, quantity: null, matchText: wildcardMatcher('') };
  }
  const operand = goTrimSpace(pattern.slice(op.length));
  return { op, bounds: null, operand, duration: parseDuration(operand), quantity: parseQuantity(operand), matchText: wildcardMatcher(operand) };
}

function termMatches(value: unknown, term: Term): boolean {
  const { op, bounds } = term;
  if (op === '-') return bounds !== null && termMatches(value, bounds[0]) && termMatches(value, bounds[1]);
  if (op === '!-') return bounds !== null && (termMatches(value, bounds[0]) || termMatches(value, bounds[1]));
  // Kyverno's validateString: durations first, then quantities, then strings.
  const asDuration = compareParsed(value, term.duration, op, parseDuration);
  if (asDuration !== undefined) return asDuration;
  const asQuantity = compareParsed(value, term.quantity, op, parseQuantity);
  if (asQuantity !== undefined) return asQuantity;
  return compareString(value, term.operand, op, term.matchText);
}

/** One operator term of a string pattern (Kyverno's validateStringPattern). */
export function matchStringTerm(value: unknown, pattern: string): boolean {
  return termMatches(value, remembered(termCache, pattern, parseTerm));
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
  // Resource values repeat from request to request ("10", "64Mi"): parses are remembered too.
  const v = remembered(parse === parseDuration ? durationCache : quantityCache, text, parse);
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
function compareString(value: unknown, pattern: string, op: Operator, matchText?: (text: string) => boolean): boolean {
  if (op !== '' && op !== '!') return false;
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'boolean') text = value ? 'true' : 'false';
  else if (typeof value === 'number') text = isGoInt(value, 'resource') ? goIntString(value) : goFloatE(value);
  else return false;
  const matched = matchText ? matchText(text) : wildcardMatch(pattern, text);
  return op === '!' ? !matched : matched;
}

