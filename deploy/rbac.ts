/**
 * Least-privilege RBAC for the webhook's service account, derived from the policies the
 * cluster will run (those already installed plus those being deployed): read access to what
 * they match, reference (context configMap/apiCall entries, clone sources, CEL resource.*
 * calls with literal arguments) and report on; write access to what their generate rules
 * produce. A namespaced Policy gets a Role in its own namespace, never cluster-wide access.
 * Every derived grant keeps the policy that asked for it, so a deploy can say why.
 */
import { asArray, asObject } from '../engine/core/json';
import type { KindTable } from '../engine/kube';
import { ALL_CONFIGS, labels, MANAGED_BY_SELECTOR, WEBHOOK_NAME } from '../webhook/configurations';
import { LEASE_NAMES } from '../webhook/leader';
import { tlsSecretNames } from '../webhook/cert-renewer';
import { KYVERNO_CONFIG_MAP } from '../webhook/kyverno-config';
import { registrySecretRefs } from '../registry/prefetch';

import { policyGrants, policyRef, type Grant } from '../webhook/policy-grants';

type Json = Record<string, unknown>;


export const ROLE_NAME = `kyverno-studio:${WEBHOOK_NAME}`;
/** The ClusterRole that gathers what an administrator grants Kyverno's controllers (aggregation). */
export const AGGREGATED_ROLE_NAME = `${ROLE_NAME}:aggregated`;
/** Kyverno's four controllers: our one service account does the work of each. */
const KYVERNO_CONTROLLERS = ['admission-controller', 'background-controller', 'reports-controller', 'cleanup-controller'];

/**
 * The label selectors of the aggregated ClusterRoles of Kyverno's chart, one pair per
 * controller: its component labels (with Kyverno's default release name, `kyverno`) and
 * `rbac.kyverno.io/aggregate-to-<controller>`. Kyverno's documentation tells administrators to
 * grant its controllers more (a generate rule's kinds, mutate targets) by labelling a
 * ClusterRole so; the same labels grant it to our service account.
 */
export function kyvernoAggregationSelectors(): Json[] {
  return KYVERNO_CONTROLLERS.flatMap((c) => [
    { matchLabels: { 'app.kubernetes.io/component': c, 'app.kubernetes.io/instance': 'kyverno', 'app.kubernetes.io/part-of': 'kyverno' } },
    { matchLabels: { [`rbac.kyverno.io/aggregate-to-${c}`]: 'true' } },
  ]);
}
const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'update', 'patch', 'delete'];

/**
 * The resources of Kyverno's user-facing ClusterRoles (its chart's templates/rbac: policies,
 * policyreports, reports, updaterequests), each once with the `admin` verbs and once with the
 * `view` ones.
 */
const KYVERNO_USER_ROLES: ReadonlyArray<{ name: string; rules: ReadonlyArray<{ group: string; resources: string[] }> }> = [
  {
    name: 'policies',
    rules: [
      { group: 'kyverno.io', resources: ['cleanuppolicies', 'clustercleanuppolicies', 'policies', 'clusterpolicies'] },
      {
        group: 'policies.kyverno.io',
        resources: ['deletingpolicies', 'generatingpolicies', 'imagevalidatingpolicies', 'mutatingpolicies', 'namespaceddeletingpolicies', 'namespacedgeneratingpolicies', 'namespacedimagevalidatingpolicies', 'namespacedmutatingpolicies', 'namespacedvalidatingpolicies', 'policyexceptions', 'validatingpolicies'],
      },
    ],
  },
  { name: 'policyreports', rules: [{ group: 'wgpolicyk8s.io', resources: ['policyreports', 'clusterpolicyreports'] }] },
  { name: 'reports', rules: [{ group: 'reports.kyverno.io', resources: ['ephemeralreports', 'clusterephemeralreports'] }] },
  { name: 'updaterequests', rules: [{ group: 'kyverno.io', resources: ['updaterequests'] }] },
];

/**
 * Kyverno's aggregated ClusterRoles for people, under its chart's names (`kyverno:rbac:admin:…`,
 * `kyverno:rbac:view:…`, the default release name): labelled to aggregate into Kubernetes' `admin`
 * (and so `cluster-admin`'s users) and `view` roles, so whoever may administer or view a namespace
 * may do so with its policies and reports, as with Kyverno installed. Not the webhook's own access.
 */
