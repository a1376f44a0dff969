/**
 * The status Kyverno's admission controller writes on a GlobalContextEntry: after each
 * successful apiCall (made every refreshInterval, webhook/live-context.ts), the time in
 * `status.lastRefreshTime` (pkg/globalcontext/externalapi/entry.go updateStatus: the latest
 * object read again, UpdateStatus retried on conflict). Nothing else: Kyverno 1.19 writes no
 * Ready condition on these objects (GlobalContextEntryStatus.SetReady has no caller) and none
 * for kubernetesResource entries.
 */
import { asObject } from '../engine/core/json';
import type { JsonObject } from '../engine/core/types';
import type { KubeClient } from '../kube-api/client';
import { KubeError } from '../kube-api/errors';

/** Kyverno's metav1.Time: RFC 3339 in UTC, whole seconds. */
export function kubeTime(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** client-go's retry.DefaultRetry: five attempts. */
const CONFLICT_ATTEMPTS = 5;

export class GlobalContextStatusWriter {
  private queue: Promise<void> = Promise.resolve();
  /** The last refresh of each entry, written again by a replica that becomes the writer. */
  private readonly last = new Map<string, { entry: JsonObject; at: Date }>();

  constructor(
    private readonly client: Pick<KubeClient, 'get' | 'replace'>,
    private readonly log: (line: string) => void,
  ) {}

  /**
   * A successful refresh of `entry` at `at`: written now when this replica writes (`write`),
   * else remembered for `flush` (serialised; never throws).
   */
  refreshed(entry: JsonObject, at: Date, write = true): Promise<void> {
    this.last.set(String(asObject(entry.metadata).name ?? ''), { entry, at });
    return write ? this.enqueue(entry, at) : this.queue;
  }

  /** Writes the last refresh of every entry (a replica that just became the writer). */
  flush(): Promise<void> {
    for (const { entry, at } of this.last.values()) void this.enqueue(entry, at);
    return this.queue;
  }

  private enqueue(entry: JsonObject, at: Date): Promise<void> {
    this.queue = this.queue.then(() => this.write(entry, at)).catch((e: Error) => this.log(`global context: status of ${String(asObject(entry.metadata).name ?? '')}: ${e.message}`));
    return this.queue;
  }

  private async write(entry: JsonObject, at: Date): Promise<void> {
    const name = String(asObject(entry.metadata).name ?? '');
    const ref = { apiVersion: String(entry.apiVersion ?? 'kyverno.io/v2'), kind: 'GlobalContextEntry', name };
    for (let attempt = 1; ; attempt++) {
      const latest = await this.client.get(ref);
      if (!latest) {
        this.last.delete(name); // deleted meanwhile
        return;
      }
      try {
        await this.client.replace({ ...latest, status: { ...asObject(latest.status), lastRefreshTime: kubeTime(at) } }, 'status');
        return;
      } catch (e) {
        if (!(e instanceof KubeError && e.status === 409) || attempt >= CONFLICT_ATTEMPTS) throw e;
      }
    }
  }
}
