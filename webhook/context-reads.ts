/**
 * What policies read from the cluster while they are evaluated: ConfigMaps of `configMap`
 * context entries, the resources of `apiCall` URL paths, global context entries
 * (`globalReference`, GlobalContextEntry `kubernetesResource`) and CEL `resource.*` calls with
 * literal arguments. One reading serves two users: the in-cluster webhook watches exactly these
 * (webhook/live-context.ts, Kyverno resolves them live at evaluation time) and deploy grants
 * exactly these reads (deploy/rbac.ts). A part written with a variable widens the read (any
 * name, any namespace); a resource named by a variable cannot be known and is reported.
 */
import { asArray, asObject, isJsonObject } from '../engine/core/json';
import type { JsonObject } from '../engine/core/types';
import { expressionsName, expressionsUseHttp } from '../engine/cel/lib-cluster';

export interface ContextRead {
  group: string;
  version: string;
  /** Plural resource name (`configmaps`). */
  resource: string;
  /** Undefined: every namespace (or a cluster-scoped resource). */
  namespace?: string;
  /** Undefined: every object of the resource. */
  name?: string;
  /** What asks for it: `configMap`, `apiCall`, `resource.Get`, `GlobalContextEntry`. */
  via: string;
}

export interface PolicyReads {
  reads: ContextRead[];
  /** Classic `globalReference` entries or CEL `globalContext.Get`: GlobalContextEntry objects are needed. */
  globalContext: boolean;
  /** Reads that cannot be derived (a resource named by a variable), in words. */
  unresolved: string[];
}

export const hasVariable = (s: string) => s.includes('{{') || s.includes('$(');

const literal = (s: unknown): string | undefined => (typeof s === 'string' && !hasVariable(s) ? s : undefined);

/**
 * The object an API path names: `/api/v1/namespaces/x/configmaps/y`, `/apis/apps/v1/deployments`,
 * `/api/v1/namespaces/x` (the Namespace x). Variables in the namespace or name widen the read;
 * undefined when the group, version or resource is not literal or the path is no resource path.
 */
export function readOfApiPath(urlPath: string): Omit<ContextRead, 'via'> | undefined {
  const parts = urlPath.split('?')[0].split('/').filter(Boolean);
  let group = '';
  let version: string | undefined;
  let rest: string[];
  if (parts[0] === 'api') {
    version = parts[1];
    rest = parts.slice(2);
  } else if (parts[0] === 'apis') {
    group = parts[1] ?? '';
    version = parts[2];
    rest = parts.slice(3);
  } else return undefined;
  if (!version || hasVariable(version) || hasVariable(group)) return undefined;
  if (rest[0] === 'namespaces' && rest.length === 2) {
    return { group: '', version: 'v1', resource: 'namespaces', name: literal(rest[1]) };
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = literal(rest[1]);
    rest = rest.slice(2);
  }
  const resource = rest[0];
  if (!resource || hasVariable(resource)) return undefined;
  return { group, version, resource, namespace, name: literal(rest[1]) };
}

// resource.Get("apps/v1", "deployments", "ns", "name") / resource.List("v1", "configmaps", "ns"):
// apiVersion and resource literal; the namespace and name only when they are literals too.
const CEL_RESOURCE = /resource\.(Get|List|Post|get|list|post)\(\s*["']([^"']*)["']\s*,\s*["']([^"']+)["'](?:\s*,\s*(?:["']([^"']*)["']|[^,)]*))?(?:\s*,\s*(?:["']([^"']*)["']|[^,)]*))?/g;

/** Every string inside a value (CEL expressions live in many places of a policy). */
export function stringsOf(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) stringsOf(v, out);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) stringsOf(v, out);
  return out;
}

/** The CEL `resource.*` calls with a literal apiVersion and resource in `texts`. */
export function celResourceCalls(texts: readonly string[]): Array<Omit<ContextRead, 'via'> & { verb: 'Get' | 'List' | 'Post' }> {
  const out: Array<Omit<ContextRead, 'via'> & { verb: 'Get' | 'List' | 'Post' }> = [];
  for (const text of texts) {
    for (const m of text.matchAll(CEL_RESOURCE)) {
      const verb = (m[1].charAt(0).toUpperCase() + m[1].slice(1)) as 'Get' | 'List' | 'Post';
      const [group, version] = m[2].includes('/') ? m[2].split('/') : ['', m[2]];
      if (hasVariable(m[3])) continue;
      out.push({ verb, group, version, resource: m[3], namespace: m[4] || undefined, name: verb === 'Get' ? m[5] || undefined : undefined });
    }
  }
  return out;
}

/** Every `context` array of a rule, foreach levels included. */
function contextEntries(node: unknown, out: JsonObject[] = []): JsonObject[] {
  if (Array.isArray(node)) for (const n of node) contextEntries(n, out);
  else if (isJsonObject(node)) {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'context' && Array.isArray(v)) out.push(...v.filter(isJsonObject));
      contextEntries(v, out);
    }
  }
  return out;
}

