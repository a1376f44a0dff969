/**
 * Signature verification as sigstore's verifiers do it (github.com/sigstore/sigstore
 * pkg/signature): the message is hashed (SHA-256 unless asked otherwise, whatever the curve,
 * as cosign loads keys with crypto.SHA256) and then
 * - ECDSA: an ASN.1 DER (r, s) signature, high S accepted (Go's ecdsa.VerifyASN1);
 * - RSA: PKCS#1 v1.5 (cosign's default for RSA keys) or PSS;
 * - Ed25519: the signature over the message itself (no pre-hash).
 * Failures return sigstore's error text; an unusable key throws KeyError.
 */
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import { KeyError, parsePublicKeyPem, type PublicKey } from './keys';

export type HashName = 'sha256' | 'sha384' | 'sha512';

export interface VerifyOptions {
  /** Digest for ECDSA and RSA; sigstore's default is SHA-256. */
  hash?: HashName;
  /** RSA padding: PKCS#1 v1.5 (default) or PSS with the salt length found in the signature. */
  rsaPadding?: 'pkcs1v15' | 'pss';
  /** ECDSA signature encoding: ASN.1 DER (sigstore, X.509) or raw r‖s (JOSE, as Notary's JWS). */
  ecdsaEncoding?: 'der' | 'raw';
}

export interface VerifyOutcome {
  verified: boolean;
  /** Why not, in sigstore's words. */
  error?: string;
}

const HASHES = { sha256, sha384, sha512 } as const;
/** DER DigestInfo prefixes of PKCS#1 v1.5 (RFC 8017 9.2 note 1). */
const DIGEST_INFO: Record<HashName, number[]> = {
  sha256: [0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20],
  sha384: [0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30],
  sha512: [0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40],
};

function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let result = 1n;
  let b = base % mod;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % mod;
    b = (b * b) % mod;
    e >>= 1n;
  }
  return result;
}

function toBytes(n: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

function fromBytes(bytes: Uint8Array): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

/** s^e mod n as k bytes, or null when the signature has the wrong size or is out of range. */
function rsaOpen(key: Extract<PublicKey, { type: 'rsa' }>, signature: Uint8Array): Uint8Array | null {
  const k = Math.ceil(key.bits / 8);
  if (signature.length !== k) return null;
  const s = fromBytes(signature);
  if (s >= key.n) return null;
  return toBytes(modPow(s, key.e, key.n), k);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

function rsaPkcs1v15(key: Extract<PublicKey, { type: 'rsa' }>, digest: Uint8Array, hash: HashName, signature: Uint8Array): boolean {
  const em = rsaOpen(key, signature);
  if (!em) return false;
  const t = [...DIGEST_INFO[hash], ...digest];
  if (em.length < t.length + 11) return false;
  const expected = new Uint8Array(em.length);
  expected[1] = 1;
  expected.fill(0xff, 2, em.length - t.length - 1);
  expected.set(t, em.length - t.length);
  return equalBytes(em, expected);
}

function mgf1(seed: Uint8Array, length: number, hash: HashName): Uint8Array {
  const out = new Uint8Array(length);
  const h = HASHES[hash];
  for (let counter = 0, at = 0; at < length; counter++) {
    const block = h(Uint8Array.from([...seed, counter >>> 24, (counter >>> 16) & 0xff, (counter >>> 8) & 0xff, counter & 0xff]));
    out.set(block.subarray(0, Math.min(block.length, length - at)), at);
    at += block.length;
  }
  return out;
}

/** EMSA-PSS-VERIFY (RFC 8017 9.1.2) with MGF1 on the same hash and any salt length. */
function rsaPss(key: Extract<PublicKey, { type: 'rsa' }>, digest: Uint8Array, hash: HashName, signature: Uint8Array): boolean {
  const opened = rsaOpen(key, signature);
  if (!opened) return false;
  const emBits = key.bits - 1;
  const emLen = Math.ceil(emBits / 8);
  const em = opened.subarray(opened.length - emLen);
  if (opened.length > emLen && opened[0] !== 0) return false;
  const hLen = digest.length;
  if (emLen < hLen + 2 || em[emLen - 1] !== 0xbc) return false;
  const maskedDb = em.subarray(0, emLen - hLen - 1);
  const h = em.subarray(emLen - hLen - 1, emLen - 1);
  const topMask = 0xff >> (8 * emLen - emBits);
  if ((maskedDb[0] & ~topMask) !== 0) return false;
  const mask = mgf1(h, maskedDb.length, hash);
  const db = maskedDb.map((b, i) => b ^ mask[i]);
  db[0] &= topMask;
  let i = 0;
  while (i < db.length && db[i] === 0) i++;
  if (i >= db.length || db[i] !== 1) return false;
  const salt = db.subarray(i + 1);
  const mPrime = new Uint8Array(8 + hLen + salt.length);
  mPrime.set(digest, 8);
  mPrime.set(salt, 8 + hLen);
  return equalBytes(HASHES[hash](mPrime), h);
}

/** Verifies a signature with a parsed key. */
export function verifyWithKey(key: PublicKey, data: Uint8Array, signature: Uint8Array, options: VerifyOptions = {}): VerifyOutcome {
  const hash = options.hash ?? 'sha256';
  switch (key.type) {
    case 'ecdsa': {
      const curve = key.curve === 'P-256' ? p256 : key.curve === 'P-384' ? p384 : p521;
      let ok = false;
      try {
        ok = curve.verify(signature, HASHES[hash](data), key.point, { prehash: false, lowS: false, format: options.ecdsaEncoding === 'raw' ? 'compact' : 'der' });
      } catch {
        ok = false;
      }
      return ok ? { verified: true } : { verified: false, error: 'invalid signature when validating ASN.1 encoded signature' };
    }
    case 'rsa': {
      const digest = HASHES[hash](data);
      const ok = options.rsaPadding === 'pss' ? rsaPss(key, digest, hash, signature) : rsaPkcs1v15(key, digest, hash, signature);
      return ok ? { verified: true } : { verified: false, error: 'crypto/rsa: verification error' };
    }
    case 'ed25519': {
      let ok = false;
      try {
        ok = ed25519.verify(signature, data, key.key);
      } catch {
        ok = false;
      }
      return ok ? { verified: true } : { verified: false, error: 'failed to verify signature' };
    }
  }
}

/** Verifies `signature` over `data` with the PEM public key; throws KeyError for an unusable key. */
export function verifySignature(publicKeyPem: string, data: Uint8Array, signature: Uint8Array, options: VerifyOptions = {}): VerifyOutcome {
  return verifyWithKey(parsePublicKeyPem(publicKeyPem), data, signature, options);
}

export { KeyError };
