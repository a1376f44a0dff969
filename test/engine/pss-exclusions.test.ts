// podSecurity `exclude` semantics; cases from kyverno/kyverno pkg/pss/evaluate_test.go
// (Test_EvaluatePod), kept as data: rule, pod spec (and annotations), expected allowed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JsonObject } from '../../engine/core/types';
import { evaluatePodSecurity } from '../../engine/pss';

interface Case {
  name: string;
  rule: JsonObject;
  spec: JsonObject;
  annotations?: Record<string, string>;
  allowed: boolean;
}

const b24 = (...exclude: JsonObject[]): JsonObject => ({ level: 'baseline', version: 'v1.24', exclude });
const r24 = (...exclude: JsonObject[]): JsonObject => ({ level: 'restricted', version: 'v1.24', exclude });
const ctl = (controlName: string, images?: string[], restrictedField?: string, values?: string[]): JsonObject => ({
  controlName,
  ...(images ? { images } : {}),
  ...(restrictedField ? { restrictedField, values } : {}),
});
const c = (name: string, image: string, securityContext?: JsonObject | null, extra: JsonObject = {}): JsonObject => ({
  name,
  image,
  ...(securityContext !== undefined ? { securityContext } : {}),
  ...extra,
});
const NG = ['nginx'];
const goodRestricted = (extra: JsonObject = {}): JsonObject => ({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, ...extra });
const AA = 'container.apparmor.security.beta.kubernetes.io/';
const manyAnnotations = {
  [AA]: 'bogus', [`${AA}a`]: '', [`${AA}b`]: 'runtime/default', [`${AA}c`]: 'localhost/', [`${AA}d`]: 'localhost/foo',
  [`${AA}e`]: 'unconfined', [`${AA}f`]: 'unknown',
};
const selinuxSix = [
  c('a', 'nginx', { seLinuxOptions: { type: 'container_t' } }), c('b', 'nginx', { seLinuxOptions: { type: 'container_init_t' } }),
  c('c', 'nginx', { seLinuxOptions: { type: 'container_kvm_t' } }), c('d', 'nginx', { seLinuxOptions: { type: 'bar' } }),
  c('e', 'nginx', { seLinuxOptions: { user: 'bar' } }), c('f', 'nginx', { seLinuxOptions: { role: 'baz' } }),
];
const hp = (v: boolean) => ({ windowsOptions: { hostProcess: v } });

