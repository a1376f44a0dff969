/**
 * A private JMESPath interpreter (community edition, like kyverno/go-jmespath) with
 * Kyverno's functions registered, Go-compatible overrides of a few built-ins, and
 * bounded parsing (expression size, nesting depth) with a parse cache.
 */
import {
  compile,
  TreeInterpreter,
  TYPE_ANY,
  TYPE_ARRAY,
  TYPE_ARRAY_STRING,
  TYPE_BOOLEAN,
  TYPE_NUMBER,
  TYPE_OBJECT,
  TYPE_STRING,
  type InputSignature,
  type JSONValue,
} from '@jmespath-community/jmespath';
import { goCompare, goJsonMarshal, JmespathError } from './go-compat';
import { BudgetExceededError, chargeMemory, WORD_BYTES } from '../core/budget';
import { KYVERNO_FUNCTIONS, type ArgType } from './functions-kyverno';

export type AstNode = ReturnType<typeof compile>;

interface FunctionEntry {
  _func: (args: unknown[]) => unknown;
  _signature: InputSignature[];
}

interface InterpreterLike {
  runtime: { _functionTable: Record<string, FunctionEntry> };
  search(node: AstNode, value: JSONValue): JSONValue;
}

export const MAX_EXPRESSION_LENGTH = 64 * 1024;
export const MAX_NESTING_DEPTH = 128;
const MAX_PAD_WIDTH = 1_000_000;
const CACHE_LIMIT = 1024;

const TYPE_IDS: Record<ArgType, number> = {
  any: TYPE_ANY,
  string: TYPE_STRING,
  number: TYPE_NUMBER,
  boolean: TYPE_BOOLEAN,
  array: TYPE_ARRAY,
  object: TYPE_OBJECT,
  'array[string]': TYPE_ARRAY_STRING,
};

function createInterpreter(): InterpreterLike {
  const Ctor = (TreeInterpreter as unknown as { constructor: new () => InterpreterLike }).constructor;
  const interpreter = new Ctor();
  const table = interpreter.runtime._functionTable;
  for (const fn of KYVERNO_FUNCTIONS) {
    table[fn.name] = {
      _func: fn.handler,
      _signature: fn.args.map((types) => ({ types: types.map((t) => TYPE_IDS[t]) })),
    };
  }
  // Go's json.Marshal: sorted keys and HTML-safe escapes (kyverno/go-jmespath to_string).
  table.to_string = {
    _func: ([v]) => (typeof v === 'string' ? v : goJsonMarshal(v)),
    _signature: [{ types: [TYPE_ANY] }],
  };
  const builtinToNumber = table.to_number._func;
  table.to_number = {
    _func: (args) => (typeof args[0] === 'string' ? goParseFloat(args[0]) : builtinToNumber(args)),
    _signature: [{ types: [TYPE_ANY] }],
  };
  // Go orders strings by bytes and numbers numerically (the JS built-ins sort numbers as text
  // and compare strings with localeCompare).
  const order = (a: unknown, b: unknown) =>
    typeof a === 'number' && typeof b === 'number' ? a - b : goCompare(String(a), String(b));
  for (const name of ['sort', 'max', 'min']) {
    const original = table[name];
    table[name] = {
      _signature: original._signature,
      _func: ([list]) => {
        const items = list as unknown[];
        if (name === 'sort') return [...items].sort(order);
        if (items.length === 0) return null;
        let best = items[0];
        for (const item of items.slice(1)) {
          const c = order(item, best);
          if (name === 'max' ? c > 0 : c < 0) best = item;
        }
        return best;
      },
    };
  }
  for (const name of ['pad_left', 'pad_right']) {
    const original = table[name];
    if (!original) continue;
    table[name] = {
      _signature: original._signature,
      _func: (args) => {
        if (typeof args[1] === 'number' && args[1] > MAX_PAD_WIDTH) throw new JmespathError(`${name}() width is too large`);
        return original._func(args);
      },
    };
  }
  return interpreter;
}

