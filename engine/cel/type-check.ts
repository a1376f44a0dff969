/**
 * The field check of Kubernetes' CEL type checker (k8s.io/apiserver pkg/admission/plugin/policy/
 * validating TypeChecker), which Kyverno runs on a ClusterPolicy's `validate.cel` expressions at
 * admission and reports as warnings: `object` and `oldObject` are typed by the matched kind's
 * schema, `request` and `namespaceObject` by Kubernetes' hand-made types, and selecting a field
 * a struct type does not declare is cel-go's "undefined field 'x'" at the `.` (for `has(…)`, at
 * its `(`), printed as cel-go prints issues.
 *
 * cel-js can declare struct types, but its checker stops at the first error and words it its own
 * way, so this is a pass over the parsed expression instead, typing only what leads to a field
 * selection: variables, selections (`.`, `.?`), indexes (`[]`, `[?]`), the comprehension macros'
 * variables, `cel.bind`, `optMap`, `orValue`/`value`, and conditionals whose branches agree.
 * Anything else is dyn here, so a warning is always one cel-go gives; cel-go's other type errors
 * (overloads, undeclared functions) are not reproduced.
 *
 * Types follow SchemaDeclType (pkg/cel/common/schemas.go) over the bundled built-in API types
 * (engine/kube/api-types.ts): objects → struct types with their properties as fields (names
 * escaped as Kubernetes' Escape does; keywords found as `__kw__` too, as the DeclTypeProvider
 * recognises them since 1.31), `[]T` → list, `{}T` → map with string keys, int-or-string and
 * objects of unknown shape → dyn. Where the bundled types are less precise than the cluster's
 * OpenAPI v3 (whose Quantity has no `type` and so is not exposed; whose RawExtension is an
 * object without fields), the check says less, never more. Custom resources are typed from
 * their CRD's schema as the API server publishes it in /openapi/v3 (`crdObjectType`), which is
 * what Kyverno's schema resolver (ClientDiscoveryResolver) reads; a kind without a schema is
 * skipped, as the TypeChecker skips ErrSchemaNotFound.
 */
import type { JsonObject } from '../core/types';
import { celCheckingEnvironment, MAX_EXPRESSION_LENGTH } from './environment';
import { HAS_FIELD, OR_VALUE, rewriteWithOffsets, type RewriteResult } from './rewrite';
import { clusterPolicyAdmissionPolicySpec, validatingAdmissionPolicyRefusal, type FindResources } from './admission-policy-generation';
import { apiTypeOfKind, apiTypeProperties } from '../kube/api-types';
import { KNOWN_KINDS } from '../kube/known-kinds';
import type { CrdSchema } from '../kube/crd';
import { asArray, asObject, isJsonObject } from '../core/json';

/** A CEL type as far as field selection cares. `dyn` stands for every type without fields. */
export type CelSelectType =
  | { kind: 'struct'; name: string; field: (name: string) => CelSelectType | undefined }
  | { kind: 'list'; elem: CelSelectType }
  | { kind: 'map'; value: CelSelectType }
  | { kind: 'optional'; inner: CelSelectType }
  | { kind: 'dyn' };

const DYN: CelSelectType = { kind: 'dyn' };

// pkg/cel/escaping.go: the CEL lexer's reserved symbols.
const RESERVED = new Set(['true', 'false', 'null', 'in', 'as', 'break', 'const', 'continue', 'else', 'for', 'function', 'if', 'import', 'let', 'loop', 'package', 'namespace', 'return', 'var', 'void', 'while']);

/** Kubernetes' Escape: the CEL field name of a property, or undefined when it has none (not exposed). */
export function escapeFieldName(name: string): string | undefined {
  if (name === '' || (name[0] >= '0' && name[0] <= '9')) return undefined;
  if (RESERVED.has(name)) return `__${name}__`;
  if (!/^[A-Za-z0-9_./-]+$/.test(name)) return undefined;
  return name.replace(/__|[-./]/g, (s) => (s === '__' ? '__underscores__' : s === '.' ? '__dot__' : s === '-' ? '__dash__' : '__slash__'));
}

