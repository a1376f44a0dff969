/** The kinds a cluster serves, read through discovery (the built-in table where discovery says nothing), and the schemas of its CRDs. */
import { crdSchemaOf, knownKindTable, type CrdSchema, type KindResource, type KindTable, type ServedResource } from '../engine/kube';
import { BUILT_IN_OBJECT_TYPES, celTypeCheckApplies } from '../engine/cel/type-check';
import type { JsonObject } from '../engine/core/types';
import type { KubeClient } from './client';

/**
 * The kinds the cluster serves, as Kyverno's discovery reads them (ServerGroupsAndResources):
 * every served group version is read, and a kind's entry has its preferred version first, the
 * other served versions, its scope and its subresources, so webhook rules list what the
 * cluster serves. Kyverno asks discovery for every kind, so the well-known kinds are described
 * by discovery too (the built-in table names pre-GA versions for some, e.g. IPAddress
 * v1beta1, that a newer cluster serves only at v1); the built-in table (engine/kube) stays
 * the answer for a kind discovery did not describe (a group whose discovery failed), as it is
 * offline. Each call reads all of discovery: long-lived callers use `discoveredKinds`.
 */
export async function kindTable(client: KubeClient): Promise<KindTable> {
  const table = knownKindTable();
  type GroupList = { groups?: Array<{ name: string; versions?: Array<{ groupVersion: string }>; preferredVersion?: { groupVersion: string } }> };
  const groups = await client.request<GroupList>({ method: 'GET', path: '/apis' });
  // Preferred version first, so it becomes the entry's version and the others its otherVersions.
  const groupVersions = [
    'v1',
    ...(groups.groups ?? []).flatMap((g) => {
      const preferred = g.preferredVersion?.groupVersion;
      const served = (g.versions ?? []).map((v) => v.groupVersion).filter((v) => v && v !== preferred);
      return preferred ? [preferred, ...served] : served;
    }),
  ];
  type ResourceList = { resources?: Array<{ name: string; kind: string; namespaced?: boolean }> };
  const lists = await Promise.all(
    groupVersions.map(async (gv) => {
      try {
        return await client.request<ResourceList>({ method: 'GET', path: gv.includes('/') ? `/apis/${gv}` : `/api/${gv}` });
      } catch {
        return {}; // an unavailable aggregated API must not stop the deploy
      }
    }),
  );
  // Built-in entries discovery has described already (their versions are discovery's from then on).
  const described = new Set<KindResource>();
  groupVersions.forEach((gv, i) => {
    const [group, version] = gv.includes('/') ? gv.split('/') : ['', gv];
    const resources = lists[i].resources ?? [];
    for (const r of resources) {
      if (r.name.includes('/')) continue;
      const entries = table.get(r.kind) ?? [];
      table.set(r.kind, entries);
      const entry = entries.find((e) => e.group === group);
      const subresources = resources.filter((s) => s.name.startsWith(`${r.name}/`)).map((s) => s.name.slice(r.name.length + 1));
      if (!entry) {
        const added: KindResource = { group, version, resource: r.name, namespaced: r.namespaced !== false, subresources };
        entries.push(added);
        described.add(added);
      } else if (!described.has(entry)) {
        // The first served version discovery reports (the preferred one) replaces the table's.
        entry.version = version;
        delete entry.otherVersions;
        entry.resource = r.name;
        entry.namespaced = r.namespaced !== false;
        entry.subresources = subresources;
        described.add(entry);
      } else if (entry.version !== version && !(entry.otherVersions ?? []).includes(version)) {
        entry.otherVersions = [...(entry.otherVersions ?? []), version];
        entry.subresources = [...new Set([...(entry.subresources ?? []), ...subresources])];
      }
    }
  });
  return table;
}

/**
 * The kind table as Kyverno's cached discovery client serves FindResources: read once, and
 * read again when a lookup finds nothing (a CRD installed since), at most once per
 * `minRefreshMs` so a stream of policies naming unknown kinds does not re-read every group.
 */
export function cachedKindTable(client: KubeClient, minRefreshMs = 5_000): { current(): Promise<KindTable>; afterMiss(): Promise<KindTable> } {
  let table: Promise<KindTable> | undefined;
  let readAt = 0;
  const read = (): Promise<KindTable> => {
    readAt = Date.now();
    const reading = kindTable(client);
    table = reading;
    // A failed read is not kept: the next lookup tries again.
    reading.catch(() => {
      if (table === reading) table = undefined;
    });
    return reading;
  };
  return {
    current: () => table ?? read(),
    afterMiss: () => (table && Date.now() - readAt < minRefreshMs ? table : read()),
  };
}

type DiscoveryCache = ReturnType<typeof cachedKindTable>;
const caches = new WeakMap<KubeClient, DiscoveryCache>();

/** The one cached kind table (cachedKindTable) of a client. */
export function discoveredKinds(client: KubeClient): DiscoveryCache {
  let cache = caches.get(client);
  if (!cache) caches.set(client, (cache = cachedKindTable(client)));
  return cache;
}

/**
 * `compute` over the client's cached kind table, computed again over a fresh read when
 * `missed` says the result names something the table did not know (a CRD installed since).
 */
export async function withDiscoveredKinds<T>(client: KubeClient, compute: (table: KindTable) => T, missed: (result: T) => boolean): Promise<T> {
  const cache = discoveredKinds(client);
  const first = compute(await cache.current());
  return missed(first) ? compute(await cache.afterMiss()) : first;
}

/**
 * The CRDs serving these resources, for the CEL type check of validate.cel: Kyverno's schema
 * resolver reads a custom resource's schema from the API server's /openapi/v3, which publishes
 * each CRD's served versions from the CRD itself; the CRD object is read instead (one GET by
 * its name, `<plural>.<group>`), since every API server with apiextensions.k8s.io/v1 serves it
 * and /openapi/v3 came later (engine/cel/type-check makes the builder's additions). Resources
 * with a bundled built-in type are not asked for. A resource no CRD serves (an aggregated
 * API's) or a CRD that cannot be read gives nothing: the type check then skips the kind, as
 * the TypeChecker skips a kind whose schema it cannot resolve.
 */
export async function crdSchemasServing(client: KubeClient, resources: Iterable<ServedResource>): Promise<CrdSchema[]> {
  const names = new Set<string>();
  for (const r of resources) {
    if (r.subresource || !r.group) continue;
    const builtIn = BUILT_IN_OBJECT_TYPES.kindsFor(r.group, r.version, r.resource).some((kind) => BUILT_IN_OBJECT_TYPES.objectType({ group: r.group, version: r.version, kind }));
    if (!builtIn) names.add(`${r.resource}.${r.group}`);
  }
  const read = await Promise.all([...names].map(async (name) => {
    try {
      return crdSchemaOf(await client.request({ method: 'GET', path: `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${encodeURIComponent(name)}` }));
    } catch {
      return undefined;
    }
  }));
  return read.filter((c): c is CrdSchema => c !== undefined);
}

/**
 * The CRDs the policy admission of `policy` types its custom resources with: those serving the
 * kinds discovery resolved (`kinds`, kindLookups' answers), read only when Kyverno type-checks
 * the policy (a classic policy whose one rule could be a ValidatingAdmissionPolicy).
 */
export async function crdSchemasForPolicy(client: KubeClient, policy: JsonObject, kinds: ReadonlyArray<[string, ServedResource[]]>): Promise<CrdSchema[]> {
  if (!celTypeCheckApplies(policy)) return [];
  return crdSchemasServing(client, kinds.flatMap(([, served]) => served));
}
