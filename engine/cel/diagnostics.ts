/**
 * Compile-time diagnostics for one CEL expression: syntax errors, unknown variables or
 * functions, type errors, result-type mismatches and invalid constant RE2 patterns, each
 * with its position inside the expression (the language server maps it into the YAML).
 */
import { checkingEnvironmentFor, MAX_EXPRESSION_LENGTH } from './environment';
import type { GeneratorScope } from './lib-kyverno';
import { compileRegex } from './regex';
import { rewriteWithOffsets, stringLiteralEnd, type RewriteResult } from './rewrite';

export interface CelDiagnostic {
  message: string;
  /** Offset of the error in the expression text (UTF-16 code units). */
  offset: number;
  length: number;
}

/** What the surrounding field expects the expression to return. */
export type CelResultType = 'bool' | 'string' | 'list' | 'map' | 'any';

export interface CelCheckContext {
  expect?: CelResultType;
  /**
   * The policy's declared variables (spec.variables, in order). When given, `variables.<name>`
   * must name one of them and is typed by its expression; otherwise `variables` is dyn.
   */
  variables?: ReadonlyArray<{ name: string; expression: string }>;
  /** Whether `params` exists (the policy sets paramKind). Default true (typed dyn). */
  hasParams?: boolean;
  /** The policy's generator library (cluster-wide or Namespaced*); undefined: both forms. */
  generatorScope?: GeneratorScope;
  /**
   * Compile in the API server's admission environment (webhook matchConditions), not Kyverno's:
   * Kubernetes' libraries only, `authorizer` declared or not; `variables` exists only when
   * `variables` is given (Kyverno's composited compiler declares it, the API server's does not).
   */
  apiServer?: { authorizer: boolean };
}

type CheckResult = { valid: boolean; type?: string; error?: Error & { range?: { start: number; end: number } } };

/** A checked type as a field declaration cel-js accepts. */
function fieldType(type: string | undefined): string {
  if (!type || type === 'list') return type ? 'list<dyn>' : 'dyn';
  if (type === 'map') return 'map<dyn, dyn>';
  return type;
}

const variableTypesCache = new Map<string, Record<string, string>>();

/** Types of declared variables, each checked with the ones declared before it (as Kubernetes compiles them). */
function variableTypes(variables: ReadonlyArray<{ name: string; expression: string }>, hasParams: boolean): Record<string, string> {
  const key = JSON.stringify([variables.map((v) => [v.name, v.expression]), hasParams]);
  const cached = variableTypesCache.get(key);
  if (cached) return cached;
  const types: Record<string, string> = {};
  for (const v of variables) {
    if (!/^[A-Za-z_]\w*$/.test(v.name)) continue;
    let type = 'dyn';
    try {
      const env = checkingEnvironmentFor({ variables: { ...types }, params: hasParams });
      const result = env.check(rewriteWithOffsets(v.expression).text) as CheckResult;
      if (result.valid) type = fieldType(result.type);
    } catch {
      type = 'dyn';
    }
    types[v.name] = type;
  }
  if (variableTypesCache.size >= 500) variableTypesCache.clear();
  variableTypesCache.set(key, types);
  return types;
}

/** Maps a range of the rewritten text back to the expression. */
function sourceRange(rw: RewriteResult, range: { start: number; end: number } | undefined, length: number): { offset: number; end: number } {
  if (!range) return { offset: 0, end: length };
  const at = (k: number) => (k >= rw.sourceOffsets.length ? length : rw.sourceOffsets[Math.max(0, k)]);
  const offset = Math.min(at(range.start), length);
  const end = range.end > range.start ? Math.min(at(range.end - 1) + 1, length) : offset;
  return { offset, end: Math.max(end, offset) };
}

export function checkCelExpression(expression: string, context: CelCheckContext = {}): CelDiagnostic[] {
  if (!expression.trim()) return [{ message: 'empty CEL expression', offset: 0, length: expression.length }];
  if (expression.length > MAX_EXPRESSION_LENGTH) return [{ message: `expression longer than ${MAX_EXPRESSION_LENGTH} characters`, offset: 0, length: expression.length }];
  let rewritten: RewriteResult;
  try {
    rewritten = rewriteWithOffsets(expression);
  } catch (err) {
    return [{ message: (err as Error).message, offset: 0, length: expression.length }];
  }
  const hasParams = context.hasParams ?? true;
  const declared = context.variables ? variableTypes(context.variables, hasParams) : undefined;
  const env = checkingEnvironmentFor({ variables: declared, params: hasParams, generatorScope: context.generatorScope, apiServer: context.apiServer });
  const result = env.check(rewritten.text) as CheckResult;
  if (!result.valid && result.error) {
    let message = result.error.message.split('\n')[0];
    const { offset, end } = sourceRange(rewritten, result.error.range, expression.length);
    const missing = /^No such key: (\w+)/.exec(message);
    if (missing && declared && !(missing[1] in declared) && /\bvariables\s*\.\s*\??\s*$/.test(expression.slice(0, offset + 1).replace(/\w+$/, ''))) {
      message = `undeclared variable 'variables.${missing[1]}': spec.variables declares ${Object.keys(declared).map((n) => `'${n}'`).join(', ') || 'none'}`;
    }
    if (!hasParams && message === 'Unknown variable: params') message += ' (params exist only when the policy sets paramKind)';
    return [{ message, offset, length: Math.max(end - offset, offset < expression.length ? 1 : 0) }];
  }
  const out: CelDiagnostic[] = [...regexDiagnostics(expression)];
  const expect = context.expect ?? 'any';
  const type = result.type ?? 'dyn';
  if (expect !== 'any' && type !== 'dyn' && !type.startsWith(expect)) {
    out.push({ message: `expression must evaluate to ${expect}, but evaluates to ${type}`, offset: 0, length: expression.length });
  }
  return out;
}

/** Constant patterns of matches()/find()/findAll() must be valid RE2. */
function regexDiagnostics(expression: string): CelDiagnostic[] {
  const out: CelDiagnostic[] = [];
  const call = /\b(matches|find|findAll)\s*\(\s*/g;
  let m: RegExpExecArray | null;
  while ((m = call.exec(expression))) {
    let start = m.index + m[0].length;
    // Global form matches(s, re): the pattern is the second argument; only literal first args are followed.
    const end = stringLiteralEnd(expression, start);
    if (end === start) continue;
    let literalStart = start, literalEnd = end;
    const after = expression.slice(end).match(/^\s*,\s*/);
    if (m[1] === 'matches' && expression[m.index - 1] !== '.' && after) {
      start = end + after[0].length;
      literalEnd = stringLiteralEnd(expression, start);
      if (literalEnd === start) continue;
      literalStart = start;
    }
    const literal = expression.slice(literalStart, literalEnd);
    const pattern = decodeLiteral(literal);
    if (pattern === null) continue;
    try {
      compileRegex(pattern);
    } catch (err) {
      out.push({ message: (err as Error).message, offset: literalStart, length: literalEnd - literalStart });
    }
  }
  return out;
}

function decodeLiteral(literal: string): string | null {
  const raw = /^[rR]/.test(literal);
  const body = literal.replace(/^[rR]?/, '');
  const q = body.startsWith('"""') || body.startsWith("'''") ? body.slice(0, 3) : body[0];
  if (!body.endsWith(q) || body.length < q.length * 2) return null;
  const inner = body.slice(q.length, body.length - q.length);
  if (raw) return inner;
  return inner.replace(/\\(.)/g, (_m, c: string) => ({ n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'" } as Record<string, string>)[c] ?? `\\${c}`);
}
