/**
 * Reads from registries, before evaluation, what the engine's image checks need, as the
 * plain-data snapshot the engine verifies from synchronously:
 * - for every image of the resources that a `verifyImages` entry references: its digest (an
 *   index's own digest for a multi-arch image, which is what cosign signs), the layers of its
 *   cosign signature manifest (`sha256-<hex>.sig`), for `cosignOCI11` entries the signature
 *   found through the OCI 1.1 referrers API (or its `sha256-<hex>` tag-schema fallback), and
 *   for entries with `attestations` the DSSE layers of `sha256-<hex>.att`;
 * - for ImageValidatingPolicies, every image their matchImageReferences select: its signatures,
 *   the media type and size of its manifest (what Notary signs) and its OCI 1.1 referrers with
 *   their data and, one level down, the Notary signatures of those referrers;
 * - for policies that read image data (`imageRegistry` context entries, CEL
 *   `image.GetMetadata`, ImageValidatingPolicies' `getImageData`): the manifest, config and
 *   index of every image of the resources and of every literal reference.
 * Credentials come from each entry's `imageRegistryCredentials` and the Pod's
 * `imagePullSecrets` (secrets looked up among `secrets`), then the docker config keychain.
 */
import type { JsonObject } from '../engine/core/types';
import { asArray, asObject, isJsonObject } from '../engine/core/json';
import { base64Encode } from '../engine/jmespath/go-compat';
import { extractImages, type ImageInfo } from '../engine/context/images';
import { wildcardMatch } from '../engine/wildcard/wildcard';
import { BadName, parseReference } from '../engine/images/parse-reference';
import {
  COSIGN_SIGNATURE_ANNOTATION,
  COSIGN_SIGNATURE_ARTIFACT_TYPE,
  cosignAttestationTag,
  cosignSignatureTag,
  imageString,
  signatureSourceKey,
  type SignatureSource,
  matchingImages,
  ruleImageVerifications,
  NOTARY_SIGNATURE_ARTIFACT_TYPE,
  type CosignSignatureLayer,
  type ImageMetadata,
  type RegistryReferrer,
  type ImageRegistrySnapshot,
  type RegistryImage,
} from '../engine/verify-images';
import { INDEX_MEDIA_TYPES, RegistryClient, RegistryError, type Manifest } from './client';
import { joinKeychains, keychainFromSecret, KYVERNO_NAMESPACE, secretLookup, secretRef, type Keychain } from './credentials';
import { keychainForProviders } from './providers';

/** What to read for one image. */
export interface ImageNeeds {
  signatures: boolean;
  referrers: boolean;
  attestations: boolean;
  /** ImageValidatingPolicies: the manifest's media type and size, and every referrer with its data and Notary signatures. */
  details?: boolean;
}

export interface PrefetchOptions {
  client?: RegistryClient;
  /** Objects among which pull secrets are looked up (the CLI's resources, the cluster's secrets). */
  secrets?: readonly JsonObject[];
  /** Credentials used for every image after the secrets' (the CLI's docker config). */
  keychain?: Keychain;
  /** Kyverno's namespace, where `imageRegistryCredentials.secrets` without a namespace live. */
  kyvernoNamespace?: string;
  /**
   * Reads a secret the policies name that is not among `secrets` (the webhook: from the
   * cluster, as Kyverno's secret lister); undefined when there is none.
   */
  readSecret?: (namespace: string, name: string) => Promise<JsonObject | undefined>;
  /** The `default` credential provider's keychain (go-containerregistry's DefaultKeychain); `keychain` when not given. */
  defaultKeychain?: Keychain;
  /** The environment the `github` provider reads (GITHUB_TOKEN, GITHUB_ACTOR). */
  env?: NodeJS.ProcessEnv;
}

function isImageValidatingPolicy(policy: JsonObject): boolean {
  return typeof policy.kind === 'string' && policy.kind.replace(/^Namespaced/, '') === 'ImageValidatingPolicy' && String(policy.apiVersion ?? '').startsWith('policies.kyverno.io/');
}

/**
 * The images an ImageValidatingPolicy may look at: the resource's container images that its
 * matchImageReferences globs select (an expression may select any, so it selects all here).
 */
