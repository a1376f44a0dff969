/**
 * Cosign's encrypted private keys for the test signer, so that it signs with keys in the format
 * users already have (`cosign generate-key-pair`): a PEM block `ENCRYPTED SIGSTORE PRIVATE KEY`
 * (or the older `ENCRYPTED COSIGN PRIVATE KEY`) whose body is go-securesystemslib's
 * `encrypted` JSON — scrypt key derivation, then NaCl secretbox (XSalsa20-Poly1305) over the
 * PKCS#8 private key. node:crypto has scrypt but not XSalsa20, so the cipher is written out here.
 * Test code only: Kyverno verifies with public keys and certificates, never private keys.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, scryptSync, type KeyObject } from 'node:crypto';

const SIGMA = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574];

function rotl(v: number, c: number): number {
  return ((v << c) | (v >>> (32 - c))) >>> 0;
}

/** The Salsa20/20 double rounds on a 16-word state, in place. */
function salsaRounds(x: Uint32Array): void {
  const qr = (a: number, b: number, c: number, d: number) => {
    x[b] ^= rotl((x[a] + x[d]) >>> 0, 7);
    x[c] ^= rotl((x[b] + x[a]) >>> 0, 9);
    x[d] ^= rotl((x[c] + x[b]) >>> 0, 13);
    x[a] ^= rotl((x[d] + x[c]) >>> 0, 18);
  };
  for (let i = 0; i < 10; i++) {
    qr(0, 4, 8, 12); qr(5, 9, 13, 1); qr(10, 14, 2, 6); qr(15, 3, 7, 11);
    qr(0, 1, 2, 3); qr(5, 6, 7, 4); qr(10, 11, 8, 9); qr(15, 12, 13, 14);
  }
}

function initialState(key: Uint8Array, input: Uint8Array): Uint32Array {
  const k = new DataView(key.buffer, key.byteOffset, 32);
  const n = new DataView(input.buffer, input.byteOffset, 16);
  const s = new Uint32Array(16);
  s[0] = SIGMA[0]; s[5] = SIGMA[1]; s[10] = SIGMA[2]; s[15] = SIGMA[3];
  for (let i = 0; i < 4; i++) {
    s[1 + i] = k.getUint32(i * 4, true);
    s[11 + i] = k.getUint32(16 + i * 4, true);
    s[6 + i] = n.getUint32(i * 4, true);
  }
  return s;
}

/** XSalsa20 key stream of `length` bytes for a 24-byte nonce. */
function xsalsa20Stream(key: Uint8Array, nonce: Uint8Array, length: number): Uint8Array {
  const h = initialState(key, nonce.subarray(0, 16));
  salsaRounds(h);
  const subkey = new Uint8Array(32);
  const sv = new DataView(subkey.buffer);
  [0, 5, 10, 15, 6, 7, 8, 9].forEach((w, i) => sv.setUint32(i * 4, h[w], true));
  const out = new Uint8Array(length);
  const input = new Uint8Array(16);
  input.set(nonce.subarray(16, 24));
  for (let block = 0; block * 64 < length; block++) {
    new DataView(input.buffer).setUint32(8, block, true);
    const init = initialState(subkey, input);
    const x = init.slice();
    salsaRounds(x);
    const bytes = new Uint8Array(64);
    const bv = new DataView(bytes.buffer);
    for (let i = 0; i < 16; i++) bv.setUint32(i * 4, (x[i] + init[i]) >>> 0, true);
    out.set(bytes.subarray(0, Math.min(64, length - block * 64)), block * 64);
  }
  return out;
}

function littleEndian(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]);
  return n;
}

function poly1305(key: Uint8Array, message: Uint8Array): Uint8Array {
  const p = (1n << 130n) - 5n;
  const r = littleEndian(key.subarray(0, 16)) & 0x0ffffffc0ffffffc0ffffffc0fffffffn;
  const s = littleEndian(key.subarray(16, 32));
  let acc = 0n;
  for (let i = 0; i < message.length; i += 16) {
    const chunk = message.subarray(i, i + 16);
    acc = ((acc + littleEndian(chunk) + (1n << BigInt(8 * chunk.length))) * r) % p;
  }
  let tag = (acc + s) & ((1n << 128n) - 1n);
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++, tag >>= 8n) out[i] = Number(tag & 0xffn);
  return out;
}

