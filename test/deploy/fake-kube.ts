/**
 * An in-memory stand-in for the API server, enough for runDeploy: server-side apply (the
 * applier's entry in managedFields), PUT with the API server's rules that matter to a restore
 * (resourceVersion required for custom resources, webhook configurations and PDBs; a stale
 * one is a 409; managedFields taken from the body; a content change owned by the updater),
 * delete, and hooks to make single calls fail.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient, KubeError, refOf, describeRef, type JsonObject, type ObjectRef, type ResourceInfo } from '../../kube-api/client';
import { changedFields } from '../../deploy/diff';

const CLUSTER_SCOPED = new Set([
  'Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding', 'ClusterPolicy',
  'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration', 'ValidatingPolicy',
]);
/** Kinds whose strategy refuses an update without resourceVersion (AllowUnconditionalUpdate false). */
const CONDITIONAL_ONLY = new Set(['ClusterPolicy', 'Policy', 'CustomResourceDefinition', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration', 'PodDisruptionBudget']);

type Hook = (obj: JsonObject) => Error | undefined;

const clone = <T>(o: T): T => JSON.parse(JSON.stringify(o)) as T;
const meta = (o: JsonObject) => (o.metadata ?? {}) as JsonObject;

function fakeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: 'https://127.0.0.1:6443', skipTLSVerify: true }],
    users: [{ name: 'me' }],
    contexts: [{ name: 'fake-context', cluster: 'fake', user: 'me' }],
    currentContext: 'fake-context',
  });
  return kc;
}

export class FakeKube extends KubeClient {
  readonly store = new Map<string, JsonObject>();
  /** Every write, e.g. "PUT ClusterPolicy a", "DELETE MutatingWebhookConfiguration b". */
  readonly writes: string[] = [];
  failApply?: Hook;
  failReplace?: Hook;
  failDelete?: Hook;
  /** What a dry-run create (the smoke probe) gets back; undefined admits it. */
  dryRunCreate?: Hook;
  private rv = 100;
  private uid = 0;

  constructor() {
    super(fakeConfig());
  }

  key(ref: Pick<ObjectRef, 'kind' | 'name' | 'namespace'>): string {
    return `${ref.kind}/${CLUSTER_SCOPED.has(ref.kind) ? '' : (ref.namespace ?? 'default')}/${ref.name}`;
  }

  /** Puts an object in as if someone else had created it (`manager` owns all of it). */
  seed(obj: JsonObject, manager = 'kubectl'): JsonObject {
    const stored = clone(obj);
    const m = meta(stored);
    stored.metadata = { ...m, uid: `uid-${++this.uid}`, resourceVersion: String(++this.rv), creationTimestamp: '2026-01-01T00:00:00Z', managedFields: [{ manager, operation: 'Update', fieldsV1: { note: 'all' } }] };
    this.store.set(this.key(refOf(stored)), stored);
    return clone(stored);
  }

  object(kind: string, name: string, namespace?: string): JsonObject | undefined {
    const o = this.store.get(this.key({ kind, name, namespace }));
    return o && clone(o);
  }

  override async serverVersion() {
    return { gitVersion: 'v1.30.0', major: '1', minor: '30' };
  }

  override async resourceFor(_apiVersion: string, kind: string): Promise<ResourceInfo | undefined> {
    return { plural: `${kind.toLowerCase()}s`, namespaced: !CLUSTER_SCOPED.has(kind), verbs: ['get', 'list', 'create', 'update', 'patch', 'delete'] };
  }

  override forgetDiscovery(): void {}

  override async request<T>(req: { method: string; path: string }): Promise<T> {
    // Discovery answers with no groups: every kind keeps the built-in table's description.
    if (req.method === 'GET' && req.path === '/apis') return { groups: [] } as T;
    if (req.method === 'GET' && req.path === '/api/v1') return { resources: [] } as T;
    throw new Error('the fake API server has no raw requests');
  }

  override async get(ref: ObjectRef): Promise<JsonObject | undefined> {
    const o = this.store.get(this.key(ref));
    return o && clone(o);
  }

  override async list(_apiVersion: string, kind: string, namespace?: string, labelSelector?: string): Promise<JsonObject[]> {
    const [k, v] = (labelSelector ?? '').split('=');
    return [...this.store.values()]
      .filter((o) => o.kind === kind && (!namespace || meta(o).namespace === namespace))
      .filter((o) => !k || ((meta(o).labels ?? {}) as JsonObject)[k] === v)
      .map(clone);
  }

