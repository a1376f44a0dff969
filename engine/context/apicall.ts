/**
 * Offline answers to `apiCall` context entries: a canned response from the test's
 * context/values (matched on method and urlPath or service URL), else a GET of a
 * Kubernetes API path answered from the known cluster resources (one object or a list),
 * as `kyverno test` answers it from a fake client when the test has clusterResources
 * (without them the CLI disallows API calls and the entry stays undefined).
 */
import type { ApiCallResponse, ClusterState, JsonObject } from '../core/types';

export type ApiCallAnswer = { found: true; body: unknown } | { found: false; reason: string };

function meta(r: JsonObject): JsonObject {
  return r.metadata && typeof r.metadata === 'object' ? (r.metadata as JsonObject) : {};
}

/** Kubernetes' guess of a kind's plural resource name (meta.UnsafeGuessKindToResource). */
export function pluralOf(kind: string): string {
  const k = kind.toLowerCase();
  if (k.endsWith('s')) return k + 'es';
  if (k.endsWith('y') && !/[aeiou]y$/.test(k)) return k.slice(0, -1) + 'ies';
  return k + 's';
}

function sameRequest(canned: ApiCallResponse, method: string, urlPath: string, serviceUrl: string): boolean {
  const m = (canned.request.method ?? (canned.mock ? '' : 'GET')).toUpperCase();
  if (m !== method) return false;
  if (urlPath && canned.request.urlPath === urlPath) return true;
  return !!serviceUrl && canned.request.service?.url === serviceUrl;
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
    const ns = cluster.resources.find((r) => r.kind === 'Namespace' && meta(r).name === namespace);
    return ns ? { found: true, body: ns } : { found: false, reason: `namespace ${namespace} not found` };
  }
  const matches = cluster.resources.filter(
    (r) =>
      String(r.apiVersion ?? '') === apiVersion &&
      pluralOf(String(r.kind ?? '')) === plural &&
      (namespace === undefined || meta(r).namespace === namespace),
  );
  if (name !== undefined) {
    const one = matches.find((r) => meta(r).name === name);
    return one ? { found: true, body: one } : { found: false, reason: `${plural} ${name} not found` };
  }
  const kind = matches[0]?.kind ?? plural.charAt(0).toUpperCase() + plural.slice(1);
  return { found: true, body: { apiVersion, kind: `${String(kind)}List`, metadata: {}, items: matches } };
}

export function answerApiCall(call: JsonObject, cluster: ClusterState): ApiCallAnswer {
  const method = String(call.method ?? 'GET').toUpperCase();
  const urlPath = typeof call.urlPath === 'string' ? call.urlPath : '';
  const service = call.service && typeof call.service === 'object' ? (call.service as JsonObject) : {};
  const serviceUrl = typeof service.url === 'string' ? service.url : '';
  const canned =
    cluster.apiCallResponses.find((c) => sameRequest(c, method, urlPath, serviceUrl)) ??
    cluster.apiCallResponses.find((c) => c.mock && !c.request.method && sameRequest({ ...c, request: { ...c.request, method } }, method, urlPath, serviceUrl));
  if (canned) {
    const status = canned.response.status ?? 200;
    if (canned.mock && (status < 200 || status >= 300)) return { found: false, reason: `HTTP ${status} from apiCall mock (v1 apiCall treats non-2xx as failure)` };
    return { found: true, body: canned.response.body ?? null };
  }
  // The CLI only allows API calls (against a fake client) when the test has cluster resources.
  if (method === 'GET' && urlPath && cluster.resources.length > 0) return fromResources(urlPath, cluster);
  return { found: false, reason: `no API response known for ${method} ${urlPath || serviceUrl}` };
}
