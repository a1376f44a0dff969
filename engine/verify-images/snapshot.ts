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

export interface RegistryImage {
  /** The manifest digest the reference resolves to (`Docker-Content-Digest`). */
  digest?: string;
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
