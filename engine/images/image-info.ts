/**
 * Kyverno's classic reading of an image reference: GetImageInfo of pkg/utils/image, on
 * github.com/distribution/reference's Parse and go-digest. CEL's `parseImageReference` reads
 * references as go-containerregistry does instead (./parse-reference.ts); where the two differ
 * is pinned by test/engine/images.test.ts.
 */
import { RE2JS } from 're2js';
import { engineConfiguration, type EngineConfiguration } from '../core/configuration';

/** Kyverno's ImageInfo, as the `images` variable and verifyImages see it (JSON field names kept). */
export interface ImageInfo {
  registry?: string;
  name: string;
  path: string;
  tag?: string;
  digest?: string;
  reference?: string;
  referenceWithTag?: string;
  jsonPointer: string;
}

// github.com/distribution/reference's grammar (reference.Parse, no normalisation).
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[(?:[a-fA-F0-9:]+)\\])(?::[0-9]+)?`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}';
// Linear-time engine for a fixed grammar applied to untrusted text.
const REFERENCE = RE2JS.compile(`^((?:${DOMAIN}/)?${COMPONENT}(?:/${COMPONENT})*)(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const NAME_TOTAL_LENGTH_MAX = 255;
/** go-digest's algorithms linked into Kyverno, with the length of their lower-case hex encoding. */
const DIGEST_HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

/** A reference GetImageInfo refuses; the message is Kyverno's. */
export class ImageReferenceError extends Error {}

/** Kyverno's addDefaultRegistry: the first segment is a registry only if it has `.`/`:`, is localhost, or has capitals. */
function withDefaultRegistry(image: string, registry: string): string {
  const i = image.indexOf('/');
  if (i === -1) return `${registry}/${image}`;
  const first = image.slice(0, i);
  if (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first) return `${registry}/${image}`;
  return image;
}

/** go-digest Digest.Validate: a known algorithm with its exact lower-case hex length. */
function digestProblem(digest: string): string | undefined {
  const colon = digest.indexOf(':');
  const hexLength = DIGEST_HEX_LENGTH[digest.slice(0, colon)];
  const encoded = digest.slice(colon + 1);
  if (hexLength === undefined) return 'unsupported digest algorithm';
  if (encoded.length !== hexLength) return 'invalid checksum digest length';
  return /^[a-f0-9]+$/.test(encoded) ? undefined : 'invalid checksum digest format';
}

/** Why distribution/reference's Parse refuses `name`, or undefined with its parts. */
function parseReference(name: string): { problem: string } | { repository: string; tag: string; digest: string } {
  const m = REFERENCE.matcher(name);
  if (!m.matches()) {
    if (name === '') return { problem: 'repository name must have at least one component' };
    const lower = name.toLowerCase();
    return { problem: lower !== name && REFERENCE.matcher(lower).matches() ? 'repository name must be lowercase' : 'invalid reference format' };
  }
  const repository = m.group(1)!;
  if (repository.length > NAME_TOTAL_LENGTH_MAX) return { problem: `repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters` };
  const digest = m.group(3) ?? '';
  const problem = digest ? digestProblem(digest) : undefined;
  return problem ? { problem } : { repository, tag: m.group(2) ?? '', digest };
}

/**
 * Kyverno's GetImageInfo (pkg/utils/image) under the configuration's `defaultRegistry` and
 * `enableDefaultRegistryMutation` (engine/core/configuration.ts; Kyverno's defaults: docker.io,
 * on): the classic engine's reading of an image (the `images` variable, `image_normalize`,
 * verifyImages). Unlike go-containerregistry's name.ParseReference (CEL's
 * `parseImageReference`, engine/cel/lib-image.ts) it keeps Docker Hub paths as written (no
 * `library/`), names the registry `docker.io` (not `index.docker.io`), accepts any
 * distribution/reference digest algorithm go-digest knows and keeps both tag and digest.
 */
export function getImageInfo(image: string, configuration: Readonly<EngineConfiguration> = engineConfiguration()): Omit<ImageInfo, 'jsonPointer'> {
  const { defaultRegistry, enableDefaultRegistryMutation } = configuration;
  const full = withDefaultRegistry(image, defaultRegistry);
  const parsed = parseReference(full);
  if ('problem' in parsed) {
    throw new ImageReferenceError(`bad image: ${full}, defaultRegistry: ${defaultRegistry}, enableDefaultRegistryMutation: ${enableDefaultRegistryMutation}: ${parsed.problem}`);
  }
  // The reference always has a registry here (added when it named none): its first segment.
  const domain = parsed.repository.slice(0, parsed.repository.indexOf('/'));
  const path = parsed.repository.slice(domain.length + 1);
  // Without registry mutation, a registry that was only added to parse the reference is dropped.
  const registry = full !== image && !enableDefaultRegistryMutation ? '' : domain;
  const { digest } = parsed;
  const tag = parsed.tag || (digest ? '' : 'latest');
  // Kyverno's fields are omitempty: no registry is no field.
  const info: Omit<ImageInfo, 'jsonPointer'> = registry ? { registry, name: path.slice(path.lastIndexOf('/') + 1), path } : { name: path.slice(path.lastIndexOf('/') + 1), path };
  if (tag) info.tag = tag;
  if (digest) info.digest = digest;
  info.reference = imageInfoString(info);
  // Kyverno sets it even for a digest-only reference (then it ends with ':').
  info.referenceWithTag = registry ? `${registry}/${path}:${tag}` : `${path}:${tag}`;
  // Kyverno's quirk: without a registry, a first path segment with `_` is taken for one
  // (after the reference was made).
  const segments = path.split('/');
  if (!registry && segments.length > 1 && segments[0].includes('_')) {
    return { registry: segments[0], ...info, path: segments.slice(1).join('/') };
  }
  return info;
}

/** ImageInfo.String(): `registry/path@digest`, else `registry/path:tag`. */
export function imageInfoString(info: Pick<ImageInfo, 'registry' | 'path' | 'tag' | 'digest'>): string {
  const image = info.registry ? `${info.registry}/${info.path}` : info.path;
  return info.digest ? `${image}@${info.digest}` : `${image}:${info.tag ?? ''}`;
}

/** getImageInfo, or null when Kyverno would refuse the reference. */
export function tryGetImageInfo(image: string): Omit<ImageInfo, 'jsonPointer'> | null {
  if (typeof image !== 'string') return null;
  try {
    return getImageInfo(image);
  } catch (e) {
    if (e instanceof ImageReferenceError) return null;
    throw e;
  }
}