/** The API paths a policy's `apiCall` entries POST to without a service (SubjectAccessReviews...): the webhook posts them per review. */
export function apiCallPostPaths(policy: JsonObject): string[] {
  const out: string[] = [];
  for (const entry of contextEntries(asArray(asObject(policy.spec).rules))) {
    const call = asObject(entry.apiCall);
    if (!isJsonObject(call.service) && String(call.method || 'GET').toUpperCase() === 'POST' && typeof call.urlPath === 'string') out.push(call.urlPath);
  }
  return out;
}

/** Whether a classic policy's CEL asks the authorizer: each check is a SubjectAccessReview the webhook posts (engine/cel/lib-authorizer). */
export function asksCelAuthorizer(policy: JsonObject): boolean {
  return String(policy.apiVersion ?? '').startsWith('kyverno.io/') && expressionsName(asObject(policy.spec).rules, 'authorizer');
}

/** Whether a policy calls a service while it is evaluated: an `apiCall` entry's `service`, or CEL's http library. */
export function callsServices(policy: JsonObject): boolean {
  const spec = asObject(policy.spec);
  if (contextEntries(asArray(spec.rules)).some((e) => isJsonObject(asObject(e.apiCall).service))) return true;
  return expressionsUseHttp(spec);
}

/** What one policy (classic or CEL) reads from the cluster while it is evaluated. */
export function policyReads(policy: JsonObject): PolicyReads {
  const spec = asObject(policy.spec);
  const reads: ContextRead[] = [];
  const unresolved: string[] = [];
  let globalContext = false;
  // A cleanup policy's context entries sit in its spec; a classic policy's in its rules.
  for (const entry of [...contextEntries(asArray(spec.rules)), ...asArray(spec.context).filter(isJsonObject)]) {
    if (isJsonObject(entry.configMap)) {
      const cm = entry.configMap;
      const ns = cm.namespace === undefined || cm.namespace === '' ? 'default' : literal(cm.namespace);
      reads.push({ group: '', version: 'v1', resource: 'configmaps', namespace: ns, name: literal(cm.name), via: 'configMap' });
    }
    if (isJsonObject(entry.apiCall)) {
      const call = entry.apiCall;
      // Calls to a service leave the cluster's API; POSTs (SubjectAccessReview...) are not reads of stored objects.
      if (isJsonObject(call.service) || String(call.method || 'GET').toUpperCase() !== 'GET') continue;
      const path = typeof call.urlPath === 'string' ? call.urlPath : '';
      const read = readOfApiPath(path);
      if (read) reads.push({ ...read, via: 'apiCall' });
      else unresolved.push(`apiCall ${path} names its resource with a variable`);
    }
    if (isJsonObject(entry.globalReference)) globalContext = true;
  }
  const texts = stringsOf(spec);
  for (const call of celResourceCalls(texts)) {
    if (call.verb === 'Post') continue;
    const { verb, ...read } = call;
    reads.push({ ...read, via: `resource.${verb}` });
  }
  if (texts.some((t) => /\bglobalContext\.(Get|get)\(/.test(t))) globalContext = true;
  return { reads, globalContext, unresolved };
}

/** The reads of a GlobalContextEntry's `kubernetesResource` (its `apiCall` is a request of its own). */
export function globalContextEntryReads(entry: JsonObject): ContextRead[] {
  const spec = asObject(entry.spec);
  const kr = asObject(spec.kubernetesResource);
  if (typeof kr.resource === 'string' && typeof kr.version === 'string') {
    return [{ group: String(kr.group ?? ''), version: kr.version, resource: kr.resource, namespace: literal(kr.namespace) || undefined, via: 'GlobalContextEntry' }];
  }
  // An apiCall entry's GET of the API server (a service call reads no Kubernetes object).
  const call = asObject(spec.apiCall);
  const method = String(call.method || 'GET').toUpperCase();
  if (method !== 'GET' || call.service || typeof call.urlPath !== 'string') return [];
  const read = readOfApiPath(call.urlPath);
  return read ? [{ ...read, via: 'GlobalContextEntry' }] : [];
}

/** A stable key per read, for sets and diffs. */
export function readKey(r: Omit<ContextRead, 'via'>): string {
  return `${r.group}/${r.version}/${r.resource}|${r.namespace ?? '*'}|${r.name ?? '*'}`;
}

/**
 * The reads folded: one per key, and a read of a whole resource type (any namespace, any name)
 * absorbs the narrower reads of the same type, so one watch serves them.
 */
export function foldReads(reads: readonly ContextRead[]): ContextRead[] {
  const byKey = new Map<string, ContextRead>();
  for (const r of reads) if (!byKey.has(readKey(r))) byKey.set(readKey(r), r);
  const wider = (a: ContextRead, b: ContextRead) =>
    a !== b && a.group === b.group && a.version === b.version && a.resource === b.resource &&
    (a.namespace === undefined || a.namespace === b.namespace) && (a.name === undefined || a.name === b.name);
  const all = [...byKey.values()];
  return all.filter((r) => !all.some((o) => wider(o, r)));
}
