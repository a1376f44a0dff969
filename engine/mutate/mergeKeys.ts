/**
 * Which lists strategic merge treats as associative, and by which key.
 *
 * Kyverno patches through kustomize kyaml (merge2), which takes merge keys from the
 * embedded Kubernetes OpenAPI schema of the resource's apiVersion/kind and does NOT infer
 * keys for anything else: lists of unknown kinds (CRDs) or of fields without a
 * `x-kubernetes-patch-strategy: merge` are replaced wholesale. This table carries the
 * merge-strategy lists of the built-in types policies actually patch; every other list of a
 * known kind is replaced, as kyaml does.
 */

export interface ListSchema {
  kind: 'list';
  /** Merge key; absent for a merge-strategy list of scalars (e.g. finalizers: set union). */
  mergeKey?: string;
  items?: ObjectSchema;
}

export interface ObjectSchema {
  kind: 'object';
  fields: Record<string, FieldSchema>;
}

export type FieldSchema = ListSchema | ObjectSchema;

const obj = (fields: Record<string, FieldSchema>): ObjectSchema => ({ kind: 'object', fields });
const mergeList = (mergeKey?: string, items?: ObjectSchema): ListSchema => ({ kind: 'list', mergeKey, items });

const objectMeta = obj({
  finalizers: mergeList(),
  ownerReferences: mergeList('uid'),
});

const container = obj({
  env: mergeList('name'),
  ports: mergeList('containerPort'),
  volumeMounts: mergeList('mountPath'),
  volumeDevices: mergeList('devicePath'),
});

const podSpec = obj({
  containers: mergeList('name', container),
  initContainers: mergeList('name', container),
  ephemeralContainers: mergeList('name', container),
  volumes: mergeList('name'),
  imagePullSecrets: mergeList('name'),
  hostAliases: mergeList('ip'),
  topologySpreadConstraints: mergeList('topologyKey'),
});

const podStatus = obj({
  conditions: mergeList('type'),
});

const podTemplateSpec = obj({ metadata: objectMeta, spec: podSpec });
const withTemplate = obj({ metadata: objectMeta, spec: obj({ template: podTemplateSpec }) });
const genericKind = obj({ metadata: objectMeta });

const BY_KIND: Record<string, ObjectSchema> = {
  Pod: obj({ metadata: objectMeta, spec: podSpec, status: podStatus }),
  PodTemplate: obj({ metadata: objectMeta, template: podTemplateSpec }),
  Deployment: withTemplate,
  ReplicaSet: withTemplate,
  StatefulSet: withTemplate,
  DaemonSet: withTemplate,
  ReplicationController: withTemplate,
  Job: withTemplate,
  CronJob: obj({ metadata: objectMeta, spec: obj({ jobTemplate: obj({ spec: obj({ template: podTemplateSpec }) }) }) }),
  Service: obj({ metadata: objectMeta, spec: obj({ ports: mergeList('port') }) }),
  Node: obj({ metadata: objectMeta, status: obj({ conditions: mergeList('type'), addresses: mergeList('type') }) }),
};

// API groups whose kinds are in the Kubernetes OpenAPI schema kyaml embeds.
const BUILTIN_GROUPS = new Set([
  '', 'apps', 'batch', 'autoscaling', 'policy', 'networking.k8s.io', 'rbac.authorization.k8s.io',
  'storage.k8s.io', 'scheduling.k8s.io', 'coordination.k8s.io', 'discovery.k8s.io', 'node.k8s.io',
  'admissionregistration.k8s.io', 'apiextensions.k8s.io', 'apiregistration.k8s.io', 'certificates.k8s.io',
  'events.k8s.io', 'flowcontrol.apiserver.k8s.io', 'extensions',
]);

/** The schema kyaml would use for a resource, or undefined for kinds it does not know (CRDs). */
export function schemaForResource(resource: unknown): ObjectSchema | undefined {
  if (!resource || typeof resource !== 'object' || Array.isArray(resource)) return undefined;
  const r = resource as Record<string, unknown>;
  if (typeof r.apiVersion !== 'string' || typeof r.kind !== 'string') return undefined;
  const group = r.apiVersion.includes('/') ? r.apiVersion.slice(0, r.apiVersion.indexOf('/')) : '';
  if (!BUILTIN_GROUPS.has(group)) return undefined;
  return BY_KIND[r.kind] ?? genericKind;
}
