/**
 * Reads from registries, before evaluation, what the engine's image verification needs: for
 * every image of the resources that a `verifyImages` rule references, its manifest digest and
 * the layers of its cosign signature manifest (`sha256-<hex>.sig` in the same repository).
 * The result is the plain-data snapshot the engine verifies from synchronously.
 */
import type { JsonObject } from '../engine/core/types';
import { asArray, asObject } from '../engine/core/json';
import { base64Encode } from '../engine/jmespath/go-compat';
import type { ImageInfo } from '../engine/context/images';
import {
  COSIGN_SIGNATURE_ANNOTATION,
  COSIGN_SIMPLESIGNING_MEDIA_TYPE,
  cosignSignatureTag,
  imageString,
  matchingImages,
  type CosignSignatureLayer,
  type ImageRegistrySnapshot,
  type RegistryImage,
} from '../engine/verify-images';
import { RegistryClient } from './client';

function verifyImagesRules(policy: JsonObject): JsonObject[] {
  const rules = asArray(asObject(policy.spec)?.rules);
  return rules.map((r) => asObject(r)).filter((r) => Array.isArray(r.verifyImages) && r.verifyImages.length > 0);
}

/** The images the policies' verifyImages rules reference in the resources, by their printed form. */
export function imagesToVerify(policies: readonly JsonObject[], resources: readonly JsonObject[]): Map<string, ImageInfo> {
  const out = new Map<string, ImageInfo>();
  const rules = policies.flatMap(verifyImagesRules);
  if (rules.length === 0) return out;
  for (const resource of resources) for (const rule of rules) for (const info of matchingImages(rule, resource)) out.set(imageString(info), info);
  return out;
}

/** One image: its digest and cosign signature layers, or the error that stopped the reading. */
export async function fetchImage(client: RegistryClient, info: ImageInfo): Promise<RegistryImage> {
  const registry = info.registry ?? 'docker.io';
  const repository = info.path;
  try {
    let digest = info.digest;
    if (!digest) {
      const manifest = await client.getManifest(registry, repository, info.tag ?? 'latest');
      if (!manifest) return { error: `manifest unknown: ${imageString(info)} not found`, signatures: [] };
      digest = manifest.digest;
    }
    const sig = await client.getManifest(registry, repository, cosignSignatureTag(digest));
    const signatures: CosignSignatureLayer[] = [];
    for (const raw of asArray(sig?.body.layers)) {
      const layer = asObject(raw);
      if (layer.mediaType !== COSIGN_SIMPLESIGNING_MEDIA_TYPE || typeof layer.digest !== 'string') continue;
      const annotations: Record<string, string> = {};
      for (const [k, v] of Object.entries(asObject(layer.annotations))) if (typeof v === 'string') annotations[k] = v;
      const payload = await client.getBlob(registry, repository, layer.digest);
      signatures.push({ payload: base64Encode(payload), signature: annotations[COSIGN_SIGNATURE_ANNOTATION] ?? '', mediaType: layer.mediaType, annotations });
    }
    return { digest, signatures };
  } catch (e) {
    return { error: (e as Error).message, signatures: [] };
  }
}

/** The snapshot for the policies and resources of a run. */
export async function prefetchImageRegistry(
  policies: readonly JsonObject[],
  resources: readonly JsonObject[],
  client: RegistryClient = new RegistryClient(),
): Promise<ImageRegistrySnapshot> {
  const images = imagesToVerify(policies, resources);
  const entries = await Promise.all([...images].map(async ([name, info]) => [name, await fetchImage(client, info)] as const));
  return { images: Object.fromEntries(entries) };
}
