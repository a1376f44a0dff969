/**
 * Well-known Kubernetes and Kyverno kinds: their group, preferred version, scope and
 * resource name. Used to complete kinds in editors, to validate `kinds:` entries and to
 * give a GVK to a resource or selector that only names a kind. A cluster may serve more
 * (CRDs); absence here is never an error on its own.
 */
import type { GroupVersionKind } from '../core/types';

export interface KnownKind {
  group: string;
  /** The preferred (storage) version. */
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  /** Other versions the API server also serves for this kind. */
  otherVersions?: string[];
  subresources?: string[];
}

const POD_SUBRESOURCES = [
  'attach',
  'binding',
  'ephemeralcontainers',
  'eviction',
  'exec',
  'log',
  'portforward',
  'proxy',
  'resize',
  'status',
];
const SCALABLE = ['scale', 'status'];

type Row = [kind: string, plural: string, namespaced: boolean, subresources?: string[], otherVersions?: string[]];

function group(groupName: string, version: string, rows: Row[]): KnownKind[] {
  return rows.map(([kind, plural, namespaced, subresources, otherVersions]) => ({
    group: groupName,
    version,
    kind,
    plural,
    namespaced,
    ...(subresources ? { subresources } : {}),
    ...(otherVersions ? { otherVersions } : {}),
  }));
}

