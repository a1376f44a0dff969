/**
 * `kyverno-studio jp query|function|parse`: Kyverno's `kyverno jp` on our JMESPath dialect
 * (engine/jmespath, the one every policy evaluates with).
 */
import { readFileSync } from 'node:fs';
import { FUNCTION_DOCS, jmesCompile, KYVERNO_FUNCTIONS } from '../../engine/jmespath';
import { goJsonMarshal } from '../../engine/jmespath/go-compat';
import { parseExpression } from '../../engine/jmespath/runtime';
import { formatLoadError, parseYamlDocuments } from '../../engine/loader';
import { parseCommandArgs, type FlagSpec } from '../../io/args';
import type { Command, CommandIO } from './command';
import { errorText, runSubcommand } from './command';

const USAGE = `Usage: kyverno-studio jp <query|function|parse> [flags]

Tools for Kyverno's JMESPath dialect (as kyverno jp).

Commands:
  query [-i input] [-q file|query]...   evaluate expressions on a JSON or YAML object
  function [name]...                    list Kyverno's JMESPath functions with their signatures
  parse [-f file|expression]...         print the syntax tree of expressions

Run \`kyverno-studio jp <command> --help\` for the flags of a command.`;

const QUERY_USAGE = `Usage: kyverno-studio jp query [-i input] [-q file|query]... [flags]

Evaluates each JMESPath expression on the input object and prints "# expression" then the
result as JSON. Without a query or without an input, reads it from standard input.

Flags:
  -i, --input PATH      read the input from a JSON or YAML file instead of standard input
  -q, --query PATH      read an expression from a file (repeatable)
  -c, --compact         compact JSON output
  -u, --unquoted        print a string result without quotes
  -h, --help            show this help`;

const FUNCTION_USAGE = `Usage: kyverno-studio jp function [name]...

Lists Kyverno's JMESPath functions (all, or the ones named) with signature and note.

Flags:
  -h, --help            show this help`;

const PARSE_USAGE = `Usage: kyverno-studio jp parse [-f file|expression]...

Prints "# expression" then its syntax tree, in the layout of go-jmespath's ASTNode.String().
Without an expression, reads one from standard input.

Flags:
  -f, --file PATH       read an expression from a file (repeatable)
  -h, --help            show this help`;

/** The flags `jp` subcommands accept, for completion and help. */
export const JP_FLAGS: Record<'query' | 'function' | 'parse', FlagSpec> = {
  query: { values: [], scalars: ['input', 'query'], booleans: ['compact', 'unquoted', 'help'], aliases: { i: 'input', q: 'query', c: 'compact', u: 'unquoted', h: 'help' } },
  function: { values: [], booleans: ['help'], aliases: { h: 'help' } },
  parse: { values: [], scalars: ['file'], booleans: ['help'], aliases: { f: 'file', h: 'help' } },
};

function readStdin(): string {
  return readFileSync(0, 'utf8');
}

function readNamed(path: string, what: 'open' | 'read'): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`failed ${what} file ${path}: ${errorText(err)}`);
  }
}

/** JSON or YAML text to a value, as sigs.k8s.io/yaml.Unmarshal into interface{}. */
function parseInput(text: string, name: string): unknown {
  const parsed = parseYamlDocuments(text, name);
  if (parsed.errors.length > 0) throw new Error(`error parsing input json: ${formatLoadError(parsed.errors[0])}`);
  return parsed.documents[0]?.value ?? null;
}

/** Go's json.MarshalIndent(v, "", "  "): Marshal, then each element on its own line. */
export function goJsonIndent(value: unknown): string {
  const compact = goJsonMarshal(value);
  let out = '';
  let depth = 0;
  let inString = false;
  const newline = () => `\n${'  '.repeat(depth)}`;
  for (let i = 0; i < compact.length; i++) {
    const c = compact[i];
    if (inString) {
      out += c;
      if (c === '\\') out += compact[++i];
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '{' || c === '[') {
      // Empty objects and arrays stay "{}" and "[]".
      if (compact[i + 1] === (c === '{' ? '}' : ']')) {
        out += c + compact[++i];
        continue;
      }
      depth++;
      out += c + newline();
    } else if (c === '}' || c === ']') {
      depth--;
      out += newline() + c;
    } else if (c === ',') out += c + newline();
    else if (c === ':') out += ': ';
    else out += c;
  }
  return out;
}

