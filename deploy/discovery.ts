/** What the cluster already has: served kinds, our CRDs, and an upstream Kyverno install. */
import { KubeClient, KubeError } from '../kube-api/client';

export { kindTable } from '../kube-api/discovery';
import type { CrdEntry } from './crds';

type Json = Record<string, unknown>;

export async function missingCrds(client: KubeClient, wanted: CrdEntry[]): Promise<CrdEntry[]> {
  const out: CrdEntry[] = [];
  for (const e of wanted) {
    const crd = await client.get({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: e.name });
    if (!crd) out.push(e);
  }
  return out;
}

/** Waits until each CRD reports Established, then forgets cached discovery. */
export async function waitEstablished(client: KubeClient, names: string[], timeoutMs = 60_000, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    for (;;) {
      signal?.throwIfAborted();
      const crd = await client.get({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name });
      const conditions = (((crd?.status ?? {}) as Json).conditions ?? []) as Json[];
      if (conditions.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} not established after ${timeoutMs / 1000}s`);
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  client.forgetDiscovery();
}

/** Describes an upstream Kyverno install when there is one (its webhooks or its namespace). */
export async function detectUpstreamKyverno(client: KubeClient): Promise<string | undefined> {
  try {
    const hooks = await client.list('admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration', undefined, 'webhook.kyverno.io/managed-by=kyverno');
    if (hooks.length) return `Kyverno webhooks are installed (${hooks.map((h) => String((h.metadata as Json).name)).join(', ')})`;
    const deploys = await client.list('apps/v1', 'Deployment', undefined, 'app.kubernetes.io/part-of=kyverno');
    if (deploys.length) {
      const d = deploys[0].metadata as Json;
      return `Kyverno is installed (Deployment ${String(d.namespace)}/${String(d.name)})`;
    }
  } catch (e) {
    if (!(e instanceof KubeError && (e.status === 403 || e.status === 404))) throw e;
  }
  return undefined;
}

export async function pdbApiVersion(client: KubeClient): Promise<string> {
  return (await client.resourceFor('policy/v1', 'PodDisruptionBudget')) ? 'policy/v1' : 'policy/v1beta1';
}