export const KNOWN_KINDS: readonly KnownKind[] = [
  ...group('', 'v1', [
    ['Binding', 'bindings', true],
    ['ComponentStatus', 'componentstatuses', false],
    ['ConfigMap', 'configmaps', true],
    ['Endpoints', 'endpoints', true],
    ['Event', 'events', true],
    ['LimitRange', 'limitranges', true],
    ['Namespace', 'namespaces', false, ['finalize', 'status']],
    ['Node', 'nodes', false, ['proxy', 'status']],
    ['PersistentVolume', 'persistentvolumes', false, ['status']],
    ['PersistentVolumeClaim', 'persistentvolumeclaims', true, ['status']],
    ['Pod', 'pods', true, POD_SUBRESOURCES],
    ['PodTemplate', 'podtemplates', true],
    ['ReplicationController', 'replicationcontrollers', true, SCALABLE],
    ['ResourceQuota', 'resourcequotas', true, ['status']],
    ['Secret', 'secrets', true],
    ['Service', 'services', true, ['proxy', 'status']],
    ['ServiceAccount', 'serviceaccounts', true, ['token']],
  ]),
  ...group('apps', 'v1', [
    ['ControllerRevision', 'controllerrevisions', true],
    ['DaemonSet', 'daemonsets', true, ['status']],
    ['Deployment', 'deployments', true, SCALABLE],
    ['ReplicaSet', 'replicasets', true, SCALABLE],
    ['StatefulSet', 'statefulsets', true, SCALABLE],
  ]),
  ...group('batch', 'v1', [
    ['CronJob', 'cronjobs', true, ['status']],
    ['Job', 'jobs', true, ['status']],
  ]),
  ...group('autoscaling', 'v2', [['HorizontalPodAutoscaler', 'horizontalpodautoscalers', true, ['status'], ['v1']]]),
  ...group('networking.k8s.io', 'v1', [
    ['Ingress', 'ingresses', true, ['status']],
    ['IngressClass', 'ingressclasses', false],
    ['NetworkPolicy', 'networkpolicies', true],
  ]),
  ...group('networking.k8s.io', 'v1beta1', [
    ['IPAddress', 'ipaddresses', false],
    ['ServiceCIDR', 'servicecidrs', false, ['status']],
  ]),
  ...group('discovery.k8s.io', 'v1', [['EndpointSlice', 'endpointslices', true]]),
  ...group('rbac.authorization.k8s.io', 'v1', [
    ['ClusterRole', 'clusterroles', false],
    ['ClusterRoleBinding', 'clusterrolebindings', false],
    ['Role', 'roles', true],
    ['RoleBinding', 'rolebindings', true],
  ]),
  ...group('policy', 'v1', [['PodDisruptionBudget', 'poddisruptionbudgets', true, ['status']]]),
  ...group('storage.k8s.io', 'v1', [
    ['CSIDriver', 'csidrivers', false],
    ['CSINode', 'csinodes', false],
    ['CSIStorageCapacity', 'csistoragecapacities', true],
    ['StorageClass', 'storageclasses', false],
    ['VolumeAttachment', 'volumeattachments', false, ['status']],
  ]),
  ...group('scheduling.k8s.io', 'v1', [['PriorityClass', 'priorityclasses', false]]),
  ...group('node.k8s.io', 'v1', [['RuntimeClass', 'runtimeclasses', false]]),
  ...group('coordination.k8s.io', 'v1', [['Lease', 'leases', true]]),
  ...group('certificates.k8s.io', 'v1', [
    ['CertificateSigningRequest', 'certificatesigningrequests', false, ['approval', 'status']],
  ]),
  ...group('events.k8s.io', 'v1', [['Event', 'events', true]]),
  ...group('flowcontrol.apiserver.k8s.io', 'v1', [
    ['FlowSchema', 'flowschemas', false, ['status']],
    ['PriorityLevelConfiguration', 'prioritylevelconfigurations', false, ['status']],
  ]),
  ...group('admissionregistration.k8s.io', 'v1', [
    ['MutatingWebhookConfiguration', 'mutatingwebhookconfigurations', false],
    ['ValidatingAdmissionPolicy', 'validatingadmissionpolicies', false, ['status']],
    ['ValidatingAdmissionPolicyBinding', 'validatingadmissionpolicybindings', false],
    ['ValidatingWebhookConfiguration', 'validatingwebhookconfigurations', false],
  ]),
  ...group('admissionregistration.k8s.io', 'v1alpha1', [
    ['MutatingAdmissionPolicy', 'mutatingadmissionpolicies', false],
    ['MutatingAdmissionPolicyBinding', 'mutatingadmissionpolicybindings', false],
  ]),
  ...group('apiextensions.k8s.io', 'v1', [
    ['CustomResourceDefinition', 'customresourcedefinitions', false, ['status']],
  ]),
  ...group('apiregistration.k8s.io', 'v1', [['APIService', 'apiservices', false, ['status']]]),
  ...group('authentication.k8s.io', 'v1', [
    ['SelfSubjectReview', 'selfsubjectreviews', false],
    ['TokenReview', 'tokenreviews', false],
  ]),
  ...group('authorization.k8s.io', 'v1', [
    ['LocalSubjectAccessReview', 'localsubjectaccessreviews', true],
    ['SelfSubjectAccessReview', 'selfsubjectaccessreviews', false],
    ['SelfSubjectRulesReview', 'selfsubjectrulesreviews', false],
    ['SubjectAccessReview', 'subjectaccessreviews', false],
  ]),
  ...group('kyverno.io', 'v1', [
    ['ClusterPolicy', 'clusterpolicies', false, ['status'], ['v2beta1']],
    ['Policy', 'policies', true, ['status'], ['v2beta1']],
  ]),
  ...group('kyverno.io', 'v2', [
    ['CleanupPolicy', 'cleanuppolicies', true, ['status'], ['v2beta1']],
    ['ClusterCleanupPolicy', 'clustercleanuppolicies', false, ['status'], ['v2beta1']],
    ['PolicyException', 'policyexceptions', true, undefined, ['v2beta1']],
    ['UpdateRequest', 'updaterequests', true, ['status']],
  ]),
  ...group('kyverno.io', 'v2beta1', [
    ['GlobalContextEntry', 'globalcontextentries', false, ['status'], ['v2', 'v2alpha1']],
  ]),
  ...group('policies.kyverno.io', 'v1beta1', [
    ['DeletingPolicy', 'deletingpolicies', false, ['status'], ['v1', 'v1alpha1']],
    ['GeneratingPolicy', 'generatingpolicies', false, ['status'], ['v1', 'v1alpha1']],
    ['ImageValidatingPolicy', 'imagevalidatingpolicies', false, ['status'], ['v1', 'v1alpha1']],
    ['MutatingPolicy', 'mutatingpolicies', false, ['status'], ['v1', 'v1alpha1']],
    ['NamespacedDeletingPolicy', 'namespaceddeletingpolicies', true, ['status'], ['v1']],
    ['NamespacedGeneratingPolicy', 'namespacedgeneratingpolicies', true, ['status'], ['v1']],
    ['NamespacedImageValidatingPolicy', 'namespacedimagevalidatingpolicies', true, ['status'], ['v1']],
    ['NamespacedMutatingPolicy', 'namespacedmutatingpolicies', true, ['status'], ['v1']],
    ['NamespacedValidatingPolicy', 'namespacedvalidatingpolicies', true, ['status'], ['v1']],
    ['PolicyException', 'policyexceptions', true, undefined, ['v1', 'v1alpha1']],
    ['ValidatingPolicy', 'validatingpolicies', false, ['status'], ['v1', 'v1alpha1']],
  ]),
  ...group('reports.kyverno.io', 'v1', [
    ['ClusterEphemeralReport', 'clusterephemeralreports', false],
    ['EphemeralReport', 'ephemeralreports', true],
  ]),
  ...group('wgpolicyk8s.io', 'v1alpha2', [
    ['ClusterPolicyReport', 'clusterpolicyreports', false],
    ['PolicyReport', 'policyreports', true],
  ]),
];

