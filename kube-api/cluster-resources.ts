/**
 * `kyverno apply --cluster`: the resources the policies could apply to, read from the live
 * cluster as Kyverno's CLI does (cmd/cli/kubectl-kyverno/utils/common/fetch.go): the kinds
 * the policies match (autogen rules included; CEL policies' matchConstraints.resourceRules
 * mapped to kinds through discovery), found through discovery (every served group version,
 * wildcards allowed), listed in the namespace given (or all), optionally narrowed to names.
 */
import type { KubeClient } from './client';
import { computeRules } from '../engine/autogen';
import { parseKindSelector } from '../engine/kube/selectors';
import { matchResourceDescriptions, policySpec } from '../engine/policy';
import { asArray, asObject, isJsonObject } from '../engine/core/json';
import { wildcardMatch } from '../engine/wildcard/wildcard';

type Json = Record<string, unknown>;

/** One top-level resource a group version serves. */
export interface ServedResource {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  verbs: string[];
  /** Whether this version is the group's preferred one. */
  preferred: boolean;
}

interface GroupList {
  groups?: Array<{ name: string; versions?: Array<{ groupVersion: string; version: string }>; preferredVersion?: { version: string } }>;
}

/** Every top-level resource of every served group version (ServerGroupsAndResources). */
export async function servedResources(client: KubeClient): Promise<ServedResource[]> {
  const core = await client.request<{ versions?: string[] }>({ method: 'GET', path: '/api' });
  const groups = await client.request<GroupList>({ method: 'GET', path: '/apis' });
  const versions: Array<{ group: string; version: string; path: string; preferred: boolean }> = (core.versions ?? []).map((v) => ({ group: '', version: v, path: `/api/${v}`, preferred: true }));
  for (const g of groups.groups ?? []) {
    for (const v of g.versions ?? []) versions.push({ group: g.name, version: v.version, path: `/apis/${v.groupVersion}`, preferred: g.preferredVersion?.version === v.version });
  }
  const lists = await Promise.all(
    versions.map(async (v) => {
      try {
        const list = await client.request<{ resources?: Array<{ name: string; kind: string; namespaced: boolean; verbs?: string[] }> }>({ method: 'GET', path: v.path });
        return (list.resources ?? [])
          .filter((r) => !r.name.includes('/'))
          .map((r) => ({ group: v.group, version: v.version, kind: r.kind, plural: r.name, namespaced: r.namespaced, verbs: r.verbs ?? [], preferred: v.preferred }));
      } catch {
        // An unavailable aggregated API is skipped, as Kyverno logs and goes on.
        return [];
      }
    }),
  );
  return lists.flat();
}

/** The kind selectors and kind names a policy matches (fetch.go extractResourcesFromPolicies). */
export function policyKindSelectors(policy: Json, served: ServedResource[]): string[] {
  const spec = policySpec(policy);
  if (Array.isArray(spec.rules)) {
    // Classic policies: match kinds of every computed rule (exclude blocks are not read).
    return computeRules(policy).flatMap((rule) => matchResourceDescriptions(rule).flatMap((d) => asArray(d.kinds).map(String)));
  }
  if (policy.kind === 'CleanupPolicy' || policy.kind === 'ClusterCleanupPolicy') {
    const kinds = (block: unknown) => [...asArray(asObject(block).any), ...asArray(asObject(block).all)].flatMap((f) => asArray(asObject(asObject(f).resources).kinds).map(String));
    return [...kinds(spec.match), ...kinds(spec.exclude)];
  }
  // Admission-style policies: resourceRules to kinds (admissionpolicy.GetKinds); rules
  // without groups or versions are skipped.
  const out: string[] = [];
  for (const rule of asArray(asObject(spec.matchConstraints).resourceRules)) {
    if (!isJsonObject(rule)) continue;
    const groups = asArray(rule.apiGroups).map(String);
    const versions = asArray(rule.apiVersions).map(String);
    const resources = asArray(rule.resources).map(String).filter((r) => !r.includes('/'));
    for (const r of served) {
      if (groups.some((g) => g === '*' || g === r.group) && versions.some((v) => v === '*' || v === r.version) && resources.some((p) => p === '*' || p === r.plural)) out.push(r.kind);
    }
  }
  return out;
}

