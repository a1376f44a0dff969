/**
 * Cosign public-key verification of image signatures from a registry snapshot, as Kyverno's
 * cosign verifier (pkg/image/verifiers/cpol/cosign) and cosign's VerifyImageSignatures do it:
 * every layer of the `.sig` manifest is checked, first the signature over the payload bytes,
 * then the payload's `critical.image.docker-manifest-digest` against the image digest; the
 * image is verified when one layer passes both.
 */
import { parsePublicKeyPem, splitPublicKeyPem, type PublicKey } from '../crypto/keys';
import { verifyWithKey } from '../crypto/verify';
import { CertificateError, EKU_CODE_SIGNING, parseCertificatesPem, rfc3339, verifyCertificateChain, type Certificate } from '../crypto/x509';
import { base64Decode } from '../jmespath/go-compat';
import { KeyError } from '../crypto';
import { INTOTO_PAYLOAD_TYPE, type CosignSignatureLayer, type RegistryImage } from './snapshot';

/** A check the engine cannot make offline (Rekor, KMS, secrets...): an error, not a failure. */
export class UnsupportedVerification extends Error {}

/**
 * The registry could not be read. Kyverno's handleRegistryErrors makes a network failure
 * (a *net.OpError: refused, unreachable, timed out) a rule error, anything else a failure.
 */
export class RegistryFailure extends Error {
  constructor(message: string, readonly network: boolean) {
    super(message);
  }
}

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
  certificates?: Array<Certificate | null>;
  /** The verified layers, in the order of `certificates` (their OCI annotations are what ImageValidatingPolicies check). */
  layers?: CosignSignatureLayer[];
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

/**
 * The key a layer's signature is checked with: the verifier's fixed key or, keyless, the
 * public key of the layer's own certificate once it chains to the verifier's roots. Returns the
 * certificate's issuing chain for the expiry check.
 */
function signerKey(annotations: Record<string, string> | undefined, verifier: CosignVerifier): { key: PublicKey; chain: Certificate[] } {
  if ('key' in verifier) return { key: verifier.key, chain: [] };
  const layer = { annotations: annotations ?? {} } as CosignSignatureLayer;
  const cert = layerCertificate(layer);
  if (!cert) throw new Error('no certificate found on signature');
  const pem = layer.annotations[COSIGN_CHAIN_ANNOTATION];
  const embedded = pem ? parseCertificatesPem(pem) : [];
  // The chain annotation ends with its root; the rest are intermediates.
  const intermediates = embedded.length > 1 ? embedded.slice(0, -1) : (verifier.intermediates ?? []);
  const chain = trustedCertificate(cert, verifier.roots, intermediates);
  if (!cert.publicKey) throw new Error('invalid certificate found on signature: unsupported public key type');
  return { key: cert.publicKey, chain };
}

/** Without the transparency log or a signed timestamp the only time a certificate is checked against is now. */
function checkSigningCertificate(annotations: Record<string, string> | undefined, chain: Certificate[], now: number): Certificate | null {
  const cert = layerCertificate({ annotations: annotations ?? {} } as CosignSignatureLayer);
  if (cert && checkExpiry(cert, chain, now)) throw new Error('expected a signed timestamp to verify an expired certificate');
  return cert;
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
  const { key, chain } = signerKey(layer.annotations, verifier);
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
  return { payload: parsed, cert: checkSigningCertificate(layer.annotations, chain, now) };
}

/**
 * cosign's VerifyImageSignatures with the transparency log ignored, then Kyverno's annotation
 * check: every layer of the `.sig` manifest is tried; the image is verified when one passes.
 * Throws Error with their messages.
 */
export function verifyCosignSignatures(
  layers: readonly CosignSignatureLayer[],
  imageDigest: string,
  verifier: CosignVerifier,
  annotations: Record<string, string> = {},
  now = Date.now(),
): CosignVerified {
  if (layers.length === 0) throw new Error('no signatures found');
  const errors: string[] = [];
  const verified: SimpleSigningPayload[] = [];
  const certificates: Array<Certificate | null> = [];
  const verifiedLayers: CosignSignatureLayer[] = [];
  for (const layer of layers) {
    try {
      const { payload, cert } = verifyLayer(layer, imageDigest, verifier, now);
      verified.push(payload);
      certificates.push(cert);
      verifiedLayers.push(layer);
    } catch (e) {
      if (e instanceof CertificateError) errors.push(e.message);
      else errors.push((e as Error).message);
    }
  }
  if (verified.length === 0) throw new Error(`no matching signatures: ${errors.join('\n ')}`);
  checkAnnotations(verified, annotations);
  return { digest: imageDigest, certificates, layers: verifiedLayers };
}

/**
 * Verifies the image's signatures with one PEM public key (cosign's VerifyImageSignatures,
 * then Kyverno's annotation and digest extraction); throws Error with their message.
 */
