// validate.podSecurity as Kyverno's handler reports it (validate_pss.go): messages, pod
// controllers and CronJobs, errors, PolicyExceptions, autogen, and the corpus suites.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { computeRules } from '../../engine/autogen';
import type { AdmissionRequest, JsonObject } from '../../engine/core/types';
import { evaluatePodSecurity, formatChecks, podSecurityRuleProblems, podSecurityRuleResult, podSecurityStandardProblems } from '../../engine/pss';

const restrictedLatest = { level: 'restricted', version: 'latest' };
const podSpec = (containers: JsonObject[], extra: JsonObject = {}): JsonObject => ({ containers, ...extra });
const pod = (spec: JsonObject, metadata: JsonObject = { name: 'p', namespace: 'default' }): JsonObject => ({ apiVersion: 'v1', kind: 'Pod', metadata, spec });
const compliant = (name = 'app'): JsonObject => ({
  name,
  image: 'nginx',
  securityContext: { allowPrivilegeEscalation: false, runAsNonRoot: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } },
});

test('pass message', () => {
  const out = evaluatePodSecurity(restrictedLatest, pod(podSpec([compliant()])), { ruleName: 'restricted' });
  assert.deepEqual(out, { status: 'pass', message: "Validation rule 'restricted' passed.", checks: [] });
});

test('fail message lists each failed check with its field errors, in check order', () => {
  const out = evaluatePodSecurity(restrictedLatest, pod(podSpec([{ name: 'app', image: 'nginx', securityContext: { privileged: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } } }])), { ruleName: 'restricted' });
  assert.equal(out.status, 'fail');
  assert.equal(
    out.message,
    `Validation rule 'restricted' failed. It violates PodSecurity "restricted:latest": ` +
      '(Forbidden reason: allowPrivilegeEscalation != false, field error list: [spec.containers[0].securityContext.allowPrivilegeEscalation is forbidden, forbidden values found: nil])' +
      '(Forbidden reason: privileged, field error list: [spec.containers[0].securityContext.privileged is forbidden, forbidden values found: true])',
  );
  assert.deepEqual(out.path, ['spec', 'containers', 0, 'securityContext', 'allowPrivilegeEscalation']);
  assert.deepEqual(out.checks.map((c) => [c.id, c.controlName]), [['allowPrivilegeEscalation', 'Privilege Escalation'], ['privileged', 'Privileged Containers']]);
  // Kyverno's addImages: the named containers' images as the context's ImageInfo prints them.
  assert.deepEqual(out.checks[0].images, ['docker.io/nginx:latest']);
});

test("a failed podSecurity rule's result carries Kyverno's report properties: level, version, check ids and the controls as JSON", () => {
  const request: AdmissionRequest = { operation: 'CREATE', object: null, oldObject: null } as unknown as AdmissionRequest;
  const rule = { name: 'restricted', validate: { failureAction: 'Audit', podSecurity: restrictedLatest } };
  const bad = pod(podSpec([{ name: 'container01', image: 'dummyimagename', securityContext: { allowPrivilegeEscalation: false, runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } } }]));
  const failed = podSecurityRuleResult(rule, { ...request, object: bad }, bad)!;
  assert.equal(failed.status, 'fail');
  assert.deepEqual(failed.properties, {
    standard: 'restricted',
    version: 'latest',
    controls: 'capabilities_restricted',
    controlsJSON: '[{"ID":"capabilities_restricted","Name":"Capabilities","Images":["docker.io/dummyimagename:latest"]}]',
  });
  // A pod-level check names no container: Go marshals the nil image list as null.
  const hostPid = pod(podSpec([compliant()], { hostPID: true }));
  const podLevel = podSecurityRuleResult({ name: 'b', validate: { podSecurity: { level: 'baseline', version: 'latest' } } }, { ...request, object: hostPid }, hostPid)!;
  assert.equal(podLevel.properties?.controlsJSON, '[{"ID":"hostNamespaces","Name":"Host Namespaces","Images":null}]');
  assert.equal(podSecurityRuleResult(rule, { ...request, object: pod(podSpec([compliant()])) }, pod(podSpec([compliant()])))!.properties, undefined, 'a pass has none');
});

