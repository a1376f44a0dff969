/**
 * Condition operators with Kyverno's type rules (pkg/engine/variables/operator): the key's
 * type picks the comparison, strings are tried as durations, then quantities, then
 * wildcards; set operators compare stringified members with wildcards both ways.
 * Unsupported type pairs are false, never errors.
 */
import { parseDuration, quantityOf } from '../units';
import { wildcardMatch } from '../wildcard/wildcard';
import { goSprint } from './gofmt';
import { compareVersions, inRange } from './ranges';
import { isJsonObject, jsonEqual } from '../core/json';

type Handler = (key: unknown, value: unknown) => boolean;

/** Go's time.ParseDuration, but "0" is not taken as a duration (Kyverno's parseDuration). */
function durationOf(v: unknown): number | null {
  if (typeof v !== 'string' || v === '0') return null;
  return parseDuration(v);
}

/** Both sides as seconds when at least one is a duration string and the other a duration or number. */
function durationPair(key: unknown, value: unknown): [number, number] | null {
  let k = durationOf(key);
  let v = durationOf(value);
  if (k === null && v === null) return null;
  if (k === null) {
    if (typeof key !== 'number') return null;
    k = Math.trunc(key) * 1e9;
  }
  if (v === null) {
    if (typeof value !== 'number') return null;
    v = Math.trunc(value) * 1e9;
  }
  return [k, v];
}

/** Quantity.Cmp of two quantity strings (exact, as Kyverno compares them), or null. */
function quantityCompare(key: unknown, value: unknown): number | null {
  if (typeof key !== 'string' || typeof value !== 'string') return null;
  const k = quantityOf(key);
  const v = k && quantityOf(value);
  return k && v ? k.cmp(v) : null;
}

/** Go strconv.ParseFloat: decimal or exponent forms, no trailing junk, no empty string. */
function parseGoFloat(s: string): number | null {
  const t = s;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t) && !/^[+-]?(inf|infinity|nan)$/i.test(t)) return null;
  return Number(t.replace(/^([+-]?)inf(inity)?$/i, '$1Infinity'));
}

function parseGoInt(s: string): number | null {
  return /^[+-]?\d+$/.test(s) ? Number(s) : null;
}

function equalNumber(key: number, value: unknown): boolean {
  if (typeof value === 'number') return key === value;
  if (typeof value === 'string') {
    const n = Number.isInteger(key) ? parseGoInt(value) ?? parseGoFloat(value) : parseGoFloat(value);
    return n !== null && n === key;
  }
  return false;
}

function equals(key: unknown, value: unknown): boolean {
  if (typeof key === 'boolean') return typeof value === 'boolean' && key === value;
  if (typeof key === 'number') return equalNumber(key, value);
  if (typeof key === 'string') {
    const d = durationPair(key, value);
    if (d) return d[0] === d[1];
    if (quantityOf(key) !== null && typeof value === 'string') return quantityCompare(key, value) === 0;
    return typeof value === 'string' && wildcardMatch(value, key);
  }
  if (isJsonObject(key)) return isJsonObject(value) && jsonEqual(key, value);
  if (Array.isArray(key)) return Array.isArray(value) && jsonEqual(key, value);
  return false;
}

function notEquals(key: unknown, value: unknown): boolean {
  if (typeof key === 'boolean') return typeof value !== 'boolean' || key !== value;
  if (typeof key === 'number') {
    if (typeof value === 'number') return key !== value;
    if (typeof value === 'string') {
      const n = Number.isInteger(key) ? parseGoInt(value) ?? parseGoFloat(value) : parseGoFloat(value);
      return n === null || n !== key;
    }
    return true;
  }
  if (typeof key === 'string') {
    const d = durationPair(key, value);
    if (d) return d[0] !== d[1];
    if (quantityOf(key) !== null && typeof value === 'string') {
      // Kyverno: a value that is no quantity is "not equal".
      const c = quantityCompare(key, value);
      return c === null || c !== 0;
    }
    return typeof value === 'string' ? !wildcardMatch(value, key) : true;
  }
  if (isJsonObject(key)) return !isJsonObject(value) || !jsonEqual(key, value);
  if (Array.isArray(key)) return !Array.isArray(value) || !jsonEqual(key, value);
  return false;
}

type Cmp = (a: number, b: number) => boolean;

function numericCompare(cmp: Cmp): Handler {
  const withNumberKey = (key: number, value: unknown): boolean => {
    if (typeof value === 'number') return cmp(key, value);
    if (typeof value === 'string') {
      const d = durationPair(key, value);
      if (d) return cmp(d[0], d[1]);
      const f = parseGoFloat(value) ?? parseGoInt(value);
      return f !== null && cmp(key, f);
    }
    return false;
  };
  return (key, value) => {
    if (typeof key === 'number') return withNumberKey(key, value);
    if (typeof key !== 'string') return false;
    const d = durationPair(key, value);
    if (d) return cmp(d[0], d[1]);
    const q = quantityCompare(key, value);
    if (q !== null) return cmp(q, 0);
    const f = parseGoFloat(key) ?? parseGoInt(key);
    if (f !== null) return withNumberKey(f, value);
    if (typeof value === 'string') {
      const c = compareVersions(key, value);
      if (c !== null) return cmp(c, 0);
    }
    return false;
  };
}

