/**
 * Known resources read the way an API server serves them (the Kyverno CLI builds a fake one
 * from a test's resources): objects are addressed by apiVersion, resource (the plural name)
 * and namespace. Shared by classic `apiCall` entries and CEL's resource library.
 */
import type { JsonObject } from '../core/types';
import { asObject } from '../core/json';
import { KNOWN_KINDS, pluralOf } from '../kube/known-kinds';

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash >= 0 ? apiVersion.slice(0, slash) : '';
}

export function metadataOf(r: JsonObject): JsonObject {
  return asObject(r.metadata);
}

/** Plural names that CustomResourceDefinitions among the known resources declare, by `group/Kind`. */
function crdPlurals(resources: readonly JsonObject[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of resources) {
    if (r.kind !== 'CustomResourceDefinition') continue;
    const spec = asObject(r.spec);
    const names = asObject(spec.names);
    if (typeof names.kind === 'string' && typeof names.plural === 'string') out.set(`${String(spec.group ?? '')}/${names.kind}`, names.plural);
  }
  return out;
}

/** The resource (plural) name an object is served under. */
export function resourceNameOf(r: JsonObject, plurals: Map<string, string> = new Map()): string {
  const group = groupOf(String(r.apiVersion ?? ''));
  const kind = String(r.kind ?? '');
  return plurals.get(`${group}/${kind}`) ?? pluralOf(group, kind);
}

/**
 * Whether the API server serves `plural` in `group`: a well-known resource, one declared by a
 * CustomResourceDefinition among the known resources, or the resource of a known object. An
 * API server answers anything else with 404 (the server could not find the requested resource).
 */
export function isServedResource(resources: readonly JsonObject[], group: string, plural: string): boolean {
  if (KNOWN_KINDS.some((k) => k.group === group && k.plural === plural)) return true;
  const plurals = crdPlurals(resources);
  if ([...plurals.entries()].some(([key, p]) => p === plural && key.slice(0, key.lastIndexOf('/')) === group)) return true;
  return resources.some((r) => groupOf(String(r.apiVersion ?? '')) === group && resourceNameOf(r, plurals) === plural);
}

/** Objects of one apiVersion and resource; `resource` may carry a subresource (`pods/status`). */
export function objectsOfType(resources: readonly JsonObject[], apiVersion: string, resource: string): JsonObject[] {
  const plural = resource.split('/')[0];
  const plurals = crdPlurals(resources);
  return resources.filter((r) => String(r.apiVersion ?? '') === apiVersion && resourceNameOf(r, plurals) === plural);
}

/** The object's namespace as stored: '' for objects without one. */
export function namespaceOf(r: JsonObject): string {
  const ns = metadataOf(r).namespace;
  return typeof ns === 'string' ? ns : '';
}

/** GET of one object: `namespace` '' addresses objects stored without a namespace. */
export function apiServerGet(resources: readonly JsonObject[], apiVersion: string, resource: string, namespace: string, name: string): JsonObject | undefined {
  return objectsOfType(resources, apiVersion, resource).find((r) => namespaceOf(r) === namespace && metadataOf(r).name === name);
}

function labelsMatch(r: JsonObject, selector: Record<string, string> | undefined): boolean {
  if (!selector) return true;
  const labels = asObject(metadataOf(r).labels);
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

function byNamespaceAndName(a: JsonObject, b: JsonObject): number {
  const ka = `${namespaceOf(a)}/${String(metadataOf(a).name ?? '')}`;
  const kb = `${namespaceOf(b)}/${String(metadataOf(b).name ?? '')}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/**
 * LIST of a resource type: every namespace when `namespace` is '', objects whose labels hold
 * every pair of `labels` (an equality selector), sorted by namespace and name as a server
 * returns them. The list kind is the items' kind + `List`.
 */
export function apiServerList(
  resources: readonly JsonObject[], apiVersion: string, resource: string, namespace: string, labels?: Record<string, string>,
): JsonObject {
  const ofType = objectsOfType(resources, apiVersion, resource);
  const items = ofType.filter((r) => (namespace === '' || namespaceOf(r) === namespace) && labelsMatch(r, labels)).sort(byNamespaceAndName);
  const plural = resource.split('/')[0];
  const kind = ofType[0]?.kind ?? plural.charAt(0).toUpperCase() + plural.slice(1);
  return { apiVersion, kind: `${String(kind)}List`, metadata: {}, items };
}
