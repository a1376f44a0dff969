/**
 * Notary Project (notation) signature verification, offline, as Kyverno's ImageValidatingPolicy
 * notary attestor runs it: notation.Verify with a trust policy at the `strict` level whose
 * trust store holds the attestor's certificates and whose trusted identities are "*".
 * Signatures are OCI 1.1 referrers of type `application/vnd.cncf.notary.signature` whose one
 * layer is a JWS envelope (`application/jose+json`, JSON serialisation, the signing
 * certificate chain in its `x5c` header) or a COSE_Sign1 envelope (`application/cose`, the
 * chain in its x5chain header). For each signature (at most 10 tried), as notation:
 * the envelope's signature over the protected header and payload with the leaf key; the chain
 * (each certificate signed by the next, a self-signed root, a code-signing leaf, all valid at
 * the signing time); some certificate of the chain in the trust store; the expiry; without a
 * timestamp countersignature, the chain valid now; and the payload's `targetArtifact` equal to
 * the artifact's descriptor (media type, digest, size).
 */
import { base64Decode } from '../jmespath/go-compat';
import { verifyWithKey, type HashName } from '../crypto/verify';
import { CertificateError, checkSignatureFrom, parseCertificate, rfc3339, type Certificate } from '../crypto/x509';
import type { RegistryReferrer } from './snapshot';
import { NOTARY_SIGNATURE_ARTIFACT_TYPE } from './snapshot';
import { CborTag, decodeCbor, encodeCborStrings, type CborValue } from './cbor';

export interface ArtifactDescriptor {
  mediaType: string;
  digest: string;
  size: number;
}

const JWS_MEDIA_TYPE = 'application/jose+json';
const COSE_MEDIA_TYPE = 'application/cose';
const PAYLOAD_CONTENT_TYPE = 'application/vnd.cncf.notary.payload.v1+json';
const MAX_SIGNATURE_ATTEMPTS = 10;
const EKU_CODE_SIGNING = '1.3.6.1.5.5.7.3.3';
const KEY_USAGE_DIGITAL_SIGNATURE = 1;

const ALGORITHMS: Record<string, { key: 'rsa' | 'ecdsa'; hash: HashName; curve?: string }> = {
  PS256: { key: 'rsa', hash: 'sha256' },
  PS384: { key: 'rsa', hash: 'sha384' },
  PS512: { key: 'rsa', hash: 'sha512' },
  ES256: { key: 'ecdsa', hash: 'sha256', curve: 'P-256' },
  ES384: { key: 'ecdsa', hash: 'sha384', curve: 'P-384' },
  ES512: { key: 'ecdsa', hash: 'sha512', curve: 'P-521' },
};

const textDecoder = new TextDecoder();

function base64UrlDecode(text: string): Uint8Array {
  const std = text.replace(/-/g, '+').replace(/_/g, '/');
  return base64Decode(std + '='.repeat((4 - (std.length % 4)) % 4));
}

