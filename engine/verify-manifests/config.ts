/**
 * Ignore-field configuration: which resource fields a manifest comparison skips. The defaults
 * are k8s-manifest-sigstore's `pkg/k8smanifest/resources/default-config.yaml` followed by
 * Kyverno's `pkg/engine/resources/default-config.yaml` (in that order, as Kyverno adds them).
 */

export interface ObjectReference {
  group?: string;
  version?: string;
  kind?: string;
  name?: string;
  namespace?: string;
}

export interface FieldBinding {
  fields: string[];
  objects: ObjectReference[];
}

const ANY: ObjectReference[] = [{ kind: '*' }];

export const SIGSTORE_DEFAULT_IGNORE_FIELDS: readonly FieldBinding[] = [
  {
    fields: [
      'metadata.annotations.cosign.sigstore.dev/resourceBundleRef',
      'metadata.annotations.cosign.sigstore.dev/signature',
      'metadata.annotations.cosign.sigstore.dev/message',
      'metadata.annotations.cosign.sigstore.dev/certificate',
      'metadata.annotations.cosign.sigstore.dev/bundle',
    ],
    objects: ANY,
  },
  {
    fields: [
      'metadata.managedFields.*',
      'metadata.resourceVersion',
      'metadata.selfLink',
      'metadata.annotations.kubectl.kubernetes.io/last-applied-configuration',
      'metadata.annotations.namespace',
      'metadata.creationTimestamp',
      'metadata.generation',
      'metadata.uid',
      'metadata.finalizers',
      'metadata.labels.app.kubernetes.io/instance',
      'status',
    ],
    objects: ANY,
  },
  { fields: ['secrets.*.name', 'imagePullSecrets.*.name'], objects: [{ kind: 'ServiceAccount' }] },
  { fields: ['spec.ports.*.nodePort', 'spec.clusterIP', 'spec.clusterIPs.0'], objects: [{ kind: 'Service' }] },
  { fields: ['metadata.annotations.deployment.kubernetes.io/revision'], objects: [{ kind: 'Deployment' }] },
  { fields: ['metadata.annotations.deprecated.daemonset.template.generation'], objects: [{ kind: 'DaemonSet' }] },
  { fields: ['spec.host'], objects: [{ kind: 'Route', group: 'route.openshift.io' }] },
];

export const KYVERNO_DEFAULT_IGNORE_FIELDS: readonly FieldBinding[] = [
  {
    fields: [
      'metadata.namespace',
      'spec.containers.*.imagePullPolicy',
      'spec.containers.*.terminationMessagePath',
      'spec.containers.*.terminationMessagePolicy',
      'spec.dnsPolicy',
      'spec.restartPolicy',
      'spec.schedulerName',
      'spec.terminationGracePeriodSeconds',
      'metadata.labels.app.kubernetes.io/instance',
      'metadata.managedFields.*',
      'metadata.resourceVersion',
      'metadata.selfLink',
      'metadata.annotations.control-plane.alpha.kubernetes.io/leader',
      'metadata.annotations.kubectl.kubernetes.io/last-applied-configuration',
      'metadata.finalizers*',
      'metadata.annotations.namespace',
      'metadata.annotations.deprecated.daemonset.template.generation',
      'metadata.creationTimestamp',
      'metadata.uid',
      'metadata.generation',
      'status',
      'metadata.annotations.deployment.kubernetes.io/revision',
    ],
    objects: ANY,
  },
  {
    fields: [
      'spec.volumes.*.name',
      'spec.volumes.*.projected.*',
      'spec.volumes.*.configMap.defaultMode',
      'spec.containers.*.volumeMounts.*',
      'spec.tolerations.*',
      'spec.enableServiceLinks',
      'spec.preemptionPolicy',
      'spec.priority',
      'spec.serviceAccount',
    ],
    objects: [{ kind: 'Pod' }],
  },
  {
    fields: [
      'spec.progressDeadlineSeconds',
      'spec.revisionHistoryLimit',
      'spec.strategy.*',
      'spec.template.metadata.creationTimestamp',
      'spec.containers.*.ports.*.protocol',
      'spec.containers.*.resources',
      'spec.securityContext',
    ],
    objects: [{ kind: 'Deployment' }],
  },
  { fields: ['spec.conversion.strategy', 'spec.names.listKind'], objects: [{ kind: 'CustomResourceDefinition' }] },
  {
    fields: [
      'spec.ports.*.nodePort',
      'spec.clusterIP',
      'spec.clusterIPs.0',
      'spec.sessionAffinity',
      'spec.type',
      'spec.ipFamilies.*',
      'spec.ipFamilyPolicy',
      'spec.internalTrafficPolicy',
    ],
    objects: [{ kind: 'Service' }],
  },
  {
    fields: ['metadata.annotations.pod-policies.kyverno.io/autogen-controllers', 'spec.failurePolicy', 'spec.background', 'spec.validationFailureAction'],
    objects: [{ kind: 'ClusterPolicy' }, { kind: 'Policy' }],
  },
  { fields: ['secrets.*.name', 'imagePullSecrets.*.name'], objects: [{ kind: 'ServiceAccount' }] },
];