function ivpolImages(policy: JsonObject, resource: JsonObject): ImageInfo[] {
  const refs = asArray(asObject(policy.spec)?.matchImageReferences).map((r) => asObject(r) ?? {});
  const all: ImageInfo[] = [];
  for (const group of Object.values(extractImages(resource))) all.push(...Object.values(group));
  if (refs.length === 0) return all;
  return all.filter((info) => refs.some((r) => typeof r.expression === 'string' || (typeof r.glob === 'string' && wildcardMatch(r.glob, imageString(info)))));
}

function verifyImagesRules(policy: JsonObject): JsonObject[] {
  const rules = asArray(asObject(policy.spec)?.rules);
  return rules.map((r) => asObject(r)).filter((r) => Array.isArray(r.verifyImages) && r.verifyImages.length > 0);
}

/** The images the policies' verifyImages rules reference in the resources, by their printed form. */
export function imagesToVerify(policies: readonly JsonObject[], resources: readonly JsonObject[]): Map<string, ImageInfo> {
  const out = new Map<string, ImageInfo>();
  for (const { info } of imageRequests(policies, resources, {}).requests) out.set(imageString(info), info);
  return out;
}

function strings(value: unknown): string[] {
  return asArray(value).filter((s): s is string => typeof s === 'string' && s !== '');
}

interface ImageRequest {
  info: ImageInfo;
  needs: ImageNeeds;
  keychain: Keychain;
  insecure: boolean;
  /** Other repositories (and tag prefixes) holding the image's cosign artifacts, by signatureSourceKey. */
  sources: Map<string, { repository: string; tagPrefix: string }>;
}

function newRequest(info: ImageInfo): ImageRequest {
  return { info, needs: { signatures: false, referrers: false, attestations: false }, keychain: NO_KEYS, insecure: false, sources: new Map() };
}

function addSource(request: ImageRequest, repository: string, tagPrefix = ''): void {
  if (repository || tagPrefix) request.sources.set(signatureSourceKey(repository, tagPrefix), { repository, tagPrefix });
}

/** The `repository` of every attestor of a verifyImages entry (nested attestor sets and attestations' attestors too), else the entry's. */
function classicRepositories(entry: JsonObject): string[] {
  const out = new Set<string>();
  const fallback = typeof entry.repository === 'string' ? entry.repository : '';
  const visitSets = (sets: unknown): void => {
    for (const set of asArray(sets)) {
      for (const attestor of asArray(asObject(set)?.entries).map((e) => asObject(e) ?? {})) {
        if (isJsonObject(attestor.attestor)) visitSets([attestor.attestor]);
        else out.add(typeof attestor.repository === 'string' && attestor.repository !== '' ? attestor.repository : fallback);
      }
    }
  };
  visitSets(entry.attestors);
  for (const attestation of asArray(entry.attestations)) {
    const sets = asArray(asObject(attestation)?.attestors);
    if (sets.length === 0) out.add(fallback);
    visitSets(sets);
  }
  out.delete('');
  return [...out];
}

/** An ImageValidatingPolicy's cosign attestors' `source` (repository, tagPrefix). */
function ivpolSources(policy: JsonObject): Array<{ repository: string; tagPrefix: string }> {
  return asArray(asObject(policy.spec)?.attestors)
    .map((a) => asObject(asObject(asObject(a)?.cosign)?.source))
    .filter((s): s is JsonObject => !!s)
    .map((s) => ({ repository: typeof s.repository === 'string' ? s.repository : '', tagPrefix: typeof s.tagPrefix === 'string' ? s.tagPrefix : '' }))
    .filter((s) => s.repository !== '' || s.tagPrefix !== '');
}

/**
 * The secrets the policies name for registry credentials (verifyImages
 * `imageRegistryCredentials.secrets`, ImageValidatingPolicy `credentials.secrets`), by
 * namespace and name: what the webhook reads from the cluster (and may be granted to get).
 */