function jsonOf(bytes: Uint8Array, what: string): Record<string, unknown> {
  try {
    const value = JSON.parse(textDecoder.decode(bytes)) as unknown;
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new Error(`malformed ${what}`);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** notation-core-go's code-signing chain validation at the signing time. */
function validateChain(chain: Certificate[], signingTime: number): void {
  if (chain.length === 0) throw new Error('certificate chain must contain at least one certificate');
  const leaf = chain[0];
  if (leaf.basicConstraintsValid && leaf.isCA && chain.length > 1) throw new Error('leaf certificate is a CA certificate');
  if (leaf.keyUsage !== 0 && (leaf.keyUsage & KEY_USAGE_DIGITAL_SIGNATURE) === 0) throw new Error('the certificate has no digitalSignature key usage');
  if (leaf.extKeyUsage.length > 0 && !leaf.extKeyUsage.includes(EKU_CODE_SIGNING)) throw new Error('the certificate has no codeSigning extended key usage');
  for (let i = 0; i < chain.length; i++) {
    const cert = chain[i];
    const issuer = chain[i + 1] ?? cert;
    if (i === chain.length - 1 && !equalBytes(cert.rawSubject, cert.rawIssuer)) throw new Error('certificate chain must end with a root certificate');
    // A lone self-signed leaf is its own root; its key usage was checked above.
    const parentError = chain.length === 1 ? selfSigned(cert) : checkSignatureFrom(cert, issuer);
    if (parentError) throw new Error(`invalid certificate chain: ${parentError}`);
    if (signingTime < cert.notBefore || signingTime > cert.notAfter) throw new Error(`certificate "${cert.subject.commonName}" was not valid at signing time ${rfc3339(signingTime)}`);
  }
}

/** A self-signed leaf verifies with its own key whatever its CA flags. */
function selfSigned(cert: Certificate): string | null {
  return checkSignatureFrom(cert, { ...cert, basicConstraintsValid: true, isCA: true, keyUsage: 0 });
}

/** What both envelope formats carry, read and integrity-checked, for the trust checks that follow. */
interface NotaryEnvelope {
  signingTime: number;
  expiry?: number;
  chain: Certificate[];
  payload: Uint8Array;
}

function checkHeaders(cty: unknown, scheme: unknown): void {
  if (cty !== PAYLOAD_CONTENT_TYPE) throw new Error(`payload content type "${String(cty)}" is not supported`);
  if (scheme !== 'notary.x509') throw new Error('only the notary.x509 signing scheme is supported offline');
}

function parseChain(ders: Uint8Array[]): Certificate[] {
  try {
    return ders.map((der) => parseCertificate(der));
  } catch (e) {
    throw new Error(`malformed certificate chain: ${(e as CertificateError).message}`);
  }
}

/** The envelope's signature with the leaf's key, for an algorithm the key must fit. */
function checkSignature(algorithmName: string, chain: Certificate[], signed: Uint8Array, signature: Uint8Array): void {
  const algorithm = ALGORITHMS[algorithmName];
  if (!algorithm) throw new Error(`signature algorithm "${algorithmName}" is not supported`);
  const leafKey = chain[0]?.publicKey;
  if (!leafKey || leafKey.type !== algorithm.key || (leafKey.type === 'ecdsa' && leafKey.curve !== algorithm.curve)) {
    throw new Error('the signing key does not match the signature algorithm');
  }
  const outcome = verifyWithKey(leafKey, signed, signature, { hash: algorithm.hash, rsaPadding: 'pss', ecdsaEncoding: 'raw' });
  if (!outcome.verified) throw new Error('signature is invalid');
}

/** A JWS envelope (JSON serialisation, the chain in `x5c`). */
function readJws(data: Uint8Array): NotaryEnvelope {
  const envelope = jsonOf(data, 'JWS envelope');
  const { payload, protected: protectedHeader, signature } = envelope;
  const header = envelope.header as { x5c?: unknown } | undefined;
  if (typeof payload !== 'string' || typeof protectedHeader !== 'string' || typeof signature !== 'string' || !Array.isArray(header?.x5c)) {
    throw new Error('malformed JWS envelope');
  }
  const headers = jsonOf(base64UrlDecode(protectedHeader), 'protected header');
  checkHeaders(headers.cty, headers['io.cncf.notary.signingScheme']);
  const signingTime = Date.parse(String(headers['io.cncf.notary.signingTime'] ?? ''));
  if (Number.isNaN(signingTime)) throw new Error('missing or malformed signing time');
  const chain = parseChain(header.x5c.map((c) => base64Decode(String(c))));
  checkSignature(String(headers.alg), chain, new TextEncoder().encode(`${protectedHeader}.${payload}`), base64UrlDecode(signature));
  const expiry = typeof headers['io.cncf.notary.expiry'] === 'string' ? Date.parse(headers['io.cncf.notary.expiry']) : undefined;
  return { signingTime, expiry, chain, payload: base64UrlDecode(payload) };
}

/** COSE algorithm identifiers (RFC 9053) notation signs with, by their JWS names. */
const COSE_ALGORITHMS = new Map<CborValue, string>([[-37, 'PS256'], [-38, 'PS384'], [-39, 'PS512'], [-7, 'ES256'], [-35, 'ES384'], [-36, 'ES512']]);
const COSE_ALG = 1;
const COSE_CRIT = 2;
const COSE_CONTENT_TYPE = 3;
const COSE_X5CHAIN = 33;
const COSE_SIGN1_TAG = 18;

/** notation's COSE times: tag 1 (epoch seconds), required. */
function coseTime(value: CborValue, what: string): number {
  if (!(value instanceof CborTag) || value.tag !== 1 || (typeof value.value !== 'number' && typeof value.value !== 'bigint')) throw new Error(`malformed ${what}`);
  return Number(value.value) * 1000;
}

/**
 * A COSE_Sign1 envelope (`application/cose`) as notation-core-go writes it: protected headers
 * alg, crit, content type, signing scheme and time (and expiry); the chain in the unprotected
 * x5chain; the signature over the Sig_structure ["Signature1", protected, h'', payload].
 */
function readCose(data: Uint8Array): NotaryEnvelope {
  let message: CborValue;
  try {
    message = decodeCbor(data);
  } catch (e) {
    throw new Error(`malformed COSE envelope: ${(e as Error).message}`);
  }
  if (message instanceof CborTag) {
    if (message.tag !== COSE_SIGN1_TAG) throw new Error(`malformed COSE envelope: unexpected tag ${message.tag}`);
    message = message.value;
  }
  if (!Array.isArray(message) || message.length !== 4) throw new Error('malformed COSE envelope: not a COSE_Sign1 message');
  const [rawProtected, unprotected, payload, signature] = message;
  if (!(rawProtected instanceof Uint8Array) || !(unprotected instanceof Map) || !(payload instanceof Uint8Array) || !(signature instanceof Uint8Array)) {
    throw new Error('malformed COSE envelope: not a COSE_Sign1 message');
  }
  let headers: CborValue;
  try {
    headers = rawProtected.length === 0 ? new Map() : decodeCbor(rawProtected);
  } catch (e) {
    throw new Error(`malformed COSE protected header: ${(e as Error).message}`);
  }
  if (!(headers instanceof Map)) throw new Error('malformed COSE protected header');
  const scheme = headers.get('io.cncf.notary.signingScheme');
  const crit = headers.get(COSE_CRIT);
  // notation-core-go's validateCritHeaders: the signing scheme (and expiry when present) must be critical.
  if (!Array.isArray(crit) || !crit.includes('io.cncf.notary.signingScheme')) throw new Error('missing "io.cncf.notary.signingScheme" in critical headers');
  if (headers.has('io.cncf.notary.expiry') && !crit.includes('io.cncf.notary.expiry')) throw new Error('missing "io.cncf.notary.expiry" in critical headers');
  checkHeaders(headers.get(COSE_CONTENT_TYPE), scheme);
  const signingTime = coseTime(headers.get('io.cncf.notary.signingTime'), 'signing time');
  const expiry = headers.has('io.cncf.notary.expiry') ? coseTime(headers.get('io.cncf.notary.expiry'), 'expiry') : undefined;
  const x5chain = unprotected.get(COSE_X5CHAIN);
  if (!Array.isArray(x5chain) || x5chain.length === 0 || !x5chain.every((c) => c instanceof Uint8Array)) throw new Error('certificate chain is not present');
  const chain = parseChain(x5chain as Uint8Array[]);
  const algorithm = COSE_ALGORITHMS.get(headers.get(COSE_ALG) ?? null);
  if (!algorithm) throw new Error(`signature algorithm "${String(headers.get(COSE_ALG))}" is not supported`);
  checkSignature(algorithm, chain, encodeCborStrings(['Signature1', rawProtected, new Uint8Array(0), payload]), signature);
  return { signingTime, expiry, chain, payload };
}

/** One envelope (JWS or COSE) against the trust store and the artifact; throws the reason it fails. */
function verifyEnvelope(layer: NonNullable<RegistryReferrer['layer']>, artifact: ArtifactDescriptor, trusted: readonly Certificate[], now: number): void {
  let envelope: NotaryEnvelope;
  if (layer.mediaType === JWS_MEDIA_TYPE) envelope = readJws(base64Decode(layer.data));
  else if (layer.mediaType === COSE_MEDIA_TYPE) envelope = readCose(base64Decode(layer.data));
  else throw new Error(`signature envelope format with media type "${layer.mediaType}" is not supported`);
  const { chain, signingTime, expiry } = envelope;
  validateChain(chain, signingTime);
  if (!chain.some((cert) => trusted.some((t) => equalBytes(t.raw, cert.raw)))) throw new Error('signature is not produced by a trusted signer');
  if (expiry !== undefined && expiry < now) throw new Error('digital signature has expired');
  // Without a timestamp countersignature, strict verification needs the chain valid now.
  for (const cert of chain) {
    if (now < cert.notBefore) throw new Error(`certificate "${cert.subject.commonName}" is not valid yet`);
    if (now > cert.notAfter) throw new Error(`certificate "${cert.subject.commonName}" is not valid anymore, it was expired at ${cert.notAfterText}`);
  }
  const target = (jsonOf(envelope.payload, 'payload').targetArtifact ?? {}) as Record<string, unknown>;
  if (target.mediaType !== artifact.mediaType || target.digest !== artifact.digest || target.size !== artifact.size) {
    throw new Error(`integrity check failed: the signature's payload does not describe ${artifact.digest}`);
  }
}

/**
 * notation.Verify for one artifact from its referrers: passes when one of its Notary signatures
 * verifies; throws with the reasons otherwise.
 */
export function verifyNotarySignatures(artifact: ArtifactDescriptor, referrers: readonly RegistryReferrer[], trusted: readonly Certificate[], now: number): void {
  const signatures = referrers.filter((r) => r.artifactType === NOTARY_SIGNATURE_ARTIFACT_TYPE).slice(0, MAX_SIGNATURE_ATTEMPTS);
  if (signatures.length === 0) throw new Error(`no signature is associated with "${artifact.digest}", make sure the artifact was signed successfully`);
  const errors: string[] = [];
  for (const sig of signatures) {
    try {
      if (!sig.layer) throw new Error(sig.error ?? 'signature envelope not read');
      verifyEnvelope(sig.layer, artifact, trusted, now);
      return;
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  throw new Error(`signature verification failed for all the signatures associated with ${artifact.digest}: ${errors.join('; ')}`);
}