function runQuery(argv: string[], io: CommandIO): number {
  const args = parseCommandArgs(argv, JP_FLAGS.query, QUERY_USAGE, io);
  if (typeof args === 'number') return args;
  try {
    const queries = [...args.positionals, ...(args.values.get('query') ?? []).map((f) => readNamed(f, 'open'))];
    const inputPath = args.values.get('input')?.at(-1);
    let input: unknown = inputPath !== undefined ? parseInput(readNamed(inputPath, 'open'), inputPath) : undefined;
    if (queries.length === 0 && input === undefined) {
      io.err('Error: at least one query or input object is required');
      return 1;
    }
    if (queries.length === 0) {
      io.out('Reading from terminal input.\nEnter a jmespath expression and hit Ctrl+D.');
      queries.push(readStdin());
    }
    if (input === undefined) {
      io.out('Reading from terminal input.\nEnter input object and hit Ctrl+D.');
      input = parseInput(readStdin(), '<stdin>');
    }
    for (const query of queries) {
      let compiled;
      try {
        compiled = jmesCompile(query);
      } catch (err) {
        io.err(`Error: failed to compile JMESPath: ${query}, error: ${errorText(err)}`);
        return 1;
      }
      let result: unknown;
      try {
        result = compiled.search(input);
      } catch (err) {
        io.err(`Error: error evaluating JMESPath expression: ${errorText(err)}`);
        return 1;
      }
      io.out(`# ${query}`);
      if (args.booleans.has('unquoted') && typeof result === 'string') io.out(result);
      else io.out(args.booleans.has('compact') ? goJsonMarshal(result) : goJsonIndent(result));
    }
    return 0;
  } catch (err) {
    io.err(`Error: ${errorText(err)}`);
    return 1;
  }
}

/** Kyverno's type names in signatures (go-jmespath JpType; Kyverno calls booleans "bool"). */
const SIGNATURE_TYPE: Record<string, string> = { boolean: 'bool' };

function runFunction(argv: string[], io: CommandIO): number {
  const args = parseCommandArgs(argv, JP_FLAGS.function, FUNCTION_USAGE, io);
  if (typeof args === 'number') return args;
  const names = new Set(args.positionals);
  const entries = KYVERNO_FUNCTIONS.map((f) => {
    const signature = `${f.name}(${f.args.map((a) => a.map((t) => SIGNATURE_TYPE[t] ?? t).join('|')).join(', ')}) ${SIGNATURE_TYPE[f.returns] ?? f.returns}`;
    // Kyverno sorts by the signature with its note appended.
    return { name: f.name, signature, note: f.note, key: f.note ? `${signature} (${f.note})` : signature };
  }).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const lines: string[] = [];
  for (const e of entries) {
    if (names.size > 0 && !names.has(e.name)) continue;
    lines.push(`Name: ${e.name}`, `  Signature: ${e.signature}`);
    if (e.note) lines.push(`  Note:      ${e.note}`);
    lines.push('');
  }
  if (lines.length > 0) io.out(lines.join('\n'));
  // Beyond Kyverno: a name that is a standard JMESPath function gets its one-line doc.
  for (const name of names) {
    const doc = FUNCTION_DOCS.find((d) => d.name === name && !d.kyverno);
    if (doc) io.out(`Name: ${doc.name}\n  Signature: ${doc.signature}\n  Note:      ${doc.description} (standard JMESPath)\n`);
  }
  return 0;
}

/** go-jmespath's node type names for the community-edition parser's nodes. */
const NODE_TYPES: Record<string, string> = {
  Field: 'ASTField',
  Subexpression: 'ASTSubexpression',
  IndexExpression: 'ASTIndexExpression',
  Index: 'ASTIndex',
  Slice: 'ASTSlice',
  Pipe: 'ASTPipe',
  FilterProjection: 'ASTFilterProjection',
  Projection: 'ASTProjection',
  ValueProjection: 'ASTValueProjection',
  Flatten: 'ASTFlatten',
  Identity: 'ASTIdentity',
  Current: 'ASTCurrentNode',
  Root: 'ASTRootNode',
  Comparator: 'ASTComparator',
  Literal: 'ASTLiteral',
  Function: 'ASTFunctionExpression',
  MultiSelectHash: 'ASTMultiSelectHash',
  MultiSelectList: 'ASTMultiSelectList',
  KeyValuePair: 'ASTKeyValPair',
  OrExpression: 'ASTOrExpression',
  AndExpression: 'ASTAndExpression',
  NotExpression: 'ASTNotExpression',
  ExpressionReference: 'ASTExpRef',
  Arithmetic: 'ASTArithmeticExpression',
  Unary: 'ASTArithmeticUnaryExpression',
};

