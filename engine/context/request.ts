/**
 * The variables every rule starts from, laid out as Kyverno's policy context builds them
 * (pkg/engine/policycontext + context.go): `request.{object|oldObject, operation,
 * namespace, roles, clusterRoles, userInfo}`, `images`, `serviceAccountName`,
 * `serviceAccountNamespace`. Empty user fields are omitted as Go's `omitempty` omits them,
 * so `{{request.userInfo.username}}` fails the way it fails in Kyverno when no user is set.
 */
import type { AdmissionRequest, JsonObject } from '../core/types';
import type { VariableScope } from '../variables';
import { extractImages } from './images';

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
  const sa = user.length <= prefix.length ? '' : user.slice(prefix.length);
  const groups = sa.split(':');
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
  if (request.operation !== 'DELETE' && request.object) req.object = request.object;
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
    req.name = String(metadataOf(resource).name ?? '');
    if (request.subResource) req.subResource = request.subResource;
    if (request.dryRun !== undefined) req.dryRun = request.dryRun;
  }
  return req;
}

// Every policy applied to one request starts from the same scope; scopes are never changed
// in place (children copy), so one is built per request object and clock.
const scopes = new WeakMap<AdmissionRequest, VariableScope>();

/** The scope a policy's rules start from. */
export function baseScope(request: AdmissionRequest, now?: Date): VariableScope {
  const cached = scopes.get(request);
  if (cached && cached.now === now) return cached;
  const scope = buildBaseScope(request, now);
  scopes.set(request, scope);
  return scope;
}

function buildBaseScope(request: AdmissionRequest, now?: Date): VariableScope {
  const data: JsonObject = { request: requestVariable(request) };
  const images = extractImages(requestResource(request));
  if (Object.keys(images).length > 0) data.images = images;
  const sa = serviceAccountOf(request.requestInfo?.userInfo?.username);
  data.serviceAccountName = sa.name;
  data.serviceAccountNamespace = sa.namespace;
  return now ? { data, now } : { data };
}
