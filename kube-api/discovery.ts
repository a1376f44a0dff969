/** The kinds a cluster serves, read through discovery when the built-in table does not know them. */
import { knownKindTable, resolveKind, type KindTable } from '../engine/kube';
import type { KubeClient } from './client';
import { matchResourceDescriptions } from '../engine/policy';
import { generatedKinds } from '../engine/generate/kinds';
import { asObject } from '../engine/core/json';

type Json = Record<string, unknown>;

function kindsNamed(policies: Json[]): string[] {
  const out = new Set<string>();
  for (const p of policies) {
    const spec = (p.spec ?? {}) as Json;
    for (const rule of (Array.isArray(spec.rules) ? spec.rules : []) as Json[]) {
      for (const b of matchResourceDescriptions(asObject(rule))) for (const k of (Array.isArray(b.kinds) ? b.kinds : []) as unknown[]) out.add(String(k));
    }
  }
  return [...out];
}

/**
 * The well-known kinds (engine/kube), plus discovery when a policy names a kind outside them (a CRD kind):
 * then every served group version is read once, as Kyverno's discovery reads them
 * (ServerGroupsAndResources): a kind's entry has its preferred version first, the other served
 * versions, its scope and its subresources, so webhook rules can list them as Kyverno does.
 */
export async function kindTable(client: KubeClient, policies: Json[]): Promise<KindTable> {
  const table = knownKindTable();
  const unknown = [...kindsNamed(policies), ...generatedKinds(policies)].filter((k) => !resolveKind(k, table));
  if (unknown.length === 0) return table;
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
  const known = new Set([...table.values()].flat());
  groupVersions.forEach((gv, i) => {
    const [group, version] = gv.includes('/') ? gv.split('/') : ['', gv];
    const resources = lists[i].resources ?? [];
    for (const r of resources) {
      if (r.name.includes('/')) continue;
      const entries = table.get(r.kind) ?? [];
      table.set(r.kind, entries);
      const entry = entries.find((e) => e.group === group);
      // The built-in table describes the well-known kinds already.
      if (entry && known.has(entry)) continue;
      const subresources = resources.filter((s) => s.name.startsWith(`${r.name}/`)).map((s) => s.name.slice(r.name.length + 1));
      if (!entry) {
        entries.push({ group, version, resource: r.name, namespaced: r.namespaced !== false, subresources });
      } else if (entry.version !== version && !(entry.otherVersions ?? []).includes(version)) {
        entry.otherVersions = [...(entry.otherVersions ?? []), version];
        entry.subresources = [...new Set([...(entry.subresources ?? []), ...subresources])];
      }
    }
  });
  return table;
}
