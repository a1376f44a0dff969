/**
 * `{{ }}` substitution as Kyverno's pkg/engine/variables does it: every string (value or
 * object key) of a document is scanned, each variable is a JMESPath query against the
 * scope, a string that is exactly one variable takes the value's own type, otherwise the
 * value is spliced in (JSON-encoded when not a string) and the string is scanned again so
 * nested variables resolve inside out. `\{{ ... }}` is an escaped literal.
 */
import { jmesSearch } from '../jmespath';
import { goJson } from './gojson';
import { substituteReferences } from './references';
import type { VariableScope } from './scope';
import { VariableError } from './scope';
import { loadNamedEntries, queryNamesEntry } from '../context/deferred';

// `(^|[^\\])` keeps an escaped `\{{` out; the inner alternation allows one level of
// single braces (JMESPath multiselect hashes) and is linear: its branches are disjoint.
const VARIABLE_SOURCE = String.raw`(^|[^\\])(\{\{(?:\{[^{}]*\}|[^{}])*\}\})`;
const ONE_VARIABLE = new RegExp(VARIABLE_SOURCE);
// Global regexes carry lastIndex between calls (matchAll copies it): always use a fresh one.
const variables = (): RegExp => new RegExp(VARIABLE_SOURCE, 'g');
const ESCAPED_VARIABLE = /\\\{\{(?:\{[^{}]*\}|[^{}])*\}\}/g;
const VARIABLE_AT_START = /^\{\{(?:\{[^{}]*\}|[^{}])*\}\}/;

/** Bounds re-scanning: a value that resolves to its own variable must not spin forever or grow without end. */
const MAX_ROUNDS = 64;
const MAX_LENGTH = 1 << 18;
/** Variables resolved in one string, all rounds together. */
const MAX_VARIABLES = 10_000;

export interface SubstituteOptions {
  /**
   * JSON pointer of the document inside the rule, used for `@` and error messages
   * (Kyverno reports e.g. `at path /spec/containers/0/image`).
   */
  basePath?: string;
  /**
   * The caller only reads the result: a document without any `{{`/`$(` may come back as
   * itself instead of a copy.
   */
  readOnly?: boolean;
}

/** Whether a string contains at least one (unescaped) `{{ }}` variable. */
export function hasVariables(s: string): boolean {
  return ONE_VARIABLE.test(s);
}

/** The variables of a string, braces included, in order (escaped ones excluded). */
export function findVariables(s: string): string[] {
  const out: string[] = [];
  for (const m of s.matchAll(variables())) out.push(m[2]);
  return out;
}

/** `{{ a.b }}` → `a.b`, as Kyverno's replaceBracesAndTrimSpaces. */
export function variableExpression(v: string): string {
  return v.split('{{').join('').split('}}').join('').trim();
}

function isDeleteRequest(scope: VariableScope): boolean {
  const req = scope.data.request as { operation?: unknown } | undefined;
  return req?.operation === 'DELETE';
}

function pointerToJmesPath(segments: string[]): string {
  let out = '';
  for (const s of segments) {
    if (/^\d+$/.test(s)) out += `[${s}]`;
    else out += (out ? '.' : '') + (/^[A-Za-z_][A-Za-z0-9_]*$/.test(s) ? s : JSON.stringify(s));
  }
  return out;
}

/** `@` means "the resource field at the same place as this pattern field" (Kyverno jsonpointer logic). */
function expandAt(path: string, scope: VariableScope): string {
  const prefix = 'target' in scope.data ? ['target'] : ['request', 'object'];
  let segs = path.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const fe = segs.indexOf('foreach');
  if (fe >= 0) segs = segs.slice(fe + 1);
  segs = segs.slice(2);
  return pointerToJmesPath([...prefix, ...segs]);
}

// A field is a bare identifier or a quoted one (`labels."app.kubernetes.io/name"`).
const FIELD = '(?:[A-Za-z_][A-Za-z0-9_]*|"(?:[^"\\\\]|\\\\.)*")';
const PLAIN_PATH = new RegExp(`^${FIELD}(?:\\.${FIELD})*$`);
const PATH_FIELD = new RegExp(FIELD, 'g');

/**
 * Kyverno's JMESPath (kyverno/go-jmespath) fails a field lookup on an object that lacks the
 * key ("Unknown key" NotFoundError) where standard JMESPath yields null; Kyverno turns that
 * into a rule error. Reproduced here for plain dotted paths (fields bare or quoted), the form these errors come
 * from in practice; a field of null or of a non-object stays null.
 */
const plainPathKeys = new Map<string, readonly string[] | null>();

/** The keys of a plain dotted path (null when the expression is not one), remembered per expression. */
function plainPath(expression: string): readonly string[] | null {
  let keys = plainPathKeys.get(expression);
  if (keys !== undefined) return keys;
  if (plainPathKeys.size >= MAX_REMEMBERED) plainPathKeys.clear();
  keys = null;
  if (PLAIN_PATH.test(expression)) {
    try {
      // A quoted identifier is a JSON string (JMESPath's escapes are JSON's).
      keys = (expression.match(PATH_FIELD) ?? []).map((f) => (f.startsWith('"') ? (JSON.parse(f) as string) : f));
    } catch {
      keys = null;
    }
  }
  plainPathKeys.set(expression, keys);
  return keys;
}

