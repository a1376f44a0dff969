/**
 * GlobalContextEntry resources (kyverno.io/v2) given among the resources of `kyverno apply`:
 * the CLI lists each `kubernetesResource` entry's objects once from its fake client (the
 * other resources) and computes the projections over that list; `apiCall` entries are left
 * out. The result feeds classic `globalReference` context entries.
 */
import type { ClusterState, JsonObject } from '../core/types';
import { asArray, asObject } from '../core/json';
import { jmesSearch } from '../jmespath';
import { apiServerList } from './api-server';

export function isGlobalContextEntry(doc: JsonObject): boolean {
  return doc.apiVersion === 'kyverno.io/v2' && doc.kind === 'GlobalContextEntry';
}

/**
 * Adds the entries to `cluster.globalContext` (the listed objects, by entry name) and their
 * projections to `cluster.globalContextProjections`. Throws Kyverno's message when a
 * projection cannot be applied.
 */
export function addGlobalContextEntries(cluster: ClusterState, entries: readonly JsonObject[], resources: readonly JsonObject[]): void {
  for (const gce of entries) {
    const kr = asObject(asObject(gce.spec).kubernetesResource);
    if (!asObject(gce.spec).kubernetesResource) continue;
    const apiVersion = kr.group ? `${String(kr.group)}/${String(kr.version ?? '')}` : String(kr.version ?? '');
    const list = apiServerList(resources, apiVersion, String(kr.resource ?? ''), String(kr.namespace ?? ''));
    setGlobalContextEntry(cluster, gce, asArray(list.items));
  }
}

/**
 * Sets one entry's data (the listed objects of a `kubernetesResource` entry, the response of an
 * `apiCall` one) and the projections computed over it. Throws Kyverno's message when a
 * projection cannot be applied.
 */
export function setGlobalContextEntry(cluster: ClusterState, gce: JsonObject, data: unknown): void {
  const name = String(asObject(gce.metadata).name ?? '');
  const projections: Record<string, unknown> = {};
  for (const p of asArray(asObject(gce.spec).projections).map(asObject)) {
    try {
      projections[String(p.name ?? '')] = jmesSearch(String(p.jmesPath ?? ''), data);
    } catch (e) {
      throw new Error(`failed to apply projection "${String(p.name ?? '')}" for GlobalContextEntry ${name}: ${(e as Error).message}`);
    }
  }
  cluster.globalContext[name] = data;
  (cluster.globalContextProjections ??= {})[name] = projections;
}
