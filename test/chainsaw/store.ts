/**
 * The offline runner's API server: an in-memory object store keyed by apiVersion, kind,
 * namespace and name, with what the API server adds on create (uid, creationTimestamp,
 * resourceVersion, generation). `StoreClient` serves the few KubeClient calls the webhook's
 * background code makes (get, list, create, replace, apply, delete; the resources, watches and
 * status patches of stored CRDs' kinds: the background controller's UpdateRequests), so the
 * downstream generator, mutate-existing and the background controller run unchanged over the store.
 */
import { KubeError, type ObjectRef } from '../../kube-api/errors';
import type { KubeClient, ResourceInfo } from '../../kube-api/client';
import type { JsonObject } from '../../engine/core/types';
import { asObject, isJsonObject } from '../../engine/core/json';
import { isNamespacedKind } from '../../engine/kube';
import { apiGroup } from '../../engine/loader';
import { apiServerAnswer } from '../../engine/context';
import { resourceNameOf } from '../../engine/context/api-server';
import type { ReadSource } from '../../webhook/live-context';
import type { ContextRead } from '../../webhook/context-reads';
import type { ConfigMapSource } from '../../webhook/kyverno-config';
import type { KindTable } from '../../engine/kube';
import { answerAccessReview } from './authorizer';

function keyOf(apiVersion: string, kind: string, namespace: string | undefined, name: string): string {
  return `${apiGroup(apiVersion)}|${kind}|${namespace ?? ''}|${name}`;
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

/** Merge of a patch into an object as JSON merge patch does (kubectl apply of a whole object comes close). */
export function mergeObjects(base: unknown, patch: unknown): unknown {
  if (!isJsonObject(patch) || !isJsonObject(base)) return structuredClone(patch);
  const out: JsonObject = structuredClone(base);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergeObjects(out[k], v);
  }
  return out;
}

/**
 * The API server's defaulting of built-in kinds, applied when a request is decoded (before
 * admission), for the fields scenarios assert: a (Cluster)RoleBinding subject of kind User or
 * Group gets the RBAC API group (rbac/v1 SetDefaults_Subject).
 */
export function withBuiltinDefaults(obj: JsonObject): JsonObject {
  // SetDefaults_Namespace (core/v1 defaulting, at decode: before any admission) labels a named
  // Namespace with its name; the strategy re-applies it on write (withNamespaceNameLabel).
  if (obj.kind === 'Namespace' && apiGroup(String(obj.apiVersion ?? '')) === '' && typeof asObject(obj.metadata).name === 'string') {
    return { ...obj, metadata: withNamespaceNameLabel(obj, asObject(obj.metadata)) };
  }
  if (apiGroup(String(obj.apiVersion ?? '')) === 'admissionregistration.k8s.io' && (obj.kind === 'ValidatingAdmissionPolicy' || obj.kind === 'MutatingAdmissionPolicy')) {
    return admissionPolicyDefaults(obj);
  }
  if (String(obj.apiVersion ?? '').startsWith('rbac.authorization.k8s.io/') && (obj.kind === 'RoleBinding' || obj.kind === 'ClusterRoleBinding') && Array.isArray(obj.subjects)) {
    const subjects = obj.subjects.map((s) => (isJsonObject(s) && (s.kind === 'User' || s.kind === 'Group') && !s.apiGroup ? { ...s, apiGroup: 'rbac.authorization.k8s.io' } : s));
    return { ...obj, subjects };
  }
  return obj;
}

/**
 * admissionregistration's defaults for a Validating/MutatingAdmissionPolicy
 * (SetDefaults_ValidatingAdmissionPolicySpec, SetDefaults_MatchResources, SetDefaults_Rule):
 * failurePolicy Fail, matchPolicy Equivalent, empty selectors, each rule's scope `*`.
 */
function admissionPolicyDefaults(obj: JsonObject): JsonObject {
  const spec = asObject(obj.spec);
  const constraints = isJsonObject(spec.matchConstraints) ? spec.matchConstraints : undefined;
  const scoped = (rules: unknown) => (Array.isArray(rules) ? rules.map((r) => (isJsonObject(r) ? { ...r, scope: r.scope ?? '*' } : r)) : rules);
  const matchConstraints = constraints && {
    ...constraints,
    namespaceSelector: constraints.namespaceSelector ?? {},
    objectSelector: constraints.objectSelector ?? {},
    matchPolicy: constraints.matchPolicy ?? 'Equivalent',
    ...(constraints.resourceRules !== undefined ? { resourceRules: scoped(constraints.resourceRules) } : {}),
    ...(constraints.excludeResourceRules !== undefined ? { excludeResourceRules: scoped(constraints.excludeResourceRules) } : {}),
  };
  return { ...obj, spec: { ...spec, failurePolicy: spec.failurePolicy ?? 'Fail', ...(matchConstraints ? { matchConstraints } : {}) } };
}