test('required fields print as "<field>: Required value"; lists print Go-style', () => {
  const out = evaluatePodSecurity({ level: 'restricted', version: '' }, pod(podSpec([{ name: 'a', image: 'x', securityContext: { allowPrivilegeEscalation: false, runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' }, capabilities: { add: ['NET_ADMIN', 'SYS_TIME'], drop: ['ALL'] } } }])), { ruleName: 'r' });
  assert.equal(
    out.message,
    'Validation rule \'r\' failed. It violates PodSecurity "restricted:": ' +
      '(Forbidden reason: non-default capabilities, field error list: [spec.containers[0].securityContext.capabilities.add is forbidden, forbidden values found: [NET_ADMIN SYS_TIME]])' +
      '(Forbidden reason: unrestricted capabilities, field error list: [spec.containers[0].securityContext.capabilities.add is forbidden, forbidden values found: [NET_ADMIN SYS_TIME]])',
  );
  const missing = evaluatePodSecurity({ level: 'restricted', version: 'latest' }, pod(podSpec([{ name: 'a', image: 'x' }], { securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } } })), { ruleName: 'r' });
  assert.match(missing.message, /\(Forbidden reason: allowPrivilegeEscalation != false, field error list: \[spec\.containers\[0\]\.securityContext\.allowPrivilegeEscalation: Required value\]\)/);
  assert.equal(formatChecks([{ forbiddenReason: 'x' }]), '(Forbidden reason: x, field error list: [])');
});

test('controllers: pod template is checked, reported fields name the template, path points into the resource', () => {
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'd' },
    spec: { template: { metadata: { labels: { a: 'b' } }, spec: podSpec([{ name: 'a', image: 'x', securityContext: { privileged: true } }], { hostPID: true }) } },
  };
  const out = evaluatePodSecurity({ level: 'baseline', version: 'latest' }, deployment, { ruleName: 'autogen-baseline' });
  assert.equal(
    out.message,
    `Validation rule 'autogen-baseline' failed. It violates PodSecurity "baseline:latest": ` +
      '(Forbidden reason: host namespaces, field error list: [spec.template.spec.hostPID is forbidden, forbidden values found: true])' +
      '(Forbidden reason: privileged, field error list: [spec.template.spec.containers[0].securityContext.privileged is forbidden, forbidden values found: true])',
  );
  assert.deepEqual(out.path, ['spec', 'template', 'spec', 'hostPID']);
  for (const kind of ['DaemonSet', 'Job', 'StatefulSet', 'ReplicaSet', 'ReplicationController']) {
    assert.equal(evaluatePodSecurity({ level: 'baseline' }, { ...deployment, kind }).status, 'fail', kind);
  }
});

test('CronJob: job template pod spec, metadata read from jobTemplate.metadata (as Kyverno does)', () => {
  const annotations = { 'container.apparmor.security.beta.kubernetes.io/a': 'unconfined' };
  const cron = (jobMeta: JsonObject, templateMeta: JsonObject): JsonObject => ({
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'c' },
    spec: { schedule: '* * * * *', jobTemplate: { metadata: jobMeta, spec: { template: { metadata: templateMeta, spec: podSpec([{ name: 'a', image: 'x' }]) } } } },
  });
  assert.equal(evaluatePodSecurity({ level: 'baseline' }, cron({}, { annotations })).status, 'pass');
  const out = evaluatePodSecurity({ level: 'baseline' }, cron({ annotations }, {}), { ruleName: 'r' });
  assert.equal(out.status, 'fail');
  assert.deepEqual(out.path, ['spec', 'jobTemplate', 'metadata', 'annotations', 'container.apparmor.security.beta.kubernetes.io/a']);
  // convertChecks: "spec" then "metadata" are replaced as plain substrings.
  assert.match(out.message, /field error list: \[spec\.template\.metadata\.annotations\[container\.apparmor\.security\.beta\.kubernetes\.io\/a\] is forbidden, forbidden values found: unconfined\]/);
  const onPod = evaluatePodSecurity({ level: 'baseline' }, pod(podSpec([{ name: 'a', image: 'x' }]), { name: 'p', annotations }));
  assert.match(onPod.message, /\[spec\.template\.metadata\.annotations\[container\.apparmor\.security\.beta\.kubernetes\.io\/a\] is forbidden/);
  assert.deepEqual(onPod.path, ['metadata', 'annotations', 'container.apparmor.security.beta.kubernetes.io/a']);
  const privileged = evaluatePodSecurity({ level: 'baseline' }, {
    kind: 'CronJob',
    spec: { jobTemplate: { spec: { template: { spec: podSpec([{ name: 'a', image: 'x', securityContext: { privileged: true } }]) } } } },
  });
  assert.equal(privileged.checks[0].fields[0].field, 'spec.jobTemplate.spec.template.spec.containers[0].securityContext.privileged');
  assert.deepEqual(privileged.path, ['spec', 'jobTemplate', 'spec', 'template', 'spec', 'containers', 0, 'securityContext', 'privileged']);
});

test('errors: unsupported kind, bad version, wrongly typed fields', () => {
  assert.deepEqual(evaluatePodSecurity({ level: 'baseline' }, { kind: 'Service', spec: {} }), {
    status: 'error',
    message: 'Error while getting new resource: could not find correct resource type',
    checks: [],
  });
  const badVersion = evaluatePodSecurity({ level: 'baseline', version: 'v1.24.3' }, pod(podSpec([])));
  assert.equal(badVersion.status, 'error');
  assert.equal(badVersion.message, 'failed to parse pod security api version: must be "latest" or "v1.x"');
  const badType = evaluatePodSecurity({ level: 'baseline' }, pod(podSpec([{ name: 'a', securityContext: { privileged: 'true' } }])));
  assert.equal(badType.status, 'error');
  assert.equal(badType.message, 'Error while getting new resource: json: cannot unmarshal string into Go struct field SecurityContext.spec.containers.securityContext.privileged of type bool');
  const badList = evaluatePodSecurity({ level: 'baseline' }, pod({ containers: { name: 'a' } }));
  assert.equal(badList.status, 'error');
  assert.match(badList.message, /cannot unmarshal object into Go struct field PodSpec\.spec\.containers of type \[\]v1\.Container/);
  const badPort = evaluatePodSecurity({ level: 'baseline' }, pod(podSpec([{ name: 'a', ports: [{ hostPort: 1.5 }] }])));
  assert.equal(badPort.status, 'error');
});

test('PolicyExceptions: one without podSecurity skips the rule; podSecurity controls are pooled', () => {
  const bad = pod(podSpec([{ name: 'a', image: 'nginx', securityContext: { privileged: true }, ports: [{ hostPort: 80 }] }]));
  const ex = (name: string, spec: JsonObject): JsonObject => ({ apiVersion: 'kyverno.io/v2', kind: 'PolicyException', metadata: { name, namespace: 'kyverno' }, spec });
  const plain = ex('plain', {});
  const pss = (name: string, exclude: JsonObject[]): JsonObject => ex(name, { podSecurity: exclude });
  assert.deepEqual(evaluatePodSecurity({ level: 'baseline' }, bad, { ruleName: 'r', exceptions: [pss('first', []), plain] }), {
    status: 'skip',
    message: 'rule is skipped due to policy exception kyverno/plain',
    checks: [],
    exceptions: ['plain'],
  });
  const both = [pss('priv', [{ controlName: 'Privileged Containers', images: ['nginx'] }]), pss('ports', [{ controlName: 'Host Ports', images: ['nginx'] }])];
  assert.deepEqual(evaluatePodSecurity({ level: 'baseline' }, bad, { ruleName: 'r', exceptions: both }), {
    status: 'skip',
    message: 'rule is skipped due to policy exceptions kyverno/priv, kyverno/ports',
    checks: [],
    exceptions: ['priv', 'ports'],
  });
  const partial = evaluatePodSecurity({ level: 'baseline' }, bad, { ruleName: 'r', exceptions: [both[0]] });
  assert.equal(partial.status, 'fail');
  assert.deepEqual(partial.checks.map((c) => c.id), ['hostPorts']);
  assert.match(partial.message, /^Validation rule 'r' failed\. It violates PodSecurity "baseline:": \(Forbidden reason: hostPort, /);
  // Exceptions are matched on the pod's own fields, before they are rewritten for controllers.
  const deployment = { kind: 'Deployment', spec: { template: { spec: bad.spec } } };
  assert.equal(evaluatePodSecurity({ level: 'baseline' }, deployment, { exceptions: both }).status, 'skip');
  // A passing pod passes whatever the exceptions say.
  assert.equal(evaluatePodSecurity({ level: 'baseline' }, pod(podSpec([{ name: 'a' }])), { exceptions: both }).status, 'pass');
});

test('podSecurityRuleResult: DELETE, old object fallback, pre-existing violations on UPDATE', () => {
  const request = (operation: AdmissionRequest['operation'], object: JsonObject | null, oldObject: JsonObject | null): AdmissionRequest => ({
    operation,
    object,
    oldObject,
    requestInfo: { roles: [], clusterRoles: [], userInfo: {} },
  });
  const bad = pod(podSpec([{ name: 'a', securityContext: { privileged: true } }]));
  const good = pod(podSpec([{ name: 'a' }]));
  const rule = { name: 'r', validate: { podSecurity: { level: 'baseline' } } };
  assert.equal(podSecurityRuleResult(rule, request('DELETE', null, bad), null), null);
  const r = podSecurityRuleResult(rule, request('UPDATE', null, bad), null);
  assert.equal(r?.status, 'fail');
  assert.equal(r?.type, 'Validation');
  assert.deepEqual(r?.path, ['spec', 'containers', 0, 'securityContext', 'privileged']);
  const matches = () => true;
  const update = request('UPDATE', bad, bad);
  assert.deepEqual(podSecurityRuleResult(rule, update, bad, { policyFailureAction: 'Enforce', oldObjectMatches: matches }), {
    name: 'r',
    type: 'Validation',
    status: 'skip',
    message: 'skipping the rule evaluation as pre-existing violations are allowed',
  });
  assert.equal(podSecurityRuleResult(rule, update, bad, { policyFailureAction: 'Audit', oldObjectMatches: matches })?.status, 'fail');
  assert.equal(podSecurityRuleResult(rule, request('UPDATE', bad, good), bad, { policyFailureAction: 'Enforce', oldObjectMatches: matches })?.status, 'fail');
  const strict = { name: 'r', validate: { podSecurity: { level: 'baseline' }, failureAction: 'Enforce', allowExistingViolations: false } };
  assert.equal(podSecurityRuleResult(strict, update, bad, { oldObjectMatches: matches })?.status, 'fail');
  assert.equal(podSecurityRuleResult(rule, update, bad, { policyFailureAction: 'Enforce', oldObjectMatches: () => false })?.status, 'fail');
});

test('autogen keeps podSecurity, and the controller rule evaluates the template', () => {
  const policy = {
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name: 'p' },
    spec: { rules: [{ name: 'baseline', match: { any: [{ resources: { kinds: ['Pod'] } }] }, validate: { podSecurity: { level: 'baseline', version: 'latest' } } }] },
  };
  const rules = computeRules(policy);
  const controllerRule = rules.find((r) => r.name === 'autogen-baseline');
  const cronRule = rules.find((r) => r.name === 'autogen-cronjob-baseline');
  assert.ok(controllerRule && cronRule);
  const ps = (r: JsonObject) => (r.validate as JsonObject).podSecurity;
  const template = { spec: podSpec([{ name: 'a', securityContext: { privileged: true } }]) };
  assert.equal(evaluatePodSecurity(ps(controllerRule), { kind: 'Deployment', spec: { template } }).status, 'fail');
  assert.equal(evaluatePodSecurity(ps(cronRule), { kind: 'CronJob', spec: { jobTemplate: { spec: { template } } } }).status, 'fail');
});

const CORPUS = '/work/shared/conformance/kyverno-policies/pod-security/subrule';
const SUITES = ['restricted/restricted-latest', 'restricted/restricted-exclude-seccomp', 'restricted/restricted-exclude-capabilities', 'podsecurity-subrule-baseline'];

function docs(path: string): JsonObject[] {
  return parseAllDocuments(readFileSync(path, 'utf8')).map((d) => d.toJSON() as JsonObject).filter((d) => d && typeof d === 'object');
}

for (const suite of SUITES) {
  test(`corpus ${suite}: expected results`, () => {
    const dir = join(CORPUS, suite, '.kyverno-test');
    const spec = docs(join(dir, 'kyverno-test.yaml'))[0] as { policies: string[]; resources: string[]; results: JsonObject[] };
    const policies = spec.policies.flatMap((p) => docs(join(dir, p)));
    const resources = spec.resources.flatMap((p) => docs(join(dir, p)));
    let checked = 0;
    for (const result of spec.results) {
      const policy = policies.find((p) => (p.metadata as JsonObject).name === result.policy) as JsonObject;
      const rule = ((policy.spec as JsonObject).rules as JsonObject[]).find((r) => r.name === result.rule) as JsonObject;
      for (const name of result.resources as string[]) {
        const resource = resources.find((r) => (r.metadata as JsonObject).name === name && r.kind === result.kind) as JsonObject;
        const out = evaluatePodSecurity((rule.validate as JsonObject).podSecurity, resource, { ruleName: String(rule.name) });
        assert.equal(out.status, result.result, `${name}: ${out.message}`);
        checked++;
      }
    }
    assert.ok(checked > 0);
  });
}

test('podSecurityRuleProblems: what Kyverno refuses in a rule\'s podSecurity exclusions (ValidatePSaControlNames)', () => {
  const rule = ['spec', 'rules', 0];
  assert.deepEqual(podSecurityRuleProblems(rule, { level: 'restricted', version: 'latest', exclude: [{ controlName: 'Seccomp' }, { controlName: 'Seccomp', images: ['*'] }] }), []);
  const problems = podSecurityRuleProblems(rule, {
    level: 'restricted',
    exclude: [
      { controlName: 'Capabilities' },
      { controlName: 'Host Namespaces', images: ['nginx'] },
      { controlName: 'SELinux', restrictedField: 'spec.securityContext.seLinuxOptions.type' },
      { controlName: 'SELinux', values: ['x'] },
    ],
  });
  const excludeAt = ['spec', 'rules', 0, 'validate', 'podSecurity', 'exclude'];
  assert.deepEqual(problems.map((p) => p.path), [[...excludeAt, 0, 'controlName'], [...excludeAt, 1, 'controlName'], [...excludeAt, 2, 'values'], [...excludeAt, 3, 'restrictedField']]);
  // Kyverno's field path leaves out `validate`.
  assert.deepEqual(problems.map((p) => p.message), [
    'spec.rules[0].podSecurity.exclude[0].controlName: Invalid value: "Capabilities": exclude.images must be specified for the container level control',
    'spec.rules[0].podSecurity.exclude[1].controlName: Invalid value: "Host Namespaces": exclude.images must not be specified for the pod level control',
    'spec.rules[0].podSecurity.exclude[2].values: Forbidden: values is required',
    'spec.rules[0].podSecurity.exclude[3].restrictedField: Forbidden: restrictedField is required',
  ]);
  // kyverno/kyverno#4808: a baseline rule cannot exclude a restricted-only control (Seccomp exists at both levels).
  const atBaseline = podSecurityRuleProblems(rule, { level: 'baseline', exclude: [{ controlName: 'Running as Non-root', images: ['nginx'] }, { controlName: 'Seccomp', images: ['nginx'] }] });
  assert.deepEqual(atBaseline.map((p) => p.message), ['spec.rules[0].podSecurity.exclude[0].controlName: Invalid value: "Running as Non-root": Invalid control name defined at the given level']);
  assert.deepEqual(podSecurityRuleProblems(rule, { level: 'restricted', exclude: [{ controlName: 'Privileged Containers', images: ['x*'] }] }), []);
});

test('podSecurityStandardProblems: a PolicyException\'s podSecurity entries, at Kyverno\'s paths', () => {
  const problems = podSecurityStandardProblems([{ controlName: 'Capabilities' }, { controlName: 'Seccomp', restrictedField: 'spec.securityContext.seccompProfile.type' }], 'spec.podSecurity', ['spec', 'podSecurity']);
  assert.deepEqual(problems, [
    { path: ['spec', 'podSecurity', 0, 'controlName'], message: 'spec.podSecurity[0].controlName: Invalid value: "Capabilities": exclude.images must be specified for the container level control' },
    { path: ['spec', 'podSecurity', 1, 'values'], message: 'spec.podSecurity[1].values: Forbidden: values is required' },
  ]);
});