export function verifyCosignKey(record: RegistryImage, imageDigest: string, publicKeyPem: string, annotations: Record<string, string> = {}, layers = record.signatures, source = layers === record.signatures ? 'tag' : 'referrers'): CosignVerified {
  return memoised(record, `sig\0${source}\0${imageDigest}\0${publicKeyPem}\0${JSON.stringify(annotations)}`, () => checkCosignKey(imageDigest, publicKeyPem, annotations, layers));
}

/**
 * Verification outcomes per snapshot record: the registry layer hands out the same record for
 * an image while its cache lives, so a warm webhook verifies each (digest, key) once.
 * Results are immutable and failures are kept as the error they threw.
 */
const outcomes = new WeakMap<object, Map<string, { value: unknown } | { error: Error }>>();
const MAX_OUTCOMES_PER_RECORD = 64;

function memoised<T>(record: object, key: string, compute: () => T): T {
  let byKey = outcomes.get(record);
  const hit = byKey?.get(key);
  if (hit) {
    if ('error' in hit) throw hit.error;
    return hit.value as T;
  }
  if (!byKey) outcomes.set(record, (byKey = new Map()));
  if (byKey.size >= MAX_OUTCOMES_PER_RECORD) byKey.clear();
  try {
    const value = compute();
    byKey.set(key, { value });
    return value;
  } catch (e) {
    byKey.set(key, { error: e as Error });
    throw e;
  }
}

/** A policy's PEM public key, with cosign's message when it does not load. */
function cosignPublicKey(publicKeyPem: string): PublicKey {
  try {
    return parsePublicKeyPem(publicKeyPem);
  } catch (e) {
    if (e instanceof KeyError) throw new Error(`failed to load public key from PEM: ${e.message}`);
    throw e;
  }
}

function checkCosignKey(imageDigest: string, publicKeyPem: string, annotations: Record<string, string>, layers: readonly CosignSignatureLayer[]): CosignVerified {
  if (layers.length === 0) throw new Error('no signatures found');
  const key = cosignPublicKey(publicKeyPem);
  return verifyCosignSignatures(layers, imageDigest, { key }, annotations);
}

/** An in-toto statement as Kyverno hands it on: `_type`, `subject`, `predicateType`, `predicate`, plus `type` (the predicate type). */
export type Statement = Record<string, unknown>;

export interface CosignAttestations {
  statements: Statement[];
}

const COSIGN_CUSTOM_PROVENANCE = 'cosign.sigstore.dev/attestation/v1';

/** DSSE's pre-authentication encoding: `DSSEv1 <len> <type> <len> <body>`. */
export function preAuthEncoding(payloadType: string, body: Uint8Array): Uint8Array {
  const typeBytes = new TextEncoder().encode(payloadType);
  const head = new TextEncoder().encode(`DSSEv1 ${typeBytes.length} ${payloadType} ${body.length} `);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

interface Envelope {
  payloadType?: unknown;
  payload?: unknown;
  signatures?: Array<{ keyid?: unknown; sig?: unknown }> | null;
}

function parseEnvelope(bytes: Uint8Array): Envelope {
  const parsed = JSON.parse(textDecoder.decode(bytes)) as unknown;
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('invalid DSSE envelope: not a JSON object');
  return parsed as Envelope;
}

/** go-securesystemslib's EnvelopeVerifier.Verify with one key, then cosign's IntotoSubjectClaimVerifier. */
function verifyEnvelope(envelope: Envelope, key: PublicKey, imageDigest: string): Statement {
  if (envelope.payloadType !== INTOTO_PAYLOAD_TYPE) {
    throw new Error(`invalid payloadType ${typeof envelope.payloadType === 'string' ? envelope.payloadType : ''} on envelope. Expected ${INTOTO_PAYLOAD_TYPE}`);
  }
  const signatures = Array.isArray(envelope.signatures) ? envelope.signatures : [];
  if (signatures.length === 0) throw new Error('no signature found');
  let body: Uint8Array;
  try {
    body = base64Decode(typeof envelope.payload === 'string' ? envelope.payload : '');
  } catch {
    throw new Error('illegal base64 data in envelope payload');
  }
  const pae = preAuthEncoding(INTOTO_PAYLOAD_TYPE, body);
  let accepted = 0;
  for (const s of signatures) {
    let sig: Uint8Array;
    try {
      sig = base64Decode(typeof s?.sig === 'string' ? s.sig : '');
    } catch {
      continue;
    }
    if (verifyWithKey(key, pae, sig).verified) accepted++;
  }
  if (accepted < 1) throw new Error(`accepted signatures do not match threshold, Found: ${accepted}, Expected 1`);
  let statement: Statement;
  try {
    statement = JSON.parse(textDecoder.decode(body)) as Statement;
  } catch (e) {
    throw new Error(`invalid in-toto statement: ${(e as Error).message}`);
  }
  if (!statement || typeof statement !== 'object' || Array.isArray(statement)) throw new Error('invalid in-toto statement: not a JSON object');
  const subjects = Array.isArray(statement.subject) ? statement.subject : [];
  for (const subject of subjects) {
    if (!subject || typeof subject !== 'object') throw new Error('invalid in-toto statement: null subject entry');
    const digest = (subject as { digest?: Record<string, unknown> }).digest?.sha256;
    if (typeof digest === 'string' && `sha256:${digest}` === imageDigest) return statement;
  }
  throw new Error('no matching subject digest found');
}

/**
 * Kyverno's decodeStatement: the statement as in-toto's Go struct keeps it (`_type`,
 * `subject` with name and digest, `predicateType`, `predicate`), `type` set to the predicate
 * type; cosign's custom provenance has its `Data` string read as JSON when it is JSON.
 */
function decodeStatement(statement: Statement): Statement {
  const subjects = Array.isArray(statement.subject)
    ? statement.subject.map((s) => {
        const o = (s ?? {}) as { name?: unknown; digest?: unknown };
        return { name: typeof o.name === 'string' ? o.name : '', digest: o.digest && typeof o.digest === 'object' ? o.digest : null };
      })
    : null;
  let predicate = statement.predicate ?? null;
  if (statement._type === COSIGN_CUSTOM_PROVENANCE && predicate && typeof predicate === 'object' && !Array.isArray(predicate)) {
    const data = (predicate as Record<string, unknown>).Data;
    if (typeof data === 'string') {
      try {
        const parsed = JSON.parse(data) as unknown;
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) predicate = { ...(predicate as Record<string, unknown>), Data: parsed };
      } catch {
        // not JSON: kept as the string it is
      }
    }
  }
  const predicateType = typeof statement.predicateType === 'string' ? statement.predicateType : '';
  return { _type: typeof statement._type === 'string' ? statement._type : '', predicateType, subject: subjects, predicate, type: predicateType };
}

