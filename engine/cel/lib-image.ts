/**
 * Kyverno's `kyverno.image` and `kyverno.imagedata` CEL libraries
 * (sdk/extensions/cel/libs/image, sdk/extensions/cel/libs/imagedata).
 *
 * Image references are parsed as go-containerregistry v0.21.5 `name.ParseReference` does with
 * default options (weak validation, default registry index.docker.io, default tag latest): a
 * tag reference is tried first, then a digest reference. Image metadata is answered offline
 * from the image data a `kyverno test` Context file supplies (spec.images), looked up by the
 * exact image string, as Kyverno's CLI FakeContextProvider does.
 */
import type { Environment } from '@marcbachmann/cel-js';
import type { ClusterState, JsonObject } from '../core/types';
import { asDocument } from './lib-data';

const DEFAULT_REGISTRY = 'index.docker.io';
const DEFAULT_REGISTRY_ALIAS = 'docker.io';
const DEFAULT_TAG = 'latest';
const TAG_CHARS = /^[A-Za-z0-9_.-]*$/;
const REPOSITORY_CHARS = /^[a-z0-9_./-]*$/;

/** A parsed reference: `kind` says whether go-containerregistry made a name.Tag or a name.Digest. */
export class ImageRef {
  constructor(
    readonly kind: 'tag' | 'digest',
    readonly registry: string,
    /** The repository as written (without Docker Hub's implicit `library/`). */
    readonly path: string,
    /** The tag (tag references) or the digest (digest references). */
    readonly id: string,
    /** The reference as written: go-containerregistry keeps it and compares it in DeepEqual. */
    readonly original: string,
  ) {}

  /** Repository.RepositoryStr(): Docker Hub single-component names live under `library/`. */
  get repository(): string {
    return !this.path.includes('/') && this.registry === DEFAULT_REGISTRY ? `library/${this.path}` : this.path;
  }

  get tag(): string {
    return this.kind === 'tag' ? this.id : '';
  }

  get digest(): string {
    return this.kind === 'digest' ? this.id : '';
  }

  get identifier(): string {
    return this.id;
  }
}

class BadName extends Error {}

function runeCount(s: string): number {
  return [...s].length;
}

/** checkElement: rune count within bounds, then the character set. */
function checkElement(what: string, element: string, allowed: RegExp, allowedText: string, min: number, max: number): void {
  const n = runeCount(element);
  if (n < min || n > max) throw new BadName(`${what} must be between ${min} and ${max} characters in length: ${element}`);
  if (!allowed.test(element)) throw new BadName(`${what} can only contain the characters \`${allowedText}\`: ${element}`);
}

/**
 * checkRegistry: Go's url.Parse("//" + name) must give back `name` as the host, i.e. a
 * hostname (or bracketed IPv6 literal) with an optional all-digit port and no character
 * url.Parse would refuse or unescape in a host.
 */
