/**
 * Expressions embedded in policies: `{{ }}` JMESPath variables and CEL expressions, checked
 * by the engine's checkers (engine/jmespath `checkJmespath`, engine/cel `checkCelExpression`).
 */
import { Environment } from '@marcbachmann/cel-js';
import { checkJmespath as engineCheckJmespath } from '../../../engine/jmespath';
import { checkCelExpression, type CelDiagnostic, type CelCheckContext } from '../../../engine/cel';
import { JMESPATH_FUNCTIONS } from './vocabulary';
import { closest } from './suggest';

export interface ExpressionProblem {
  message: string;
  /** Offset and length inside the expression text. */
  offset: number;
  length: number;
  kind: 'syntax' | 'unknown-function' | 'arity' | 'cel' | 'cel-type';
}

export interface TemplateVariable {
  /** Offset of `{{` in the string. */
  start: number;
  /** Offset after `}}`. */
  end: number;
  /** The JMESPath text between the braces (untrimmed). */
  expression: string;
  /** Offset of `expression` in the string. */
  exprStart: number;
}

// Kyverno's variable syntax: `{{ ... }}` with one level of nested braces, not after a backslash.
const VARIABLE = /(^|[^\\])(\{\{(?:\{[^{}]*\}|[^{}])*\}\})/g;

export function findVariables(s: string): TemplateVariable[] {
  if (!s.includes('{{')) return [];
  const out: TemplateVariable[] = [];
  VARIABLE.lastIndex = 0;
  for (let m = VARIABLE.exec(s); m; m = VARIABLE.exec(s)) {
    const start = m.index + m[1].length;
    const full = m[2];
    out.push({ start, end: start + full.length, expression: full.slice(2, -2), exprStart: start + 2 });
    if (out.length > 1000) break;
  }
  return out;
}

/** Did-you-mean for an unknown function, from the functions Kyverno registers. */
function withSuggestion(message: string, name: string): string {
  const guess = closest(name, JMESPATH_FUNCTIONS.keys());
  return guess ? `${message}. Did you mean '${guess}'?` : message;
}

// Expressions repeat across rules and across edits; their checks are pure.
const memo = new Map<string, ExpressionProblem[]>();
function memoised(key: string, fn: () => ExpressionProblem[]): ExpressionProblem[] {
  let r = memo.get(key);
  if (!r) {
    r = fn();
    if (memo.size > 20000) memo.clear();
    memo.set(key, r);
  }
  return r;
}

/**
 * Problems in the JMESPath of one `{{ }}` variable, from the engine's checker (Kyverno's
 * dialect: backtick literals must be valid JSON, Kyverno's function set and arities).
 */
export function checkJmespath(expression: string): ExpressionProblem[] {
  return memoised('j' + expression, () => checkJmespathUncached(expression));
}

const UNKNOWN_FUNCTION = /^Unknown function: ([A-Za-z_]\w*)\(\)/;
const ARITY = /^\w+\(\) takes .* but received \d+$/;

function checkJmespathUncached(expression: string): ExpressionProblem[] {
  const trimmed = expression.trim();
  const lead = expression.indexOf(trimmed);
  if (!trimmed) return [{ message: 'Empty variable expression.', offset: 0, length: expression.length, kind: 'syntax' }];
  return engineCheckJmespath(trimmed).map((p) => {
    const unknown = UNKNOWN_FUNCTION.exec(p.message);
    const kind = unknown ? 'unknown-function' : ARITY.test(p.message) ? 'arity' : 'syntax';
    const signature = kind === 'arity' ? JMESPATH_FUNCTIONS.get(p.message.slice(0, p.message.indexOf('(')))?.signature : undefined;
    const message = unknown ? withSuggestion(p.message, unknown[1]) : signature ? `${p.message}: ${signature}` : p.message;
    return { message, offset: lead + p.offset, length: p.length, kind };
  });
}