interface Node {
  type: string;
  name?: string;
  value?: unknown;
  operator?: string;
  left?: Node;
  right?: Node;
  child?: Node;
  condition?: Node;
  operand?: Node;
  children?: Node[];
  start?: number | null;
  stop?: number | null;
  step?: number | null;
}

/** Go's %#v of a JSON value (what go-jmespath prints for field names and literals). */
function goSyntax(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null) return '<nil>';
  if (Array.isArray(v)) return `[]interface {}{${v.map(goSyntax).join(', ')}}`;
  const o = v as Record<string, unknown>;
  return `map[string]interface {}{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${goSyntax(o[k])}`).join(', ')}}`;
}

/** The value and children go-jmespath keeps for a node. */
function goNode(n: Node): { value?: string; children: Node[] } {
  const pair = [n.left, n.right].filter((c): c is Node => !!c);
  switch (n.type) {
    case 'Field':
    case 'Function':
    case 'KeyValuePair':
      return { value: JSON.stringify(n.name ?? ''), children: n.type === 'KeyValuePair' ? [n.value as Node] : (n.children ?? []) };
    case 'Index':
      return { value: String(n.value), children: [] };
    case 'Literal':
      // A null literal has no value in go-jmespath's node (nothing is printed).
      return { value: n.value === null ? undefined : goSyntax(n.value), children: [] };
    case 'Slice':
      // Go prints the three *int parts as pointers; the numbers are what they point to.
      return { value: `[]*int{${[n.start, n.stop, n.step].map((p) => (p === null || p === undefined ? 'nil' : String(p))).join(', ')}}`, children: [] };
    case 'Comparator':
      return { value: `t${n.name ?? ''}`, children: pair };
    case 'Arithmetic':
    case 'Unary':
      return { value: `t${n.operator ?? ''}`, children: n.type === 'Unary' && n.operand ? [n.operand] : pair };
    case 'FilterProjection':
      return { children: [...pair, n.condition as Node] };
    case 'Flatten':
    case 'NotExpression':
    case 'ExpressionReference':
      return { children: [n.child as Node] };
    default:
      return { children: n.children ?? pair };
  }
}

/** go-jmespath's ASTNode.PrettyPrint (including its unclosed "children: {"). */
export function prettyAst(n: Node, indent = 0): string {
  const spaces = ' '.repeat(indent);
  const { value, children } = goNode(n);
  let out = `${spaces}${NODE_TYPES[n.type] ?? `AST${n.type}`} {\n`;
  if (value !== undefined) out += `${' '.repeat(indent + 2)}value: ${value}\n`;
  if (children.length > 0) {
    out += `${' '.repeat(indent + 2)}children: {\n`;
    for (const c of children) out += prettyAst(c, indent + 4);
  }
  return `${out}${spaces}}\n`;
}

function runParse(argv: string[], io: CommandIO): number {
  const args = parseCommandArgs(argv, JP_FLAGS.parse, PARSE_USAGE, io);
  if (typeof args === 'number') return args;
  try {
    const expressions = [...args.positionals, ...(args.values.get('file') ?? []).map((f) => readNamed(f, 'open'))];
    if (expressions.length === 0) {
      io.out('Reading from terminal input.\nEnter a jmespath expression and hit Ctrl+D.');
      expressions.push(readStdin());
    }
    for (const expression of expressions) {
      const ast = parseExpression(expression) as unknown as Node;
      io.out(`# ${expression}`);
      io.out(prettyAst(ast));
    }
    return 0;
  } catch (err) {
    io.err(`Error: ${errorText(err)}`);
    return 1;
  }
}

const SUBCOMMANDS: Record<string, ((argv: string[], io: CommandIO) => number) | undefined> = { query: runQuery, function: runFunction, parse: runParse };

export const jpCommand: Command = {
  name: 'jp',
  summary: 'JMESPath tools: query, function docs, parse (like `kyverno jp`)',
  usage: USAGE,
  subcommands: JP_FLAGS,
  run: (argv: string[], io: CommandIO) => runSubcommand('jp', USAGE, (name) => (Object.hasOwn(SUBCOMMANDS, name) ? SUBCOMMANDS[name] : undefined), argv, io),
};
