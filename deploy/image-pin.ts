/**
 * Pins the webhook's image to a digest before it goes into the Deployment: a tag such as
 * `node:22-alpine` is moved by its registry, so two replicas (or a restart next month) could run
 * different Node builds than the one deployed. The digest of the tag's manifest (the multi-arch
 * index, so each node still pulls its own architecture) is appended as `repo:tag@sha256:…`, the
 * form Kubernetes pulls by digest while the tag stays readable.
 */
import { createHash } from 'node:crypto';
import { parseReference } from '../engine/images/parse-reference';
import { RegistryClient } from '../registry/client';

export type ImageDigestResolver = (image: string) => Promise<string>;

export interface PinnedImage {
  image: string;
  /** Why the image stays unpinned, for the deploy log. */
  warning?: string;
}

/** The digest of the manifest `image` (a tag reference) names, read from its registry. */
export function registryDigestResolver(client = new RegistryClient({ timeoutMs: 5_000, ttlMs: 0 })): ImageDigestResolver {
  return async (image) => {
    const ref = parseReference(image);
    const manifest = await client.getManifest(ref.registry, ref.repository, ref.id);
    if (!manifest) throw new Error(`the registry has no manifest for ${image}`);
    // The digest of the bytes served, which is what the kubelet checks when it pulls by digest.
    return `sha256:${createHash('sha256').update(manifest.raw).digest('hex')}`;
  };
}

export async function pinImage(image: string, resolve: ImageDigestResolver): Promise<PinnedImage> {
  if (image.includes('@')) return { image };
  try {
    parseReference(image);
  } catch (e) {
    throw new Error(`--image ${image}: ${(e as Error).message}`);
  }
  try {
    return { image: `${image}@${await resolve(image)}` };
  } catch (e) {
    const reason = (e as Error).message;
    return {
      image,
      warning: `could not pin ${image} to a digest (${reason}); the Deployment names the tag, which its registry can move. Pass --image ${image}@sha256:<digest> to pin it yourself.`,
    };
  }
}
