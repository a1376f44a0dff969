/**
 * Kyverno's CEL libraries, answered from the offline cluster state: image parsing,
 * image.GetMetadata (needs a registry: clear error), generator.Apply, jsonpatch.escapeKey,
 * parseServiceAccount, time.now. resource.*, http.* and globalContext.* are in lib-cluster.ts.
 */
import type { Environment } from '@marcbachmann/cel-js';
import type { ClusterState, JsonObject } from '../core/types';
import { clusterLibraryActivation, registerClusterLibraries, type ClusterLibraryRuntime } from './lib-cluster';
import { fromCel, toCel } from './values';

/** What a Kyverno library call can see during one evaluation. */
export interface CelRuntime extends ClusterLibraryRuntime {
  cluster: ClusterState;
  now: Date;
  /** Resources handed to generator.Apply, in call order. */
  generated: JsonObject[];
}

export class ImageDataLib { constructor(readonly rt: CelRuntime) {} }
export class GeneratorLib { constructor(readonly rt: CelRuntime) {} }
export class JsonPatchLib {}
export class TimeLib { constructor(readonly rt: CelRuntime) {} }
export class ImageRef { constructor(readonly registry: string, readonly repository: string, readonly tag: string, readonly digest: string) {} }

export function kyvernoActivation(rt: CelRuntime): Record<string, unknown> {
  return {
    ...clusterLibraryActivation(rt),
    image: new ImageDataLib(rt),
    imagedata: new ImageDataLib(rt),
    generator: new GeneratorLib(rt),
    time: new TimeLib(rt),
  };
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

/** generator.Apply/apply: each object (each item of a list, such as resource.List's) lands in `ns`. */
function generatorApply(l: GeneratorLib, ns: string, items: unknown[]): boolean {
  for (const item of items) {
    const obj = fromCel(item) as JsonObject;
    const objects = Array.isArray(obj.items) ? (obj.items as JsonObject[]) : [obj];
    for (const o of objects) {
      const meta = { ...((o.metadata ?? {}) as JsonObject) };
      // Kyverno sets the namespace on every generated object; '' removes it.
      if (ns) meta.namespace = ns;
      else delete meta.namespace;
      l.rt.generated.push({ ...o, metadata: meta });
    }
  }
  return true;
}

export function registerKyvernoLibraries(env: Environment): void {
  registerClusterLibraries(env);
  env
    .registerType('ImageDataLib', ImageDataLib)
    .registerType('GeneratorLib', GeneratorLib)
    .registerType('JsonPatchLib', JsonPatchLib)
    .registerType('TimeLib', TimeLib)
    .registerType('Image', ImageRef)
    .registerVariable('image', 'ImageDataLib')
    .registerVariable('imagedata', 'ImageDataLib')
    .registerVariable('generator', 'GeneratorLib')
    .registerVariable('time', 'TimeLib')
    .registerConstant('jsonpatch', 'JsonPatchLib', new JsonPatchLib());

  env
    .registerFunction('ImageDataLib.GetMetadata(string): dyn', (l: ImageDataLib, ref: string) => imageMetadata(l.rt, 'image.GetMetadata', ref))
    .registerFunction('ImageDataLib.Get(string): dyn', (l: ImageDataLib, ref: string) => imageMetadata(l.rt, 'imagedata.Get', ref))
    .registerFunction('GeneratorLib.Apply(string, list): bool', generatorApply)
    .registerFunction('GeneratorLib.apply(string, list): bool', generatorApply)
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
