/**
 * The variables every rule starts from, laid out as Kyverno's policy context builds them
 * (pkg/engine/policycontext + context.go): `request.{object|oldObject, operation,
 * namespace, roles, clusterRoles, userInfo}`, `images`, `serviceAccountName`,
 * `serviceAccountNamespace`. Empty user fields are omitted as Go's `omitempty` omits them,
 * so `{{request.userInfo.username}}` fails the way it fails in Kyverno when no user is set.
 */
import type { AdmissionRequest, JsonObject } from '../core/types';
import { asObject } from '../core/json';
import type { VariableScope } from '../variables';
import { extractImages, hasImages } from './images';

function userInfoJson(request: AdmissionRequest): JsonObject {
  const u = request.requestInfo?.userInfo ?? {};
  const out: JsonObject = {};
  if (u.username) out.username = u.username;
  if (u.uid) out.uid = u.uid;
  if (u.groups && u.groups.length) out.groups = [...u.groups];
  if (u.extra && Object.keys(u.extra).length) out.extra = { ...u.extra };
  return out;
}

/** Splits `system:serviceaccount:<ns>:<name>` as Kyverno's AddServiceAccount does. */
export function serviceAccountOf(username: string | undefined): { name: string; namespace: string } {
  const prefix = 'system:serviceaccount:';
  const user = username ?? '';
  // A name no longer than the prefix leaves nothing to split (no list made for it).
  if (user.length <= prefix.length) return { name: '', namespace: '' };
  const groups = user.slice(prefix.length).split(':');
  return groups.length >= 2 ? { name: groups[1], namespace: groups[0] } : { name: '', namespace: '' };
}

/** The resource a request is about: the new object, or the old one for DELETE. */
export function requestResource(request: AdmissionRequest): JsonObject | null {
  if (request.operation === 'DELETE') return request.oldObject ?? request.object;
  return request.object ?? request.oldObject;
}

function metadataOf(obj: JsonObject | null): JsonObject {
  const m = obj?.metadata;
  return m && typeof m === 'object' ? (m as JsonObject) : {};
}

/** The `request` variable of a rule's scope. */
export function requestVariable(request: AdmissionRequest): JsonObject {
  const resource = requestResource(request);
  const req: JsonObject = {};
  // An admission DELETE (and the CLI's) has no object; the background controller's DELETE
  // carries the deleted trigger as its object, which Kyverno adds as request.object
  // (pkg/background/common/context.go: AddResource(trigger)).
  if (request.object) req.object = request.object;
  if (request.oldObject) req.oldObject = request.oldObject;
  const ns = request.namespace ?? metadataOf(resource).namespace;
  req.namespace = typeof ns === 'string' ? ns : '';
  const info = request.requestInfo;
  if (info?.roles?.length) req.roles = [...info.roles];
  if (info?.clusterRoles?.length) req.clusterRoles = [...info.clusterRoles];
  req.userInfo = userInfoJson(request);
  req.operation = request.operation;
  // Only an admission request (webhook) carries these; the CLI's context has none of them.
  if (request.kind) {
    req.kind = { ...request.kind };
    req.name = request.name ?? String(metadataOf(resource).name ?? '');
    if (request.subResource) req.subResource = request.subResource;
    if (request.dryRun !== undefined) req.dryRun = request.dryRun;
  }
  return req;
}

// Every policy applied to one request starts from the same scope; scopes are never changed
// in place (children copy), so one is built per request object and clock. Requests are
// evaluated one after the other: the last one is remembered (a WeakMap entry per request
// cost more than building the scope).
let lastRequest: AdmissionRequest | null = null;
let lastScope: VariableScope | null = null;

/** The scope a policy's rules start from. */
export function baseScope(request: AdmissionRequest, now?: Date): VariableScope {
  if (lastRequest === request && lastScope && lastScope.now === now) return lastScope;
  const scope = buildBaseScope(request, now);
  lastRequest = request;
  lastScope = scope;
  return scope;
}

function buildBaseScope(request: AdmissionRequest, now?: Date): VariableScope {
  const sa = serviceAccountOf(request.requestInfo?.userInfo?.username);
  const resource = requestResource(request);
  const data: JsonObject = hasImages(resource) ? withLazyImages(requestVariable(request), sa) : dataWithoutImages(request, sa);
  return now ? { data, now } : { data };
}

function dataWithoutImages(request: AdmissionRequest, sa: { name: string; namespace: string }): JsonObject {
  return { request: requestVariable(request), serviceAccountName: sa.name, serviceAccountNamespace: sa.namespace };
}

let lastImagelessRequest: AdmissionRequest | null = null;
let lastImagelessScope: VariableScope | null = null;

/**
 * The base scope without `images`, every other variable the same (remembered for the last
 * request, as baseScope). An expression that reads plain paths not starting at `images`
 * resolves in it exactly as in the base scope, without the base scope's look at every image
 * reference of the resource (whether `images` exists) and its lazy accessor.
 */
export function scopeWithoutImages(request: AdmissionRequest, now?: Date): VariableScope {
  if (lastImagelessRequest === request && lastImagelessScope && lastImagelessScope.now === now) return lastImagelessScope;
  const data = dataWithoutImages(request, serviceAccountOf(request.requestInfo?.userInfo?.username));
  lastImagelessRequest = request;
  lastImagelessScope = now ? { data, now } : { data };
  return lastImagelessScope;
}

// One getter and setter for every scope: an accessor literal would make fresh closures, and
// a fresh hidden class (held by the old generation) per scope, which kept each request's
// objects alive until the next full collection.
function readImages(this: JsonObject): unknown {
  // The resource is the one requestResource gave: the request variable holds it (as object,
  // or as oldObject for a DELETE), and the base scope's request is never replaced.
  const images = extractImages(requestResource(asObject(this.request) as unknown as AdmissionRequest) ?? null);
  // Read once: from now on a plain value (as an assignment would make it).
  if (!Object.isFrozen(this)) replaceImages.call(this, images);
  return images;
}

function replaceImages(this: JsonObject, value: unknown): void {
  Object.defineProperty(this, 'images', { value, writable: true, enumerable: true, configurable: true });
}

const IMAGES_ACCESSOR: PropertyDescriptor = Object.freeze({ get: readImages, set: replaceImages, enumerable: true, configurable: true });

/**
 * Few rules read `images`: the listing is built on first read. Whether the key exists (a
 * missing key fails a lookup) is decided up front, as Kyverno's context decides it. The
 * getter is an enumerable own property: spreads, JSON and JMESPath read it like a value;
 * assigning it, or reading it once, replaces it with a plain value. Keys keep the order
 * request, images, serviceAccountName, serviceAccountNamespace. No state beside them (a
 * second property definition per review cost as much as the first): the getter finds the
 * resource in `request`.
 */
function withLazyImages(req: JsonObject, sa: { name: string; namespace: string }): JsonObject {
  const data: JsonObject = { request: req };
  Object.defineProperty(data, 'images', IMAGES_ACCESSOR);
  data.serviceAccountName = sa.name;
  data.serviceAccountNamespace = sa.namespace;
  return data;
}
