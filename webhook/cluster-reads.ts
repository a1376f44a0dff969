/**
 * Evaluations that read the cluster, as Kyverno's background controller runs them: the engine
 * is synchronous and reads only what the ClusterState holds, so each evaluation notes the
 * API-server GETs nothing answered (`ClusterState.apiCallMisses`: classic `apiCall` entries
 * without a service, and the CEL resource library's get/list), those are read from the API
 * server, and the evaluation runs again until it asks for nothing new (a read may depend on an
 * earlier one: a few rounds at most). Kyverno calls the API server inline instead; the
 * outcome is the same. One helper for generate, GeneratingPolicy and mutate existing.
 */
import { asArray, asObject } from '../engine/core/json';
import type { AdmissionRequest, ClusterState, JsonObject } from '../engine/core/types';
import { describeRef, refOf } from '../kube-api/errors';
import type { KubeClient } from '../kube-api/client';

/** An apiVersion's group ('' for the core group) and version, as a request's `kind` holds them. */
export function groupVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/**
 * The request a background evaluation runs on when no admission request is kept: the trigger,
 * as stored, as a CREATE by nobody (Kyverno's background context and celengine.Request).
 */
export function backgroundRequest(trigger: JsonObject): AdmissionRequest {
  const ns = asObject(trigger.metadata).namespace;
  return {
    operation: 'CREATE',
    object: trigger,
    oldObject: null,
    kind: { ...groupVersion(String(trigger.apiVersion ?? '')), kind: String(trigger.kind ?? '') },
    namespace: typeof ns === 'string' && ns ? ns : undefined,
    requestInfo: { roles: [], clusterRoles: [], userInfo: {} },
  };
}

/** Evaluations in a row that may each find new paths to read (entries reading earlier ones). */
export const CLUSTER_READ_ROUNDS = 4;

/**
 * Runs `evaluate` (synchronous, over `cluster`) until every API-server GET it made is answered:
 * the paths nothing answered are read into the cluster's apiCall answers (and, unless
 * `apiCallsAllowed` is false, its objects, which the CEL resource library reads), and the
 * evaluation runs again. A path the API server refuses stays unanswered (the entry fails, or
 * resource.Get is null, as in Kyverno).
 */
export async function evaluateReadingCluster<T>(client: KubeClient, cluster: ClusterState, evaluate: () => T, log?: (line: string) => void): Promise<T> {
  const objects = cluster.apiCallsAllowed !== false;
  const tried = new Set<string>();
  for (let round = 0; ; round++) {
    const misses = new Set<string>();
    cluster.apiCallMisses = misses;
    let result: T;
    try {
      result = evaluate();
    } finally {
      delete cluster.apiCallMisses;
    }
    const missing = [...misses].filter((p) => !tried.has(p));
    if (missing.length === 0 || round >= CLUSTER_READ_ROUNDS) return result;
    for (const path of missing) {
      tried.add(path);
      try {
        const body = await client.request<unknown>({ method: 'GET', path });
        cluster.apiCallResponses.push({ request: { method: 'GET', urlPath: path }, response: { status: 200, body } });
        if (objects) addObjects(cluster.resources, body);
      } catch (e) {
        // Not found or forbidden: the entry stays unanswered.
        log?.(`cannot read ${path}: ${(e as Error).message}`);
      }
    }
  }
}

/** An object or the items of a list (with the apiVersion and kind the list names) joined to `into`, once each. */
function addObjects(into: JsonObject[], body: unknown): void {
  const o = asObject(body);
  const listKind = typeof o.kind === 'string' && o.kind.endsWith('List') ? o.kind.slice(0, -'List'.length) : '';
  const items = Array.isArray(o.items) ? asArray(o.items).map((i) => ({ apiVersion: o.apiVersion, kind: listKind, ...asObject(i) })) : [o];
  const present = new Set(into.map((r) => describeRef(refOf(r))));
  for (const item of items) {
    if (typeof item.kind !== 'string' || !item.kind) continue;
    const key = describeRef(refOf(item));
    if (present.has(key)) continue;
    present.add(key);
    into.push(item);
  }
}
