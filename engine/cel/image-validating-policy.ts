/**
 * ImageValidatingPolicy as Kyverno's evaluator runs it (pkg/image/verification/evaluator,
 * pkg/cel/policies/ivpol/engine) with the imageverify CEL library (pkg/cel/libs/imageverify),
 * from the registry snapshot in `ClusterState.imageRegistry`:
 * match conditions, CEL PolicyExceptions (skip), the images the extractors list (pods, pod
 * controllers, CronJobs, `spec.images`) filtered by matchImageReferences, `verifyDigest`, then
 * the validations with `images`, `attestors`, `attestations` and the functions
 * `verifyImageSignatures`, `verifyAttestationSignatures`, `extractPayload`, `getImageData`;
 * a passing policy must have verified every matched image (`validationConfigurations.required`).
 *
 * The functions are synchronous reads of the snapshot. Kyverno logs why one attestor did not
 * verify and only counts the ones that did; so do we.
 */
import type { ApplyOptions } from '../apply';
import type { JsonObject, PolicyResponse, RuleResult } from '../core/types';
import { asArray, asObject, isJsonObject } from '../core/json';
import { extractImages } from '../context/images';
import { tryGetImageInfo } from '../images/image-info';
import { imageDataOf } from './lib-image';
import type { ClusterState } from '../core/types';
import { KeyError, parsePublicKeyPem } from '../crypto/keys';
import { certificatePool, parseCertificatesPem, rawExtensionString, subjectAlternateNames, type Certificate } from '../crypto/x509';
import { base64Decode } from '../jmespath/go-compat';
import { regexMatches } from '../regex';
import { wildcardMatch } from '../wildcard/wildcard';
import { verifyAttestationLayers, verifyCosignSignatures, type CosignVerifier, type Statement, type VerifiedAttestation } from '../verify-images/cosign';
import { verifyNotarySignatures, type ArtifactDescriptor } from '../verify-images/notary';
import { cosignArtifacts, imageString, NEEDS_REGISTRY, pointerToPath } from '../verify-images';
import type { ImageRegistrySnapshot, RegistryImage, RegistryReferrer } from '../verify-images/snapshot';
import { buildActivation, installVariables, type CelActivation } from './context';
import type { Environment } from '@marcbachmann/cel-js';
import { evalCel, typeOfCel } from './environment';
import { matchCelExceptions } from './exceptions';
import { emptyResponse, failureActionOf } from './response';
import { evaluateMatchConditions } from './validations';
import { effectiveSpec } from './validating-policy';
import { fromCel, toCel } from './values';
import { requestTarget } from './match';

/**
 * What the ImageValidatingPolicies of one request share, as Kyverno's ivpol engine shares its
 * ImageContext and ImageVerificationResults between the policies of a request: which images
 * some policy verified (so a policy's `required` check counts another policy's verification),
 * the referrers and in-toto payloads whose signatures verified (what `extractPayload` reads),
 * and the passing policies whose `required` check waits until every policy has run.
 */
/** The kinds whose policies share an ImageVerificationContext within one request. */
export const IMAGE_VALIDATING_KINDS: ReadonlySet<string> = new Set(['ImageValidatingPolicy', 'NamespacedImageValidatingPolicy']);

export class ImageVerificationContext {
  /** Per image: whether some verification passed (Kyverno's ImageVerificationResults). */
  readonly verifications = new Map<string, boolean>();
  /** Referrers whose attestation signatures verified, per image and artifact type. */
  readonly verifiedReferrers = new Map<string, Map<string, RegistryReferrer>>();
  /** In-toto statements whose cosign attestation signatures verified, per image and predicate type. */
  readonly verifiedIntoto = new Map<string, Map<string, unknown>>();
  private readonly pending: Array<{ result: RuleResult; spec: JsonObject; images: string[]; object: JsonObject }> = [];

  record(image: string, verified: boolean): void {
    this.verifications.set(image, (this.verifications.get(image) ?? false) || verified);
  }

