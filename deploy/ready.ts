/**
 * Waiting for the webhook Deployment: all replicas updated and ready. While waiting, the pods'
 * container states explain a stall (image pull errors, crash loops) instead of a bare timeout.
 */
import type { KubeClient } from '../kube-api/client';

type Json = Record<string, unknown>;

export type ReadinessCheck = (client: KubeClient, namespace: string, name: string, signal?: AbortSignal) => Promise<void>;

export interface ReadyStatus {
  ready: boolean;
  detail: string;
}

/** Pure: is a Deployment object rolled out and ready? */
export function deploymentReady(deployment: Json): ReadyStatus {
  const meta = (deployment.metadata ?? {}) as Json;
  const spec = (deployment.spec ?? {}) as Json;
  const status = (deployment.status ?? {}) as Json;
  const want = typeof spec.replicas === 'number' ? spec.replicas : 1;
  const generation = Number(meta.generation ?? 0);
  const observed = Number(status.observedGeneration ?? 0);
  const updated = Number(status.updatedReplicas ?? 0);
  const ready = Number(status.readyReplicas ?? 0);
  const available = Number(status.availableReplicas ?? 0);
  const total = Number(status.replicas ?? 0);
  const ok = observed >= generation && updated >= want && ready >= want && available >= want && total <= want;
  return { ready: ok, detail: `${ready}/${want} ready, ${updated} updated${observed < generation ? ', rollout not observed yet' : ''}` };
}

function podProblems(pods: Json[]): string[] {
  const out: string[] = [];
  for (const pod of pods) {
    const name = String((pod.metadata as Json)?.name ?? '?');
    const status = (pod.status ?? {}) as Json;
    for (const c of (status.containerStatuses ?? []) as Json[]) {
      const waiting = ((c.state ?? {}) as Json).waiting as Json | undefined;
      if (waiting?.reason) out.push(`pod ${name}: ${String(waiting.reason)}${waiting.message ? `: ${String(waiting.message)}` : ''}`);
    }
    for (const cond of (status.conditions ?? []) as Json[]) {
      if (cond.type === 'PodScheduled' && cond.status === 'False') out.push(`pod ${name}: not scheduled: ${String(cond.message ?? cond.reason ?? '')}`);
    }
  }
  return out;
}

export function defaultReadiness(timeoutMs = 180_000): ReadinessCheck {
  return async (client, namespace, name, signal) => {
    const deadline = Date.now() + timeoutMs;
    let detail = '';
    for (;;) {
      signal?.throwIfAborted();
      const d = await client.get({ apiVersion: 'apps/v1', kind: 'Deployment', name, namespace });
      if (!d) throw new Error(`Deployment ${namespace}/${name} disappeared while waiting for it`);
      const s = deploymentReady(d);
      if (s.ready) return;
      detail = s.detail;
      if (Date.now() > deadline) {
        const pods = await client.list('v1', 'Pod', namespace, `app.kubernetes.io/name=${name}`).catch(() => []);
        const problems = podProblems(pods);
        throw new Error(
          `Deployment ${namespace}/${name} not ready after ${timeoutMs / 1000}s (${detail})` +
            (problems.length ? `:\n  ${problems.join('\n  ')}` : pods.length ? '' : ': no pods were created'),
        );
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  };
}
