/**
 * The restricted Pod Security checks of k8s.io/pod-security-admission/policy (with the
 * field errors Kyverno's fork adds), one function per check version.
 */
import {
  ALLOWED,
  type CheckResult,
  type FieldError,
  Violations,
  containersLabel,
  forbidden,
  inUserNamespace,
  joinQuote,
  pluralize,
  required,
  sortedSet,
  visitContainers,
} from './field';
import type { Pod } from './pod';

function isWindows(pod: Pod): boolean {
  return pod.osName === 'windows';
}

export function allowPrivilegeEscalationV1Dot8(pod: Pod): CheckResult {
  const v = new Violations();
  visitContainers(pod, (c, path) => {
    const at = [...path, 'securityContext', 'allowPrivilegeEscalation'];
    const sc = c.securityContext;
    if (!sc) v.add(c.name, required(at));
    else if (sc.allowPrivilegeEscalation === undefined) v.add(c.name, forbidden(at, 'nil'));
    else if (sc.allowPrivilegeEscalation) v.add(c.name, forbidden(at, true));
  });
  if (v.empty) return ALLOWED;
  return {
    allowed: false,
    forbiddenReason: 'allowPrivilegeEscalation != false',
    forbiddenDetail: `${containersLabel(v.data)} must set securityContext.allowPrivilegeEscalation=false`,
    errList: v.errs,
  };
}

/** From v1.25 Windows pods are exempt. */
export function allowPrivilegeEscalationV1Dot25(pod: Pod): CheckResult {
  return isWindows(pod) ? ALLOWED : allowPrivilegeEscalationV1Dot8(pod);
}

export function capabilitiesRestrictedV1Dot22(pod: Pod): CheckResult {
  const missingDropAll = new Violations();
  const adding = new Violations();
  const forbiddenCaps: string[] = [];
  visitContainers(pod, (c, path) => {
    const caps = c.securityContext?.capabilities;
    const base = [...path, 'securityContext', 'capabilities'];
    if (!caps) {
      missingDropAll.add(c.name, required([...base, 'drop']));
      return;
    }
    if (!caps.drop.includes('ALL')) {
      // An empty drop list is a missing field; a list without ALL is a bad value.
      const err = caps.drop.length === 0 ? required([...base, 'drop']) : forbidden([...base, 'drop'], sortedSet(caps.drop));
      missingDropAll.add(c.name, err);
    }
    const bad = caps.add.filter((cap) => cap !== 'NET_BIND_SERVICE');
    if (bad.length > 0) {
      forbiddenCaps.push(...bad);
      adding.add(c.name, forbidden([...base, 'add'], sortedSet(bad)));
    }
  });
  if (missingDropAll.empty && adding.empty) return ALLOWED;
  const details: string[] = [];
  if (!missingDropAll.empty) details.push(`${containersLabel(missingDropAll.data)} must set securityContext.capabilities.drop=["ALL"]`);
  if (!adding.empty) {
    details.push(`${containersLabel(adding.data)} must not include ${joinQuote(sortedSet(forbiddenCaps))} in securityContext.capabilities.add`);
  }
  return {
    allowed: false,
    forbiddenReason: 'unrestricted capabilities',
    forbiddenDetail: details.join('; '),
    errList: [...missingDropAll.errs, ...adding.errs],
  };
}

export function capabilitiesRestrictedV1Dot25(pod: Pod): CheckResult {
  return isWindows(pod) ? ALLOWED : capabilitiesRestrictedV1Dot22(pod);
}

const ALLOWED_VOLUME_SOURCES = new Set([
  'configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'image', 'persistentVolumeClaim', 'projected', 'secret',
]);

/** The restricted switch's order of forbidden sources; anything else is "unknown". */
const RESTRICTED_VOLUME_SOURCES = [
  'hostPath', 'gcePersistentDisk', 'awsElasticBlockStore', 'gitRepo', 'nfs', 'iscsi', 'glusterfs', 'rbd',
  'flexVolume', 'cinder', 'cephfs', 'flocker', 'fc', 'azureFile', 'vsphereVolume', 'quobyte', 'azureDisk',
  'photonPersistentDisk', 'portworxVolume', 'scaleIO', 'storageos',
];

export function restrictedVolumesV1Dot0(pod: Pod): CheckResult {
  const v = new Violations();
  const types: string[] = [];
  pod.volumes.forEach((vol, i) => {
    if (vol.sources.some((s) => ALLOWED_VOLUME_SOURCES.has(s))) return;
    const type = RESTRICTED_VOLUME_SOURCES.find((s) => vol.sources.includes(s)) ?? 'unknown';
    types.push(type);
    v.add(vol.name, forbidden(['spec', 'volumes', i, type]));
  });
  if (v.empty) return ALLOWED;
  const typeList = sortedSet(types);
  return {
    allowed: false,
    forbiddenReason: 'restricted volume types',
    forbiddenDetail: `${pluralize('volume', 'volumes', v.length)} ${joinQuote(v.data)} ${pluralize('uses', 'use', v.length)} ${pluralize('restricted volume type', 'restricted volume types', typeList.length)} ${joinQuote(typeList)}`,
    errList: v.errs,
  };
}