/** A struct type over escaped field names; a keyword is also found under its escaped name. */
function struct(name: string, fields: () => ReadonlyMap<string, CelSelectType>): CelSelectType {
  return {
    kind: 'struct',
    name,
    field: (field) => fields().get(field) ?? (RESERVED.has(field) ? fields().get(`__${field}__`) : undefined),
  };
}

const apiStructs = new Map<string, CelSelectType>();

/** The CEL type of a property spelled as the API type table spells it. */
function apiSpelledType(spelling: string): CelSelectType {
  if (spelling.startsWith('[]')) return { kind: 'list', elem: apiSpelledType(spelling.slice(2)) };
  if (spelling.startsWith('{}')) return { kind: 'map', value: apiSpelledType(spelling.slice(2)) };
  return apiTypeProperties(spelling) ? apiStructType(spelling) : DYN;
}

/** The struct type of a named built-in API type (memoised: types are shared by many kinds). */
export function apiStructType(name: string): CelSelectType {
  let t = apiStructs.get(name);
  if (!t) {
    let fields: Map<string, CelSelectType> | undefined;
    t = struct(name, () => {
      if (!fields) {
        fields = new Map();
        for (const [prop, spelling] of Object.entries(apiTypeProperties(name) ?? {})) {
          const escaped = escapeFieldName(prop);
          if (escaped !== undefined) fields.set(escaped, apiSpelledType(spelling));
        }
      }
      return fields;
    });
    apiStructs.set(name, t);
  }
  return t;
}

// ---------------------------------------------------------------------------------------------
// Custom resources: a CRD version's schema as the API server publishes it (apiextensions'
// openapi builder: the structural schema, `metadata` replaced by ObjectMeta, `apiVersion` and
// `kind` added, the same in x-kubernetes-embedded-resource objects), through SchemaDeclType
// ---------------------------------------------------------------------------------------------

const OBJECT_META = 'V1ObjectMeta';
const crdTypes = new WeakMap<object, CelSelectType>();

/** Fields every published resource has beside its schema's (addTypeMetaProperties, ObjectMeta). */
function withTypeMeta(fields: Map<string, CelSelectType>): Map<string, CelSelectType> {
  fields.set('apiVersion', DYN);
  fields.set('kind', DYN);
  fields.set('metadata', apiStructType(OBJECT_META));
  return fields;
}

/**
 * SchemaDeclType of one published schema node; undefined where Kubernetes exposes nothing (no
 * type, a list without items, a map of values not exposed): the property is then no field.
 * Scalars are dyn here (no fields to select). x-kubernetes-preserve-unknown-fields is ignored,
 * as SchemaDeclType ignores it: only the declared properties are fields.
 */
function schemaDeclType(schema: unknown, name: string, depth: number): CelSelectType | undefined {
  if (!isJsonObject(schema)) return undefined;
  // Past the pass's depth the schema is not read (dyn: says less, never more).
  if (depth > MAX_PASS_DEPTH) return DYN;
  if (schema['x-kubernetes-int-or-string'] === true) return DYN;
  const embedded = schema['x-kubernetes-embedded-resource'] === true;
  switch (schema.type) {
    case 'array': {
      const elem = schemaDeclType(schema.items, name, depth + 1);
      return elem && listOf(elem);
    }
    case 'object': {
      if (isJsonObject(schema.additionalProperties)) {
        const value = schemaDeclType(schema.additionalProperties, name, depth + 1);
        return value && mapOf(value);
      }
      const properties = isJsonObject(schema.properties) ? schema.properties : {};
      let fields: Map<string, CelSelectType> | undefined;
      return struct(name, () => {
        if (fields) return fields;
        fields = new Map();
        for (const [prop, sub] of Object.entries(properties)) {
          const escaped = escapeFieldName(prop);
          const t = escaped === undefined ? undefined : schemaDeclType(sub, `${name}.${prop}`, depth + 1);
          if (t) fields.set(escaped!, t);
        }
        return embedded ? withTypeMeta(fields) : fields;
      });
    }
    case 'string':
    case 'boolean':
    case 'number':
    case 'integer':
      return DYN;
    default:
      return undefined;
  }
}

