/**
 * Kyverno's resource filters (the `resourceFilters` entry of its ConfigMap, pkg/config): an
 * admission request whose kind, namespace and name match one is answered "allowed" without
 * running any policy, as are requests for Kyverno's own report and update-request kinds
 * (pkg/webhooks/utils ExcludeKyvernoResources). Pure.
 *
 * Note: Kyverno does not filter its policy kinds themselves (its own filter tests keep
 * ClusterPolicy unfiltered); neither do we.
 */
import { parseKindSelector, type KindSelector } from '../engine/kube/selectors';
import { wildcardMatch } from '../engine/wildcard/wildcard';

export interface ResourceFilter extends KindSelector {
  namespace: string;
  name: string;
}

/**
 * The defaults of Kyverno's Helm chart (3.x) without the entries naming the chart's own
 * objects; `[*\/*,NS,*]` for our namespace takes their place, as `[*\/*,kyverno,*]` does there.
 */
export function defaultResourceFilters(ownNamespace: string): string {
  return [
    `[*/*,${ownNamespace},*]`,
    '[Event,*,*]',
    '[*/*,kube-system,*]',
    '[*/*,kube-public,*]',
    '[*/*,kube-node-lease,*]',
    '[Node,*,*]',
    '[Node/*,*,*]',
    '[APIService,*,*]',
    '[APIService/*,*,*]',
    '[TokenReview,*,*]',
    '[SubjectAccessReview,*,*]',
    '[SelfSubjectAccessReview,*,*]',
    '[Binding,*,*]',
    '[Pod/binding,*,*]',
    '[ReplicaSet,*,*]',
    '[ReplicaSet/*,*,*]',
    '[EphemeralReport,*,*]',
    '[ClusterEphemeralReport,*,*]',
  ].join('');
}

/** Kyverno's parseKinds: every `[Kind,Namespace,Name]` (namespace and name optional). */
export function parseResourceFilters(text: string): ResourceFilter[] {
  const out: ResourceFilter[] = [];
  for (const m of text.matchAll(/\[([^[\]]*)\]/g)) {
    const [kind = '', namespace = '', name = ''] = m[1].split(',');
    if (m[1].split(',').length > 3) continue;
    if (!kind) {
      out.push({ group: '', version: '', kind: '', subresource: '', namespace: '', name: '' });
      continue;
    }
    out.push({ ...parseKindSelector(kind), namespace, name });
  }
  return out;
}

/**
 * The namespaces the filters exclude whole: a `[*\/*,NS,*]` entry (every kind and subresource,
 * every name) with a literal namespace. No policy sees a request there, so the webhook
 * configurations may leave those namespaces out without changing an answer (configurations.ts).
 */
export function namespacesFilteredWhole(text: string): string[] {
  const out: string[] = [];
  for (const f of parseResourceFilters(text)) {
    const everyKind = f.group === '*' && f.version === '*' && f.kind === '*' && f.subresource === '*';
    if (everyKind && f.name === '*' && f.namespace && !/[*?]/.test(f.namespace) && !out.includes(f.namespace)) out.push(f.namespace);
  }
  return out;
}

/** Kinds Kyverno never evaluates (its reports and update requests). */
const KYVERNO_OWN_KINDS = new Set(['AdmissionReport', 'ClusterAdmissionReport', 'BackgroundScanReport', 'ClusterBackgroundScanReport', 'UpdateRequest']);

export interface FilteredRequest {
  group: string;
  version: string;
  kind: string;
  subresource: string;
  namespace: string;
  name: string;
}

// The filters whose kind parts select the last request's kind: requests come in runs of one
// kind, and most filters name other kinds, so most reviews compare no filter at all. A
// filter list is never changed in place (settings parse a new one).
let lastFilters: ResourceFilter[] | null = null;
let lastKind: Pick<FilteredRequest, 'group' | 'version' | 'kind' | 'subresource'> = { group: '', version: '', kind: '', subresource: '' };
let lastKindFilters: ResourceFilter[] = [];

function filtersForKind(filters: ResourceFilter[], r: FilteredRequest): ResourceFilter[] {
  const k = lastKind;
  if (filters === lastFilters && r.kind === k.kind && r.group === k.group && r.version === k.version && r.subresource === k.subresource) return lastKindFilters;
  lastKindFilters = filters.filter((f) => wildcardMatch(f.group, r.group) && wildcardMatch(f.version, r.version) && wildcardMatch(f.kind, r.kind) && wildcardMatch(f.subresource, r.subresource));
  lastFilters = filters;
  lastKind = { group: r.group, version: r.version, kind: r.kind, subresource: r.subresource };
  return lastKindFilters;
}

/** Kyverno's ToFilter plus ExcludeKyvernoResources: true when no policy should see the request. */
export function isFiltered(filters: ResourceFilter[], r: FilteredRequest): boolean {
  if (KYVERNO_OWN_KINDS.has(r.kind)) return true;
  const forKind = filtersForKind(filters, r);
  for (let i = 0; i < forKind.length; i++) {
    const f = forKind[i];
    if (wildcardMatch(f.namespace, r.namespace) && wildcardMatch(f.name, r.name)) return true;
    // [Namespace,kube-system,*] and [*,kube-system,*] also filter the Namespace kube-system itself.
    if (r.group === '' && r.version === 'v1' && r.kind === 'Namespace' && wildcardMatch(f.namespace, r.name)) return true;
  }
  return false;
}