  override async apply(obj: JsonObject, opts: { dryRun?: boolean; force?: boolean } = {}): Promise<JsonObject> {
    const failure = opts.dryRun ? undefined : this.failApply?.(obj);
    if (failure && failure instanceof KubeError) throw failure;
    const key = this.key(refOf(obj));
    const live = this.store.get(key);
    const others = ((live ? meta(live).managedFields : []) as JsonObject[]).filter((m) => !(m.manager === 'kyverno-studio' && m.operation === 'Apply'));
    const next = clone(obj);
    next.metadata = {
      ...meta(next),
      uid: live ? meta(live).uid : `uid-${++this.uid}`,
      creationTimestamp: live ? meta(live).creationTimestamp : '2026-01-02T00:00:00Z',
      resourceVersion: opts.dryRun ? meta(live ?? next).resourceVersion : String(++this.rv),
      managedFields: [...others, { manager: 'kyverno-studio', operation: 'Apply', fieldsV1: { keys: Object.keys(obj).sort() } }],
    };
    if (opts.dryRun) return next;
    this.store.set(key, next);
    this.writes.push(`APPLY ${describeRef(refOf(obj))}`);
    // A timeout after the server applied it: the client cannot tell whether it landed.
    if (failure) throw failure;
    return clone(next);
  }

  override async create(obj: JsonObject, opts: { dryRun?: boolean } = {}): Promise<JsonObject> {
    if (opts.dryRun) {
      const answer = this.dryRunCreate?.(obj);
      if (answer) throw answer;
      return clone(obj);
    }
    const key = this.key(refOf(obj));
    if (this.store.has(key)) throw new KubeError(409, 'AlreadyExists', `POST: ${describeRef(refOf(obj))} already exists`);
    const m = meta(obj);
    if (m.resourceVersion) throw new KubeError(500, 'InternalError', 'POST: resourceVersion should not be set on objects to be created');
    const next = clone(obj);
    next.metadata = { ...m, uid: `uid-${++this.uid}`, resourceVersion: String(++this.rv), creationTimestamp: '2026-01-03T00:00:00Z' };
    this.store.set(key, next);
    this.writes.push(`CREATE ${describeRef(refOf(obj))}`);
    return clone(next);
  }

  override async replace(obj: JsonObject): Promise<JsonObject> {
    const ref = refOf(obj);
    const failure = this.failReplace?.(obj);
    if (failure) throw failure;
    const live = this.store.get(this.key(ref));
    const path = `PUT /apis/${ref.apiVersion}/${ref.kind.toLowerCase()}s/${ref.name}`;
    if (!live) throw new KubeError(404, 'NotFound', `${path}: not found`);
    const m = meta(obj);
    if (!m.resourceVersion && CONDITIONAL_ONLY.has(ref.kind)) {
      throw new KubeError(422, 'Invalid', `${path}: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update`);
    }
    if (m.resourceVersion && m.resourceVersion !== meta(live).resourceVersion) {
      throw new KubeError(409, 'Conflict', `${path}: the object has been modified; please apply your changes to the latest version and try again`);
    }
    if (m.uid && m.uid !== meta(live).uid) throw new KubeError(422, 'Invalid', `${path}: metadata.uid: field is immutable`);
    const asked = (m.managedFields ?? []) as JsonObject[];
    const reset = asked.length === 1 && Object.keys(asked[0]).length === 0;
    let managers = reset ? [] : asked.length ? clone(asked) : clone((meta(live).managedFields ?? []) as JsonObject[]);
    if (changedFields(live, obj).length) {
      managers = [...managers.filter((x) => !(x.manager === 'kyverno-studio' && x.operation === 'Update')), { manager: 'kyverno-studio', operation: 'Update', fieldsV1: { note: 'what changed' } }];
    }
    const next = clone(obj);
    next.metadata = { ...m, uid: meta(live).uid, creationTimestamp: meta(live).creationTimestamp, resourceVersion: String(++this.rv), managedFields: managers };
    this.store.set(this.key(ref), next);
    this.writes.push(`PUT ${describeRef(ref)}`);
    return clone(next);
  }

  override async delete(ref: ObjectRef): Promise<boolean> {
    const failure = this.failDelete?.(ref as unknown as JsonObject);
    if (failure) throw failure;
    const had = this.store.delete(this.key(ref));
    if (had) this.writes.push(`DELETE ${describeRef(ref)}`);
    return had;
  }

  override async waitGone(ref: ObjectRef): Promise<boolean> {
    return !this.store.has(this.key(ref));
  }
}

/** The object without what the server changes on every write, for "back as it was" checks. */
export function asFound(o: JsonObject | undefined): JsonObject | undefined {
  if (!o) return undefined;
  const { resourceVersion: _rv, ...rest } = meta(o);
  return { ...o, metadata: rest };
}
