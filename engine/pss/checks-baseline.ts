/**
 * The baseline Pod Security checks of k8s.io/pod-security-admission/policy (with the
 * field errors Kyverno's fork adds), one function per check version.
 */
import {
  ALLOWED,
  type CheckResult,
  type FieldError,
  Violations,
  containersLabel,
  forbidden,
  goQuote,
  inUserNamespace,
  joinQuote,
  keyStep,
  pluralize,
  sortedSet,
  visitContainers,
} from './field';
import type { Pod, Probe, SELinuxOptions } from './pod';

export function windowsHostProcessV1Dot0(pod: Pod): CheckResult {
  const setters = new Violations();
  if (pod.securityContext?.hostProcess === true) {
    setters.add('pod', forbidden(['spec', 'securityContext', 'windowsOptions', 'hostProcess'], true));
  }
  const bad: string[] = [];
  const errs: FieldError[] = [];
  visitContainers(pod, (c, path) => {
    if (c.securityContext?.hostProcess === true) {
      bad.push(c.name);
      errs.push(forbidden([...path, 'securityContext', 'windowsOptions', 'hostProcess'], true));
    }
  });
  if (bad.length > 0) setters.add(containersLabel(bad), ...errs);
  if (setters.empty) return ALLOWED;
  return {
    allowed: false,
    forbiddenReason: 'hostProcess',
    forbiddenDetail: `${setters.data.join(' and ')} must not set securityContext.windowsOptions.hostProcess=true`,
    errList: setters.errs,
  };
}

export function hostNamespacesV1Dot0(pod: Pod): CheckResult {
  const v = new Violations();
  if (pod.hostNetwork) v.add('hostNetwork=true', forbidden(['spec', 'hostNetwork'], true));
  if (pod.hostPID) v.add('hostPID=true', forbidden(['spec', 'hostPID'], true));
  if (pod.hostIPC) v.add('hostIPC=true', forbidden(['spec', 'hostIPC'], true));
  if (v.empty) return ALLOWED;
  return { allowed: false, forbiddenReason: 'host namespaces', forbiddenDetail: v.data.join(', '), errList: v.errs };
}

export function privilegedV1Dot0(pod: Pod): CheckResult {
  const v = new Violations();
  visitContainers(pod, (c, path) => {
    if (c.securityContext?.privileged === true) v.add(c.name, forbidden([...path, 'securityContext', 'privileged'], true));
  });
  if (v.empty) return ALLOWED;
  return {
    allowed: false,
    forbiddenReason: 'privileged',
    forbiddenDetail: `${containersLabel(v.data)} must not set securityContext.privileged=true`,
    errList: v.errs,
  };
}

const BASELINE_CAPABILITIES = new Set([
  'AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP',
  'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT',
]);

export function capabilitiesBaselineV1Dot0(pod: Pod): CheckResult {
  const v = new Violations();
  const nonDefault: string[] = [];
  visitContainers(pod, (c, path) => {
    const added = c.securityContext?.capabilities?.add ?? [];
    const bad = added.filter((cap) => !BASELINE_CAPABILITIES.has(cap));
    if (bad.length === 0) return;
    nonDefault.push(...bad);
    v.add(c.name, forbidden([...path, 'securityContext', 'capabilities', 'add'], sortedSet(bad)));
  });
  if (v.empty) return ALLOWED;
  return {
    allowed: false,
    forbiddenReason: 'non-default capabilities',
    forbiddenDetail: `${containersLabel(v.data)} must not include ${joinQuote(sortedSet(nonDefault))} in securityContext.capabilities.add`,
    errList: v.errs,
  };
}

export function hostPathVolumesV1Dot0(pod: Pod): CheckResult {
  const v = new Violations();
  pod.volumes.forEach((vol, i) => {
    if (vol.sources.includes('hostPath')) v.add(vol.name, forbidden(['spec', 'volumes', i, 'hostPath'], vol.hostPath ?? ''));
  });
  if (v.empty) return ALLOWED;
  return {
    allowed: false,
    forbiddenReason: 'hostPath volumes',
    forbiddenDetail: `${pluralize('volume', 'volumes', v.length)} ${joinQuote(v.data)}`,
    errList: v.errs,
  };
}

