/**
 * A small REST client on top of @kubernetes/client-node's KubeConfig: the KubeConfig does
 * authentication (tokens, client certificates, exec plugins such as `aws eks get-token`),
 * this file does the requests, so server-side apply, dry runs and status codes stay explicit.
 */
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { request as httpRequest } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';

export { FIELD_MANAGER, KubeError, conflictText, describeRef, refOf, type JsonObject, type ObjectRef } from './errors';
import { FIELD_MANAGER, KubeError, refOf, type JsonObject, type ObjectRef } from './errors';
import { TokenBucket } from './rate-limit';

export interface ResourceInfo {
  /** Plural resource name, e.g. "deployments". */
  plural: string;
  namespaced: boolean;
  verbs: string[];
}

export interface RequestOptionsLite {
  method: string;
  path: string;
  body?: unknown;
  contentType?: string;
  query?: Record<string, string | undefined>;
  timeoutMs?: number;
  /** The Accept header; JSON unless given. */
  accept?: string;
}

/** The Accept header of a metadata-only list (client-go metadata client's, without protobuf). */
const METADATA_LIST_ACCEPT = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';

export class KubeClient {
  private discovery = new Map<string, Promise<Map<string, ResourceInfo>>>();
  private limiter?: TokenBucket;

  constructor(readonly config: KubeConfig) {}

  /** client-go's client-side rate limit on every request and watch from now on (none by default). */
  rateLimit(qps: number, burst: number): this {
    this.limiter = new TokenBucket(qps, burst);
    return this;
  }

