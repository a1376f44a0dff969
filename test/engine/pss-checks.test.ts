// Pod Security checks one by one; expectations from k8s.io/pod-security-admission/policy
// check_*_test.go (Kyverno's fork, field errors enabled) and kyverno/kyverno pkg/pss tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JsonObject } from '../../engine/core/types';
import * as baseline from '../../engine/pss/checks-baseline';
import * as restricted from '../../engine/pss/checks-restricted';
import type { CheckResult } from '../../engine/pss/field';
import { decodePod } from '../../engine/pss/pod';
import { parseLevelVersion, runChecks } from '../../engine/pss/registry';

function pod(spec: JsonObject, metadata: JsonObject = { name: 'test' }) {
  return decodePod(metadata, spec, 'Pod', 'spec');
}

function errs(r: CheckResult): Array<[string, string, unknown]> {
  return (r.errList ?? []).map((e) => [e.type, e.field, e.badValue]);
}

const sc = (securityContext: JsonObject | null, name: string, extra: JsonObject = {}): JsonObject => ({ name, securityContext, ...extra });

test('privileged: containers setting privileged=true, with their fields', () => {
  const r = baseline.privilegedV1Dot0(pod({
    containers: [sc(null, 'a'), sc({}, 'b'), sc({ privileged: false }, 'c'), sc({ privileged: true }, 'd'), sc({ privileged: true }, 'e')],
  }));
  assert.equal(r.allowed, false);
  assert.equal(r.forbiddenReason, 'privileged');
  assert.equal(r.forbiddenDetail, 'containers "d", "e" must not set securityContext.privileged=true');
  assert.deepEqual(errs(r), [
    ['Forbidden', 'spec.containers[3].securityContext.privileged', true],
    ['Forbidden', 'spec.containers[4].securityContext.privileged', true],
  ]);
});

test('allowPrivilegeEscalation: missing context is Required, unset is "nil", true is true', () => {
  const p = pod({ containers: [{ name: 'a' }, sc({}, 'b'), sc({ allowPrivilegeEscalation: true }, 'c'), sc({ allowPrivilegeEscalation: false }, 'd')] });
  const r = restricted.allowPrivilegeEscalationV1Dot8(p);
  assert.equal(r.forbiddenReason, 'allowPrivilegeEscalation != false');
  assert.equal(r.forbiddenDetail, 'containers "a", "b", "c" must set securityContext.allowPrivilegeEscalation=false');
  assert.deepEqual(errs(r), [
    ['Required', 'spec.containers[0].securityContext.allowPrivilegeEscalation', ''],
    ['Forbidden', 'spec.containers[1].securityContext.allowPrivilegeEscalation', 'nil'],
    ['Forbidden', 'spec.containers[2].securityContext.allowPrivilegeEscalation', true],
  ]);
  const windows = pod({ os: { name: 'windows' }, containers: [{ name: 'a' }] });
  assert.equal(restricted.allowPrivilegeEscalationV1Dot25(windows).allowed, true);
  assert.equal(restricted.allowPrivilegeEscalationV1Dot8(windows).allowed, false);
  assert.equal(restricted.allowPrivilegeEscalationV1Dot25(pod({ os: { name: 'linux' }, containers: [{ name: 'a' }] })).forbiddenDetail,
    'container "a" must set securityContext.allowPrivilegeEscalation=false');
});

