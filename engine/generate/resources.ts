/**
 * The offline stand-in for the generate controller's client: looking up existing resources
 * among the ones the caller knows (test clusterResources/cloneSourceResource, the trigger).
 */
import type { JsonObject } from '../core/types';
import { labelSelectorMatches, type TargetSelector } from '../mutate/targets';

export const metaOf = (r: JsonObject): JsonObject => (r.metadata ?? {}) as JsonObject;
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

export interface ResourceRef {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
}

export const refText = (r: ResourceRef): string => `${r.apiVersion}/${r.kind}/${r.namespace}/${r.name}`;

/** Kyverno's GetKindFromGVK: "v1/Secret" or "apps/v1/Deployment" → apiVersion + kind; "Secret" → kind only. */
export function splitKind(spec: string): { apiVersion: string; kind: string } {
  const i = spec.lastIndexOf('/');
  return i < 0 ? { apiVersion: '', kind: spec } : { apiVersion: spec.slice(0, i), kind: spec.slice(i + 1) };
}

const sameType = (r: JsonObject, apiVersion: string, kind: string): boolean =>
  r.kind === kind && (apiVersion === '' || r.apiVersion === apiVersion);

/** GetResource: the resource with exactly this identity. */
export function getResource(resources: JsonObject[], ref: ResourceRef): JsonObject | undefined {
  return resources.find((r) => sameType(r, ref.apiVersion, ref.kind)
    && str(metaOf(r).name) === ref.name && str(metaOf(r).namespace) === ref.namespace);
}

/** ListResource: resources of a type in a namespace ("" = all), filtered by a label selector. */
export function listResources(
  resources: JsonObject[], apiVersion: string, kind: string, namespace: string, selector?: TargetSelector['selector'],
): JsonObject[] {
  return resources.filter((r) => sameType(r, apiVersion, kind)
    && (namespace === '' || str(metaOf(r).namespace) === namespace)
    && (!selector || labelSelectorMatches(selector, (metaOf(r).labels ?? {}) as Record<string, string>)));
}
