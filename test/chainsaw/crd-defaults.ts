/**
 * The API server's structural defaulting for the bundled Kyverno CRDs (apiextensions'
 * structuraldefaulting): when a request is decoded, every property that a CRD schema gives a
 * `default` and the object lacks is filled in, inside objects that are present (array items
 * and map values included), before admission sees the object. The offline runner's store
 * stands in for that API server, so policies reach our webhook and controllers as they would
 * in a cluster (e.g. `skipBackgroundRequests: true`, `validationFailureAction: Audit`). The same
 * schemas refuse what the API server refuses (crdValidationError: required fields, enums).
 */
import { crdIndex, loadCrd } from '../../deploy/crds';
import { asArray, asObject, isJsonObject } from '../../engine/core/json';
import type { JsonObject } from '../../engine/core/types';

type Schema = Record<string, unknown>;

let schemas: Map<string, Schema> | undefined;

/** The openAPIV3Schema of each served version, by `group/version/Kind`. */
function schemaTable(): Map<string, Schema> {
  if (schemas) return schemas;
  schemas = new Map();
  for (const entry of crdIndex()) {
    const crd = loadCrd(entry);
    for (const v of asArray(asObject(crd.spec).versions).map(asObject)) {
      const schema = asObject(asObject(v.schema).openAPIV3Schema);
      schemas.set(`${entry.group}/${String(v.name)}/${entry.kind}`, schema);
    }
  }
  return schemas;
}

function defaulted(value: unknown, schema: Schema): unknown {
  if (Array.isArray(value)) {
    const items = asObject(schema.items);
    return Object.keys(items).length ? value.map((v) => defaulted(v, items)) : value;
  }
  if (!isJsonObject(value)) return value;
  const properties = asObject(schema.properties);
  const additional = isJsonObject(schema.additionalProperties) ? schema.additionalProperties : undefined;
  const out: JsonObject = {};
  for (const [key, v] of Object.entries(value)) {
    const sub = isJsonObject(properties[key]) ? properties[key] : additional;
    out[key] = sub ? defaulted(v, sub) : v;
  }
  for (const [key, sub] of Object.entries(properties)) {
    if (out[key] !== undefined || !isJsonObject(sub) || sub.default === undefined) continue;
    // A default is itself defaulted (structuraldefaulting runs to a fixed point).
    out[key] = defaulted(structuredClone(sub.default), sub);
  }
  return out;
}

/**
 * The schema of `doc`'s kind and version: a bundled Kyverno CRD's, else that of a CRD stored in
 * the cluster (`crds`: the CustomResourceDefinitions the scenario applied).
 */
function schemaOf(doc: JsonObject, crds: readonly JsonObject[]): Schema | undefined {
  const apiVersion = String(doc.apiVersion ?? '');
  const bundled = schemaTable().get(`${apiVersion}/${String(doc.kind ?? '')}`);
  if (bundled) return bundled;
  const slash = apiVersion.lastIndexOf('/');
  const [group, version] = slash < 0 ? ['', apiVersion] : [apiVersion.slice(0, slash), apiVersion.slice(slash + 1)];
  for (const crd of crds) {
    const spec = asObject(crd.spec);
    if (spec.group !== group || asObject(spec.names).kind !== doc.kind) continue;
    const served = asArray(spec.versions).map(asObject).find((v) => v.name === version);
    const schema = asObject(asObject(served?.schema).openAPIV3Schema);
    if (Object.keys(schema).length) return schema;
  }
  return undefined;
}

/** `doc` with its CRD's defaults filled in; unchanged when no CRD (bundled, or among `crds`) defines its kind. */
export function withCrdDefaults(doc: JsonObject, crds: readonly JsonObject[] = []): JsonObject {
  const schema = schemaOf(doc, crds);
  return schema ? (defaulted(doc, schema) as JsonObject) : doc;
}

/** Go's %q of a string, as the API server's field errors quote values. */
const quoted = (s: string) => JSON.stringify(s);

/** The schema's `required` and string `enum` checks on a value, as field errors (`path: Required value`). */
function schemaErrors(value: unknown, schema: Schema, path: string, out: string[]): void {
  if (value === null || value === undefined) return;
  const values = asArray(schema.enum);
  if (values.length && typeof value === 'string' && !values.includes(value)) {
    out.push(`${path}: Unsupported value: ${quoted(value)}: supported values: ${values.map((v) => quoted(String(v))).join(', ')}`);
  }
  if (Array.isArray(value)) {
    const items = asObject(schema.items);
    if (Object.keys(items).length) value.forEach((v, i) => schemaErrors(v, items, `${path}[${i}]`, out));
    return;
  }
  if (!isJsonObject(value)) return;
  const properties = asObject(schema.properties);
  for (const key of asArray(schema.required)) {
    if (typeof key === 'string' && value[key] === undefined) out.push(`${path ? `${path}.` : ''}${key}: Required value`);
  }
  const additional = isJsonObject(schema.additionalProperties) ? schema.additionalProperties : undefined;
  for (const [key, v] of Object.entries(value)) {
    const sub = isJsonObject(properties[key]) ? properties[key] : additional;
    if (sub) schemaErrors(v, sub, additional && !isJsonObject(properties[key]) ? `${path}[${key}]` : `${path ? `${path}.` : ''}${key}`, out);
  }
}

/**
 * The API server's validation of a custom resource against its CRD's schema (bundled, or among
 * `crds`), for what the scenarios rely on (a missing required field, a value outside an enum),
 * as the Invalid error's message: `The <Kind> "<name>" is invalid: <error>` (several:
 * `[e1, e2]`). Undefined when valid or when no CRD defines the kind.
 */
export function crdValidationError(doc: JsonObject, crds: readonly JsonObject[] = []): string | undefined {
  const schema = schemaOf(doc, crds);
  if (!schema) return undefined;
  const errors: string[] = [];
  // metadata is the API server's own (ObjectMeta validation), not the CRD schema's.
  schemaErrors({ ...doc, metadata: undefined }, { ...schema, properties: { ...asObject(schema.properties), metadata: {} } }, '', errors);
  if (!errors.length) return undefined;
  return `The ${String(doc.kind)} ${quoted(String(asObject(doc.metadata).name ?? ''))} is invalid: ${errors.length === 1 ? errors[0] : `[${errors.join(', ')}]`}`;
}
