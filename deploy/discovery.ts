/** What the cluster already has: served kinds, our CRDs, and an upstream Kyverno install. */
import { builtinKinds, resolveKind, type KindTable } from '../webhook/rules';
import { KubeClient, KubeError } from './kube';
import { matchResourceDescriptions } from '../engine/policy';
import { asObject } from '../engine/core/json';
import { generatedKinds } from './generate-rbac';
import type { CrdEntry } from './crds';

type Json = Record<string, unknown>;

function kindsNamed(policies: Json[]): string[] {
  const out = new Set<string>();
  for (const p of policies) {
    const spec = (p.spec ?? {}) as Json;
    for (const rule of (Array.isArray(spec.rules) ? spec.rules : []) as Json[]) {
      for (const b of matchResourceDescriptions(asObject(rule))) for (const k of (Array.isArray(b.kinds) ? b.kinds : []) as unknown[]) out.add(String(k));
    }
  }
  return [...out];
}

/**
 * Built-in kinds, plus discovery when a policy names a kind outside them (a CRD kind):
 * then every preferred group version is read once.
 */
export async function kindTable(client: KubeClient, policies: Json[]): Promise<KindTable> {
  const table = builtinKinds();
  const unknown = [...kindsNamed(policies), ...generatedKinds(policies)].filter((k) => !resolveKind(k, table));
  if (unknown.length === 0) return table;
  const groups = await client.request<{ groups?: Array<{ name: string; preferredVersion?: { groupVersion: string } }> }>({ method: 'GET', path: '/apis' });
  const versions = ['v1', ...(groups.groups ?? []).map((g) => g.preferredVersion?.groupVersion).filter((v): v is string => !!v)];
  await Promise.all(
    versions.map(async (gv) => {
      const path = gv.includes('/') ? `/apis/${gv}` : `/api/${gv}`;
      let list: { resources?: Array<{ name: string; kind: string }> };
      try {
        list = await client.request({ method: 'GET', path });
      } catch {
        return; // an unavailable aggregated API must not stop the deploy
      }
      const [group, version] = gv.includes('/') ? gv.split('/') : ['', gv];
      for (const r of list.resources ?? []) {
        const sub = r.name.includes('/');
        const kind = r.kind;
        if (sub) continue;
        const entries = table.get(kind) ?? [];
        if (!entries.some((e) => e.group === group)) entries.push({ group, version, resource: r.name });
        table.set(kind, entries);
      }
    }),
  );
  return table;
}

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