/** NaCl secretbox.Seal: tag (16 bytes) then ciphertext. */
export function secretboxSeal(message: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array {
  const stream = xsalsa20Stream(key, nonce, 32 + message.length);
  const cipher = message.map((b, i) => b ^ stream[32 + i]);
  const out = new Uint8Array(16 + cipher.length);
  out.set(poly1305(stream.subarray(0, 32), cipher));
  out.set(cipher, 16);
  return out;
}

/** NaCl secretbox.Open; null when the tag does not match (wrong key or altered box). */
export function secretboxOpen(box: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array | null {
  if (box.length < 16) return null;
  const cipher = box.subarray(16);
  const stream = xsalsa20Stream(key, nonce, 32 + cipher.length);
  const tag = poly1305(stream.subarray(0, 32), cipher);
  let diff = 0;
  for (let i = 0; i < 16; i++) diff |= tag[i] ^ box[i];
  if (diff !== 0) return null;
  return cipher.map((b, i) => b ^ stream[32 + i]);
}

interface EncryptedKeyDocument {
  kdf: { name: string; params: { N: number; r: number; p: number }; salt: string };
  cipher: { name: string; nonce: string };
  ciphertext: string;
}

export const SIGSTORE_PRIVATE_KEY = 'ENCRYPTED SIGSTORE PRIVATE KEY';
export const COSIGN_PRIVATE_KEY = 'ENCRYPTED COSIGN PRIVATE KEY';

function derive(password: string, salt: Buffer, params: { N: number; r: number; p: number }): Buffer {
  return scryptSync(Buffer.from(password), salt, 32, { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 });
}

/** cosign's LoadPrivateKey: the private key of an encrypted PEM; throws with cosign's messages. */
export function readEncryptedCosignKey(pem: string, password: string): KeyObject {
  const m = /-----BEGIN ([A-Z ]+)-----\r?\n([\s\S]*?)-----END \1-----/.exec(pem);
  if (!m) throw new Error('invalid pem block');
  if (m[1] !== SIGSTORE_PRIVATE_KEY && m[1] !== COSIGN_PRIVATE_KEY) throw new Error(`unsupported pem type: ${m[1]}`);
  const doc = JSON.parse(Buffer.from(m[2].replace(/\s/g, ''), 'base64').toString()) as EncryptedKeyDocument;
  if (doc.kdf?.name !== 'scrypt' || doc.cipher?.name !== 'nacl/secretbox') throw new Error('decrypt: encrypted: unsupported key derivation or cipher');
  const key = derive(password, Buffer.from(doc.kdf.salt, 'base64'), doc.kdf.params);
  const plain = secretboxOpen(Buffer.from(doc.ciphertext, 'base64'), Buffer.from(doc.cipher.nonce, 'base64'), key);
  if (!plain) throw new Error('decrypt: encrypted: decryption failed');
  return createPrivateKey({ key: Buffer.from(plain), format: 'der', type: 'pkcs8' });
}

/** cosign generate-key-pair: an encrypted private key PEM and its public key PEM. */
export function generateEncryptedCosignKey(password: string, type = SIGSTORE_PRIVATE_KEY): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'der' });
  // Cosign's parameters (go-securesystemslib's defaults): N = 2^15, r = 8, p = 1.
  const params = { N: 32768, r: 8, p: 1 };
  const salt = randomBytes(32);
  const nonce = randomBytes(24);
  const sealed = secretboxSeal(pkcs8, nonce, derive(password, salt, params));
  const doc: EncryptedKeyDocument = {
    kdf: { name: 'scrypt', params, salt: salt.toString('base64') },
    cipher: { name: 'nacl/secretbox', nonce: nonce.toString('base64') },
    ciphertext: Buffer.from(sealed).toString('base64'),
  };
  const body = Buffer.from(JSON.stringify(doc)).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return {
    privateKeyPem: `-----BEGIN ${type}-----\n${body}\n-----END ${type}-----\n`,
    publicKeyPem: createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString(),
  };
}
