/**
 * Expressions embedded in policies: `{{ }}` JMESPath variables and CEL expressions. Checks
 * use the engine's checkers when it exports them (engine/jmespath `checkJmespath`,
 * engine/cel `checkCelExpression`) and fall back to local syntax checks otherwise.
 */
import { compile } from '@jmespath-community/jmespath';
import { Environment } from '@marcbachmann/cel-js';
import { engineExport } from './engine-adapter';
import { functionTable } from './functions';
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

type EngineProblem = { message: string; offset?: number; length?: number };
function engineJmespathCheck(): ((e: string) => EngineProblem[]) | undefined {
  const fn = engineExport<unknown>('jmespath', 'checkJmespath');
  return typeof fn === 'function' ? (fn as (e: string) => EngineProblem[]) : undefined;
}
function engineCelCheck(): ((e: string, o?: unknown) => EngineProblem[]) | undefined {
  const fn = engineExport<unknown>('cel', 'checkCelExpression');
  return typeof fn === 'function' ? (fn as (e: string, o?: unknown) => EngineProblem[]) : undefined;
}

/** go-jmespath reads a backtick literal that is not JSON as a raw string; the JS parser does not. */
function normaliseLiterals(expr: string): string {
  return expr.replace(/`((?:[^`\\]|\\.)*)`/g, (all, body: string) => {
    try {
      JSON.parse(body.replace(/\\`/g, '`'));
      return all;
    } catch {
      return '`' + JSON.stringify(body).replace(/`/g, '\\`') + '`';
    }
  });
}

interface AstNode { type?: string; name?: string; children?: AstNode[]; [k: string]: unknown }

function walk(node: unknown, visit: (n: AstNode) => void, depth = 0): void {
  if (!node || typeof node !== 'object' || depth > 500) return;
  if (Array.isArray(node)) {
    for (const c of node) walk(c, visit, depth + 1);
    return;
  }
  const n = node as AstNode;
  visit(n);
  for (const v of Object.values(n)) if (v && typeof v === 'object') walk(v, visit, depth + 1);
}

function withSuggestion(message: string): string {
  const m = /unknown function:?\s*'?([A-Za-z_][\w]*)/i.exec(message);
  if (!m || /did you mean/i.test(message)) return message;
  const guess = closest(m[1], functionTable().keys());
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

export function checkJmespath(expression: string): ExpressionProblem[] {
  return memoised('j' + expression, () => checkJmespathUncached(expression));
}

function checkJmespathUncached(expression: string): ExpressionProblem[] {
  const trimmed = expression.trim();
  const lead = expression.indexOf(trimmed);
  if (!trimmed) return [{ message: 'Empty variable expression.', offset: 0, length: expression.length, kind: 'syntax' }];
  const engine = engineJmespathCheck();
  if (engine) {
    return engine(trimmed).map((p) => ({
      message: withSuggestion(p.message),
      offset: lead + (p.offset ?? 0),
      length: p.length ?? trimmed.length,
      kind: /unknown function/i.test(p.message) ? 'unknown-function' : /argument/i.test(p.message) ? 'arity' : 'syntax',
    }));
  }
  if (trimmed.length > 10000) return [];
  let ast: unknown;
  try {
    ast = compile(normaliseLiterals(trimmed));
  } catch (e) {
    return [{ message: `JMESPath syntax error: ${(e as Error).message}`, offset: lead, length: trimmed.length, kind: 'syntax' }];
  }
  const problems: ExpressionProblem[] = [];
  const table = functionTable();
  walk(ast, (n) => {
    if (n.type !== 'Function' || typeof n.name !== 'string') return;
    const at = trimmed.search(new RegExp(`\\b${n.name}\\s*\\(`));
    const offset = lead + Math.max(0, at);
    const doc = table.get(n.name);
    if (!doc) {
      const guess = closest(n.name, table.keys());
      problems.push({
        message: `Unknown JMESPath function '${n.name}'.${guess ? ` Did you mean '${guess}'?` : ''}`,
        offset,
        length: n.name.length,
        kind: 'unknown-function',
      });
      return;
    }
    const argc = n.children?.length ?? 0;
    if (doc.minArgs >= 0 && (argc < doc.minArgs || (doc.maxArgs >= 0 && argc > doc.maxArgs))) {
      const want = doc.maxArgs === doc.minArgs ? `${doc.minArgs}` : doc.maxArgs < 0 ? `at least ${doc.minArgs}` : `${doc.minArgs} to ${doc.maxArgs}`;
      problems.push({
        message: `'${n.name}' expects ${want} argument(s), got ${argc}: ${doc.signature}`,
        offset,
        length: n.name.length,
        kind: 'arity',
      });
    }
  });
  return problems;
}

/**
 * CEL problems, from the engine's checker (Kyverno libraries, its rewrites). A grammar error
 * is certain (kind 'cel'); anything else is a type error from cel-js's checker, stricter than cel-go on dyn-typed Kubernetes objects in
 * places, reported as 'cel-type' (shown as a warning).
 */
export function checkCel(expression: string, context = 'validating'): ExpressionProblem[] {
  return memoised(`c${context}\u0000${expression}`, () => checkCelUncached(expression, context));
}

function checkCelUncached(expression: string, context: string): ExpressionProblem[] {
  if (expression.length > 20000) return [];
  const engine = engineCelCheck();
  if (!engine) return celSyntax(expression);
  let found: EngineProblem[];
  try {
    found = engine(expression, context);
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
