/**
 * `validate.manifests`: signed Kubernetes manifests, verified as Kyverno's
 * validate_manifest.go does with sigstore's k8s-manifest-sigstore (VerifyResource with the
 * signature in annotations: `<domain>/message`, `<domain>/signature`, `<domain>/signature_1`, ...).
 *
 * Offline, dry-run matching is off (Kyverno turns it off when it cannot create the dry-run
 * object), so a resource matches its signed manifest when their key diff, less the ignored
 * fields, is empty. Public keys in PEM are checked here (engine/crypto); keyless and
 * certificate attestors, key references (Secrets, KMS), PGP keys, signature bundles and
 * manifests in OCI images need a cluster or the network and give an error result saying so.
 */
import { splitPublicKeyPem } from '../crypto/keys';
import type { AdmissionRequest, JsonObject, RuleResult } from '../core/types';
import { asArray, isJsonObject } from '../core/json';
import { KeyError, parsePublicKeyPem, verifyWithKey, type PublicKey } from '../crypto';
import { base64Decode, goJsonMarshal } from '../jmespath/go-compat';
import { ruleError, ruleResult } from '../validate/results';
import {
  groupVersion,
  ignoreFieldsFor,
  KYVERNO_DEFAULT_IGNORE_FIELDS,
  matchPattern,
  readFieldBindings,
  SIGSTORE_DEFAULT_IGNORE_FIELDS,
  type FieldBinding,
  type ObjectIdentity,
} from './config';
import { diffObjects, diffString, filterDiff, type Difference } from './mapnode';
import { findManifests, gzipOrSame, ManifestError, manifestsInMessage } from './message';

export { ManifestError } from './message';

const DEFAULT_DOMAIN = 'cosign.sigstore.dev';
const OFFLINE = 'which is not available offline';

/**
 * Kyverno's VerifyResourceOption: one object for the whole rule, which every attestor entry
 * updates in turn (a key set by one entry stays for the next, as in Kyverno).
 */
interface VerifyOptions {
  ignoreFields: FieldBinding[];
  annotationIgnoreFieldsAdded: boolean;
  domain: string;
  keyPath?: { pem: string } | { ref: string };
  certificate?: string;
  keyless?: boolean;
  signers: string[];
  resourceBundleRef?: string;
}

interface ResourceVerification {
  verified: boolean;
  signer: string;
  diff: Difference[] | null;
}

const str = (v: unknown) => (typeof v === 'string' ? v : '');

function annotationKey(domain: string, base: string, i = 0): string {
  return i > 0 ? `${domain}/${base}_${i}` : `${domain}/${base}`;
}

/** unstructured GetAnnotations: all or nothing (one non-string value drops them all). */
function annotationsOf(resource: JsonObject): Record<string, string> {
  const meta = isJsonObject(resource.metadata) ? resource.metadata : {};
  const a = meta.annotations;
  if (!isJsonObject(a)) return {};
  for (const v of Object.values(a)) if (typeof v !== 'string') return {};
  return a as Record<string, string>;
}

function identityOf(resource: JsonObject): ObjectIdentity {
  const gv = groupVersion(str(resource.apiVersion)) ?? { group: '', version: '' };
  const meta = isJsonObject(resource.metadata) ? resource.metadata : {};
  return { ...gv, kind: str(resource.kind), name: str(meta.name), namespace: str(meta.namespace) };
}

/** AnnotationConfig.GetAllSignatureSets: the message with signature, signature_1, ... and their certificate/bundle. */
function signatureSets(annotations: Record<string, string>, domain: string) {
  const message = annotations[annotationKey(domain, 'message')];
  if (message === undefined) return [];
  const sets: Array<{ message: string; signature: string; certificate?: string; bundle?: string }> = [];
  const count = Object.keys(annotations).length;
  for (let i = 0; ; i++) {
    const signature = annotations[annotationKey(domain, 'signature', i)];
    if (signature === undefined) break;
    sets.push({
      message,
      signature,
      certificate: annotations[annotationKey(domain, 'certificate', i)],
      bundle: annotations[annotationKey(domain, 'bundle', i)],
    });
    if (i > count) break;
  }
  return sets;
}

/** cosign's signature loading: base64 text, otherwise the raw bytes. */
function signatureBytes(text: string): Uint8Array {
  try {
    return base64Decode(text);
  } catch {
    return new TextEncoder().encode(text);
  }
}

type Identity = { key: { pem: string } | { ref: string } } | { name: string };