/** A change, as an API server's watch reports it. */
export interface StoreEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: JsonObject;
}

/** The namespace strategy's immutable `kubernetes.io/metadata.name` label (Kubernetes 1.21+), on create and update. */
/**
 * The status kube-apiserver's own apiextensions controllers give a CustomResourceDefinition
 * (its naming and establishing controllers, and the storage version the registry records),
 * with the defaults its API gives spec.names (singular: the kind lowercased; listKind: the
 * kind + "List"). Names are taken as accepted: conflicts between CRDs are not modelled.
 */
function establishedCrd(crd: JsonObject, previous: JsonObject | undefined): JsonObject {
  const spec = asObject(crd.spec);
  const names = { ...asObject(spec.names) };
  const kind = typeof names.kind === 'string' ? names.kind : '';
  if (kind && !names.singular) names.singular = kind.toLowerCase();
  if (kind && !names.listKind) names.listKind = `${kind}List`;
  const storage = (Array.isArray(spec.versions) ? spec.versions : []).map(asObject).find((v) => v.storage === true);
  const storedVersions = Array.isArray(asObject(previous?.status).storedVersions) ? [...(asObject(previous?.status).storedVersions as string[])] : [];
  if (storage && typeof storage.name === 'string' && !storedVersions.includes(storage.name)) storedVersions.push(storage.name);
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const since = (type: string) => {
    const earlier = (Array.isArray(asObject(previous?.status).conditions) ? asObject(previous?.status).conditions as JsonObject[] : []).find((c) => asObject(c).type === type);
    return earlier ? String(asObject(earlier).lastTransitionTime ?? now) : now;
  };
  return {
    ...crd,
    spec: { ...spec, names },
    status: {
      acceptedNames: names,
      conditions: [
        { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found', lastTransitionTime: since('NamesAccepted') },
        { type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted', lastTransitionTime: since('Established') },
      ],
      storedVersions,
    },
  };
}

const isCrd = (obj: JsonObject) => obj.kind === 'CustomResourceDefinition' && apiGroup(String(obj.apiVersion ?? '')) === 'apiextensions.k8s.io';

function withNamespaceNameLabel(obj: JsonObject, meta: JsonObject): JsonObject {
  if (obj.kind !== 'Namespace' || apiGroup(String(obj.apiVersion)) !== '') return meta;
  return { ...meta, labels: { ...asObject(meta.labels), 'kubernetes.io/metadata.name': String(meta.name) } };
}

/**
 * The API server's v1 Secret conversion (before admission and storage): `stringData` is
 * written into `data` as base64, winning over a key of the same name, and is not kept.
 */
export function normalizeSecret(obj: JsonObject): JsonObject {
  if (obj.kind !== 'Secret' || apiGroup(String(obj.apiVersion)) !== '' || obj.stringData === undefined) return obj;
  const { stringData, ...rest } = obj;
  const data: JsonObject = { ...asObject(rest.data) };
  for (const [k, v] of Object.entries(asObject(stringData))) data[k] = Buffer.from(String(v), 'utf8').toString('base64');
  return { ...rest, data };
}

/**
 * Whether labels satisfy a label selector string as the API server parses it: comma-separated
 * `k=v`, `k==v`, `k!=v`, `k` (exists) and `!k` (absent) terms (set-based terms are not served).
 */
export function labelsMatchSelector(labels: Record<string, unknown>, selector: string | undefined): boolean {
  if (!selector) return true;
  for (const raw of selector.split(',')) {
    const term = raw.trim();
    if (!term) continue;
    if (/\s(in|notin)\s/.test(term)) throw new KubeError(400, 'BadRequest', `set-based selector terms are not served offline: ${term}`);
    const ne = term.indexOf('!=');
    if (ne > 0) {
      if (String(labels[term.slice(0, ne).trim()] ?? '\u0000') === term.slice(ne + 2).trim()) return false;
      continue;
    }
    const eq = term.indexOf('=');
    if (eq > 0) {
      const key = term.slice(0, eq).trim();
      const value = term.slice(term[eq + 1] === '=' ? eq + 2 : eq + 1).trim();
      if (!(key in labels) || String(labels[key]) !== value) return false;
      continue;
    }
    if (term.startsWith('!')) {
      if (term.slice(1).trim() in labels) return false;
    } else if (!(term in labels)) return false;
  }
  return true;
}

export class ObjectStore {
  private readonly objects = new Map<string, JsonObject>();
  /** The API server's clock (creation timestamps): a scenario's clock, which its sleeps advance. */
  now: () => number = Date.now;
  private serial = 0;
  private readonly listeners = new Set<(e: StoreEvent) => void>();

  /** Changes with every write (what was read at one revision still holds at the same one). */
  get revision(): number {
    return this.serial;
  }

  /** Every later change is told to `listener` (a watch); returns the unsubscribe. */
  subscribe(listener: (e: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(type: StoreEvent['type'], object: JsonObject): void {
    for (const l of [...this.listeners]) l({ type, object: clone(object) });
  }

  hasNamespace(name: string): boolean {
    return this.objects.has(keyOf('v1', 'Namespace', undefined, name));
  }

  /** The kinds the stored CustomResourceDefinitions serve: group, kind, plural, served versions, scope. */
  crdKinds(): Array<{ group: string; kind: string; plural: string; versions: string[]; namespaced: boolean }> {
    const out: Array<{ group: string; kind: string; plural: string; versions: string[]; namespaced: boolean }> = [];
    for (const o of this.objects.values()) {
      if (!isCrd(o)) continue;
      const spec = asObject(o.spec);
      const names = asObject(spec.names);
      const versions = (Array.isArray(spec.versions) ? spec.versions : []).map(asObject).filter((v) => v.served !== false).map((v) => String(v.name));
      out.push({ group: String(spec.group ?? ''), kind: String(names.kind ?? ''), plural: String(names.plural ?? ''), versions, namespaced: spec.scope !== 'Cluster' });
    }
    return out;
  }

  /** The resource a stored CRD serves for a kind at `apiVersion`, if one does. */
  servedByCrd(apiVersion: string, kind: string): { plural: string; namespaced: boolean } | undefined {
    const slash = apiVersion.lastIndexOf('/');
    if (slash < 0) return undefined;
    const [group, version] = [apiVersion.slice(0, slash), apiVersion.slice(slash + 1)];
    return this.crdKinds().find((k) => k.group === group && k.kind === kind && k.versions.includes(version));
  }

  /** Namespaced unless a known kind or a stored CRD says it is cluster-scoped. */
  isNamespaced(apiVersion: string, kind: string): boolean {
    const group = apiGroup(apiVersion);
    for (const o of this.objects.values()) {
      if (o.kind !== 'CustomResourceDefinition') continue;
      const spec = asObject(o.spec);
      if (spec.group === group && asObject(spec.names).kind === kind) return spec.scope !== 'Cluster';
    }
    return isNamespacedKind(group, kind);
  }

  private keyFor(ref: ObjectRef): string {
    return keyOf(ref.apiVersion, ref.kind, this.isNamespaced(ref.apiVersion, ref.kind) ? ref.namespace : undefined, ref.name);
  }

  get(ref: ObjectRef): JsonObject | undefined {
    const o = this.objects.get(this.keyFor(ref));
    return o && clone(o);
  }

  /**
   * Objects of a kind (any version of its group), in a namespace when given. Events are one
   * resource served by two groups: events.k8s.io and the core group each list both, converted.
   */
  list(apiVersion: string, kind: string, namespace?: string, labelSelector?: string): JsonObject[] {
    const group = apiGroup(apiVersion);
    const events = kind === 'Event' && (group === '' || group === 'events.k8s.io');
    return [...this.objects.values()]
      .filter((o) => o.kind === kind && (events || apiGroup(String(o.apiVersion)) === group) && (namespace === undefined || asObject(o.metadata).namespace === namespace))
      .map((o) => (events ? convertEvent(o, group) : o))
      .filter((o) => labelsMatchSelector(asObject(asObject(o.metadata).labels), labelSelector))
      .map(clone);
  }

  all(): JsonObject[] {
    return [...this.objects.values()];
  }

  /**
   * A built-in kind (a Kubernetes group, not one a stored CRD defines) is stored as protobuf:
   * an empty list reads back as absent (nil, omitted), as the API server serves it.
   */
  private storedForm(obj: JsonObject): JsonObject {
    // The API server's BeforeCreate/BeforeUpdate: a cluster-scoped object has no namespace.
    const meta = asObject(obj.metadata);
    if (meta.namespace !== undefined && !this.isNamespaced(String(obj.apiVersion ?? ''), String(obj.kind ?? ''))) {
      const { namespace: _ns, ...rest } = meta;
      obj = { ...obj, metadata: rest };
    }
    const group = apiGroup(String(obj.apiVersion ?? ''));
    const kubernetes = group === '' || !group.includes('.') || group.endsWith('.k8s.io');
    const crd = [...this.objects.values()].some((o) => o.kind === 'CustomResourceDefinition' && asObject(o.spec).group === group && asObject(asObject(o.spec).names).kind === obj.kind);
    return kubernetes && !crd ? (withoutEmptyLists(obj) as JsonObject) : obj;
  }

  /**
   * The identity the API server gives the next object it creates (uid, creationTimestamp),
   * assigned before validating admission runs, so webhooks see the uid the object is stored with.
   */
  reserveIdentity(): { uid: string; creationTimestamp: string } {
    return { uid: `00000000-0000-4000-8000-${String(++this.serial).padStart(12, '0')}`, creationTimestamp: new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, 'Z') };
  }

  /** Stores a new object (with `identity` when one was reserved for it); AlreadyExists when one is there. */
  create(obj: JsonObject, identity?: { uid: string; creationTimestamp: string }): JsonObject {
    obj = this.storedForm(obj);
    const meta = asObject(obj.metadata);
    const key = keyOf(String(obj.apiVersion), String(obj.kind), this.isNamespaced(String(obj.apiVersion), String(obj.kind)) ? (meta.namespace as string | undefined) : undefined, String(meta.name));
    if (this.objects.has(key)) throw new KubeError(409, 'AlreadyExists', `${String(obj.kind)} "${String(meta.name)}" already exists`);
    const n = ++this.serial;
    const stored = clone(normalizeSecret(isCrd(obj) ? establishedCrd(obj, undefined) : obj));
    // The API server's namespace strategy: a new namespace is Active.
    if (obj.kind === 'Namespace' && apiGroup(String(obj.apiVersion)) === '') stored.status = { phase: 'Active', ...asObject(stored.status) };
    const id = identity ?? { uid: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, creationTimestamp: new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, 'Z') };
    stored.metadata = { ...withNamespaceNameLabel(obj, meta), ...id, resourceVersion: String(n), generation: 1 };
    this.objects.set(key, stored);
    this.emit('ADDED', stored);
    return clone(stored);
  }

  /** Replaces an existing object, keeping what the API server owns; NotFound when absent. */
  replace(obj: JsonObject): JsonObject {
    obj = this.storedForm(obj);
    const current = this.objects.get(this.keyFor(refOfObject(obj)));
    if (!current) throw new KubeError(404, 'NotFound', `${String(obj.kind)} "${String(asObject(obj.metadata).name)}" not found`);
    const old = asObject(current.metadata);
    const n = ++this.serial;
    const stored = clone(normalizeSecret(isCrd(obj) ? establishedCrd(obj, current) : obj));
    const specChanged = JSON.stringify(current.spec) !== JSON.stringify(stored.spec);
    stored.metadata = { ...withNamespaceNameLabel(obj, asObject(obj.metadata)), uid: old.uid, creationTimestamp: old.creationTimestamp, resourceVersion: String(n), generation: Number(old.generation ?? 1) + (specChanged ? 1 : 0) };
    this.objects.set(this.keyFor(refOfObject(obj)), stored);
    this.emit('MODIFIED', stored);
    return clone(stored);
  }

  /** Creates or replaces. */
  put(obj: JsonObject): JsonObject {
    return this.get(refOfObject(obj)) ? this.replace(obj) : this.create(obj);
  }

  delete(ref: ObjectRef): boolean {
    const key = this.keyFor(ref);
    const old = this.objects.get(key);
    const had = this.objects.delete(key);
    // A namespace takes its objects with it.
    if (had && ref.kind === 'Namespace' && apiGroup(ref.apiVersion) === '') {
      for (const [k, o] of this.objects) {
        if (asObject(o.metadata).namespace !== ref.name) continue;
        this.objects.delete(k);
        this.emit('DELETED', o);
      }
    }
    if (old) this.emit('DELETED', old);
    return had;
  }
}

/** events.k8s.io/v1 field names and their core v1 Event counterparts (the API server's conversion). */
const EVENT_FIELDS: Array<[string, string]> = [
  ['regarding', 'involvedObject'],
  ['note', 'message'],
  ['reportingController', 'reportingComponent'],
  ['deprecatedSource', 'source'],
  ['deprecatedFirstTimestamp', 'firstTimestamp'],
  ['deprecatedLastTimestamp', 'lastTimestamp'],
  ['deprecatedCount', 'count'],
];

/** An Event as the API server serves it in `group` ('' = core v1, 'events.k8s.io' = events.k8s.io/v1). */
export function convertEvent(event: JsonObject, group: string): JsonObject {
  const from = apiGroup(String(event.apiVersion ?? ''));
  if (from === group) return event;
  const toCore = group === '';
  const out: JsonObject = { ...event, apiVersion: toCore ? 'v1' : 'events.k8s.io/v1' };
  for (const [eventsName, coreName] of EVENT_FIELDS) {
    const [src, dst] = toCore ? [eventsName, coreName] : [coreName, eventsName];
    if (src in out) {
      out[dst] = out[src];
      delete out[src];
    }
  }
  return out;
}

/** A value as a built-in kind is stored (protobuf): empty lists read back as absent. */
export function withoutEmptyLists(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutEmptyLists);
  if (value === null || typeof value !== 'object') return value;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) if (!(Array.isArray(v) && v.length === 0)) out[k] = withoutEmptyLists(v);
  return out;
}

