/**
 * Diagnostics for a YAML file: syntax, CRD schema (ajv, generated validators) and what
 * Kyverno itself rejects (kyverno-checks.ts). Pure: text in, diagnostics out.
 */
import type { ParsedFile, ParsedDocument, JsonPath } from './documents';
import { rangeOf, rangeForPath, pointerToPath } from './documents';
import { Codes, Severity, diag, withoutRepeats, type Diagnostic } from './codes';
import { schemaFor, validatorFor, documentedSchema, subSchema, propertiesOf, type SchemaEntry } from './schemas';
import { closest } from './suggest';
import { checkKyvernoDocument } from './kyverno-checks';
import { runCheck, type CheckLog } from './guard';
import type { ResourceSchemas } from './resource-schema';
import { admissionVerdict } from '../../../engine/policy/admission';
import { isJsonObject } from '../../../engine/core/json';

export interface ValidateOptions {
  /** Stop after this many diagnostics per file (a broken 10 MB file must not flood the client). */
  maxDiagnostics?: number;
  /** Where the stack of a check's internal error goes (the diagnostic only names it). */
  log?: CheckLog;
  /** The kinds expressions read (built-in kinds and the workspace's CRDs) for the unknown-field check. */
  resourceSchemas?: ResourceSchemas;
}

export function validateFile(file: ParsedFile, opts: ValidateOptions = {}): Diagnostic[] {
  const max = opts.maxDiagnostics ?? 1000;
  const out: Diagnostic[] = [];
  if (file.tooLarge) return [diag(rangeOf(file, 0, 0), Severity.Warning, Codes.tooLarge, file.tooLarge)];
  for (const pd of file.docs) {
    if (out.length >= max) break;
    for (const e of pd.doc.errors) {
      out.push(diag(rangeOf(file, e.pos[0], e.pos[1]), Severity.Error, Codes.yamlSyntax, firstLine(e.message)));
      if (out.length >= max) break;
    }
    if (pd.doc.errors.length) continue;
    if (pd.conversionError) {
      out.push(diag(rangeOf(file, pd.start, pd.start), Severity.Error, Codes.aliasLimit, `Document not analysed: ${firstLine(pd.conversionError)}`));
      continue;
    }
    const schema: Diagnostic[] = [];
    let entry: SchemaEntry | undefined;
    runCheck(file, pd.start, 'the schema check', schema, () => {
      entry = schemaFor(pd.apiVersion, pd.kind, file.uri, pd.value);
      if (entry) schema.push(...schemaDiagnostics(file, pd, entry));
    }, opts.log);
    out.push(...schema);
    if (!entry) continue;
    const kyverno: Diagnostic[] = [];
    runCheck(file, pd.start, 'the Kyverno checks', kyverno, () => kyverno.push(...checkKyvernoDocument(file, pd, opts.log, opts.resourceSchemas)), opts.log);
    const shown = [...schema, ...withoutSchemaRepeats(kyverno, schema)];
    out.push(...shown.slice(schema.length));
    const admission: Diagnostic[] = [];
    runCheck(file, pd.start, 'the admission checks', admission, () => admission.push(...admissionDiagnostics(file, pd)), opts.log);
    out.push(...withoutRepeats(admission, shown));
  }
  return out.slice(0, max);
}

/**
 * What Kyverno's admission webhook would refuse in this document, each error at the value at
 * fault: the verdict the webhook aggregates into its answer and the CLI prints (engine
 * admissionVerdict), with the cluster's view of kinds (the known-kinds table), since a
 * policy is written to be admitted by a cluster. A CEL compile error is left to the CEL check,
 * which shows it inside the expression.
 */
function admissionDiagnostics(file: ParsedFile, pd: ParsedDocument): Diagnostic[] {
  if (!isJsonObject(pd.value)) return [];
  const verdict = admissionVerdict(pd.value, { compileCel: false });
  return (verdict?.errors ?? []).map((e) => diag(rangeForPath(file, pd, [...e.path]), Severity.Error, Codes.admissionRejected, e.message));
}

/**
 * Kyverno-worded podSecurity problems the CRD schema already reported at the same place
 * (e.g. a level outside the enum) would say the same thing twice.
 */
function withoutSchemaRepeats(kyverno: Diagnostic[], schema: Diagnostic[]): Diagnostic[] {
  if (!schema.length) return kyverno;
  const at = (d: Diagnostic) => `${d.range.start.line}:${d.range.start.character}`;
  const taken = new Set(schema.map(at));
  return kyverno.filter((d) => d.code !== Codes.podSecurity || !taken.has(at(d)));
}

function firstLine(s: string): string {
  return s.split('\n')[0];
}

function hasNullField(v: unknown, depth = 0): boolean {
  if (depth > 200 || !v || typeof v !== 'object') return false;
  if (Array.isArray(v)) return v.some((x) => hasNullField(x, depth + 1));
  for (const x of Object.values(v)) if (x === null || hasNullField(x, depth + 1)) return true;
  return false;
}