export function registrySecretRefs(policies: readonly JsonObject[], kyvernoNamespace = KYVERNO_NAMESPACE): Array<{ namespace: string; name: string }> {
  const refs = new Map<string, { namespace: string; name: string }>();
  const add = (names: string[]) => {
    for (const ref of names.map((n) => secretRef(n, kyvernoNamespace))) refs.set(`${ref.namespace}/${ref.name}`, ref);
  };
  for (const policy of policies) {
    if (isImageValidatingPolicy(policy)) add(strings(asObject(asObject(policy.spec)?.credentials)?.secrets));
    for (const rule of verifyImagesRules(policy)) {
      for (const entry of asArray(rule.verifyImages)) add(strings(asObject(asObject(entry)?.imageRegistryCredentials)?.secrets));
    }
  }
  return [...refs.values()];
}

/** Whether an ImageValidatingPolicy names in-toto attestations (cosign's `.att` manifests). */
function readsIntoto(policy: JsonObject): boolean {
  return asArray(asObject(policy.spec)?.attestations).some((a) => isJsonObject(asObject(a)?.intoto));
}

function podPullSecrets(resource: JsonObject): string[] {
  const spec = asObject(resource.spec);
  const template = asObject(asObject(asObject(spec?.template)?.spec)) ?? asObject(asObject(asObject(asObject(asObject(spec?.jobTemplate)?.spec)?.template)?.spec));
  const podSpec = resource.kind === 'Pod' ? spec : template;
  return asArray(podSpec?.imagePullSecrets).map((s) => asObject(s)?.name).filter((n): n is string => typeof n === 'string' && n !== '');
}

/** Every (image, what to read, credentials) the policies' verifyImages entries ask for. */
const NO_KEYS: Keychain = { entries: [] };

/**
 * Every (image, what to read, credentials) the policies ask for, and the secrets they name
 * that are not among `options.secrets` (`namespace/name`), for a caller that can read them.
 */
function imageRequests(policies: readonly JsonObject[], resources: readonly JsonObject[], options: PrefetchOptions): { requests: ImageRequest[]; missing: Set<string> } {
  let lookup: ReturnType<typeof secretLookup> | undefined;
  const missing = new Set<string>();
  const keychainOf = (refs: string[], namespace: string): Keychain => {
    if (refs.length === 0) return NO_KEYS;
    lookup ??= secretLookup(options.secrets ?? []);
    return joinKeychains(...refs.map((r) => secretRef(r, namespace)).map(({ namespace: ns, name }) => {
      const secret = lookup!(ns, name);
      if (!secret) missing.add(`${ns}/${name}`);
      return secret ? keychainFromSecret(secret) : undefined;
    }));
  };
  const kyvernoNamespace = options.kyvernoNamespace ?? KYVERNO_NAMESPACE;
  const providerKeychain = (providers: string[]): Keychain =>
    providers.length === 0 ? NO_KEYS : keychainForProviders(providers, { defaultKeychain: options.defaultKeychain ?? options.keychain, env: options.env });
  const out = new Map<string, ImageRequest>();
  const rules = policies.flatMap(verifyImagesRules);
  const ivpols = policies.filter(isImageValidatingPolicy);
  if (rules.length === 0 && ivpols.length === 0) return { requests: [], missing };
  for (const resource of resources) {
    for (const policy of ivpols) {
      // ImageValidatingPolicy credentials (Kyverno's RemoteOptsFromIvpolCredentials): secrets, providers, insecure.
      const creds = asObject(asObject(policy.spec)?.credentials);
      const keychain = creds ? joinKeychains(keychainOf(strings(creds.secrets), kyvernoNamespace), providerKeychain(strings(creds.providers))) : NO_KEYS;
      for (const info of ivpolImages(policy, resource)) {
        const name = imageString(info);
        const request = out.get(name) ?? newRequest(info);
        request.needs.signatures = true;
        request.needs.details = true;
        request.needs.attestations ||= readsIntoto(policy);
        request.insecure ||= creds?.allowInsecureRegistry === true;
        if (keychain.entries.length > 0) request.keychain = joinKeychains(request.keychain, keychain);
        for (const source of ivpolSources(policy)) addSource(request, source.repository, source.tagPrefix);
        out.set(name, request);
      }
    }
    const namespace = typeof asObject(resource.metadata)?.namespace === 'string' ? String(asObject(resource.metadata).namespace) : 'default';
    const pullSecrets = keychainOf(podPullSecrets(resource), namespace);
    for (const rule of rules) {
      for (const info of matchingImages(rule, resource)) {
        const name = imageString(info);
        const entries = ruleImageVerifications(rule);
        for (const [i, raw] of asArray(rule.verifyImages).entries()) {
          const entry = entries[i];
          const creds = asObject(asObject(raw)?.imageRegistryCredentials);
          const request = out.get(name) ?? newRequest(info);
          for (const repository of classicRepositories(asObject(raw) ?? {})) addSource(request, repository);
          request.needs.signatures ||= entry.attestors.length > 0;
          request.needs.referrers ||= entry.attestors.length > 0 && entry.cosignOCI11;
          request.needs.attestations ||= entry.attestations.length > 0;
          request.insecure ||= creds?.allowInsecureRegistry === true;
          const own = joinKeychains(keychainOf(strings(creds?.secrets), kyvernoNamespace), providerKeychain(strings(creds?.providers)));
          if (own.entries.length > 0 || pullSecrets.entries.length > 0) request.keychain = joinKeychains(request.keychain, own, pullSecrets);
          out.set(name, request);
        }
      }
    }
  }
  const requests = [...out.values()].map((r) => (options.keychain?.entries.length ? { ...r, keychain: joinKeychains(r.keychain, options.keychain) } : r));
  return { requests, missing };
}

