/**
 * Compile-time diagnostics for one CEL expression: syntax errors, unknown variables or
 * functions, type errors, result-type mismatches and invalid constant RE2 patterns, each
 * with its position inside the expression (the language server maps it into the YAML).
 */
import { celCheckingEnvironment, MAX_EXPRESSION_LENGTH } from './environment';
import { compileRegex } from './regex';
import { rewriteExpression, stringLiteralEnd } from './rewrite';

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
}

export function checkCelExpression(expression: string, context: CelCheckContext = {}): CelDiagnostic[] {
  if (!expression.trim()) return [{ message: 'empty CEL expression', offset: 0, length: expression.length }];
  if (expression.length > MAX_EXPRESSION_LENGTH) return [{ message: `expression longer than ${MAX_EXPRESSION_LENGTH} characters`, offset: 0, length: expression.length }];
  let rewritten: string;
  try {
    rewritten = rewriteExpression(expression);
  } catch (err) {
    return [{ message: (err as Error).message, offset: 0, length: expression.length }];
  }
  // Offsets are exact only when the rewrite kept the text length (no message literals, no has() on calls).
  const sameLength = rewritten.length === expression.length;
  const result = celCheckingEnvironment().check(rewritten) as { valid: boolean; type?: string; error?: Error & { range?: { start: number; end: number } } };
  if (!result.valid && result.error) {
    const message = result.error.message.split('\n')[0];
    const range = sameLength ? result.error.range : undefined;
    const offset = Math.max(0, Math.min(range?.start ?? 0, expression.length));
    const end = Math.max(offset, Math.min(range?.end ?? expression.length, expression.length));
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
