/**
 * Cosign public-key verification of image signatures from a registry snapshot, as Kyverno's
 * cosign verifier (pkg/image/verifiers/cpol/cosign) and cosign's VerifyImageSignatures do it:
 * every layer of the `.sig` manifest is checked, first the signature over the payload bytes,
 * then the payload's `critical.image.docker-manifest-digest` against the image digest; the
 * image is verified when one layer passes both.
 */
import { parsePublicKeyPem, splitPublicKeyPem, KeyError, type PublicKey } from '../crypto/keys';
import { verifyWithKey } from '../crypto/verify';
import { CertificateError, EKU_CODE_SIGNING, parseCertificatesPem, rfc3339, verifyCertificateChain, type Certificate } from '../crypto/x509';
import { base64Decode } from '../jmespath/go-compat';
import type { CosignSignatureLayer, RegistryImage } from './snapshot';

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
  /** The signing certificates of the verified signatures (null for a key-only signature). */
  certificates: Array<Certificate | null>;
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

export const COSIGN_CERTIFICATE_ANNOTATION = 'dev.sigstore.cosign/certificate';
export const COSIGN_CHAIN_ANNOTATION = 'dev.sigstore.cosign/chain';

/**
 * What a signature is checked with, as cosign's CheckOpts carry it: a fixed public key (a PEM
 * key, or the certificate of a `certificates` attestor) or, keyless, the roots the signature's
 * own certificate (`dev.sigstore.cosign/certificate`, intermediates in `/chain`) must chain to.
 */
export type CosignVerifier = { key: PublicKey } | { roots: Certificate[]; intermediates?: Certificate[] };

/** sig.Cert(): the signature's certificate, null when the layer has none. */
function layerCertificate(layer: CosignSignatureLayer): Certificate | null {
  const pem = layer.annotations[COSIGN_CERTIFICATE_ANNOTATION];
  if (!pem) return null;
  const certs = parseCertificatesPem(pem);
  if (certs.length === 0) throw new Error('no certificates in certificate annotation');
  return certs[0];
}

/**
 * cosign's ValidateAndUnpackCertWithIntermediates (legacy roots, no identities): the
 * certificate chains to the roots at its own NotBefore with the code-signing usage; returns the
 * chain less the leaf for the expiry check.
 */
export function trustedCertificate(cert: Certificate, roots: readonly Certificate[], intermediates: readonly Certificate[]): Certificate[] {
  try {
    const [chain] = verifyCertificateChain(cert, { roots, intermediates, at: cert.notBefore, keyUsages: [EKU_CODE_SIGNING] });
    return chain.slice(1);
  } catch (e) {
    if (!(e instanceof CertificateError)) throw e;
    throw new Error(`cert verification failed: ${e.message}. Check your TUF root (see cosign initialize) or set a custom root with env var SIGSTORE_ROOT_FILE`);
  }
}

/** cosign's CheckExpiry. */
function checkExpiry(cert: Certificate, chain: readonly Certificate[], at: number): string | null {
  const t = rfc3339(at);
  if (cert.notAfter < at) return `certificate expired before observed time: ${cert.notAfterText} is before ${t}`;
  if (cert.notBefore > at) return `certificate was issued after observed time: ${cert.notBeforeText} is after ${t}`;
  for (const c of chain) {
    if (c.notAfter < at) return `issuing CA certificate expired before observed time: ${c.notAfterText} is before ${t}`;
    if (c.notBefore > at) return `issuing CA certificate was issued after observed time: ${c.notBeforeText} is after ${t}`;
  }
  return null;
}

/** cosign's verifyInternal for one layer with the transparency log ignored; throws with its message. */
function verifyLayer(layer: CosignSignatureLayer, imageDigest: string, verifier: CosignVerifier, now: number): { payload: SimpleSigningPayload; cert: Certificate | null } {
  let payloadBytes: Uint8Array;
  let signature: Uint8Array;
  try {
    payloadBytes = base64Decode(layer.payload);
    signature = base64Decode(layer.signature);
  } catch {
    throw new Error('failed to decode signature layer');
  }
  let key: PublicKey;
  let chain: Certificate[] = [];
  if ('key' in verifier) {
    key = verifier.key;
  } else {
    const cert = layerCertificate(layer);
    if (!cert) throw new Error('no certificate found on signature');
    const pem = layer.annotations[COSIGN_CHAIN_ANNOTATION];
    const embedded = pem ? parseCertificatesPem(pem) : [];
    // The chain annotation ends with its root; the rest are intermediates.
    const intermediates = embedded.length > 1 ? embedded.slice(0, -1) : (verifier.intermediates ?? []);
    chain = trustedCertificate(cert, verifier.roots, intermediates);
    if (!cert.publicKey) throw new Error('invalid certificate found on signature: unsupported public key type');
    key = cert.publicKey;
  }
  const outcome = verifyWithKey(key, payloadBytes, signature);
  if (!outcome.verified) throw new Error(outcome.error ?? 'invalid signature');
  let parsed: SimpleSigningPayload;
  try {
    parsed = JSON.parse(textDecoder.decode(payloadBytes)) as SimpleSigningPayload;
  } catch (e) {
    throw new Error((e as Error).message);
  }
  const found = parsed?.critical?.image?.['docker-manifest-digest'];
  if (found !== imageDigest) throw new Error(`invalid or missing digest in claim: ${typeof found === 'string' ? found : ''}`);
  const cert = layerCertificate(layer);
  if (cert) {
    // Without the transparency log or a signed timestamp the only time to check against is now.
    if (checkExpiry(cert, chain, now)) throw new Error('expected a signed timestamp to verify an expired certificate');
  }
  return { payload: parsed, cert };
}

/**
 * cosign's VerifyImageSignatures with the transparency log ignored, then Kyverno's annotation
 * check: every layer of the `.sig` manifest is tried; the image is verified when one passes.
 * Throws Error with their messages.
 */
export function verifyCosignSignatures(
  record: RegistryImage,
  imageDigest: string,
  verifier: CosignVerifier,
  annotations: Record<string, string> = {},
  now = Date.now(),
): CosignVerified {
  if (record.signatures.length === 0) throw new Error('no signatures found');
  const errors: string[] = [];
  const verified: SimpleSigningPayload[] = [];
  const certificates: Array<Certificate | null> = [];
  for (const layer of record.signatures) {
    try {
      const { payload, cert } = verifyLayer(layer, imageDigest, verifier, now);
      verified.push(payload);
      certificates.push(cert);
    } catch (e) {
      if (e instanceof CertificateError) errors.push(e.message);
      else errors.push((e as Error).message);
    }
  }
  if (verified.length === 0) throw new Error(`no matching signatures: ${errors.join('\n ')}`);
  checkAnnotations(verified, annotations);
  return { digest: imageDigest, certificates };
}

/**
 * Verifies the image's signatures with one PEM public key (cosign's VerifyImageSignatures,
 * then Kyverno's annotation and digest extraction); throws Error with their message.
 */
export function verifyCosignKey(record: RegistryImage, imageDigest: string, publicKeyPem: string, annotations: Record<string, string> = {}): CosignVerified {
  let key: PublicKey;
  try {
    key = parsePublicKeyPem(publicKeyPem);
  } catch (e) {
    if (e instanceof KeyError) throw new Error(`failed to load public key from PEM: pem to public key: ${e.message}`);
    throw e;
  }
  return verifyCosignSignatures(record, imageDigest, { key }, annotations);
}
