/** Just enough API server for the primary's background work: objects by kind/namespace/name, a call log, injectable failures. */
import { KubeConfig } from '@kubernetes/client-node';
import { apiServerAnswer } from '../../engine/context';
import { KubeClient, KubeError, refOf, type JsonObject, type ObjectRef, type ResourceInfo } from '../../kube-api/client';

const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole']);
const clone = <T>(o: T): T => JSON.parse(JSON.stringify(o)) as T;
const meta = (o: JsonObject) => (o.metadata ?? {}) as JsonObject;

/** Just enough API server: objects by kind/namespace/name, call log, injectable failures. */
export class FakeApi extends KubeClient {
  /** Kinds resourceFor answers (UpdateRequest when the test says the CRD is served). */
  readonly served = new Set<string>();
  private generated = 0;
  readonly objects = new Map<string, JsonObject>();
  readonly calls: string[] = [];
  /** Fails the next calls of a verb with these errors, in order. */
  readonly failures: Record<string, Error[]> = {};
  /** Give created objects a uid, as an API server does. */
  assignUids = false;
  private readonly watchers = new Set<(object: JsonObject, deleted: boolean) => void>();

  /** Every later write is told to `watcher` as a watch of every kind would tell it (the object as stored). */
  subscribe(watcher: (object: JsonObject, deleted: boolean) => void): void {
    this.watchers.add(watcher);
  }
  private tell(object: JsonObject, deleted = false): void {
    for (const w of this.watchers) w(clone(object), deleted);
  }