/** go-containerregistry's message for a HEAD on a missing tag, wrapped as cosign does. */
function tagNotFound(client: RegistryClient, registry: string, repository: string, reference: string): string {
  return `image tag not found: HEAD ${client.baseUrl(registry)}/v2/${repository}/manifests/${reference}: unexpected status code 404 Not Found (HEAD responses have no body, use GET for details)`;
}

async function layersOf(client: RegistryClient, registry: string, repository: string, manifest: Manifest | null): Promise<CosignSignatureLayer[]> {
  const layers: CosignSignatureLayer[] = [];
  for (const raw of asArray(manifest?.body.layers)) {
    const layer = asObject(raw);
    if (typeof layer?.digest !== 'string') continue;
    const annotations: Record<string, string> = {};
    for (const [k, v] of Object.entries(asObject(layer.annotations) ?? {})) if (typeof v === 'string') annotations[k] = v;
    const payload = await client.getBlob(registry, repository, layer.digest);
    layers.push({ payload: base64Encode(payload), signature: annotations[COSIGN_SIGNATURE_ANNOTATION] ?? '', mediaType: typeof layer.mediaType === 'string' ? layer.mediaType : '', annotations });
  }
  return layers;
}

/**
 * The signature manifest among the digest's referrers of cosign's signature artifact type
 * (the last one, as cosign takes it); the registry's referrers API first, else the
 * `sha256-<hex>` tag that OCI 1.1 clients maintain as a fallback index.
 */
async function referrerSignatures(client: RegistryClient, registry: string, repository: string, digest: string): Promise<CosignSignatureLayer[]> {
  let descriptors = await client.getReferrers(registry, repository, digest, COSIGN_SIGNATURE_ARTIFACT_TYPE);
  if (descriptors === null) {
    const fallback = await client.getManifest(registry, repository, digest.replace(':', '-'));
    descriptors = fallback && INDEX_MEDIA_TYPES.has(fallback.mediaType)
      ? asArray(fallback.body.manifests).map((m) => asObject(m) ?? {}).filter((m) => m.artifactType === COSIGN_SIGNATURE_ARTIFACT_TYPE)
      : [];
  }
  const last = descriptors[descriptors.length - 1];
  if (!last || typeof last.digest !== 'string') return [];
  return layersOf(client, registry, repository, await client.getManifest(registry, repository, last.digest));
}

/** Kyverno's limits on referrers (imagedataloader): how many, and the size of one's data. */
const MAX_REFERRERS = 50;
const MAX_REFERRER_DATA = 10 * 1000 * 1000;

/** The referrers index of a digest: the API, else the `sha256-<hex>` tag fallback (go-containerregistry's remote.Referrers). */
async function referrerDescriptors(client: RegistryClient, registry: string, repository: string, digest: string): Promise<JsonObject[]> {
  const listed = await client.getReferrers(registry, repository, digest);
  if (listed !== null) return listed;
  const fallback = await client.getManifest(registry, repository, digest.replace(':', '-'));
  return fallback && INDEX_MEDIA_TYPES.has(fallback.mediaType) ? asArray(fallback.body.manifests).map((m) => asObject(m) ?? {}) : [];
}