export function hostPortsV1Dot0(pod: Pod): CheckResult {
  const v = new Violations();
  const ports: string[] = [];
  visitContainers(pod, (c, path) => {
    const errs: FieldError[] = [];
    c.hostPorts.forEach((port, i) => {
      if (port === 0) return;
      ports.push(String(port));
      errs.push(forbidden([...path, 'ports', i, 'hostPort'], port));
    });
    if (errs.length > 0) v.add(c.name, ...errs);
  });
  if (v.empty) return ALLOWED;
  const list = sortedSet(ports);
  return {
    allowed: false,
    forbiddenReason: 'hostPort',
    forbiddenDetail: `${containersLabel(v.data)} ${pluralize('uses', 'use', v.length)} ${pluralize('hostPort', 'hostPorts', list.length)} ${list.join(', ')}`,
    errList: v.errs,
  };
}

function allowedAppArmorAnnotation(value: string): boolean {
  return value === '' || value === 'runtime/default' || value.startsWith('localhost/');
}

function allowedAppArmorType(type: string | undefined): boolean {
  return type === 'RuntimeDefault' || type === 'Localhost';
}

const APPARMOR_ANNOTATION_PREFIX = 'container.apparmor.security.beta.kubernetes.io/';

export function appArmorProfileV1Dot0(pod: Pod): CheckResult {
  const setters = new Violations();
  const badValues: string[] = [];
  const psc = pod.securityContext;
  if (psc?.appArmorSet && !allowedAppArmorType(psc.appArmorType)) {
    setters.add('pod', forbidden(['spec', 'securityContext', 'appArmorProfile', 'type'], psc.appArmorType ?? ''));
    badValues.push(psc.appArmorType ?? '');
  }
  const bad: string[] = [];
  const errs: FieldError[] = [];
  visitContainers(pod, (c, path) => {
    const sc = c.securityContext;
    if (sc?.appArmorSet && !allowedAppArmorType(sc.appArmorType)) {
      bad.push(c.name);
      errs.push(forbidden([...path, 'securityContext', 'appArmorProfile', 'type'], sc.appArmorType ?? ''));
      badValues.push(sc.appArmorType ?? '');
    }
  });
  if (bad.length > 0) setters.add(containersLabel(bad), ...errs);
  const annotations: string[] = [];
  const annotationErrs: FieldError[] = [];
  for (const key of Object.keys(pod.annotations).sort()) {
    const value = pod.annotations[key];
    if (key.startsWith(APPARMOR_ANNOTATION_PREFIX) && !allowedAppArmorAnnotation(value)) {
      annotations.push(`${key}=${goQuote(value)}`);
      annotationErrs.push(forbidden(['metadata', 'annotations', keyStep(key)], value));
    }
  }
  const valueList = sortedSet(badValues);
  if (annotations.length > 0) {
    valueList.push(...annotations.sort());
    setters.add(pluralize('annotation', 'annotations', annotations.length), ...annotationErrs);
  }
  if (setters.empty) return ALLOWED;
  return {
    allowed: false,
    forbiddenReason: pluralize('forbidden AppArmor profile', 'forbidden AppArmor profiles', valueList.length),
    forbiddenDetail: `${setters.data.join(' and ')} must not set AppArmor profile type to ${joinQuote(valueList)}`,
    errList: setters.errs,
  };
}

const SELINUX_TYPES_1_0 = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t']);
const SELINUX_TYPES_1_31 = new Set([...SELINUX_TYPES_1_0, 'container_engine_t']);