export function kyvernoUserRoles(): Json[] {
  const roles: Json[] = [];
  for (const [level, verbs] of [['admin', ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch']], ['view', READ]] as const) {
    for (const role of KYVERNO_USER_ROLES) {
      roles.push({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: `kyverno:rbac:${level}:${role.name}`, labels: labels({ [`rbac.authorization.k8s.io/aggregate-to-${level}`]: 'true' }) },
        rules: role.rules.map((r) => ({ apiGroups: [r.group], resources: [...r.resources], verbs: [...verbs] })),
      });
    }
  }
  return roles;
}
/** The fixed part: policies, exceptions, namespaces, reports, our webhook configurations. */
function baseRules(): Json[] {
  return [
    {
      apiGroups: ['kyverno.io'],
      resources: ['clusterpolicies', 'policies', 'policyexceptions', 'cleanuppolicies', 'clustercleanuppolicies'],
      verbs: READ,
    },
    {
      apiGroups: ['policies.kyverno.io'],
      resources: [
        'validatingpolicies', 'namespacedvalidatingpolicies', 'mutatingpolicies', 'namespacedmutatingpolicies',
        'imagevalidatingpolicies', 'namespacedimagevalidatingpolicies', 'generatingpolicies', 'namespacedgeneratingpolicies',
        'deletingpolicies', 'namespaceddeletingpolicies', 'policyexceptions',
      ],
      verbs: READ,
    },
    // Kyverno writes policy status (Ready condition, rule counts).
    { apiGroups: ['kyverno.io'], resources: ['clusterpolicies/status', 'policies/status'], verbs: ['update', 'patch'] },
    // And the conditions of CEL policies (Kyverno's policy status controller).
    {
      apiGroups: ['policies.kyverno.io'],
      resources: ['validatingpolicies/status', 'namespacedvalidatingpolicies/status', 'imagevalidatingpolicies/status', 'namespacedimagevalidatingpolicies/status', 'mutatingpolicies/status', 'namespacedmutatingpolicies/status', 'generatingpolicies/status', 'namespacedgeneratingpolicies/status'],
      verbs: ['update', 'patch'],
    },
    // The cleanup leader records each run in status.lastExecutionTime.
    { apiGroups: ['kyverno.io'], resources: ['clustercleanuppolicies/status', 'cleanuppolicies/status'], verbs: ['update', 'patch'] },
    { apiGroups: ['policies.kyverno.io'], resources: ['deletingpolicies/status', 'namespaceddeletingpolicies/status'], verbs: ['update', 'patch'] },
    // Policy admission asks whether this service account may do what a policy's mutate targets
    // and generate rules need (webhook/access-review.ts), as Kyverno's admission controller may.
    { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
    // Policy admission types a validate.cel rule's custom resources with their CRDs' schemas
    // (kube-api crdSchemasServing), as Kyverno's admission controller may read CRDs.
    { apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], verbs: ['get'] },
    // A GlobalContextEntry's apiCall records each successful call in status.lastRefreshTime.
    { apiGroups: ['kyverno.io'], resources: ['globalcontextentries/status'], verbs: ['update'] },
    // updateRequestThreshold: UpdateRequests are counted in every namespace, as Kyverno's
    // generator lists them through its metadata client (its ClusterRole grants them cluster-wide);
    // only `list` here, the rest stays in our namespace.
    { apiGroups: ['kyverno.io'], resources: ['updaterequests'], verbs: ['list'] },
    // namespaceSelector and request.namespaceObject need namespace labels.
    { apiGroups: [''], resources: ['namespaces'], verbs: READ },
    { apiGroups: ['wgpolicyk8s.io'], resources: ['policyreports', 'clusterpolicyreports'], verbs: [...READ, ...WRITE] },
    // Kubernetes' admission policies: the reports leader scans those labelled for reports (Kyverno's
    // --validatingAdmissionPolicyReports), and the admission leader writes the ones it generates
    // from policies (serve --generate-validating/mutating-admission-policy). Granted whatever the
    // flags say, as Kyverno's chart does, since a policy may ask for generation itself.
    {
      apiGroups: ['admissionregistration.k8s.io'],
      resources: ['validatingadmissionpolicies', 'validatingadmissionpolicybindings', 'mutatingadmissionpolicies', 'mutatingadmissionpolicybindings'],
      verbs: [...READ, ...WRITE],
    },
    // PolicyViolation / PolicyApplied events (webhook/events.ts), as Kyverno's chart grants.
    { apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create', 'update', 'patch'] },
    {
      apiGroups: ['admissionregistration.k8s.io'],
      resources: ['validatingwebhookconfigurations', 'mutatingwebhookconfigurations'],
      resourceNames: ALL_CONFIGS.map(([, name]) => name),
      verbs: ['get', 'update', 'patch'],
    },
  ];
}

/** Namespace-local needs of the webhook itself: its leader Leases and its TLS Secrets (renewal). */
function ownNamespaceRules(ns: string): Json[] {
  const tls = tlsSecretNames(ns);
  return [
    // Leader election (webhook/leader.ts): create cannot be limited by name, the rest is limited
    // to the Leases of Kyverno's four controllers, as Kyverno's chart does.
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: Object.values(LEASE_NAMES), verbs: ['get', 'update', 'patch', 'delete'] },
    // Kyverno's CA and pair Secrets, which deploy creates and the admission leader renews.
    { apiGroups: [''], resources: ['secrets'], resourceNames: [tls.ca, tls.pair], verbs: ['get', 'update', 'patch', 'delete'] },
    // ...and makes them again when one is missing (create cannot be limited by name; Kyverno's chart grants it too).
    { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
    // Kyverno's configuration ConfigMap, read and watched by name (webhook/kyverno-config.ts).
    { apiGroups: [''], resources: ['configmaps'], resourceNames: [KYVERNO_CONFIG_MAP], verbs: ['get', 'list', 'watch'] },
    // The persisted background queue (webhook/background.ts): Kyverno's UpdateRequests, kept in our namespace.
    { apiGroups: ['kyverno.io'], resources: ['updaterequests', 'updaterequests/status'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
  ];
}

/** Grants folded into RBAC rules: one per group, verbs and resourceNames, sorted. */
export function foldGrants(grants: Array<Pick<Grant, 'group' | 'resource' | 'verbs' | 'resourceNames' | 'reason'>>): Json[] {
  const byKey = new Map<string, { group: string; verbs: string[]; resourceNames?: string[]; resources: Set<string> }>();
  // A resource read everywhere needs no resourceNames-limited rule beside it.
  const full = new Set(grants.filter((g) => !g.resourceNames).map((g) => `${g.group}|${g.resource}|${[...g.verbs].sort().join(',')}`));
  for (const g of grants) {
    const verbs = [...new Set(g.verbs)].sort();
    if (g.resourceNames && (full.has(`${g.group}|${g.resource}|${verbs.join(',')}`) || full.has(`${g.group}|${g.resource}|${[...READ].sort().join(',')}`))) continue;
    const key = `${g.group}|${verbs.join(',')}|${(g.resourceNames ?? []).join(',')}`;
    const entry = byKey.get(key) ?? { group: g.group, verbs, resourceNames: g.resourceNames, resources: new Set<string>() };
    entry.resources.add(g.resource);
    byKey.set(key, entry);
  }
  return [...byKey.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, e]) => ({ apiGroups: [e.group], resources: [...e.resources].sort(), ...(e.resourceNames ? { resourceNames: e.resourceNames } : {}), verbs: e.verbs }));
}

export interface RbacPlan {
  objects: Json[];
  grants: Grant[];
  /** Needs that cannot be granted ahead of time (variables, kinds the cluster lacks). */
  unknown: string[];
}

/** ServiceAccount, ClusterRole(+Binding) and one Role(+Binding) per namespace that needs one. */
export function webhookRbac(ns: string, policies: Json[], kinds: KindTable): RbacPlan {
  const grants: Grant[] = [];
  const unknown: string[] = [];
  for (const p of policies) {
    const r = policyGrants(p, kinds);
    grants.push(...r.grants);
    unknown.push(...r.unknown);
    // The pull secrets a policy names for registry credentials: get, by name, where they live.
    for (const ref of registrySecretRefs([p], ns)) grants.push({ group: '', resource: 'secrets', verbs: ['get'], namespace: ref.namespace, resourceNames: [ref.name], reason: policyRef(p), why: 'to read its registry credentials', controller: 'admission-controller' });
  }
  const subject = [{ kind: 'ServiceAccount', name: WEBHOOK_NAME, namespace: ns }];
  const rbacApi = 'rbac.authorization.k8s.io/v1';
  const objects: Json[] = [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: WEBHOOK_NAME, namespace: ns, labels: labels() } },
    { apiVersion: rbacApi, kind: 'ClusterRole', metadata: { name: ROLE_NAME, labels: labels() }, rules: [...baseRules(), ...foldGrants(grants.filter((g) => !g.namespace))] },
    { apiVersion: rbacApi, kind: 'ClusterRoleBinding', metadata: { name: ROLE_NAME, labels: labels() }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: ROLE_NAME }, subjects: subject },
    // No rules of its own: the API server's aggregation controller writes them.
    { apiVersion: rbacApi, kind: 'ClusterRole', metadata: { name: AGGREGATED_ROLE_NAME, labels: labels() }, aggregationRule: { clusterRoleSelectors: kyvernoAggregationSelectors() } },
    { apiVersion: rbacApi, kind: 'ClusterRoleBinding', metadata: { name: AGGREGATED_ROLE_NAME, labels: labels() }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: AGGREGATED_ROLE_NAME }, subjects: subject },
  ];
  const namespaces = [...new Set([ns, ...grants.flatMap((g) => (g.namespace ? [g.namespace] : []))])].sort();
  for (const n of namespaces) {
    const rules = [...(n === ns ? ownNamespaceRules(ns) : []), ...foldGrants(grants.filter((g) => g.namespace === n))];
    objects.push(
      { apiVersion: rbacApi, kind: 'Role', metadata: { name: ROLE_NAME, namespace: n, labels: labels() }, rules },
      { apiVersion: rbacApi, kind: 'RoleBinding', metadata: { name: ROLE_NAME, namespace: n, labels: labels() }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: ROLE_NAME }, subjects: subject },
    );
  }
  return { objects, grants, unknown };
}

