/**
 * Resource comparison as `kyverno test` does it for patchedResources/generatedResource:
 * both sides are "tidied" (nulls, empty maps and empty lists dropped, recursively), the
 * generate bookkeeping labels are normalised, then they must be equal (a JSON merge patch
 * between them is empty).
 */
import type { JsonObject } from '../core/types';
import { isObject } from '../loader/classify';
import { jsonEqual } from '../core/json';

export function tidy(value: unknown): unknown {
  if (Array.isArray(value)) {
    const out = value.map(tidy).filter((v) => v !== undefined);
    return out.length === 0 ? undefined : out;
  }
  if (isObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const t = tidy(v);
      if (t !== undefined) out[k] = t;
    }
    return Object.keys(out).length === 0 ? undefined : out;
  }
  return value === null ? undefined : value;
}

/** Generated resources carry Kyverno's own labels; the CLI sets them the same on both sides. */
export function fixupGenerateLabels(resource: JsonObject): JsonObject {
  const copy = structuredClone(resource);
  const meta: Record<string, unknown> = isObject(copy.metadata) ? copy.metadata : (copy.metadata = {});
  const labels: Record<string, unknown> = { 'app.kubernetes.io/managed-by': 'kyverno' };
  if (isObject(meta.labels)) {
    for (const [k, v] of Object.entries(meta.labels)) if (!k.startsWith('generate.kyverno.io/')) labels[k] = v;
  }
  meta.labels = labels;
  return copy;
}

export function resourcesEqual(actual: JsonObject, expected: JsonObject): boolean {
  return jsonEqual(tidy(fixupGenerateLabels(actual)), tidy(fixupGenerateLabels(expected)));
}

export interface Identity {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
}

export function identityOf(resource: JsonObject): Identity {
  const meta = isObject(resource.metadata) ? resource.metadata : {};
  return {
    apiVersion: String(resource.apiVersion ?? ''),
    kind: String(resource.kind ?? ''),
    namespace: typeof meta.namespace === 'string' ? meta.namespace : '',
    name: typeof meta.name === 'string' ? meta.name : '',
  };
}

export function resourceKey(id: Identity): string {
  return `${id.apiVersion},${id.kind},${id.namespace},${id.name}`;
}

export function displayName(id: Identity): string {
  return id.namespace ? `${id.namespace}/${id.name}` : id.name;
}

/** The document of a manifest that describes the same object as `actual`. */
export function findInManifest(docs: JsonObject[], actual: JsonObject): JsonObject | undefined {
  const want = identityOf(actual);
  return docs.find((d) => {
    const id = identityOf(d);
    return id.apiVersion === want.apiVersion && id.kind === want.kind && id.name === want.name && id.namespace === want.namespace;
  });
}