test('capabilities restricted: drop ALL required, only NET_BIND_SERVICE may be added', () => {
  const r = restricted.capabilitiesRestrictedV1Dot22(pod({
    containers: [
      sc({ capabilities: { add: ['FOO', 'BAR'] } }, 'a'),
      sc({ capabilities: { add: ['BAR', 'BAZ'] } }, 'b'),
      sc({ capabilities: { add: ['NET_BIND_SERVICE', 'CHOWN'], drop: ['ALL', 'FOO'] } }, 'c'),
    ],
  }));
  assert.equal(r.forbiddenReason, 'unrestricted capabilities');
  assert.equal(r.forbiddenDetail, 'containers "a", "b" must set securityContext.capabilities.drop=["ALL"]; containers "a", "b", "c" must not include "BAR", "BAZ", "CHOWN", "FOO" in securityContext.capabilities.add');
  assert.deepEqual(errs(r).sort((x, y) => (x[1] < y[1] ? -1 : 1)), [
    ['Forbidden', 'spec.containers[0].securityContext.capabilities.add', ['BAR', 'FOO']],
    ['Required', 'spec.containers[0].securityContext.capabilities.drop', ''],
    ['Forbidden', 'spec.containers[1].securityContext.capabilities.add', ['BAR', 'BAZ']],
    ['Required', 'spec.containers[1].securityContext.capabilities.drop', ''],
    ['Forbidden', 'spec.containers[2].securityContext.capabilities.add', ['CHOWN']],
  ].sort((x, y) => (x[1] < y[1] ? -1 : 1)));
  const both = restricted.capabilitiesRestrictedV1Dot22(pod({ containers: [sc({ capabilities: { add: ['BAR', 'BAZ'], drop: ['FOO', 'BAR'] } }, 'a')] }));
  assert.equal(both.forbiddenDetail, 'container "a" must set securityContext.capabilities.drop=["ALL"]; container "a" must not include "BAR", "BAZ" in securityContext.capabilities.add');
  assert.deepEqual(errs(both), [
    ['Forbidden', 'spec.containers[0].securityContext.capabilities.drop', ['BAR', 'FOO']],
    ['Forbidden', 'spec.containers[0].securityContext.capabilities.add', ['BAR', 'BAZ']],
  ]);
  assert.equal(restricted.capabilitiesRestrictedV1Dot25(pod({ os: { name: 'windows' }, containers: [{ name: 'a' }] })).allowed, true);
});

test('capabilities baseline: only the default set may be added', () => {
  const r = baseline.capabilitiesBaselineV1Dot0(pod({ containers: [sc({ capabilities: { add: ['KILL', 'NET_ADMIN', 'SYS_TIME'] } }, 'a'), sc({ capabilities: { add: ['CHOWN'] } }, 'b')] }));
  assert.equal(r.forbiddenReason, 'non-default capabilities');
  assert.equal(r.forbiddenDetail, 'container "a" must not include "NET_ADMIN", "SYS_TIME" in securityContext.capabilities.add');
  assert.deepEqual(errs(r), [['Forbidden', 'spec.containers[0].securityContext.capabilities.add', ['NET_ADMIN', 'SYS_TIME']]]);
});

test('runAsUser: pod and containers with runAsUser=0', () => {
  const r = restricted.runAsUserV1Dot23(pod({ securityContext: { runAsUser: 0 }, containers: [{ name: 'a' }] }));
  assert.equal(r.forbiddenReason, 'runAsUser=0');
  assert.equal(r.forbiddenDetail, 'pod must not set runAsUser=0');
  assert.deepEqual(errs(r), [['Forbidden', 'spec.securityContext.runAsUser', 0]]);
  const c = restricted.runAsUserV1Dot23(pod({
    securityContext: { runAsUser: 1000 },
    containers: [sc(null, 'a'), sc({}, 'b'), sc({ runAsUser: 0 }, 'c'), sc({ runAsUser: 0 }, 'd'), sc({ runAsUser: 1 }, 'e')],
  }));
  assert.equal(c.forbiddenDetail, 'containers "c", "d" must not set runAsUser=0');
  assert.deepEqual(errs(c).map((e) => e[1]), ['spec.containers[2].securityContext.runAsUser', 'spec.containers[3].securityContext.runAsUser']);
  assert.equal(restricted.runAsUserV1Dot23(pod({ securityContext: { runAsUser: 1000 }, containers: [{ name: 'a' }] })).allowed, true);
  // Pods in a user namespace are relaxed from v1.35 only.
  const userns = pod({ hostUsers: false, securityContext: { runAsUser: 0 }, containers: [{ name: 'a' }] });
  assert.equal(restricted.runAsUserV1Dot35(userns).allowed, true);
  assert.equal(restricted.runAsUserV1Dot23(userns).allowed, false);
});

