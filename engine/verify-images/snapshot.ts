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
 * fallback): SBOMs and other attestations, and Notary signatures.
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

export interface RegistryImage {
  /** The manifest digest the reference resolves to (`Docker-Content-Digest`). */
  digest?: string;
  /** The image manifest (or index) as served, its media type and size in bytes (what Notary signs). */
  manifest?: Record<string, unknown>;
  manifestMediaType?: string;
  manifestSize?: number;
  /** The image configuration blob, when the manifest names one. */
  config?: Record<string, unknown>;
  /** The image's referrers, read for ImageValidatingPolicies; absent when not read. */
  referrers?: RegistryReferrer[];
  /** Why the referrers could not be read. */
  referrersError?: string;
  /** Why the registry could not be read for this image (unreachable, 404, timeout...). */
  error?: string;
  /** The layers of the cosign signature manifest; empty when the image has none. */
  signatures: CosignSignatureLayer[];
}

/** Keyed by the image as Kyverno prints it (ImageInfo.String()). */
export interface ImageRegistrySnapshot {
  images: Record<string, RegistryImage>;
}

export const COSIGN_SIMPLESIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const COSIGN_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';

/** cosign's signature tag for a digest: `sha256:abc` → `sha256-abc.sig`. */
export function cosignSignatureTag(digest: string): string {
  return `${digest.replace(':', '-')}.sig`;
}

export const NOTARY_SIGNATURE_ARTIFACT_TYPE = 'application/vnd.cncf.notary.signature';

/** go-containerregistry's referrers tag fallback: `sha256:abc` → `sha256-abc`. */
export function referrersTag(digest: string): string {
  return digest.replace(':', '-');
}