/** strconv.ParseFloat(s, 64) for to_number: null when Go reports an error. */
function goParseFloat(s: string): number | null {
  if (/^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/.test(s)) {
    const n = Number(s);
    return Number.isFinite(n) ? n : null;
  }
  if (/^[+-]?(?:inf|infinity)$/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (/^[+-]?nan$/i.test(s)) return NaN;
  return null;
}

export const interpreter = createInterpreter();

/**
 * Elements (and tenths of characters) one query may build: go-jmespath has no such limit,
 * but without one `[v, v][]` chained through context variables grows without bound.
 */
export const JMESPATH_BUILD_LIMIT = 1_000_000;

let built = 0;
let searchDepth = 0;

/** Charges `units` to the query and `bytes` to the evaluation's memory budget (engine/core/budget). */
function chargeBuilt(units: number, bytes: number): void {
  built += units;
  if (built > JMESPATH_BUILD_LIMIT) {
    throw new BudgetExceededError('JMESPath', JMESPATH_BUILD_LIMIT, 'the query builds more than that many elements');
  }
  chargeMemory(bytes, 'a JMESPath value built');
}

/** What a node built: array elements, object entries, a tenth of a string's characters. */
function chargeResult(out: unknown): void {
  if (Array.isArray(out)) chargeBuilt(out.length, out.length * WORD_BYTES);
  else if (typeof out === 'string') chargeBuilt(Math.ceil(out.length / 10), out.length);
  else if (out !== null && typeof out === 'object') {
    const entries = Object.keys(out).length;
    chargeBuilt(entries, entries * WORD_BYTES);
  }
}

interface VisitNode { type: string; child?: VisitNode }
type Visit = (this: unknown, node: VisitNode, value: unknown) => unknown;

/**
 * Meters the nodes that build new values (projections, flatten, multi-selects, slices,
 * function results); field and index steps only return parts of their input. Flatten is
 * charged before the flat copy is made. Patched on the interpreter's prototype so scoped
 * interpreters (`let`) are metered too.
 */
function meterInterpreter(target: object): void {
  const proto = Object.getPrototypeOf(target) as { visit: Visit };
  const visit = proto.visit;
  proto.visit = function meteredVisit(node, value) {
    switch (node.type) {
      case 'Flatten': {
        const original = visit.call(this, node.child!, value);
        if (!Array.isArray(original)) return null;
        let size = original.length;
        for (const item of original) if (Array.isArray(item)) size += item.length;
        chargeBuilt(size, size * WORD_BYTES);
        return original.flat();
      }
      case 'Projection':
      case 'ValueProjection':
      case 'FilterProjection':
      case 'MultiSelectList':
      case 'MultiSelectHash':
      case 'Slice':
      case 'Function': {
        const out = visit.call(this, node, value);
        chargeResult(out);
        return out;
      }
      default:
        return visit.call(this, node, value);
    }
  };
}
meterInterpreter(interpreter);

export function functionTable(): Record<string, FunctionEntry> {
  return interpreter.runtime._functionTable;
}

/** Max bracket nesting outside string literals: the parser recurses, so depth must be bounded first. */
function nestingDepth(expression: string): number {
  let depth = 0;
  let max = 0;
  let quote: string | null = null;
  for (let i = 0; i < expression.length; i++) {
    const c = expression[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === "'" || c === '"' || c === '`') quote = c;
    else if (c === '(' || c === '[' || c === '{') max = Math.max(max, ++depth);
    else if (c === ')' || c === ']' || c === '}') depth--;
  }
  return max;
}

function astDepth(node: unknown, depth = 0): number {
  if (depth > MAX_NESTING_DEPTH * 4) return depth;
  if (!node || typeof node !== 'object') return depth;
  let max = depth;
  for (const value of Object.values(node as Record<string, unknown>)) {
    if (value && typeof value === 'object') max = Math.max(max, astDepth(value, depth + 1));
  }
  return max;
}

/** Parse error text plus the offset it points at, when the parser reports one. */
export interface ParseFailure {
  message: string;
  offset: number;
}

/**
 * go-jmespath unescapes every \\` in a JSON literal (strings.Replace(value, "\\`", "`", -1));
 * the library we parse with only the first, so a literal holding two fails to parse. Inside
 * each literal, \\` becomes \\u0060: the same character once the literal's JSON is parsed.
 * Raw strings and quoted identifiers are skipped as go-jmespath's lexer skips them (a
 * backslash escapes the next character everywhere).
 */
function escapeLiteralBackticks(expression: string): string {
  let out = '';
  let i = 0;
  while (i < expression.length) {
    const open = expression[i];
    if (open !== '`' && open !== "'" && open !== '"') {
      out += open;
      i++;
      continue;
    }
    let j = i + 1;
    let body = '';
    while (j < expression.length && expression[j] !== open) {
      if (expression[j] === '\\' && j + 1 < expression.length) {
        body += open === '`' && expression[j + 1] === '`' ? '\\u0060' : expression.slice(j, j + 2);
        j += 2;
      } else body += expression[j++];
    }
    out += open + body + (j < expression.length ? open : '');
    i = j + 1;
  }
  return out;
}

export function parseExpression(expression: string): AstNode {
  if (expression.length > MAX_EXPRESSION_LENGTH) {
    throw new JmespathError(`expression is too long (${expression.length} characters, limit ${MAX_EXPRESSION_LENGTH})`);
  }
  if (nestingDepth(expression) > MAX_NESTING_DEPTH) {
    throw new JmespathError(`expression is nested too deeply (limit ${MAX_NESTING_DEPTH})`);
  }
  let ast: AstNode;
  try {
    ast = compile(expression.includes('\\`') ? escapeLiteralBackticks(expression) : expression);
  } catch (e) {
    if (e instanceof RangeError) throw new JmespathError('expression is nested too deeply');
    throw new JmespathError((e as Error).message);
  }
  if (astDepth(ast) > MAX_NESTING_DEPTH * 4) throw new JmespathError('expression is nested too deeply');
  return ast;
}

// Two generations instead of a strict LRU: a hit costs one lookup (no re-insertion per
// call, which dominated short queries), and entries not used for a whole generation go.
let recent = new Map<string, AstNode>();
let older = new Map<string, AstNode>();

export function compileCached(expression: string): AstNode {
  const hit = recent.get(expression);
  if (hit) return hit;
  const ast = older.get(expression) ?? parseExpression(expression);
  if (recent.size >= CACHE_LIMIT / 2) {
    older = recent;
    recent = new Map();
  }
  recent.set(expression, ast);
  return ast;
}

export function evaluate(ast: AstNode, data: unknown): unknown {
  try {
    if (searchDepth === 0) built = 0;
    searchDepth++;
    try {
      return interpreter.search(ast, data as JSONValue);
    } finally {
      searchDepth--;
    }
  } catch (e) {
    if (e instanceof JmespathError || e instanceof BudgetExceededError) throw e;
    if (e instanceof RangeError) throw new JmespathError('evaluation is nested too deeply');
    throw new JmespathError((e as Error).message);
  }
}