test('runAsNonRoot: explicit false and implicit unset, details joined by a newline', () => {
  const r = restricted.runAsNonRootV1Dot0(pod({
    securityContext: { runAsNonRoot: false },
    containers: [sc({ runAsNonRoot: false }, 'a'), { name: 'b' }, sc({ runAsNonRoot: true }, 'c')],
  }));
  assert.equal(r.forbiddenReason, 'runAsNonRoot != true');
  assert.equal(r.forbiddenDetail, 'pod and container "a" must not set securityContext.runAsNonRoot=false\npod or container "b" must set securityContext.runAsNonRoot=true');
  assert.deepEqual(errs(r), [
    ['Forbidden', 'spec.securityContext.runAsNonRoot', false],
    ['Forbidden', 'spec.containers[0].securityContext.runAsNonRoot', false],
    ['Required', 'spec.containers[1].securityContext.runAsNonRoot', ''],
  ]);
  assert.equal(restricted.runAsNonRootV1Dot0(pod({ securityContext: { runAsNonRoot: true }, containers: [{ name: 'a' }] })).allowed, true);
});

test('seccomp restricted: explicit bad values win over unset containers', () => {
  const bad = restricted.seccompProfileRestrictedV1Dot19(pod({
    securityContext: { seccompProfile: { type: 'Unconfined' } },
    containers: [sc({ seccompProfile: { type: 'Unconfined' } }, 'a'), { name: 'b' }],
  }));
  assert.equal(bad.forbiddenDetail, 'pod and container "a" must not set securityContext.seccompProfile.type to "Unconfined"');
  const unset = restricted.seccompProfileRestrictedV1Dot19(pod({ containers: [{ name: 'a' }, sc({ seccompProfile: { type: 'RuntimeDefault' } }, 'b'), { name: 'c' }] }));
  assert.equal(unset.forbiddenDetail, 'pod or containers "a", "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"');
  assert.deepEqual(errs(unset).map((e) => e[0]), ['Required', 'Required']);
  assert.equal(restricted.seccompProfileRestrictedV1Dot19(pod({ securityContext: { seccompProfile: { type: 'Localhost' } }, containers: [{ name: 'a' }] })).allowed, true);
  assert.equal(restricted.seccompProfileRestrictedV1Dot25(pod({ os: { name: 'windows' }, containers: [{ name: 'a' }] })).allowed, true);
});

test('seccomp baseline: any set type but RuntimeDefault/Localhost (v1.19), unsafe annotations (v1.0)', () => {
  const r = baseline.seccompProfileBaselineV1Dot19(pod({
    securityContext: { seccompProfile: { type: 'Localhost' } },
    containers: [sc({ seccompProfile: { type: 'Unconfined' } }, 'a'), sc({ seccompProfile: { type: 'Foo' } }, 'b'), { name: 'c' }],
  }));
  assert.equal(r.forbiddenDetail, 'containers "a", "b" must not set securityContext.seccompProfile.type to "Foo", "Unconfined"');
  assert.deepEqual(errs(r).map((e) => e[1]), ['spec.containers[0].securityContext.seccompProfile.type', 'spec.containers[1].securityContext.seccompProfile.type']);
  assert.equal(baseline.seccompProfileBaselineV1Dot19(pod({ containers: [{ name: 'a' }] })).allowed, true);
  const ann = baseline.seccompProfileBaselineV1Dot0(pod({ containers: [{ name: 'a' }, { name: 'b' }] }, {
    annotations: {
      'seccomp.security.alpha.kubernetes.io/pod': 'unconfined',
      'container.seccomp.security.alpha.kubernetes.io/a': 'docker/default',
      'container.seccomp.security.alpha.kubernetes.io/b': 'foo',
    },
  }));
  assert.equal(ann.forbiddenDetail, 'forbidden annotations container.seccomp.security.alpha.kubernetes.io/b="foo", seccomp.security.alpha.kubernetes.io/pod="unconfined"');
  assert.deepEqual(errs(ann).map((e) => e[1]), ['metadata.annotations[seccomp.security.alpha.kubernetes.io/pod]', 'metadata.annotations[container.seccomp.security.alpha.kubernetes.io/b]']);
});

