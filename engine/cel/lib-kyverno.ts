/**
 * Kyverno's CEL libraries, answered from the offline cluster state: resource.*, http.*,
 * globalContext.*, generator.Apply, jsonpatch.escapeKey, time.*. The image libraries live in
 * lib-image, the data ones (json, yaml, x509, hash, random, transform, gzip, user) in lib-data.
 */
import type { Environment } from '@marcbachmann/cel-js';
import type { ClusterState, JsonObject } from '../core/types';
import { pluralOf } from '../kube';
import { fromCel, toCel, isCelDuration } from './values';
import { ImageDataLib } from './lib-image';

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash >= 0 ? apiVersion.slice(0, slash) : '';
}

/** What a Kyverno library call can see during one evaluation. */
export interface CelRuntime {
  cluster: ClusterState;
  now: Date;
  /** Resources handed to generator.Apply, in call order. */
  generated: JsonObject[];
}

export class ResourceLib { constructor(readonly rt: CelRuntime) {} }
export class HttpLib { constructor(readonly rt: CelRuntime) {} }
export class GlobalContextLib { constructor(readonly rt: CelRuntime) {} }
export class GeneratorLib { constructor(readonly rt: CelRuntime) {} }
export class JsonPatchLib {}
export class TimeLib { constructor(readonly rt: CelRuntime) {} }

export function kyvernoActivation(rt: CelRuntime): Record<string, unknown> {
  const resource = new ResourceLib(rt);
  return {
    resource,
    http: new HttpLib(rt),
    globalContext: new GlobalContextLib(rt),
    globalcontext: new GlobalContextLib(rt),
    image: new ImageDataLib(rt),
    generator: new GeneratorLib(rt),
    time: new TimeLib(rt),
  };
}


function findResources(rt: CelRuntime, apiVersion: string, resource: string, namespace: string): JsonObject[] {
  const plural = resource.split('/')[0].toLowerCase();
  return rt.cluster.resources.filter((r) => {
    const meta = (r.metadata ?? {}) as JsonObject;
    if (String(r.apiVersion ?? '') !== apiVersion) return false;
    if (pluralOf(groupOf(apiVersion), String(r.kind ?? '')) !== plural && String(r.kind ?? '').toLowerCase() !== plural) return false;
    return !namespace || String(meta.namespace ?? '') === namespace || (!meta.namespace && namespace === 'default');
  });
}

function getResource(rt: CelRuntime, apiVersion: string, resource: string, namespace: string, name: string): unknown {
  const found = findResources(rt, apiVersion, resource, namespace).find((r) => String(((r.metadata ?? {}) as JsonObject).name ?? '') === name);
  if (!found) throw new Error(`${resource} "${name}" not found${namespace ? ` in namespace "${namespace}"` : ''} (offline: add it to the test's cluster resources)`);
  return toCel(found);
}

function listResources(rt: CelRuntime, apiVersion: string, resource: string, namespace: string): unknown {
  const items = findResources(rt, apiVersion, resource, namespace);
  const kind = items[0] ? `${String(items[0].kind)}List` : 'List';
  return toCel({ apiVersion, kind, metadata: {}, items });
}

function httpCall(rt: CelRuntime, method: string, url: string, data?: unknown): unknown {
  const match = rt.cluster.apiCallResponses.find((c) => {
    const target = c.request.service?.url ?? c.request.urlPath ?? '';
    return target === url && (c.request.method ?? 'GET').toUpperCase() === method;
  });
  if (!match) throw new Error(`http.${method === 'GET' ? 'Get' : 'Post'}("${url}"): no offline response configured for this URL`);
  void data;
  return toCel(match.response.body ?? null);
}

function globalContextGet(rt: CelRuntime, name: string, projection: string): unknown {
  if (!(name in rt.cluster.globalContext)) throw new Error(`global context entry "${name}" not found`);
  const entry = rt.cluster.globalContext[name] as unknown;
  if (projection && entry && typeof entry === 'object' && !Array.isArray(entry) && projection in (entry as JsonObject)) {
    return toCel((entry as JsonObject)[projection]);
  }
  return toCel(entry);
}

