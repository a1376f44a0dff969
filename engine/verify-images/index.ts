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
import { asArray, asObject } from '../core/json';
import { extractImages, type ImageInfo } from '../context/images';
import { wildcardMatch } from '../wildcard/wildcard';

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
  };
}

export function ruleImageVerifications(rule: JsonObject): ImageVerification[] {
  return asArray(rule.verifyImages).map(imageVerification);
}

/** Kyverno's ImageInfo.String(): the digest form when there is a digest. */
export function imageString(info: ImageInfo): string {
  return info.reference ?? `${info.registry ? `${info.registry}/` : ''}${info.path}${info.digest ? `@${info.digest}` : `:${info.tag ?? 'latest'}`}`;
}

function matchesAny(image: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => wildcardMatch(p, image));
}

/** Every image of the resource, in Kyverno's listing order (init, regular, ephemeral containers). */
function allImages(resource: JsonObject | null): ImageInfo[] {
  const out: ImageInfo[] = [];
  for (const group of Object.values(extractImages(resource))) out.push(...Object.values(group));
  return out;
}

/** The images some entry of the rule references (Kyverno's ExtractMatchingImages); none means the rule gives no result. */
export function matchingImages(rule: JsonObject, resource: JsonObject | null): ImageInfo[] {
  const entries = ruleImageVerifications(rule);
  return allImages(resource).filter((info) => entries.some((e) => matchesAny(imageString(info), e.imageReferences)));
}

/** Whether the rule runs in the validate pass too (Kyverno's HasVerifyImageChecks). */
export function hasVerifyImageChecks(rule: JsonObject): boolean {
  return ruleImageVerifications(rule).some((e) => e.verifyDigest || e.required);
}

export const NEEDS_REGISTRY = 'image verification needs registry access, which is not available offline';

/**
 * The image-verify pass for one rule whose match, context, preconditions and exceptions are
 * settled. Entries without attestors or attestations verify nothing (no result); adding a
 * digest to an image that has none needs the registry, as does checking any signature.
 */
export function verifyImagesPass(name: string, rule: JsonObject, images: readonly ImageInfo[]): RuleResult[] {
  const results: RuleResult[] = [];
  for (const entry of ruleImageVerifications(rule)) {
    const verifies = entry.attestors.length > 0 || entry.attestations.length > 0;
    for (const info of images) {
      const image = imageString(info);
      if (verifies) {
        if (!matchesAny(image, entry.imageReferences)) {
          results.push({ name, type: 'ImageVerify', status: 'skip', message: `skipping image reference image ${image}, policy ruleName ${name}` });
          continue;
        }
        if (matchesAny(image, entry.skipImageReferences)) {
          results.push({ name, type: 'ImageVerify', status: 'skip', message: `skipping image reference image ${image}, policy ruleName ${name}` });
          continue;
        }
        results.push({ name, type: 'ImageVerify', status: 'error', message: `${NEEDS_REGISTRY} (${image})` });
        continue;
      }
      if (entry.mutateDigest && !info.digest) {
        results.push({ name, type: 'ImageVerify', status: 'error', message: `failed to update digest: resolving ${image} to a digest needs registry access, which is not available offline` });
      }
    }
  }
  return results;
}

type VerificationStatus = 'pass' | 'fail' | 'skip';

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
  const images = allImages(resource);
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
