/**
 * Policy families of a test, decided from what its policies contain (never from where the
 * files live), so conformance can be reported per engine feature. A test belongs to every
 * family its policies touch; "classic validate-only" is exclusive (nothing else in it).
 */
import type { JsonObject } from '../core/types';
import { classifyDocument, isObject } from '../loader/classify';
import { describedTest, type FileSource } from './inputs';

export type PolicyFamily =
  | 'classic-validate-only'
  | 'classic-mutate'
  | 'classic-generate'
  | 'classic-pod-security'
  | 'classic-verify-images'
  | 'classic-validate-cel'
  | 'policy-exceptions'
  | 'validating-policy'
  | 'mutating-policy'
  | 'generating-policy'
  | 'deleting-policy'
  | 'image-validating-policy'
  | 'admission-policy'
  | 'any-cel';

/** Display order and labels of the families. */
export const FAMILY_LABELS: ReadonlyArray<readonly [PolicyFamily, string]> = [
  ['classic-validate-only', 'classic validate-only (pattern/anyPattern/deny/foreach)'],
  ['classic-mutate', 'classic with mutate'],
  ['classic-generate', 'classic with generate'],
  ['classic-pod-security', 'classic with podSecurity'],
  ['classic-verify-images', 'classic with verifyImages'],
  ['classic-validate-cel', 'classic with validate.cel'],
  ['policy-exceptions', 'tests with PolicyExceptions'],
  ['validating-policy', 'ValidatingPolicy'],
  ['mutating-policy', 'MutatingPolicy'],
  ['generating-policy', 'GeneratingPolicy'],
  ['deleting-policy', 'DeletingPolicy'],
  ['image-validating-policy', 'ImageValidatingPolicy'],
  ['admission-policy', 'ValidatingAdmissionPolicy/MAP'],
  ['any-cel', 'any CEL'],
];

/** CEL policy kinds of policies.kyverno.io (Namespaced* variants count with their kind). */
const CEL_KIND_FAMILIES: ReadonlyMap<string, PolicyFamily> = new Map([
  ['ValidatingPolicy', 'validating-policy'],
  ['MutatingPolicy', 'mutating-policy'],
  ['GeneratingPolicy', 'generating-policy'],
  ['DeletingPolicy', 'deleting-policy'],
  ['ImageValidatingPolicy', 'image-validating-policy'],
]);

const ADMISSION_KINDS = new Set(['ValidatingAdmissionPolicy', 'MutatingAdmissionPolicy']);

function classicRules(policy: JsonObject): JsonObject[] {
  const spec = isObject(policy.spec) ? policy.spec : {};
  return Array.isArray(spec.rules) ? (spec.rules.filter(isObject) as JsonObject[]) : [];
}

function isClassic(policy: JsonObject): boolean {
  return String(policy.apiVersion ?? '').startsWith('kyverno.io/') && (policy.kind === 'ClusterPolicy' || policy.kind === 'Policy');
}

function classicFamilies(policy: JsonObject, out: Set<PolicyFamily>): void {
  for (const rule of classicRules(policy)) {
    if (rule.mutate !== undefined) out.add('classic-mutate');
    if (rule.generate !== undefined) out.add('classic-generate');
    if (rule.verifyImages !== undefined) out.add('classic-verify-images');
    if (isObject(rule.validate)) {
      if (rule.validate.podSecurity !== undefined) out.add('classic-pod-security');
      if (rule.validate.cel !== undefined) out.add('classic-validate-cel');
    }
  }
}

/** The families of a test from its loaded policies and whether it declares any exception. */
export function policyFamilies(policies: JsonObject[], hasExceptions: boolean): PolicyFamily[] {
  const out = new Set<PolicyFamily>();
  let allClassic = policies.length > 0;
  for (const policy of policies) {
    const kind = String(policy.kind ?? '').replace(/^Namespaced/, '');
    if (isClassic(policy)) {
      classicFamilies(policy, out);
      continue;
    }
    allClassic = false;
    const celFamily = CEL_KIND_FAMILIES.get(kind);
    if (celFamily && String(policy.apiVersion ?? '').startsWith('policies.kyverno.io/')) out.add(celFamily);
    else if (ADMISSION_KINDS.has(kind)) out.add('admission-policy');
  }
  if (hasExceptions) out.add('policy-exceptions');
  const celFamilies: PolicyFamily[] = [
    'classic-validate-cel',
    'validating-policy',
    'mutating-policy',
    'generating-policy',
    'deleting-policy',
    'image-validating-policy',
    'admission-policy',
  ];
  if (celFamilies.some((f) => out.has(f))) out.add('any-cel');
  const nonValidate: PolicyFamily[] = ['classic-mutate', 'classic-generate', 'classic-pod-security', 'classic-verify-images', 'any-cel'];
  if (allClassic && !nonValidate.some((f) => out.has(f))) out.add('classic-validate-only');
  return FAMILY_LABELS.map(([f]) => f).filter((f) => out.has(f));
}

/**
 * The families of a Test document found at `path`, from the already-read files it names.
 * Unreadable or unparsable policy files are skipped: a test that cannot run still has a
 * family when its policies can be read.
 */
export function testFamilies(path: string, doc: unknown, files: FileSource): PolicyFamily[] {
  const described = describedTest(path, doc, files);
  if (!described) return [];
  const { spec, documentsAt } = described;
  const policies: JsonObject[] = [];
  let hasExceptions = false;
  for (const d of spec.policies.flatMap(documentsAt)) {
    const cls = classifyDocument(d);
    if (cls === 'policy') policies.push(d as JsonObject);
    else if (cls === 'exception') hasExceptions = true;
  }
  if (spec.exceptions.flatMap(documentsAt).some((d) => classifyDocument(d) === 'exception')) hasExceptions = true;
  return policyFamilies(policies, hasExceptions);
}
