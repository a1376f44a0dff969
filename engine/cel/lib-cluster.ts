/**
 * Kyverno's CEL libraries that reach beyond the resource under evaluation (sdk
 * extensions/cel/libs): resource.* (get/list/post/toGVR), globalContext.get and http.*
 * (get/post/client). Each name exists in PascalCase and camelCase (Kyverno ≥ 1.18). They are
 * answered offline from the ClusterState, through its CelLibraryView when the caller set one
 * up (the Kyverno CLI's fake provider), else as an API server holding the known resources.
 *
 * A Namespaced* policy compiles the resource library without the namespace argument (its own
 * namespace is used); calling the other form fails as cel-go's compiler would.
 */
import type { Environment } from '@marcbachmann/cel-js';
import type { ApiCallResponse, CelLibraryView, ClusterState, JsonObject, ServiceCallRequest } from '../core/types';
import { goJsonUnmarshal } from '../core/go-json';
import { caBundleParses, makesServiceCalls, serviceCallOutcome } from '../context/service-calls';
import { apiServerGet, apiServerList, crdOf, findApiCallMock, mockStatus, namespaceOf, objectsOfType, readRefusal, storedEntryGet } from '../context';
import { pluralOf } from '../kube';
import { asDocument } from './lib-data';
import { fromCel, toCel, typeOfCel } from './values';

/** What the cluster libraries need from an evaluation. */
export interface ClusterLibraryRuntime {
  cluster: ClusterState;
  /** The namespace of a Namespaced* policy ('' for cluster-wide policies). */
  policyNamespace?: string;
}

export class ResourceLib { constructor(readonly rt: ClusterLibraryRuntime) {} }
/** http (or http.Client(caBundle): the same library trusting only the bundle's certificates). */
export class HttpLib { constructor(readonly rt: ClusterLibraryRuntime, readonly caBundle = '') {} }
export class GlobalContextLib { constructor(readonly rt: ClusterLibraryRuntime) {} }
/** A schema.GroupVersionResource as resource.toGVR returns it (opaque in CEL). */
export class GroupVersionResource {
  constructor(readonly group: string, readonly version: string, readonly resource: string) {}
  get apiVersion(): string {
    return this.group ? `${this.group}/${this.version}` : this.version;
  }
}

/** The view the libraries read: the caller's, or the ClusterState served as an API server. */
export function celLibraryView(cluster: ClusterState): CelLibraryView {
  return cluster.celLibraries ?? {
    resourceSource: 'apiServer',
    resources: cluster.resources,
    globalContext: cluster.globalContext,
    globalContextProjections: cluster.globalContextProjections,
    globalContextErrors: cluster.globalContextErrors,
    httpMocks: cluster.apiCallResponses,
  };
}

// ---------------------------------------------------------------------------------------------
// resource.*

/** apimachinery's ParseGroupVersion: '' and 'v1' are fine, more than one slash is not. */
function checkGroupVersion(apiVersion: string): void {
  if (apiVersion.split('/').length > 2) throw new Error(`unexpected GroupVersion string: ${apiVersion}`);
}

/** GroupResource.String(): `resource` for the core group, `resource.group` otherwise. */
function groupResource(apiVersion: string, resource: string): string {
  const slash = apiVersion.indexOf('/');
  return slash >= 0 ? `${resource}.${apiVersion.slice(0, slash)}` : resource;
}

/** The API server path of an object (with a name) or a list. */
export function apiPath(apiVersion: string, resource: string, namespace: string, name?: string): string {
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return `${base}${namespace ? `/namespaces/${namespace}` : ''}/${resource}${name !== undefined ? `/${name}` : ''}`;
}

/** The sdk's resource library on a Forbidden (or Unauthorized) answer of the API server. */
function refused(rt: ClusterLibraryRuntime, view: CelLibraryView, verb: 'get' | 'list', apiVersion: string, resource: string, namespace: string, name?: string): void {
  if (view.resourceSource !== 'apiServer') return;
  const slash = apiVersion.indexOf('/');
  const message = readRefusal(rt.cluster.readRefusals, slash >= 0 ? apiVersion.slice(0, slash) : '', resource, namespace, name);
  if (message !== undefined) throw new Error(`failed to ${verb} resource: permission denied: ${message}`);
}