function validRegistry(name: string): boolean {
  if (name === '') return true;
  if (name.startsWith('[')) return /^\[[0-9A-Fa-f:.]+\](:\d*)?$/.test(name);
  const colon = name.lastIndexOf(':');
  const host = colon >= 0 ? name.slice(0, colon) : name;
  if (colon >= 0 && !/^\d*$/.test(name.slice(colon + 1))) return false;
  return /^[A-Za-z0-9\-._~!$&'()*+,;=:<>"\u0080-\uffff]*$/.test(host) && !/[\u0000-\u001f\u007f]/.test(name);
}

/** NewRepository: `registry/` is split off only when the first component has a '.' or ':'. */
function newRepository(name: string): { registry: string; path: string } {
  if (name.length === 0) throw new BadName('a repository name must be specified');
  let registry = '';
  let path = name;
  const slash = name.indexOf('/');
  if (slash >= 0) {
    const first = name.slice(0, slash);
    if (first.includes('.') || first.includes(':')) {
      registry = first;
      path = name.slice(slash + 1);
    }
  }
  checkElement('repository', path, REPOSITORY_CHARS, 'abcdefghijklmnopqrstuvwxyz0123456789_-./', 2, 255);
  if (!validRegistry(registry)) throw new BadName(`registries must be valid RFC 3986 URI authorities: ${registry}`);
  if (registry === '') registry = DEFAULT_REGISTRY;
  if (registry === DEFAULT_REGISTRY_ALIAS) registry = DEFAULT_REGISTRY;
  return { registry, path };
}

function newTag(name: string): ImageRef {
  let base = name;
  let tag = '';
  const parts = name.split(':');
  const last = parts[parts.length - 1];
  if (parts.length > 1 && !last.includes('/')) {
    base = parts.slice(0, -1).join(':');
    tag = last;
    if (tag === '') throw new BadName(`${name} must specify a tag name after the colon`);
  }
  if (tag !== '') checkElement('tag', tag, TAG_CHARS, 'abcdefghijklmnopqrstuvwxyz0123456789_-.ABCDEFGHIJKLMNOPQRSTUVWXYZ', 1, 128);
  const repo = newRepository(base);
  return new ImageRef('tag', repo.registry, repo.path, tag || DEFAULT_TAG, name);
}

function newDigest(name: string): ImageRef {
  const parts = name.split('@');
  if (parts.length !== 2) throw new BadName(`a digest must contain exactly one '@' separator (e.g. registry/repository@digest) saw: ${name}`);
  const [base, digest] = parts;
  if (!digest.startsWith('sha256:')) throw new BadName(`unsupported digest algorithm: ${digest}`);
  const hex = digest.slice('sha256:'.length);
  if (hex.length !== 64) throw new BadName('invalid checksum digest length');
  if (!/^[a-f0-9]{64}$/.test(hex)) throw new BadName('invalid checksum digest format');
  let repoName = base;
  try {
    const tagged = newTag(base);
    repoName = `${tagged.registry}/${tagged.repository}`;
  } catch {
    repoName = base;
  }
  const repo = newRepository(repoName);
  return new ImageRef('digest', repo.registry, repo.path, digest, name);
}

/** name.ParseReference(ref): a tag reference, else a digest reference, else "could not parse reference". */
export function parseImageRef(ref: string): ImageRef {
  try {
    return newTag(ref);
  } catch {
    try {
      return newDigest(ref);
    } catch {
      throw new Error(`could not parse reference: ${ref}`);
    }
  }
}

function isImage(ref: string): boolean {
  try {
    parseImageRef(ref);
    return true;
  } catch {
    return false;
  }
}

/** What `image.GetMetadata` reads: the image data of the test's Context (spec.images). */
export interface ImageDataSource {
  cluster: ClusterState;
}

/** The `image` variable of the imagedata library (Kyverno's imagedata.Context). */
export class ImageDataLib {
  constructor(readonly source: ImageDataSource) {}
}

/**
 * With registry access (the snapshot read before evaluation), the image data the registry
 * gave, as the imagedataloader's ImageDescriptor (its index under `imageIndex`).
 */
function registryImageData(cluster: ClusterState, ref: string): JsonObject | undefined {
  const found = cluster.imageRegistry?.metadata?.[ref];
  if (!found) return undefined;
  if ('error' in found) throw new Error(`failed to get image data: ${found.error}`);
  return { ...found, imageIndex: found.manifestList ?? null } as unknown as JsonObject;
}

/**
 * The CLI's FakeContextProvider.GetImageData: the Context entry whose `image` is exactly the
 * requested string, JSON-encoded from the CLI's ImageData type (image, resolvedImage,
 * registry and repository always present; tag, digest, imageIndex, manifest, config when set).
 */
function imageMetadata(source: ImageDataSource, ref: string): unknown {
  const images = (source.cluster as ClusterState & { images?: JsonObject[] }).images ?? [];
  const entry = images.find((i) => i.image === ref) ?? registryImageData(source.cluster, ref);
  if (!entry) throw new Error(`failed to get image data: image data for ${ref} not found in the context`);
  const data: JsonObject = {
    image: String(entry.image ?? ''),
    resolvedImage: String(entry.resolvedImage ?? ''),
    registry: String(entry.registry ?? ''),
    repository: String(entry.repository ?? ''),
  };
  for (const key of ['tag', 'digest'] as const) if (typeof entry[key] === 'string' && entry[key] !== '') data[key] = entry[key];
  for (const key of ['imageIndex', 'manifest', 'config'] as const) if (entry[key] !== undefined && entry[key] !== null) data[key] = entry[key];
  // Kyverno's CLI round-trips the entry through encoding/json: numbers come back as doubles.
  return asDocument(data);
}

export function registerImageLibraries(env: Environment): void {
  env
    .registerType('kyverno.image', ImageRef)
    .registerType('imagedata.Context', ImageDataLib)
    .registerVariable('image', 'imagedata.Context')
    // image() is the deprecated alias Kyverno keeps for parseImageReference().
    .registerFunction('image(string): kyverno.image', (s: string) => parseImageRef(s))
    .registerFunction('parseImageReference(string): kyverno.image', (s: string) => parseImageRef(s))
    .registerFunction('isImage(string): bool', (s: string) => isImage(s))
    .registerFunction('kyverno.image.containsDigest(): bool', (i: ImageRef) => i.kind === 'digest' && i.digest !== '')
    .registerFunction('kyverno.image.registry(): string', (i: ImageRef) => i.registry)
    .registerFunction('kyverno.image.repository(): string', (i: ImageRef) => i.repository)
    .registerFunction('kyverno.image.identifier(): string', (i: ImageRef) => i.identifier)
    .registerFunction('kyverno.image.tag(): string', (i: ImageRef) => i.tag)
    .registerFunction('kyverno.image.digest(): string', (i: ImageRef) => i.digest)
    // reflect.DeepEqual of two references: same kind, same parts, same original text.
    .registerOperator('kyverno.image == kyverno.image', (a: ImageRef, b: ImageRef) => a.kind === b.kind && a.original === b.original)
    .registerFunction('imagedata.Context.GetMetadata(string): dyn', (l: ImageDataLib, ref: string) => imageMetadata(l.source, ref))
    .registerFunction('imagedata.Context.getMetadata(string): dyn', (l: ImageDataLib, ref: string) => imageMetadata(l.source, ref));
}