  /** A passing policy's result whose `required` check waits for the other policies of the request. */
  defer(result: RuleResult, spec: JsonObject, images: string[], object: JsonObject): void {
    this.pending.push({ result, spec, images, object });
  }

  /** Kyverno's enforceRequired once every policy ran: a deferred pass whose images were not all verified becomes a failure. */
  settle(): void {
    for (const { result, spec, images, object } of this.pending.splice(0)) {
      const failure = enforceRequired(spec, images, this);
      if (!failure) continue;
      result.status = 'fail';
      result.message = failure;
      const path = blamedImagePath(object, images, this);
      if (path) result.path = path;
    }
  }
}

/** What the imageverify functions see while one policy's expressions run. */
interface ImageVerifyRun {
  cluster: ClusterState;
  snapshot?: ImageRegistrySnapshot;
  matchImageReferences: JsonObject[];
  attestations: Record<string, JsonObject>;
  shared: ImageVerificationContext;
  now: number;
  vars: Record<string, unknown>;
}

/** The policy being evaluated; the engine is synchronous, so one at a time. */
let current: ImageVerifyRun | undefined;

function run(): ImageVerifyRun {
  if (!current) throw new Error('image verification functions are only available in ImageValidatingPolicies');
  return current;
}

/** matching.MatchImage: no references match everything; a glob or an expression on `ref`. */
function matchesImage(image: string, refs: readonly JsonObject[], vars: Record<string, unknown>): boolean {
  if (refs.length === 0) return true;
  return refs.some((r) => {
    if (typeof r.glob === 'string') return wildcardMatch(r.glob, image);
    if (typeof r.expression === 'string') {
      const out = evalCel(r.expression, { ...vars, ref: image });
      if (typeof out !== 'boolean') throw new Error(`matchImageReferences expression must evaluate to bool, got ${typeOfCel(out)}`);
      return out;
    }
    return false;
  });
}

/** imgCtx.Get: the image's registry data, or Kyverno's error. */
function imageData(image: string): RegistryImage {
  const r = run();
  const info = tryGetImageInfo(image);
  const key = info ? imageString({ ...info, jsonPointer: '' }) : image;
  const record = r.snapshot?.images[key] ?? r.snapshot?.images[image];
  if (!record) throw new Error(`failed to get imagedata: ${NEEDS_REGISTRY} (${image})`);
  if (record.error !== undefined || !record.digest) throw new Error(`failed to get imagedata: ${record.error ?? 'no digest'}`);
  return record;
}