test('seLinuxOptions: types, user and role; container_engine_t only from v1.31', () => {
  const p = pod({
    securityContext: { seLinuxOptions: { type: 'bar', user: 'u' } },
    containers: [sc({ seLinuxOptions: { role: 'r' } }, 'a'), sc({ seLinuxOptions: { type: 'container_t' } }, 'b')],
  });
  const r = baseline.seLinuxOptionsV1Dot0(p);
  assert.equal(r.forbiddenReason, 'seLinuxOptions');
  assert.equal(r.forbiddenDetail, 'pod and container "a" set forbidden securityContext.seLinuxOptions: type "bar"; user may not be set; role may not be set');
  assert.deepEqual(errs(r), [
    ['Forbidden', 'spec.securityContext.seLinuxOptions.type', 'bar'],
    ['Forbidden', 'spec.securityContext.seLinuxOptions.user', 'u'],
    ['Forbidden', 'spec.containers[0].securityContext.seLinuxOptions.role', 'r'],
  ]);
  const engine = pod({ containers: [sc({ seLinuxOptions: { type: 'container_engine_t' } }, 'a')] });
  assert.equal(baseline.seLinuxOptionsV1Dot0(engine).allowed, false);
  assert.equal(baseline.seLinuxOptionsV1Dot31(engine).allowed, true);
});

test('sysctls: allowed set grows with the version', () => {
  const p = pod({ securityContext: { sysctls: [{ name: 'net.ipv4.tcp_keepalive_time' }, { name: 'kernel.msgmax' }, { name: 'net.ipv4.tcp_rmem' }] }, containers: [{ name: 'a' }] });
  assert.equal(baseline.sysctlsV1Dot0(p).forbiddenDetail, 'net.ipv4.tcp_keepalive_time, kernel.msgmax, net.ipv4.tcp_rmem');
  assert.equal(baseline.sysctlsV1Dot29(p).forbiddenDetail, 'kernel.msgmax, net.ipv4.tcp_rmem');
  assert.equal(baseline.sysctlsV1Dot32(p).forbiddenDetail, 'kernel.msgmax');
  assert.deepEqual(errs(baseline.sysctlsV1Dot32(p)), [['Forbidden', 'spec.securityContext.sysctls[1].name', 'kernel.msgmax']]);
  assert.equal(baseline.sysctlsV1Dot27(pod({ securityContext: { sysctls: [{ name: 'net.ipv4.ip_local_reserved_ports' }] } })).allowed, true);
});

test('host namespaces, hostPath volumes, host ports', () => {
  const ns = baseline.hostNamespacesV1Dot0(pod({ hostNetwork: true, hostIPC: true, containers: [] }));
  assert.equal(ns.forbiddenDetail, 'hostNetwork=true, hostIPC=true');
  assert.deepEqual(errs(ns), [['Forbidden', 'spec.hostNetwork', true], ['Forbidden', 'spec.hostIPC', true]]);
  const hp = baseline.hostPathVolumesV1Dot0(pod({ volumes: [{ name: 'a', hostPath: { path: '/etc' } }, { name: 'b', emptyDir: {} }, { name: 'c', hostPath: { path: '/var' } }] }));
  assert.equal(hp.forbiddenReason, 'hostPath volumes');
  assert.equal(hp.forbiddenDetail, 'volumes "a", "c"');
  assert.deepEqual(errs(hp), [['Forbidden', 'spec.volumes[0].hostPath', '/etc'], ['Forbidden', 'spec.volumes[2].hostPath', '/var']]);
  const ports = baseline.hostPortsV1Dot0(pod({ containers: [{ name: 'b', ports: [{ hostPort: 80 }, { hostPort: 0 }, { hostPort: 443 }] }, { name: 'a', ports: [{ hostPort: 80 }] }] }));
  assert.equal(ports.forbiddenReason, 'hostPort');
  assert.equal(ports.forbiddenDetail, 'containers "b", "a" use hostPorts 443, 80');
  assert.deepEqual(errs(ports).map((e) => e[1]), ['spec.containers[0].ports[0].hostPort', 'spec.containers[0].ports[2].hostPort', 'spec.containers[1].ports[0].hostPort']);
});

