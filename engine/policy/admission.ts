/**
 * Which admission checks Kyverno runs on a document, by kind: the policy webhook's for
 * ClusterPolicy/Policy, PolicyException (both groups), the CEL policies (matchConstraints), and
 * the cleanup controller's for cleanup policies, and the GlobalContextEntry webhook's. One verdict with the path of each error,
 * read by the webhook (one aggregated message), the CLI (`file:line:column` of the value,
 * the policy skipped) and the language service (a diagnostic at the value). Pure.
 */
import type { JsonObject } from '../core/types';
import { isNamespacedKind } from '../kube/known-kinds';
import { parseKindSelector } from '../kube/selectors';
import { celPolicySpecErrors, celPolicyVerdict, cleanupPolicyAdmissionVerdict, deletingPolicyAdmissionVerdict, isCleanupPolicy, isDeletingPolicy } from '../cleanup/policy';
import { mutatingPolicyAdmissionVerdict } from '../cel/mutating-policy';
import { isGlobalContextEntry } from '../context';
import { exceptionAdmissionVerdict, globalContextEntryAdmissionVerdict, policyAdmissionVerdict, type AdmissionVerdict, type PolicyCheckOptions } from './admission-checks';
import { isCelMutatingPolicyKind } from '../loader/classify';
import { generatingPolicyCompileIssues, validatingPolicyCompileIssues } from '../cel/policy-compile';

/** A MutatingPolicy or NamespacedMutatingPolicy of policies.kyverno.io. */
export function isCelMutatingPolicy(document: JsonObject): boolean {
  return String(document.apiVersion ?? '').startsWith('policies.kyverno.io/') && isCelMutatingPolicyKind(String(document.kind ?? ''));
}

/**
 * A ValidatingPolicy, ImageValidatingPolicy or GeneratingPolicy (namespaced ones too) of
 * policies.kyverno.io: Kyverno's policy webhook validates them (pkg/cel/policies/vpol, gpol and
 * pkg/image/verification/evaluator Validate).
 */
function isMatchConstrainedCelPolicy(document: JsonObject): boolean {
  return String(document.apiVersion ?? '').startsWith('policies.kyverno.io/') && /^(Namespaced)?(Validating|ImageValidating|Generating)Policy$/.test(String(document.kind ?? ''));
}

/** A cleanup policy's kind (`Kind`, `group/version/Kind`) known to be cluster-scoped (the known-kinds table). */
function knownClusterScoped(selector: string): boolean {
  const s = parseKindSelector(selector);
  if (s.kind.includes('*')) return false;
  return !isNamespacedKind(s.group === '*' ? '' : s.group, s.kind);
}

/**
 * Kyverno's admission verdict on a document, or undefined for a kind no Kyverno webhook
 * checks. `withoutCluster` gives the CLI's view (no discovery: nothing is cluster-scoped).
 */
export function admissionVerdict(document: JsonObject, options: PolicyCheckOptions = {}): AdmissionVerdict | undefined {
  const kind = document.kind;
  if (kind === 'ClusterPolicy' || kind === 'Policy') return policyAdmissionVerdict(document, options);
  if (kind === 'PolicyException') return exceptionAdmissionVerdict(document);
  if (isCleanupPolicy(document)) return cleanupPolicyAdmissionVerdict(document, { isClusterScoped: options.withoutCluster ? () => false : knownClusterScoped });
  if (isDeletingPolicy(document)) return deletingPolicyAdmissionVerdict(document);
  if (isCelMutatingPolicy(document)) return mutatingPolicyAdmissionVerdict(document);
  if (isGlobalContextEntry(document)) return globalContextEntryAdmissionVerdict(document);
  // What their Validate finds: a GeneratingPolicy's or ValidatingPolicy's compile errors first
  // (not those of ImageValidatingPolicies), then a matchConstraints with a resource rule (the http.* check
  // of namespaced ones is the webhook's, namespacedHttpRefusal).
  if (isMatchConstrainedCelPolicy(document)) {
    const { spec, errors } = celPolicySpecErrors(document);
    const kind = String(document.kind);
    // Not compiled: NamespacedGeneratingPolicies (Kyverno's generator library gives them a
    // one-argument generator.apply our checker does not declare).
    const compile = !spec || options.compileCel === false ? [] : kind === 'GeneratingPolicy' ? generatingPolicyCompileIssues(document) : /^(Namespaced)?ValidatingPolicy$/.test(kind) ? validatingPolicyCompileIssues(document) : [];
    return celPolicyVerdict([...compile, ...errors]);
  }
  return undefined;
}