function text(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** A `{value}` or `{expression}` string source, as the attestor's CompiledAttestor resolves it. */
function sourceValue(source: unknown): string {
  const s = asObject(source);
  return text(s.value) || text(s.data);
}

/** cosign's CheckCertificatePolicy with the attestor's identities (issuer exact or regexp, subject exact or regexp). */
function identityMatches(cert: Certificate, identities: JsonObject[]): boolean {
  if (identities.length === 0) return true;
  const issuer = rawExtensionString(cert, '1.3.6.1.4.1.57264.1.1');
  const sans = subjectAlternateNames(cert);
  return identities.some((id) => {
    const issuerOk = text(id.issuerRegExp) ? regexMatches(text(id.issuerRegExp), issuer) : text(id.issuer) ? text(id.issuer) === issuer : true;
    const subjectOk = text(id.subjectRegExp) ? sans.some((s) => regexMatches(text(id.subjectRegExp), s)) : text(id.subject) ? sans.includes(text(id.subject)) : true;
    return issuerOk && subjectOk;
  });
}

/**
 * The cosign verifier of an ivpol attestor, offline. Kyverno initialises the sigstore TUF
 * repository unless a key or certificate is used with `ctlog.insecureIgnoreTlog`; keyless
 * verification here uses the attestor's `roots` instead (there is no TUF offline) and needs
 * both insecure flags. Throws when the attestor cannot be checked offline.
 */
function cosignVerifierOf(cosign: JsonObject): { verifier: CosignVerifier; identities?: JsonObject[] } {
  const ctlog = asObject(cosign.ctlog);
  if (ctlog.insecureIgnoreTlog !== true) throw new Error('transparency log (Rekor) verification needs the network');
  if (isJsonObject(cosign.keyless)) {
    if (ctlog.insecureIgnoreSCT !== true) throw new Error('certificate transparency verification needs the network');
    const roots = certificatePool(text(cosign.keyless.roots));
    if (roots.length === 0) throw new Error('Fulcio roots come from the sigstore TUF repository, which needs the network');
    return { verifier: { roots }, identities: asArray(cosign.keyless.identities).map((i) => asObject(i)) };
  }
  if (isJsonObject(cosign.key)) {
    const pem = text(cosign.key.data) || text(cosign.key.value);
    if (!pem) throw new Error('keys from KMS or secrets are not supported offline');
    return { verifier: { key: parsePublicKeyPem(pem) } };
  }
  if (isJsonObject(cosign.certificate)) {
    const certPem = sourceValue(cosign.certificate.certificate);
    const chainPem = sourceValue(cosign.certificate.certificateChain);
    if (certPem) {
      const [cert] = parseCertificatesPem(certPem);
      if (!cert?.publicKey) throw new Error('failed to load certificate');
      return { verifier: { key: cert.publicKey } };
    }
    if (chainPem) return { verifier: { roots: certificatePool(chainPem) } };
  }
  throw new Error('unsupported cosign attestor');
}

/** Where a cosign attestor's signatures are kept: `source.repository` and `source.tagPrefix` (cosign's WithTargetRepository, WithPrefix). */
function cosignSource(record: RegistryImage, cosign: JsonObject) {
  const source = asObject(cosign.source);
  return cosignArtifacts(record, text(source.repository), text(source.tagPrefix));
}

/** Kyverno's checkSignatureAnnotations: the layer's OCI annotations must hold every annotation the attestor asks for. */
function annotationsMatch(layerAnnotations: Record<string, string> | undefined, cosign: JsonObject): boolean {
  const wanted = asObject(cosign.annotations);
  return Object.entries(wanted).every(([k, v]) => (layerAnnotations ?? {})[k] === v);
}

function verifyCosignAttestor(record: RegistryImage, cosign: JsonObject, now: number): void {
  const { verifier, identities } = cosignVerifierOf(cosign);
  const outcome = verifyCosignSignatures(cosignSource(record, cosign).signatures, record.digest!, verifier, {}, now);
  const certificates = outcome.certificates ?? [];
  const layers = (outcome.layers ?? []).filter((_, i) => !identities || (certificates[i] && identityMatches(certificates[i]!, identities)));
  if (identities && layers.length === 0) throw new Error('none of the expected identities matched');
  if (!layers.some((l) => annotationsMatch(l.annotations, cosign))) throw new Error('no signature matched the required annotations');
}

/** cosign's PredicateTypeMap: the short names `cosign attest --type` accepts and their URIs. */
const PREDICATE_TYPES: Record<string, string> = {
  custom: 'https://cosign.sigstore.dev/attestation/v1',
  slsaprovenance: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance02: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance1: 'https://slsa.dev/provenance/v1',
  spdx: 'https://spdx.dev/Document',
  spdxjson: 'https://spdx.dev/Document',
  cyclonedx: 'https://cyclonedx.org/bom',
  link: 'https://in-toto.io/Link/v1',
  vuln: 'https://cosign.sigstore.dev/attestation/vuln/v1',
  openvex: 'https://openvex.dev/ns',
};

/** The statement as in-toto's Go Statement marshals it (what AttestationToPayloadJSON hands to extractPayload). */
function inTotoPayload(statement: Statement): unknown {
  const subjects = Array.isArray(statement.subject)
    ? statement.subject.map((s) => ({ name: text(asObject(s).name), digest: isJsonObject(asObject(s).digest) ? asObject(s).digest : null }))
    : null;
  return { _type: text(statement._type), predicateType: text(statement.predicateType), subject: subjects, predicate: statement.predicate ?? null };
}

/**
 * Kyverno's cosign VerifyAttestationSignature: the `.att` envelopes verified with the attestor
 * (identities for keyless), then policy.AttestationToPayloadJSON per envelope: those whose
 * predicate type is the attestation's (short names mapped to URIs) and that carry the
 * attestor's annotations are the verified payloads, by their predicate type.
 */
function verifyCosignAttestation(record: RegistryImage, attest: JsonObject, cosign: JsonObject, now: number): Array<[string, unknown]> {
  if (!isJsonObject(attest.intoto)) throw new Error('cosgin verifier only supports intoto referrers as attestations');
  const { verifier, identities } = cosignVerifierOf(cosign);
  const artifacts = cosignSource(record, cosign);
  if (artifacts.attestationsError !== undefined) throw new Error(`failed to verify cosign signatures: ${artifacts.attestationsError}`);
  let verified: VerifiedAttestation[] = verifyAttestationLayers(artifacts.attestations ?? [], record.digest!, verifier, now);
  if (identities) verified = verified.filter((v) => v.cert && identityMatches(v.cert, identities));
  if (verified.length === 0) throw new Error('none of the expected identities matched');
  const type = text(attest.intoto.type);
  if (!type) throw new Error('converting to consumable policy validation: missing predicate type');
  const uri = PREDICATE_TYPES[type] ?? type;
  const found: Array<[string, unknown]> = [];
  const checked: string[] = [];
  let annotationMismatches = 0;
  for (const { statement, layer } of verified) {
    const got = text(statement.predicateType);
    checked.push(got);
    if (got !== uri) continue;
    if (!annotationsMatch(layer.annotations, cosign)) {
      annotationMismatches++;
      continue;
    }
    found.push([got, inTotoPayload(statement)]);
  }
  if (found.length > 0) return found;
  if (annotationMismatches > 0) throw new Error('no attestation matched the required annotations');
  throw new Error(`required predicate type ${type} not found, found [${checked.join(' ')}]`);
}

function notaryCertificates(notary: JsonObject): Certificate[] {
  return parseCertificatesPem(sourceValue(notary.certs));
}

function imageDescriptor(record: RegistryImage): ArtifactDescriptor {
  return { mediaType: record.manifestMediaType ?? '', digest: record.digest!, size: record.manifestSize ?? 0 };
}

function attestorList(value: unknown): JsonObject[] {
  const list = fromCel(value);
  return (Array.isArray(list) ? list : []).map((a) => asObject(a));
}

/** verifyImageSignatures(image, attestors): how many attestors verified the image's signatures. */
function verifyImageSignatures(image: string, attestorsValue: unknown): bigint {
  const r = run();
  if (!matchesImage(image, r.matchImageReferences, r.vars)) return 0n;
  const attestors = attestorList(attestorsValue);
  const record = imageData(image);
  let count = 0;
  for (const attestor of attestors) {
    try {
      if (isJsonObject(attestor.cosign)) verifyCosignAttestor(record, attestor.cosign, r.now);
      else if (isJsonObject(attestor.notary)) verifyNotarySignatures(imageDescriptor(record), record.referrers ?? [], notaryCertificates(attestor.notary), r.now);
      else continue;
      count++;
    } catch (e) {
      if (!(e instanceof Error) && !(e instanceof KeyError)) throw e;
    }
  }
  if (attestors.length > 0) r.shared.record(image, count > 0);
  return BigInt(count);
}

function attestationNamed(name: string): JsonObject {
  const found = run().attestations[name];
  if (!found) throw new Error(`attestation not found in policy: ${name}`);
  return found;
}

/** verifyAttestationSignatures(image, attestation, attestors): how many attestors verified the attestation. */
function verifyAttestationSignatures(image: string, attestation: string, attestorsValue: unknown): bigint {
  const r = run();
  if (!matchesImage(image, r.matchImageReferences, r.vars)) return 0n;
  const attest = attestationNamed(attestation);
  const attestors = attestorList(attestorsValue);
  const record = imageData(image);
  let count = 0;
  for (const attestor of attestors) {
    if (isJsonObject(attestor.notary)) {
      const referrer = asObject(attest.referrer);
      if (!isJsonObject(attest.referrer)) throw new Error('notary verifier only supports oci 1.1 referrers as attestations');
      const type = text(referrer.type);
      const candidates = (record.referrers ?? []).filter((x) => x.artifactType === type);
      let trusted: Certificate[];
      try {
        trusted = notaryCertificates(attestor.notary);
      } catch {
        continue;
      }
      const verified = candidates.find((c) => {
        try {
          verifyNotarySignatures({ mediaType: c.mediaType, digest: c.digest, size: c.size }, c.referrers ?? [], trusted, r.now);
          return true;
        } catch {
          return false;
        }
      });
      if (verified) {
        count++;
        const byType = r.shared.verifiedReferrers.get(image) ?? new Map<string, RegistryReferrer>();
        byType.set(type, verified);
        r.shared.verifiedReferrers.set(image, byType);
      }
    } else if (isJsonObject(attestor.cosign)) {
      let payloads: Array<[string, unknown]>;
      try {
        payloads = verifyCosignAttestation(record, attest, attestor.cosign, r.now);
      } catch (e) {
        // Kyverno logs why an attestor did not verify and counts the ones that did.
        if (!(e instanceof Error) && !(e instanceof KeyError)) throw e;
        continue;
      }
      count++;
      const byType = r.shared.verifiedIntoto.get(image) ?? new Map<string, unknown>();
      for (const [type, payload] of payloads) byType.set(type, payload);
      r.shared.verifiedIntoto.set(image, byType);
    }
  }
  if (attestors.length > 0) r.shared.record(image, count > 0);
  return BigInt(count);
}

/** extractPayload(image, attestation): the attestation's JSON (a verified referrer first, else the first of its type). */
function extractPayload(image: string, attestation: string): unknown {
  const r = run();
  const attest = attestationNamed(attestation);
  const record = imageData(image);
  if (isJsonObject(attest.intoto)) {
    const payload = r.shared.verifiedIntoto.get(image)?.get(text(attest.intoto.type));
    if (payload === undefined) throw new Error('failed to get payload: intoto attestation payload cannot be fetch before verifying intoto attestation');
    return toCel(payload);
  }
  const type = text(asObject(attest.referrer).type);
  const referrer = r.shared.verifiedReferrers.get(image)?.get(type) ?? (record.referrers ?? []).find((x) => x.artifactType === type);
  if (!referrer) throw new Error(`failed to get payload: artifact of type ${type} not found`);
  if (!referrer.layer) throw new Error(`failed to get payload: ${referrer.error ?? `could not find attestation ${attestation}`}`);
  try {
    return toCel(JSON.parse(new TextDecoder().decode(base64Decode(referrer.layer.data))));
  } catch {
    throw new Error(`failed to get payload: failed to unmarshal json for attestation ${attestation}`);
  }
}

/** getImageData(image): the image's reference parts, manifest and config (imagedataloader.ImageData), as image.GetMetadata reads them. */
function getImageData(image: string): unknown {
  const r = run();
  imageData(image);
  return imageDataOf(r.cluster, image);
}

export function registerImageVerifyLibrary(env: Environment): void {
  env
    .registerFunction('verifyImageSignatures(string, list): int', (image: string, attestors: unknown) => verifyImageSignatures(image, attestors))
    .registerFunction('verifyAttestationSignatures(string, string, list): int', (image: string, attestation: string, attestors: unknown) => verifyAttestationSignatures(image, attestation, attestors))
    .registerFunction('extractPayload(string, string): dyn', (image: string, attestation: string) => extractPayload(image, attestation))
    .registerFunction('getImageData(string): dyn', (image: string) => getImageData(image));
}

const POD_LISTS = ['containers', 'initContainers', 'ephemeralContainers'];

/** The default extractors Kyverno compiles for the request's resource, by GVR. */
function defaultImages(object: JsonObject, resource: string, group: string): Record<string, string[]> | null {
  const spec = asObject(object.spec);
  let podSpec: JsonObject | null = null;
  if (group === '' && resource === 'pods') podSpec = spec;
  else if ((group === 'apps' && ['deployments', 'statefulsets', 'daemonsets', 'replicasets'].includes(resource)) || (group === 'batch' && resource === 'jobs')) podSpec = asObject(asObject(spec.template).spec);
  else if (group === 'batch' && resource === 'cronjobs') podSpec = asObject(asObject(asObject(asObject(spec.jobTemplate).spec).template).spec);
  if (!podSpec) return null;
  const out: Record<string, string[]> = {};
  for (const list of POD_LISTS) out[list] = asArray(podSpec[list]).map((c) => String(asObject(c).image ?? ''));
  return out;
}

interface Outcome {
  status: RuleResult['status'];
  message: string;
  images: string[];
}

/**
 * For the editor: the container image field a failed policy points at, the first matched image
 * that did not verify (or the first matched image). Kyverno reports no path; the CLI ignores it.
 */
function blamedImagePath(object: JsonObject, images: string[], shared: ImageVerificationContext): Array<string | number> | undefined {
  const image = images.find((i) => shared.verifications.get(i) !== true) ?? images[0];
  if (image === undefined) return undefined;
  for (const group of Object.values(extractImages(object))) {
    for (const info of Object.values(group)) {
      const path = pointerToPath(info.jsonPointer);
      let value: unknown = object;
      for (const step of path) value = asObject(value)[String(step)] ?? (Array.isArray(value) ? value[Number(step)] : undefined);
      if (value === image) return path;
    }
  }
  return undefined;
}

function evaluate(spec: JsonObject, act: CelActivation, options: ApplyOptions, ivrun: ImageVerifyRun): Outcome {
  const t = requestTarget(options.request);
  const object = asObject(options.request.object ?? options.request.oldObject);
  const images: Record<string, string[]> = defaultImages(object, t.resource, t.group) ?? {};
  for (const extractor of asArray(spec.images).map((e) => asObject(e))) {
    const out = fromCel(evalCel(text(extractor.expression), act.vars));
    if (!Array.isArray(out)) throw new Error(`image extractor ${text(extractor.name)} must return a list of strings`);
    images[text(extractor.name)] = out.map(String);
  }
  const filtered: Record<string, string[]> = {};
  const matched: string[] = [];
  for (const [category, list] of Object.entries(images)) {
    filtered[category] = [];
    for (const image of list) {
      if (!matchesImage(image, ivrun.matchImageReferences, act.vars)) continue;
      filtered[category].push(image);
      matched.push(image);
    }
  }
  // validationConfigurations.verifyDigest defaults to true: every image needs a digest.
  if (asObject(spec.validationConfigurations).verifyDigest !== false) {
    for (const image of matched) if (!tryGetImageInfo(image)?.digest) return { status: 'fail', message: `image ${image} does not have a digest`, images: matched };
  }
  // ictx.AddImages: every matched image is read before the validations run.
  for (const image of matched) imageData(image);
  act.vars.images = filtered;
  act.vars.attestations = Object.fromEntries(Object.keys(ivrun.attestations).map((n) => [n, n]));
  act.vars.attestors = Object.fromEntries(asArray(spec.attestors).map((a) => asObject(a)).map((a) => [text(a.name), toCel(a)]));
  const validations = asArray(spec.validations).map((v) => asObject(v));
  for (let i = 0; i < validations.length; i++) {
    const v = validations[i];
    const out = evalCel(text(v.expression), act.vars);
    if (typeof out !== 'boolean') return { status: 'error', message: `error: expression must evaluate to bool, got ${typeOfCel(out)}`, images: matched };
    if (out) continue;
    let message = text(v.message);
    if (text(v.messageExpression)) {
      try {
        const m = evalCel(text(v.messageExpression), act.vars);
        message = typeof m === 'string' ? m : `failed to convert message expression to string: got ${typeOfCel(m)}`;
      } catch (e) {
        message = `failed to evaluate message expression: ${(e as Error).message}`;
      }
    }
    return { status: 'fail', message: message || `CEL expression validation failed at index ${i}`, images: matched };
  }
  return { status: 'pass', message: 'success', images: matched };
}

function blame(object: JsonObject, images: string[], ivrun: ImageVerifyRun): { path?: Array<string | number> } {
  const path = blamedImagePath(object, images, ivrun.shared);
  return path ? { path } : {};
}

/** EnforceRequired: a passing policy's matched images must all have been verified. */
function enforceRequired(spec: JsonObject, images: string[], shared: ImageVerificationContext): string | null {
  if (asObject(spec.validationConfigurations).required === false) return null;
  for (const image of images) {
    const verified = shared.verifications.get(image);
    if (verified) continue;
    if (verified === false) return `image ${image} failed signature or attestation verification`;
    return `image ${image} is not verified: no policy performed a signature or attestation check on it`;
  }
  return null;
}

/** One ImageValidatingPolicy on one request; results are named after the policy, as the CLI shows them. */
export function applyImageValidatingPolicy(policy: JsonObject, options: ApplyOptions): PolicyResponse {
  const found = effectiveSpec(policy, options);
  if (!found) return emptyResponse(policy, options);
  const { spec } = found;
  const name = String(asObject(policy.metadata).name ?? '');
  const failureAction = failureActionOf(spec.validationActions);
  const single = (r: RuleResult) => emptyResponse(policy, options, [{ failureAction, ...r }]);
  const json = String(asObject(spec.evaluation).mode ?? '') === 'JSON';
  const act = buildActivation(options, json ? { kubernetes: false } : {});
  const match = evaluateMatchConditions(spec.matchConditions, act, spec.failurePolicy);
  if (match.error) return single({ name: 'evaluation', type: 'ImageVerify', status: 'error', message: `failed to evaluate policy: ${match.error}` });
  if (!match.matched) return single({ name: '', type: 'ImageVerify', status: 'skip', message: 'skip' });
  const exceptions = matchCelExceptions(policy, options.cluster.exceptions, act);
  if (exceptions) {
    return single({ name: 'exception', type: 'Validation', status: 'skip', message: `rule is skipped due to policy exception: ${exceptions.keys.join(', ')}`, exceptions: exceptions.keys });
  }
  installVariables(act, spec.variables);
  const attestations: Record<string, JsonObject> = {};
  for (const a of asArray(spec.attestations).map((x) => asObject(x))) attestations[text(a.name)] = a;
  const ivrun: ImageVerifyRun = {
    cluster: options.cluster,
    snapshot: options.cluster.imageRegistry,
    matchImageReferences: asArray(spec.matchImageReferences).map((r) => asObject(r)),
    attestations,
    shared: options.imageVerifications ?? new ImageVerificationContext(),
    now: (options.now ?? new Date()).getTime(),
    vars: act.vars,
  };
  const previous = current;
  current = ivrun;
  try {
    const outcome = evaluate(spec, act, options, ivrun);
    const object = asObject(options.request.object ?? options.request.oldObject);
    if (outcome.status === 'pass') {
      // With a request-wide context the check waits for the request's other policies (settle()).
      if (options.imageVerifications) {
        const response = single({ name, type: 'ImageVerify', status: 'pass', message: outcome.message });
        options.imageVerifications.defer(response.rules[0], spec, outcome.images, object);
        return response;
      }
      const required = enforceRequired(spec, outcome.images, ivrun.shared);
      if (required) return single({ name, type: 'ImageVerify', status: 'fail', message: required, ...blame(object, outcome.images, ivrun) });
      return single({ name, type: 'ImageVerify', status: 'pass', message: outcome.message });
    }
    return single({ name, type: 'ImageVerify', status: outcome.status, message: outcome.message, ...blame(object, outcome.images, ivrun) });
  } catch (e) {
    return single({ name: 'evaluation', type: 'ImageVerify', status: 'error', message: `failed to evaluate policy: ${(e as Error).message}` });
  } finally {
    current = previous;
  }
}