test('hostProcess, procMount, AppArmor, probe hosts', () => {
  const hp = baseline.windowsHostProcessV1Dot0(pod({ securityContext: { windowsOptions: { hostProcess: true } }, containers: [sc({ windowsOptions: { hostProcess: true } }, 'a')] }));
  assert.equal(hp.forbiddenDetail, 'pod and container "a" must not set securityContext.windowsOptions.hostProcess=true');
  const pm = pod({ containers: [sc({ procMount: 'Unmasked' }, 'a'), sc({ procMount: 'Default' }, 'b')] });
  assert.equal(baseline.procMountV1Dot0(pm).forbiddenDetail, 'container "a" must not set securityContext.procMount to "Unmasked"');
  const userns = pod({ hostUsers: false, containers: [sc({ procMount: 'Unmasked' }, 'a')] });
  assert.equal(baseline.procMountV1Dot35Baseline(userns).allowed, true);
  assert.equal(baseline.procMountV1Dot0(userns).allowed, false);
  const aa = baseline.appArmorProfileV1Dot0(pod({ containers: [sc({ appArmorProfile: { type: 'Unconfined' } }, 'a')] }, {
    annotations: { 'container.apparmor.security.beta.kubernetes.io/a': 'unconfined', 'container.apparmor.security.beta.kubernetes.io/b': 'localhost/x' },
  }));
  assert.equal(aa.forbiddenReason, 'forbidden AppArmor profiles');
  assert.equal(aa.forbiddenDetail, 'container "a" and annotation must not set AppArmor profile type to "Unconfined", "container.apparmor.security.beta.kubernetes.io/a=\\"unconfined\\""');
  assert.deepEqual(errs(aa).map((e) => e[1]), ['spec.containers[0].securityContext.appArmorProfile.type', 'metadata.annotations[container.apparmor.security.beta.kubernetes.io/a]']);
  const probes = baseline.hostProbesAndHostLifecycleV1Dot34(pod({ containers: [{ name: 'a', livenessProbe: { httpGet: { host: 'localhost', port: 1 } }, lifecycle: { preStop: { tcpSocket: { host: '10.0.0.1' } } } }] }));
  assert.equal(probes.forbiddenDetail, 'container "a" uses probe or lifecycle hosts "10.0.0.1", "localhost"');
});

test('restricted volume types: allowed sources, known restricted sources, unknown', () => {
  const r = restricted.restrictedVolumesV1Dot0(pod({
    volumes: [{ name: 'a', configMap: {} }, { name: 'b', nfs: {} }, { name: 'c', hostPath: { path: '/' } }, { name: 'd', foo: {} }, { name: 'e', image: {} }],
  }));
  assert.equal(r.forbiddenReason, 'restricted volume types');
  assert.equal(r.forbiddenDetail, 'volumes "b", "c", "d" use restricted volume types "hostPath", "nfs", "unknown"');
  assert.deepEqual(errs(r).map((e) => e[1]), ['spec.volumes[1].nfs', 'spec.volumes[2].hostPath', 'spec.volumes[3].unknown']);
});

