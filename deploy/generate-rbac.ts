/**
 * What the webhook's service account must be allowed to write for the deployed policies'
 * generate rules (Kyverno asks the same of its background controller's role): the kinds
 * those rules create, clone or cloneList, resolved to API groups and resources.
 */
import { resolveKind, type KindTable } from '../engine/kube';
import { generatedKinds } from '../engine/generate/kinds';

export { generatedKinds } from '../engine/generate/kinds';
import { asObject } from '../engine/core/json';

type Json = Record<string, unknown>;

/** ClusterRole rules granting create/update/patch/delete on those kinds (one per API group). */
export function generateRbacRules(policies: Json[], kinds: KindTable): Json[] {
  const byGroup = new Map<string, Set<string>>();
  for (const spec of generatedKinds(policies)) {
    for (const r of resolveKind(spec, kinds) ?? []) {
      const resources = byGroup.get(r.group) ?? new Set<string>();
      resources.add(r.resource);
      byGroup.set(r.group, resources);
    }
  }
  return [...byGroup]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([group, resources]) => ({ apiGroups: [group], resources: [...resources].sort(), verbs: ['create', 'update', 'patch', 'delete'] }));
}
