/**
 * Offline answers to `apiCall` context entries and CEL http calls. A mock (a Test's
 * `apiCallResponses`) answers its URL; otherwise a GET of a Kubernetes API path is answered
 * from the known cluster resources (one object or a list), as `kyverno test` answers it from
 * a fake client when the test has clusterResources (without them the CLI disallows API calls
 * and the entry stays undefined). A call to a service, or a POST to the API server, is read
 * from the calls a caller made (the webhook, the CLI: service-calls.ts), or noted for it.
 */
import type { ApiCallResponse, ClusterState, JsonObject, ServiceCallRequest } from '../core/types';
import { asArray, asObject, jsonEqual } from '../core/json';
import { goJsonUnmarshal } from '../core/go-json';
import { caBundleParses, makesServiceCalls, serviceCallOutcome } from './service-calls';
import { apiServerGet, apiServerList, isServedResource, metadataOf, parseApiPath, pathRefusal } from './api-server';

export type ApiCallAnswer =
  | { found: true; body: unknown; mock?: { status: number } }
  /**
   * `failure`: the call was made and failed; Kyverno's loader error, which a reference to the
   * entry reports (its deferred loading). `defaultable`: a failure to fetch, which the entry's
   * `default` replaces (a failure to store the answer is not).
   */
  | { found: false; reason: string; failure?: string; defaultable?: boolean };

/** A failed fetch in the words of Kyverno's apiLoader. */
function fetchFailure(message: string): ApiCallAnswer {
  return { found: false, reason: message, failure: `failed to fetch data for APICall: ${message}`, defaultable: true };
}

/** A failure to store a fetched answer in the words of Kyverno's apiLoader (no default applies). */
function storeFailure(message: string): ApiCallAnswer {
  return { found: false, reason: message, failure: `failed to store data for APICall: ${message}` };
}

/** The request a classic `service` entry makes (executor.buildHTTPRequest: `data` posted as a JSON object). */
function serviceRequest(method: string, service: JsonObject, data: unknown): ServiceCallRequest {
  const headers: Array<[string, string]> = asArray(service.headers).map(asObject).map((h) => [String(h.key ?? ''), String(h.value ?? '')]);
  const request: ServiceCallRequest = { method: method === 'POST' ? 'POST' : 'GET', url: String(service.url ?? ''), headers, caBundle: String(service.caBundle ?? ''), caller: 'apiCall' };
  if (method === 'POST') request.body = apiCallRequestData(data);
  return request;
}

/**
 * A classic entry's call to a service, as Kyverno's executeServiceCall and apiLoader word its
 * outcome; without an outcome the call is noted for a caller that makes it.
 */
function answerServiceCall(name: string, method: string, call: JsonObject, service: JsonObject, cluster: ClusterState): ApiCallAnswer {
  // Kyverno's CRD admits only GET and POST; buildHTTPRequest refuses anything else.
  if (method !== 'GET' && method !== 'POST') return fetchFailure(`failed to build HTTP request for APICall ${name}: invalid request type ${method} for APICall ${name}`);
  const request = serviceRequest(method, service, call.data);
  if (request.caBundle && !caBundleParses(request.caBundle)) return fetchFailure(`failed to parse PEM CA bundle for APICall ${name}`);
  const outcome = serviceCallOutcome(cluster, request);
  if (!outcome) {
    return { found: false, reason: makesServiceCalls(cluster) ? `waiting for ${method} ${request.url}` : `no API response known for ${method} ${request.url}: calling a service needs network access, which offline evaluation does not have (add an apiCallResponses mock for this URL)` };
  }
  if ('error' in outcome) return fetchFailure(`failed to execute HTTP request for APICall ${name}: ${outcome.error}`);
  if (outcome.status < 200 || outcome.status >= 300) {
    return fetchFailure(outcome.overLimit !== undefined ? `HTTP ${outcome.status} ${outcome.statusText}` : `HTTP ${outcome.status} ${outcome.statusText}: ${outcome.text}`);
  }
  if (outcome.overLimit !== undefined) return fetchFailure(`response length must be less than max allowed response length of ${outcome.overLimit}`);
  try {
    return { found: true, body: goJsonUnmarshal(outcome.text) };
  } catch (e) {
    const message = (e as Error).message;
    // transformAndStore: the context decodes the body, or the jmesPath step does.
    const path = typeof call.jmesPath === 'string' ? call.jmesPath : '';
    return storeFailure(path ? `failed to apply JMESPath ${path} for context entry ${name}: failed to unmarshal JSON: ${outcome.text}, error: ${message}` : `failed to add resource data to context entry ${name}: ${message}`);
  }
}

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