/** The signature type sigstore infers from the key, with the key parsed when it is a PEM public key. */
function keyType(identity: Identity): { type: 'cosign'; key?: PublicKey } | { type: 'pgp' } | { type: 'unknown' } {
  if (!('key' in identity)) return { type: 'cosign' };
  if ('pem' in identity.key) {
    try {
      return { type: 'cosign', key: parsePublicKeyPem(identity.key.pem) };
    } catch (e) {
      if (!(e instanceof KeyError)) throw e;
      if (identity.key.pem.startsWith('-----BEGIN PGP PUBLIC KEY BLOCK-----')) return { type: 'pgp' };
      return { type: 'unknown' };
    }
  }
  // A reference: Secrets (k8s://) and KMS keys are loaded from elsewhere; anything else is a file path.
  if (/^(k8s|awskms|gcpkms|azurekms|hashivault|pkcs11):\/\//.test(identity.key.ref)) return { type: 'cosign' };
  return { type: 'unknown' };
}

/** Why one signature set cannot be checked offline, or null when it can. */
function offlineReason(kind: 'pgp' | 'cosign', key: PublicKey | undefined, set: { bundle?: string; certificate?: string }): string | null {
  if (kind === 'pgp') return `PGP signature verification is not supported offline`;
  if (set.bundle) return `failed to create cosign check options: Rekor public keys need network access, ${OFFLINE}`;
  if (!key) return `cosign.VerifyBlobCmd.Exec() returned an error: keyless signatures and keys held in a cluster or KMS need network access, ${OFFLINE}`;
  if (set.certificate) return `cosign.VerifyBlobCmd.Exec() returned an error: transparency log verification needs network access, ${OFFLINE}`;
  return null;
}

/** BlobSignatureVerifier.Verify: the signer when some signature verifies; ManifestError otherwise. */
function verifyBlobSignatures(annotations: Record<string, string>, vo: VerifyOptions): string {
  const sets = signatureSets(annotations, vo.domain);
  if (sets.length === 0) throw new ManifestError('signature not found', 'signatureNotFound');
  const identities: Identity[] = vo.keyPath
    ? [{ key: vo.keyPath }]
    : vo.signers.length > 0
      ? vo.signers.map((name) => ({ name }))
      : [{ name: '' }];
  const trials: string[] = [];
  for (let i = 0; i < identities.length; i++) {
    const identity = identities[i];
    const type = keyType(identity);
    if (type.type === 'unknown') throw new ManifestError('failed to judge signature type from public key configuration', 'other');
    for (let j = 0; j < sets.length; j++) {
      const set = sets[j];
      const key = type.type === 'cosign' ? type.key : undefined;
      let error = offlineReason(type.type, key, set);
      if (error === null && key) {
        // The signed bytes: the decoded message un-gzipped once (a tar.gz, or the YAML itself).
        let message: Uint8Array;
        try {
          message = gzipOrSame(base64Decode(set.message));
        } catch {
          message = new Uint8Array();
        }
        const outcome = verifyWithKey(key, message, signatureBytes(set.signature));
        // A key-verified signature has no signer name (it would come from a certificate).
        if (outcome.verified) return '';
        error = `cosign.VerifyBlobCmd.Exec() returned an error: ${outcome.error}`;
      }
      const who = 'key' in identity ? `publickey ${i + 1}/${identities.length}` : identity.name !== '' ? `signer ${i + 1}/${identities.length}` : '';
      trials.push(`[${who}] [signature ${j + 1}/${sets.length}] error: ${error}`);
    }
  }
  throw new ManifestError(`verification failed for ${sets.length} signature. all trials: ${goJsonMarshal(trials)}`, 'other');
}

function wrap(prefix: string, e: unknown): ManifestError {
  if (e instanceof ManifestError) return new ManifestError(`${prefix}: ${e.message}`, e.kind);
  throw e;
}

/** k8smanifest.VerifyResource with dry run disabled. */
function verifyResource(resource: JsonObject, vo: VerifyOptions): ResourceVerification {
  const annotations = annotationsOf(resource);
  const bundleRef = annotations[annotationKey(vo.domain, 'resourceBundleRef')];
  if (bundleRef !== undefined) vo.resourceBundleRef = bundleRef;
  if (!vo.annotationIgnoreFieldsAdded) {
    const d = vo.domain;
    vo.ignoreFields.push({
      fields: ['message', 'signature', 'certificate', 'bundle', 'resourceBundleRef'].map((b) => `metadata.annotations.${annotationKey(d, b)}*`),
      objects: [{ kind: '*' }],
    });
    vo.annotationIgnoreFieldsAdded = true;
  }
  const ignoreFields = ignoreFieldsFor(vo.ignoreFields, identityOf(resource));

  let candidates: Record<string, unknown>[];
  try {
    if (vo.resourceBundleRef) {
      throw new ManifestError(`failed to get YAMLs in the image: pulling ${vo.resourceBundleRef} needs registry access, ${OFFLINE}`, 'other');
    }
    const message = annotations[annotationKey(vo.domain, 'message')];
    if (message === undefined) throw new ManifestError('message not found', 'messageNotFound');
    candidates = findManifests(manifestsInMessage(message), resource, ignoreFields);
    if (candidates.length === 0) throw new ManifestError('failed to find a YAML manifest in the gzipped message', 'messageNotFound');
  } catch (e) {
    throw wrap('YAML manifest not found for this resource', e);
  }

  let matched = false;
  let firstDiff: Difference[] | null = null;
  for (const candidate of candidates) {
    const diff = directMatchDiff(candidate, resource, ignoreFields);
    if (diff.length === 0) {
      matched = true;
      break;
    }
    firstDiff ??= diff;
  }

  let signer: string;
  try {
    signer = verifyBlobSignatures(annotations, vo);
  } catch (e) {
    throw wrap('failed to verify signature', e);
  }
  const signerAllowed = vo.signers.length === 0 || vo.signers.some((s) => matchPattern(s, signer));
  return { verified: matched && signerAllowed, signer, diff: matched ? null : firstDiff };
}

/**
 * directMatch then the filters of matchResourceWithManifest: image canonicalisation
 * (nginx → docker.io/nginx, ubuntu → ubuntu:latest), ignored fields, and a namespace the
 * manifest did not set.
 */
function directMatchDiff(manifest: Record<string, unknown>, resource: JsonObject, ignoreFields: string[]): Difference[] {
  const diff = diffObjects(manifest, resource).filter((d) => {
    if (!d.key.endsWith('image') || typeof d.before !== 'string' || typeof d.after !== 'string') return true;
    return !(`docker.io/${d.before}` === d.after || `${d.before}:latest` === d.after);
  });
  return filterDiff(diff, ignoreFields).filter((d) => !(d.key === 'metadata.namespace' && d.before === null));
}

interface EntryOutcome {
  verified: boolean;
  reason: string;
  error?: string;
}

/** buildVerifyResourceOptionsAndPath: updates the shared options, returns the entry's sub-path. */
function applyAttestor(attestor: JsonObject, vo: VerifyOptions): string {
  let subPath = '';
  if (isJsonObject(attestor.keys)) {
    subPath = '.keys';
    const key = str(attestor.keys.publicKeys);
    // An empty key (a Secret or KMS attestor) clears the path: sigstore then goes keyless.
    const pem = key.startsWith('-----BEGIN PUBLIC KEY-----') || key.startsWith('-----BEGIN PGP PUBLIC KEY BLOCK-----');
    vo.keyPath = key === '' ? undefined : pem ? { pem: key } : { ref: key };
  } else if (isJsonObject(attestor.certificates)) {
    subPath = '.certificates';
    if (str(attestor.certificates.certificate) !== '') vo.certificate = str(attestor.certificates.certificate);
  } else if (isJsonObject(attestor.keyless)) {
    subPath = '.keyless';
    vo.keyless = true;
    vo.signers = [str(attestor.keyless.subject)];
  }
  if (str(attestor.repository) !== '') vo.resourceBundleRef = str(attestor.repository);
  return subPath;
}

/** k8sVerifyResource: one attestor entry. */
function verifyEntry(resource: JsonObject, attestor: JsonObject, vo: VerifyOptions, path: string): EntryOutcome {
  if (isJsonObject(attestor.annotations)) {
    const actual = annotationsOf(resource);
    for (const key of Object.keys(attestor.annotations).sort()) {
      const expected = str(attestor.annotations[key]);
      if (expected !== (actual[key] ?? '')) {
        return { verified: false, reason: '', error: `annotations mismatch: ${actual[key] ?? ''} does not match expected value ${expected} for key ${key}` };
      }
    }
  }
  const at = path + applyAttestor(attestor, vo);
  let result: ResourceVerification;
  try {
    result = verifyResource(resource, vo);
  } catch (e) {
    if (!(e instanceof ManifestError)) throw e;
    if (e.kind === 'other') return { verified: false, reason: '', error: `${at}: ${e.message}` };
    return { verified: false, reason: `${at}: ${e.message}` };
  }
  if (result.verified) return { verified: true, reason: `singed by a valid signer: ${result.signer}` };
  if (result.diff && result.diff.length > 0) return { verified: false, reason: `${at}: failed to verify signature. diff found; ${diffString(result.diff)}` };
  if (result.signer !== '') return { verified: false, reason: `${at}: no signer matches with this resource. signed by ${result.signer}` };
  return { verified: false, reason: `${at}: failed to verify signature.` };
}

/**
 * ExpandStaticKeys: one entry per public key in `keys.publicKeys`. Every key after the first
 * keeps the line break before it, so Kyverno does not take it as PEM text (see applyAttestor).
 */
function expandStaticKeys(entries: JsonObject[]): JsonObject[] {
  const out: JsonObject[] = [];
  for (const e of entries) {
    const keys = isJsonObject(e.keys) ? splitPublicKeyPem(str(e.keys.publicKeys)) : [];
    if (keys.length > 1) for (const k of keys) out.push({ ...e, keys: { ...(e.keys as JsonObject), publicKeys: k } });
    else out.push(e);
  }
  return out;
}

interface SetOutcome {
  verified: boolean;
  reason: string;
  error?: string;
}

/** verifyManifestAttestorSet: entries until `count` (default: all) verify. */
function verifyAttestorSet(resource: JsonObject, set: JsonObject, vo: VerifyOptions, path: string): SetOutcome {
  const entries = expandStaticKeys(asArray(set.entries).filter(isJsonObject));
  const count = typeof set.count === 'number' && set.count !== 0 ? set.count : entries.length;
  let verifiedCount = 0;
  const errors: string[] = [];
  const verifiedMessages: string[] = [];
  const failedMessages: string[] = [];
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    let at = `${path}.entries[${i}]`;
    let outcome: EntryOutcome;
    if (entry.attestor !== undefined && entry.attestor !== null) {
      if (!isJsonObject(entry.attestor)) {
        outcome = { verified: false, reason: '', error: `failed to unmarshal nested attestor ${at}: failed to unmarshal attestor set ${goJsonMarshal(entry.attestor)}: json: cannot unmarshal ${Array.isArray(entry.attestor) ? 'array' : typeof entry.attestor === 'string' ? 'string' : typeof entry.attestor === 'boolean' ? 'bool' : 'number'} into Go value of type v1.AttestorSet` };
      } else {
        at += '.attestor';
        const nested = verifyAttestorSet(resource, entry.attestor, vo, at);
        outcome = nested.error !== undefined ? { ...nested, error: `failed to verify signature; ${at}: ${nested.error}` } : nested;
      }
    } else {
      outcome = verifyEntry(resource, entry, vo, at);
    }
    if (outcome.error !== undefined) errors.push(outcome.error);
    else if (outcome.verified) {
      verifiedCount++;
      verifiedMessages.push(outcome.reason);
    } else failedMessages.push(outcome.reason);
    if (verifiedCount >= count) {
      return {
        verified: true,
        reason: `manifest verification succeeded; verifiedCount ${verifiedCount}; requiredCount ${count}; message ${verifiedMessages.join(',')}`,
      };
    }
  }
  // multierr.Combine joins the errors with "; ".
  if (errors.length > 0) return { verified: false, reason: '', error: errors.join('; ') };
  return {
    verified: false,
    reason: `manifest verification failed; verifiedCount ${verifiedCount}; requiredCount ${count}; message ${failedMessages.join(',')}`,
  };
}

