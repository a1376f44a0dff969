/**
 * Known resources read the way an API server serves them (the Kyverno CLI builds a fake one
 * from a test's resources): objects are addressed by apiVersion, resource (the plural name)
 * and namespace. Shared by classic `apiCall` entries and CEL's resource library.
 */
import type { JsonObject, ReadRefusal } from '../core/types';
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
  const { plurals, byType } = typeIndex(resources);
  if ([...plurals.entries()].some(([key, p]) => p === plural && key.slice(0, key.lastIndexOf('/')) === group)) return true;
  return [...byType.values()].some((objects) => groupOf(String(objects[0].apiVersion ?? '')) === group && resourceNameOf(objects[0], plurals) === plural);
}

interface TypeIndex {
  /** How many resources the index was built from: the lists only grow (inputs are added, never replaced). */
  length: number;
  plurals: Map<string, string>;
  /** Objects by `apiVersion|plural`, in the order of the list. */
  byType: Map<string, JsonObject[]>;
  /** The first CustomResourceDefinition of each `group/Kind`. */
  crds: Map<string, JsonObject>;
}

/**
 * The known resources by type, built once per list: the webhook's live context answers every
 * review's apiCall and resource-library reads from the same list of watched objects, which
 * would otherwise be scanned in full on each read.
 */
const TYPE_INDEXES = new WeakMap<readonly JsonObject[], TypeIndex>();

function typeIndex(resources: readonly JsonObject[]): TypeIndex {
  const known = TYPE_INDEXES.get(resources);
  if (known && known.length === resources.length) return known;
  const plurals = crdPlurals(resources);
  const byType = new Map<string, JsonObject[]>();
  const crds = new Map<string, JsonObject>();
  for (const r of resources) {
    if (r.kind === 'CustomResourceDefinition') {
      const spec = asObject(r.spec);
      const key = `${String(spec.group ?? '')}/${String(asObject(spec.names).kind ?? '')}`;
      if (!crds.has(key)) crds.set(key, r);
    }
    const key = `${String(r.apiVersion ?? '')}|${resourceNameOf(r, plurals)}`;
    const list = byType.get(key);
    if (list) list.push(r);
    else byType.set(key, [r]);
  }
  const index = { length: resources.length, plurals, byType, crds };
  TYPE_INDEXES.set(resources, index);
  return index;
}

/** The CustomResourceDefinition among the known resources that declares `group`'s `kind`. */
export function crdOf(resources: readonly JsonObject[], group: string, kind: string): JsonObject | undefined {
  return typeIndex(resources).crds.get(`${group}/${kind}`);
}

/** Objects of one apiVersion and resource; `resource` may carry a subresource (`pods/status`). */
export function objectsOfType(resources: readonly JsonObject[], apiVersion: string, resource: string): readonly JsonObject[] {
  return typeIndex(resources).byType.get(`${apiVersion}|${resource.split('/')[0]}`) ?? [];
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

/** An API path's parts: `/api/v1/...` or `/apis/<group>/<version>/...`, then a namespace, a resource and a name. */
export interface ApiPathParts {
  group: string;
  version: string;
  namespace?: string;
  resource?: string;
  name?: string;
}

/** The parts of an API path (its query left out), undefined when it is no resource path. */
export function parseApiPath(urlPath: string): ApiPathParts | undefined {
  const q = urlPath.indexOf('?');
  const parts = (q >= 0 ? urlPath.slice(0, q) : urlPath).split('/').filter(Boolean);
  let group = '';
  let version: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) {
    version = parts[1];
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1];
    version = parts[2];
    rest = parts.slice(3);
  } else return undefined;
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  if (rest.length > 2) return undefined;
  const [resource, name] = rest;
  return { group, version, namespace, resource, name };
}

/**
 * The API server's message when it refused a read covering this GET (a list of the resource, in
 * every namespace or this one, or this very object), else undefined. One answer for every
 * reader: classic `apiCall` entries (and GlobalContextEntry ones), CEL's resource library.
 */
export function readRefusal(refusals: readonly ReadRefusal[] | undefined, group: string, resource: string, namespace: string, name?: string): string | undefined {
  if (!refusals?.length) return undefined;
  const found = refusals.find((r) => r.group === group && r.resource === resource && (r.namespace === undefined || r.namespace === namespace) && (r.name === undefined || r.name === name));
  return found?.message;
}

/** The refusal covering an API path's GET. */
export function pathRefusal(refusals: readonly ReadRefusal[] | undefined, urlPath: string): string | undefined {
  const p = parseApiPath(urlPath);
  return p?.resource === undefined ? undefined : readRefusal(refusals, p.group, p.resource, p.namespace ?? '', p.name);
}
