/**
 * What Kyverno's admission refuses in podSecurity exclusions: a rule's
 * `validate.podSecurity.exclude` (Rule.ValidatePSaControlNames in api/kyverno/v1) and a
 * PolicyException's `spec.podSecurity` (PodSecurityStandard.Validate, run by
 * PolicyExceptionSpec.Validate). One check for the webhook's /policyvalidate, the CLI and the
 * editor, through the admission verdict (engine/policy/admission-checks). The level, version
 * and control-name enums are the CRD schema's, not these checks'. Pure.
 */
import { formatFieldPath } from '../core/json';
import { readExclusions } from './exclusions';

/** One refusal: Kyverno's message, and the path of the value at fault in the document. */
export interface PodSecurityProblem {
  path: ReadonlyArray<string | number>;
  message: string;
}

// pkg/pss/utils/mapping.go: controls on container fields (an exclusion must name images),
// on pod fields only (it must not), and the restricted-level controls a baseline rule cannot
// exclude (Seccomp and Capabilities exist at both levels, so Kyverno lets them through).
const CONTAINER_LEVEL = new Set(['Capabilities', 'Privileged Containers', 'Host Ports', '/proc Mount Type', 'Privilege Escalation']);
const POD_LEVEL = new Set(['Host Namespaces', 'HostPath Volumes', 'Sysctls', 'Volume Types']);
const RESTRICTED_ONLY = new Set(['Volume Types', 'Privilege Escalation', 'Running as Non-root', 'Running as Non-root user']);

/**
 * PodSecurityStandard.Validate on each entry of `raw`: `field` is Kyverno's field path of the
 * list (e.g. `spec.podSecurity`), `at` where the list is in the document.
 */
export function podSecurityStandardProblems(raw: unknown, field: string, at: ReadonlyArray<string | number>, baseline = false): PodSecurityProblem[] {
  const problems: PodSecurityProblem[] = [];
  readExclusions(raw).forEach((ex, i) => {
    const entryField = `${field}[${i}]`;
    const entryAt = [...at, i];
    const controlName = JSON.stringify(ex.controlName);
    if (CONTAINER_LEVEL.has(ex.controlName)) {
      if (ex.images.length === 0) problems.push({ path: [...entryAt, 'controlName'], message: `${entryField}.controlName: Invalid value: ${controlName}: exclude.images must be specified for the container level control` });
    } else if (POD_LEVEL.has(ex.controlName) && ex.images.length > 0) {
      problems.push({ path: [...entryAt, 'controlName'], message: `${entryField}.controlName: Invalid value: ${controlName}: exclude.images must not be specified for the pod level control` });
    }
    if (ex.restrictedField !== '' && ex.values.length === 0) problems.push({ path: [...entryAt, 'values'], message: `${entryField}.values: Forbidden: values is required` });
    if (ex.restrictedField === '' && ex.values.length > 0) problems.push({ path: [...entryAt, 'restrictedField'], message: `${entryField}.restrictedField: Forbidden: restrictedField is required` });
    if (baseline && RESTRICTED_ONLY.has(ex.controlName)) {
      problems.push({ path: [...entryAt, 'controlName'], message: `${entryField}.controlName: Invalid value: ${controlName}: Invalid control name defined at the given level` });
    }
  });
  return problems;
}

/**
 * Rule.ValidatePSaControlNames for the rule at `ruleAt` (`['spec', 'rules', i]`). Kyverno's
 * field path leaves out `validate` (`spec.rules[0].podSecurity.exclude[0]`); the document
 * path keeps it.
 */
export function podSecurityRuleProblems(ruleAt: ReadonlyArray<string | number>, podSecurity: unknown): PodSecurityProblem[] {
  if (!podSecurity || typeof podSecurity !== 'object' || Array.isArray(podSecurity)) return [];
  const ps = podSecurity as Record<string, unknown>;
  return podSecurityStandardProblems(ps.exclude, `${formatFieldPath(ruleAt)}.podSecurity.exclude`, [...ruleAt, 'validate', 'podSecurity', 'exclude'], ps.level === 'baseline');
}