  static fromKubeconfig(path?: string, context?: string): KubeClient {
    const kc = new KubeConfig();
    try {
      if (path) kc.loadFromFile(path);
      else kc.loadFromDefault();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new Error(`cannot load the kubeconfig ${path ?? process.env.KUBECONFIG ?? '~/.kube/config'}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
    if (context) {
      if (!kc.getContexts().some((c) => c.name === context)) throw new Error(`kubeconfig has no context "${context}"`);
      kc.setCurrentContext(context);
    }
    if (!kc.getCurrentCluster()) throw new Error('the kubeconfig has no current context (set one with `kubectl config use-context`)');
    return new KubeClient(kc);
  }

  async request<T = JsonObject>(o: RequestOptionsLite): Promise<T> {
    const cluster = this.config.getCurrentCluster();
    if (!cluster) throw new Error('no current cluster in the kubeconfig');
    await this.limiter?.take();
    const url = new URL(cluster.server.replace(/\/+$/, '') + o.path);
    for (const [k, v] of Object.entries(o.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const opts: RequestOptions = { method: o.method, headers: { accept: o.accept ?? 'application/json' } };
    await this.config.applyToHTTPSOptions(opts);
    const payload = o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
    const headers = { ...(opts.headers as Record<string, string>) };
    if (payload !== undefined) {
      headers['content-type'] = o.contentType ?? 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    return new Promise<T>((resolve, reject) => {
      const req = send(url, { ...opts, headers, timeout: o.timeoutMs ?? 60_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = undefined;
          try {
            parsed = text ? JSON.parse(text) : {};
          } catch {
            parsed = undefined;
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve((parsed ?? {}) as T);
          const s = (parsed ?? {}) as JsonObject;
          const message = typeof s.message === 'string' ? s.message : text.slice(0, 300) || `HTTP ${status}`;
          reject(new KubeError(status, String(s.reason ?? ''), `${o.method} ${o.path}: ${message}`, s.details as JsonObject | undefined));
        });
      });
      req.on('timeout', () => req.destroy(new Error(`${o.method} ${o.path}: no answer within ${o.timeoutMs ?? 60_000} ms`)));
      req.on('error', (e) => reject(new Error(`cannot reach the API server ${cluster.server}: ${e.message}`)));
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /** Resources of one group/version, by kind (cached per client; `forget` after installing CRDs). */
  private resources(apiVersion: string): Promise<Map<string, ResourceInfo>> {
    let p = this.discovery.get(apiVersion);
    if (!p) {
      const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      p = this.request<{ resources?: Array<{ name: string; kind: string; namespaced: boolean; verbs: string[] }> }>({ method: 'GET', path }).then(
        (list) => new Map((list.resources ?? []).filter((r) => !r.name.includes('/')).map((r) => [r.kind, { plural: r.name, namespaced: r.namespaced, verbs: r.verbs }])),
        (e) => {
          this.discovery.delete(apiVersion);
          if (e instanceof KubeError && e.status === 404) return new Map<string, ResourceInfo>();
          throw e;
        },
      );
      this.discovery.set(apiVersion, p);
    }
    return p;
  }

  forgetDiscovery(): void {
    this.discovery.clear();
  }

  /** The resource for a kind, or undefined when the API server does not serve it. */
  async resourceFor(apiVersion: string, kind: string): Promise<ResourceInfo | undefined> {
    return (await this.resources(apiVersion)).get(kind);
  }

  /** The kind a group/version serves under a plural resource name, or undefined. */
  async kindFor(apiVersion: string, plural: string): Promise<string | undefined> {
    for (const [kind, info] of await this.resources(apiVersion)) if (info.plural === plural) return kind;
    return undefined;
  }

  async pathFor(ref: Pick<ObjectRef, 'apiVersion' | 'kind' | 'namespace'> & { name?: string }): Promise<string> {
    const info = await this.resourceFor(ref.apiVersion, ref.kind);
    if (!info) throw new KubeError(404, 'NotFound', `the cluster does not serve ${ref.kind} (${ref.apiVersion}); is its CRD installed?`);
    const base = ref.apiVersion.includes('/') ? `/apis/${ref.apiVersion}` : `/api/${ref.apiVersion}`;
    const ns = info.namespaced ? `/namespaces/${encodeURIComponent(ref.namespace ?? 'default')}` : '';
    return `${base}${ns}/${info.plural}${ref.name ? `/${encodeURIComponent(ref.name)}` : ''}`;
  }

  async get(ref: ObjectRef): Promise<JsonObject | undefined> {
    try {
      return await this.request({ method: 'GET', path: await this.pathFor(ref) });
    } catch (e) {
      if (e instanceof KubeError && e.status === 404) return undefined;
      throw e;
    }
  }

  /** `limit`: at most that many (the API server's paging; the rest is not fetched). */
  async list(apiVersion: string, kind: string, namespace?: string, labelSelector?: string, limit?: number): Promise<JsonObject[]> {
    const items = await this.listItems(apiVersion, kind, namespace, { labelSelector, ...(limit !== undefined && limit > 0 ? { limit: String(limit) } : {}) });
    return items.map((i) => ({ apiVersion, kind, ...i }));
  }

  /**
   * The objects' metadata alone, as client-go's metadata client lists them: the API server
   * answers a PartialObjectMetadataList (apiVersion meta.k8s.io/v1, kind PartialObjectMetadata
   * items: no spec, no status). Every namespace unless one is given.
   */
  async listMetadata(apiVersion: string, kind: string, namespace?: string): Promise<JsonObject[]> {
    return this.listItems(apiVersion, kind, namespace, {}, METADATA_LIST_ACCEPT);
  }

  private async listItems(apiVersion: string, kind: string, namespace: string | undefined, query: Record<string, string | undefined>, accept?: string): Promise<JsonObject[]> {
    const info = await this.resourceFor(apiVersion, kind);
    if (!info) return [];
    const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const ns = info.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
    let list: { items?: JsonObject[] };
    try {
      list = await this.request<{ items?: JsonObject[] }>({ method: 'GET', path: `${base}${ns}/${info.plural}`, query, accept });
    } catch (e) {
      // The CRD went away since discovery was cached: nothing to list.
      if (e instanceof KubeError && e.status === 404) {
        this.discovery.delete(apiVersion);
        return [];
      }
      throw e;
    }
    return list.items ?? [];
  }

  /** Server-side apply as `kyverno-studio`; `force` takes over fields other managers own. */
  async apply(obj: JsonObject, opts: { dryRun?: boolean; force?: boolean } = {}): Promise<JsonObject> {
    const ref = refOf(obj);
    return this.request({
      method: 'PATCH',
      path: await this.pathFor(ref),
      body: obj,
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: FIELD_MANAGER, force: opts.force ? 'true' : undefined, dryRun: opts.dryRun ? 'All' : undefined },
    });
  }

  async create(obj: JsonObject, opts: { dryRun?: boolean } = {}): Promise<JsonObject> {
    const ref = refOf(obj);
    const path = await this.pathFor({ ...ref, name: undefined });
    return this.request({ method: 'POST', path, body: obj, query: { fieldManager: FIELD_MANAGER, dryRun: opts.dryRun ? 'All' : undefined } });
  }

  /**
   * PUT: replaces the whole object. Custom resources, CRDs, webhook configurations and PDBs
   * refuse an update without metadata.resourceVersion, so callers pass the live one.
   * `subresource` ("status"): PUT to that subresource of the object instead.
   */
  async replace(obj: JsonObject, subresource?: string): Promise<JsonObject> {
    const path = await this.pathFor(refOf(obj));
    return this.request({ method: 'PUT', path: subresource ? `${path}/${encodeURIComponent(subresource)}` : path, body: obj, query: { fieldManager: FIELD_MANAGER } });
  }

  /**
   * Deletes; true when something was deleted, false when it was already gone. The propagation
   * policy is Background unless given; null leaves it to the API server (the kind's default).
   */
  async delete(ref: ObjectRef, opts: { dryRun?: boolean; propagationPolicy?: 'Foreground' | 'Background' | 'Orphan' | null } = {}): Promise<boolean> {
    const propagation = opts.propagationPolicy === undefined ? 'Background' : opts.propagationPolicy;
    try {
      await this.request({
        method: 'DELETE',
        path: await this.pathFor(ref),
        body: { kind: 'DeleteOptions', apiVersion: 'v1', ...(propagation ? { propagationPolicy: propagation } : {}), ...(opts.dryRun ? { dryRun: ['All'] } : {}) },
      });
      return true;
    } catch (e) {
      if (e instanceof KubeError && e.status === 404) return false;
      throw e;
    }
  }

  /**
   * A watch: newline-delimited events until the server closes the stream (resolves) or the
   * connection fails (rejects). `signal` closes it from our side.
   */
  async watch(path: string, resourceVersion: string, onEvent: (e: { type: string; object: JsonObject }) => void, signal?: AbortSignal): Promise<void> {
    const cluster = this.config.getCurrentCluster();
    if (!cluster) throw new Error('no current cluster in the kubeconfig');
    await this.limiter?.take();
    const url = new URL(cluster.server.replace(/\/+$/, '') + path);
    url.searchParams.set('watch', '1');
    url.searchParams.set('allowWatchBookmarks', 'true');
    url.searchParams.set('timeoutSeconds', String(240 + Math.floor(Math.random() * 120)));
    if (resourceVersion) url.searchParams.set('resourceVersion', resourceVersion);
    const opts: RequestOptions = { method: 'GET', headers: { accept: 'application/json' } };
    await this.config.applyToHTTPSOptions(opts);
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    return new Promise<void>((resolve, reject) => {
      const req = send(url, { ...opts, signal }, (res) => {
        if ((res.statusCode ?? 0) >= 300) {
          res.resume();
          return reject(new KubeError(res.statusCode ?? 0, '', `watch ${path}: HTTP ${res.statusCode}`));
        }
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (!line) continue;
            try {
              onEvent(JSON.parse(line) as { type: string; object: JsonObject });
            } catch (e) {
              req.destroy(e as Error);
            }
          }
        });
        res.on('end', () => resolve());
        res.on('error', reject);
      });
      req.on('error', (e) => (signal?.aborted ? resolve() : reject(e)));
      req.end();
    });
  }

  /** Waits until an object is gone (CRDs and namespaces finalize after the DELETE); false on timeout. */
  async waitGone(ref: ObjectRef, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      signal?.throwIfAborted();
      if (!(await this.get(ref))) return true;
      await new Promise((r) => setTimeout(r, 300));
    }
    return false;
  }

  async serverVersion(): Promise<{ gitVersion: string; major: string; minor: string }> {
    return this.request({ method: 'GET', path: '/version', timeoutMs: 15_000 });
  }
}
