/** Static checks for the language server: syntax errors, unknown functions, argument counts. */
import { tokenize } from '@jmespath-community/jmespath';
import { functionTable, parseExpression } from './runtime';

export interface JmespathDiagnostic {
  message: string;
  offset: number;
  length: number;
}

interface Token {
  type: string;
  value: unknown;
  start: number;
}

function safeTokens(expression: string): Token[] | null {
  try {
    return tokenize(expression) as unknown as Token[];
  } catch {
    return null;
  }
}

/** Locates the token a parser message talks about; the parser itself reports no positions. */
function locateSyntaxError(expression: string, message: string, tokens: Token[] | null): { offset: number; length: number } {
  const unknownChar = /unknown character: (.)/.exec(message);
  if (unknownChar) {
    const at = expression.indexOf(unknownChar[1]);
    if (at >= 0) return { offset: at, length: 1 };
  }
  if (/JSON literal/.test(message)) {
    const at = expression.indexOf('`');
    if (at >= 0) return { offset: at, length: expression.length - at };
  }
  if (tokens) {
    const typed =
      /token type: (\w+), value: (.*)$/.exec(message) ??
      /unexpected token: (?:.*)\((\w+)\)$/.exec(message) ??
      /invalid token \((\w+)\)/.exec(message) ??
      /got: (\w+)$/.exec(message);
    if (typed) {
      const type = typed[1];
      if (type === 'EOF') return { offset: expression.length, length: 0 };
      const token = tokens.find((t) => t.type === type);
      if (token) return { offset: token.start, length: Math.max(1, String(token.value ?? '').length) };
    }
  }
  return { offset: 0, length: expression.length };
}

interface FunctionCall {
  name: string;
  argc: number;
}

function collectCalls(node: unknown, out: FunctionCall[]): void {
  if (!node || typeof node !== 'object') return;
  const n = node as { type?: string; name?: string; children?: unknown[] };
  if (n.type === 'Function' && typeof n.name === 'string') out.push({ name: n.name, argc: n.children?.length ?? 0 });
  for (const value of Object.values(node as Record<string, unknown>)) {
    if (Array.isArray(value)) value.forEach((v) => collectCalls(v, out));
    else if (value && typeof value === 'object') collectCalls(value, out);
  }
}

/** Offsets of `name(` occurrences, in source order, to place function diagnostics. */
function callSites(tokens: Token[] | null): Map<string, number[]> {
  const sites = new Map<string, number[]>();
  if (!tokens) return sites;
  for (let i = 0; i + 1 < tokens.length; i++) {
    if (tokens[i].type === 'UnquotedIdentifier' && tokens[i + 1].type === 'Lparen') {
      const name = String(tokens[i].value);
      sites.set(name, [...(sites.get(name) ?? []), tokens[i].start]);
    }
  }
  return sites;
}

function arityText(min: number, max: number): string {
  if (max === Infinity) return `at least ${min} argument${min === 1 ? '' : 's'}`;
  if (min === max) return `${min} argument${min === 1 ? '' : 's'}`;
  return `${min} to ${max} arguments`;
}

export function checkJmespath(expression: string): JmespathDiagnostic[] {
  const tokens = safeTokens(expression);
  let ast: unknown;
  try {
    ast = parseExpression(expression);
  } catch (e) {
    const message = (e as Error).message;
    return [{ message, ...locateSyntaxError(expression, message, tokens) }];
  }
  const calls: FunctionCall[] = [];
  collectCalls(ast, calls);
  const sites = callSites(tokens);
  const used = new Map<string, number>();
  const table = functionTable();
  const diagnostics: JmespathDiagnostic[] = [];
  // The AST lists calls outside-in; source order differs for nested calls, so sites are matched per name.
  for (const call of calls) {
    const k = used.get(call.name) ?? 0;
    used.set(call.name, k + 1);
    const offsets = sites.get(call.name) ?? [];
    const offset = offsets[Math.min(k, offsets.length - 1)] ?? 0;
    const entry = table[call.name];
    if (!entry) {
      diagnostics.push({ message: `Unknown function: ${call.name}()`, offset, length: call.name.length });
      continue;
    }
    const sig = entry._signature;
    const variadic = sig.length > 0 && sig[sig.length - 1].variadic === true;
    const min = sig.filter((s) => !s.optional).length;
    const max = variadic ? Infinity : sig.length;
    if (call.argc < min || call.argc > max) {
      diagnostics.push({
        message: `${call.name}() takes ${arityText(min, max)} but received ${call.argc}`,
        offset,
        length: call.name.length,
      });
    }
  }
  return diagnostics;
}