/**
 * The type of `object` for a custom resource version whose openAPIV3Schema is `schema`. A
 * schema the builder cannot use (none, or a root that is not an object) is published as a bare
 * object, which SchemaDeclType gives `kind`, `apiVersion` and `metadata.name`/`generateName` only.
 */
export function crdObjectType(schema: unknown, kind: string): CelSelectType {
  if (isJsonObject(schema) && schema.type === 'object') {
    let t = crdTypes.get(schema);
    if (!t) {
      const root = { ...schema, properties: { ...asObject(schema.properties) }, additionalProperties: undefined, 'x-kubernetes-embedded-resource': true };
      t = schemaDeclType(root, kind, 0)!;
      crdTypes.set(schema, t);
    }
    return t;
  }
  return handMade(kind, { kind: DYN, apiVersion: DYN, metadata: { name: DYN, generateName: DYN } });
}

/**
 * Where the type checker's object types come from, as in the TypeChecker Kyverno builds: the
 * REST mapper (the kinds a group/version/resource names) and the schema resolver (a kind's
 * type; undefined: no schema, the kind is skipped).
 */
export interface ObjectTypes {
  kindsFor(group: string, version: string, resource: string): string[];
  objectType(gvk: GroupVersionKindKey): CelSelectType | undefined;
}

/** The built-in kinds and their bundled API types: the answer without a cluster's CRDs. */
export const BUILT_IN_OBJECT_TYPES: ObjectTypes = {
  kindsFor: (group, version, resource) =>
    KNOWN_KINDS.filter((k) => k.group === group && k.plural === resource && (k.version === version || k.otherVersions?.includes(version))).map((k) => k.kind),
  objectType: (gvk) => {
    const type = apiTypeOfKind(gvk.group, gvk.version, gvk.kind);
    return type ? apiStructType(type) : undefined;
  },
};

const withCrds = new WeakMap<readonly CrdSchema[], ObjectTypes>();

/**
 * The built-in kinds and these CRDs (a cluster's, or the files an editor knows); only served
 * versions, as only they are in discovery and the published OpenAPI. A built-in kind's bundled
 * type comes first: a CRD cannot redefine a group Kubernetes serves.
 */
export function objectTypesWith(crds: readonly CrdSchema[]): ObjectTypes {
  if (crds.length === 0) return BUILT_IN_OBJECT_TYPES;
  let types = withCrds.get(crds);
  if (!types) {
    const served = (c: CrdSchema, version: string) => c.versions.find((v) => v.name === version && v.served !== false);
    types = {
      kindsFor: (group, version, resource) => [...new Set([
        ...BUILT_IN_OBJECT_TYPES.kindsFor(group, version, resource),
        ...crds.filter((c) => c.group === group && c.plural === resource && served(c, version)).map((c) => c.kind),
      ])],
      objectType: (gvk) => {
        const builtIn = BUILT_IN_OBJECT_TYPES.objectType(gvk);
        if (builtIn) return builtIn;
        for (const c of crds) {
          const v = c.group === gvk.group && c.kind === gvk.kind ? served(c, gvk.version) : undefined;
          if (v) return crdObjectType(c.nonStructural ? undefined : v.schema, gvk.kind);
        }
        return undefined;
      },
    };
    withCrds.set(crds, types);
  }
  return types;
}

type Shape = CelSelectType | { [field: string]: Shape };

function handMade(name: string, shape: { [field: string]: Shape }): CelSelectType {
  const fields = new Map<string, CelSelectType>();
  for (const [field, t] of Object.entries(shape)) fields.set(field, 'kind' in t && typeof t.kind === 'string' ? (t as CelSelectType) : handMade(`${name}.${field}`, t as { [field: string]: Shape }));
  return struct(name, () => fields);
}

