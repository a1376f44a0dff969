/**
 * Keeps an up-to-date set of objects of some kinds: list, then watch from the list's
 * resourceVersion; a closed or failed watch relists after a backoff. A kind whose CRD is not
 * installed is retried until it appears, so installing a CRD later is picked up.
 */
import { KubeError } from '../kube-api/errors';
import type { KubeClient } from '../kube-api/client';

type Json = Record<string, unknown>;

export interface WatchedKind {
  apiVersion: string;
  kind: string;
  /** Older versions to use when the cluster does not serve `apiVersion` (older Kyverno CRDs). */
  fallbacks?: string[];
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
): Promise<void> {
  const store: ObjectStore = { objects: new Map(), synced: false };
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
        const path = await client.pathFor({ apiVersion: k.apiVersion, kind: k.kind, namespace: undefined });
        const clusterPath = path.replace(/\/namespaces\/[^/]+/, '');
        const list = await client.request<{ metadata?: { resourceVersion?: string }; items?: Json[] }>({ method: 'GET', path: clusterPath });
        const prefix = `${k.apiVersion}|${k.kind}|`;
        for (const existing of [...store.objects.keys()]) if (existing.startsWith(prefix)) store.objects.delete(existing);
        for (const item of list.items ?? []) store.objects.set(key(k.apiVersion, k.kind, item), { apiVersion: k.apiVersion, kind: k.kind, ...item });
        markListed(wanted);
        changed();
        let rv = list.metadata?.resourceVersion ?? '';
        backoff = 1000;
        // Re-watch from the last seen version until the server says it is too old (410).
        while (!signal.aborted) {
          await client.watch(
            clusterPath,
            rv,
            (e) => {
              const meta = (e.object?.metadata ?? {}) as Json;
              if (meta.resourceVersion) rv = String(meta.resourceVersion);
              if (e.type === 'ERROR') throw new KubeError(Number((e.object as Json).code ?? 500), '', String((e.object as Json).message ?? 'watch error'));
              if (e.type === 'BOOKMARK') return;
              const k2 = key(k.apiVersion, k.kind, e.object);
              if (e.type === 'DELETED') store.objects.delete(k2);
              else store.objects.set(k2, { apiVersion: k.apiVersion, kind: k.kind, ...e.object });
              changed();
            },
            signal,
          );
        }
      } catch (e) {
        if (signal.aborted) break;
        if (!(e instanceof KubeError && e.status === 410)) log(`watch ${wanted.kind}: ${(e as Error).message}; retrying in ${backoff / 1000}s`);
        await sleep(backoff, signal);
        backoff = Math.min(backoff * 2, 30_000);
      }
    }
  };
  await Promise.all(kinds.map(one));
  clearTimeout(timer);
}
