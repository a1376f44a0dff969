/**
 * Kinds resolved to the API resources that serve them, for webhook rules, RBAC rules and
 * background scans: Kyverno's discovery FindResources over a kind selector. The table starts
 * from the well-known kinds (./known-kinds.ts); kube-api's discovery adds what a cluster
 * serves beyond them (CRDs).
 */
import { KNOWN_KINDS } from './known-kinds';
import { parseKindSelector } from './selectors';
import { wildcardMatch } from '../wildcard/wildcard';

export interface KindResource {
  group: string;
  /** The version a kind selector without one resolves to (the preferred one). */
  version: string;
  /** Plural, with "/sub" for a subresource. */
  resource: string;
  /** Other versions served: a selector naming one of them resolves to it. */
  otherVersions?: string[];
}

/** kind → every group serving it (several groups may use one kind name: Event). */
export type KindTable = Map<string, KindResource[]>;

/** A fresh table of the well-known kinds (callers add discovered kinds to it). */
export function knownKindTable(): KindTable {
  const table: KindTable = new Map();
  for (const k of KNOWN_KINDS) {
    const entries = table.get(k.kind) ?? [];
    entries.push({ group: k.group, version: k.version, resource: k.plural, ...(k.otherVersions ? { otherVersions: [...k.otherVersions] } : {}) });
    table.set(k.kind, entries);
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