/** Where the ServiceAccount admission plugin mounts the API access token. */
const TOKEN_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * The API server's ServiceAccount admission plugin on a new Pod, which runs before the
 * mutating webhooks: the `default` service account, and unless automounting is off (or the
 * path is mounted already) a projected `kube-api-access-*` volume mounted in every container.
 */
export function serviceAccountAdmission(pod: JsonObject, suffix: string): JsonObject {
  const spec = asObject(pod.spec);
  const account = typeof spec.serviceAccountName === 'string' && spec.serviceAccountName ? spec.serviceAccountName : 'default';
  const out: JsonObject = { ...pod, spec: { ...spec, serviceAccountName: account, serviceAccount: account } };
  const containerLists = ['initContainers', 'containers'].filter((k) => Array.isArray(spec[k]));
  const mounted = containerLists.some((k) => (spec[k] as unknown[]).some((c) => ((asObject(c).volumeMounts ?? []) as unknown[]).some((m) => asObject(m).mountPath === TOKEN_MOUNT_PATH)));
  if (spec.automountServiceAccountToken === false || mounted) return out;
  const name = `kube-api-access-${suffix}`;
  const volume = {
    name,
    projected: {
      defaultMode: 420,
      sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
      ],
    },
  };
  const outSpec = out.spec as JsonObject;
  outSpec.volumes = [...((spec.volumes ?? []) as unknown[]), volume];
  for (const k of containerLists) {
    outSpec[k] = (spec[k] as unknown[]).map((c) => ({ ...asObject(c), volumeMounts: [...((asObject(c).volumeMounts ?? []) as unknown[]), { name, readOnly: true, mountPath: TOKEN_MOUNT_PATH }] }));
  }
  return out;
}

