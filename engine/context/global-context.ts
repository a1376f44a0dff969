/**
 * GlobalContextEntry resources (kyverno.io/v2) given among the resources of `kyverno apply`:
 * the CLI lists each `kubernetesResource` entry's objects once from its fake client (the
 * other resources) and computes the projections over that list; `apiCall` entries are left
 * out. The result feeds classic `globalReference` context entries.
 */
import type { ClusterState, JsonObject, ReadRefusal } from '../core/types';
import { asArray, asObject } from '../core/json';
import { jmesSearch } from '../jmespath';
import { apiServerList } from './api-server';
import { answerApiCall } from './apicall';

/** Every version Kyverno serves the kind under (v2alpha1 and v2beta1 as well as v2). */
export function isGlobalContextEntry(doc: JsonObject): boolean {
  return typeof doc.apiVersion === 'string' && /^kyverno\.io\/v2(alpha1|beta1)?$/.test(doc.apiVersion) && doc.kind === 'GlobalContextEntry';
}

/**
 * One entry's data as Kyverno's globalcontext controller holds it: the objects a
 * `kubernetesResource` entry lists, or (with `apiCalls`) the decoded response of an `apiCall`
 * entry's GET, answered from `resources` as the API server would. `undefined` for an entry of
 * neither kind or (apiCalls off) an apiCall entry; throws the reason when the call fails
 * (Kyverno then keeps the error in the entry and every read of it fails).
 */
export function globalContextEntryData(gce: JsonObject, resources: readonly JsonObject[], opts: { apiCalls: boolean; readRefusals?: ReadRefusal[] }): unknown {
  const spec = asObject(gce.spec);
  if (spec.kubernetesResource) {
    const kr = asObject(spec.kubernetesResource);
    const apiVersion = kr.group ? `${String(kr.group)}/${String(kr.version ?? '')}` : String(kr.version ?? '');
    return asArray(apiServerList(resources, apiVersion, String(kr.resource ?? ''), String(kr.namespace ?? '')).items);
  }
  if (!opts.apiCalls || !spec.apiCall) return undefined;
  const call = asObject(spec.apiCall);
  const answer = answerApiCall(call, { resources: [...resources], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [], apiCallsAllowed: true, readRefusals: opts.readRefusals });
  if (!answer.found) throw new Error(answer.reason);
  if (answer.mock && (answer.mock.status < 200 || answer.mock.status >= 300)) throw new Error(`HTTP ${answer.mock.status}`);
  return answer.body;
}

/**
 * Adds the entries to `cluster.globalContext` (the listed objects, by entry name) and their
 * projections to `cluster.globalContextProjections`. Throws Kyverno's message when a
 * projection cannot be applied.
 */
export function addGlobalContextEntries(cluster: ClusterState, entries: readonly JsonObject[], resources: readonly JsonObject[]): void {
  for (const gce of entries) {
    const data = globalContextEntryData(gce, resources, { apiCalls: false });
    if (data !== undefined) setGlobalContextEntry(cluster, gce, data);
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

/**
 * One read of an entry that comes from a GlobalContextEntry object, as Kyverno's globalcontext
 * store answers it (store.Entry.Get): the entry's error when it holds one (a failed apiCall),
 * the data for projection '', else the precomputed projection: an apiCall entry has no data
 * for a missing or null projection, a kubernetesResource entry (whose data is the array of
 * listed objects) names the projection it lacks. `undefined` when the entry does not come
 * from such an object (the CLI's values name their own shape).
 */
export function storedEntryGet(cluster: Pick<ClusterState, 'globalContext' | 'globalContextProjections' | 'globalContextErrors'>, name: string, projection: string): { value: unknown } | undefined {
  const error = cluster.globalContextErrors?.[name];
  if (error !== undefined) throw new Error(error);
  const projections = cluster.globalContextProjections?.[name];
  if (!projections) return undefined;
  const data = cluster.globalContext[name];
  if (projection === '') return { value: data };
  const value = Object.prototype.hasOwnProperty.call(projections, projection) ? projections[projection] : undefined;
  if (Array.isArray(data)) {
    if (value === undefined) throw new Error(`projection "${projection}" not found`);
    return { value };
  }
  if (value === undefined || value === null) throw new Error('no data available');
  return { value };
}
