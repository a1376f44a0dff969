/**
 * Kyverno's JMESPath dialect: the JMESPath community edition (as kyverno/go-jmespath)
 * with every Kyverno custom function, Go-compatible results and bounded inputs.
 */
import { JmespathError } from './go-compat';
import { withClock } from './functions-time';
import { compileCached, evaluate, type AstNode } from './runtime';
import { missingKeyOnPath } from './missing-key';

export { JmespathError } from './go-compat';
export { FUNCTION_DOCS, type FunctionDoc } from './docs';
export { checkJmespath, type JmespathDiagnostic } from './check';
export { KYVERNO_FUNCTIONS } from './functions-kyverno';
export { MAX_EXPRESSION_LENGTH, MAX_NESTING_DEPTH } from './runtime';

/**
 * Kyverno's go-jmespath fork fails a query whose path names a key an object lacks with
 * `Unknown key "<key>" in path` (a NotFoundError, which Kyverno's variable substitution
 * treats specially). Raised only in `missingKeys: 'error'` mode, for plain paths.
 */
export class JmespathNotFoundError extends JmespathError {
  constructor(readonly key: string) {
    super(`Unknown key "${key}" in path`);
  }
}

export interface JmesOptions {
  /** Clock for time_now / time_now_utc / time_since (defaults to the real time). */
  now?: Date;
  /**
   * 'null' (default): missing keys evaluate to null, as in the JMESPath spec.
   * 'error': a plain path (a.b[0].c) that ends in null because an object lacks a key throws
   * JmespathNotFoundError, like Kyverno's fork; other expression shapes are unaffected.
   */
  missingKeys?: 'null' | 'error';
}

/** A parsed expression; evaluate it many times without re-parsing. */
export interface CompiledJmespath {
  readonly expression: string;
  search(data: unknown, options?: JmesOptions): unknown;
}

/** Parses once (bounded LRU cache); throws JmespathError on syntax errors or oversized input. */
export function jmesCompile(expression: string): CompiledJmespath {
  const ast: AstNode = compileCached(expression);
  return { expression, search: (data, options) => searchAst(ast, data, options) };
}

function searchAst(ast: AstNode, data: unknown, options: JmesOptions | undefined): unknown {
  return withClock(options?.now, () => {
    const result = evaluate(ast, data);
    if (result === null && options?.missingKeys === 'error') {
      const key = missingKeyOnPath(ast, data);
      if (key !== null) throw new JmespathNotFoundError(key);
    }
    return result;
  });
}

/** Evaluates a JMESPath expression (Kyverno's dialect, with its custom functions) on data. */
export function jmesSearch(expression: string, data: unknown, options?: JmesOptions): unknown {
  try {
    // Straight to the cached AST: no wrapper object per evaluation.
    return searchAst(compileCached(expression), data, options);
  } catch (e) {
    if (e instanceof JmespathError) throw e;
    throw new JmespathError((e as Error).message);
  }
}
