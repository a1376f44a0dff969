/**
 * Keeps an up-to-date set of objects of some kinds: list, then watch from the list's
 * resourceVersion; a closed or failed watch relists after a backoff. A kind whose CRD is not
 * installed is retried until it appears, so installing a CRD later is picked up. Shared by
 * the in-cluster webhook (policies) and the extension's Policy Reports view (reports).
 */
import { KubeError } from './errors';
import type { KubeClient } from './client';

type Json = Record<string, unknown>;

export interface WatchedKind {
  apiVersion: string;
  kind: string;
  /** Older versions to use when the cluster does not serve `apiVersion` (older Kyverno CRDs). */
  fallbacks?: string[];
  /** Only this namespace (default: every namespace). */
  namespace?: string;
  /** A field selector listed and watched server-side (`metadata.name=x`: RBAC resourceNames apply). */
  fieldSelector?: string;
}

export interface ObjectStore {
  /** All objects of all watched kinds, by "apiVersion|kind|namespace|name". */
  objects: Map<string, Json>;
  /** True once every kind has been listed (or found missing) once. */
  synced: boolean;
}

function key(apiVersion: string, kind: string, o: Json): string {
  const meta = (o.metadata ?? {}) as Json;
  return `${apiVersion}|${kind}|${String(meta.namespace ?? '')}|${String(meta.name)}`;
}

/** `path` with the selectors that are set, as a query string. */
function withQuery(path: string, query: Record<string, string | undefined>): string {
  const set = Object.entries(query).filter((e): e is [string, string] => !!e[1]);
  return set.length ? `${path}?${set.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}` : path;
}

/** Waits `ms` or until `signal` aborts; the abort listener goes when the wait ends (no leak per retry). */
const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((r) => {
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      r();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });

/**
 * Called synchronously on every change of the store, before the debounced `onChange`: `next`
 * is the new object, undefined when it went (deleted, or absent from a relist). Lets a caller
 * keep derived state incrementally instead of recomputing it from the whole store.
 */
export type ObjectChange = (key: string, next: Json | undefined, previous: Json | undefined) => void;

/**
 * Watches `kinds`; calls `onChange(store)` (debounced) whenever the set changes. Resolves when
 * `signal` aborts. Errors are reported through `log` and retried; they never end the watch.
 */
export async function watchKinds(
  client: KubeClient,
  kinds: WatchedKind[],
  onChange: (store: ObjectStore) => void,
  log: (line: string) => void,
  signal: AbortSignal,
  debounceMs = 200,
  onObject?: ObjectChange,
  /** Only objects with these labels (a label selector), listed and watched server-side. */
  labelSelector?: string,
  /** Each failed list or watch (before the retry): a caller may act on a refusal (403). */
  onError?: (e: unknown) => void,
): Promise<void> {
  const store: ObjectStore = { objects: new Map(), synced: false };
  const put = (k: string, o: Json) => {
    const prev = store.objects.get(k);
    store.objects.set(k, o);
    onObject?.(k, o, prev);
  };
  const drop = (k: string) => {
    const prev = store.objects.get(k);
    if (prev === undefined) return;
    store.objects.delete(k);
    onObject?.(k, undefined, prev);
  };
  const listed = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  const changed = () => {
    if (!store.synced) return;
    clearTimeout(timer);
    timer = setTimeout(() => onChange(store), debounceMs);
  };
  const markListed = (k: WatchedKind) => {
    listed.add(`${k.apiVersion}|${k.kind}`);
    if (!store.synced && listed.size === kinds.length) {
      store.synced = true;
      onChange(store);
    }
  };

  const one = async (wanted: WatchedKind) => {
    let backoff = 1000;
    while (!signal.aborted) {
      try {
        let k = wanted;
        for (const v of [wanted.apiVersion, ...(wanted.fallbacks ?? [])]) {
          if (await client.resourceFor(v, wanted.kind)) {
            k = { ...wanted, apiVersion: v };
            break;
          }
        }
        const info = await client.resourceFor(k.apiVersion, k.kind);
        if (!info) {
          client.forgetDiscovery();
          markListed(wanted);
          await sleep(10_000, signal);
          continue;
        }
        const path = await client.pathFor({ apiVersion: k.apiVersion, kind: k.kind, namespace: wanted.namespace });
        const clusterPath = wanted.namespace === undefined ? path.replace(/\/namespaces\/[^/]+/, '') : path;
        const selectors = { labelSelector, fieldSelector: wanted.fieldSelector };
        const list = await client.request<{ metadata?: { resourceVersion?: string }; items?: Json[] }>({ method: 'GET', path: clusterPath, query: selectors });
        const prefix = `${k.apiVersion}|${k.kind}|`;
        const listedKeys = new Set<string>();
        for (const item of list.items ?? []) {
          const k2 = key(k.apiVersion, k.kind, item);
          listedKeys.add(k2);
          put(k2, { apiVersion: k.apiVersion, kind: k.kind, ...item });
        }
        for (const existing of [...store.objects.keys()]) if (existing.startsWith(prefix) && !listedKeys.has(existing)) drop(existing);
        markListed(wanted);
        changed();
        let rv = list.metadata?.resourceVersion ?? '';
        backoff = 1000;
        // Re-watch from the last seen version until the server says it is too old (410).
        while (!signal.aborted) {
          await client.watch(
            withQuery(clusterPath, selectors),
            rv,
            (e) => {
              const meta = (e.object?.metadata ?? {}) as Json;
              if (meta.resourceVersion) rv = String(meta.resourceVersion);
              if (e.type === 'ERROR') throw new KubeError(Number((e.object as Json).code ?? 500), '', String((e.object as Json).message ?? 'watch error'));
              if (e.type === 'BOOKMARK') return;
              const k2 = key(k.apiVersion, k.kind, e.object);
              if (e.type === 'DELETED') drop(k2);
              else put(k2, { apiVersion: k.apiVersion, kind: k.kind, ...e.object });
              changed();
            },
            signal,
          );
        }
      } catch (e) {
        if (signal.aborted) break;
        onError?.(e);
        if (!(e instanceof KubeError && e.status === 410)) log(`watch ${wanted.kind}: ${(e as Error).message}; retrying in ${backoff / 1000}s`);
        await sleep(backoff, signal);
        backoff = Math.min(backoff * 2, 30_000);
      }
    }
  };
  await Promise.all(kinds.map(one));
  clearTimeout(timer);
}