function getResource(rt: ClusterLibraryRuntime, apiVersion: string, resource: string, namespace: string, name: string): unknown {
  try {
    checkGroupVersion(apiVersion);
  } catch (err) {
    throw new Error(`failed to get resource: ${(err as Error).message}`);
  }
  const view = celLibraryView(rt.cluster);
  // The fake provider keys objects by resource type only: `pods/status` is no resource there.
  const type = view.resourceSource === 'fakeProvider' ? resource : resource.split('/')[0];
  refused(rt, view, 'get', apiVersion, type, namespace, name);
  const found = apiServerGet(view.resources, apiVersion, type, namespace, name);
  if (!found && view.resourceSource === 'apiServer') rt.cluster.apiCallMisses?.add(apiPath(apiVersion, type, namespace, name));
  // Not found is null, not an error.
  return found ? toCel(found) : null;
}

function listResources(rt: ClusterLibraryRuntime, apiVersion: string, resource: string, namespace: string, labels?: Record<string, string>): unknown {
  try {
    checkGroupVersion(apiVersion);
  } catch (err) {
    throw new Error(`failed to list resource: ${(err as Error).message}`);
  }
  const view = celLibraryView(rt.cluster);
  refused(rt, view, 'list', apiVersion, resource.split('/')[0], namespace);
  if (view.resourceSource === 'apiServer') {
    // Whether the known objects are the whole list only the API server can say.
    rt.cluster.apiCallMisses?.add(apiPath(apiVersion, resource.split('/')[0], namespace));
    return toCel(apiServerList(view.resources, apiVersion, resource, namespace, labels));
  }
  // The fake provider: one namespace bucket, no label filtering, an unknown type is an error.
  const ofType = objectsOfType(view.resources, apiVersion, resource);
  if (ofType.length === 0) throw new Error(`failed to list resource: ${groupResource(apiVersion, resource)} resource not found`);
  return toCel({ items: ofType.filter((r) => namespaceOf(r) === namespace) });
}

function postResource(rt: ClusterLibraryRuntime, apiVersion: string, resource: string, namespace: string, data: unknown): unknown {
  const view = celLibraryView(rt.cluster);
  // The Kyverno CLI's fake provider panics here; cel-go reports the panic as an internal error.
  if (view.resourceSource === 'fakeProvider') throw new Error('internal error: not implemented');
  try {
    checkGroupVersion(apiVersion);
  } catch (err) {
    throw new Error(`failed to create resource: ${(err as Error).message}`);
  }
  // A (fake) API server stores the object in the namespace of the call and returns it.
  const object = fromCel(data) as JsonObject;
  const meta = (object.metadata && typeof object.metadata === 'object' ? object.metadata : {}) as JsonObject;
  return toCel(namespace && !meta.namespace ? { ...object, metadata: { ...meta, namespace } } : object);
}

function toGVR(rt: ClusterLibraryRuntime, apiVersion: string, kind: string): GroupVersionResource {
  const view = celLibraryView(rt.cluster);
  if (view.resourceSource === 'fakeProvider') throw new Error('internal error: not implemented');
  const parts = apiVersion.split('/');
  if (parts.length > 2) throw new Error(`failed to map kind to resource: unexpected GroupVersion string: ${apiVersion}`);
  const [group, version] = parts.length === 2 ? parts : ['', parts[0]];
  const crd = crdOf(view.resources, group, kind);
  const plural = crd ? String((((crd.spec as JsonObject).names ?? {}) as JsonObject).plural ?? '') : pluralOf(group, kind);
  return new GroupVersionResource(group, version, plural);
}

/** A `map<string, string>` argument (label selectors, headers). */
function stringMap(value: unknown, index: number): Record<string, string> {
  const plain = fromCel(value);
  if (!plain || typeof plain !== 'object' || Array.isArray(plain) || Object.values(plain).some((v) => typeof v !== 'string')) {
    throw new Error(`invalid arg ${index}: type conversion error from ${typeOfCel(value)} to 'map[string]string'`);
  }
  return plain as Record<string, string>;
}

/** The namespace of a call: the policy's for Namespaced* policies, the argument otherwise. */
type Scope = 'cluster' | 'namespaced';