/**
 * Whether `value` substitutes to a value read by field steps alone: a string that is exactly
 * one variable (returned as resolved, never scanned again) whose expression is a plain dotted
 * path, or a document without any `{{`/`$(`. Such a substitution builds nothing (no budget
 * charge) and reads only the scope: below the top-level names it adds to `roots`.
 */
export function readsPlainPathsOnly(value: unknown, roots: Set<string>): boolean {
  if (typeof value === 'string') {
    if (isLiteralString(value)) return true;
    if (value.includes('$(')) return false;
    const found = variablesOfPolicyString(value);
    const keys = found.length === 1 && found[0].prefix === '' && found[0].variable === value ? plainPath(found[0].expression) : null;
    if (keys === null) return false;
    roots.add(keys[0]);
    return true;
  }
  if (value === null || typeof value !== 'object') return true;
  if (Array.isArray(value)) return value.every((v) => readsPlainPathsOnly(v, roots));
  // A key is substituted too (and `__proto__` copies differently): keys stay literal.
  return Object.keys(value).every((k) => k !== '__proto__' && isLiteralString(k) && readsPlainPathsOnly((value as Record<string, unknown>)[k], roots));
}

function missingKey(expression: string, data: unknown): string | undefined {
  const keys = plainPath(expression);
  if (!keys) return undefined;
  let current: unknown = data;
  for (const key of keys) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    if (!Object.prototype.hasOwnProperty.call(current, key)) return key;
    current = (current as Record<string, unknown>)[key];
  }
  return undefined;
}

/**
 * The error of a failed entry the expression names, matched as Kyverno's deferred loader
 * matches a query (the name, not preceded by a dot or word character, ending at a word boundary).
 */
function failedEntryOf(expression: string, failed: Record<string, string>): string | undefined {
  for (const [name, failure] of Object.entries(failed)) if (queryNamesEntry(expression, name)) return failure;
  return undefined;
}

/** Resolves one variable expression in the scope; throws VariableError with Kyverno's wording. */
export function resolveExpression(expression: string, scope: VariableScope, path = ''): unknown {
  let variable = expression;
  if (isDeleteRequest(scope)) variable = variable.split('request.object').join('request.oldObject');
  if (variable === '') throw new VariableError(`failed to resolve  at path ${path}: invalid query (nil)`);
  // Kyverno's Query loads the deferred entries the query names first; one past the context size fails it.
  const unloadable = loadNamedEntries(variable, scope.deferredEntries);
  if (unloadable !== undefined) throw new VariableError(`failed to resolve ${variable} at path ${path}: ${unloadable}`);
  if (scope.failedEntries) {
    const failure = failedEntryOf(variable, scope.failedEntries);
    if (failure !== undefined) throw new VariableError(`failed to resolve ${variable} at path ${path}: ${failure}`);
  }
  const missing = missingKey(variable, scope.data);
  if (missing !== undefined) {
    throw new VariableError(`failed to resolve ${variable} at path ${path}: JMESPath query failed: Unknown key "${missing}" in path`);
  }
  try {
    return jmesSearch(variable, scope.data, scope.now ? { now: scope.now } : undefined);
  } catch (e) {
    throw new VariableError(`failed to resolve ${variable} at path ${path}: JMESPath query failed: ${(e as Error).message}`);
  }
}

// A policy string is scanned again on every request; its own variables depend on the string
// alone (later rounds scan substituted text and are not remembered). Bounded: dropped when full.
const MAX_REMEMBERED = 4096;
const firstRoundVariables = new Map<string, ReadonlyArray<FoundVariable>>();

function variablesOfPolicyString(value: string): ReadonlyArray<FoundVariable> {
  let vars = firstRoundVariables.get(value);
  if (vars) return vars;
  if (firstRoundVariables.size >= MAX_REMEMBERED) firstRoundVariables.clear();
  vars = findVariablesWithPrefix(value);
  firstRoundVariables.set(value, vars);
  return vars;
}