/**
 * CEL problems, from the engine's checker (Kyverno libraries, its rewrites). A grammar error
 * is certain (kind 'cel'); anything else is a type error from cel-js's checker, stricter than cel-go on dyn-typed Kubernetes objects in
 * places, reported as 'cel-type' (shown as a warning).
 */
export function checkCel(expression: string, context: CelContext = NO_CONTEXT): ExpressionProblem[] {
  return memoised(`c${context.key}\u0000${expression}`, () => checkCelUncached(expression, context.check));
}

/** What the engine's checker knows about the surrounding policy, with a key for the memo. */
export interface CelContext {
  check: CelCheckContext;
  key: string;
}

const NO_CONTEXT: CelContext = { check: {}, key: '' };

/**
 * The declared `spec.variables` of a CEL policy, so `variables.<name>` is checked and typed,
 * and a generating policy's generator form (generator.apply with a namespace in a cluster-wide
 * one, without in a NamespacedGeneratingPolicy).
 */
export function celPolicyContext(policy: unknown): CelContext {
  const doc = policy as { kind?: unknown; spec?: { variables?: unknown } } | null;
  const generatorScope = doc?.kind === 'GeneratingPolicy' ? 'cluster' : doc?.kind === 'NamespacedGeneratingPolicy' ? 'namespaced' : undefined;
  const spec = doc?.spec;
  if (!Array.isArray(spec?.variables)) return generatorScope ? { check: { generatorScope }, key: generatorScope } : NO_CONTEXT;
  const variables = spec.variables
    .filter((v): v is { name: string; expression: string } => typeof v?.name === 'string' && typeof v?.expression === 'string')
    .map((v) => ({ name: v.name, expression: v.expression }));
  return { check: { variables, generatorScope }, key: JSON.stringify([variables, generatorScope ?? null]) };
}

function checkCelUncached(expression: string, context: CelCheckContext): ExpressionProblem[] {
  let found: CelDiagnostic[];
  try {
    found = checkCelExpression(expression, context);
  } catch {
    return [];
  }
  return found.map((p) => {
    const syntax = GRAMMAR_MESSAGE.test(p.message);
    // The engine rewrites some Kyverno syntax first, which can lose the offset; our grammar
    // parse of the original text locates the same error.
    const local = syntax ? celSyntax(expression)[0] : undefined;
    if (local) return local;
    return { message: `CEL${syntax ? ' syntax error' : ''}: ${p.message}`, offset: p.offset ?? 0, length: p.length ?? expression.length, kind: syntax ? 'cel' : 'cel-type' };
  });
}

// cel-js grammar errors (ParseError codes unexpected_token/character, unterminated_string, ...).
const GRAMMAR_MESSAGE = /^(empty CEL expression|Unexpected (token|character)|Expected [A-Z_]+, got|Unterminated|Invalid (number|exponent)|Newlines not allowed|Reserved identifier)/;

let grammarEnv: Environment | undefined;
function celSyntax(expression: string): ExpressionProblem[] {
  if (!expression.trim()) return [{ message: 'Empty CEL expression.', offset: 0, length: expression.length, kind: 'cel' }];
  grammarEnv ??= new Environment({ enableOptionalTypes: true, unlistedVariablesAreDyn: true, homogeneousAggregateLiterals: false });
  try {
    grammarEnv.parse(expression);
    return [];
  } catch (e) {
    const err = e as { name?: string; code?: string; message: string; range?: { start?: number; end?: number } };
    // Only grammar errors: cel-js also rejects some macro forms that cel-go accepts.
    if (err.name !== 'ParseError' || !err.code || ['invalid_macro_argument', 'limit_exceeded'].includes(err.code)) return [];
    const start = err.range?.start ?? 0;
    const end = err.range?.end ?? expression.length;
    const message = String(err.message).split('\n')[0];
    return [{ message: `CEL syntax error: ${message}`, offset: Math.min(start, Math.max(0, expression.length - 1)), length: Math.max(1, end - start), kind: 'cel' }];
  }
}