export function refOfObject(obj: JsonObject): ObjectRef {
  const meta = asObject(obj.metadata);
  return { apiVersion: String(obj.apiVersion ?? ''), kind: String(obj.kind ?? ''), name: String(meta.name ?? ''), namespace: typeof meta.namespace === 'string' && meta.namespace ? meta.namespace : undefined };
}

const refKey = (r: ObjectRef) => `${apiGroup(r.apiVersion)}|${r.kind}|${r.namespace ?? ''}|${r.name}`;

/** Leaf paths of an object (lists are leaves), metadata's server fields left out. */
function leafPaths(v: unknown, path: string[] = []): string[] {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || (path.length > 0 && Object.keys(v).length === 0)) return [JSON.stringify(path)];
  return Object.entries(v as JsonObject).flatMap(([k, x]) => (path.length === 0 && (k === 'apiVersion' || k === 'kind') ? [] : leafPaths(x, [...path, k])));
}

function removePath(o: JsonObject, path: string[]): JsonObject {
  if (path.length === 0) return o;
  const [head, ...rest] = path;
  if (!(head in o)) return o;
  const out = { ...o };
  if (rest.length === 0) delete out[head];
  else if (typeof o[head] === 'object' && o[head] !== null && !Array.isArray(o[head])) out[head] = removePath(o[head] as JsonObject, rest);
  return out;
}

