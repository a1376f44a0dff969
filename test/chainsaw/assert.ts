/**
 * Chainsaw's assertion trees (kyverno-json's `assert` semantics), the subset the offline runner
 * supports: an expected object is a partial match of an actual one; `(expr)` keys project the
 * actual node through a JMESPath expression (Kyverno's dialect, engine/jmespath) and match the
 * projection; `(expr)` scalar values are evaluated against the actual node and compared with
 * it; arrays match element by element and must have the same length; `$name` bindings are
 * substituted as JSON literals. What is not supported throws Unsupported, so the scenario is
 * counted apart instead of passing or failing for the runner's sake.
 */
import { jmesSearch } from '../../engine/jmespath';
import { isJsonObject } from '../../engine/core/json';

export class Unsupported extends Error {}

export type Bindings = Record<string, unknown>;

const EXPRESSION = /^\((.*)\)$/s;
const BINDING = /\$([A-Za-z_][A-Za-z0-9_]*)/g;

/** The JMESPath statement of a `(expr)` key or value, else undefined. */
export function expressionOf(text: string): string | undefined {
  const m = EXPRESSION.exec(text.trim());
  return m ? m[1] : undefined;
}

/** Evaluates a chainsaw expression (JMESPath with `$bindings`) against `node`. */
export function evaluate(statement: string, node: unknown, bindings: Bindings): unknown {
  // Chainsaw's own trim_space (Go's strings.TrimSpace), which Kyverno's dialect does not have,
  // where the corpus uses it: around a whole expression.
  const trimmed = /^\s*trim_space\((.*)\)\s*$/s.exec(statement);
  if (trimmed) {
    const value = evaluate(trimmed[1], node, bindings);
    if (typeof value !== 'string') throw new Unsupported(`expression ${JSON.stringify(statement)}: trim_space of a ${value === null ? 'null' : typeof value}`);
    return value.replace(/^[\t\n\v\f\r \u0085\u00a0]+|[\t\n\v\f\r \u0085\u00a0]+$/g, '');
  }
  let missing: string | undefined;
  const text = statement.replace(BINDING, (_, name: string) => {
    if (!(name in bindings)) {
      missing = name;
      return 'null';
    }
    // A JMESPath literal: a backtick inside it (a denial quoting `false`) is written as its
    // JSON escape (the JMESPath lexer unescapes only the first \` of a literal).
    return '`' + JSON.stringify(bindings[name] ?? null).replace(/`/g, '\\u0060') + '`';
  });
  if (missing !== undefined) throw new Unsupported(`binding $${missing} is not known offline`);
  try {
    return jmesSearch(text, node ?? null);
  } catch (e) {
    throw new Unsupported(`expression ${JSON.stringify(statement)}: ${(e as Error).message}`);
  }
}

/** Go's reflect.DeepEqual after JSON decoding: numbers compare by value. */
function scalarEqual(a: unknown, b: unknown): boolean {
  if (a === undefined) a = null;
  if (b === undefined) b = null;
  if (typeof a === 'number' && typeof b === 'number') return a === b;
  if (Array.isArray(a) || Array.isArray(b) || isJsonObject(a) || isJsonObject(b)) return JSON.stringify(a) === JSON.stringify(b);
  return a === b;
}

/**
 * Null when `actual` matches `expected`; otherwise the first mismatch as "path: reason".
 * Throws Unsupported for assertion forms the runner does not implement.
 */
export function assertionMismatch(actual: unknown, expected: unknown, bindings: Bindings, path = ''): string | null {
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${path || '.'}: expected an array, got ${JSON.stringify(actual ?? null)}`;
    if (actual.length !== expected.length) return `${path || '.'}: lengths of slices don't match (${actual.length} vs ${expected.length} expected)`;
    for (let i = 0; i < expected.length; i++) {
      const m = assertionMismatch(actual[i], expected[i], bindings, `${path}[${i}]`);
      if (m) return m;
    }
    return null;
  }
  if (isJsonObject(expected)) {
    for (const [key, want] of Object.entries(expected)) {
      if (key.startsWith('~')) throw new Unsupported(`foreach assertion key ${JSON.stringify(key)}`);
      const statement = expressionOf(key);
      // An expression key projects whatever value is there (`(contains(@, 'x'))` on a list);
      // a plain key needs an object (kyverno-json's mapNode projection).
      if (statement === undefined && !isJsonObject(actual)) return `${path || '.'}: expected an object, got ${JSON.stringify(actual ?? null)}`;
      const got = statement !== undefined ? evaluate(statement, actual, bindings) : (actual as Record<string, unknown>)[key];
      const m = assertionMismatch(got, want, bindings, `${path}.${key}`);
      if (m) return m;
    }
    return null;
  }
  let want = expected;
  if (typeof expected === 'string') {
    const statement = expressionOf(expected);
    if (statement !== undefined) want = evaluate(statement, actual, bindings);
  }
  return scalarEqual(actual, want) ? null : `${path || '.'}: got ${JSON.stringify(actual ?? null)}, expected ${JSON.stringify(want ?? null)}`;
}

/**
 * A resource file's templating (chainsaw's `template: true`): string keys and values written
 * `(expr)` that use a `$binding` are evaluated. Expressions without a binding are left as
 * written (a policy's own CEL or JMESPath text in parentheses is not chainsaw's).
 */
export function templateResource(value: unknown, bindings: Bindings): unknown {
  const usesBinding = (s: string) => expressionOf(s) !== undefined && s.includes('$');
  if (typeof value === 'string') return usesBinding(value) ? evaluate(expressionOf(value)!, null, bindings) : value;
  if (Array.isArray(value)) return value.map((v) => templateResource(v, bindings));
  if (isJsonObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const key = usesBinding(k) ? String(evaluate(expressionOf(k)!, null, bindings)) : k;
      out[key] = templateResource(v, bindings);
    }
    return out;
  }
  return value;
}