const listOf = (elem: CelSelectType): CelSelectType => ({ kind: 'list', elem });
const mapOf = (value: CelSelectType): CelSelectType => ({ kind: 'map', value });

// pkg/admission/plugin/cel/compile.go BuildRequestType and BuildNamespaceType.
const GVK = { group: DYN, version: DYN, kind: DYN };
const GVR = { group: DYN, version: DYN, resource: DYN };
const REQUEST_TYPE = handMade('kubernetes.AdmissionRequest', {
  kind: GVK, resource: GVR, subResource: DYN, requestKind: GVK, requestResource: GVR, requestSubResource: DYN, name: DYN, namespace: DYN,
  operation: DYN, userInfo: { username: DYN, uid: DYN, groups: listOf(DYN), extra: mapOf(listOf(DYN)) }, dryRun: DYN, options: DYN,
});
const NAMESPACE_TYPE = handMade('kubernetes.Namespace', {
  metadata: {
    name: DYN, generateName: DYN, namespace: DYN, labels: mapOf(DYN), annotations: mapOf(DYN), UID: DYN, creationTimestamp: DYN,
    deletionGracePeriodSeconds: DYN, deletionTimestamp: DYN, generation: DYN, resourceVersion: DYN, finalizers: listOf(DYN),
  },
  spec: { finalizers: listOf(DYN) },
  status: { conditions: listOf(handMade('kubernetes.NamespaceCondition', { status: DYN, type: DYN, lastTransitionTime: DYN, message: DYN, reason: DYN })), phase: DYN },
});

/** The typed variables of the type checker's environment for one matched kind. */
export function admissionVariableTypes(objectType: CelSelectType): ReadonlyMap<string, CelSelectType> {
  return new Map([['object', objectType], ['oldObject', objectType], ['request', REQUEST_TYPE], ['namespaceObject', NAMESPACE_TYPE]]);
}

/** One undefined field, where cel-go reports it and where the field's name is written. */
export interface CelFieldIssue {
  /** cel-go's message: `undefined field 'x'`. */
  message: string;
  field: string;
  /** Offset (UTF-16) of the `.` selecting the field, or of the `(` of `has(…)`: cel-go's location. */
  offset: number;
  /** Offset and length of the field's name in the expression (for an editor). */
  fieldOffset: number;
  fieldLength: number;
}

// cel-js AST, as much as this pass reads of it.
interface Node { op: string; args: unknown; pos: number }

const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null && typeof (v as Node).op === 'string';
const SINGLE_VAR_MACROS = new Set(['all', 'exists', 'exists_one', 'existsOne', 'map', 'filter', 'sortBy']);
const TWO_VAR_MACROS = new Set(['all', 'exists', 'existsOne', 'transformList', 'transformMap', 'transformMapEntry']);

/** A parsed expression, with the rewrite that made cel-js parse it (for offsets). */
interface Parsed { ast: Node; rewrite: RewriteResult; source: string }

function parse(expression: string): Parsed | undefined {
  try {
    const rewrite = rewriteWithOffsets(expression);
    const ast = (celCheckingEnvironment().parse(rewrite.text) as unknown as { ast: Node }).ast;
    return { ast, rewrite, source: expression };
  } catch {
    // cel-go reports its own syntax errors: not this check's to word.
    return undefined;
  }
}

/**
 * Deeper than this the pass types nothing (dyn): cel-js parses long `a || b || …` chains into
 * trees as deep as they are long, and a warning is never worth a stack overflow.
 */
const MAX_PASS_DEPTH = 250;

class FieldPass {
  readonly issues: CelFieldIssue[] = [];
  private depth = 0;
  constructor(private readonly parsed: Parsed, private readonly globals: ReadonlyMap<string, CelSelectType>) {}

  private sourceOffset(rewritten: number): number {
    const offsets = this.parsed.rewrite.sourceOffsets;
    return rewritten < offsets.length ? offsets[rewritten] : this.parsed.source.length;
  }