/** One DSSE layer that verified: the in-toto statement as signed, its layer and its signing certificate (keyless). */
export interface VerifiedAttestation {
  statement: Statement;
  layer: CosignSignatureLayerLike;
  cert: Certificate | null;
}

/**
 * cosign's VerifyImageAttestations with the transparency log ignored: every layer of the
 * `.att` manifest is a DSSE envelope checked with the verifier (a key, or keyless the layer's
 * certificate chained to the roots) and against the image digest. Throws when none verifies.
 */
export function verifyAttestationLayers(layers: readonly CosignSignatureLayerLike[], imageDigest: string, verifier: CosignVerifier, now = Date.now()): VerifiedAttestation[] {
  const errors: string[] = [];
  const verified: VerifiedAttestation[] = [];
  for (const layer of layers) {
    try {
      let bytes: Uint8Array;
      try {
        bytes = base64Decode(layer.payload);
      } catch {
        throw new Error('failed to decode attestation layer');
      }
      let envelope: Envelope;
      try {
        envelope = parseEnvelope(bytes);
      } catch (e) {
        throw new Error(e instanceof SyntaxError ? `invalid DSSE envelope: ${e.message}` : (e as Error).message);
      }
      const { key, chain } = signerKey(layer.annotations, verifier);
      const statement = verifyEnvelope(envelope, key, imageDigest);
      verified.push({ statement, layer, cert: checkSigningCertificate(layer.annotations, chain, now) });
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  if (verified.length === 0) throw new Error(`no matching attestations: ${errors.join('\n ')}`);
  return verified;
}

/**
 * cosign's VerifyImageAttestations with one key, then Kyverno's FetchAttestations: the
 * verified envelopes must carry the required annotations and are decoded.
 */
export function verifyCosignAttestations(layers: readonly CosignSignatureLayerLike[], imageDigest: string, publicKeyPem: string, annotations: Record<string, string> = {}): CosignAttestations {
  return memoised(layers, `att\0${imageDigest}\0${publicKeyPem}\0${JSON.stringify(annotations)}`, () => {
    const key = cosignPublicKey(publicKeyPem);
    return checkCosignAttestations(verifyAttestationLayers(layers, imageDigest, { key }), annotations);
  });
}

/** verifyCosignAttestations for any verifier (certificates, keyless): also the verified layers, for identity and annotation checks. */
export function verifyCosignAttestationsWith(layers: readonly CosignSignatureLayerLike[], imageDigest: string, verifier: CosignVerifier, annotations: Record<string, string> = {}, now = Date.now()): CosignAttestations & { verified: VerifiedAttestation[] } {
  const verified = verifyAttestationLayers(layers, imageDigest, verifier, now);
  return { ...checkCosignAttestations(verified, annotations), verified };
}

function checkCosignAttestations(verified: VerifiedAttestation[], annotations: Record<string, string>): CosignAttestations {
  // A DSSE envelope has no simple-signing `optional` map: required annotations never match.
  if (Object.keys(annotations).length > 0) throw new Error('no signature matched the required annotations');
  return { statements: verified.map((v) => decodeStatement(v.statement)) };
}

export interface CosignSignatureLayerLike {
  payload: string;
  annotations?: Record<string, string>;
}
