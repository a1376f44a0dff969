/**
 * What the registry said about the images of a run, read before evaluation by the I/O layer
 * (`registry/`), so that signature checks here stay synchronous and pure. Plain data: it can be
 * cached, serialised and handed to the engine in a browser as well.
 */

/** One cosign signature layer of a `sha256-<hex>.sig` manifest. */
export interface CosignSignatureLayer {
  /** The simple-signing payload, base64 (the signed bytes). */
  payload: string;
  /** The `dev.cosignproject.cosign/signature` annotation: the signature, base64. */
  signature: string;
  mediaType: string;
  annotations: Record<string, string>;
}

/**
 * An OCI 1.1 referrer of a manifest (from the referrers API, or its `sha256-<hex>` tag
 * fallback): SBOMs and other attestations, and Notary signatures; read for ImageValidatingPolicies.
 */
export interface RegistryReferrer {
  digest: string;
  mediaType: string;
  artifactType: string;
  size: number;
  annotations?: Record<string, string>;
  /** The artifact's one layer, as Kyverno reads referrer data (exactly one layer, at most 10 MB). */
  layer?: { mediaType: string; digest: string; size: number; data: string };
  /** Why the artifact's layer could not be read. */
  error?: string;
  /** The artifact's own referrers (the Notary signatures of an attestation); not read for signatures. */
  referrers?: RegistryReferrer[];
}

/**
 * The cosign artifacts of an image kept in another repository (cosign's WithTargetRepository:
 * a verifyImages entry's or attestor's `repository`, an ImageValidatingPolicy attestor's
 * `cosign.source.repository` and `tagPrefix`), under the same `sha256-<hex>.sig`/`.att` tags.
 */
export interface SignatureSource {
  signatures: CosignSignatureLayer[];
  attestations?: CosignSignatureLayer[];
  attestationsError?: string;
  /** Why the repository could not be read (a bad name, 401, unreachable...). */
  error?: string;
  unreachable?: boolean;
}

/** The key of a signature source in `RegistryImage.sources`: the repository as written, and the tag prefix. */
export function signatureSourceKey(repository: string, tagPrefix = ''): string {
  return tagPrefix ? `${repository}\u0000${tagPrefix}` : repository;
}

export interface RegistryImage {
  /** The manifest digest the reference resolves to (`Docker-Content-Digest`); an index's own digest for a multi-arch image, as cosign signs it. */
  digest?: string;
  /** Why the registry could not be read for this image (404, unauthorized, unreachable, timeout...). */
  error?: string;
  /** The error is a network failure (refused, unreachable, timed out): Kyverno makes those a rule error, other registry errors a failure. */
  unreachable?: boolean;
  /** The layers of the cosign signature manifest (`sha256-<hex>.sig`); empty when the image has none. */
  signatures: CosignSignatureLayer[];
  /** The signature layers found through the OCI 1.1 referrers API (or its tag-schema fallback), read for entries with `cosignOCI11`. */
  referrerSignatures?: CosignSignatureLayer[];
  /** The layers of the cosign attestation manifest (`sha256-<hex>.att`): DSSE envelopes, read for entries with `attestations`. */
  attestations?: CosignSignatureLayer[];
  /** Why the attestations could not be read. */
  attestationsError?: string;
  /** The media type and size in bytes of the manifest the digest names (what Notary signs), read for ImageValidatingPolicies. */
  manifestMediaType?: string;
  manifestSize?: number;
  /** The image's OCI 1.1 referrers with their data, read for ImageValidatingPolicies. */
  referrers?: RegistryReferrer[];
  /** Why the referrers could not be read. */
  referrersError?: string;
  /** Signatures and attestations read from other repositories, by signatureSourceKey. */
  sources?: Record<string, SignatureSource>;
}

/**
 * What Kyverno's image data loader returns for a reference (the `imageRegistry` context
 * entry's value, and `image.GetMetadata` in CEL): the reference's parts, the manifest and
 * config of the image (of the linux/amd64 manifest for an index) and the index itself.
 */
export interface ImageMetadata {
  image: string;
  resolvedImage: string;
  registry: string;
  repository: string;
  identifier: string;
  tag?: string;
  digest: string;
  manifest: unknown;
  config: unknown;
  /** The index (manifest list) when the reference names one. */
  manifestList?: unknown;
}

/** Keyed by the image as Kyverno prints it (ImageInfo.String()). */
export interface ImageRegistrySnapshot {
  images: Record<string, RegistryImage>;
  /** Image data by reference as written (for `imageRegistry` context entries and `image.GetMetadata`). */
  metadata?: Record<string, ImageMetadata | { error: string }>;
}

export const COSIGN_SIMPLESIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const COSIGN_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';

export const DSSE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';
export const INTOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
/** The artifact type of Notary signatures (OCI 1.1 referrers whose one layer is a JWS or COSE envelope). */
export const NOTARY_SIGNATURE_ARTIFACT_TYPE = 'application/vnd.cncf.notary.signature';
/** The artifact type of cosign signatures stored as OCI 1.1 referrers. */
export const COSIGN_SIGNATURE_ARTIFACT_TYPE = 'application/vnd.dev.cosign.artifact.sig.v1+json';

/** cosign's attestation tag for a digest: `sha256:abc` → `sha256-abc.att` (with a source's tag prefix in front). */
export function cosignAttestationTag(digest: string, tagPrefix = ''): string {
  return `${tagPrefix}${digest.replace(':', '-')}.att`;
}

/** cosign's signature tag for a digest: `sha256:abc` → `sha256-abc.sig` (with a source's tag prefix in front). */
export function cosignSignatureTag(digest: string, tagPrefix = ''): string {
  return `${tagPrefix}${digest.replace(':', '-')}.sig`;
}
