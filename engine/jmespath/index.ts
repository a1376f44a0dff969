/**
 * Kyverno's JMESPath dialect: the JMESPath community edition (as kyverno/go-jmespath)
 * with every Kyverno custom function, Go-compatible results and bounded inputs.
 */
import { JmespathError } from './go-compat';
import { withClock } from './functions-time';
import { compileCached, evaluate, type AstNode } from './runtime';
import { missingKeyOnPath } from './missing-key';
import { isBudgetExceeded } from '../core/budget';

export { JmespathError } from './go-compat';
export { FUNCTION_DOCS, type FunctionDoc } from './docs';
export { checkJmespath, type JmespathDiagnostic } from './check';
export { KYVERNO_FUNCTIONS } from './functions-kyverno';
export { MAX_EXPRESSION_LENGTH, MAX_NESTING_DEPTH, JMESPATH_BUILD_LIMIT } from './runtime';

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
  // Only time functions read the clock: without one there is nothing to install.
  if (options?.now) return withClock(options.now, () => searchNow(ast, data, options));
  return searchNow(ast, data, options);
}

function searchNow(ast: AstNode, data: unknown, options: JmesOptions | undefined): unknown {
  const fields = fieldChain(ast);
  const result = fields ? followFields(fields, data) : evaluate(ast, data);
  if (result === null && options?.missingKeys === 'error') {
    const key = missingKeyOnPath(ast, data);
    if (key !== null) throw new JmespathNotFoundError(key);
  }
  return result;
}

// `request.namespace`-style queries are most of what policies evaluate; for them the
// interpreter's generic visit is replaced by the same steps done directly.
const fieldChains = new WeakMap<object, readonly string[] | null>();

/** The names of an AST made only of Field and Subexpression nodes (a.b.c), else null. */
function fieldChain(ast: AstNode): readonly string[] | null {
  let chain = fieldChains.get(ast);
  if (chain !== undefined) return chain;
  const names: string[] = [];
  chain = collectFields(ast as unknown as AstShape, names) ? names : null;
  fieldChains.set(ast, chain);
  return chain;
}

interface AstShape {
  type?: unknown;
  name?: unknown;
  left?: AstShape;
  right?: AstShape;
}

function collectFields(node: AstShape, out: string[]): boolean {
  if (node.type === 'Field' && typeof node.name === 'string') {
    out.push(node.name);
    return true;
  }
  if (node.type === 'Subexpression' && node.left && node.right) return collectFields(node.left, out) && collectFields(node.right, out);
  return false;
}

/**
 * The interpreter's Field and Subexpression steps: a field of anything but an object is
 * null, a missing (or null) field is null, and a null on the left ends the chain.
 */
function followFields(fields: readonly string[], data: unknown): unknown {
  let value = data;
  for (const name of fields) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
    value = (value as Record<string, unknown>)[name] ?? null;
  }
  return value;
}

/** Evaluates a JMESPath expression (Kyverno's dialect, with its custom functions) on data. */
export function jmesSearch(expression: string, data: unknown, options?: JmesOptions): unknown {
  try {
    // Straight to the cached AST: no wrapper object per evaluation.
    return searchAst(compileCached(expression), data, options);
  } catch (e) {
    if (e instanceof JmespathError || isBudgetExceeded(e)) throw e;
    throw new JmespathError((e as Error).message);
  }
}