/** The referrers of `digest`, each with its one layer read; `depth` 1 also reads their own referrers (Notary signatures of an attestation). */
async function readReferrers(client: RegistryClient, registry: string, repository: string, digest: string, depth: number): Promise<RegistryReferrer[]> {
  const index = await referrerDescriptors(client, registry, repository, digest);
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
    const annotations = asObject(raw.annotations) ?? {};
    if (Object.keys(annotations).length > 0) referrer.annotations = Object.fromEntries(Object.entries(annotations).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
    try {
      const manifest = await client.getManifest(registry, repository, raw.digest);
      const layers = asArray(manifest?.body.layers).map((l) => asObject(l) ?? {});
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

/** What ImageValidatingPolicies read beyond signatures: the manifest's descriptor and the referrers with their data. */
async function readDetails(client: RegistryClient, registry: string, repository: string, image: RegistryImage): Promise<void> {
  const manifest = await client.getManifest(registry, repository, image.digest!);
  if (!manifest) return;
  image.manifestMediaType = manifest.mediaType;
  image.manifestSize = manifest.raw.length;
  try {
    image.referrers = await readReferrers(client, registry, repository, image.digest!, 1);
  } catch (e) {
    image.referrersError = (e as Error).message;
  }
}

function failure(e: unknown): { error: string; unreachable: boolean } {
  return { error: (e as Error).message, unreachable: e instanceof RegistryError && e.network };
}

/** One image: its digest and the cosign artifacts asked for, or the error that stopped the reading. */
/** The repository as the registry serves it: Docker Hub's single-component names live under `library/`. */
function registryRepository(registry: string, path: string): string {
  return (registry === 'docker.io' || registry === 'index.docker.io') && !path.includes('/') ? `library/${path}` : path;
}

/**
 * The cosign artifacts of `digest` kept in another repository (cosign's WithTargetRepository
 * and WithPrefix): `<repository>:<prefix>sha256-<hex>.sig` and, when asked, `.att`.
 */
async function readSignatureSource(client: RegistryClient, info: ImageInfo, digest: string, repository: string, tagPrefix: string, needs: ImageNeeds): Promise<SignatureSource> {
  let registry = info.registry ?? 'docker.io';
  let path = registryRepository(registry, info.path);
  if (repository) {
    try {
      const ref = parseReference(repository);
      registry = ref.registry;
      path = ref.repository;
    } catch (e) {
      if (!(e instanceof BadName)) throw e;
      return { error: `failed to parse signature repository ${repository}: ${e.message}`, signatures: [] };
    }
  }
  const out: SignatureSource = { signatures: [] };
  try {
    if (needs.signatures) out.signatures = await layersOf(client, registry, path, await client.getManifest(registry, path, cosignSignatureTag(digest, tagPrefix)));
  } catch (e) {
    return { ...failure(e), signatures: [] };
  }
  if (needs.attestations) {
    try {
      out.attestations = await layersOf(client, registry, path, await client.getManifest(registry, path, cosignAttestationTag(digest, tagPrefix)));
    } catch (e) {
      out.attestationsError = (e as Error).message;
    }
  }
  return out;
}

export async function fetchImage(
  client: RegistryClient,
  info: ImageInfo,
  needs: ImageNeeds = { signatures: true, referrers: false, attestations: false },
  sources: Iterable<{ repository: string; tagPrefix: string }> = [],
): Promise<RegistryImage> {
  const registry = info.registry ?? 'docker.io';
  const repository = registryRepository(registry, info.path);
  let digest = info.digest;
  try {
    if (!digest) {
      const manifest = await client.getManifest(registry, repository, info.tag ?? 'latest');
      if (!manifest) return { error: tagNotFound(client, registry, repository, info.tag ?? 'latest'), signatures: [] };
      digest = manifest.digest;
    }
  } catch (e) {
    return { ...failure(e), signatures: [] };
  }
  const out: RegistryImage = { digest, signatures: [] };
  try {
    if (needs.signatures) out.signatures = await layersOf(client, registry, repository, await client.getManifest(registry, repository, cosignSignatureTag(digest)));
  } catch (e) {
    return { ...failure(e), digest, signatures: [] };
  }
  if (needs.referrers) {
    try {
      out.referrerSignatures = await referrerSignatures(client, registry, repository, digest);
    } catch {
      // cosign falls back to the tag schema whatever went wrong
    }
  }
  if (needs.attestations) {
    try {
      out.attestations = await layersOf(client, registry, repository, await client.getManifest(registry, repository, cosignAttestationTag(digest)));
    } catch (e) {
      out.attestationsError = (e as Error).message;
    }
  }
  for (const { repository: other, tagPrefix } of sources) {
    (out.sources ??= {})[signatureSourceKey(other, tagPrefix)] = await readSignatureSource(client, info, digest, other, tagPrefix, needs);
  }
  if (needs.details) {
    try {
      await readDetails(client, registry, repository, out);
    } catch (e) {
      return { ...failure(e), digest, signatures: [] };
    }
  }
  return out;
}

/** go-containerregistry's RegistryStr: Docker Hub is `index.docker.io`. */
function registryName(registry: string): string {
  return registry === 'docker.io' ? 'index.docker.io' : registry;
}

/**
 * Kyverno's image data for one reference: an index resolves to its linux/amd64 image, as
 * go-containerregistry's remote.Image does by default.
 */
export async function fetchImageMetadata(client: RegistryClient, reference: string): Promise<ImageMetadata | { error: string }> {
  let ref;
  try {
    ref = parseReference(reference);
  } catch (e) {
    if (!(e instanceof BadName)) throw e;
    return { error: `failed to fetch image descriptor: ${reference}, error: ${e.message}` };
  }
  const registry = ref.registry;
  const repository = ref.repository;
  const identifier = ref.identifier;
  const info = { tag: ref.tag || undefined, digest: ref.digest || undefined };
  try {
    const top = await client.getManifest(registry, repository, identifier);
    if (!top) throw new RegistryError(`GET ${client.baseUrl(registry)}/v2/${repository}/manifests/${identifier}: MANIFEST_UNKNOWN: manifest unknown`, 404);
    let image = top;
    let manifestList: unknown;
    if (INDEX_MEDIA_TYPES.has(top.mediaType)) {
      manifestList = top.body;
      const children = asArray(top.body.manifests).map((m) => asObject(m) ?? {});
      const platform = (m: JsonObject) => asObject(m.platform) ?? {};
      const chosen = children.find((m) => platform(m).os === 'linux' && platform(m).architecture === 'amd64');
      if (!chosen || typeof chosen.digest !== 'string') throw new RegistryError(`no child with platform linux/amd64 in index ${registry}/${repository}@${top.digest}`);
      const child = await client.getManifest(registry, repository, chosen.digest);
      if (!child) throw new RegistryError(`GET ${client.baseUrl(registry)}/v2/${repository}/manifests/${chosen.digest}: MANIFEST_UNKNOWN: manifest unknown`, 404);
      image = child;
    }
    const configDigest = asObject(image.body.config)?.digest;
    let config: unknown = null;
    if (typeof configDigest === 'string') config = JSON.parse(new TextDecoder().decode(await client.getBlob(registry, repository, configDigest))) as unknown;
    const name = `${registryName(registry)}/${repository}`;
    const out: ImageMetadata = {
      image: reference,
      resolvedImage: info.tag && !info.digest ? `${name}:${info.tag}@${top.digest}` : `${name}@${top.digest}`,
      registry: registryName(registry),
      repository,
      identifier,
      digest: top.digest,
      manifest: image.body,
      config,
    };
    if (info.tag && !info.digest) out.tag = info.tag;
    if (manifestList !== undefined) out.manifestList = manifestList;
    return out;
  } catch (e) {
    return { error: `failed to fetch image descriptor: ${reference}, error: ${(e as Error).message}` };
  }
}

const imageDataReads = new WeakMap<JsonObject, { literal: string[] } | null>();

/** Whether the policy reads image data from registries (an `imageRegistry` context entry, CEL `image.GetMetadata`); once per policy object. */
function readsImageData(policy: JsonObject): { literal: string[] } | null {
  // ImageValidatingPolicies read image data (getImageData, the image variable) of the images they check.
  if (isImageValidatingPolicy(policy)) return { literal: [] };
  let found = imageDataReads.get(policy);
  if (found === undefined) imageDataReads.set(policy, (found = scanImageDataReads(policy)));
  return found;
}

function scanImageDataReads(policy: JsonObject): { literal: string[] } | null {
  const literal: string[] = [];
  let found = false;
  const visit = (node: unknown, key: string): void => {
    if (typeof node === 'string') {
      if (/\bimage\.(GetMetadata|getMetadata)\s*\(/.test(node)) found = true;
      return;
    }
    if (Array.isArray(node)) {
      for (const n of node) visit(n, key);
      return;
    }
    if (!isJsonObject(node)) return;
    if (key === 'imageRegistry') {
      found = true;
      if (typeof node.reference === 'string' && !node.reference.includes('{{')) literal.push(node.reference);
    }
    for (const [k, v] of Object.entries(node)) visit(v, k);
  };
  visit(policy.spec, 'spec');
  return found ? { literal } : null;
}

/** Every image string written in the resources' containers. */
function resourceImageStrings(resources: readonly JsonObject[]): string[] {
  const out: string[] = [];
  for (const resource of resources) {
    for (const group of Object.values(extractImages(resource))) {
      for (const info of Object.values(group)) {
        const written = pointerValue(resource, info.jsonPointer);
        if (typeof written === 'string') out.push(written);
      }
    }
  }
  return out;
}

function pointerValue(doc: unknown, pointer: string): unknown {
  let node = doc;
  for (const part of pointer.split('/').slice(1)) {
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    node = Array.isArray(node) ? node[Number(key)] : isJsonObject(node) ? node[key] : undefined;
  }
  return node;
}

/** The snapshot for the policies and resources of a run. */
export async function prefetchImageRegistry(
  policies: readonly JsonObject[],
  resources: readonly JsonObject[],
  clientOrOptions: RegistryClient | PrefetchOptions = {},
): Promise<ImageRegistrySnapshot> {
  const options: PrefetchOptions = clientOrOptions instanceof RegistryClient ? { client: clientOrOptions } : clientOrOptions;
  const client = options.client ?? new RegistryClient();
  let { requests, missing } = imageRequests(policies, resources, options);
  if (missing.size > 0 && options.readSecret) {
    // Secrets the policies name that the caller did not hand over: read them (the cluster's), then plan again.
    const read = await Promise.all([...missing].map(async (key) => {
      const slash = key.indexOf('/');
      return options.readSecret!(key.slice(0, slash), key.slice(slash + 1)).catch(() => undefined);
    }));
    const found = read.filter((s): s is JsonObject => !!s);
    if (found.length > 0) ({ requests } = imageRequests(policies, resources, { ...options, secrets: [...(options.secrets ?? []), ...found] }));
  }
  const entries = await Promise.all(requests.map(async (r) => {
    const scoped = client.with({ keychain: r.keychain, insecure: r.insecure });
    const name = imageString(r.info);
    // One record per image and needs while the cache lives; a failed reading is asked again next time.
    const needs = `${r.needs.signatures ? 's' : ''}${r.needs.referrers ? 'r' : ''}${r.needs.attestations ? 'a' : ''}${r.needs.details ? 'd' : ''}${[...r.sources.keys()].sort().map((k) => ` ${k}`).join('')}`;
    const complete = (v: RegistryImage) => v.error === undefined && v.attestationsError === undefined && Object.values(v.sources ?? {}).every((s) => s.error === undefined && s.attestationsError === undefined);
    const record = await scoped.remember(`image ${name} ${needs}`, () => fetchImage(scoped, r.info, r.needs, r.sources.values()), complete);
    return [name, record] as const;
  }));
  const snapshot: ImageRegistrySnapshot = { images: Object.fromEntries(entries) };
  const references = new Set<string>();
  for (const policy of policies) {
    const reads = readsImageData(policy);
    if (!reads) continue;
    for (const r of reads.literal) references.add(r);
    for (const r of resourceImageStrings(resources)) references.add(r);
  }
  if (references.size > 0) {
    const dataClient = client.with({ keychain: joinKeychains(options.keychain) });
    const metadata = await Promise.all([...references].map(async (r) => [r, await fetchImageMetadata(dataClient, r)] as const));
    snapshot.metadata = Object.fromEntries(metadata);
  }
  return snapshot;
}