  /** The `.` before a field name written at `fieldAt` (over blanks and the `?` of `.?`). */
  private dotBefore(fieldAt: number): number {
    const src = this.parsed.source;
    let i = fieldAt - 1;
    while (i > 0 && /\s/.test(src[i])) i--;
    if (src[i] === '?') i--;
    while (i > 0 && /\s/.test(src[i])) i--;
    return src[i] === '.' ? i : fieldAt;
  }

  /** The `(` after the macro name written at `nameAt`. */
  private parenAfter(nameAt: number): number {
    const src = this.parsed.source;
    let i = nameAt;
    while (i < src.length && /\w/.test(src[i])) i++;
    while (i < src.length && /\s/.test(src[i])) i++;
    return src[i] === '(' ? i : nameAt;
  }

  private report(field: string, offset: number, fieldOffset: number): void {
    this.issues.push({ message: `undefined field '${field}'`, field, offset, fieldOffset, fieldLength: field.length });
  }

  /** cel-go's checkSelectField: a struct without the field is an error; maps give their values. */
  private select(operand: CelSelectType, field: string, optional: boolean, at: () => { offset: number; fieldOffset: number }): CelSelectType {
    const wrapped = operand.kind === 'optional';
    const target = operand.kind === 'optional' ? operand.inner : operand;
    let result: CelSelectType = DYN;
    if (target.kind === 'struct') {
      const t = target.field(field);
      if (!t) {
        const where = at();
        this.report(field, where.offset, where.fieldOffset);
        return DYN;
      }
      result = t;
    } else if (target.kind === 'map') result = target.value;
    return wrapped || optional ? { kind: 'optional', inner: result } : result;
  }

  type(node: unknown, scope: ReadonlyMap<string, CelSelectType>): CelSelectType {
    if (!isNode(node) || this.depth >= MAX_PASS_DEPTH) return DYN;
    this.depth++;
    try {
      return this.typeOf(node, scope);
    } finally {
      this.depth--;
    }
  }

  private typeOf(node: Node, scope: ReadonlyMap<string, CelSelectType>): CelSelectType {
    const args = node.args;
    switch (node.op) {
      case 'id': {
        const name = String(args);
        return scope.get(name) ?? this.globals.get(name) ?? DYN;
      }
      case '.':
      case '.?': {
        const [operand, field] = args as [Node, string];
        const t = this.type(operand, scope);
        return this.select(t, field, node.op === '.?', () => {
          const fieldOffset = this.sourceOffset(node.pos);
          return { offset: this.dotBefore(fieldOffset), fieldOffset };
        });
      }
      case '[]':
      case '[?]': {
        const [operand, index] = args as [Node, Node];
        const t = this.type(operand, scope);
        this.type(index, scope);
        const wrapped = t.kind === 'optional';
        const target = t.kind === 'optional' ? t.inner : t;
        const result = target.kind === 'list' ? target.elem : target.kind === 'map' ? target.value : DYN;
        return wrapped || node.op === '[?]' ? { kind: 'optional', inner: result } : result;
      }
      case 'call': {
        const [name, callArgs] = args as [string, unknown[]];
        if ((name === 'has' && callArgs.length === 1 && isNode(callArgs[0]) && callArgs[0].op === '.') || (name === HAS_FIELD && callArgs.length === 2)) {
          return this.presence(node, name, callArgs, scope);
        }
        for (const a of callArgs) this.type(a, scope);
        return DYN;
      }
      case 'rcall':
        return this.memberCall(node, scope);
      case '?:': {
        const [cond, a, b] = args as [Node, Node, Node];
        this.type(cond, scope);
        const ta = this.type(a, scope);
        const tb = this.type(b, scope);
        return ta === tb ? ta : DYN;
      }
      default:
        this.children(args, scope);
        return DYN;
    }
  }

  private children(args: unknown, scope: ReadonlyMap<string, CelSelectType>): void {
    if (isNode(args)) this.type(args, scope);
    else if (Array.isArray(args)) for (const a of args) if (isNode(a)) this.type(a, scope); else if (Array.isArray(a)) for (const b of a) this.type(b, scope);
  }