/**
 * Kinds the API serves only as subresources (a `scale` subresource is a Scale, `pods/eviction` an
 * Eviction, `serviceaccounts/token` a TokenRequest, the `*Options` of exec/attach/proxy).
 */
export const SUBRESOURCE_KINDS: ReadonlySet<string> = new Set([
  'Scale', 'Eviction', 'TokenRequest', 'PodExecOptions', 'PodAttachOptions', 'PodPortForwardOptions', 'PodProxyOptions', 'NodeProxyOptions', 'ServiceProxyOptions',
]);

/** Known kinds with this name, core group first (Event exists in core and events.k8s.io). */
export function findKnownKinds(kind: string): KnownKind[] {
  return KNOWN_KINDS.filter((k) => k.kind === kind);
}

/** The known kind for an exact group and kind (any served version), if any. */
export function lookupKnownKind(groupName: string, kind: string): KnownKind | undefined {
  return KNOWN_KINDS.find((k) => k.group === groupName && k.kind === kind);
}

let byResource: Map<string, KnownKind> | undefined;

/** The known kind an API resource (group and plural) serves, if any (the first in KNOWN_KINDS). */
export function knownKindOfResource(groupName: string, plural: string): KnownKind | undefined {
  if (!byResource) {
    byResource = new Map();
    for (const k of KNOWN_KINDS) if (!byResource.has(`${k.group}|${k.plural}`)) byResource.set(`${k.group}|${k.plural}`, k);
  }
  return byResource.get(`${groupName}|${plural}`);
}

/**
 * The GVK a bare kind name most likely means: the first known kind of that name. Used
 * when a resource or selector gives no apiVersion.
 */
export function inferGVK(kind: string): GroupVersionKind | undefined {
  const k = findKnownKinds(kind)[0];
  return k ? { group: k.group, version: k.version, kind: k.kind } : undefined;
}

/** Whether a kind is namespaced: known kinds answer, unknown ones are assumed namespaced. */
export function isNamespacedKind(groupName: string, kind: string): boolean {
  const k = lookupKnownKind(groupName, kind) ?? findKnownKinds(kind)[0];
  return k ? k.namespaced : true;
}

/** `group/version/Kind` as Kyverno writes fully qualified kind selectors (`v1/Pod` for core). */
export function qualifiedKind(k: Pick<KnownKind, 'group' | 'version' | 'kind'>): string {
  return k.group ? `${k.group}/${k.version}/${k.kind}` : `${k.version}/${k.kind}`;
}

/** The plural resource name for a kind: the known one, else Kubernetes' lowercase+s guess. */
export function pluralOf(groupName: string, kind: string): string {
  const k = lookupKnownKind(groupName, kind);
  if (k) return k.plural;
  const lower = kind.toLowerCase();
  if (/(s|x|z|ch|sh)$/.test(lower)) return `${lower}es`;
  if (/[^aeiou]y$/.test(lower)) return `${lower.slice(0, -1)}ies`;
  return `${lower}s`;
}
