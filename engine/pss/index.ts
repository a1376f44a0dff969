/**
 * `validate.podSecurity`: Pod Security Standards checks (k8s.io/pod-security-admission,
 * with the field errors of Kyverno's fork) applied the way Kyverno's podSecurity handler
 * applies them. evaluatePodSecurity is the evaluation; podSecurityRuleResult wraps it as
 * the validate rule handler.
 */
export {
  type PodSecurityCheckReport,
  type PodSecurityEvaluation,
  type PodSecurityFieldReport,
  type PodSecurityOptions,
  evaluatePodSecurity,
} from './evaluate';
export { type PodSecurityRuleOptions, podSecurityRuleResult } from './rule';
export { CONTROL_CHECK_IDS, controlNameOf } from './exclusions';
export { formatChecks } from './messages';
export { CHECKS, LATEST_KNOWN_MINOR, parseLevelVersion } from './registry';
export { type PodSecurityProblem, podSecurityRuleProblems, podSecurityStandardProblems } from './validation';