  /** `has(x.f)` (or the rewrite's kyHasField(x, "f")): cel-go's presence test, located at the `(`. */
  private presence(node: Node, name: string, callArgs: unknown[], scope: ReadonlyMap<string, CelSelectType>): CelSelectType {
    let operand: unknown;
    let field: string;
    let fieldAt: number;
    if (name === 'has') {
      const sel = callArgs[0] as Node;
      [operand, field] = sel.args as [Node, string];
      fieldAt = this.sourceOffset(sel.pos);
    } else {
      operand = callArgs[0];
      const literal = callArgs[1];
      if (!isNode(literal) || literal.op !== 'value' || typeof literal.args !== 'string') {
        for (const a of callArgs) this.type(a, scope);
        return DYN;
      }
      field = literal.args;
      fieldAt = this.sourceOffset(literal.pos);
    }
    const t = this.type(operand, scope);
    this.select(t, field, false, () => ({ offset: this.parenAfter(this.sourceOffset(node.pos)), fieldOffset: fieldAt }));
    return DYN;
  }

  private memberCall(node: Node, scope: ReadonlyMap<string, CelSelectType>): CelSelectType {
    const [name, target, callArgs] = node.args as [string, Node, unknown[]];
    const ids = callArgs.map((a) => (isNode(a) && a.op === 'id' ? String(a.args) : undefined));
    // cel.bind(x, init, body)
    if (name === 'bind' && isNode(target) && target.op === 'id' && target.args === 'cel' && callArgs.length === 3 && ids[0] !== undefined) {
      const init = this.type(callArgs[1], scope);
      return this.type(callArgs[2], new Map([...scope, [ids[0], init]]));
    }
    const t = this.type(target, scope);
    const twoVars = TWO_VAR_MACROS.has(name) && callArgs.length >= 3 && ids[0] !== undefined && ids[1] !== undefined;
    if (twoVars || (SINGLE_VAR_MACROS.has(name) && callArgs.length >= 2 && ids[0] !== undefined)) {
      const inner = new Map(scope);
      const list = t.kind === 'list' ? t : undefined;
      const map = t.kind === 'map' ? t : undefined;
      if (twoVars) {
        inner.set(ids[0]!, DYN);
        inner.set(ids[1]!, list ? list.elem : map ? map.value : DYN);
      } else inner.set(ids[0]!, list ? list.elem : DYN);
      const bodies = callArgs.slice(twoVars ? 2 : 1);
      const types = bodies.map((b) => this.type(b, inner));
      if (name === 'filter' || name === 'sortBy') return t;
      if (name === 'map' || name === 'transformList') return listOf(types[types.length - 1]);
      return DYN;
    }
    // Optional values: optMap/optFlatMap bind the value; orValue/value unwrap it.
    if ((name === 'optMap' || name === 'optFlatMap') && callArgs.length === 2 && ids[0] !== undefined) {
      const body = this.type(callArgs[1], new Map([...scope, [ids[0], t.kind === 'optional' ? t.inner : DYN]]));
      return name === 'optMap' ? { kind: 'optional', inner: body } : body;
    }
    for (const a of callArgs) this.type(a, scope);
    if ((name === OR_VALUE || name === 'orValue' || name === 'value') && t.kind === 'optional') return t.inner;
    return DYN;
  }
}

const parsedCache = new Map<string, Parsed | null>();

/**
 * The undefined fields of an expression with these variables typed (every other name is dyn),
 * in cel-go's order (by line, then column). Empty when the expression does not parse.
 */
export function celFieldIssues(expression: string, variables: ReadonlyMap<string, CelSelectType>): CelFieldIssue[] {
  if (expression.length > MAX_EXPRESSION_LENGTH) return [];
  let parsed = parsedCache.get(expression);
  if (parsed === undefined) {
    parsed = parse(expression) ?? null;
    if (parsedCache.size >= 500) parsedCache.clear();
    parsedCache.set(expression, parsed);
  }
  if (!parsed) return [];
  const pass = new FieldPass(parsed, variables);
  pass.type(parsed.ast, new Map());
  // Offsets order issues as cel-go's (line, column) does.
  return pass.issues.sort((a, b) => a.offset - b.offset);
}

