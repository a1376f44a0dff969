/**
 * Reads from registries, before evaluation, what the engine's image verification needs: for
 * every image of the resources that a `verifyImages` rule or an ImageValidatingPolicy
 * references, its manifest digest and the layers of its cosign signature manifest
 * (`sha256-<hex>.sig` in the same repository); for ImageValidatingPolicies also the manifest,
 * the config and the OCI 1.1 referrers (attestations, Notary signatures) with their data.
 * The result is the plain-data snapshot the engine verifies from synchronously.
 */
import type { JsonObject } from '../engine/core/types';
import { asArray, asObject } from '../engine/core/json';
import { base64Encode } from '../engine/jmespath/go-compat';
import { extractImages, type ImageInfo } from '../engine/context/images';
import { wildcardMatch } from '../engine/wildcard/wildcard';
import {
  COSIGN_SIGNATURE_ANNOTATION,
  COSIGN_SIMPLESIGNING_MEDIA_TYPE,
  cosignSignatureTag,
  imageString,
  matchingImages,
  NOTARY_SIGNATURE_ARTIFACT_TYPE,
  type CosignSignatureLayer,
  type RegistryReferrer,
  type ImageRegistrySnapshot,
  type RegistryImage,
} from '../engine/verify-images';
import { RegistryClient } from './client';

function verifyImagesRules(policy: JsonObject): JsonObject[] {
  const rules = asArray(asObject(policy.spec)?.rules);
  return rules.map((r) => asObject(r)).filter((r) => Array.isArray(r.verifyImages) && r.verifyImages.length > 0);
}

function isImageValidatingPolicy(policy: JsonObject): boolean {
  return typeof policy.kind === 'string' && policy.kind.replace(/^Namespaced/, '') === 'ImageValidatingPolicy' && String(policy.apiVersion ?? '').startsWith('policies.kyverno.io/');
}

/**
 * The images an ImageValidatingPolicy may look at: the resource's container images that its
 * matchImageReferences globs select (an expression may select any, so it selects all here).
 */
function ivpolImages(policy: JsonObject, resource: JsonObject): ImageInfo[] {
  const refs = asArray(asObject(policy.spec).matchImageReferences).map((r) => asObject(r));
  const all: ImageInfo[] = [];
  for (const group of Object.values(extractImages(resource))) all.push(...Object.values(group));
  if (refs.length === 0) return all;
  return all.filter((info) => refs.some((r) => typeof r.expression === 'string' || (typeof r.glob === 'string' && wildcardMatch(r.glob, imageString(info)))));
}

export interface ImageToRead {
  info: ImageInfo;
  /** ImageValidatingPolicies also read the manifest, the config and the referrers. */
  details: boolean;
}

/** The images the policies (verifyImages rules, ImageValidatingPolicies) reference in the resources, by their printed form. */
export function imagesToVerify(policies: readonly JsonObject[], resources: readonly JsonObject[]): Map<string, ImageToRead> {
  const out = new Map<string, ImageToRead>();
  const rules = policies.flatMap(verifyImagesRules);
  const ivpols = policies.filter(isImageValidatingPolicy);
  for (const resource of resources) {
    for (const rule of rules) for (const info of matchingImages(rule, resource)) {
      const name = imageString(info);
      if (!out.has(name)) out.set(name, { info, details: false });
    }
    for (const policy of ivpols) for (const info of ivpolImages(policy, resource)) out.set(imageString(info), { info, details: true });
  }
  return out;
}

/** Kyverno's limits on referrers (imagedataloader): how many, and the size of one's data. */
const MAX_REFERRERS = 50;
const MAX_REFERRER_DATA = 10 * 1000 * 1000;

/** The referrers of `digest`, each with its one layer read; `depth` 1 also reads their Notary signatures. */
async function readReferrers(client: RegistryClient, registry: string, repository: string, digest: string, depth: number): Promise<RegistryReferrer[]> {
  const index = await client.getReferrers(registry, repository, digest);
  if (index.length > MAX_REFERRERS) throw new Error(`failed to fetch referrers: to many referrers found, max limit is ${MAX_REFERRERS}`);
  const out: RegistryReferrer[] = [];
  for (const raw of index) {
    if (typeof raw.digest !== 'string') continue;
    const referrer: RegistryReferrer = {
      digest: raw.digest,
      mediaType: String(raw.mediaType ?? ''),
      artifactType: String(raw.artifactType ?? ''),
      size: typeof raw.size === 'number' ? raw.size : 0,
    };
    const annotations = asObject(raw.annotations);
    if (Object.keys(annotations).length > 0) referrer.annotations = Object.fromEntries(Object.entries(annotations).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
    try {
      const manifest = await client.getManifest(registry, repository, raw.digest);
      const layers = asArray(manifest?.body.layers).map((l) => asObject(l));
      if (layers.length !== 1) throw new Error('invalid referrer descriptor, must have only one layer');
      const layer = layers[0];
      if (typeof layer.digest !== 'string') throw new Error('invalid referrer descriptor, layer without digest');
      if (typeof layer.size === 'number' && layer.size > MAX_REFERRER_DATA) throw new Error('referrer data larger than 10 MB');
      const data = await client.getBlob(registry, repository, layer.digest);
      referrer.layer = { mediaType: String(layer.mediaType ?? ''), digest: layer.digest, size: data.length, data: base64Encode(data) };
    } catch (e) {
      referrer.error = (e as Error).message;
    }
    if (depth > 0 && referrer.artifactType !== NOTARY_SIGNATURE_ARTIFACT_TYPE) {
      try {
        referrer.referrers = await readReferrers(client, registry, repository, raw.digest, depth - 1);
      } catch (e) {
        referrer.error ??= (e as Error).message;
      }
    }
    out.push(referrer);
  }
  return out;
}

/** What ImageValidatingPolicies read beyond signatures: manifest, config and referrers (imagedataloader's FetchImageData). */
async function readDetails(client: RegistryClient, registry: string, repository: string, image: RegistryImage): Promise<void> {
  const manifest = await client.getManifest(registry, repository, image.digest!);
  if (!manifest) return;
  image.manifest = manifest.body;
  image.manifestMediaType = manifest.mediaType;
  image.manifestSize = manifest.size;
  const config = asObject(manifest.body.config);
  if (typeof config.digest === 'string') {
    try {
      image.config = JSON.parse(new TextDecoder().decode(await client.getBlob(registry, repository, config.digest))) as Record<string, unknown>;
    } catch {
      // a config that is not JSON is left out, as go-containerregistry cannot read it either
    }
  }
  try {
    image.referrers = await readReferrers(client, registry, repository, image.digest!, 1);
  } catch (e) {
    image.referrersError = (e as Error).message;
  }
}

/** One image: its digest and cosign signature layers, or the error that stopped the reading. */
export async function fetchImage(client: RegistryClient, info: ImageInfo, details = false): Promise<RegistryImage> {
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
    const image: RegistryImage = { digest, signatures };
    if (details) await readDetails(client, registry, repository, image);
    return image;
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
  const entries = await Promise.all([...images].map(async ([name, { info, details }]) => [name, await fetchImage(client, info, details)] as const));
  return { images: Object.fromEntries(entries) };
}
