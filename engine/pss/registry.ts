/**
 * The Pod Security check registry and its version history, in the order the library's
 * DefaultChecks() lists them (its check files' name order), and the level/version a
 * podSecurity rule selects.
 */
import * as baseline from './checks-baseline';
import * as restricted from './checks-restricted';
import type { CheckResult } from './field';
import type { Pod } from './pod';

export type Level = 'baseline' | 'restricted';

export interface VersionedCheck {
  /** Minor of the v1.x release that introduced this behaviour. */
  minimumMinor: number;
  check: (pod: Pod) => CheckResult;
}

export interface Check {
  id: string;
  level: Level;
  versions: VersionedCheck[];
}

const v = (minimumMinor: number, check: (pod: Pod) => CheckResult): VersionedCheck => ({ minimumMinor, check });

export const CHECKS: readonly Check[] = [
  { id: 'allowPrivilegeEscalation', level: 'restricted', versions: [v(8, restricted.allowPrivilegeEscalationV1Dot8), v(25, restricted.allowPrivilegeEscalationV1Dot25)] },
  { id: 'appArmorProfile', level: 'baseline', versions: [v(0, baseline.appArmorProfileV1Dot0)] },
  { id: 'capabilities_baseline', level: 'baseline', versions: [v(0, baseline.capabilitiesBaselineV1Dot0)] },
  { id: 'capabilities_restricted', level: 'restricted', versions: [v(22, restricted.capabilitiesRestrictedV1Dot22), v(25, restricted.capabilitiesRestrictedV1Dot25)] },
  { id: 'hostNamespaces', level: 'baseline', versions: [v(0, baseline.hostNamespacesV1Dot0)] },
  { id: 'hostPathVolumes', level: 'baseline', versions: [v(0, baseline.hostPathVolumesV1Dot0)] },
  { id: 'hostPorts', level: 'baseline', versions: [v(0, baseline.hostPortsV1Dot0)] },
  { id: 'hostProbesAndHostLifecycle', level: 'baseline', versions: [v(34, baseline.hostProbesAndHostLifecycleV1Dot34)] },
  { id: 'privileged', level: 'baseline', versions: [v(0, baseline.privilegedV1Dot0)] },
  { id: 'procMount', level: 'baseline', versions: [v(0, baseline.procMountV1Dot0), v(35, baseline.procMountV1Dot35Baseline)] },
  { id: 'procMount_restricted', level: 'restricted', versions: [v(35, baseline.procMountV1Dot0)] },
  { id: 'restrictedVolumes', level: 'restricted', versions: [v(0, restricted.restrictedVolumesV1Dot0)] },
  { id: 'runAsNonRoot', level: 'restricted', versions: [v(0, restricted.runAsNonRootV1Dot0), v(35, restricted.runAsNonRootV1Dot35)] },
  { id: 'runAsUser', level: 'restricted', versions: [v(23, restricted.runAsUserV1Dot23), v(35, restricted.runAsUserV1Dot35)] },
  { id: 'seLinuxOptions', level: 'baseline', versions: [v(0, baseline.seLinuxOptionsV1Dot0), v(31, baseline.seLinuxOptionsV1Dot31)] },
  { id: 'seccompProfile_baseline', level: 'baseline', versions: [v(0, baseline.seccompProfileBaselineV1Dot0), v(19, baseline.seccompProfileBaselineV1Dot19)] },
  { id: 'seccompProfile_restricted', level: 'restricted', versions: [v(19, restricted.seccompProfileRestrictedV1Dot19), v(25, restricted.seccompProfileRestrictedV1Dot25)] },
  { id: 'sysctls', level: 'baseline', versions: [v(0, baseline.sysctlsV1Dot0), v(27, baseline.sysctlsV1Dot27), v(29, baseline.sysctlsV1Dot29), v(32, baseline.sysctlsV1Dot32)] },
  { id: 'windowsHostProcess', level: 'baseline', versions: [v(0, baseline.windowsHostProcessV1Dot0)] },
];

/** The newest Pod Security Standards release the checks above know (what `latest` means). */
export const LATEST_KNOWN_MINOR = 35;

export interface LevelVersion {
  level: string;
  /** Minor of v1.x; null for `latest` (newer than any release). */
  minor: number | null;
}

/**
 * Kyverno's pss.ParseVersion: empty or `latest` is the latest version, otherwise the
 * library's api.ParseVersion (`v1.<minor>`). The level is kept as written: only
 * `baseline` narrows the checks, any other value runs them all, as in Kyverno.
 */
export function parseLevelVersion(level: string, version: string): LevelVersion {
  if (version === '' || version === 'latest') return { level, minor: null };
  const m = /^v1\.(0|[1-9][0-9]*)$/.exec(version);
  if (!m || m[1].length > 9) throw new Error('must be "latest" or "v1.x"');
  return { level, minor: Number(m[1]) };
}

function older(version: LevelVersion, minor: number): boolean {
  return version.minor !== null && version.minor < minor;
}

export interface CheckFailure {
  id: string;
  result: CheckResult;
}

/**
 * Kyverno's evaluatePSS: the checks of the level, each in its newest version the requested
 * version includes; checks introduced after the requested version are skipped. Restricted
 * runs the baseline checks too (overridden baseline checks are not dropped).
 */
export function runChecks(version: LevelVersion, pod: Pod): CheckFailure[] {
  const failures: CheckFailure[] = [];
  for (const check of CHECKS) {
    if (version.level === 'baseline' && check.level !== 'baseline') continue;
    if (older(version, check.versions[0].minimumMinor)) continue;
    let selected = check.versions[0];
    for (const next of check.versions.slice(1)) {
      if (!older(version, next.minimumMinor) && selected.minimumMinor < next.minimumMinor) selected = next;
    }
    const result = selected.check(pod);
    if (!result.allowed) failures.push({ id: check.id, result });
  }
  return failures;
}
