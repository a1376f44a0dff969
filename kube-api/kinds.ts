/**
 * Which API group, version and resource serve a kind: the table webhook rules, RBAC rules and
 * discovery fill in. `builtinKinds` covers the core API for offline planning; discovery adds
 * what a cluster serves beyond it (CRDs).
 */

export interface KindResource {
  group: string;
  version: string;
  /** Plural, with "/sub" for a subresource. */
  resource: string;
}

/** kind → every group/version/resource serving it (several groups may use one kind name). */
export type KindTable = Map<string, KindResource[]>;

const CORE: Array<[string, string, string, string]> = [
  ['Pod', '', 'v1', 'pods'], ['Service', '', 'v1', 'services'], ['ConfigMap', '', 'v1', 'configmaps'], ['Secret', '', 'v1', 'secrets'],
  ['Namespace', '', 'v1', 'namespaces'], ['ServiceAccount', '', 'v1', 'serviceaccounts'], ['PersistentVolumeClaim', '', 'v1', 'persistentvolumeclaims'],
  ['PersistentVolume', '', 'v1', 'persistentvolumes'], ['Node', '', 'v1', 'nodes'], ['ReplicationController', '', 'v1', 'replicationcontrollers'],
  ['Endpoints', '', 'v1', 'endpoints'], ['LimitRange', '', 'v1', 'limitranges'], ['ResourceQuota', '', 'v1', 'resourcequotas'], ['Event', '', 'v1', 'events'],
  ['Deployment', 'apps', 'v1', 'deployments'], ['DaemonSet', 'apps', 'v1', 'daemonsets'], ['StatefulSet', 'apps', 'v1', 'statefulsets'],
  ['ReplicaSet', 'apps', 'v1', 'replicasets'], ['Job', 'batch', 'v1', 'jobs'], ['CronJob', 'batch', 'v1', 'cronjobs'],
  ['Ingress', 'networking.k8s.io', 'v1', 'ingresses'], ['NetworkPolicy', 'networking.k8s.io', 'v1', 'networkpolicies'],
  ['IngressClass', 'networking.k8s.io', 'v1', 'ingressclasses'],
  ['Role', 'rbac.authorization.k8s.io', 'v1', 'roles'], ['RoleBinding', 'rbac.authorization.k8s.io', 'v1', 'rolebindings'],
  ['ClusterRole', 'rbac.authorization.k8s.io', 'v1', 'clusterroles'], ['ClusterRoleBinding', 'rbac.authorization.k8s.io', 'v1', 'clusterrolebindings'],
  ['StorageClass', 'storage.k8s.io', 'v1', 'storageclasses'], ['PodDisruptionBudget', 'policy', 'v1', 'poddisruptionbudgets'],
  ['HorizontalPodAutoscaler', 'autoscaling', 'v2', 'horizontalpodautoscalers'],
  ['CustomResourceDefinition', 'apiextensions.k8s.io', 'v1', 'customresourcedefinitions'],
  ['ValidatingWebhookConfiguration', 'admissionregistration.k8s.io', 'v1', 'validatingwebhookconfigurations'],
  ['MutatingWebhookConfiguration', 'admissionregistration.k8s.io', 'v1', 'mutatingwebhookconfigurations'],
];

export function builtinKinds(): KindTable {
  const t: KindTable = new Map();
  for (const [kind, group, version, resource] of CORE) t.set(kind, [{ group, version, resource }]);
  return t;
}

/** "Pod", "v1/Pod", "apps/v1/Deployment", "Pod/exec", "*" → webhook rule parts. */
export function resolveKind(spec: string, table: KindTable): KindResource[] | undefined {
  if (spec === '*' || spec === '*/*') return [{ group: '*', version: '*', resource: '*' }];
  const parts = spec.split('/');
  let group: string | undefined;
  let version: string | undefined;
  let kind = parts[parts.length - 1];
  let sub = '';
  // The last part is a subresource when it starts lower-case (Pod/exec, apps/v1/Deployment/scale).
  if (parts.length >= 2 && /^[a-z]/.test(kind)) {
    sub = kind;
    parts.pop();
    kind = parts[parts.length - 1];
  }
  if (parts.length === 2) version = parts[0];
  if (parts.length === 3) [group, version] = parts;
  if (kind.includes('*')) return [{ group: group ?? '*', version: version ?? '*', resource: '*' }];
  const found = (table.get(kind) ?? []).filter((r) => (group === undefined || r.group === group) && (version === undefined || r.version === version));
  if (found.length === 0) return undefined;
  return found.map((r) => ({ ...r, resource: sub ? `${r.resource}/${sub}` : r.resource }));
}