/** k8s-manifest-sigstore's MatchPattern: empty and `*` match all, `-` matches empty, `x*` a prefix, commas a list. */
export function matchPattern(pattern: string, value: string): boolean {
  const p = pattern.trim();
  if (p === '' || p === '*') return true;
  if (p === '-' && value === '') return true;
  if (p.endsWith('*')) return value.startsWith(p.replace(/\*+$/, ''));
  if (p === value) return true;
  if (p.includes(',')) return p.split(',').some((part) => matchPattern(part.trim(), value));
  return false;
}

/** apimachinery's ParseGroupVersion; an unparsable apiVersion gives empty group and version. */
export function groupVersion(apiVersion: string): { group: string; version: string } | null {
  if (apiVersion === '' || apiVersion === '/') return { group: '', version: '' };
  const slashes = apiVersion.split('/').length - 1;
  if (slashes === 0) return { group: '', version: apiVersion };
  if (slashes === 1) {
    const i = apiVersion.indexOf('/');
    return { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
  }
  return null;
}

export interface ObjectIdentity {
  group: string;
  version: string;
  kind: string;
  name: string;
  namespace: string;
}

export function referenceMatches(ref: ObjectReference, obj: ObjectIdentity): boolean {
  return (
    matchPattern(ref.group ?? '', obj.group) &&
    matchPattern(ref.version ?? '', obj.version) &&
    matchPattern(ref.kind ?? '', obj.kind) &&
    matchPattern(ref.name ?? '', obj.name) &&
    matchPattern(ref.namespace ?? '', obj.namespace)
  );
}

/** ObjectFieldBindingList.Match: the fields of every binding whose objects (none = all) match. */
export function ignoreFieldsFor(bindings: readonly FieldBinding[], obj: ObjectIdentity): string[] {
  const out: string[] = [];
  for (const b of bindings) {
    if (b.objects.length === 0 || b.objects.some((r) => referenceMatches(r, obj))) out.push(...b.fields);
  }
  return out;
}

/** A policy's `ignoreFields` list read leniently (strings only). */
export function readFieldBindings(value: unknown): FieldBinding[] {
  if (!Array.isArray(value)) return [];
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return value.map((b) => {
    const o = typeof b === 'object' && b !== null ? (b as Record<string, unknown>) : {};
    const fields = Array.isArray(o.fields) ? o.fields.filter((f): f is string => typeof f === 'string') : [];
    const objects = Array.isArray(o.objects)
      ? o.objects.map((r) => {
          const x = typeof r === 'object' && r !== null ? (r as Record<string, unknown>) : {};
          return { group: str(x.group), version: str(x.version), kind: str(x.kind), name: str(x.name), namespace: str(x.namespace) };
        })
      : [];
    return { fields, objects };
  });
}
