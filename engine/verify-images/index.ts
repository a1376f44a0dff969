/**
 * Classic `verifyImages` rules, in Kyverno's two passes:
 * - the image-verify pass (Kyverno's mutate image handler, `pkg/engine/internal/imageverifier.go`)
 *   checks signatures and attestations of every matching image and may add digests;
 * - the validate pass (`pkg/engine/handlers/validation/validate_image.go`), run only for rules
 *   whose entries set `verifyDigest` or `required`, checks that each matching image carries a
 *   digest and was verified (the scoped `kyverno.io/verify-images-scoped` annotation).
 *
 * The second pass and the parts of the first that need no registry are decided here. Checking
 * signatures or resolving a tag to a digest needs an OCI registry: offline those give an error
 * result that says so.
 */
import type { JsonObject, RuleResult } from '../core/types';
import { asArray, asObject, isJsonObject } from '../core/json';
import { extractImagesWith, type ImageInfo } from '../context/images';
import { imageInfoString } from '../images/image-info';
import { jmesSearch } from '../jmespath';
import { wildcardMatch } from '../wildcard/wildcard';
import { evaluateConditions } from '../conditions';
import { mergePatch, substituteVariables, withVariables, type VariableScope } from '../variables';
import { RegistryFailure, UnsupportedVerification, splitPemKeys, trustedCertificate, verifyCosignAttestations, verifyCosignAttestationsWith, verifyCosignKey, verifyCosignSignatures, type CosignVerified, type CosignVerifier, type Statement } from './cosign';
import { certificatePool, parseCertificatesPem, rawExtensionString, subjectAlternateNames, type Certificate } from '../crypto/x509';
import { base64Decode } from '../jmespath/go-compat';
import { regexMatches, RegexError } from '../regex';
import { signatureSourceKey, type CosignSignatureLayer, type ImageRegistrySnapshot, type RegistryImage } from './snapshot';

export * from './snapshot';

export const ANNOTATION_IMAGE_VERIFY_SCOPED = 'kyverno.io/verify-images-scoped';

/** One `verifyImages` entry after Kyverno's Convert(): `image` folds into `imageReferences`. */
export interface ImageVerification {
  imageReferences: string[];
  skipImageReferences: string[];
  attestors: unknown[];
  attestations: unknown[];
  verifyDigest: boolean;
  mutateDigest: boolean;
  required: boolean;
  /** Annotations every verified signature payload must carry (its `optional` map). */
  annotations: Record<string, string>;
  /** Signatures looked up through the OCI 1.1 referrers API first. */
  cosignOCI11: boolean;
  /** PEM roots for keyless attestors that name none. */
  roots: string;
  /** Where the signatures are kept when not beside the image (an attestor's own `repository` wins). */
  repository: string;
}

/** Reads an entry with the CRD's defaults (verifyDigest, mutateDigest and required default to true). */
export function imageVerification(entry: unknown): ImageVerification {
  const e = asObject(entry) ?? {};
  const refs = asArray(e.imageReferences).filter((r): r is string => typeof r === 'string');
  // The deprecated single `image` field becomes one reference (Kyverno's Convert()).
  if (typeof e.image === 'string' && e.image !== '') refs.push(e.image);
  const flag = (v: unknown) => (typeof v === 'boolean' ? v : true);
  return {
    imageReferences: refs,
    skipImageReferences: asArray(e.skipImageReferences).filter((r): r is string => typeof r === 'string'),
    attestors: asArray(e.attestors),
    attestations: asArray(e.attestations),
    verifyDigest: flag(e.verifyDigest),
    mutateDigest: flag(e.mutateDigest),
    required: flag(e.required),
    annotations: stringMap(e.annotations) ?? {},
    cosignOCI11: e.cosignOCI11 === true,
    roots: typeof e.roots === 'string' ? e.roots : '',
    repository: typeof e.repository === 'string' ? e.repository : '',
  };
}

const verificationsByRule = new WeakMap<JsonObject, ImageVerification[]>();

/** The rule's entries, read once per (immutable) rule object. */
export function ruleImageVerifications(rule: JsonObject): ImageVerification[] {
  let found = verificationsByRule.get(rule);
  if (!found) verificationsByRule.set(rule, (found = asArray(rule.verifyImages).map(imageVerification)));
  return found;
}

/** The image as Kyverno names it: its reference, else ImageInfo.String() (the digest form when there is a digest). */
export function imageString(info: ImageInfo): string {
  return info.reference ?? imageInfoString(info);
}

function matchesAny(image: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => wildcardMatch(p, image));
}

/**
 * Every image of the resource, in Kyverno's listing order (init, regular, ephemeral
 * containers), or what the rule's `imageExtractors` find for its kind.
 */
function allImages(resource: JsonObject | null, rule: JsonObject): ImageInfo[] {
  const out: ImageInfo[] = [];
  const groups = extractImagesWith(resource, rule.imageExtractors, (expression, value) => jmesSearch(expression, value));
  for (const group of Object.values(groups)) out.push(...Object.values(group));
  return out;
}