/** Kubernetes drops null fields before validating (a bare `key:` is "unset"). */
function pruneNulls(v: unknown, depth = 0): unknown {
  if (depth > 200 || !v || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => pruneNulls(x, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = pruneNulls(x, depth + 1);
  return out;
}

function schemaDiagnostics(file: ParsedFile, pd: ParsedDocument, entry: SchemaEntry): Diagnostic[] {
  const validate = validatorFor(entry);
  if (!validate) return [];
  const hasNulls = hasNullField(pd.value);
  const out: Diagnostic[] = hasNulls ? nullDiagnostics(file, pd, entry) : [];
  const data = hasNulls ? pruneNulls(pd.value) : pd.value;
  if (validate(data)) return out;
  const seen = new Set<string>();
  for (const e of validate.errors ?? []) {
    // anyOf/oneOf/not summaries repeat what their branches said or carry no location.
    if (e.keyword === 'anyOf' || e.keyword === 'oneOf' || e.keyword === 'if') continue;
    const path = pointerToPath(e.instancePath, data);
    const id = `${e.instancePath}|${e.keyword}|${JSON.stringify(e.params)}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const where = path.length ? path.join('.') : '(document)';
    switch (e.keyword) {
      case 'additionalProperties': {
        const name = String(e.params.additionalProperty);
        const parent = subSchema(documentedSchema(entry), path);
        const guess = parent ? closest(name, Object.keys(propertiesOf(parent))) : undefined;
        out.push(
          diag(rangeForPath(file, pd, [...path, name], 'key'), Severity.Error, Codes.unknownField,
            `Unknown field '${name}' in ${where}.${guess ? ` Did you mean '${guess}'?` : ''}`),
        );
        break;
      }
      case 'required':
        out.push(
          diag(rangeForPath(file, pd, path, 'key'), Severity.Error, Codes.missingRequired,
            `Missing required field '${e.params.missingProperty}' in ${where}.`),
        );
        break;
      case 'type':
        out.push(diag(rangeForPath(file, pd, path), Severity.Error, Codes.wrongType, `${where}: expected ${e.params.type}, got ${typeName(get(data, path))}.`));
        break;
      case 'enum':
        out.push(
          diag(rangeForPath(file, pd, path), Severity.Error, Codes.badEnum,
            `${where}: value ${JSON.stringify(get(data, path))} is not one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}.`),
        );
        break;
      case 'not':
        out.push(diag(rangeForPath(file, pd, path, 'key'), Severity.Error, Codes.schemaOther, `${where}: ${notMessage(entry, path)}`));
        break;
      default:
        out.push(diag(rangeForPath(file, pd, path), Severity.Error, Codes.schemaOther, `${where}: ${e.message ?? e.keyword}.`));
    }
  }
  return out;
}

/**
 * A `null` where the schema wants a typed value is legal YAML that Kubernetes prunes before
 * validation: say so at the value (the field silently counts as unset), as a Warning.
 */
function nullDiagnostics(file: ParsedFile, pd: ParsedDocument, entry: SchemaEntry): Diagnostic[] {
  const out: Diagnostic[] = [];
  const root = documentedSchema(entry);
  const walk = (v: unknown, path: JsonPath, depth: number) => {
    if (depth > 200 || out.length > 100) return;
    if (v === null) {
      const s = subSchema(root, path) as { type?: unknown; nullable?: boolean; 'x-kubernetes-preserve-unknown-fields'?: boolean } | undefined;
      if (s && s.type && !s.nullable && !s['x-kubernetes-preserve-unknown-fields']) {
        out.push(diag(rangeForPath(file, pd, path), Severity.Warning, Codes.nullValue,
          `${path.join('.')} is null: Kubernetes drops null fields, so this is the same as leaving it out.`));
      }
      return;
    }
    // A null list item is not pruned: the schema check reports its type.
    if (Array.isArray(v)) v.forEach((x, i) => x !== null && walk(x, [...path, i], depth + 1));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...path, k], depth + 1);
  };
  walk(pd.value, [], 0);
  return out;
}

/** CRDs use `not: {required: [a, b]}` to say "a and b are mutually exclusive". */
function notMessage(entry: SchemaEntry, path: JsonPath): string {
  const s = subSchema(documentedSchema(entry), path) as { not?: { required?: string[] } } | undefined;
  const req = s?.not?.required;
  return req ? `'${req.join("' and '")}' cannot be used together.` : 'value is not allowed here.';
}

function get(data: unknown, path: JsonPath): unknown {
  let cur = data;
  for (const s of path) cur = cur && typeof cur === 'object' ? (cur as Record<string | number, unknown>)[s] : undefined;
  return cur;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}