  constructor() {
    const kc = new KubeConfig();
    kc.loadFromOptions({ clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }], users: [{ name: 'u' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
    super(kc);
  }
  key(r: Pick<ObjectRef, 'kind' | 'name' | 'namespace'>): string {
    return `${r.kind}/${CLUSTER_SCOPED.has(r.kind) ? '' : r.namespace ?? 'default'}/${r.name}`;
  }
  put(o: JsonObject): void {
    this.objects.set(this.key(refOf(o)), clone(o));
    this.tell(o);
  }
  find(kind: string, name: string, namespace?: string): JsonObject | undefined {
    return this.objects.get(this.key({ kind, name, namespace }));
  }
  private call(verb: string, what: string): void {
    this.calls.push(`${verb} ${what}`);
    const e = this.failures[verb]?.shift();
    if (e) throw e;
  }
  /** GETs of API paths only (apiCall context entries), answered from the objects. */
  override async request<T>(o?: { method: string; path: string; body?: unknown }): Promise<T> {
    // A merge patch of an UpdateRequest's status subresource (the background controller's state changes).
    const status = o?.method === 'PATCH' ? /^\/apis\/[^/]+\/[^/]+\/namespaces\/([^/]+)\/updaterequests\/([^/]+)\/status$/.exec(o.path) : null;
    if (status) {
      const k = this.key({ kind: 'UpdateRequest', namespace: decodeURIComponent(status[1]), name: decodeURIComponent(status[2]) });
      this.call('patch-status', k);
      const live = this.objects.get(k);
      if (!live) throw new KubeError(404, 'NotFound', `${k} not found`);
      const next: JsonObject = { ...((live.status ?? {}) as JsonObject) };
      for (const [key, v] of Object.entries(((o!.body ?? {}) as JsonObject).status as JsonObject)) {
        if (v === null) delete next[key];
        else next[key] = clone(v);
      }
      const stored = { ...live, status: next };
      this.objects.set(k, stored);
      this.tell(stored);
      return clone(stored) as T;
    }
    // Discovery's group list: no group beyond the built-in kinds (kube-api/discovery.ts then keeps its table).
    if (o?.method === 'GET' && o.path === '/apis') return { groups: [] } as T;
    if (o?.method === 'GET' && /^\/apis?\//.test(o.path)) {
      this.call('request', o.path);
      const answer = apiServerAnswer(o.path, [...this.objects.values()]);
      if (answer.found) return clone(answer.body) as T;
      throw new KubeError(404, 'NotFound', answer.reason);
    }
    throw new Error('no raw requests here');
  }
  /** A watch that tells nothing and lasts until `signal` aborts (the tests drive work through enqueue). */
  override async watch(_path: string, _rv: string, _onEvent: unknown, signal?: AbortSignal): Promise<void> {
    await new Promise<void>((resolve) => (!signal || signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
  }
  override async get(ref: ObjectRef) {
    this.call('get', this.key(ref));
    const o = this.objects.get(this.key(ref));
    return o && clone(o);
  }
  override async list(_apiVersion: string, kind: string, namespace?: string, labelSelector?: string) {
    this.call('list', `${kind}/${namespace ?? '*'}${labelSelector ? `?${labelSelector}` : ''}`);
    // Equality selectors only (`k=v,k2=`), which is all the webhook sends.
    const wanted = (labelSelector ?? '').split(',').filter(Boolean).map((p) => p.split('=') as [string, string]);
    const selected = (o: JsonObject) => wanted.every(([k, v]) => ((meta(o).labels ?? {}) as Record<string, string>)[k] === v);
    return [...this.objects.values()].filter((o) => o.kind === kind && (!namespace || meta(o).namespace === namespace) && selected(o)).map(clone);
  }
  /** A metadata-only list: each object as a PartialObjectMetadata (its metadata alone). */
  override async listMetadata(_apiVersion: string, kind: string, namespace?: string) {
    this.call('listMetadata', `${kind}/${namespace ?? '*'}`);
    return [...this.objects.values()]
      .filter((o) => o.kind === kind && (!namespace || meta(o).namespace === namespace))
      .map((o) => ({ apiVersion: 'meta.k8s.io/v1', kind: 'PartialObjectMetadata', metadata: clone(meta(o)) }));
  }
  override async resourceFor(_apiVersion: string, kind: string): Promise<ResourceInfo | undefined> {
    return this.served.has(kind) ? ({ kind } as unknown as ResourceInfo) : undefined;
  }
  override async create(obj: JsonObject) {
    if (!meta(obj).name && meta(obj).generateName) obj = { ...obj, metadata: { ...meta(obj), name: `${String(meta(obj).generateName)}${++this.generated}` } };
    const k = this.key(refOf(obj));
    this.call('create', k);
    if (this.objects.has(k)) throw new KubeError(409, 'AlreadyExists', `${k} already exists`);
    if (this.assignUids && !meta(obj).uid) obj = { ...obj, metadata: { ...meta(obj), uid: `uid-${++this.generated}` } };
    this.objects.set(k, clone(obj));
    this.tell(obj);
    return clone(obj);
  }
  override async apply(obj: JsonObject, opts: { force?: boolean } = {}) {
    const k = this.key(refOf(obj));
    this.call(opts.force ? 'apply-force' : 'apply', k);
    this.objects.set(k, clone(obj));
    this.tell(obj);
    return clone(obj);
  }
  override async replace(obj: JsonObject, subresource?: string) {
    const k = this.key(refOf(obj));
    this.call('replace', subresource ? `${k}/${subresource}` : k);
    const live = this.objects.get(k);
    if (!live) throw new KubeError(404, 'NotFound', `${k} not found`);
    if (meta(obj).resourceVersion !== meta(live).resourceVersion) throw new KubeError(409, 'Conflict', `${k}: the object has been modified`);
    // An update keeps the object's uid, as the API server does.
    const uid = meta(live).uid === undefined ? {} : { uid: meta(live).uid };
    const stored = { ...clone(obj), metadata: { ...meta(obj), ...uid, resourceVersion: String(Number(meta(live).resourceVersion ?? 0) + 1) } };
    this.objects.set(k, stored);
    this.tell(stored);
    // The object as stored (its new resourceVersion), as the API server answers an update.
    return clone(stored);
  }
  override async delete(ref: ObjectRef) {
    this.call('delete', this.key(ref));
    const live = this.objects.get(this.key(ref));
    const deleted = this.objects.delete(this.key(ref));
    if (live) this.tell(live, true);
    return deleted;
  }
}