const CASES: Case[] = [
  // HostProcess
  { name: 'baseline_hostProcess_defines_all_violate_true', rule: b24(ctl('HostProcess', NG)), spec: { securityContext: hp(false), containers: [c('nginx', 'nginx', hp(true))] }, allowed: true },
  { name: 'baseline_hostProcess_defines_container_only_violate_true', rule: b24(ctl('HostProcess', NG)), spec: { containers: [c('nginx', 'nginx', hp(true))] }, allowed: true },
  { name: 'baseline_hostProcess_defines_spec_only_violate_true', rule: b24(ctl('HostProcess')), spec: { securityContext: hp(true), containers: [c('nginx', 'nginx:1.2.3')] }, allowed: true },
  { name: 'baseline_hostProcess_defines_spec_blocked_with_no_exclusion', rule: { level: 'baseline', version: 'v1.24' }, spec: { securityContext: hp(true), containers: [c('nginx', 'nginx:1.2.3')] }, allowed: false },
  {
    name: 'baseline_hostProcess_initContainer_excluded_but_others_not',
    rule: b24(ctl('HostProcess', NG, 'spec.initContainers[*].securityContext.windowsOptions.hostProcess', ['true'])),
    spec: { containers: [c('nginx', 'nginx', hp(true))], initContainers: [c('nginx', 'nginx', hp(true))], ephemeralContainers: [c('nginx', 'nginx', hp(true))] },
    allowed: false,
  },
  {
    name: 'baseline_hostProcess_defines_initContainer_&_ephemeralContainer_allowed_positive',
    rule: b24(
      ctl('HostProcess', NG, 'spec.containers[*].securityContext.windowsOptions.hostProcess', ['true']),
      ctl('HostProcess', NG, 'spec.initContainers[*].securityContext.windowsOptions.hostProcess', ['true']),
      ctl('HostProcess', NG, 'spec.ephemeralContainers[*].securityContext.windowsOptions.hostProcess', ['true']),
    ),
    spec: { containers: [c('nginx', 'nginx', hp(true))], initContainers: [c('nginx', 'nginx', hp(true))], ephemeralContainers: [c('nginx', 'nginx', hp(true))] },
    allowed: true,
  },
  // Host namespaces
  { name: 'baseline_host_namespaces_hostNetwork_violate_true', rule: b24(ctl('Host Namespaces')), spec: { hostNetwork: true, containers: [c('nginx', 'nginx')] }, allowed: true },
  { name: 'baseline_host_namespaces_hostPID_violate_true', rule: b24(ctl('Host Namespaces')), spec: { hostPID: true, containers: [c('nginx', 'nginx')] }, allowed: true },
  { name: 'baseline_host_namespaces_hostIPC_violate_false', rule: b24(ctl('Host Namespaces', NG)), spec: { hostIPC: false, containers: [c('nginx', 'nginx')] }, allowed: true },
  { name: 'host_namespaces_with_images_does_not_cover_the_pod', rule: b24(ctl('Host Namespaces', NG)), spec: { hostIPC: true, containers: [c('nginx', 'nginx')] }, allowed: false },
  // Privileged
  { name: 'baseline_privileged_defines_container_violate_true', rule: b24(ctl('Privileged Containers', NG)), spec: { containers: [c('nginx', 'nginx', { privileged: true })] }, allowed: true },
  { name: 'baseline_privileged_defines_container_violate_true_skip', rule: b24(ctl('Privileged Containers', NG)), spec: { containers: [c('nginx', 'nginx:1.2.3', { privileged: true })] }, allowed: false },
  {
    name: 'baseline_privileged_defines_initContainer_&_ephemeralContainer_violate_true',
    rule: b24(ctl('Privileged Containers', NG)),
    spec: { containers: [c('nginx', 'nginx', { privileged: false })], initContainers: [c('nginx-init', 'nginx', { privileged: true })], ephemeralContainers: [c('nginx-ephemeral', 'nginx', { privileged: true })] },
    allowed: true,
  },
  {
    name: 'baseline_privileged_defines_initContainer_&_ephemeralContainer_violate_true_allowed_positive',
    rule: b24(ctl('Privileged Containers', NG, 'spec.initContainers[*].securityContext.privileged', ['true']), ctl('Privileged Containers', NG, 'spec.ephemeralContainers[*].securityContext.privileged', ['true'])),
    spec: { containers: [c('nginx', 'nginx', { privileged: false })], initContainers: [c('nginx-init', 'nginx', { privileged: true })], ephemeralContainers: [c('nginx-ephemeral', 'nginx', { privileged: true })] },
    allowed: true,
  },
  {
    name: 'baseline_privileged_defines_initContainer_&_ephemeralContainer_violate_true_allowed_negative',
    rule: b24(ctl('Privileged Containers', NG, 'spec.initContainers[*].securityContext.privileged', ['true'])),
    spec: { containers: [c('nginx', 'nginx', { privileged: false })], initContainers: [c('nginx-init', 'nginx', { privileged: true })], ephemeralContainers: [c('nginx-ephemeral', 'nginx', { privileged: true })] },
    allowed: false,
  },
  // Capabilities
  { name: 'baseline_capabilities_defines_container_violate_true', rule: b24(ctl('Capabilities', NG)), spec: { containers: [c('nginx', 'nginx', { capabilities: { add: ['FAKE_VALUE'] } })] }, allowed: true },
  { name: 'baseline_capabilities_foo_defines_container_allow_positive', rule: b24(ctl('Capabilities', NG, 'spec.containers[*].securityContext.capabilities.add', ['FOO', 'BAR'])), spec: { containers: [c('nginx', 'nginx', { capabilities: { add: ['FOO', 'BAR'] } })] }, allowed: true },
  { name: 'baseline_capabilities_foo_defines_container_allow_negative', rule: b24(ctl('Capabilities', NG, 'spec.containers[*].securityContext.capabilities.add', ['FOO'])), spec: { containers: [c('nginx', 'nginx', { capabilities: { add: ['FOO', 'BAR'] } })] }, allowed: false },
  {
    name: 'baseline_capabilities_foo_defines_initContainer_&_ephemeralContainer_allow_positive',
    rule: b24(ctl('Capabilities', NG, 'spec.initContainers[*].securityContext.capabilities.add', ['FOO', 'BAR']), ctl('Capabilities', NG, 'spec.ephemeralContainers[*].securityContext.capabilities.add', ['FOO', 'BAZ'])),
    spec: { initContainers: [c('nginx', 'nginx', { capabilities: { add: ['FOO', 'BAR'] } })], ephemeralContainers: [c('nginx', 'nginx', { capabilities: { add: ['FOO', 'BAZ'] } })] },
    allowed: true,
  },
  {
    name: 'baseline_capabilities_foo_defines_initContainer_&_ephemeralContainer_allow_negative',
    rule: b24(ctl('Capabilities', NG, 'spec.initContainers[*].securityContext.capabilities.add', ['FOO', 'BAR']), ctl('Capabilities', NG, 'spec.ephemeralContainers[*].securityContext.capabilities.add', ['FOO', 'BAR'])),
    spec: { initContainers: [c('nginx', 'nginx', { capabilities: { add: ['FOO', 'BAR'] } })], ephemeralContainers: [c('nginx', 'nginx', { capabilities: { add: ['FOO', 'BAZ'] } })] },
    allowed: false,
  },
  { name: 'baseline_capabilities_not_match', rule: r24(ctl('Running as Non-root', NG)), spec: { containers: [c('nginx', 'nginx')], ephemeralContainers: [c('nginx-ephemeral', 'nginx')] }, allowed: false },
  // HostPath volumes
  { name: 'baseline_hostPath_volumes_exclude_path_true', rule: b24(ctl('HostPath Volumes', undefined, 'spec.volumes[*].hostPath', ['/etc/nginx'])), spec: { containers: [c('nginx', 'nginx')], volumes: [{ hostPath: { path: '/etc/nginx' } }] }, allowed: true },
  { name: 'baseline_hostPath_volumes_exclude_path_false', rule: b24(ctl('HostPath Volumes', undefined, 'spec.volumes[*].hostPath', ['/etc/nginx'])), spec: { containers: [c('nginx', 'nginx')], volumes: [{ hostPath: { path: '/var/lib1' } }] }, allowed: false },
  { name: 'baseline_hostPath_volumes_violate_true', rule: b24(ctl('HostPath Volumes')), spec: { containers: [c('nginx', 'nginx')], volumes: [{ hostPath: { path: '/var/lib1' } }] }, allowed: true },
  { name: 'baseline_hostPath_volumes_not_match', rule: b24(ctl('Privileged Containers', NG)), spec: { containers: [c('nginx', 'nginx')], volumes: [{ hostPath: { path: '/var/lib1' } }] }, allowed: false },
  // Host ports
  { name: 'baseline_host_ports_defines_non_zero', rule: b24(ctl('Host Ports', NG)), spec: { containers: [c('nginx', 'nginx', undefined, { ports: [{ hostPort: 1000 }] })] }, allowed: true },
  {
    name: 'baseline_host_ports_initContainer_&_ephemeralContainer_define_different_values_allowed_positive',
    rule: b24(ctl('Host Ports', NG, 'spec.initContainers[*].ports[*].hostPort', ['10', '20']), ctl('Host Ports', NG, 'spec.ephemeralContainers[*].ports[*].hostPort', ['10', '20'])),
    spec: { initContainers: [c('nginx', 'nginx', undefined, { ports: [{ hostPort: 20 }] })], ephemeralContainers: [c('nginx', 'nginx', undefined, { ports: [{ hostPort: 20 }] })] },
    allowed: true,
  },
  {
    name: 'baseline_host_ports_initContainer_&_ephemeralContainer_define_different_values_allowed_negative',
    rule: b24(ctl('Host Ports', NG, 'spec.initContainers[*].ports[*].hostPort', ['10', '20']), ctl('Host Ports', NG, 'spec.ephemeralContainers[*].ports[*].hostPort', ['10'])),
    spec: { initContainers: [c('nginx', 'nginx', undefined, { ports: [{ hostPort: 20 }] })], ephemeralContainers: [c('nginx', 'nginx', undefined, { ports: [{ hostPort: 20 }] })] },
    allowed: false,
  },
  { name: 'baseline_host_ports_define_different_values_allow_negative', rule: b24(ctl('Host Ports', NG, 'spec.containers[*].ports.hostPort', ['-1'])), spec: { containers: [c('nginx', 'nginx', undefined, { ports: [{ hostPort: 20 }] })] }, allowed: false },
  // AppArmor
  { name: 'baseline_appArmor_defines_violate_true', rule: b24(ctl('AppArmor')), annotations: { [`${AA}kyverno.test`]: 'fake_value' }, spec: { containers: [c('nginx', 'nginx')] }, allowed: true },
  { name: 'baseline_appArmor_defines_multiple_violate_true', rule: b24(ctl('AppArmor')), annotations: manyAnnotations, spec: { containers: [c('nginx', 'nginx')] }, allowed: true },
  {
    name: 'baseline_appArmor_defines_multiple_allow_positive',
    rule: b24(
      ctl('AppArmor', undefined, `metadata.annotations[${AA}]`, ['bogus']), ctl('AppArmor', undefined, `metadata.annotations[${AA}a]`, ['bogus']),
      ctl('AppArmor', undefined, `metadata.annotations[${AA}e]`, ['unconfined']), ctl('AppArmor', undefined, `metadata.annotations[${AA}f]`, ['unknown']),
    ),
    annotations: manyAnnotations,
    spec: { containers: [c('nginx', 'nginx')] },
    allowed: true,
  },
  {
    name: 'baseline_appArmor_defines_multiple_allow_negative',
    rule: b24(ctl('AppArmor', undefined, `metadata.annotations[${AA}]`, ['bogus']), ctl('AppArmor', undefined, `metadata.annotations[${AA}a]`, ['bogus']), ctl('AppArmor', undefined, `metadata.annotations[${AA}e]`, ['unconfined'])),
    annotations: manyAnnotations,
    spec: { containers: [c('nginx', 'nginx')] },
    allowed: false,
  },
  { name: 'baseline_appArmor_not_match_block', rule: b24(ctl('HostPath Volumes')), annotations: { [`${AA}kyverno.test`]: 'fake_value' }, spec: { containers: [c('nginx', 'nginx')] }, allowed: false },
  { name: 'baseline_appArmor_not_match_pass', rule: b24(ctl('HostPath Volumes')), annotations: { [`${AA}kyverno.test`]: 'localhost/default' }, spec: { containers: [c('nginx', 'nginx')] }, allowed: true },
  // SELinux
  { name: 'baseline_seLinux_type_defines_all_violate_true_1', rule: b24(ctl('SELinux', NG)), spec: { securityContext: { seLinuxOptions: { type: 'fake_value' } }, containers: [c('nginx', 'nginx', { seLinuxOptions: { type: 'fake_value' } })] }, allowed: false },
  { name: 'baseline_seLinux_type_defines_all_violate_true_2', rule: b24(ctl('SELinux'), ctl('SELinux', NG)), spec: { securityContext: { seLinuxOptions: { type: 'fake_value' } }, containers: [c('nginx', 'nginx', { seLinuxOptions: { type: 'fake_value' } })] }, allowed: true },
  { name: 'baseline_seLinux_type_defines_spec_violate_true', rule: b24(ctl('SELinux')), spec: { securityContext: { seLinuxOptions: { type: 'fake_value' } }, containers: [c('nginx', 'nginx')] }, allowed: true },
  { name: 'baseline_seLinux_type_defines_spec', rule: b24(ctl('SELinux', undefined, 'spec.securityContext.seLinuxOptions.type', ['fake_value'])), spec: { securityContext: { seLinuxOptions: { type: 'fake_value' } }, containers: [c('nginx', 'nginx')] }, allowed: true },
  { name: 'baseline_seLinux_type_defines_bad_spec_allow_negative', rule: b24(ctl('SELinux', undefined, 'spec.securityContext.seLinuxOptions.type', ['good'])), spec: { securityContext: { seLinuxOptions: { type: 'bad' } }, containers: [c('nginx', 'nginx')] }, allowed: false },
  { name: 'baseline_seLinux_type_not_match_block', rule: b24(ctl('HostPath Volumes')), spec: { securityContext: { seLinuxOptions: { type: 'fake_value' } }, containers: [c('nginx', 'nginx')] }, allowed: false },
  { name: 'baseline_seLinux_type_container_not_match_block', rule: b24(ctl('Host Ports', NG)), spec: { containers: [c('nginx', 'nginx', { seLinuxOptions: { type: 'fake_value' } })] }, allowed: false },
  { name: 'baseline_seLinux_type_securityContext_nil_violate_false', rule: b24(ctl('SELinux', NG)), spec: { containers: selinuxSix }, allowed: true },
  {
    name: 'baseline_seLinux_type_securityContext_nil_allow_positive',
    rule: b24(
      ctl('SELinux', NG, 'spec.containers[*].securityContext.seLinuxOptions.type', ['bar']),
      ctl('SELinux', NG, 'spec.containers[*].securityContext.seLinuxOptions.user', ['bar']),
      ctl('SELinux', NG, 'spec.containers[*].securityContext.seLinuxOptions.role', ['baz']),
    ),
    spec: { containers: selinuxSix },
    allowed: true,
  },
  {
    name: 'baseline_seLinux_type_securityContext_nil_allow_negative',
    rule: b24(ctl('SELinux', NG, 'spec.containers[*].securityContext.seLinuxOptions.type', ['bar']), ctl('SELinux', NG, 'spec.containers[*].securityContext.seLinuxOptions.user', ['bar'])),
    spec: { containers: selinuxSix },
    allowed: false,
  },
  // /proc mount
  { name: 'baseline_procMount_defines_violate_true', rule: b24(ctl('/proc Mount Type', NG)), spec: { containers: [c('nginx', 'nginx', { procMount: 'fakeValue' })] }, allowed: true },
  { name: 'baseline_procMount_not_match_pass', rule: b24(ctl('Privileged Containers', NG)), spec: { containers: [c('nginx', 'nginx', { procMount: 'Default' })] }, allowed: true },
  // Running as non-root
  {
    name: 'restricted_runAsNonRoot_defines_all_violate_pod_nil',
    rule: r24(ctl('Running as Non-root'), ctl('Privilege Escalation', NG), ctl('Capabilities', NG), ctl('Running as Non-root', NG), ctl('Seccomp', NG)),
    spec: {
      securityContext: { runAsNonRoot: true },
      containers: [c('nginx', 'nginx', null), c('nginx', 'nginx', {}), c('nginx', 'nginx', goodRestricted({ runAsNonRoot: false })), c('nginx', 'nginx', goodRestricted({ runAsNonRoot: true }))],
    },
    allowed: true,
  },
  {
    name: 'restricted_runAsNonRoot_defines_all_violate_spec_true_container_true_spec_level_allowed_positive',
    rule: r24(ctl('Running as Non-root', NG, 'spec.containers[*].securityContext.runAsNonRoot', ['false']), ctl('Running as Non-root', undefined, 'spec.securityContext.runAsNonRoot', ['false'])),
    spec: { securityContext: { runAsNonRoot: false, seccompProfile: { type: 'RuntimeDefault' } }, containers: [c('nginx', 'nginx', goodRestricted({ runAsNonRoot: false }))] },
    allowed: true,
  },
  {
    name: 'restricted_runAsNonRoot_defines_all_violate_spec_true_container_true_spec_level_allowed_negative',
    rule: r24(ctl('Running as Non-root', NG, 'spec.containers[*].securityContext.runAsNonRoot', ['true']), ctl('Running as Non-root', undefined, 'spec.securityContext.runAsNonRoot', ['false'])),
    spec: { securityContext: { runAsNonRoot: false, seccompProfile: { type: 'RuntimeDefault' } }, containers: [c('nginx', 'nginx', goodRestricted({ runAsNonRoot: false }))] },
    allowed: false,
  },
  {
    name: 'restricted_runAsNonRoot_defines_all_initContainer_&_ephemeralContainer_allowed_positive',
    rule: r24(
      ctl('Running as Non-root', NG, 'spec.initContainers[*].securityContext.runAsNonRoot', ['false']),
      ctl('Running as Non-root', NG, 'spec.ephemeralContainers[*].securityContext.runAsNonRoot', ['false']),
      ctl('Running as Non-root', undefined, 'spec.securityContext.runAsNonRoot', ['false']),
    ),
    spec: {
      securityContext: { runAsNonRoot: false, seccompProfile: { type: 'RuntimeDefault' } },
      initContainers: [c('nginx', 'nginx', goodRestricted({ runAsNonRoot: false }))],
      ephemeralContainers: [c('nginx', 'nginx', goodRestricted({ runAsNonRoot: false }))],
    },
    allowed: true,
  },
  {
    name: 'restricted_runAsNonRoot_defines_all_initContainer_&_ephemeralContainer_allowed_negative',
    rule: r24(ctl('Running as Non-root', NG, 'spec.ephemeralContainers[*].securityContext.runAsNonRoot', ['false']), ctl('Running as Non-root', undefined, 'spec.securityContext.runAsNonRoot', ['false'])),
    spec: {
      securityContext: { runAsNonRoot: false, seccompProfile: { type: 'RuntimeDefault' } },
      initContainers: [c('nginx', 'nginx', goodRestricted({ runAsNonRoot: false }))],
      ephemeralContainers: [c('nginx', 'nginx', goodRestricted({ runAsNonRoot: false }))],
    },
    allowed: false,
  },
  { name: 'restricted_runAsNonRoot_defines_all_violate_spec_false_container_true_spec_level', rule: r24(ctl('Running as Non-root')), spec: { securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } }, containers: [c('nginx', 'nginx', goodRestricted({ runAsNonRoot: false }))] }, allowed: false },
  { name: 'restricted_runAsNonRoot_defines_all_violate_spec_true_container_false_container_level', rule: r24(ctl('Running as Non-root', NG)), spec: { securityContext: { runAsNonRoot: false, seccompProfile: { type: 'RuntimeDefault' } }, containers: [c('nginx', 'nginx', goodRestricted({ runAsNonRoot: true }))] }, allowed: false },
  { name: 'restricted_runAsNonRoot_defines_all_violate_spec_true_container_true_container_level', rule: r24(ctl('Running as Non-root', NG)), spec: { securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } }, containers: [c('nginx', 'nginx', goodRestricted({ runAsNonRoot: false }))] }, allowed: true },
  { name: 'restricted_runAsNonRoot_defines_container_only_violate_true', rule: r24(ctl('Running as Non-root', NG)), spec: { securityContext: { seccompProfile: { type: 'RuntimeDefault' } }, containers: [c('nginx', 'nginx', goodRestricted({ runAsNonRoot: false }))] }, allowed: true },
  // Wildcard images and user-namespace exclusions (evaluate_userns_test.go)
  { name: 'wildcard_images_match', rule: b24(ctl('Privileged Containers', ['ngin*'])), spec: { containers: [c('a', 'nginx:1.2.3', { privileged: true })] }, allowed: true },
  { name: 'wildcard_images_no_match', rule: b24(ctl('Privileged Containers', ['redis*'])), spec: { containers: [c('a', 'nginx:1.2.3', { privileged: true })] }, allowed: false },
  {
    name: 'restricted latest, userns, unmasked, value excluded',
    rule: { level: 'restricted', version: 'latest', exclude: [ctl('/proc Mount Type', NG, 'spec.containers[*].securityContext.procMount', ['Unmasked'])] },
    spec: { hostUsers: false, securityContext: { seccompProfile: { type: 'RuntimeDefault' } }, containers: [c('nginx', 'nginx', goodRestricted({ runAsNonRoot: true, procMount: 'Unmasked' }))] },
    allowed: true,
  },
  {
    name: 'restricted v1.32, no userns, unmasked, control excluded',
    rule: { level: 'restricted', version: 'v1.32', exclude: [ctl('/proc Mount Type', NG)] },
    spec: { hostUsers: true, securityContext: { seccompProfile: { type: 'RuntimeDefault' } }, containers: [c('nginx', 'nginx', goodRestricted({ runAsNonRoot: true, procMount: 'Unmasked' }))] },
    allowed: true,
  },
];