/** One line per rule, for summaries and the before/after report. */
export function describeRules(rules: unknown, scope: string): string[] {
  return asArray(rules).map(asObject).map((r) => {
    const groups = asArray(r.apiGroups).map((g) => (g === '' ? 'core' : String(g))).join(',');
    const names = r.resourceNames ? ` names=${asArray(r.resourceNames).join(',')}` : '';
    return `${scope}: ${groups}/${asArray(r.resources).join(',')}${names} [${asArray(r.verbs).join(',')}]`;
  });
}

/** Roles and RoleBindings of earlier deploys, in every namespace (narrowing deletes the stale ones). */
export async function liveNamespacedRbac(client: { list(apiVersion: string, kind: string, namespace?: string, labelSelector?: string): Promise<Json[]> }): Promise<Json[]> {
  const out: Json[] = [];
  for (const kind of ['RoleBinding', 'Role']) {
    for (const item of await client.list('rbac.authorization.k8s.io/v1', kind, undefined, MANAGED_BY_SELECTOR).catch(() => [] as Json[])) {
      if (asObject(item.metadata).name === ROLE_NAME) out.push({ ...item, apiVersion: 'rbac.authorization.k8s.io/v1', kind });
    }
  }
  return out;
}

/**
 * Whether RBAC objects (ClusterRoles, and Roles for a question in their namespace) let their
 * subject `verb` a resource, as the API server's RBAC authorizer decides for a request
 * without a name (rbac/v1 helpers: `*` matches any group, resource or verb; a resource with a
 * subresource is matched as the whole "resource/sub" string; rules limited to resourceNames do
 * not match). Used where no API server can be asked (the offline chainsaw runner).
 */
export function rbacAllows(objects: Json[], q: { verb: string; group: string; resource: string; namespace?: string }): boolean {
  const matches = (values: unknown, want: string) => asArray(values).some((v) => v === '*' || v === want);
  return objects.some((o) => {
    if (o.kind !== 'ClusterRole' && !(o.kind === 'Role' && q.namespace !== undefined && asObject(o.metadata).namespace === q.namespace)) return false;
    return asArray(o.rules).map(asObject).some((r) => asArray(r.resourceNames).length === 0 && matches(r.verbs, q.verb) && matches(r.apiGroups, q.group) && matches(r.resources, q.resource));
  });
}
