/**
 * The generated CRD schemas: which one applies to a document, its ajv validator (compiled
 * at generation time) and its documented JSON Schema (read lazily, for hover/completion).
 */
import { readSchemaFile } from './schema-files';
import * as validators from '../generated/validators';
import type { Validator } from '../generated/validators';
import schemaIndex from '../generated/schema-index.json';
import type { JsonPath } from './documents';

export interface SchemaEntry {
  key: string; // group/version/Kind
  file: string;
  validator: string;
  scope?: string;
}

export type JsonSchema = {
  type?: string | string[];
  description?: string;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  enum?: unknown[];
  required?: string[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  title?: string;
};

const INDEX = schemaIndex as Record<string, { file: string; validator: string; scope?: string }>;

export function schemaKeys(): string[] {
  return Object.keys(INDEX);
}

/** Test/values files written before cli.kyverno.io existed carry no apiVersion/kind. */
export function schemaFor(apiVersion: string | undefined, kind: string | undefined, uri: string, value: unknown): SchemaEntry | undefined {
  if (apiVersion && kind) {
    const key = `${apiVersion}/${kind}`;
    const e = INDEX[key];
    return e ? { key, ...e } : undefined;
  }
  if (apiVersion || kind || !value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const name = fileName(uri);
  const v = value as Record<string, unknown>;
  if (name === 'kyverno-test.yaml' || name === 'kyverno-test.yml') return schemaFor('cli.kyverno.io/v1alpha1', 'Test', uri, null);
  if (/values\.ya?ml$/.test(name) && ('policies' in v || 'globalValues' in v || 'namespaceSelector' in v)) {
    return schemaFor('cli.kyverno.io/v1alpha1', 'Values', uri, null);
  }
  return undefined;
}

export function validatorFor(entry: SchemaEntry): Validator {
  return (validators as unknown as Record<string, Validator>)[entry.validator];
}

const cache = new Map<string, JsonSchema>();
export function documentedSchema(entry: SchemaEntry): JsonSchema {
  let s = cache.get(entry.file);
  if (!s) {
    s = readSchemaFile(entry.file) as JsonSchema;
    cache.set(entry.file, s);
  }
  return s;
}

/** The last segment of a URI's path, decoded (any scheme: file, vscode-vfs, untitled...). */
function fileName(uri: string): string {
  const path = uri.replace(/[?#].*$/s, '');
  const last = path.slice(path.lastIndexOf('/') + 1);
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

function branches(s: JsonSchema): JsonSchema[] {
  return [s, ...(s.allOf ?? []), ...(s.anyOf ?? []), ...(s.oneOf ?? [])];
}

/** The sub-schema at a JSON path (numbers and '[]' step into arrays). */
export function subSchema(root: JsonSchema, path: JsonPath): JsonSchema | undefined {
  let s: JsonSchema | undefined = root;
  for (const step of path) {
    if (!s) return undefined;
    let next: JsonSchema | undefined;
    for (const b of branches(s)) {
      if (typeof step === 'number' || step === '[]') next ??= b.items;
      else next ??= b.properties?.[step] ?? (typeof b.additionalProperties === 'object' ? b.additionalProperties : undefined);
    }
    s = next;
  }
  return s;
}

export function propertiesOf(s: JsonSchema): Record<string, JsonSchema> {
  const out: Record<string, JsonSchema> = {};
  for (const b of branches(s)) Object.assign(out, b.properties ?? {});
  return out;
}