for (const tc of CASES) {
  test(`Test_EvaluatePod: ${tc.name}`, () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'test', ...(tc.annotations ? { annotations: tc.annotations } : {}) }, spec: tc.spec };
    const out = evaluatePodSecurity(tc.rule, pod, { ruleName: 'r' });
    assert.notEqual(out.status, 'error', out.message);
    assert.equal(out.status === 'pass', tc.allowed, out.message);
  });
}

test('one exclusion error removes one matching field error (pod-level exclusion of a container control)', () => {
  // Without images the exclusion runs on a single empty container, so it can only cancel one of two violations.
  const rule = { level: 'restricted', version: 'latest', exclude: [ctl('Privilege Escalation')] };
  const base = { securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } } };
  const one = evaluatePodSecurity(rule, { kind: 'Pod', metadata: { name: 'p' }, spec: { ...base, containers: [c('a', 'x', { capabilities: { drop: ['ALL'] } })] } });
  assert.equal(one.status, 'pass', one.message);
  const two = evaluatePodSecurity(rule, { kind: 'Pod', metadata: { name: 'p' }, spec: { ...base, containers: [c('a', 'x', { capabilities: { drop: ['ALL'] } }), c('b', 'x', { capabilities: { drop: ['ALL'] } })] } });
  assert.equal(two.status, 'fail');
  assert.deepEqual(two.checks.map((k) => k.id), ['allowPrivilegeEscalation']);
  assert.equal(two.checks[0].fields.length, 1);
});