test('version selection: checks introduced later are skipped, the newest applicable version runs', () => {
  const probePod = pod({ containers: [{ name: 'agent', image: 'x', livenessProbe: { httpGet: { host: 'localhost', port: 2703 } } }] });
  const ids = (level: string, version: string, p = probePod) => runChecks(parseLevelVersion(level, version), p).map((f) => f.id);
  // pkg/pss hostprobes_test.go Test_HostProbes_VersionGating
  for (const [version, failing] of [['', true], ['latest', true], ['v1.35', true], ['v1.34', true], ['v1.33', false], ['v1.29', false]] as const) {
    assert.equal(ids('baseline', version).includes('hostProbesAndHostLifecycle'), failing, version);
  }
  const sysctl = pod({ securityContext: { sysctls: [{ name: 'net.ipv4.tcp_keepalive_time' }] }, containers: [] });
  assert.deepEqual(ids('baseline', 'v1.28', sysctl), ['sysctls']);
  assert.deepEqual(ids('baseline', 'v1.29', sysctl), []);
  // runAsUser starts at v1.23, capabilities_restricted at v1.22
  const root = pod({ securityContext: { runAsUser: 0, runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } }, containers: [sc({ allowPrivilegeEscalation: false }, 'a')] });
  assert.deepEqual(ids('restricted', 'v1.21', root), []);
  assert.deepEqual(ids('restricted', 'v1.22', root), ['capabilities_restricted']);
  assert.deepEqual(ids('restricted', 'latest', root), ['capabilities_restricted', 'runAsUser']);
  // restricted runs the baseline checks too; any level but baseline does
  const priv = pod({ containers: [sc({ privileged: true }, 'a')] });
  assert.ok(ids('restricted', 'latest', priv).includes('privileged'));
  assert.deepEqual(ids('baseline', 'latest', priv), ['privileged']);
});

test('user namespaces (pkg/pss evaluate_userns_test.go): relaxations by version', () => {
  const restrictedSC = (extra: JsonObject): JsonObject => ({ allowPrivilegeEscalation: false, runAsNonRoot: true, capabilities: { drop: ['ALL'] }, ...extra });
  const mk = (hostUsers: boolean | undefined, ctx: JsonObject) => pod({
    ...(hostUsers === undefined ? {} : { hostUsers }),
    securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
    containers: [{ name: 'nginx', image: 'nginx', securityContext: ctx }],
  });
  const unmasked = restrictedSC({ procMount: 'Unmasked' });
  const root = restrictedSC({ runAsNonRoot: null, runAsUser: 0 });
  const nonRootFalse = restrictedSC({ runAsNonRoot: false });
  const ids = (level: string, version: string, p: ReturnType<typeof pod>) => runChecks(parseLevelVersion(level, version), p).map((f) => f.id).sort();
  assert.deepEqual(ids('baseline', 'latest', mk(false, unmasked)), []);
  assert.deepEqual(ids('baseline', 'latest', mk(true, unmasked)), ['procMount']);
  assert.deepEqual(ids('baseline', 'latest', mk(undefined, unmasked)), ['procMount']);
  assert.deepEqual(ids('baseline', 'v1.32', mk(false, unmasked)), ['procMount']);
  assert.deepEqual(ids('restricted', 'latest', mk(false, unmasked)), ['procMount_restricted']);
  assert.deepEqual(ids('restricted', 'latest', mk(true, unmasked)), ['procMount', 'procMount_restricted']);
  assert.deepEqual(ids('restricted', 'latest', mk(false, root)), []);
  assert.deepEqual(ids('restricted', 'latest', mk(true, root)), ['runAsNonRoot', 'runAsUser']);
  assert.deepEqual(ids('restricted', 'v1.32', mk(false, root)), ['runAsNonRoot', 'runAsUser']);
  assert.deepEqual(ids('restricted', 'latest', mk(false, nonRootFalse)), []);
  assert.deepEqual(ids('restricted', 'v1.32', mk(false, nonRootFalse)), ['runAsNonRoot']);
  assert.deepEqual(ids('restricted', 'latest', mk(false, restrictedSC({ privileged: true }))), ['privileged']);
});

test('version strings: latest/empty, v1.x only', () => {
  assert.deepEqual(parseLevelVersion('baseline', ''), { level: 'baseline', minor: null });
  assert.deepEqual(parseLevelVersion('baseline', 'latest'), { level: 'baseline', minor: null });
  assert.deepEqual(parseLevelVersion('restricted', 'v1.24'), { level: 'restricted', minor: 24 });
  for (const bad of ['1.24', 'v1.24.1', 'v2.0', 'v1.024', 'Latest', 'v1.']) {
    assert.throws(() => parseLevelVersion('baseline', bad), /must be "latest" or "v1.x"/, bad);
  }
});