export function requireScope(rt: ClusterLibraryRuntime, scope: Scope, fn: string, args: string, receiver = 'resource.Context'): void {
  const namespaced = !!rt.policyNamespace;
  if (namespaced === (scope === 'namespaced')) return;
  throw new Error(`found no matching overload for '${fn}' applied to '${receiver}.(${args})'`);
}

// ---------------------------------------------------------------------------------------------
// globalContext.*

function globalContextGet(rt: ClusterLibraryRuntime, name: string, projection: string): unknown {
  const view = celLibraryView(rt.cluster);
  const entries = view.globalContext;
  // A GlobalContextEntry object's entry reads as Kyverno's store answers it.
  let stored: { value: unknown } | undefined;
  try {
    stored = storedEntryGet(view, name, projection);
  } catch (e) {
    throw new Error(`failed to get global reference: ${(e as Error).message}`);
  }
  if (stored) return asDocument(stored.value);
  // An unknown entry is null, not an error.
  if (!Object.prototype.hasOwnProperty.call(entries, name)) return null;
  const data = entries[name];
  if (projection === '') return asDocument(data);
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    throw new Error(`failed to get global reference: projection "${projection}" not found in global context entry "${name}": stored value is not an object`);
  }
  if (!Object.prototype.hasOwnProperty.call(data, projection)) {
    throw new Error(`failed to get global reference: projection "${projection}" not found in global context entry "${name}"`);
  }
  return asDocument((data as JsonObject)[projection]);
}

// ---------------------------------------------------------------------------------------------
// http.*

/** A mocked response as the Kyverno CLI hands it to CEL: `{body, statusCode}`. */
function mockedResponse(mock: ApiCallResponse): unknown {
  return { body: asDocument(mock.response.body ?? null), statusCode: BigInt(mockStatus(mock)) };
}

/**
 * http.Get/Post: a mock answers first (the Kyverno CLI's mock-aware context), then the call a
 * caller made for this evaluation, as sdk's executeRequest reads it: the body decoded as JSON
 * (null when it is not JSON) with `statusCode` added to an object body, else `{body,
 * statusCode}`; any status is an answer, only a failed exchange is an error.
 */
function httpCall(lib: HttpLib, method: 'GET' | 'POST', url: string, data: unknown, headers: Record<string, string>): unknown {
  const rt = lib.rt;
  const mock = findApiCallMock(celLibraryView(rt.cluster).httpMocks, method, url);
  if (mock) return mockedResponse(mock);
  const fn = method === 'GET' ? 'http.Get' : 'http.Post';
  if (rt.policyNamespace && !rt.cluster.allowHttpInNamespacedPolicies) throw new Error('request failed: http calls are not allowed in namespaced policies: set --allowHTTPInNamespacedPolicies to enable');
  const request: ServiceCallRequest = { method, url, headers: Object.entries(headers).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)), caBundle: lib.caBundle, caller: 'http' };
  if (method === 'POST') request.body = fromCel(data) ?? null;
  const outcome = serviceCallOutcome(rt.cluster, request);
  if (!outcome) {
    if (makesServiceCalls(rt.cluster)) throw new Error(`request failed: ${fn}("${url}") is waiting for its answer`);
    throw new Error(`request failed: ${fn}("${url}") needs network access, which offline evaluation does not have (add an apiCallResponses mock for this URL)`);
  }
  if ('error' in outcome) throw new Error(`request failed: request failed: ${outcome.error}`);
  // Kyverno reads the whole body; ours is capped (the webhook's limit), past which the call fails.
  if (outcome.overLimit !== undefined) throw new Error(`request failed: request failed: response length must be less than max allowed response length of ${outcome.overLimit}`);
  let body: unknown = null;
  try {
    body = goJsonUnmarshal(outcome.text);
  } catch {
    // A body that is not JSON reads as null.
  }
  const statusCode = BigInt(outcome.status);
  if (body && typeof body === 'object' && !Array.isArray(body)) return { ...(asDocument(body) as Record<string, unknown>), statusCode };
  return { body: asDocument(body), statusCode };
}

/** http.Client(caBundle): Kyverno refuses a bundle without a certificate it can parse. */
function httpClient(lib: HttpLib, caBundle: string): HttpLib {
  if (caBundle === '') return lib;
  if (!caBundleParses(caBundle)) throw new Error('request failed: failed to parse PEM CA bundle for APICall');
  return new HttpLib(lib.rt, caBundle);
}