test('container-level exclusions compare container names, not only field shapes', () => {
  const rule = b24(ctl('Privileged Containers', ['trusted/*']));
  const spec = { containers: [c('app', 'docker.io/app', { privileged: true }), c('agent', 'trusted/agent', { privileged: true })] };
  const out = evaluatePodSecurity(rule, { kind: 'Pod', metadata: { name: 'p' }, spec });
  assert.equal(out.status, 'fail');
  assert.deepEqual(out.checks[0].fields.map((f) => f.field), ['spec.containers[0].securityContext.privileged']);
});

test('large pods with exclusions stay fast', () => {
  const containers = Array.from({ length: 1000 }, (_, i) => c(`c${i}`, i % 2 ? 'nginx' : 'redis', { privileged: true, capabilities: { add: ['NET_ADMIN'] } }));
  const started = Date.now();
  const out = evaluatePodSecurity(b24(ctl('Privileged Containers', NG), ctl('Capabilities', NG)), { kind: 'Pod', metadata: { name: 'big' }, spec: { containers } });
  assert.equal(out.status, 'fail');
  assert.equal(out.checks.find((k) => k.id === 'privileged')?.fields.length, 500);
  assert.ok(Date.now() - started < 10000, `took ${Date.now() - started}ms`);
});

test('Host Probes / Lifecycle Hooks can be excluded by image (pkg/pss hostprobes_test.go pod)', () => {
  const agent = {
    kind: 'Pod',
    metadata: { name: 'eks-pod-identity-agent', namespace: 'kube-system' },
    spec: { containers: [{ name: 'eks-pod-identity-agent', image: '602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/eks-pod-identity-agent:0.1.0', livenessProbe: { httpGet: { host: 'localhost', path: '/healthz', port: 2703 } } }] },
  };
  const failing = evaluatePodSecurity({ level: 'baseline', version: 'latest' }, agent, { ruleName: 'r' });
  assert.equal(failing.status, 'fail');
  assert.equal(failing.message, `Validation rule 'r' failed. It violates PodSecurity "baseline:latest": (Forbidden reason: probe or lifecycle host, field error list: [spec.containers[0].livenessProbe.httpGet.host is forbidden, forbidden values found: localhost])`);
  const excluded = evaluatePodSecurity({ level: 'baseline', version: 'latest', exclude: [ctl('Host Probes / Lifecycle Hooks', ['602401143452.dkr.ecr.*.amazonaws.com/eks/eks-pod-identity-agent:*'])] }, agent);
  assert.equal(excluded.status, 'pass');
  assert.equal(evaluatePodSecurity({ level: 'baseline', version: 'v1.33' }, agent).status, 'pass');
});