function durationCompare(cmp: Cmp): Handler {
  const asDuration = (v: unknown): number | null => {
    if (typeof v === 'number') return Math.trunc(v) * 1e9;
    if (typeof v === 'string') return parseDuration(v);
    return null;
  };
  return (key, value) => {
    if (typeof key !== 'number' && typeof key !== 'string') return false;
    const k = asDuration(key);
    const v = asDuration(value);
    return k !== null && v !== null && cmp(k, v);
  };
}

/** Key of a set operator as strings: scalars are one member, lists many (fmt.Sprint each). */
function keyMembers(key: unknown): string[] | null {
  if (typeof key === 'string') return [key];
  if (typeof key === 'number' || typeof key === 'boolean') return [goSprint(key)];
  if (Array.isArray(key)) return key.map(goSprint);
  return null;
}

/** The value side: a list, a JSON array in a string, or a single string. Null when not usable. */
function valueMembers(value: unknown): string[] | null {
  if (Array.isArray(value)) return value.map(goSprint);
  if (typeof value === 'string') {
    try {
      const parsed: unknown = JSON.parse(value);
      if (Array.isArray(parsed)) return parsed.every((x) => typeof x === 'string') ? (parsed as string[]) : null;
      return [value];
    } catch {
      return [value];
    }
  }
  return null;
}

const matchesEither = (a: string, b: string): boolean => wildcardMatch(a, b) || wildcardMatch(b, a);

function isRange(value: unknown): value is string {
  return typeof value === 'string' && /^-?[\d.]+[a-zA-Z]*!?-\s*-?[\d.]+[a-zA-Z]*$/.test(value.trim());
}

function setOperator(mode: 'anyIn' | 'allIn' | 'anyNotIn' | 'allNotIn'): Handler {
  return (key, value) => {
    const keys = keyMembers(key);
    if (!keys) return false;
    if (typeof value === 'string' && keys.length === 1 && keys[0] === value) return mode === 'anyIn' || mode === 'allIn';
    if (isRange(value)) {
      const within = keys.map((k) => inRange(k, value));
      if (mode === 'anyIn') return within.some(Boolean);
      if (mode === 'allIn') return within.every(Boolean);
      if (mode === 'anyNotIn') return within.some((w) => !w);
      return within.every((w) => !w);
    }
    if (typeof value === 'string' && !Array.isArray(key) && wildcardMatch(value, keys[0])) {
      return mode === 'anyIn' || mode === 'allIn';
    }
    const values = valueMembers(value);
    if (!values) return false;
    const found = keys.map((k) => values.some((v) => matchesEither(k, v)));
    if (mode === 'anyIn') return found.some(Boolean);
    if (mode === 'allIn') return found.every(Boolean);
    if (mode === 'anyNotIn') return found.some((f) => !f);
    return found.every((f) => !f);
  };
}

/** Deprecated In/NotIn: exact membership (wildcards only in a plain string value). */
function legacyIn(negate: boolean): Handler {
  return (key, value) => {
    if (typeof key === 'string' || typeof key === 'number') {
      const k = goSprint(key);
      let hit: boolean;
      if (Array.isArray(value)) hit = value.some((v) => wildcardMatch(k, goSprint(v)));
      else if (typeof value === 'string') {
        if (wildcardMatch(value, k)) hit = true;
        else {
          let arr: unknown;
          try {
            arr = JSON.parse(value);
          } catch {
            return false;
          }
          if (!Array.isArray(arr)) return false;
          hit = arr.some((v) => v === k);
        }
      } else return false;
      return negate ? !hit : hit;
    }
    if (Array.isArray(key)) {
      if (!key.every((k) => typeof k === 'string')) return false;
      const keys = key as string[];
      let values: string[];
      if (Array.isArray(value)) {
        if (!value.every((v) => typeof v === 'string')) return false;
        values = value as string[];
      } else if (typeof value === 'string') {
        if (keys.length === 1 && keys[0] === value) return !negate;
        try {
          const arr: unknown = JSON.parse(value);
          if (!Array.isArray(arr)) return false;
          values = arr.map(goSprint);
        } catch {
          return false;
        }
      } else return false;
      const set = new Set(values);
      return negate ? keys.some((k) => !set.has(k)) : keys.every((k) => set.has(k));
    }
    return false;
  };
}

const HANDLERS: Record<string, Handler> = {
  equal: equals,
  equals: equals,
  notequal: notEquals,
  notequals: notEquals,
  in: legacyIn(false),
  notin: legacyIn(true),
  anyin: setOperator('anyIn'),
  allin: setOperator('allIn'),
  anynotin: setOperator('anyNotIn'),
  allnotin: setOperator('allNotIn'),
  greaterthan: numericCompare((a, b) => a > b),
  greaterthanorequals: numericCompare((a, b) => a >= b),
  lessthan: numericCompare((a, b) => a < b),
  lessthanorequals: numericCompare((a, b) => a <= b),
  durationgreaterthan: durationCompare((a, b) => a > b),
  durationgreaterthanorequals: durationCompare((a, b) => a >= b),
  durationlessthan: durationCompare((a, b) => a < b),
  durationlessthanorequals: durationCompare((a, b) => a <= b),
};

/** The handler for an operator name (case-insensitive, as Kyverno), or undefined when unknown. */
export function operatorHandler(operator: unknown): Handler | undefined {
  if (typeof operator !== 'string') return undefined;
  return HANDLERS[operator.toLowerCase()];
}