/** The CEL expressions of a policy's spec (every `expression`, `messageExpression`, `valueExpression`). */
function specExpressions(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const n of node) specExpressions(n, out);
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (typeof v === 'string' && (k === 'expression' || k === 'messageExpression' || k === 'valueExpression')) out.push(v);
      else specExpressions(v, out);
    }
  }
  return out;
}

/** Whether some expression of the spec names the identifier (not a field, not in a string). */
export function expressionsName(spec: unknown, identifier: string): boolean {
  const named = new RegExp(`(^|[^\\w.])${identifier}\\b`);
  return specExpressions(spec).some((e) => named.test(e.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')));
}

/** Kyverno's ExpressionsUseHTTP: some expression of the spec names the identifier `http`. */
export function expressionsUseHttp(spec: unknown): boolean {
  return expressionsName(spec, 'http');
}

/**
 * Kyverno's policy webhook refuses a Namespaced* CEL policy whose expressions use http.*
 * unless --allowHTTPInNamespacedPolicies is on (vpol/mpol/gpol/dpol and ivpol validate.go).
 */
export function namespacedHttpRefusal(policy: JsonObject): string | undefined {
  if (!String(policy.apiVersion ?? '').startsWith('policies.kyverno.io/') || !/^Namespaced\w*Policy$/.test(String(policy.kind ?? ''))) return undefined;
  return expressionsUseHttp(policy.spec) ? 'spec: Forbidden: http.* is not allowed in namespaced policies; set --allowHTTPInNamespacedPolicies to enable' : undefined;
}

// ---------------------------------------------------------------------------------------------

export function clusterLibraryActivation(rt: ClusterLibraryRuntime): Record<string, unknown> {
  return { resource: new ResourceLib(rt), http: new HttpLib(rt), globalContext: new GlobalContextLib(rt) };
}

/** Both spellings of a library function (Get and get...). */
function bothCases(name: string): string[] {
  return [name.charAt(0).toUpperCase() + name.slice(1), name];
}

export function registerClusterLibraries(env: Environment): void {
  env
    .registerType('ResourceLib', ResourceLib)
    .registerType('HttpLib', HttpLib)
    .registerType('GlobalContextLib', GlobalContextLib)
    .registerType('GroupVersionResource', GroupVersionResource)
    .registerVariable('resource', 'ResourceLib')
    .registerVariable('http', 'HttpLib')
    .registerVariable('globalContext', 'GlobalContextLib');

  type R = ResourceLib;
  type G = GroupVersionResource;
  const ns = (l: R) => l.rt.policyNamespace ?? '';
  for (const get of bothCases('get')) {
    env
      .registerFunction(`ResourceLib.${get}(string, string, string, string): dyn`, (l: R, a: string, r: string, n: string, name: string) => {
        requireScope(l.rt, 'cluster', get, 'string, string, string, string');
        return getResource(l.rt, a, r, n, name);
      })
      .registerFunction(`ResourceLib.${get}(string, string, string): dyn`, (l: R, a: string, r: string, name: string) => {
        requireScope(l.rt, 'namespaced', get, 'string, string, string');
        return getResource(l.rt, a, r, ns(l), name);
      })
      .registerFunction(`ResourceLib.${get}(GroupVersionResource, string, string): dyn`, (l: R, g: G, n: string, name: string) => {
        requireScope(l.rt, 'cluster', get, 'schema.GroupVersionResource, string, string');
        return getResource(l.rt, g.apiVersion, g.resource, n, name);
      })
      .registerFunction(`ResourceLib.${get}(GroupVersionResource, string): dyn`, (l: R, g: G, name: string) => {
        requireScope(l.rt, 'namespaced', get, 'schema.GroupVersionResource, string');
        return getResource(l.rt, g.apiVersion, g.resource, ns(l), name);
      });
  }
  for (const list of bothCases('list')) {
    env
      .registerFunction(`ResourceLib.${list}(string, string, string): dyn`, (l: R, a: string, r: string, n: string) => {
        requireScope(l.rt, 'cluster', list, 'string, string, string');
        return listResources(l.rt, a, r, n);
      })
      .registerFunction(`ResourceLib.${list}(string, string, string, map): dyn`, (l: R, a: string, r: string, n: string, labels: unknown) => {
        requireScope(l.rt, 'cluster', list, 'string, string, string, map(string, string)');
        return listResources(l.rt, a, r, n, stringMap(labels, 4));
      })
      .registerFunction(`ResourceLib.${list}(string, string): dyn`, (l: R, a: string, r: string) => {
        requireScope(l.rt, 'namespaced', list, 'string, string');
        return listResources(l.rt, a, r, ns(l));
      })
      .registerFunction(`ResourceLib.${list}(string, string, map): dyn`, (l: R, a: string, r: string, labels: unknown) => {
        requireScope(l.rt, 'namespaced', list, 'string, string, map(string, string)');
        return listResources(l.rt, a, r, ns(l), stringMap(labels, 3));
      })
      .registerFunction(`ResourceLib.${list}(GroupVersionResource, string): dyn`, (l: R, g: G, n: string) => {
        requireScope(l.rt, 'cluster', list, 'schema.GroupVersionResource, string');
        return listResources(l.rt, g.apiVersion, g.resource, n);
      })
      .registerFunction(`ResourceLib.${list}(GroupVersionResource, string, map): dyn`, (l: R, g: G, n: string, labels: unknown) => {
        requireScope(l.rt, 'cluster', list, 'schema.GroupVersionResource, string, map(string, string)');
        return listResources(l.rt, g.apiVersion, g.resource, n, stringMap(labels, 3));
      })
      .registerFunction(`ResourceLib.${list}(GroupVersionResource): dyn`, (l: R, g: G) => {
        requireScope(l.rt, 'namespaced', list, 'schema.GroupVersionResource');
        return listResources(l.rt, g.apiVersion, g.resource, ns(l));
      })
      .registerFunction(`ResourceLib.${list}(GroupVersionResource, map): dyn`, (l: R, g: G, labels: unknown) => {
        requireScope(l.rt, 'namespaced', list, 'schema.GroupVersionResource, map(string, string)');
        return listResources(l.rt, g.apiVersion, g.resource, ns(l), stringMap(labels, 2));
      });
  }
  for (const post of bothCases('post')) {
    env
      .registerFunction(`ResourceLib.${post}(string, string, string, map): dyn`, (l: R, a: string, r: string, n: string, data: unknown) => {
        requireScope(l.rt, 'cluster', post, 'string, string, string, map(string, dyn)');
        return postResource(l.rt, a, r, n, data);
      })
      // Without a namespace: cluster-scoped for cluster-wide policies, the policy's own otherwise.
      .registerFunction(`ResourceLib.${post}(string, string, map): dyn`, (l: R, a: string, r: string, data: unknown) => postResource(l.rt, a, r, ns(l), data));
  }
  for (const name of bothCases('toGVR')) {
    env.registerFunction(`ResourceLib.${name}(string, string): GroupVersionResource`, (l: R, a: string, kind: string) => toGVR(l.rt, a, kind));
  }

  for (const get of bothCases('get')) {
    env
      .registerFunction(`GlobalContextLib.${get}(string): dyn`, (l: GlobalContextLib, name: string) => globalContextGet(l.rt, name, ''))
      .registerFunction(`GlobalContextLib.${get}(string, string): dyn`, (l: GlobalContextLib, name: string, p: string) => globalContextGet(l.rt, name, p));
  }

  for (const get of bothCases('get')) {
    env
      .registerFunction(`HttpLib.${get}(string): dyn`, (l: HttpLib, url: string) => httpCall(l, 'GET', url, null, {}))
      .registerFunction(`HttpLib.${get}(string, map): dyn`, (l: HttpLib, url: string, headers: unknown) => httpCall(l, 'GET', url, null, stringMap(headers, 2)));
  }
  for (const post of bothCases('post')) {
    env
      .registerFunction(`HttpLib.${post}(string, dyn): dyn`, (l: HttpLib, url: string, data: unknown) => httpCall(l, 'POST', url, data, {}))
      .registerFunction(`HttpLib.${post}(string, dyn, map): dyn`, (l: HttpLib, url: string, data: unknown, headers: unknown) => httpCall(l, 'POST', url, data, stringMap(headers, 3)));
  }
  for (const client of bothCases('client')) env.registerFunction(`HttpLib.${client}(string): HttpLib`, (l: HttpLib, caBundle: string) => httpClient(l, caBundle));
}

