/**
 * Offline answers to `apiCall` context entries and CEL http calls. A mock (a Test's
 * `apiCallResponses`) answers its URL; otherwise a GET of a Kubernetes API path is answered
 * from the known cluster resources (one object or a list), as `kyverno test` answers it from
 * a fake client when the test has clusterResources (without them the CLI disallows API calls
 * and the entry stays undefined).
 */
import type { ApiCallResponse, ClusterState, JsonObject } from '../core/types';
import { asArray, asObject, jsonEqual } from '../core/json';
import { apiServerGet, apiServerList, isServedResource, metadataOf } from './api-server';

export type ApiCallAnswer =
  | { found: true; body: unknown; mock?: { status: number } }
  | { found: false; reason: string };

/** The URL a mock answers: the service URL, else the URL path. */
function mockUrl(mock: ApiCallResponse): string {
  return (mock.request.service?.url ?? '').trim() || (mock.request.urlPath ?? '').trim();
}

/**
 * The mock answering `method` and `url`: one declared for that method first, then one declared
 * without a method (the Kyverno CLI indexes mocks by `METHOD:url`, or `url` alone).
 */
export function findApiCallMock(mocks: readonly ApiCallResponse[], method: string, url: string): ApiCallResponse | undefined {
  if (!url) return undefined;
  const m = method.toUpperCase();
  const forUrl = mocks.filter((c) => mockUrl(c) === url);
  return forUrl.find((c) => (c.request.method ?? '').trim().toUpperCase() === m) ?? forUrl.find((c) => !(c.request.method ?? '').trim());
}

/** The mock's status code: 200 when it names none. */
export function mockStatus(mock: ApiCallResponse): number {
  const s = mock.response.status;
  return typeof s === 'number' && s !== 0 ? s : 200;
}

function stripQuery(p: string): string {
  const q = p.indexOf('?');
  return q >= 0 ? p.slice(0, q) : p;
}

/** Answers `/api/v1/...` and `/apis/<group>/<version>/...` GETs from cluster resources. */
function fromResources(urlPath: string, cluster: ClusterState): ApiCallAnswer {
  const parts = stripQuery(urlPath).split('/').filter(Boolean);
  let group = '';
  let version: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) {
    version = parts[1];
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1];
    version = parts[2];
    rest = parts.slice(3);
  } else return { found: false, reason: `no API response known for ${urlPath}` };
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural, name] = rest;
  if (rest.length > 2) return { found: false, reason: `no API response known for ${urlPath}` };
  const apiVersion = group ? `${group}/${version}` : version;
  // `/api/v1/namespaces/<name>` names a Namespace, not a namespaced list.
  if (plural === undefined && namespace !== undefined) {
    const ns = cluster.resources.find((r) => r.kind === 'Namespace' && metadataOf(r).name === namespace);
    return ns ? { found: true, body: ns } : { found: false, reason: `namespace ${namespace} not found` };
  }
  if (plural !== undefined && !isServedResource(cluster.resources, group, plural)) return { found: false, reason: 'the server could not find the requested resource' };
  if (name !== undefined) {
    const one = apiServerGet(cluster.resources, apiVersion, plural, namespace ?? '', name);
    return one ? { found: true, body: one } : { found: false, reason: `${plural} ${name} not found` };
  }
  return { found: true, body: apiServerList(cluster.resources, apiVersion, plural, namespace ?? '') };
}

/** A GET of a Kubernetes API path answered from objects, as an API server holding them would. */
export function apiServerAnswer(urlPath: string, resources: JsonObject[]): ApiCallAnswer {
  return fromResources(urlPath, { resources, namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] });
}

/**
 * Answers a (variable-substituted) apiCall entry. A mock answer carries its status code: the
 * caller decides what a non-2xx status means.
 */
export function answerApiCall(call: JsonObject, cluster: ClusterState): ApiCallAnswer {
  const method = String(call.method || 'GET').toUpperCase();
  const urlPath = typeof call.urlPath === 'string' ? call.urlPath : '';
  const service = call.service && typeof call.service === 'object' ? (call.service as JsonObject) : undefined;
  // Kyverno looks a mock up by the service URL when the entry has a service, else by urlPath.
  const url = service ? String(service.url ?? '') : urlPath;
  const mock = findApiCallMock(cluster.apiCallResponses, method, url);
  if (mock) return { found: true, body: mock.response.body ?? null, mock: { status: mockStatus(mock) } };
  if (method === 'GET' && urlPath && !service && (cluster.apiCallsAllowed ?? cluster.resources.length > 0)) {
    const answer = fromResources(urlPath, cluster);
    if (!answer.found) cluster.apiCallMisses?.add(urlPath);
    return answer;
  }
  if (method === 'GET' && urlPath && !service) cluster.apiCallMisses?.add(urlPath);
  if (method === 'POST' && urlPath && !service) {
    const body = apiCallRequestData(call.data);
    const posted = cluster.apiCallPosts?.find((p) => p.urlPath === urlPath && jsonEqual(p.body, body));
    // Kyverno's executeK8sAPICall words a refused POST so.
    if (posted) return 'error' in posted.answer ? { found: false, reason: `failed to POST resource with raw url: ${urlPath}: ${posted.answer.error}` } : { found: true, body: posted.answer.body };
    cluster.apiCallPostMisses?.push({ urlPath, body });
  }
  return { found: false, reason: `no API response known for ${method} ${url}` };
}

/** Kyverno's buildRequestData: an apiCall's `data` list as the JSON object it posts (a later key wins). */
export function apiCallRequestData(data: unknown): JsonObject {
  const out: JsonObject = {};
  for (const d of asArray(data).map(asObject)) out[String(d.key ?? '')] = d.value ?? null;
  return out;
}
