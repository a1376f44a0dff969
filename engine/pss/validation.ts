/**
 * Policy-time checks of a `validate.podSecurity` block, as Kyverno's webhook validation
 * (PodSecurityStandard.Validate) reports them, for editors and `kyverno test` loading.
 */
import { CONTROL_CHECK_IDS, readExclusions } from './exclusions';
import { parseLevelVersion } from './registry';

/** Controls on container fields: an exclusion must name the images. */
const CONTAINER_LEVEL = new Set([
  'Capabilities', 'Privileged Containers', 'Host Ports', '/proc Mount Type', 'Privilege Escalation', 'Host Probes / Lifecycle Hooks',
]);
/** Controls on pod fields only: an exclusion must not name images. */
const POD_LEVEL = new Set(['Host Namespaces', 'HostPath Volumes', 'Sysctls', 'AppArmor', 'Volume Types']);
/** Restricted-only controls a baseline rule may not exclude (Seccomp and Capabilities exist at both levels). */
const RESTRICTED_ONLY = new Set(['Volume Types', 'Privilege Escalation', 'Running as Non-root', 'Running as Non-root user']);

export interface PodSecurityProblem {
  /** Path from the podSecurity block, e.g. ['exclude', 0, 'controlName']. */
  path: Array<string | number>;
  message: string;
}

function goQuoted(v: string): string {
  return JSON.stringify(v);
}

/**
 * Problems Kyverno rejects a podSecurity block for. `prefix` is the field path text of
 * the block (e.g. `spec.rules[0].validate.podSecurity`) used in the messages.
 */
export function validatePodSecurity(podSecurity: unknown, prefix = 'podSecurity'): PodSecurityProblem[] {
  const problems: PodSecurityProblem[] = [];
  if (!podSecurity || typeof podSecurity !== 'object' || Array.isArray(podSecurity)) {
    return [{ path: [], message: `${prefix}: Invalid value: podSecurity must be an object` }];
  }
  const ps = podSecurity as Record<string, unknown>;
  const level = typeof ps.level === 'string' ? ps.level : '';
  if (!['privileged', 'baseline', 'restricted'].includes(level)) {
    problems.push({ path: ['level'], message: `${prefix}.level: Unsupported value: ${goQuoted(level)}: supported values: "privileged", "baseline", "restricted"` });
  }
  if (ps.version !== undefined) {
    const version = typeof ps.version === 'string' ? ps.version : '';
    try {
      parseLevelVersion(level, version);
    } catch (e) {
      problems.push({ path: ['version'], message: `${prefix}.version: Invalid value: ${goQuoted(version)}: ${(e as Error).message}` });
    }
  }
  if (ps.exclude !== undefined && !Array.isArray(ps.exclude)) {
    problems.push({ path: ['exclude'], message: `${prefix}.exclude: Invalid value: exclude must be a list` });
  }
  readExclusions(ps.exclude).forEach((ex, i) => {
    const at = `${prefix}.exclude[${i}]`;
    if (!(ex.controlName in CONTROL_CHECK_IDS)) {
      problems.push({ path: ['exclude', i, 'controlName'], message: `${at}.controlName: Unsupported value: ${goQuoted(ex.controlName)}` });
    } else if (CONTAINER_LEVEL.has(ex.controlName) && ex.images.length === 0) {
      problems.push({
        path: ['exclude', i, 'controlName'],
        message: `${at}.controlName: Invalid value: ${goQuoted(ex.controlName)}: exclude.images must be specified for the container level control`,
      });
    } else if (POD_LEVEL.has(ex.controlName) && ex.images.length > 0) {
      problems.push({
        path: ['exclude', i, 'controlName'],
        message: `${at}.controlName: Invalid value: ${goQuoted(ex.controlName)}: exclude.images must not be specified for the pod level control`,
      });
    }
    if (level === 'baseline' && RESTRICTED_ONLY.has(ex.controlName)) {
      problems.push({
        path: ['exclude', i, 'controlName'],
        message: `${at}.controlName: Invalid value: ${goQuoted(ex.controlName)}: Invalid control name defined at the given level`,
      });
    }
    if (ex.restrictedField !== '' && ex.values.length === 0) {
      problems.push({ path: ['exclude', i, 'values'], message: `${at}.values: Forbidden: values is required` });
    }
    if (ex.restrictedField === '' && ex.values.length > 0) {
      problems.push({ path: ['exclude', i, 'restrictedField'], message: `${at}.restrictedField: Forbidden: restrictedField is required` });
    }
  });
  return problems;
}
