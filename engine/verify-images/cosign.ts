/**
 * Cosign public-key verification of image signatures from a registry snapshot, as Kyverno's
 * cosign verifier (pkg/image/verifiers/cpol/cosign) and cosign's VerifyImageSignatures do it:
 * every layer of the `.sig` manifest is checked, first the signature over the payload bytes,
 * then the payload's `critical.image.docker-manifest-digest` against the image digest; the
 * image is verified when one layer passes both.
 */
import { splitPublicKeyPem } from '../crypto/keys';
import { base64Decode } from '../jmespath/go-compat';
import { KeyError, verifySignature } from '../crypto';
import type { RegistryImage } from './snapshot';

/** A check the engine cannot make offline (Rekor, KMS, secrets...): an error, not a failure. */
export class UnsupportedVerification extends Error {}

const textDecoder = new TextDecoder();

/** Several PEM keys in one string, one per attestor entry (Kyverno's ExpandStaticKeys); one key stays whole. */
export function splitPemKeys(text: string): string[] {
  const keys = splitPublicKeyPem(text);
  return keys.length > 1 ? keys : [text];
}

export interface CosignVerified {
  /** The digest the verified payload names. */
  digest: string;
}

interface SimpleSigningPayload {
  critical?: { image?: { 'docker-manifest-digest'?: unknown } };
  optional?: Record<string, unknown> | null;
}

/**
 * Kyverno's checkAnnotations: some verified payload must carry every required annotation in
 * its `optional` map.
 */
function checkAnnotations(payloads: SimpleSigningPayload[], annotations: Record<string, string>): void {
  const required = Object.entries(annotations);
  if (required.length === 0) return;
  if (payloads.some((p) => required.every(([k, v]) => p.optional?.[k] === v))) return;
  throw new Error('no signature matched the required annotations');
}

/**
 * Verifies the image's signatures with one PEM public key (cosign's VerifyImageSignatures,
 * then Kyverno's annotation and digest extraction); throws Error with their message.
 */
export function verifyCosignKey(record: RegistryImage, imageDigest: string, publicKeyPem: string, annotations: Record<string, string> = {}): CosignVerified {
  if (record.signatures.length === 0) throw new Error('no signatures found');
  const errors: string[] = [];
  const verified: SimpleSigningPayload[] = [];
  for (const layer of record.signatures) {
    let payloadBytes: Uint8Array;
    let signature: Uint8Array;
    try {
      payloadBytes = base64Decode(layer.payload);
      signature = base64Decode(layer.signature);
    } catch {
      errors.push('failed to decode signature layer');
      continue;
    }
    let outcome;
    try {
      outcome = verifySignature(publicKeyPem, payloadBytes, signature);
    } catch (e) {
      if (e instanceof KeyError) throw new Error(`failed to load public key from PEM: ${e.message}`);
      throw e;
    }
    if (!outcome.verified) {
      errors.push(outcome.error ?? 'invalid signature');
      continue;
    }
    let parsed: SimpleSigningPayload;
    try {
      parsed = JSON.parse(textDecoder.decode(payloadBytes)) as SimpleSigningPayload;
    } catch (e) {
      errors.push((e as Error).message);
      continue;
    }
    const found = parsed?.critical?.image?.['docker-manifest-digest'];
    if (found !== imageDigest) {
      errors.push(`invalid or missing digest in claim: ${typeof found === 'string' ? found : ''}`);
      continue;
    }
    verified.push(parsed);
  }
  if (verified.length === 0) throw new Error(`no matching signatures: ${errors.join('\n ')}`);
  checkAnnotations(verified, annotations);
  return { digest: imageDigest };
}
