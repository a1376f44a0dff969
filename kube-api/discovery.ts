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
 * then every preferred group version is read once.
 */
export async function kindTable(client: KubeClient, policies: Json[]): Promise<KindTable> {
  const table = knownKindTable();
  const unknown = [...kindsNamed(policies), ...generatedKinds(policies)].filter((k) => !resolveKind(k, table));
  if (unknown.length === 0) return table;
  const groups = await client.request<{ groups?: Array<{ name: string; preferredVersion?: { groupVersion: string } }> }>({ method: 'GET', path: '/apis' });
  const versions = ['v1', ...(groups.groups ?? []).map((g) => g.preferredVersion?.groupVersion).filter((v): v is string => !!v)];
  await Promise.all(
    versions.map(async (gv) => {
      const path = gv.includes('/') ? `/apis/${gv}` : `/api/${gv}`;
      let list: { resources?: Array<{ name: string; kind: string }> };
      try {
        list = await client.request({ method: 'GET', path });
      } catch {
        return; // an unavailable aggregated API must not stop the deploy
      }
      const [group, version] = gv.includes('/') ? gv.split('/') : ['', gv];
      for (const r of list.resources ?? []) {
        const sub = r.name.includes('/');
        const kind = r.kind;
        if (sub) continue;
        const entries = table.get(kind) ?? [];
        if (!entries.some((e) => e.group === group)) entries.push({ group, version, resource: r.name });
        table.set(kind, entries);
      }
    }),
  );
  return table;
}