/** The images some entry of the rule references (Kyverno's ExtractMatchingImages); none means the rule gives no result. */
export function matchingImages(rule: JsonObject, resource: JsonObject | null): ImageInfo[] {
  const entries = ruleImageVerifications(rule);
  return allImages(resource, rule).filter((info) => entries.some((e) => matchesAny(imageString(info), e.imageReferences)));
}

/** Whether the rule runs in the validate pass too (Kyverno's HasVerifyImageChecks). */
export function hasVerifyImageChecks(rule: JsonObject): boolean {
  return ruleImageVerifications(rule).some((e) => e.verifyDigest || e.required);
}

/** A JSON pointer as a path (array indexes as numbers). */
export function pointerToPath(pointer: string): Array<string | number> {
  return pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~')).map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

export const NEEDS_REGISTRY = 'image verification needs registry access, which is not available offline';

/** A JSON patch operation the image-verify pass adds (Kyverno's makeAddDigestPatch). */
export interface ImagePatch {
  op: 'replace';
  path: string;
  value: string;
}

export interface VerifyImagesOutcome {
  results: RuleResult[];
  patches: ImagePatch[];
  /** Per image, what verification found (Kyverno's ImageVerificationMetadata for this rule). */
  verified: Array<{ image: string; status: VerificationStatus }>;
}

function attestorKeys(attestor: JsonObject): JsonObject | undefined {
  return isJsonObject(attestor.keys) ? attestor.keys : undefined;
}

/** ExpandStaticKeys: an entry whose `keys.publicKeys` holds several PEM keys becomes one entry per key. */
function expandStaticKeys(entries: unknown[]): JsonObject[] {
  const out: JsonObject[] = [];
  for (const raw of entries) {
    const entry = asObject(raw);
    const keys = attestorKeys(entry);
    const pems = typeof keys?.publicKeys === 'string' ? splitPemKeys(keys.publicKeys) : [];
    if (pems.length > 1) for (const pem of pems) out.push({ ...entry, keys: { ...keys, publicKeys: pem } });
    else out.push(entry);
  }
  return out;
}

function stringMap(v: unknown): Record<string, string> | undefined {
  if (!isJsonObject(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) if (typeof val === 'string') out[k] = val;
  return out;
}

/** The attestor's kind as Kyverno names it in error paths (buildCosignVerifier's subPath). */
function attestorSubPath(entry: JsonObject): string {
  if (isJsonObject(entry.keys)) return '.keys';
  if (isJsonObject(entry.certificates)) return '.certificates';
  if (isJsonObject(entry.keyless)) return '.keyless';
  return '';
}

/** The public key of a cosign key attestor, or why it cannot be checked offline. */
function attestorPublicKey(entry: JsonObject): string {
  const keys = attestorKeys(entry);
  if (!keys) throw new UnsupportedVerification('only cosign public-key attestors (keys.publicKeys) are verified so far');
  if (typeof keys.publicKeys !== 'string' || keys.publicKeys === '') throw new UnsupportedVerification('keys from secrets or KMS are not supported yet');
  // Without rekor.ignoreTlog cosign looks the signature up in the Rekor transparency log.
  if (asObject(keys.rekor)?.ignoreTlog !== true) throw new UnsupportedVerification('transparency log (Rekor) verification is not supported yet; set keys.rekor.ignoreTlog');
  return keys.publicKeys;
}

/** The cosign artifacts an attestor reads: the image's own, or those of the repository (and tag prefix) it names. */
export interface CosignArtifacts {
  signatures: CosignSignatureLayer[];
  attestations?: CosignSignatureLayer[];
  attestationsError?: string;
}

export function cosignArtifacts(record: RegistryImage, repository = '', tagPrefix = ''): CosignArtifacts {
  if (!repository && !tagPrefix) return record;
  const source = record.sources?.[signatureSourceKey(repository, tagPrefix)];
  if (!source) throw new RegistryFailure(`the signatures in ${repository || 'the image repository'} were not read from the registry`, false);
  if (source.error !== undefined) throw new RegistryFailure(source.error, source.unreachable === true);
  return source;
}

/** The repository an attestor's signatures are kept in (cosign's WithTargetRepository): its own `repository`, else the entry's. */
function attestorRepository(attestor: JsonObject, entry: ImageVerification): string {
  return text(attestor.repository) || entry.repository;
}

/** The record's digest, or the registry error that kept it from being read. */
function resolvedDigest(record: RegistryImage): string {
  if (record.error !== undefined || !record.digest) throw new RegistryFailure(record.error ?? 'no digest', record.unreachable === true);
  return record.digest;
}

/**
 * Offline, cosign must be told to skip the transparency log (Rekor); a certificate's embedded
 * SCT needs the CT log's keys, which only TUF (the network) supplies when none is given.
 */
function requireOffline(kind: string, spec: JsonObject, certificates: boolean): void {
  if (asObject(spec.rekor)?.ignoreTlog !== true) {
    throw new UnsupportedVerification(`transparency log (Rekor) verification is not supported yet; set ${kind}.rekor.ignoreTlog`);
  }
  if (certificates && asObject(spec.ctlog)?.ignoreSCT !== true) {
    throw new UnsupportedVerification(`certificate transparency (SCT) verification is not supported yet; set ${kind}.ctlog.ignoreSCT`);
  }
}

/** Kyverno's loadCert: the first certificate of the PEM (or base64 of PEM) text. */
function loadCertificate(text: string): Certificate {
  let pem = text;
  try {
    const decoded = new TextDecoder().decode(base64Decode(text.trim()));
    if (decoded.includes('-----BEGIN')) pem = decoded;
  } catch {
    // not base64: PEM as given
  }
  let certs: Certificate[];
  try {
    certs = parseCertificatesPem(pem);
  } catch (e) {
    throw new Error(`failed to load certificate from ${text}: failed to unmarshal certificate from PEM format: ${(e as Error).message}`);
  }
  if (certs.length === 0) throw new Error(`failed to load certificate from ${text}: no certs found in pem file`);
  return certs[0];
}

/** Roots for keyless signatures (Kyverno's loadCertPool); without any, cosign would fetch Fulcio's from TUF. */
function rootPool(pem: string): Certificate[] {
  const roots = certificatePool(pem);
  if (roots.length === 0) throw new Error('failed to load Root certificates: error creating root cert pool');
  return roots;
}

/** Kyverno's buildCosignOptions for a certificates or keyless attestor, offline: the verifier cosign checks signatures with. */
function cosignVerifier(entry: JsonObject, imageRoots: string): { kind: string; verifier: CosignVerifier; identity?: JsonObject } {
  const kind = attestorSubPath(entry).slice(1);
  if (kind === 'certificates') {
    const spec = asObject(entry.certificates);
    requireOffline('certificates', spec, true);
    const cert = typeof spec.cert === 'string' ? spec.cert : '';
    const chainPem = typeof spec.certChain === 'string' ? spec.certChain : '';
    if (cert) {
      const certificate = loadCertificate(cert);
      if (chainPem) {
        const chain = parseChain(chainPem);
        // ValidateAndUnpackCertWithChain: the chain's last certificate is the root.
        try {
          trustedCertificate(certificate, chain.slice(-1), chain.slice(0, -1));
        } catch (e) {
          throw new Error(`failed to load validate certificate chain: ${(e as Error).message}`);
        }
      }
      if (!certificate.publicKey) throw new Error('failed to load signature from certificate: unsupported public key type');
      return { kind, verifier: { key: certificate.publicKey } };
    }
    if (chainPem) {
      const roots = certificatePool(chainPem);
      if (roots.length === 0) throw new Error('failed to load certificates: error creating root cert pool');
      return { kind, verifier: { roots } };
    }
    if (imageRoots) return { kind, verifier: { roots: rootPool(imageRoots) } };
    throw new UnsupportedVerification('Fulcio roots come from the sigstore TUF repository, which needs the network; set the attestor\'s roots');
  }
  if (kind === 'keyless') {
    const spec = asObject(entry.keyless);
    requireOffline('keyless', spec, true);
    const roots = typeof spec.roots === 'string' && spec.roots !== '' ? spec.roots : imageRoots;
    if (!roots) throw new UnsupportedVerification('Fulcio roots come from the sigstore TUF repository, which needs the network; set keyless.roots');
    return { kind, verifier: { roots: rootPool(roots) }, identity: spec };
  }
  throw new UnsupportedVerification('only cosign attestors with keys, certificates or keyless are verified so far');
}

/** Kyverno's loadCertChain (cryptoutils.LoadCertificatesFromPEM), with its cap on intermediates. */
function parseChain(pem: string): Certificate[] {
  const blocks = (pem.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length;
  if (blocks > MAX_INTERMEDIATE_CERTS + 1) throw new Error(`certificate chain too long (${blocks}), maximum allowed is ${MAX_INTERMEDIATE_CERTS + 1}`);
  try {
    return parseCertificatesPem(pem);
  } catch (e) {
    throw new Error(`failed to load certificate chain: ${(e as Error).message}`);
  }
}

/** CVE-2026-32280: Kyverno caps the intermediates of a user-given chain. */
const MAX_INTERMEDIATE_CERTS = 10;

function text(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** Go's regexp.Compile through RE2, with Kyverno's message for a bad pattern. */
function regexMatch(pattern: string, value: string, what: string): boolean {
  try {
    return regexMatches(pattern, value);
  } catch (e) {
    if (e instanceof RegexError) throw new Error(`invalid regexp for ${what}: ${pattern} : ${e.message}`);
    throw e;
  }
}

/** cosign's CertExtensionMap: Fulcio's v1 OIDs and their readable names. */
const CERT_EXTENSIONS: Record<string, string> = {
  '1.3.6.1.4.1.57264.1.1': 'oidcIssuer',
  '1.3.6.1.4.1.57264.1.2': 'githubWorkflowTrigger',
  '1.3.6.1.4.1.57264.1.3': 'githubWorkflowSha',
  '1.3.6.1.4.1.57264.1.4': 'githubWorkflowName',
  '1.3.6.1.4.1.57264.1.5': 'githubWorkflowRepository',
  '1.3.6.1.4.1.57264.1.6': 'githubWorkflowRef',
};

/** Kyverno's extractCertExtensionValue: a known extension by OID or readable name. */
function certExtensionValue(cert: Certificate, key: string): string {
  const oid = Object.entries(CERT_EXTENSIONS).find(([o, n]) => key === o || key === n)?.[0];
  if (!oid) throw new Error(`invalid certificate extension ${key}`);
  return rawExtensionString(cert, oid);
}

/** Kyverno's matchCertificateData for one signing certificate; throws the mismatch. */
function matchCertificate(cert: Certificate, identity: JsonObject): void {
  const subject = text(identity.subject);
  const subjectRegExp = text(identity.subjectRegExp);
  const issuer = text(identity.issuer);
  const issuerRegExp = text(identity.issuerRegExp);
  if (subject || subjectRegExp) {
    const sans = subjectAlternateNames(cert);
    // A certificate without alternative names is not checked against the subject (Kyverno's behaviour).
    if (sans.length > 0) {
      const matched = (subject !== '' && sans.some((s) => wildcardMatch(subject, s)))
        || (subjectRegExp !== '' && sans.some((s) => regexMatch(subjectRegExp, s, 'subject')));
      if (!matched) throw new Error(`subject mismatch: expected ${subject || subjectRegExp}, received ${sans.join(', ')}`);
    }
  }
  // cosign's CertExtensions.GetIssuer reads Fulcio's v1 issuer OID as a raw string.
  const certIssuer = rawExtensionString(cert, '1.3.6.1.4.1.57264.1.1');
  if (issuer && !wildcardMatch(issuer, certIssuer)) throw new Error(`issuer mismatch: expected ${issuer}, received ${certIssuer}`);
  if (issuerRegExp && !regexMatch(issuerRegExp, certIssuer, 'issuer')) throw new Error(`issuer mismatch: expected ${issuerRegExp}, received ${certIssuer}`);
  for (const [key, expected] of Object.entries(stringMap(identity.additionalExtensions) ?? {})) {
    const value = certExtensionValue(cert, key);
    if (!wildcardMatch(expected, value)) throw new Error(`extension mismatch: expected ${expected} for key ${key}, received ${value}`);
  }
}

/** Kyverno's matchSignatures: one verified signature's certificate must match the identity. */
function matchSignatures(certificates: Array<Certificate | null>, identity: JsonObject): void {
  const constrained = ['subject', 'subjectRegExp', 'issuer', 'issuerRegExp'].some((k) => text(identity[k]) !== '')
    || Object.keys(stringMap(identity.additionalExtensions) ?? {}).length > 0;
  if (!constrained) return;
  const errors: string[] = [];
  for (const cert of certificates) {
    if (!cert) throw new Error('certificate not found');
    try {
      matchCertificate(cert, identity);
      return;
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  throw new Error(errors.length > 0 ? errors.join('; ') : 'invalid signature');
}

interface VerifyTarget {
  record: RegistryImage;
  entry: ImageVerification;
  /** Milliseconds since the epoch: what certificates' validity is checked against (cosign: now, without a signed timestamp). */
  now: number;
}

/** One attestor entry (cosign keys, certificates or keyless); throws with the reason it did not verify. */
function verifyAttestor(attestor: JsonObject, target: VerifyTarget): CosignVerified {
  if (isJsonObject(attestor.certificates) || isJsonObject(attestor.keyless)) {
    const { verifier, identity } = cosignVerifier(attestor, target.entry.roots);
    const digest = resolvedDigest(target.record);
    const { signatures } = cosignArtifacts(target.record, attestorRepository(attestor, target.entry));
    const outcome = verifyCosignSignatures(signatures, digest, verifier, stringMap(attestor.annotations) ?? target.entry.annotations, target.now);
    if (identity) matchSignatures(outcome.certificates ?? [], identity);
    return outcome;
  }
  const key = attestorPublicKey(attestor);
  const digest = resolvedDigest(target.record);
  // The attestor's own annotations replace the entry's (buildCosignVerifier).
  const annotations = stringMap(attestor.annotations) ?? target.entry.annotations;
  const repository = attestorRepository(attestor, target.entry);
  if (repository) return verifyCosignKey(target.record, digest, key, annotations, cosignArtifacts(target.record, repository).signatures, `repository ${repository}`);
  // cosignOCI11: the referrers first; cosign falls back to the tag schema when that fails.
  if (target.entry.cosignOCI11 && target.record.referrerSignatures?.length) {
    try {
      return verifyCosignKey(target.record, digest, key, annotations, target.record.referrerSignatures);
    } catch {
      // fall back to `sha256-<hex>.sig`
    }
  }
  return verifyCosignKey(target.record, digest, key, annotations);
}

/** An error combining entries' errors (multierr.Combine: "; "), a network failure if any was. */
function combinedError(errors: Error[]): Error {
  const message = errors.map((e) => e.message).join('; ');
  return errors.some((e) => e instanceof RegistryFailure && e.network) ? new RegistryFailure(message, true) : new Error(message);
}

/** verifyAttestorSet: `count` entries (all by default) must verify; nested attestor sets recurse. */
function verifyAttestorSet(set: JsonObject, target: VerifyTarget, path: string): CosignVerified {
  const entries = expandStaticKeys(asArray(set.entries));
  const count = typeof set.count === 'number' && set.count > 0 ? set.count : entries.length;
  const errors: Error[] = [];
  let verified = 0;
  for (let i = 0; i < entries.length; i++) {
    let entryPath = `${path}.entries[${i}]`;
    try {
      let outcome: CosignVerified;
      const inner = entries[i].attestor;
      if (isJsonObject(inner)) {
        entryPath += '.attestor';
        outcome = verifyAttestorSet(inner, target, entryPath);
      } else {
        outcome = verifyAttestor(entries[i], target);
      }
      if (++verified >= count) return outcome;
    } catch (e) {
      if (e instanceof UnsupportedVerification) throw e;
      // A nested set's errors already carry their paths.
      if (isJsonObject(entries[i].attestor)) errors.push(e as Error);
      else {
        const message = `${entryPath}${attestorSubPath(entries[i])}: ${(e as Error).message}`;
        errors.push(e instanceof RegistryFailure ? new RegistryFailure(message, e.network) : new Error(message));
      }
    }
  }
  throw combinedError(errors);
}

const NOT_VERIFIED = (name: string, message: string, status: 'fail' | 'error' = 'fail'): RuleResult => ({ name, type: 'ImageVerify', status, message });

/** The rule's signature checks for one image from the registry snapshot (Kyverno's verifyAttestors). */
function verifyAttestors(name: string, entry: ImageVerification, image: string, record: RegistryImage, now: number): { result: RuleResult; digest?: string } {
  let outcome: CosignVerified | undefined;
  try {
    for (let i = 0; i < entry.attestors.length; i++) outcome = verifyAttestorSet(asObject(entry.attestors[i]), { record, entry, now }, `.attestors[${i}]`);
  } catch (e) {
    // handleRegistryErrors: a network failure is an error, anything else a failure.
    const status = e instanceof UnsupportedVerification || (e instanceof RegistryFailure && e.network) ? 'error' : 'fail';
    return { result: NOT_VERIFIED(name, `failed to verify image ${image}: ${(e as Error).message}`, status) };
  }
  if (!outcome) return { result: NOT_VERIFIED(name, 'invalid response: nil', 'error') };
  return { result: { name, type: 'ImageVerify', status: 'pass', message: `verified image signatures for ${image}` }, digest: outcome.digest };
}

/** Kyverno's FetchAttestations for one attestor entry: verified in-toto statements. */
function fetchAttestations(attestor: JsonObject, target: VerifyTarget): Statement[] {
  const keyless = isJsonObject(attestor.certificates) || isJsonObject(attestor.keyless);
  const cosign = keyless ? cosignVerifier(attestor, target.entry.roots) : undefined;
  const key = keyless ? '' : attestorPublicKey(attestor);
  const digest = resolvedDigest(target.record);
  const artifacts = cosignArtifacts(target.record, attestorRepository(attestor, target.entry));
  if (artifacts.attestationsError !== undefined) {
    // Kyverno turns a missing attestation manifest into "not found".
    throw new Error(/MANIFEST_UNKNOWN: manifest unknown/.test(artifacts.attestationsError) ? 'not found' : artifacts.attestationsError);
  }
  const annotations = stringMap(attestor.annotations) ?? target.entry.annotations;
  if (cosign) {
    const outcome = verifyCosignAttestationsWith(artifacts.attestations ?? [], digest, cosign.verifier, annotations, target.now);
    if (cosign.identity) matchSignatures(outcome.verified.map((v) => v.cert), cosign.identity);
    return outcome.statements;
  }
  return verifyCosignAttestations(artifacts.attestations ?? [], digest, key, annotations).statements;
}

/**
 * Kyverno's EvaluateConditions for one statement: the predicate merged into the context's
 * root, then each any/all block of `conditions` in turn.
 */
function checkStatementConditions(conditions: unknown[], statement: Statement, scope: VariableScope): { passed: boolean; message: string } {
  const predicate = statement.predicate;
  if (!isJsonObject(predicate)) throw new Error(`failed to check attestations: failed to extract predicate from statement: ${JSON.stringify(statement)}`);
  const inner: VariableScope = { ...scope, data: mergePatch(scope.data, predicate) as JsonObject };
  const passedMessages: string[] = [];
  for (const block of conditions) {
    const outcome = evaluateConditions(block ?? {}, inner);
    if (outcome.error !== undefined) throw new Error(`failed to check attestations: ${outcome.error}`);
    if (!outcome.passed) return { passed: false, message: outcome.message ?? '' };
    passedMessages.push(outcome.message ?? '');
  }
  return { passed: true, message: passedMessages.join(';') };
}

/** Kyverno's verifyAttestation: the statements of the attestation's type must exist and all meet its conditions. */
function verifyAttestationStatements(statements: Statement[], type: string, conditions: unknown[], image: string, scope: VariableScope): void {
  const ofType = statements.filter((s) => s.type === type);
  if (ofType.length === 0) throw new Error(`attestions not found for predicate type ${type}`);
  if (conditions.length === 0) return;
  for (const statement of ofType) {
    const { passed, message } = checkStatementConditions(conditions, statement, scope);
    if (!passed) throw new Error(`attestation checks failed for ${image} and predicate ${type}: ${message}`);
  }
}

/** The rule's `validate` blocks on the verified data (Kyverno's imageVerifier.validate and getDenyMessage). */
function validateVerifiedData(rule: JsonObject, scope: VariableScope): string | undefined {
  for (const raw of asArray(rule.verifyImages)) {
    const validation = asObject(asObject(raw)?.validate);
    if (!validation || validation.deny === undefined || validation.deny === null) continue;
    const deny = asObject(validation.deny);
    const outcome = evaluateConditions(deny?.conditions ?? null, scope);
    if (outcome.error !== undefined) return `failed to check deny conditions: ${outcome.error}`;
    if (!outcome.passed) continue;
    const message = typeof validation.message === 'string' ? validation.message : '';
    const msg = outcome.message ?? '';
    if (message === '' && msg === '') return `validation error: imageVerify ${message} failed`;
    const text = [message, msg].filter((p) => p !== '').join('; ');
    try {
      const substituted = substituteVariables(text, scope);
      return typeof substituted === 'string' ? substituted : "the produced message didn't resolve to a string, check your policy definition.";
    } catch {
      return msg;
    }
  }
  return undefined;
}

/** Kyverno's HasValidateImageVerification: some entry of the rule has a validate block with deny conditions. */
function hasValidateImageVerification(rule: JsonObject): boolean {
  return asArray(rule.verifyImages).some((raw) => {
    const validation = asObject(asObject(raw)?.validate);
    return !!validation && validation.deny !== undefined && validation.deny !== null;
  });
}

/** Kyverno's verifyAttestations: each attestation's attestor sets fetch, verify and check statements. */
function verifyAttestations(name: string, rule: JsonObject, entry: ImageVerification, image: string, record: RegistryImage, scope: VariableScope): { result: RuleResult; scope: VariableScope } {
  for (let i = 0; i < entry.attestations.length; i++) {
    const attestation = asObject(entry.attestations[i]) ?? {};
    const path = `.attestations[${i}]`;
    const type = typeof attestation.type === 'string' && attestation.type !== '' ? attestation.type : typeof attestation.predicateType === 'string' ? attestation.predicateType : '';
    if (type === '') return { result: NOT_VERIFIED(name, `${path}: missing type`), scope };
    const conditions = asArray(attestation.conditions);
    const sets = asArray(attestation.attestors).length > 0 ? asArray(attestation.attestors) : [{ entries: [{}] }];
    const errors: string[] = [];
    for (let j = 0; j < sets.length; j++) {
      const set = asObject(sets[j]) ?? {};
      const entries = asArray(set.entries).map((e) => asObject(e) ?? {});
      const required = typeof set.count === 'number' && set.count > 0 ? set.count : entries.length;
      let verified = 0;
      for (const attestor of entries) {
        // Kyverno names the entry by the attestation's index here, not the entry's.
        const entryPath = `${path}.attestors[${j}].entries[${i}]${attestorSubPath(attestor)}`;
        let statements: Statement[];
        try {
          statements = fetchAttestations(attestor, { record, entry, now: Date.now() });
        } catch (e) {
          if (e instanceof UnsupportedVerification) return { result: NOT_VERIFIED(name, `failed to verify image ${image}: ${e.message}`, 'error'), scope };
          errors.push((e as Error).message);
          continue;
        }
        const withPredicate = statements.find((s) => isJsonObject(s.predicate));
        if (!withPredicate) {
          errors.push('predicate not found in any statement');
          continue;
        }
        if (typeof attestation.name === 'string' && attestation.name !== '') scope = withVariables(scope, { [attestation.name]: withPredicate.predicate });
        try {
          verifyAttestationStatements(statements, type, conditions, image, scope);
          if (++verified >= required) break;
        } catch (e) {
          errors.push(`${entryPath}: ${(e as Error).message}`);
        }
      }
      if (verified < required) {
        const detail = errors.length > 0 ? errors.join('; ') : 'attestations verification failed';
        return { result: NOT_VERIFIED(name, `image attestations verification failed, verifiedCount: ${verified}, requiredCount: ${required}, error: ${detail}`), scope };
      }
    }
  }
  if (hasValidateImageVerification(rule)) {
    const denied = validateVerifiedData(rule, scope);
    if (denied !== undefined) return { result: NOT_VERIFIED(name, `validation in verifyImages failed: ${denied}`), scope };
    return { result: { name, type: 'ImageVerify', status: 'pass', message: `verifyImages validation is passed in ${name} rule` }, scope };
  }
  return { result: { name, type: 'ImageVerify', status: 'pass', message: `verified image attestations for ${image}` }, scope };
}

/** Kyverno's AddImageInfo: the image being verified as `image` in the context. */
function withImageInfo(scope: VariableScope, info: ImageInfo): VariableScope {
  return withVariables(scope, {
    image: {
      reference: info.reference ?? '',
      referenceWithTag: info.referenceWithTag ?? '',
      registry: info.registry ?? '',
      path: info.path,
      name: info.name,
      tag: info.tag ?? '',
      digest: info.digest ?? '',
    },
  });
}

/** Kyverno's verifyImage for one image that the entry references: attestors, then attestations. */
function verifyImage(name: string, rule: JsonObject, entry: ImageVerification, info: ImageInfo, record: RegistryImage | undefined, scope: VariableScope, now: number): { result: RuleResult; digest?: string } {
  let image = imageString(info);
  if (!record) return { result: NOT_VERIFIED(name, `${NEEDS_REGISTRY} (${image})`, 'error') };
  let digest: string | undefined;
  if (entry.attestors.length > 0) {
    const signed = verifyAttestors(name, entry, image, record, now);
    if (signed.result.status !== 'pass' || entry.attestations.length === 0) return signed;
    digest = signed.digest;
    // The attestation pass names the image by its verified digest.
    if (!info.digest && digest) image = imageString({ ...info, reference: undefined, digest });
  }
  const { result } = verifyAttestations(name, rule, entry, image, record, withImageInfo(scope, digest && !info.digest ? { ...info, digest } : info));
  return { result, digest: info.digest ?? digest };
}

/**
 * The image-verify pass for one rule whose match, context, preconditions and exceptions are
 * settled (Kyverno's imageVerifier.Verify). Signatures and attestations are checked against
 * the registry snapshot; without one (offline) they give an error that says so.
 * `mutateDigest` adds the verified (or resolved) digest to images that have none. `scope` is
 * the rule's context, which attestation conditions and validate blocks read.
 */
export function verifyImagesPass(
  name: string,
  rule: JsonObject,
  images: readonly ImageInfo[],
  snapshot?: ImageRegistrySnapshot,
  scope: VariableScope = { data: {} },
  now: Date = new Date(),
  update?: PreviousVerification,
): VerifyImagesOutcome {
  const out: VerifyImagesOutcome = { results: [], patches: [], verified: [] };
  for (const entry of ruleImageVerifications(rule)) {
    const verifies = entry.attestors.length > 0 || entry.attestations.length > 0;
    for (const info of images) {
      let image = imageString(info);
      // On UPDATE an image left as it was and verified before (for this policy and rule) is not checked again.
      if (update && previouslyVerified(update, info, name, image)) {
        out.verified.push({ image, status: 'pass' });
        continue;
      }
      let result: RuleResult | undefined;
      let digest: string | undefined;
      if (verifies) {
        if (!matchesAny(image, entry.imageReferences) || matchesAny(image, entry.skipImageReferences)) {
          result = { name, type: 'ImageVerify', status: 'skip', message: `skipping image reference image ${image}, policy ruleName ${name}` };
        } else {
          ({ result, digest } = verifyImage(name, rule, entry, info, snapshot?.images[image], scope, now.getTime()));
        }
      }
      // Offline, an image whose signatures could not be checked gets no digest error on top.
      if (entry.mutateDigest && !info.digest && (snapshot || !verifies)) {
        digest ||= snapshot?.images[image]?.digest;
        if (!digest) {
          const reason = snapshot?.images[image]?.error ?? `resolving ${image} to a digest needs registry access, which is not available offline`;
          out.results.push({ name, type: 'ImageVerify', status: 'error', message: `failed to update digest: ${reason}` });
        } else {
          out.patches.push({ op: 'replace', path: info.jsonPointer, value: `${image}@${digest}` });
          result ??= { name, type: 'ImageVerify', status: 'pass', message: 'mutated image digest' };
          image = imageString({ ...info, reference: undefined, digest });
        }
      }
      if (result) {
        // Where the editor underlines a failed verification: the container's image field.
        if (result.status === 'fail' || result.status === 'error') result.path ??= pointerToPath(info.jsonPointer);
        if (verifies) out.verified.push({ image, status: result.status === 'pass' ? 'pass' : result.status === 'skip' ? 'skip' : 'fail' });
        out.results.push(result);
      }
    }
  }
  return out;
}

export type VerificationStatus = 'pass' | 'fail' | 'skip';

/** An UPDATE's old object and the policy it is evaluated for (Kyverno's isPreviouslyVerified). */
export interface PreviousVerification {
  object: JsonObject | null;
  oldObject: JsonObject | null;
  /** `namespace/name` of the policy, as the scoped annotation keys it. */
  policyKey: string;
}

function valueAt(doc: unknown, path: Array<string | number>): unknown {
  let node = doc;
  for (const step of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[String(step)];
  }
  return node;
}

/**
 * Kyverno's HasChanged and isPreviouslyVerified: the image field holds the same value in the
 * object and the old object, and the old object's scoped annotation says this policy's rule
 * passed (or skipped) the image.
 */
function previouslyVerified(update: PreviousVerification, info: ImageInfo, rule: string, image: string): boolean {
  if (!update.oldObject || !update.object) return false;
  const path = pointerToPath(info.jsonPointer);
  const now = valueAt(update.object, path);
  const before = valueAt(update.oldObject, path);
  if (now === undefined || now === null || before === undefined || before === null || JSON.stringify(now) !== JSON.stringify(before)) return false;
  const { status, error } = scopedStatus(update.oldObject, update.policyKey, rule, image);
  return error === undefined && (status === 'pass' || status === 'skip');
}

/** The status the scoped annotation records for (policy, rule, image); fail when absent (Kyverno's IsImageVerifiedForPolicy). */
function scopedStatus(resource: JsonObject | null, policyKey: string, rule: string, image: string): { status: VerificationStatus; error?: string } {
  const annotations = asObject(asObject(resource?.metadata)?.annotations);
  const raw = annotations?.[ANNOTATION_IMAGE_VERIFY_SCOPED];
  if (typeof raw !== 'string') return { status: 'fail' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    return { status: 'fail', error: `failed to parse scoped image metadata: ${(e as Error).message}` };
  }
  const doc = asObject(parsed);
  // Only the versioned layout is scoped; the legacy flat map has no per-policy entries.
  if (!doc || doc.version !== 1) return { status: 'fail' };
  const status = asObject(asObject(asObject(doc.policies)?.[policyKey])?.[rule])?.[image];
  return status === 'pass' || status === 'skip' ? { status } : { status: 'fail' };
}

/**
 * The validate pass for one rule (Kyverno's validateImageHandler.Process): every image that an
 * entry references must have a digest when `verifyDigest` is set and must have been verified
 * for this policy and rule when `required` is set. The first image that does not fails the rule.
 */
export function validateImagesPass(
  name: string,
  rule: JsonObject,
  resource: JsonObject | null,
  policy: { namespace: string; name: string },
): RuleResult {
  const skipped: string[] = [];
  const passed: string[] = [];
  const images = allImages(resource, rule);
  for (const entry of ruleImageVerifications(rule)) {
    for (const info of images) {
      const image = imageString(info);
      if (!matchesAny(image, entry.imageReferences)) continue;
      if (entry.verifyDigest && !info.digest) return { name, type: 'ImageVerify', status: 'fail', message: `missing digest for ${image}` };
      if (entry.required && resource) {
        const { status, error } = scopedStatus(resource, `${policy.namespace}/${policy.name}`, name, image);
        if (error !== undefined) return { name, type: 'ImageVerify', status: 'fail', message: error };
        if (status === 'fail') return { name, type: 'ImageVerify', status: 'fail', message: `unverified image ${image}` };
        if (status === 'skip') skipped.push(image);
        else passed.push(image);
        continue;
      }
      // Neither check recorded a status: Kyverno counts the image as neither passed nor skipped.
    }
  }
  if (passed.length > 0 || skipped.length === 0) {
    if (skipped.length > 0) return { name, type: 'ImageVerify', status: 'pass', message: ['image verified, skipped images:', ...skipped].join(' ') };
    return { name, type: 'ImageVerify', status: 'pass', message: 'image verified' };
  }
  return { name, type: 'ImageVerify', status: 'skip', message: ['image skipped, skipped images:', ...skipped].join(' ') };
}

export const ANNOTATION_IMAGE_VERIFY = 'kyverno.io/verify-images';

/** JSON with map keys sorted, as Go's json.Marshal writes maps. */
function sortedJson(value: unknown): string {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    return `{${Object.keys(obj).sort().map((k) => `${JSON.stringify(k)}:${sortedJson(obj[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * The patches recording one policy's verdicts on the resource (Kyverno's
 * ImageVerificationMetadata.Patches): the flat `kyverno.io/verify-images` map and the
 * versioned, per policy and rule `kyverno.io/verify-images-scoped` one.
 */
export function imageVerificationAnnotationPatches(
  resource: JsonObject,
  policyKey: string,
  byRule: Record<string, Record<string, VerificationStatus>>,
): Array<{ op: 'add'; path: string; value: unknown }> {
  const flat: Record<string, VerificationStatus> = {};
  for (const images of Object.values(byRule)) Object.assign(flat, images);
  const ops: Array<{ op: 'add'; path: string; value: unknown }> = [];
  if (!isJsonObject(asObject(resource.metadata).annotations)) ops.push({ op: 'add', path: '/metadata/annotations', value: {} });
  const key = (annotation: string) => `/metadata/annotations/${annotation.replace(/~/g, '~0').replace(/\//g, '~1')}`;
  ops.push({ op: 'add', path: key(ANNOTATION_IMAGE_VERIFY), value: sortedJson(flat) });
  ops.push({ op: 'add', path: key(ANNOTATION_IMAGE_VERIFY_SCOPED), value: `{"version":1,"policies":${sortedJson({ [policyKey]: byRule })}}` });
  return ops;
}