function mergeApplied(base: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch) || typeof base !== 'object' || base === null || Array.isArray(base)) return clone(patch);
  const out: JsonObject = { ...(base as JsonObject) };
  for (const [k, v] of Object.entries(patch as JsonObject)) out[k] = mergeApplied(out[k], v);
  return out;
}

/**
 * A write as the API server handles it: admission (the webhooks) decides and the object as
 * admitted is stored; a denial throws. Returns the stored object (undefined for a DELETE).
 */
export type Admission = (operation: 'CREATE' | 'UPDATE' | 'DELETE', object: JsonObject | null, oldObject: JsonObject | null) => Promise<JsonObject | undefined>;

export interface StoreClientOptions {
  /** The kinds discovery serves (GET /api, /apis and each group version's resources); without it, none. */
  discovery?: () => KindTable;
  /** Who the client authenticates as: its SelfSubjectAccessReviews are answered for it. */
  self?: { user: string; groups: string[] };
  /** Told of each deletion before it happens, with the propagation policy it asks for (the garbage collector follows it). */
  onDelete?: (object: JsonObject, propagation: 'Background' | 'Foreground' | 'Orphan' | null | undefined) => void;
}

/** Verbs discovery lists for a resource: the review kinds are create-only, the rest serve every verb. */
function servedVerbs(group: string): string[] {
  if (group === 'authorization.k8s.io' || group === 'authentication.k8s.io') return ['create'];
  return ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
}

