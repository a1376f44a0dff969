/**
 * go-containerregistry v0.21.5 `name.ParseReference` with default options (weak validation,
 * default registry index.docker.io, default tag latest): a tag reference is tried first, then
 * a digest reference. CEL's `parseImageReference` (Kyverno's sdk image library) reads images
 * this way; the classic engine reads them with GetImageInfo (./image-info.ts). Where the two
 * differ is pinned by test/engine/images.test.ts.
 */

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

/** A name go-containerregistry refuses (its ErrBadName). */
export class BadName extends Error {}

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
export function parseReference(ref: string): ImageRef {
  try {
    return newTag(ref);
  } catch {
    try {
      return newDigest(ref);
    } catch {
      throw new BadName(`could not parse reference: ${ref}`);
    }
  }
}
