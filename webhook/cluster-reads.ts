/**
 * Evaluations that read the cluster, as Kyverno's background controller runs them: the engine
 * is synchronous and reads only what the ClusterState holds, so each evaluation notes the
 * API-server GETs nothing answered (`ClusterState.apiCallMisses`: classic `apiCall` entries
 * without a service, and the CEL resource library's get/list), those are read from the API
 * server, and the evaluation runs again until it asks for nothing new (a read may depend on an
 * earlier one: a few rounds at most). Kyverno calls the API server inline instead; the
 * outcome is the same. One helper for generate, GeneratingPolicy and mutate existing.
 */
import { asArray, asObject, jsonEqual } from '../engine/core/json';
import type { AdmissionRequest, ApiCallPost, ClusterState, JsonObject, ServiceCall, ServiceCallRequest } from '../engine/core/types';
import { BACKGROUND_MAX_RESPONSE_BYTES, httpCallSettings, makeServiceCalls } from './service-calls';
import { describeRef, KubeError, refOf, statusMessage } from '../kube-api/errors';
import { parseApiPath } from '../engine/context';
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

/** How an evaluation's calls leave the process: API-server POSTs and calls to services. */
export interface CallsOut {
  /** POSTs an `apiCall` entry's data to the API server; rejects with the refusal. */
  post: (path: string, body: JsonObject) => Promise<unknown>;
  /** Calls services (a classic `apiCall.service`, CEL http.*); absent, such calls stay unmade (offline). */
  service?: (requests: readonly ServiceCallRequest[], made: readonly ServiceCall[]) => Promise<ServiceCall[]>;
}

/** What one evaluation asked for that nothing answered, and the answers gathered so far. */
interface Outbound {
  posts: ApiCallPost[];
  calls: ServiceCall[];
}

/**
 * Makes the POSTs and service calls an evaluation noted and adds what came back to `out`;
 * false when there was nothing new to ask.
 */
async function callOut(postMisses: ReadonlyArray<{ urlPath: string; body: JsonObject }>, serviceMisses: readonly ServiceCallRequest[], out: Outbound, calls: CallsOut): Promise<boolean> {
  const newPosts = postMisses.filter((m, i) => !out.posts.some((p) => p.urlPath === m.urlPath && jsonEqual(p.body, m.body)) && postMisses.findIndex((o) => o.urlPath === m.urlPath && jsonEqual(o.body, m.body)) === i);
  const [posted, called] = await Promise.all([
    Promise.all(newPosts.map(async (miss): Promise<ApiCallPost> => {
      try {
        return { ...miss, answer: { body: await calls.post(miss.urlPath, miss.body) } };
      } catch (e) {
        return { ...miss, answer: { error: (e as Error).message } };
      }
    })),
    serviceMisses.length && calls.service ? calls.service(serviceMisses, out.calls) : Promise.resolve([]),
  ]);
  out.posts.push(...posted);
  out.calls.push(...called);
  return posted.length + called.length > 0;
}

/** Service calls as the background controller makes them (its smaller response cap, unless serve sets one). */
export function backgroundServiceCalls(): CallsOut['service'] {
  return (requests, made) => makeServiceCalls(requests, made, { maxResponseBytes: httpCallSettings.maxResponseBytes ?? BACKGROUND_MAX_RESPONSE_BYTES });
}

/**
 * Runs `evaluate` (synchronous, over `cluster`) until every API-server GET it made is answered:
 * the paths nothing answered are read into the cluster's apiCall answers (and, unless
 * `apiCallsAllowed` is false, its objects, which the CEL resource library reads), and the
 * evaluation runs again. A path the API server refuses stays unanswered (the entry fails, or
 * resource.Get is null, as in Kyverno). The `apiCall` POSTs and the service calls it made are
 * made too (`calls`: by default to the client's API server and from this process), and their
 * answers kept in the cluster state for the next run.
 */