export function runAsNonRootV1Dot0(pod: Pod): CheckResult {
  const setters = new Violations();
  let podRunAsNonRoot = false;
  const psc = pod.securityContext;
  if (psc?.runAsNonRoot !== undefined) {
    if (!psc.runAsNonRoot) setters.add('pod', forbidden(['spec', 'securityContext', 'runAsNonRoot'], false));
    else podRunAsNonRoot = true;
  }
  const explicit: string[] = [];
  const explicitErrs: FieldError[] = [];
  const implicit = new Violations();
  visitContainers(pod, (c, path) => {
    const at = [...path, 'securityContext', 'runAsNonRoot'];
    const value = c.securityContext?.runAsNonRoot;
    if (value !== undefined) {
      if (!value) {
        explicit.push(c.name);
        explicitErrs.push(forbidden(at, false));
      }
    } else if (!podRunAsNonRoot) {
      implicit.add(c.name, required(at));
    }
  });
  if (explicit.length > 0) setters.add(containersLabel(explicit), ...explicitErrs);
  if (setters.empty && implicit.empty) return ALLOWED;
  const details: string[] = [];
  const errs: FieldError[] = [];
  if (!setters.empty) {
    details.push(`${setters.data.join(' and ')} must not set securityContext.runAsNonRoot=false`);
    errs.push(...setters.errs);
  }
  if (!implicit.empty) {
    details.push(`pod or ${containersLabel(implicit.data)} must set securityContext.runAsNonRoot=true`);
    errs.push(...implicit.errs);
  }
  return { allowed: false, forbiddenReason: 'runAsNonRoot != true', forbiddenDetail: details.join('\n'), errList: errs };
}

/** From v1.35 pods in a user namespace may run as root inside it. */
export function runAsNonRootV1Dot35(pod: Pod): CheckResult {
  return inUserNamespace(pod) ? ALLOWED : runAsNonRootV1Dot0(pod);
}

export function runAsUserV1Dot23(pod: Pod): CheckResult {
  const setters = new Violations();
  if (pod.securityContext?.runAsUser === 0) setters.add('pod', forbidden(['spec', 'securityContext', 'runAsUser'], 0));
  const bad: string[] = [];
  const errs: FieldError[] = [];
  visitContainers(pod, (c, path) => {
    if (c.securityContext?.runAsUser === 0) {
      bad.push(c.name);
      errs.push(forbidden([...path, 'securityContext', 'runAsUser'], 0));
    }
  });
  if (bad.length > 0) setters.add(containersLabel(bad), ...errs);
  if (setters.empty) return ALLOWED;
  return {
    allowed: false,
    forbiddenReason: 'runAsUser=0',
    forbiddenDetail: `${setters.data.join(' and ')} must not set runAsUser=0`,
    errList: setters.errs,
  };
}

export function runAsUserV1Dot35(pod: Pod): CheckResult {
  return inUserNamespace(pod) ? ALLOWED : runAsUserV1Dot23(pod);
}

function validSeccomp(type: string | undefined): boolean {
  return type === 'RuntimeDefault' || type === 'Localhost';
}

export function seccompProfileRestrictedV1Dot19(pod: Pod): CheckResult {
  const setters = new Violations();
  const badValues: string[] = [];
  let podSet = false;
  const psc = pod.securityContext;
  if (psc?.seccompSet) {
    if (!validSeccomp(psc.seccompType)) {
      setters.add('pod', forbidden(['spec', 'securityContext', 'seccompProfile', 'type'], psc.seccompType ?? ''));
      badValues.push(psc.seccompType ?? '');
    } else {
      podSet = true;
    }
  }
  const explicit: string[] = [];
  const explicitErrs: FieldError[] = [];
  const implicit = new Violations();
  visitContainers(pod, (c, path) => {
    const at = [...path, 'securityContext', 'seccompProfile', 'type'];
    const sc = c.securityContext;
    if (sc?.seccompSet) {
      if (!validSeccomp(sc.seccompType)) {
        explicit.push(c.name);
        explicitErrs.push(forbidden(at, sc.seccompType ?? ''));
        badValues.push(sc.seccompType ?? '');
      }
    } else if (!podSet) {
      implicit.add(c.name, required(at));
    }
  });
  if (explicit.length > 0) setters.add(containersLabel(explicit), ...explicitErrs);
  if (!setters.empty) {
    return {
      allowed: false,
      forbiddenReason: 'seccompProfile',
      forbiddenDetail: `${setters.data.join(' and ')} must not set securityContext.seccompProfile.type to ${joinQuote(sortedSet(badValues))}`,
      errList: setters.errs,
    };
  }
  if (!implicit.empty) {
    return {
      allowed: false,
      forbiddenReason: 'seccompProfile',
      forbiddenDetail: `pod or ${containersLabel(implicit.data)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`,
      errList: implicit.errs,
    };
  }
  return ALLOWED;
}

export function seccompProfileRestrictedV1Dot25(pod: Pod): CheckResult {
  return isWindows(pod) ? ALLOWED : seccompProfileRestrictedV1Dot19(pod);
}