/** Answers `/api/v1/...` and `/apis/<group>/<version>/...` GETs from cluster resources. */
function fromResources(urlPath: string, cluster: ClusterState): ApiCallAnswer {
  const parsed = parseApiPath(urlPath);
  if (!parsed) return { found: false, reason: `no API response known for ${urlPath}` };
  const refused = pathRefusal(cluster.readRefusals, urlPath);
  // Kyverno's executeK8sAPICall on a Forbidden (or Unauthorized) answer.
  if (refused !== undefined) return fetchFailure(`failed to GET resource with raw url: ${urlPath}: permission denied: ${refused}`);
  const { group, version, namespace, resource: plural, name } = parsed;
  const apiVersion = group ? `${group}/${version}` : version;
  // `/api/v1/namespaces/<name>` names a Namespace, not a namespaced list.
  if (plural === undefined && namespace !== undefined) {
    const ns = cluster.resources.find((r) => r.kind === 'Namespace' && metadataOf(r).name === namespace);
    return ns ? { found: true, body: ns } : { found: false, reason: `namespace ${namespace} not found` };
  }
  if (plural !== undefined && !isServedResource(cluster.resources, group, plural)) return { found: false, reason: 'the server could not find the requested resource' };
  if (name !== undefined) {
    const one = apiServerGet(cluster.resources, apiVersion, plural!, namespace ?? '', name);
    return one ? { found: true, body: one } : { found: false, reason: `${plural} ${name} not found` };
  }
  return { found: true, body: apiServerList(cluster.resources, apiVersion, plural!, namespace ?? '') };
}

/** A GET of a Kubernetes API path answered from objects, as an API server holding them would. */
export function apiServerAnswer(urlPath: string, resources: JsonObject[]): ApiCallAnswer {
  return fromResources(urlPath, { resources, namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] });
}

/**
 * Answers a (variable-substituted) apiCall entry. A mock answer carries its status code: the
 * caller decides what a non-2xx status means.
 */
export function answerApiCall(call: JsonObject, cluster: ClusterState, name = ''): ApiCallAnswer {
  const method = String(call.method || 'GET').toUpperCase();
  const urlPath = typeof call.urlPath === 'string' ? call.urlPath : '';
  const service = call.service && typeof call.service === 'object' ? (call.service as JsonObject) : undefined;
  // Kyverno looks a mock up by the service URL when the entry has a service, else by urlPath.
  const url = service ? String(service.url ?? '') : urlPath;
  const mock = findApiCallMock(cluster.apiCallResponses, method, url);
  if (mock) return { found: true, body: mock.response.body ?? null, mock: { status: mockStatus(mock) } };
  if (service && !urlPath) return answerServiceCall(name, method, call, service, cluster);
  if (method === 'GET' && urlPath && !service && (cluster.apiCallsAllowed ?? cluster.resources.length > 0)) {
    const answer = fromResources(urlPath, cluster);
    if (!answer.found) cluster.apiCallMisses?.add(urlPath);
    return answer;
  }
  if (method === 'GET' && urlPath && !service) cluster.apiCallMisses?.add(urlPath);
  if (method === 'POST' && urlPath && !service) {
    const body = apiCallRequestData(call.data);
    const posted = postedAnswer(cluster, urlPath, body);
    // Kyverno's executeK8sAPICall words a refused POST so.
    if (posted) return 'error' in posted ? fetchFailure(`failed to POST resource with raw url: ${urlPath}: ${posted.error}`) : { found: true, body: posted.body };
  }
  return { found: false, reason: `no API response known for ${method} ${url}` };
}

/**
 * The API server's answer to a POST (a SubjectAccessReview...) when the caller made it
 * (`apiCallPosts`); otherwise the POST is noted in `apiCallPostMisses` (when the caller
 * listens) for it to make before evaluating again, and undefined is returned.
 */
export function postedAnswer(cluster: ClusterState, urlPath: string, body: JsonObject): { body: unknown } | { error: string } | undefined {
  const posted = cluster.apiCallPosts?.find((p) => p.urlPath === urlPath && jsonEqual(p.body, body));
  if (posted) return posted.answer;
  cluster.apiCallPostMisses?.push({ urlPath, body });
  return undefined;
}

/** Kyverno's buildRequestData: an apiCall's `data` list as the JSON object it posts (a later key wins). */
export function apiCallRequestData(data: unknown): JsonObject {
  const out: JsonObject = {};
  for (const d of asArray(data).map(asObject)) out[String(d.key ?? '')] = d.value ?? null;
  return out;
}