function substituteString(value: string, scope: VariableScope, path: string): unknown {
  let current = value;
  let vars = variablesOfPolicyString(current);
  let rounds = 0;
  let resolvedCount = 0;
  while (vars.length > 0) {
    if (++rounds > MAX_ROUNDS) throw new VariableError(`failed to resolve ${value} at path ${path}: variables nest too deeply`);
    const originalPattern = current;
    for (const { prefix, variable: v, expression: bare } of vars) {
      if (++resolvedCount > MAX_VARIABLES) throw new VariableError(`failed to resolve ${value.slice(0, 80)} at path ${path}: too many variables`);
      let expression = bare;
      if (expression === '@') expression = expandAt(path, scope);
      const resolved = resolveExpression(expression, scope, path);
      if (originalPattern === v) return resolved;
      const text = typeof resolved === 'string' ? resolved : goJson(resolved);
      const idx = current.indexOf(prefix + v);
      if (idx >= 0) current = current.slice(0, idx) + prefix + text + current.slice(idx + prefix.length + v.length);
      if (current.length > MAX_LENGTH) throw new VariableError(`failed to resolve ${value.slice(0, 80)} at path ${path}: substituted value exceeds ${MAX_LENGTH} characters`);
    }
    vars = findVariablesWithPrefix(current);
  }
  return current.replace(ESCAPED_VARIABLE, (m) => m.slice(1));
}

interface FoundVariable {
  /** The character before the variable (the regex consumes it), or '' at the start. */
  prefix: string;
  /** The variable, braces included. */
  variable: string;
  /** The JMESPath expression inside the braces. */
  expression: string;
}

function findVariablesWithPrefix(s: string): FoundVariable[] {
  const out: FoundVariable[] = [];
  for (const m of s.matchAll(variables())) {
    const whole = m[0];
    const initial = VARIABLE_AT_START.test(whole);
    const variable = initial ? whole : whole.slice(1);
    out.push({ prefix: initial ? '' : whole[0], variable, expression: variableExpression(variable) });
  }
  return out;
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

function walk(node: unknown, scope: VariableScope, path: string): unknown {
  if (typeof node === 'string') return substituteString(node, scope, path);
  if (Array.isArray(node)) return node.map((item, i) => walk(item, scope, `${path}/${i}`));
  if (node !== null && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(node as Record<string, unknown>)) {
      const childPath = `${path}/${escapePointer(key)}`;
      const newKey = hasVariables(key) || key.includes('\\{{') ? substituteString(key, scope, childPath) : key;
      out[typeof newKey === 'string' ? newKey : goJson(newKey)] = walk(child, scope, childPath);
    }
    return out;
  }
  return node;
}

function isLiteralString(s: string): boolean {
  return !s.includes('{{') && !s.includes('$(');
}

// Policy documents are evaluated for every request; whether one holds anything to
// substitute depends on the document alone, so it is worked out once per object.
const literalDocuments = new WeakMap<object, boolean>();

/** No `{{`, `$(` (escaped or not) in any string or key: substitution would only copy it. */
function isLiteral(node: unknown): boolean {
  if (typeof node === 'string') return isLiteralString(node);
  if (node === null || typeof node !== 'object') return true;
  const known = literalDocuments.get(node);
  if (known !== undefined) return known;
  let literal = true;
  if (Array.isArray(node)) literal = node.every(isLiteral);
  else {
    for (const key of Object.keys(node)) {
      // walk() assigns keys to a fresh object, where `__proto__` would not copy as a key.
      if (key === '__proto__' || !isLiteralString(key) || !isLiteral((node as Record<string, unknown>)[key])) {
        literal = false;
        break;
      }
    }
  }
  literalDocuments.set(node, literal);
  return literal;
}

/**
 * Whether substitution can only copy this document (no `{{`, `$(` anywhere): read-only
 * substitution then hands back the document itself. Depends on the document alone.
 */
export function isLiteralDocument(node: unknown): boolean {
  return isLiteral(node);
}

/** The copy walk() makes of a literal document. */
function copyLiteral(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(copyLiteral);
  if (node !== null && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(node)) out[key] = copyLiteral((node as Record<string, unknown>)[key]);
    return out;
  }
  return node;
}

const referenceFreeDocuments = new WeakMap<object, boolean>();

/**
 * No `$(` in any string or key: substituteReferences would only copy the document (every
 * reference, escaped or not, contains `$(`), and walk() copies it anyway.
 */
function isReferenceFree(node: unknown): boolean {
  if (typeof node === 'string') return !node.includes('$(');
  if (node === null || typeof node !== 'object') return true;
  const known = referenceFreeDocuments.get(node);
  if (known !== undefined) return known;
  let free = true;
  if (Array.isArray(node)) free = node.every(isReferenceFree);
  else {
    for (const key of Object.keys(node)) {
      // A `__proto__` key copies differently (substituteReferences assigns it): keep that path.
      if (key === '__proto__' || key.includes('$(') || !isReferenceFree((node as Record<string, unknown>)[key])) {
        free = false;
        break;
      }
    }
  }
  referenceFreeDocuments.set(node, free);
  return free;
}

/** Substitutes `$( )` references, then every `{{ }}` variable, of a JSON document (Kyverno's SubstituteAll); throws VariableError when one cannot be resolved. */
export function substituteAll(document: unknown, scope: VariableScope, options: SubstituteOptions = {}): unknown {
  if (isLiteral(document)) return options.readOnly ? document : copyLiteral(document);
  return walk(isReferenceFree(document) ? document : substituteReferences(document), scope, options.basePath ?? '');
}
