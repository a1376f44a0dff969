/**
 * Kyverno's CEL libraries, answered from the offline cluster state: resource.*, http.*,
 * globalContext.*, image parsing, image.GetMetadata (needs a registry: clear error),
 * generator.Apply, jsonpatch.escapeKey, parseServiceAccount, time.now.
 */
import type { Environment } from '@marcbachmann/cel-js';
import type { ClusterState, JsonObject } from '../core/types';
import { pluralOf } from '../kube';
import { fromCel, toCel } from './values';

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
export class ImageDataLib { constructor(readonly rt: CelRuntime) {} }
export class GeneratorLib { constructor(readonly rt: CelRuntime) {} }
export class JsonPatchLib {}
export class TimeLib { constructor(readonly rt: CelRuntime) {} }
export class ImageRef { constructor(readonly registry: string, readonly repository: string, readonly tag: string, readonly digest: string) {} }

export function kyvernoActivation(rt: CelRuntime): Record<string, unknown> {
  const resource = new ResourceLib(rt);
  return {
    resource,
    http: new HttpLib(rt),
    globalContext: new GlobalContextLib(rt),
    globalcontext: new GlobalContextLib(rt),
    image: new ImageDataLib(rt),
    imagedata: new ImageDataLib(rt),
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

/** Image references parsed the way go-containerregistry's name.ParseReference does. */
export function parseImageRef(ref: string): ImageRef {
  if (!ref || /\s/.test(ref) || ref !== ref.trim()) throw new Error(`could not parse reference: ${ref}`);
  let rest = ref, digest = '', tag = '';
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!/^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$/.test(digest)) throw new Error(`could not parse reference: ${ref}`);
  }
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!/^[\w][\w.-]{0,127}$/.test(tag)) throw new Error(`could not parse reference: ${ref}`);
  }
  let registry = 'index.docker.io', repository = rest;
  const first = rest.split('/')[0];
  if (rest.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    registry = first === 'docker.io' ? 'index.docker.io' : first;
    repository = rest.slice(first.length + 1);
  }
  if (registry === 'index.docker.io' && !repository.includes('/')) repository = `library/${repository}`;
  if (!/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(repository)) throw new Error(`could not parse reference: ${ref}`);
  if (!digest && !tag) tag = 'latest';
  return new ImageRef(registry, repository, digest ? '' : tag, digest);
}

function isImage(ref: string): boolean {
  try { parseImageRef(ref); return true; } catch { return false; }
}

function registryNeeded(fn: string, ref: string): never {
  throw new Error(`${fn}("${ref}") needs access to an OCI registry, which offline evaluation does not have (add the image to the test's context images)`);
}

/**
 * Image metadata a `kyverno test` Context supplies (spec.images). ClusterState has no field for
 * it yet, so an optional `images` array on the cluster state is read when a loader provides it.
 */
function imageMetadata(rt: CelRuntime, fn: string, ref: string): unknown {
  const images = (rt.cluster as ClusterState & { images?: JsonObject[] }).images ?? [];
  let entry = images.find((i) => i.image === ref);
  if (!entry) {
    let wanted: ImageRef | undefined;
    try { wanted = parseImageRef(ref); } catch { wanted = undefined; }
    entry = wanted && images.find((i) => {
      try {
        const got = parseImageRef(String(i.image ?? ''));
        return got.registry === wanted!.registry && got.repository === wanted!.repository && got.tag === wanted!.tag && got.digest === wanted!.digest;
      } catch { return false; }
    });
  }
  if (!entry) registryNeeded(fn, ref);
  const parsed = parseImageRef(String(entry.image ?? ref));
  return toCel({
    image: ref,
    resolvedImage: String(entry.resolvedImage ?? entry.image ?? ref),
    registry: parsed.registry,
    repository: parsed.repository,
    identifier: parsed.digest || parsed.tag,
    ...entry,
  });
}

function parseServiceAccount(username: string): Record<string, string> {
  const parts = username.split(':');
  if (parts.length === 4 && parts[0] === 'system' && parts[1] === 'serviceaccount') return { Namespace: parts[2], Name: parts[3] };
  return { Namespace: '', Name: '' };
}

export function registerKyvernoLibraries(env: Environment): void {
  env
    .registerType('ResourceLib', ResourceLib)
    .registerType('HttpLib', HttpLib)
    .registerType('GlobalContextLib', GlobalContextLib)
    .registerType('ImageDataLib', ImageDataLib)
    .registerType('GeneratorLib', GeneratorLib)
    .registerType('JsonPatchLib', JsonPatchLib)
    .registerType('TimeLib', TimeLib)
    .registerType('Image', ImageRef)
    .registerVariable('resource', 'ResourceLib')
    .registerVariable('http', 'HttpLib')
    .registerVariable('globalContext', 'GlobalContextLib')
    .registerVariable('globalcontext', 'GlobalContextLib')
    .registerVariable('image', 'ImageDataLib')
    .registerVariable('imagedata', 'ImageDataLib')
    .registerVariable('generator', 'GeneratorLib')
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
    .registerFunction('ImageDataLib.GetMetadata(string): dyn', (l: ImageDataLib, ref: string) => imageMetadata(l.rt, 'image.GetMetadata', ref))
    .registerFunction('ImageDataLib.Get(string): dyn', (l: ImageDataLib, ref: string) => imageMetadata(l.rt, 'imagedata.Get', ref))
    .registerFunction('GeneratorLib.Apply(string, list): bool', (l: GeneratorLib, ns: string, items: unknown[]) => {
      for (const item of items) {
        const obj = fromCel(item) as JsonObject;
        const meta = { ...((obj.metadata ?? {}) as JsonObject) };
        if (ns) meta.namespace = ns;
        l.rt.generated.push({ ...obj, metadata: meta });
      }
      return true;
    })
    .registerFunction('JsonPatchLib.escapeKey(string): string', (_l: JsonPatchLib, k: string) => k.replace(/~/g, '~0').replace(/\//g, '~1'))
    .registerFunction('TimeLib.now(): google.protobuf.Timestamp', (l: TimeLib) => l.rt.now)
    .registerFunction('parseServiceAccount(string): map', (s: string) => parseServiceAccount(s))
    .registerFunction('image(string): Image', (s: string) => parseImageRef(s))
    .registerFunction('parseImageReference(string): Image', (s: string) => parseImageRef(s))
    .registerFunction('ParseImageRef(string): Image', (s: string) => parseImageRef(s))
    .registerFunction('isImage(string): bool', (s: string) => isImage(s))
    .registerFunction('Image.registry(): string', (i: ImageRef) => i.registry)
    .registerFunction('Image.repository(): string', (i: ImageRef) => i.repository)
    .registerFunction('Image.identifier(): string', (i: ImageRef) => i.digest || i.tag)
    .registerFunction('Image.tag(): string', (i: ImageRef) => i.tag)
    .registerFunction('Image.digest(): string', (i: ImageRef) => i.digest)
    .registerFunction('Image.containsDigest(): bool', (i: ImageRef) => i.digest !== '');
}
