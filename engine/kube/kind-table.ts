/**
 * Kinds resolved to the API resources that serve them, for webhook rules, RBAC rules and
 * background scans: Kyverno's discovery FindResources over a kind selector. The table starts
 * from the well-known kinds (./known-kinds.ts); kube-api's discovery adds what a cluster
 * serves beyond them (CRDs).
 */
import { KNOWN_KINDS } from './known-kinds';
import { parseKindSelector } from './selectors';
import { wildcardMatch } from '../wildcard/wildcard';
import type { CrdSchema } from './crd';

export interface KindResource {
  group: string;
  /** The version a kind selector without one resolves to (the preferred one). */
  version: string;
  /** Plural, with "/sub" for a subresource. */
  resource: string;
  /** Other versions served: a selector naming one of them resolves to it. */
  otherVersions?: string[];
  /** Cluster-scoped when false; unknown (a kind discovery did not describe) counts as namespaced. */
  namespaced?: boolean;
  /** Its subresources (`status`, `scale`, `exec`…), without the parent's name. */
  subresources?: string[];
}

/** kind → every group serving it (several groups may use one kind name: Event). */
export type KindTable = Map<string, KindResource[]>;

/** A fresh table of the well-known kinds (callers add discovered kinds to it). */
let builtIn: KindTable | undefined;

/** The built-in table, built once, for readers that never change it (the engine's offline lookups). */
export function builtInKindTable(): KindTable {
  return (builtIn ??= knownKindTable());
}

export function knownKindTable(): KindTable {
  const table: KindTable = new Map();
  for (const k of KNOWN_KINDS) {
    const entries = table.get(k.kind) ?? [];
    entries.push({
      group: k.group,
      version: k.version,
      resource: k.plural,
      namespaced: k.namespaced,
      ...(k.otherVersions ? { otherVersions: [...k.otherVersions] } : {}),
      ...(k.subresources ? { subresources: [...k.subresources] } : {}),
    });
    table.set(k.kind, entries);
  }
  return table;
}

/**
 * The well-known kinds and these CRDs' kinds at their served versions (the first one listed
 * standing for the preferred), as discovery would describe them once the CRDs are installed:
 * the kind table of a workspace that declares CRDs. A kind the table has in the same group
 * keeps its entry.
 */
export function kindTableWith(crds: readonly CrdSchema[]): KindTable {
  const table = knownKindTable();
  for (const c of crds) {
    const versions = c.versions.filter((v) => v.served !== false).map((v) => v.name);
    if (!c.plural || versions.length === 0) continue;
    const entries = table.get(c.kind) ?? [];
    if (entries.some((e) => e.group === c.group)) continue;
    entries.push({ group: c.group, version: versions[0], resource: c.plural, namespaced: c.namespaced !== false, ...(versions.length > 1 ? { otherVersions: versions.slice(1) } : {}) });
    table.set(c.kind, entries);
  }
  return table;
}

/**
 * "Pod", "v1/Pod", "apps/v1/Deployment", "Pod/exec", "Pod.status", "*" → the resources
 * serving it, read as Kyverno reads kind selectors; undefined when the table knows none.
 */
export function resolveKind(spec: string, table: KindTable): Array<Omit<KindResource, 'otherVersions'>> | undefined {
  if (spec === '*' || spec === '*/*') return [{ group: '*', version: '*', resource: '*' }];
  const { group, version, kind, subresource } = parseKindSelector(spec);
  if (kind === '') return undefined;
  if (kind.includes('*')) return [{ group, version, resource: subresource ? `*/${subresource}` : '*' }];
  const found: Array<Omit<KindResource, 'otherVersions'>> = [];
  for (const r of table.get(kind) ?? []) {
    if (!wildcardMatch(group, r.group)) continue;
    const served = version === '*' ? r.version : [r.version, ...(r.otherVersions ?? [])].find((v) => wildcardMatch(version, v));
    if (served === undefined) continue;
    found.push({ group: r.group, version: served, resource: subresource ? `${r.resource}/${subresource}` : r.resource });
  }
  return found.length ? found : undefined;
}

/** One API resource a kind selector names, as Kyverno's discovery reports it. */
export interface ServedResource {
  group: string;
  version: string;
  resource: string;
  /** `` for the resource itself. */
  subresource: string;
  namespaced: boolean;
}

/**
 * Kyverno's dclient FindResources(group, version, kind, subresource): every served version of
 * every kind the (wildcard) parts match, not only the preferred one; with a subresource, only
 * the subresources whose `resource/sub` the pattern matches (`Pod/*`: each of pods'
 * subresources), except that `*` and `*` give the resources and their subresources. Webhook
 * rules list these exactly; `resolveKind` is the preferred-version reading the scans and RBAC use.
 */
export function findResources(table: KindTable, group: string, version: string, kind: string, subresource: string): ServedResource[] {
  const parents: Array<{ served: ServedResource; subresources: readonly string[] }> = [];
  // A kind without wildcards names one entry of the table: no walk over every kind.
  const named: Iterable<[string, readonly KindResource[]]> = /[*?]/.test(kind) ? table : [[kind, table.get(kind) ?? []]];
  for (const [name, entries] of named) {
    if (!wildcardMatch(kind, name)) continue;
    for (const e of entries) {
      if (!wildcardMatch(group, e.group)) continue;
      for (const v of [e.version, ...(e.otherVersions ?? [])]) {
        if (!wildcardMatch(version, v)) continue;
        parents.push({ served: { group: e.group, version: v, resource: e.resource, subresource: '', namespaced: e.namespaced !== false }, subresources: e.subresources ?? [] });
      }
    }
  }
  if (subresource === '') return parents.map((p) => p.served);
  const subs = parents.flatMap(({ served, subresources }) =>
    subresources.filter((sub) => wildcardMatch(`${served.resource}/${subresource}`, `${served.resource}/${sub}`)).map((sub) => ({ ...served, subresource: sub })),
  );
  return kind === '*' && subresource === '*' ? [...parents.map((p) => p.served), ...subs] : subs;
}

/** findResources over the built-in table: Kyverno's discovery answered offline (the engine's default, the editor's view). */
export function findBuiltInResources(group: string, version: string, kind: string, subresource: string): ServedResource[] {
  return findResources(builtInKindTable(), group, version, kind, subresource);
}
