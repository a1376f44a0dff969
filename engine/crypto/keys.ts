/**
 * Public keys from PEM text, as Go's cryptoutils.UnmarshalPEMToPublicKey reads them: the first
 * PEM block, a "PUBLIC KEY" (SubjectPublicKeyInfo, x509.ParsePKIXPublicKey) or an
 * "RSA PUBLIC KEY" (PKCS#1). Supported algorithms are those cosign keys use: ECDSA on
 * P-256/P-384/P-521, RSA and Ed25519.
 */
import { base64Decode } from '../jmespath/go-compat';
import { DerError, expectTag, oidString, readChildren, readDer, TAG, unsignedInteger } from './der';

export type PublicKey =
  | { type: 'ecdsa'; curve: 'P-256' | 'P-384' | 'P-521'; point: Uint8Array }
  | { type: 'rsa'; n: bigint; e: bigint; bits: number }
  | { type: 'ed25519'; key: Uint8Array };

export class KeyError extends Error {}

const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const OID_RSA = '1.2.840.113549.1.1.1';
const OID_ED25519 = '1.3.101.112';
const CURVES: Record<string, 'P-256' | 'P-384' | 'P-521'> = {
  '1.2.840.10045.3.1.7': 'P-256',
  '1.3.132.0.34': 'P-384',
  '1.3.132.0.35': 'P-521',
};
const POINT_SIZE = { 'P-256': 65, 'P-384': 97, 'P-521': 133 } as const;

export interface PemBlock {
  type: string;
  bytes: Uint8Array;
}

const END_PUBLIC_KEY = '-----END PUBLIC KEY-----';

/**
 * Kyverno's splitPEM (several public keys in one `publicKeys` string): Go's strings.SplitAfter
 * on the END line, less the last piece. Every key after the first keeps the line break before it.
 */
export function splitPublicKeyPem(pem: string): string[] {
  const pieces: string[] = [];
  let start = 0;
  for (let at = pem.indexOf(END_PUBLIC_KEY); at >= 0; at = pem.indexOf(END_PUBLIC_KEY, start)) {
    pieces.push(pem.slice(start, at + END_PUBLIC_KEY.length));
    start = at + END_PUBLIC_KEY.length;
  }
  return pieces;
}

/** Go's pem.Decode: the first well-formed block (headers are not supported), or null. */
export function decodePem(text: string): PemBlock | null {
  const re = /-----BEGIN ([^-\r\n]*)-----\r?\n([\s\S]*?)-----END \1-----/;
  const m = re.exec(text);
  if (!m) return null;
  const body = m[2].replace(/[\s]/g, '');
  try {
    return { type: m[1], bytes: base64Decode(body) };
  } catch {
    return null;
  }
}

function rsaFromPkcs1(der: Uint8Array): PublicKey {
  const [n, e] = readChildren(expectTag(readDer(der), TAG.SEQUENCE, 'RSA public key'));
  const modulus = unsignedInteger(expectTag(n, TAG.INTEGER, 'RSA modulus').content);
  const exponent = unsignedInteger(expectTag(e, TAG.INTEGER, 'RSA exponent').content);
  if (modulus === 0n || exponent < 2n) throw new KeyError('invalid RSA public key');
  return { type: 'rsa', n: modulus, e: exponent, bits: modulus.toString(2).length };
}

/** x509.ParsePKIXPublicKey for the algorithms above. */
export function parseSpki(der: Uint8Array): PublicKey {
  const [algorithm, key] = readChildren(expectTag(readDer(der), TAG.SEQUENCE, 'SubjectPublicKeyInfo'));
  const [oid, params] = readChildren(expectTag(algorithm, TAG.SEQUENCE, 'AlgorithmIdentifier'));
  const algo = oidString(expectTag(oid, TAG.OID, 'algorithm OID').content);
  const bits = expectTag(key, TAG.BIT_STRING, 'subjectPublicKey').content;
  if (bits.length < 1 || bits[0] !== 0) throw new KeyError('malformed subjectPublicKey');
  const keyBytes = bits.subarray(1);
  if (algo === OID_EC_PUBLIC_KEY) {
    const curve = CURVES[oidString(expectTag(params, TAG.OID, 'named curve').content)];
    if (!curve) throw new KeyError('x509: unsupported elliptic curve');
    if (keyBytes.length !== POINT_SIZE[curve] || keyBytes[0] !== 4) throw new KeyError('x509: failed to unmarshal elliptic curve point');
    return { type: 'ecdsa', curve, point: keyBytes };
  }
  if (algo === OID_RSA) return rsaFromPkcs1(keyBytes);
  if (algo === OID_ED25519) {
    if (keyBytes.length !== 32) throw new KeyError('x509: wrong Ed25519 public key size');
    return { type: 'ed25519', key: keyBytes };
  }
  throw new KeyError('x509: unknown public key algorithm');
}

/** The public key in PEM text; throws KeyError when there is none or it cannot be read. */
export function parsePublicKeyPem(pem: string): PublicKey {
  const block = decodePem(pem);
  if (!block) throw new KeyError('PEM decoding failed');
  try {
    if (block.type === 'PUBLIC KEY') return parseSpki(block.bytes);
    if (block.type === 'RSA PUBLIC KEY') return rsaFromPkcs1(block.bytes);
  } catch (e) {
    if (e instanceof KeyError) throw e;
    if (e instanceof DerError) throw new KeyError(`x509: ${e.message}`);
    throw e;
  }
  throw new KeyError(`unknown Public key PEM file type: ${block.type}`);
}