/** The discovery documents of the kind table by path: `/api`, `/apis` and each group version's resource list. */
export function discoveryDocuments(table: KindTable): Map<string, JsonObject> {
  const groups = new Map<string, { preferred: string; versions: Set<string> }>();
  const lists = new Map<string, JsonObject[]>();
  for (const [kind, rs] of table) {
    for (const r of rs) {
      if (r.resource.includes('/')) continue;
      const versions = [r.version, ...(r.otherVersions ?? [])];
      if (r.group !== '') {
        const g = groups.get(r.group) ?? { preferred: r.version, versions: new Set<string>() };
        for (const v of versions) g.versions.add(v);
        groups.set(r.group, g);
      }
      for (const v of versions) {
        const path = r.group ? `/apis/${r.group}/${v}` : `/api/${v}`;
        lists.set(path, [...(lists.get(path) ?? []), { name: r.resource, kind, namespaced: r.namespaced !== false, verbs: servedVerbs(r.group) }]);
      }
    }
  }
  const out = new Map<string, JsonObject>();
  out.set('/api', { kind: 'APIVersions', versions: ['v1'] });
  out.set('/apis', {
    kind: 'APIGroupList',
    groups: [...groups].map(([name, g]) => ({
      name,
      versions: [...g.versions].map((v) => ({ groupVersion: `${name}/${v}`, version: v })),
      preferredVersion: { groupVersion: `${name}/${g.preferred}`, version: g.preferred },
    })),
  });
  for (const [path, resources] of lists) out.set(path, { kind: 'APIResourceList', groupVersion: path.replace(/^\/apis?\//, ''), resources });
  return out;
}

/**
 * The KubeClient calls of the webhook's background code, answered from the store. With an
 * `admission`, its writes go through admission first, as the API server sends a controller's
 * writes to the webhooks like anyone else's.
 */
export class StoreClient {
  constructor(
    private readonly store: ObjectStore,
    private readonly admission?: Admission,
    private readonly options: StoreClientOptions = {},
  ) {}
  async get(ref: ObjectRef): Promise<JsonObject | undefined> {
    return this.store.get(ref);
  }
  async list(apiVersion: string, kind: string, namespace?: string, labelSelector?: string): Promise<JsonObject[]> {
    // No namespace in the path (an empty one included) lists across all namespaces, as the API server does.
    return this.store.list(apiVersion, kind, namespace || undefined, labelSelector);
  }
  /** A metadata-only list (kube-api listMetadata): PartialObjectMetadata items, as the API server answers one. */
  async listMetadata(apiVersion: string, kind: string, namespace?: string): Promise<JsonObject[]> {
    return (await this.list(apiVersion, kind, namespace)).map((o) => ({ apiVersion: 'meta.k8s.io/v1', kind: 'PartialObjectMetadata', metadata: o.metadata }));
  }
  async create(obj: JsonObject): Promise<JsonObject> {
    this.namespaceExists(obj);
    if (!this.admission) return this.store.create(obj);
    if (this.store.get(refOfObject(obj))) throw new KubeError(409, 'AlreadyExists', `${String(obj.kind)} "${String(asObject(obj.metadata).name)}" already exists`);
    return (await this.admission('CREATE', obj, null))!;
  }
  /** An update through admission (when there is one), else straight into the store. */
  private async update(next: JsonObject, live: JsonObject): Promise<JsonObject> {
    return this.admission ? (await this.admission('UPDATE', next, live))! : this.store.replace(next);
  }
  /** The API server refuses an object in a namespace that does not exist (or is being deleted). */
  private namespaceExists(obj: JsonObject): void {
    const ns = asObject(obj.metadata).namespace;
    if (typeof ns === 'string' && ns && this.store.isNamespaced(String(obj.apiVersion), String(obj.kind)) && !this.store.hasNamespace(ns)) {
      throw new KubeError(404, 'NotFound', `namespaces "${ns}" not found`);
    }
  }
  /** A watch of one kind (any version of its group, every namespace) over the store's changes. */
  async watchKind(apiVersion: string, kind: string, _resourceVersion: string, onEvent: (e: StoreEvent) => void, signal: AbortSignal): Promise<void> {
    const group = apiGroup(apiVersion);
    const unsubscribe = this.store.subscribe((e) => {
      if (e.object.kind === kind && apiGroup(String(e.object.apiVersion)) === group) onEvent({ type: e.type, object: { ...e.object, apiVersion } });
    });
    if (signal.aborted) unsubscribe();
    else signal.addEventListener('abort', unsubscribe, { once: true });
  }
  async replace(obj: JsonObject, subresource?: string): Promise<JsonObject> {
    const live = this.store.get(refOfObject(obj));
    if (!live) throw new KubeError(404, 'NotFound', `${String(obj.kind)} "${String(asObject(obj.metadata).name)}" not found`);
    // A status write changes only the status (no webhook of ours registers for it).
    if (subresource === 'status') return this.store.replace({ ...live, status: obj.status });
    return this.update(obj, live);
  }
  /**
   * Server-side apply as the webhook's one field manager: the fields it applied before and
   * leaves out now are removed, the fields it applies are set (maps merged, lists and values
   * replaced: every list counts as atomic here), and fields others wrote stay.
   */
  async apply(obj: JsonObject): Promise<JsonObject> {
    this.namespaceExists(obj);
    const key = refKey(refOfObject(obj));
    const live = this.store.get(refOfObject(obj));
    const applied = leafPaths(obj);
    if (!live) {
      this.applied.set(key, applied);
      return this.admission ? (await this.admission('CREATE', obj, null))! : this.store.create(obj);
    }
    let next: JsonObject = live;
    for (const path of this.applied.get(key) ?? []) if (!applied.includes(path)) next = removePath(next, JSON.parse(path) as string[]);
    next = mergeApplied(next, obj) as JsonObject;
    this.applied.set(key, applied);
    return this.update(next, live);
  }
  /** The fields the webhook last applied, per object (JSON-encoded paths). */
  private readonly applied = new Map<string, string[]>();
  async delete(ref: ObjectRef, opts: { propagationPolicy?: 'Background' | 'Foreground' | 'Orphan' | null } = {}): Promise<boolean> {
    const live = this.store.get(ref);
    // KubeClient's default: Background unless the caller leaves it to the server (null).
    if (live) this.options.onDelete?.(live, opts.propagationPolicy === undefined ? 'Background' : opts.propagationPolicy);
    if (!this.admission) return this.store.delete(ref);
    if (!live) return false;
    await this.admission('DELETE', null, live);
    return true;
  }
  /**
   * The resource a stored CustomResourceDefinition serves for a kind at a served version (the
   * UpdateRequest CRD Kyverno's install stores, so the background controller persists its work
   * as in a cluster); built-in kinds get no discovery beyond the known kinds.
   */
  async resourceFor(apiVersion: string, kind: string): Promise<ResourceInfo | undefined> {
    const served = this.store.servedByCrd(apiVersion, kind);
    return served && { plural: served.plural, namespaced: served.namespaced, verbs: servedVerbs(apiGroup(apiVersion)) };
  }
  /**
   * A watch of a collection path (`/apis/G/V[/namespaces/NS]/PLURAL`) of a kind a stored CRD
   * serves, over the store's changes; it lasts until `signal` aborts, as a watch the server
   * never closes.
   */
  async watch(path: string, _resourceVersion: string, onEvent: (e: StoreEvent) => void, signal?: AbortSignal): Promise<void> {
    const m = /^\/apis\/([^/]+)\/([^/]+)(?:\/namespaces\/([^/]+))?\/([^/]+)$/.exec(path);
    const served = m ? this.store.crdKinds().find((k) => k.group === m[1] && k.versions.includes(m[2]) && k.plural === m[4]) : undefined;
    if (!m || !served) throw new KubeError(404, 'NotFound', `watch ${path} is not served offline`);
    const namespace = m[3] && decodeURIComponent(m[3]);
    await new Promise<void>((resolve) => {
      const unsubscribe = this.store.subscribe((e) => {
        if (e.object.kind !== served.kind || apiGroup(String(e.object.apiVersion)) !== served.group) return;
        if (namespace && asObject(e.object.metadata).namespace !== namespace) return;
        onEvent({ type: e.type, object: { ...e.object, apiVersion: `${m[1]}/${m[2]}` } });
      });
      const stop = () => (unsubscribe(), resolve());
      if (!signal || signal.aborted) stop();
      else signal.addEventListener('abort', stop, { once: true });
    });
  }
  /** The object path of a ref as the API server serves it (discovery's plural and scope). */
  async pathFor(ref: ObjectRef): Promise<string> {
    const group = apiGroup(ref.apiVersion);
    const entry = this.discovered()?.get(ref.kind)?.find((r) => r.group === group && !r.resource.includes('/'));
    if (!entry) throw new KubeError(404, 'NotFound', `the cluster does not serve ${ref.kind} (${ref.apiVersion})`);
    const base = group ? `/apis/${ref.apiVersion}` : `/api/${ref.apiVersion}`;
    const ns = entry.namespaced !== false ? `/namespaces/${ref.namespace ?? 'default'}` : '';
    return `${base}${ns}/${entry.resource}${ref.name ? `/${ref.name}` : ''}`;
  }
  /** A merge patch of an object's status subresource (the webhooks are not called for it). */
  private patchStatus(path: string, body: unknown): JsonObject {
    const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))(?:\/namespaces\/([^/]+))?\/([^/]+)\/([^/]+)\/status$/.exec(path);
    const group = m ? (m[1] ? '' : m[2]) : '';
    const kind = m && ([...(this.discovered() ?? (new Map() as KindTable)).entries()].find(([, rs]) => rs.some((r) => r.group === group && r.resource === m[5]))?.[0] ?? this.store.crdKinds().find((k) => k.group === group && k.plural === m[5])?.kind);
    if (!m || !kind) throw new KubeError(404, 'NotFound', `PATCH ${path} is not served offline`);
    const ref = { apiVersion: m[1] ?? `${m[2]}/${m[3]}`, kind, namespace: m[4], name: m[6] };
    const live = this.store.get(ref);
    if (!live) throw new KubeError(404, 'NotFound', `${kind} "${ref.name}" not found`);
    return this.store.replace({ ...live, status: mergeObjects(live.status ?? {}, asObject(asObject(body).status)) as JsonObject });
  }
  private served: { revision: number; table: KindTable; documents?: Map<string, JsonObject> } | undefined;
  /** The kinds discovery serves, built again only after a write (a discovery pass asks once per group version). */
  private discovered(): KindTable | undefined {
    if (!this.options.discovery) return undefined;
    if (this.served?.revision !== this.store.revision) this.served = { revision: this.store.revision, table: this.options.discovery() };
    return this.served.table;
  }
  private discoveryDocument(path: string): JsonObject | undefined {
    const table = this.discovered();
    if (!table || !this.served) return undefined;
    this.served.documents ??= discoveryDocuments(table);
    return this.served.documents.get(path);
  }
  async request(req: { method: string; path: string; body?: unknown }): Promise<unknown> {
    if (req.method === 'GET') {
      const answer = this.discoveryDocument(req.path);
      if (answer) return structuredClone(answer);
    }
    if (req.method === 'GET' && req.path === '/apis') return { groups: [] };
    if (req.method === 'PATCH' && req.path.endsWith('/status')) return this.patchStatus(req.path, req.body);
    if (req.method === 'POST' && req.path === '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews' && this.options.self) {
      const body = typeof req.body === 'string' ? (JSON.parse(req.body) as unknown) : req.body;
      if (!isJsonObject(body) || body.kind !== 'SelfSubjectAccessReview') throw new KubeError(400, 'BadRequest', 'the body is not a SelfSubjectAccessReview');
      return answerAccessReview(this.store.all(), body, this.options.self);
    }
    // The authorizer's answer from the RBAC objects stored (authorizer.ts).
    if (req.method === 'POST' && req.path === '/apis/authorization.k8s.io/v1/subjectaccessreviews') {
      const body = typeof req.body === 'string' ? (JSON.parse(req.body) as unknown) : req.body;
      if (!isJsonObject(body) || body.kind !== 'SubjectAccessReview') throw new KubeError(400, 'BadRequest', 'the body is not a SubjectAccessReview');
      return answerAccessReview(this.store.all(), body);
    }
    // A GET of an object or a list, as the API server serves it (apiCall context entries).
    if (req.method === 'GET' && /^\/apis?\//.test(req.path)) {
      const answer = apiServerAnswer(req.path, this.store.all());
      if (answer.found) return answer.body;
      throw new KubeError(404, 'NotFound', answer.reason);
    }
    throw new KubeError(404, 'NotFound', `${req.method} ${req.path} is not served offline`);
  }
  asKubeClient(): KubeClient {
    return this as unknown as KubeClient;
  }
}

/**
 * The store read as the webhook's LiveContext reads the API server (webhook/live-context.ts):
 * every object of the read's group and resource (in any stored version: the API server converts
 * between served versions), in its namespace and with its name when the read names them. The
 * objects are handed over at once; nothing is watched, the caller reads the state and closes.
 * A read `refusal` names (the API server's RBAC check) is refused with its message instead.
 */
export function storeReads(store: ObjectStore, refusal?: (read: ContextRead) => string | undefined): ReadSource {
  return {
    watch(read, onObjects, _signal, onRefused) {
      // The API server authorizes the read before anything else (our service account's RBAC).
      const refused = refusal?.(read);
      if (refused !== undefined && onRefused) return onRefused(refused);
      const objects = store.all().filter((o) => {
        const meta = asObject(o.metadata);
        return apiGroup(String(o.apiVersion ?? '')) === read.group && resourceNameOf(o) === read.resource &&
          (read.namespace === undefined || meta.namespace === read.namespace) && (read.name === undefined || meta.name === read.name);
      });
      const apiVersion = read.group ? `${read.group}/${read.version}` : read.version;
      onObjects(objects.map((o) => ({ ...o, apiVersion })));
    },
  };
}

/**
 * The ConfigMap `name` in `namespace` as the webhook's configuration watcher follows it on the
 * API server (webhook/kyverno-config.ts apiServerConfigMap): the stored object now, then each
 * change to it, told as it happens.
 */
export function storeConfigMap(store: ObjectStore, namespace: string, name: string): ConfigMapSource {
  return (onChange, signal) => {
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace, name };
    const unsubscribe = store.subscribe((e) => {
      const meta = asObject(e.object.metadata);
      if (e.object.kind !== 'ConfigMap' || apiGroup(String(e.object.apiVersion)) !== '' || meta.namespace !== namespace || meta.name !== name) return;
      onChange(e.type === 'DELETED' ? undefined : e.object);
    });
    signal.addEventListener('abort', unsubscribe, { once: true });
    onChange(store.get(ref));
  };
}