/** The served resources a kind selector names (FindResources; subresources are not listed). */
export function resourcesFor(selector: string, served: ServedResource[]): ServedResource[] {
  const s = parseKindSelector(selector);
  if (s.subresource !== '') return [];
  const found = served.filter((r) => wildcardMatch(s.group, r.group) && wildcardMatch(s.version, r.version) && wildcardMatch(s.kind, r.kind));
  // A kind served by several versions of a group is read once, in the preferred version.
  return found.filter((r) => r.preferred || !found.some((o) => o !== r && o.preferred && o.group === r.group && o.kind === r.kind));
}

export interface ClusterFetchOptions {
  /** `-n`: list namespaced kinds in this namespace only (cluster-scoped kinds then yield nothing). */
  namespace?: string;
  /** `--resource` names: keep only the objects so named (a path's base name, with or without extension). */
  names: string[];
  /** `--cluster-wide-resources`: cluster-scoped kinds only. */
  clusterWideOnly?: boolean;
}

export interface ClusterFetch {
  resources: Json[];
  /** Labels of the namespaces the resources live in (for namespaceSelector). */
  namespaceLabels: Record<string, Record<string, string>>;
  /** The first `--resource` name no object matched (Kyverno stops with "X not found in cluster"). */
  notFound?: string;
}

function baseNames(path: string): string[] {
  const base = path.split(/[\\/]/).pop() ?? path;
  const dot = base.lastIndexOf('.');
  return [path, base, dot > 0 ? base.slice(0, dot) : base];
}

export async function fetchClusterResources(client: KubeClient, policies: Json[], options: ClusterFetchOptions): Promise<ClusterFetch> {
  const served = await servedResources(client);
  const targets = new Map<string, ServedResource>();
  for (const policy of policies) {
    for (const selector of policyKindSelectors(policy, served)) {
      for (const r of resourcesFor(selector, served)) {
        if (options.clusterWideOnly && r.namespaced) continue;
        targets.set(`${r.group}/${r.version}/${r.kind}`, r);
      }
    }
  }
  // Keyed as Kyverno keys them (kind, namespace, name): one object per key.
  const byKey = new Map<string, Json>();
  for (const r of [...targets.values()].sort((a, b) => `${a.group}/${a.kind}`.localeCompare(`${b.group}/${b.kind}`))) {
    if (!r.verbs.includes('list')) continue;
    // A namespace on a cluster-scoped kind makes Kyverno's list request fail: nothing listed.
    if (options.namespace && !r.namespaced) continue;
    const apiVersion = r.group ? `${r.group}/${r.version}` : r.version;
    const base = r.group ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const ns = options.namespace ? `/namespaces/${encodeURIComponent(options.namespace)}` : '';
    let items: Json[];
    try {
      const list = await client.request<{ items?: Json[] }>({ method: 'GET', path: `${base}${ns}/${r.plural}` });
      items = list.items ?? [];
    } catch {
      continue; // as Kyverno: a kind that cannot be listed is skipped
    }
    for (const item of items) {
      const meta = asObject(item.metadata);
      byKey.set(`${r.kind}::${String(meta.namespace ?? '')}::${String(meta.name ?? '')}`, { apiVersion, kind: r.kind, ...item });
    }
  }
  const keys = [...byKey.keys()].sort();
  let resources: Json[];
  let notFound: string | undefined;
  if (options.names.length === 0) resources = keys.map((k) => byKey.get(k) as Json);
  else {
    resources = [];
    for (const name of options.names) {
      const accepted = baseNames(name);
      const found = keys.filter((k) => accepted.includes(k.split('::')[2]));
      if (found.length === 0) {
        notFound = name;
        break;
      }
      resources.push(...found.map((k) => byKey.get(k) as Json));
    }
  }
  const namespaceLabels: Record<string, Record<string, string>> = {};
  const namespaces = new Set(resources.map((r) => String(asObject(r.metadata).namespace ?? '')).filter((n) => n !== ''));
  if (namespaces.size > 0) {
    const list = await client.request<{ items?: Json[] }>({ method: 'GET', path: '/api/v1/namespaces' }).catch(() => ({ items: [] as Json[] }));
    for (const ns of list.items ?? []) {
      const meta = asObject(ns.metadata);
      const name = String(meta.name ?? '');
      if (namespaces.has(name)) namespaceLabels[name] = Object.fromEntries(Object.entries(asObject(meta.labels)).map(([k, v]) => [k, String(v)]));
    }
  }
  return { resources, namespaceLabels, notFound };
}
