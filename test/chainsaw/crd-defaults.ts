/**
 * The API server's structural defaulting for the bundled Kyverno CRDs (apiextensions'
 * structuraldefaulting): when a request is decoded, every property that a CRD schema gives a
 * `default` and the object lacks is filled in, inside objects that are present (array items
 * and map values included), before admission sees the object. The offline runner's store
 * stands in for that API server, so policies reach our webhook and controllers as they would
 * in a cluster (e.g. `skipBackgroundRequests: true`, `validationFailureAction: Audit`).
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

/** `doc` with its CRD's defaults filled in; unchanged when no bundled CRD defines its kind. */
export function withCrdDefaults(doc: JsonObject): JsonObject {
  const schema = schemaTable().get(`${String(doc.apiVersion ?? '')}/${String(doc.kind ?? '')}`);
  return schema ? (defaulted(doc, schema) as JsonObject) : doc;
}
