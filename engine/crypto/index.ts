/**
 * Signature checking for the engine, synchronous and without `node:crypto` (the engine runs in
 * browsers too): PEM/SubjectPublicKeyInfo keys (`keys.ts`, over a small DER reader `der.ts`)
 * and sigstore-compatible verification (`verify.ts`) of ECDSA P-256/P-384/P-521, RSA PKCS#1 v1.5
 * and PSS, and Ed25519 signatures. Curves and hashes come from @noble/curves and
 * @noble/hashes (audited, pure JavaScript); RSA is BigInt arithmetic here.
 * Used by manifest verification (`engine/verify-manifests`); meant for cosign blob and image
 * signatures too.
 */
export { decodePem, KeyError, parsePublicKeyPem, parseSpki, type PemBlock, type PublicKey } from './keys';
export { verifySignature, verifyWithKey, type HashName, type VerifyOptions, type VerifyOutcome } from './verify';