/** cel-go's Location of an offset: 1-based line, 0-based column in code points; `lineStarts` from lineStartsOf. */
function lineColumn(text: string, lineStarts: readonly number[], offset: number): { line: number; column: number } {
  let lo = 0;
  let hi = lineStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (lineStarts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  let column = 0;
  for (let i = lineStarts[lo]; i < offset; i++) {
    const c = text.charCodeAt(i);
    // A surrogate pair is one code point.
    if (!(c >= 0xdc00 && c <= 0xdfff && i > lineStarts[lo] && text.charCodeAt(i - 1) >= 0xd800 && text.charCodeAt(i - 1) <= 0xdbff)) column++;
  }
  return { line: lo + 1, column };
}

function lineStartsOf(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') starts.push(i + 1);
  return starts;
}

const MAX_ERRORS_TO_REPORT = 100;

/**
 * The issues as cel-go's Errors.ToDisplayString prints them for source `<input>`: per issue
 * `ERROR: <input>:L:C: message`, the line and a `^` under the column (wide forms under
 * characters of more than one UTF-8 byte), joined by newlines.
 */
export function celGoDisplay(expression: string, issues: readonly CelFieldIssue[]): string {
  const lines = expression.split('\n');
  const starts = lineStartsOf(expression);
  const out = issues.slice(0, MAX_ERRORS_TO_REPORT).map((issue) => {
    const { line, column } = lineColumn(expression, starts, issue.offset);
    let text = `ERROR: <input>:${line}:${column + 1}: ${issue.message}`;
    const snippet = (lines[line - 1] ?? '').replace(/\t/g, ' ');
    if (utf8Length(snippet) <= 16384) {
      const chars = [...snippet];
      let indicator = '';
      for (let i = 0; i < column && i < chars.length; i++) indicator += utf8Length(chars[i]) > 1 ? '\uff0e' : '.';
      indicator += column < chars.length && utf8Length(chars[column]) > 1 ? '\uff3e' : '^';
      text += `\n | ${snippet}\n | ${indicator}`;
    }
    return text;
  });
  if (issues.length > MAX_ERRORS_TO_REPORT) out.push(`${issues.length - MAX_ERRORS_TO_REPORT} more errors were truncated`);
  return out.join('\n');
}

function utf8Length(s: string): number {
  let n = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Kyverno's policy validation: the CEL warnings of a validate.cel rule (pkg/validation/policy
// validate.go, end of Validate) through the TypeChecker (typechecking.go)
// ---------------------------------------------------------------------------------------------

/** The TypeChecker's cap on the kinds one policy is checked against. */
const MAX_TYPES_TO_CHECK = 10;

export interface GroupVersionKindKey { group: string; version: string; kind: string }

/** apimachinery's GroupVersionKind.String(): `apps/v1, Kind=Deployment`, `/v1, Kind=Secret`. */
export function gvkString(gvk: GroupVersionKindKey): string {
  return `${gvk.group}/${gvk.version}, Kind=${gvk.kind}`;
}

/**
 * typesToCheck: the kinds of the generated policy's resource rules, each rule's groups,
 * versions and resources sorted (a rule with a wildcard group or version is skipped, wildcard
 * resources and subresources are), resolved by the REST mapper (`types.kindsFor`),
 * at most ten, sorted by group, version and kind.
 */
export function typesToCheck(admissionPolicySpec: JsonObject, types: ObjectTypes = BUILT_IN_OBJECT_TYPES): GroupVersionKindKey[] {
  const found = new Map<string, GroupVersionKindKey>();
  for (const rule of asArray(asObject(admissionPolicySpec.matchConstraints).resourceRules).map(asObject)) {
    // Counted per rule, as the apiserver's loop does: the early return needs one rule's ten.
    let count = 0;
    const groups = asArray(rule.apiGroups).map(String);
    const versions = asArray(rule.apiVersions).map(String);
    const resources = asArray(rule.resources).map(String).filter((r) => !/[*/]/.test(r));
    if (!groups.length || groups.some((g) => g.includes('*')) || !versions.length || versions.some((v) => v.includes('*')) || !resources.length) continue;
    for (const group of [...groups].sort()) for (const version of [...versions].sort()) for (const resource of [...resources].sort()) {
      for (const kind of types.kindsFor(group, version, resource)) {
        const gvk = { group, version, kind };
        found.set(gvkString(gvk), gvk);
        if (++count === MAX_TYPES_TO_CHECK && found.size >= MAX_TYPES_TO_CHECK) return sortGVKs([...found.values()]);
      }
    }
  }
  return sortGVKs([...found.values()]);
}

function sortGVKs(list: GroupVersionKindKey[]): GroupVersionKindKey[] {
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return list.sort((a, b) => cmp(a.group, b.group) || cmp(a.version, b.version) || cmp(a.kind, b.kind));
}

/** The type-check results of one expression of the rule. */
export interface CelTypeCheckResult {
  /** Index in `validate.cel.expressions`. */
  index: number;
  key: 'expression' | 'messageExpression';
  expression: string;
  /** Per kind whose schema is known, the undefined fields (kinds without any are left out). */
  byKind: Array<{ gvk: GroupVersionKindKey; issues: CelFieldIssue[] }>;
}

/**
 * Whether Kyverno type-checks this classic policy's CEL: CanGenerateVAP(spec, nil, true), i.e.
 * one rule, a validate.cel rule, match and exclude blocks a ValidatingAdmissionPolicy can express.
 */
export function celTypeCheckApplies(policy: JsonObject): boolean {
  return validatingAdmissionPolicyRefusal(policy, [], true) === undefined;
}

/**
 * The type checker's findings on a classic policy's validate.cel expressions and message
 * expressions, as Kyverno's policy validation asks for them; undefined when it does not run,
 * `buildError` when building the ValidatingAdmissionPolicy fails (Kyverno then rejects the
 * policy with that error).
 */
export function classicCelTypeCheck(policy: JsonObject, findResources: FindResources, types: ObjectTypes = BUILT_IN_OBJECT_TYPES): { results: CelTypeCheckResult[] } | { buildError: string } | undefined {
  if (!celTypeCheckApplies(policy)) return undefined;
  let vap: JsonObject;
  try {
    vap = clusterPolicyAdmissionPolicySpec(policy, findResources);
  } catch (e) {
    return { buildError: (e as Error).message };
  }
  const kinds = typesToCheck(vap, types).flatMap((gvk) => {
    const type = types.objectType(gvk);
    return type ? [{ gvk, variables: admissionVariableTypes(type) }] : [];
  });
  const rule = asObject(asArray(asObject(policy.spec).rules)[0]);
  const results: CelTypeCheckResult[] = [];
  asArray(asObject(asObject(rule.validate).cel).expressions).map(asObject).forEach((e, index) => {
    for (const key of ['expression', 'messageExpression'] as const) {
      const expression = typeof e[key] === 'string' ? e[key] : '';
      if (key === 'messageExpression' && expression === '') continue;
      const byKind = kinds.map((k) => ({ gvk: k.gvk, issues: celFieldIssues(expression, k.variables) })).filter((k) => k.issues.length > 0);
      if (byKind.length) results.push({ index, key, expression, byKind });
    }
  });
  return { results };
}

/**
 * Kyverno's warning for one result: `spec.rules[0].validate.cel.expressions[i].expression:`
 * followed by the TypeCheckingResults' text (`<gvk>: <cel-go issues>` and a newline per kind,
 * joined by newlines) with every newline made `;`.
 */
export function celTypeCheckWarning(result: CelTypeCheckResult): string {
  const text = result.byKind.map((k) => `${gvkString(k.gvk)}: ${celGoDisplay(result.expression, k.issues)}\n`).join('\n');
  return `spec.rules[0].validate.cel.expressions[${result.index}].${result.key}:${text.replace(/\n/g, ';')}`;
}