/** Whether Kyverno picks the manifest handler for this rule (HasVerifyManifests). */
export function hasVerifyManifests(validate: JsonObject): boolean {
  return isJsonObject(validate.manifests) && asArray(validate.manifests.attestors).length > 0;
}

/**
 * The rule's result for the (patched) resource; null on DELETE, where Kyverno's handler gives
 * no response.
 */
export function verifyManifestsRule(ruleName: string, manifests: JsonObject, request: AdmissionRequest, resource: JsonObject | null): RuleResult | null {
  if (request.operation === 'DELETE') return null;
  if (request.dryRun === true) return ruleResult(ruleName, 'pass', 'allowed because of DryRun request');
  if (!resource) return ruleError(ruleName, 'error occurred during manifest verification', 'failed to Unmarshal a requested object: unexpected end of JSON input');
  const domain = str(manifests.annotationDomain) !== '' ? str(manifests.annotationDomain) : DEFAULT_DOMAIN;
  const vo: VerifyOptions = {
    ignoreFields: [...SIGSTORE_DEFAULT_IGNORE_FIELDS, ...KYVERNO_DEFAULT_IGNORE_FIELDS, ...readFieldBindings(manifests.ignoreFields)],
    annotationIgnoreFieldsAdded: false,
    domain,
    signers: [],
    resourceBundleRef: str(manifests.repository) !== '' ? str(manifests.repository) : undefined,
  };
  const messages: string[] = [];
  const sets = asArray(manifests.attestors);
  for (let i = 0; i < sets.length; i++) {
    const set = isJsonObject(sets[i]) ? (sets[i] as JsonObject) : {};
    const outcome = verifyAttestorSet(resource, set, vo, `.attestors[${i}]`);
    if (outcome.error !== undefined) return ruleError(ruleName, 'error occurred during manifest verification', outcome.error);
    if (!outcome.verified) return ruleResult(ruleName, 'fail', outcome.reason);
    messages.push(outcome.reason);
  }
  return ruleResult(ruleName, 'pass', `verified manifest signatures; ${messages.join(',')}`);
}
