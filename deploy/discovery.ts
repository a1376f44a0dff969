/** What the cluster already has: served kinds, our CRDs, and an upstream Kyverno install. */
import { KubeClient, KubeError } from '../kube-api/client';

export { kindTable } from '../kube-api/discovery';
import type { CrdEntry } from './crds';
import { isOurs, SERVICE_NAME } from '../webhook/configurations';

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

/**
 * Describes a real Kyverno install when there is one: its webhook configurations (Kyverno's
 * label, not ours: ours carry Kyverno's names and label too), its Deployments, or policy CRDs
 * that Kyverno's chart owns. Our webhook would share Kyverno's configuration names and
 * evaluate every request a second time, so deploy refuses it (or deploys the policies only).
 */
export async function detectUpstreamKyverno(client: KubeClient, namespace?: string): Promise<string | undefined> {
  const name = (o: Json) => String((o.metadata as Json).name);
  try {
    const hooks = [
      ...(await client.list('admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration', undefined, 'webhook.kyverno.io/managed-by=kyverno')),
      ...(await client.list('admissionregistration.k8s.io/v1', 'MutatingWebhookConfiguration', undefined, 'webhook.kyverno.io/managed-by=kyverno')),
    ].filter((h) => !isOurs(h));
    if (hooks.length) return `Kyverno's webhooks are installed (${hooks.map(name).join(', ')})`;
    const deploys = (await client.list('apps/v1', 'Deployment', undefined, 'app.kubernetes.io/part-of=kyverno')).filter((d) => !isOurs(d));
    if (deploys.length) {
      const d = deploys[0].metadata as Json;
      return `Kyverno is installed (Deployment ${String(d.namespace)}/${String(d.name)})`;
    }
    // Our Service carries Kyverno's name (kyverno-svc): one that is not ours is Kyverno's
    // (labelled part of it anywhere, or of that name where we would create ours).
    const services = (await client.list('v1', 'Service', undefined, 'app.kubernetes.io/part-of=kyverno')).filter((s) => !isOurs(s));
    if (namespace) {
      const own = await client.get({ apiVersion: 'v1', kind: 'Service', name: SERVICE_NAME, namespace });
      if (own && !isOurs(own)) services.unshift(own);
    }
    if (services.length) {
      const m = services[0].metadata as Json;
      return `Kyverno's Service ${String(m.namespace)}/${String(m.name)} exists`;
    }
    const crd = await client.get({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: 'clusterpolicies.kyverno.io' });
    const crdLabels = ((crd?.metadata as Json | undefined)?.labels ?? {}) as Json;
    if (crd && !isOurs(crd) && (crdLabels['app.kubernetes.io/part-of'] === 'kyverno' || crdLabels['app.kubernetes.io/instance'] === 'kyverno')) {
      return `Kyverno's CRDs are installed (CustomResourceDefinition ${name(crd)} is labelled part of Kyverno)`;
    }
  } catch (e) {
    if (!(e instanceof KubeError && (e.status === 403 || e.status === 404))) throw e;
  }
  return undefined;
}

export async function pdbApiVersion(client: KubeClient): Promise<string> {
  return (await client.resourceFor('policy/v1', 'PodDisruptionBudget')) ? 'policy/v1' : 'policy/v1beta1';
}