function seLinuxOptions(pod: Pod, allowedTypes: Set<string>): CheckResult {
  const setters = new Violations();
  const badTypes: string[] = [];
  let setUser = false;
  let setRole = false;
  const check = (opts: SELinuxOptions, base: Array<string | number>, errs: FieldError[]): boolean => {
    let valid = true;
    if (!allowedTypes.has(opts.type)) {
      valid = false;
      badTypes.push(opts.type);
      errs.push(forbidden([...base, 'type'], opts.type));
    }
    if (opts.user.length > 0) {
      valid = false;
      setUser = true;
      errs.push(forbidden([...base, 'user'], opts.user));
    }
    if (opts.role.length > 0) {
      valid = false;
      setRole = true;
      errs.push(forbidden([...base, 'role'], opts.role));
    }
    return valid;
  };
  const podOpts = pod.securityContext?.seLinuxOptions;
  if (podOpts) {
    const podErrs: FieldError[] = [];
    if (!check(podOpts, ['spec', 'securityContext', 'seLinuxOptions'], podErrs)) setters.add('pod', ...podErrs);
  }
  const bad: string[] = [];
  const containerErrs: FieldError[] = [];
  visitContainers(pod, (c, path) => {
    const opts = c.securityContext?.seLinuxOptions;
    if (opts && !check(opts, [...path, 'securityContext', 'seLinuxOptions'], containerErrs)) bad.push(c.name);
  });
  if (bad.length > 0) setters.add(containersLabel(bad), ...containerErrs);
  if (setters.empty) return ALLOWED;
  const parts: string[] = [];
  const types = sortedSet(badTypes);
  if (types.length > 0) parts.push(`${pluralize('type', 'types', types.length)} ${joinQuote(types)}`);
  if (setUser) parts.push('user may not be set');
  if (setRole) parts.push('role may not be set');
  return {
    allowed: false,
    forbiddenReason: 'seLinuxOptions',
    forbiddenDetail: `${setters.data.join(' and ')} set forbidden securityContext.seLinuxOptions: ${parts.join('; ')}`,
    errList: setters.errs,
  };
}

export const seLinuxOptionsV1Dot0 = (pod: Pod): CheckResult => seLinuxOptions(pod, SELINUX_TYPES_1_0);
export const seLinuxOptionsV1Dot31 = (pod: Pod): CheckResult => seLinuxOptions(pod, SELINUX_TYPES_1_31);

/** procMount must be unset or Default (the strict form, also the restricted procMount check). */
export function procMountV1Dot0(pod: Pod): CheckResult {
  const v = new Violations();
  const types: string[] = [];
  visitContainers(pod, (c, path) => {
    const pm = c.securityContext?.procMount;
    if (pm === undefined || pm === 'Default') return;
    v.add(c.name, forbidden([...path, 'securityContext', 'procMount'], pm));
    types.push(pm);
  });
  if (v.empty) return ALLOWED;
  return {
    allowed: false,
    forbiddenReason: 'procMount',
    forbiddenDetail: `${containersLabel(v.data)} must not set securityContext.procMount to ${joinQuote(sortedSet(types))}`,
    errList: v.errs,
  };
}

/** From v1.35 baseline lets pods in a user namespace use any procMount. */
export function procMountV1Dot35Baseline(pod: Pod): CheckResult {
  return inUserNamespace(pod) ? ALLOWED : procMountV1Dot0(pod);
}

const SECCOMP_POD_ANNOTATION = 'seccomp.security.alpha.kubernetes.io/pod';
const SECCOMP_CONTAINER_ANNOTATION_PREFIX = 'container.seccomp.security.alpha.kubernetes.io/';

function validSeccompAnnotation(value: string): boolean {
  return value === 'runtime/default' || value === 'docker/default' || value.startsWith('localhost/');
}

/** Before v1.19 seccomp was set through annotations: only the runtime default or a localhost profile. */
export function seccompProfileBaselineV1Dot0(pod: Pod): CheckResult {
  const found = new Map<string, FieldError[]>();
  const visit = (key: string): void => {
    const value = pod.annotations[key];
    if (value === undefined || validSeccompAnnotation(value)) return;
    const text = `${key}=${goQuote(value)}`;
    found.set(text, [...(found.get(text) ?? []), forbidden(['metadata', 'annotations', keyStep(key)], value)]);
  };
  visit(SECCOMP_POD_ANNOTATION);
  visitContainers(pod, (c) => visit(SECCOMP_CONTAINER_ANNOTATION_PREFIX + c.name));
  if (found.size === 0) return ALLOWED;
  const list = [...found.keys()].sort();
  return {
    allowed: false,
    forbiddenReason: 'seccompProfile',
    forbiddenDetail: `forbidden ${pluralize('annotation', 'annotations', list.length)} ${list.join(', ')}`,
    errList: [...found.values()].flat(),
  };
}

function validSeccompType(type: string | undefined): boolean {
  return type === 'RuntimeDefault' || type === 'Localhost';
}