export async function evaluateReadingCluster<T>(client: KubeClient, cluster: ClusterState, evaluate: () => T, log?: (line: string) => void, calls?: CallsOut): Promise<T> {
  const objects = cluster.apiCallsAllowed !== false;
  const tried = new Set<string>();
  const out: Outbound = { posts: (cluster.apiCallPosts ??= []), calls: (cluster.serviceCalls ??= []) };
  const callsOut: CallsOut = calls ?? { post: (path, body) => client.request<unknown>({ method: 'POST', path, body }), service: backgroundServiceCalls() };
  if (httpCallSettings.allowInNamespacedPolicies) cluster.allowHttpInNamespacedPolicies = true;
  for (let round = 0; ; round++) {
    const misses = new Set<string>();
    const postMisses: Array<{ urlPath: string; body: JsonObject }> = [];
    const serviceMisses: ServiceCallRequest[] = [];
    cluster.apiCallMisses = misses;
    cluster.apiCallPostMisses = postMisses;
    if (callsOut.service) cluster.serviceCallMisses = serviceMisses;
    let result: T;
    try {
      result = evaluate();
    } finally {
      delete cluster.apiCallMisses;
      delete cluster.apiCallPostMisses;
      delete cluster.serviceCallMisses;
    }
    const missing = [...misses].filter((p) => !tried.has(p));
    if (round >= CLUSTER_READ_ROUNDS) return result;
    const calledOut = postMisses.length + serviceMisses.length > 0 && (await callOut(postMisses, serviceMisses, out, callsOut));
    if (missing.length === 0 && !calledOut) return result;
    for (const path of missing) {
      tried.add(path);
      try {
        const body = await client.request<unknown>({ method: 'GET', path });
        cluster.apiCallResponses.push({ request: { method: 'GET', urlPath: path }, response: { status: 200, body } });
        if (objects) addObjects(cluster.resources, body);
      } catch (e) {
        // Forbidden: what the path covers fails as Kyverno's call is told (the one refusal
        // path, engine/context readRefusal); not found: the entry stays unanswered.
        const parts = e instanceof KubeError && e.status === 403 ? parseApiPath(path) : undefined;
        if (parts?.resource) (cluster.readRefusals ??= []).push({ group: parts.group, resource: parts.resource, namespace: parts.namespace ?? '', ...(parts.name !== undefined ? { name: parts.name } : {}), message: statusMessage(e as KubeError) });
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

/**
 * Runs `evaluate` until every `apiCall` POST (a SubjectAccessReview...) and every service call
 * it made has its answer: Kyverno calls inline (pkg/engine/apicall executeK8sAPICall and
 * executeServiceCall, sdk's http library); the synchronous engine notes the calls nothing
 * answered (`ClusterState.apiCallPostMisses`, `serviceCallMisses`), they are made, and the
 * evaluation runs again on a copy of the cluster state holding the answers. A refusal or a
 * failed call is kept as the entry's error.
 */
export async function evaluatePostingApiCalls<T>(cluster: ClusterState, evaluate: (cluster: ClusterState) => T, post: CallsOut['post'] | undefined, service?: CallsOut['service']): Promise<T> {
  const out: Outbound = { posts: [...(cluster.apiCallPosts ?? [])], calls: [...(cluster.serviceCalls ?? [])] };
  // Without `post` (the CLI: no API server), POSTs are not noted and stay unanswered.
  const calls: CallsOut = { post: post ?? (() => Promise.reject(new Error('no API server'))), service };
  for (let round = 0; ; round++) {
    const postMisses: Array<{ urlPath: string; body: JsonObject }> = [];
    const serviceMisses: ServiceCallRequest[] = [];
    const result = evaluate({ ...cluster, apiCallPosts: out.posts, ...(post ? { apiCallPostMisses: postMisses } : {}), serviceCalls: out.calls, ...(service ? { serviceCallMisses: serviceMisses } : {}) });
    if (postMisses.length + serviceMisses.length === 0 || round >= CLUSTER_READ_ROUNDS) return result;
    if (!(await callOut(postMisses, serviceMisses, out, calls))) return result;
  }
}
