// Cross-check of the Pod Security checks against the corpus's pattern policies that spell
// out the same controls (pod-security/baseline, pod-security/restricted): every resource a
// suite expects to fail one of those rules must fail the matching check, and every resource
// it expects to pass must not. Pods, controllers and CronJobs alike.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { JsonObject } from '../../engine/core/types';
import { type PodSecurityCheckReport, evaluatePodSecurity } from '../../engine/pss';

const BASE = '/work/shared/conformance/kyverno-policies/pod-security';

interface Control {
  level: 'baseline' | 'restricted';
  id: string;
  /** Part of the detail that tells this rule's half of a check apart. */
  detail?: string;
  /** Controls read from pod metadata: Kyverno's handler takes a CronJob's from jobTemplate.metadata, not the pod template's. */
  metadata?: boolean;
}

const RULES: Record<string, Control> = {
  'baseline/disallow-capabilities:adding-capabilities': { level: 'baseline', id: 'capabilities_baseline' },
  'baseline/disallow-host-namespaces:host-namespaces': { level: 'baseline', id: 'hostNamespaces' },
  'baseline/disallow-host-path:host-path': { level: 'baseline', id: 'hostPathVolumes' },
  'baseline/disallow-host-ports:host-ports-none': { level: 'baseline', id: 'hostPorts' },
  'baseline/disallow-host-process:host-process-containers': { level: 'baseline', id: 'windowsHostProcess' },
  'baseline/disallow-privileged-containers:privileged-containers': { level: 'baseline', id: 'privileged' },
  'baseline/disallow-proc-mount:check-proc-mount': { level: 'baseline', id: 'procMount' },
  'baseline/disallow-selinux:selinux-type': { level: 'baseline', id: 'seLinuxOptions', detail: 'type' },
  'baseline/disallow-selinux:selinux-user-role': { level: 'baseline', id: 'seLinuxOptions', detail: 'may not be set' },
  'baseline/restrict-apparmor-profiles:app-armor': { level: 'baseline', id: 'appArmorProfile', metadata: true },
  'baseline/restrict-seccomp:check-seccomp': { level: 'baseline', id: 'seccompProfile_baseline' },
  'baseline/restrict-sysctls:check-sysctls': { level: 'baseline', id: 'sysctls' },
  'restricted/disallow-capabilities-strict:require-drop-all': { level: 'restricted', id: 'capabilities_restricted', detail: 'must set securityContext.capabilities.drop' },
  'restricted/disallow-capabilities-strict:adding-capabilities-strict': { level: 'restricted', id: 'capabilities_restricted', detail: 'must not include' },
  'restricted/disallow-privilege-escalation:privilege-escalation': { level: 'restricted', id: 'allowPrivilegeEscalation' },
  'restricted/require-run-as-non-root-user:run-as-non-root-user': { level: 'restricted', id: 'runAsUser' },
  'restricted/require-run-as-nonroot:run-as-non-root': { level: 'restricted', id: 'runAsNonRoot' },
  'restricted/restrict-seccomp-strict:check-seccomp-strict': { level: 'restricted', id: 'seccompProfile_restricted' },
  'restricted/restrict-volume-types:restricted-volumes': { level: 'restricted', id: 'restrictedVolumes' },
};

function docs(path: string): JsonObject[] {
  return parseAllDocuments(readFileSync(path, 'utf8')).map((d) => d.toJSON() as JsonObject).filter((d) => d && typeof d === 'object');
}

function violates(checks: PodSecurityCheckReport[], control: Control): boolean {
  return checks.some((c) => c.id === control.id && (!control.detail || c.forbiddenDetail.includes(control.detail)));
}

const suites = new Set(Object.keys(RULES).map((k) => k.split(':')[0]));
for (const suite of suites) {
  test(`pattern policy ${suite} agrees with its Pod Security check`, () => {
    const dir = join(BASE, suite, '.kyverno-test');
    assert.ok(existsSync(dir), dir);
    const spec = docs(join(dir, 'kyverno-test.yaml'))[0] as { resources: string[]; results: JsonObject[] };
    const resources = spec.resources.flatMap((p) => docs(join(dir, p)));
    let compared = 0;
    for (const result of spec.results) {
      const control = RULES[`${suite}:${String(result.rule).replace(/^autogen-(cronjob-)?/, '')}`];
      if (!control || (result.result !== 'pass' && result.result !== 'fail')) continue;
      if (control.metadata && result.kind === 'CronJob') continue;
      for (const name of result.resources as string[]) {
        const resource = resources.find((r) => (r.metadata as JsonObject | undefined)?.name === name && r.kind === result.kind);
        assert.ok(resource, `${result.kind}/${name}`);
        const out = evaluatePodSecurity({ level: control.level, version: 'latest' }, resource, { ruleName: String(result.rule) });
        assert.notEqual(out.status, 'error', out.message);
        assert.equal(violates(out.checks, control), result.result === 'fail', `${result.kind}/${name} (${result.rule}): ${out.message}`);
        compared++;
      }
    }
    assert.ok(compared > 0);
  });
}