/** Any explicitly set type other than RuntimeDefault or Localhost is forbidden; unset is fine. */
export function seccompProfileBaselineV1Dot19(pod: Pod): CheckResult {
  const setters = new Violations();
  const badValues: string[] = [];
  const psc = pod.securityContext;
  if (psc?.seccompSet && !validSeccompType(psc.seccompType)) {
    setters.add('pod', forbidden(['spec', 'securityContext', 'seccompProfile', 'type'], psc.seccompType ?? ''));
    badValues.push(psc.seccompType ?? '');
  }
  const bad: string[] = [];
  const errs: FieldError[] = [];
  visitContainers(pod, (c, path) => {
    const sc = c.securityContext;
    if (sc?.seccompSet && !validSeccompType(sc.seccompType)) {
      bad.push(c.name);
      errs.push(forbidden([...path, 'securityContext', 'seccompProfile', 'type'], sc.seccompType ?? ''));
      badValues.push(sc.seccompType ?? '');
    }
  });
  if (bad.length > 0) setters.add(containersLabel(bad), ...errs);
  if (setters.empty) return ALLOWED;
  return {
    allowed: false,
    forbiddenReason: 'seccompProfile',
    forbiddenDetail: `${setters.data.join(' and ')} must not set securityContext.seccompProfile.type to ${joinQuote(sortedSet(badValues))}`,
    errList: setters.errs,
  };
}

const SYSCTLS_1_0 = [
  'kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range',
  'net.ipv4.ip_unprivileged_port_start',
];
const SYSCTLS_1_27 = [...SYSCTLS_1_0, 'net.ipv4.ip_local_reserved_ports'];
const SYSCTLS_1_29 = [
  ...SYSCTLS_1_27, 'net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_fin_timeout', 'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
];
const SYSCTLS_1_32 = [...SYSCTLS_1_29, 'net.ipv4.tcp_rmem', 'net.ipv4.tcp_wmem'];

function sysctls(pod: Pod, allowed: Set<string>): CheckResult {
  const v = new Violations();
  (pod.securityContext?.sysctls ?? []).forEach((name, i) => {
    if (!allowed.has(name)) v.add(name, forbidden(['spec', 'securityContext', 'sysctls', i, 'name'], name));
  });
  if (v.empty) return ALLOWED;
  return { allowed: false, forbiddenReason: 'forbidden sysctls', forbiddenDetail: v.data.join(', '), errList: v.errs };
}

export const sysctlsV1Dot0 = (pod: Pod): CheckResult => sysctls(pod, new Set(SYSCTLS_1_0));
export const sysctlsV1Dot27 = (pod: Pod): CheckResult => sysctls(pod, new Set(SYSCTLS_1_27));
export const sysctlsV1Dot29 = (pod: Pod): CheckResult => sysctls(pod, new Set(SYSCTLS_1_29));
export const sysctlsV1Dot32 = (pod: Pod): CheckResult => sysctls(pod, new Set(SYSCTLS_1_32));

const PROBE_KEYS = ['livenessProbe', 'readinessProbe', 'startupProbe'];
const LIFECYCLE_KEYS = ['postStart', 'preStop'];

export function hostProbesAndHostLifecycleV1Dot34(pod: Pod): CheckResult {
  const bad: string[] = [];
  const hosts: string[] = [];
  const errs: FieldError[] = [];
  const visitHandler = (h: Probe | undefined, base: Array<string | number>, name: string): void => {
    if (!h) return;
    if (h.httpGetHost) {
      bad.push(name);
      hosts.push(h.httpGetHost);
      errs.push(forbidden([...base, 'httpGet', 'host'], h.httpGetHost));
    }
    if (h.tcpSocketHost) {
      bad.push(name);
      hosts.push(h.tcpSocketHost);
      errs.push(forbidden([...base, 'tcpSocket', 'host'], h.tcpSocketHost));
    }
  };
  visitContainers(pod, (c, path) => {
    c.probes.forEach((p, i) => visitHandler(p, [...path, PROBE_KEYS[i]], c.name));
    c.lifecycle.forEach((h, i) => visitHandler(h, [...path, 'lifecycle', LIFECYCLE_KEYS[i]], c.name));
  });
  if (bad.length === 0) return ALLOWED;
  const names = sortedSet(bad);
  const hostList = sortedSet(hosts);
  return {
    allowed: false,
    forbiddenReason: 'probe or lifecycle host',
    forbiddenDetail: `${containersLabel(names)} ${pluralize('uses', 'use', names.length)} ${pluralize('probe or lifecycle host', 'probe or lifecycle hosts', hostList.length)} ${joinQuote(hostList)}`,
    errList: errs,
  };
}