export function registerKyvernoLibraries(env: Environment): void {
  env
    .registerType('ResourceLib', ResourceLib)
    .registerType('HttpLib', HttpLib)
    .registerType('GlobalContextLib', GlobalContextLib)
    .registerType('generator.Context', GeneratorLib)
    .registerType('JsonPatchLib', JsonPatchLib)
    .registerType('TimeLib', TimeLib)
    .registerVariable('resource', 'ResourceLib')
    .registerVariable('http', 'HttpLib')
    .registerVariable('globalContext', 'GlobalContextLib')
    .registerVariable('globalcontext', 'GlobalContextLib')
    .registerVariable('generator', 'generator.Context')
    .registerVariable('time', 'TimeLib')
    .registerConstant('jsonpatch', 'JsonPatchLib', new JsonPatchLib());

  env
    .registerFunction('ResourceLib.Get(string, string, string, string): dyn', (l: ResourceLib, a: string, r: string, ns: string, n: string) => getResource(l.rt, a, r, ns, n))
    .registerFunction('ResourceLib.List(string, string, string): dyn', (l: ResourceLib, a: string, r: string, ns: string) => listResources(l.rt, a, r, ns))
    .registerFunction('ResourceLib.Post(string, string, string, map): dyn', (_l: ResourceLib, _a: string, _r: string, _ns: string, data: unknown) => data)
    // Kyverno 1.18+ also declares the resource methods under their camelCase names.
    .registerFunction('ResourceLib.get(string, string, string, string): dyn', (l: ResourceLib, a: string, r: string, ns: string, n: string) => getResource(l.rt, a, r, ns, n))
    .registerFunction('ResourceLib.list(string, string, string): dyn', (l: ResourceLib, a: string, r: string, ns: string) => listResources(l.rt, a, r, ns))
    .registerFunction('ResourceLib.post(string, string, string, map): dyn', (_l: ResourceLib, _a: string, _r: string, _ns: string, data: unknown) => data)
    .registerFunction('HttpLib.Get(string): dyn', (l: HttpLib, url: string) => httpCall(l.rt, 'GET', url))
    .registerFunction('HttpLib.Get(string, map): dyn', (l: HttpLib, url: string) => httpCall(l.rt, 'GET', url))
    .registerFunction('HttpLib.Post(string, dyn): dyn', (l: HttpLib, url: string, data: unknown) => httpCall(l.rt, 'POST', url, data))
    .registerFunction('HttpLib.Post(string, dyn, map): dyn', (l: HttpLib, url: string, data: unknown) => httpCall(l.rt, 'POST', url, data))
    .registerFunction('HttpLib.Client(string): HttpLib', (l: HttpLib) => l)
    .registerFunction('GlobalContextLib.Get(string, string): dyn', (l: GlobalContextLib, n: string, p: string) => globalContextGet(l.rt, n, p))
    .registerFunction('generator.Context.Apply(string, list<map<string, dyn>>): bool', (l: GeneratorLib, ns: string, items: unknown[]) => generatorApply(l, ns, items))
    // Kyverno 1.18 added the camel-case spelling beside Apply.
    .registerFunction('generator.Context.apply(string, list<map<string, dyn>>): bool', (l: GeneratorLib, ns: string, items: unknown[]) => generatorApply(l, ns, items))
    .registerFunction('JsonPatchLib.escapeKey(string): string', (_l: JsonPatchLib, k: string) => k.replace(/~/g, '~0').replace(/\//g, '~1'))
    .registerFunction('TimeLib.now(): google.protobuf.Timestamp', (l: TimeLib) => l.rt.now)
    .registerFunction('TimeLib.truncate(google.protobuf.Timestamp, google.protobuf.Duration): google.protobuf.Timestamp', (_l: TimeLib, t: Date, d: unknown) => truncateTime(t, d))
    .registerFunction('TimeLib.toCron(google.protobuf.Timestamp): string', (_l: TimeLib, t: Date) => toCron(t));
}

/**
 * The CLI's GenerateResources: a list object (one with an `items` array) stands for its items,
 * and every generated resource gets the call's namespace (none when it is empty).
 */
function generatorApply(l: GeneratorLib, ns: string, data: unknown[]): boolean {
  return generateResources(l.rt, ns, data);
}

/** The generation runtime both generator.Apply and GeneratingPolicy templates feed. */
export function generateResources(rt: { generated: JsonObject[] }, ns: string, data: unknown[]): boolean {
  const inNamespace = (obj: JsonObject): JsonObject => {
    const meta = { ...((obj.metadata ?? {}) as JsonObject) };
    if (ns) meta.namespace = ns;
    else delete meta.namespace;
    return { ...obj, metadata: meta };
  };
  for (const entry of data) {
    const obj = fromCel(entry) as JsonObject;
    if (Array.isArray(obj.items)) {
      for (const item of obj.items) if (item && typeof item === 'object' && !Array.isArray(item)) rt.generated.push(inNamespace(item as JsonObject));
    } else {
      rt.generated.push(inNamespace(obj));
    }
  }
  return true;
}

/** Nanoseconds from Go's zero time (0001-01-01T00:00:00Z) to the Unix epoch. */
const ZERO_TO_UNIX_NS = 62135596800n * 1_000_000_000n;

/** Go's Time.Truncate: rounds down to a multiple of d since the zero time; d <= 0 leaves t alone. */
function truncateTime(t: Date, d: unknown): Date {
  if (!isCelDuration(d)) throw new Error('time.truncate: no such overload');
  const step = d.seconds * 1_000_000_000n + BigInt(d.nanos);
  if (step <= 0n) return t;
  const sinceZero = BigInt(t.getTime()) * 1_000_000n + ZERO_TO_UNIX_NS;
  const truncated = sinceZero - (((sinceZero % step) + step) % step);
  return new Date(Number((truncated - ZERO_TO_UNIX_NS) / 1_000_000n));
}

/** time.toCron: "minute hour day month weekday" of the timestamp (UTC, Sunday = 0). */
function toCron(t: Date): string {
  return [t.getUTCMinutes(), t.getUTCHours(), t.getUTCDate(), t.getUTCMonth() + 1, t.getUTCDay()].join(' ');
}
