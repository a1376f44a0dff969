/**
 * What a CustomResourceDefinition says of the kind it defines: its group, kind, plural and
 * each version's openAPIV3Schema. One reader for the language server's workspace CRDs
 * (completion, hover, unknown fields) and the CEL type check of validate.cel (a cluster's
 * CRDs, read by the webhook's primary). Plain data, so it crosses process boundaries.
 */
import { asArray, asObject } from '../core/json';

export interface CrdSchema {
  group: string;
  kind: string;
  plural: string;
  /** `spec.scope` is not `Cluster`. */
  namespaced?: boolean;
  /**
   * Each version and its openAPIV3Schema (absent: no schema). `served: false` marks a version
   * the API server does not serve (nor publish in its OpenAPI); absent counts as served.
   */
  versions: Array<{ name: string; schema: unknown; served?: boolean }>;
  /**
   * The API server found the schemas not structural (its NonStructuralSchema condition, on CRDs
   * from before apiextensions v1): it publishes such a kind as a bare object.
   */
  nonStructural?: boolean;
}

/** An apiextensions.k8s.io/v1 CustomResourceDefinition's kind and per-version schemas; undefined for anything else. */
export function crdSchemaOf(value: unknown): CrdSchema | undefined {
  const v = asObject(value);
  if (v.apiVersion !== 'apiextensions.k8s.io/v1' || v.kind !== 'CustomResourceDefinition') return undefined;
  const spec = asObject(v.spec);
  const names = asObject(spec.names);
  if (typeof spec.group !== 'string' || typeof names.kind !== 'string' || !names.kind) return undefined;
  const versions: CrdSchema['versions'] = [];
  for (const ver of asArray(spec.versions)) {
    const o = asObject(ver);
    if (typeof o.name === 'string') versions.push({ name: o.name, schema: asObject(o.schema).openAPIV3Schema, ...(o.served === false ? { served: false } : {}) });
  }
  const nonStructural = asArray(asObject(v.status).conditions).some((c) => asObject(c).type === 'NonStructuralSchema' && asObject(c).status === 'True');
  return { group: spec.group, kind: names.kind, plural: typeof names.plural === 'string' ? names.plural : '', namespaced: spec.scope !== 'Cluster', versions, ...(nonStructural ? { nonStructural } : {}) };
}
