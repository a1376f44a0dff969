/** Kyverno's policy validation at create/update (pkg/validation/policy, api/kyverno/v1 Validate), with its messages. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkExceptionForAdmission, checkPolicyForAdmission, globalContextEntryAdmissionVerdict, policyAdmissionVerdict, verdictResult } from '../../engine/policy/admission-checks';

const rule = (body: Record<string, unknown>, name = 'r') => ({ name, match: { any: [{ resources: { kinds: ['ConfigMap'] } }] }, ...body });
const cpol = (spec: Record<string, unknown>, meta: Record<string, unknown> = {}) => ({ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'p', ...meta }, spec });
const pol = (spec: Record<string, unknown>) => ({ apiVersion: 'kyverno.io/v1', kind: 'Policy', metadata: { name: 'p', namespace: 'team' }, spec });
const validate = { validate: { pattern: { metadata: { labels: { a: '?*' } } } } };

test('a valid policy passes', () => {
  assert.deepEqual(checkPolicyForAdmission(cpol({ rules: [rule(validate)] })), { warnings: [] });
});

test('webhook timeouts outside 1-30 seconds, in either field', () => {
  assert.equal(checkPolicyForAdmission(cpol({ webhookTimeoutSeconds: 31, rules: [rule(validate)] })).error, 'spec.webhookTimeoutSeconds: Invalid value: 31: the timeout value must be between 1 and 30 seconds');
  assert.equal(checkPolicyForAdmission(cpol({ webhookConfiguration: { timeoutSeconds: 0 }, rules: [rule(validate)] })).error, 'spec.webhookConfiguration.timeoutSeconds: Invalid value: 0: the timeout value must be between 1 and 30 seconds');
  assert.equal(
    checkPolicyForAdmission(cpol({ webhookTimeoutSeconds: 40, webhookConfiguration: { timeoutSeconds: 5 }, rules: [rule(validate)] })).error,
    '[spec.webhookTimeoutSeconds: Forbidden: remove the deprecated field and use spec.webhookConfiguration.timeoutSeconds instead, spec.webhookTimeoutSeconds: Invalid value: 40: the timeout value must be between 1 and 30 seconds]',
    'several errors aggregate in brackets',
  );
});

test('mutate existing without targets', () => {
  const mutate = { mutate: { patchStrategicMerge: { metadata: { labels: { a: 'b' } } } } };
  assert.equal(checkPolicyForAdmission(cpol({ mutateExistingOnPolicyUpdate: true, rules: [rule(mutate)] })).error, 'spec.mutateExistingOnPolicyUpdate: Forbidden: rules[0].mutate.targets has to be specified when mutateExistingOnPolicyUpdate is set');
  assert.equal(checkPolicyForAdmission(cpol({ rules: [rule({ mutate: { ...mutate.mutate, mutateExistingOnPolicyUpdate: true, targets: [{ apiVersion: 'v1', kind: 'ConfigMap' }] } })] })).error, undefined);
});

test('a namespaced Policy: generate and mutate targets stay in its namespace', () => {
  const gen = (g: Record<string, unknown>) => pol({ rules: [rule({ generate: { apiVersion: 'v1', kind: 'ConfigMap', name: 'x', data: {}, ...g } })] });
  assert.equal(checkPolicyForAdmission(gen({ namespace: 'other' })).error, 'spec.rules[0].namespace: Forbidden: target resource scope mismatched: a namespaced policy cannot generate resources in other namespaces, expected: team, received: other ');
  assert.equal(checkPolicyForAdmission(gen({ namespace: 'team' })).error, undefined);
  assert.match(String(checkPolicyForAdmission(gen({ kind: 'Namespace', namespace: 'team' })).error), /the target must be a namespaced resource: v1\/Namespace/);
  assert.equal(
    checkPolicyForAdmission(pol({ rules: [rule({ mutate: { targets: [{ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'other' }], patchStrategicMerge: {} } })] })).error,
    'spec.rules[0].targets[0].namespace: Invalid value: "other": This field can be ignored or should have value of the namespace where the policy is being created',
  );
  assert.equal(checkPolicyForAdmission(pol({ validationFailureActionOverrides: [{ action: 'Audit' }], rules: [rule(validate)] })).error, 'spec.validationFailureActionOverrides: Forbidden: Use of validationFailureActionOverrides is supported only with ClusterPolicy');
});

test('generate patterns: required fields, scope of the target, one pattern only', () => {
  const gen = (g: Record<string, unknown>) => cpol({ rules: [rule({ generate: g })] });
  assert.equal(checkPolicyForAdmission(gen({ apiVersion: 'v1', kind: 'ConfigMap', name: 'x', data: {} })).error, 'spec.rules[0].namespace: Forbidden: target namespace must be set for a namespaced resource');
  assert.equal(checkPolicyForAdmission(gen({ apiVersion: 'v1', kind: 'Namespace', name: 'x', namespace: 'y', data: {} })).error, 'spec.rules[0].namespace: Forbidden: target namespace must not be set for a cluster-wide resource');
  assert.equal(checkPolicyForAdmission(gen({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'n', data: {} })).error, 'spec.rules[0].name: Forbidden: name can not be empty');
  assert.equal(checkPolicyForAdmission(gen({ apiVersion: 'v1', kind: 'ConfigMap', name: 'x', namespace: 'n', data: {}, clone: { name: 'a', namespace: 'b' } })).error, 'spec.rules[0]: Forbidden: only one of generate patterns(data, clone, cloneList and foreach) can be specified');
});

test('policy-level checks: namespace on a ClusterPolicy, autogen all, long names, admission and background', () => {
  assert.deepEqual(checkPolicyForAdmission(cpol({ rules: [rule(validate)] }, { namespace: 'x' })), { error: 'A clusterpolicy should not have the namespace defined', warnings: ['A clusterpolicy should not have the namespace defined'] });
  assert.equal(checkPolicyForAdmission(cpol({ rules: [rule(validate)] }, { annotations: { 'pod-policies.kyverno.io/autogen-controllers': 'all' } })).error, "metadata.annotations: Forbidden: Autogen annotation does not support 'all' anymore, remove the annotation or set it to a valid value");
  assert.equal(checkPolicyForAdmission(cpol({ rules: [rule(validate)] }, { name: 'x'.repeat(64) })).error, 'name: Too long: may not be more than 63 bytes');
  assert.equal(checkPolicyForAdmission(cpol({ admission: false, background: false, rules: [rule(validate)] })).error, 'disabling both admission and background processing is not allowed');
  assert.equal(checkPolicyForAdmission(cpol({ admission: false, rules: [rule({ mutate: { patchStrategicMerge: {} } })] })).error, 'disabling admission processing is only allowed with validation policies');
});

test('match/exclude user info and resource descriptions are validated as UserInfo/ResourceDescription.Validate do', () => {
  const withFilter = (filter: Record<string, unknown>, spec: (s: Record<string, unknown>) => Record<string, unknown> = cpol) =>
    checkPolicyForAdmission(spec({ background: false, rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['ConfigMap'] }, ...filter }] }, ...validate }] }) as never).error;
  assert.equal(withFilter({ subjects: [{ kind: 'Foo', name: 'foo' }] }), `spec.rules[0].match.any[0].subjects[0].kind: Invalid value: "Foo": kind must be 'User', 'Group', or 'ServiceAccount'`);
  assert.equal(withFilter({ subjects: [{ kind: 'ServiceAccount', name: 'sa' }] }), 'spec.rules[0].match.any[0].subjects[0].namespace: Required value: namespace is required when Kind is ServiceAccount');
  assert.equal(withFilter({ roles: ['no-namespace'] }), 'spec.rules[0].match.any[0].roles[0]: Invalid value: "no-namespace": Role is expected to be in namespace:name format');
  assert.equal(withFilter({ subjects: [{ kind: 'User', name: 'chip' }], roles: ['ns:r'] }), undefined);
  assert.equal(
    checkPolicyForAdmission(pol({ background: false, rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['Namespace', 'ConfigMap'], namespaces: ['x'] } }] }, ...validate }] })).error,
    "[spec.rules[0].match.any[0].namespaces: Forbidden: Filtering namespaces not allowed in namespaced policies, spec.rules[0].match.any[0].kinds[0]: Forbidden: Cluster wide resource 'Namespace' not allowed in namespaced policy]",
  );
});

test('wildcard kinds and background validate rules on subresources are refused as validateKinds does', () => {
  const kinds = (k: string[], body: Record<string, unknown> = validate, background = true) =>
    checkPolicyForAdmission(cpol({ background, rules: [{ name: 'r', match: { any: [{ resources: { kinds: k } }] }, ...body }] })).error;
  // Kyverno's background-subresource scenarios refuse these, served or not.
  assert.equal(kinds(['Scale']), 'path: spec.rules[0].match.any[0].kinds: background scan enabled with subresource Scale');
  assert.equal(kinds(['Pod/scale']), 'path: spec.rules[0].match.any[0].kinds: background scan enabled with subresource Pod/scale');
  assert.equal(kinds(['Pod/*']), 'path: spec.rules[0].match.any[0].kinds: background scan enabled with subresource Pod/*');
  assert.equal(kinds(['*/status']), 'path: spec.rules[0].match.any[0].kinds: background scan enabled with subresource */status');
  assert.equal(kinds(['Pod/exec'], validate, false), undefined, 'background off: subresources are fine');
  assert.equal(kinds(['tekton.dev/v1/TaskRun.status']), undefined, 'a subresource of a kind we do not know only earns Kyverno a warning');
  assert.equal(kinds(['Pod/exec'], { mutate: { patchStrategicMerge: { metadata: { labels: { a: 'b' } } } } }), undefined, 'only validate rules');
  assert.match(kinds(['*'])!, /wildcard policy not allowed in background mode/);
  assert.equal(kinds(['*', 'Pod'], validate, false), 'path: spec.rules[0].match.any[0].kinds: wildcard policy can not deal with more than one kind');
  assert.equal(kinds(['*'], { verifyImages: [{ imageReferences: ['*'] }] }, false), 'path: spec.rules[0].match.any[0].kinds: wildcard policy does not support rule type');
});

test('a kind discovery cannot resolve admits the policy with validKinds\' warning and ends the checks', () => {
  const policy = (k: string[], background = false) => cpol({ background, rules: [{ name: 'r', match: { any: [{ resources: { kinds: k } }] }, ...validate }] });
  const warning = (k: string) => `the kind defined in the all match resource is invalid: unable to convert GVK to GVR for kinds ${k}, err: resource not found`;
  // Scale is only ever a subresource's kind: FindResources looks at top-level resources.
  for (const k of ['Foo', 'Foo/*', 'v2/Pod', 'Pod/foo', 'Scale']) {
    assert.deepEqual(policyAdmissionVerdict(policy([k])), { errors: [], warnings: [warning(k)] }, k);
    // The CLI's mock validation looks nothing up.
    assert.deepEqual(policyAdmissionVerdict(policy([k]), { withoutCluster: true }), { errors: [], warnings: [] }, k);
  }
  // The first unresolved kind ends validation: a later background subresource is not looked at.
  assert.deepEqual(policyAdmissionVerdict(policy(['Foo', 'Pod/exec'], true)).errors, []);
  assert.match(checkPolicyForAdmission(policy(['Pod/exec', 'Foo'], true)).error ?? '', /background scan enabled with subresource Pod\/exec/);
  // The webhook hands in the cluster's discovery: a CRD it serves resolves, a served subresource counts.
  const asked: string[][] = [];
  const discovery = (group: string, version: string, kind: string, subresource: string) => {
    asked.push([group, version, kind, subresource]);
    return kind === 'Widget' ? [{ group: 'example.com', version: 'v1', resource: 'widgets', subresource: subresource === '' ? '' : 'scale', namespaced: true }] : [];
  };
  assert.deepEqual(policyAdmissionVerdict(policy(['example.com/v1/Widget']), { findResources: discovery }), { errors: [], warnings: [] });
  assert.deepEqual(asked, [['example.com', 'v1', 'Widget', '']]);
  assert.match(checkPolicyForAdmission(policy(['Widget/scale'], true), { findResources: discovery }).error ?? '', /background scan enabled with subresource Widget\/scale/);
  assert.deepEqual(policyAdmissionVerdict(policy(['Pod']), { findResources: discovery }).warnings, [warning('Pod')], 'discovery, not the built-in table, answers');
});

test('target variables are refused outside mutate targets (hasInvalidVariables)', () => {
  const mutateExisting = (extra: Record<string, unknown>, target: Record<string, unknown> = {}) => cpol({
    background: false,
    rules: [{
      name: 'r', match: { any: [{ resources: { kinds: ['ConfigMap'] } }] },
      context: [{ name: 'trigger', variable: { jmesPath: 'request.object.data' } }],
      ...extra,
      mutate: { targets: [{ apiVersion: 'v1', kind: 'ConfigMap', namespace: '{{ request.object.metadata.namespace }}', name: 't*', ...target }], patchStrategicMerge: { data: { a: '{{ target.data.b }}', c: '{{ trigger.x }}' } } },
    }],
  });
  assert.equal(checkPolicyForAdmission(mutateExisting({})).error, undefined, 'target. in the patch and context names are fine');
  assert.match(checkPolicyForAdmission(mutateExisting({ preconditions: { all: [{ key: '{{ target.data.b }}', operator: 'Equals', value: 'x' }] } })).error!, /^policy contains invalid variables: invalid variables defined at mutate\.targets\[0\]: failed to resolve target\.data\.b at path \/preconditions\/all\/0\/key: variable target\.data\.b must match regex/);
  assert.match(checkPolicyForAdmission(mutateExisting({}, { name: '{{ target.metadata.name }}' })).error!, /failed to resolve target\.metadata\.name at path \/mutate\/targets\/0\/name/);
});

test('background mode: no user info in match/exclude and no user variables (containsUserVariables)', () => {
  const bg = (body: Record<string, unknown>, background?: boolean) =>
    checkPolicyForAdmission(cpol({ ...(background === undefined ? {} : { background }), rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['Pod'] }, ...body }] }, validate: { message: '{{ request.object.metadata.name }}', deny: {} } }] })).error;
  assert.equal(bg({ roles: ['foo-role'] }), 'only select variables are allowed in background mode. Set spec.background=false to disable background mode for this policy rule: invalid variable used at path: spec/rules[0]/match/any[0]/roles ');
  assert.equal(bg({ roles: ['ns:foo-role'] }, false), undefined);
  const withVariable = checkPolicyForAdmission(cpol({ rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['Pod'] } }] }, validate: { message: 'by {{ request.userInfo.username }}', deny: {} } }] })).error;
  assert.equal(withVariable, 'only select variables are allowed in background mode. Set spec.background=false to disable background mode for this policy rule: variable {{ request.userInfo.username }} is not allowed ');
});

test('PolicyExceptions are checked as Kyverno’s exception webhooks check them', () => {
  const polex = (spec: Record<string, unknown>) => ({ apiVersion: 'kyverno.io/v2', kind: 'PolicyException', metadata: { name: 'e', namespace: 'n' }, spec });
  const exceptions = [{ policyName: 'p', ruleNames: ['r'] }];
  assert.equal(checkExceptionForAdmission(polex({ exceptions, match: { any: [{ resources: { kinds: ['Pod'] }, subjects: [{ kind: 'User', name: 'chip' }] }] } })).error, 'spec.match.any[0].subjects: Forbidden: Usage of user info is forbidden');
  assert.equal(checkExceptionForAdmission(polex({ background: false, exceptions, match: { any: [{ resources: { kinds: ['Pod'] }, subjects: [{ kind: 'User', name: 'chip' }] }] } })).error, undefined);
  assert.equal(checkExceptionForAdmission(polex({ exceptions: [{ ruleNames: ['r'] }], match: { any: [{ resources: { kinds: ['Pod'] } }] } })).error, 'spec.exceptions[0].policyName: Required value: An exception requires a policy name');
  const cel = (spec: Record<string, unknown>) => ({ apiVersion: 'policies.kyverno.io/v1alpha1', kind: 'PolicyException', metadata: { name: 'e' }, spec });
  assert.equal(checkExceptionForAdmission(cel({ matchConditions: [] })).error, 'spec.policyRefs: Invalid value: []v1beta1.PolicyRef(nil): must specify at least one policy ref');
  assert.equal(checkExceptionForAdmission(cel({ policyRefs: [{ name: 'p' }] })).error, 'spec.policyRefs[0].kind: Invalid value: "": must specify policy kind');
  assert.equal(checkExceptionForAdmission(cel({ policyRefs: [{ name: 'p', kind: 'ValidatingPolicy' }] })).error, undefined);
});

test('mutate targets: a target looked up with a variable only known once found (target.*) is an invalid variable; request, context entries are fine', () => {
  const policy = (namespace: string, extra: Record<string, unknown> = {}) => ({
    apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'p' },
    spec: { ...extra, rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['Secret'] } }] },
      context: [{ name: 'ns', variable: { value: 'apps' } }],
      mutate: { targets: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'cm', namespace }], patchStrategicMerge: { metadata: { labels: { a: '{{ target.metadata.name }}' } } } } }] },
  });
  const bad = checkPolicyForAdmission(policy('{{target.metadata.annotations.dns}}'));
  assert.equal(bad.error, 'policy contains invalid variables: invalid variables defined at mutate.targets[0]: failed to resolve target.metadata.annotations.dns at path /mutate/targets/0/namespace: variable target.metadata.annotations.dns must match regex "request\\.|element|elementIndex|@|images|images\\.|image\\.|([a-z_0-9]+\\()[^{}]" or patterns [ns*]');
  // Not in background mode: Kyverno's ReservedKeys.
  assert.match(checkPolicyForAdmission(policy('{{target.x}}', { background: false })).error ?? '', /must match regex "request\|serviceAccountName\|/);
  // target.* in the patch is what targets are for; request.* and context entries may name the target.
  assert.equal(checkPolicyForAdmission(policy('{{ request.object.metadata.namespace }}')).error, undefined);
  assert.equal(checkPolicyForAdmission(policy('{{ ns }}')).error, undefined);
});

test('GlobalContextEntry: one of kubernetesResource and apiCall, a complete resource, a sound apiCall, named projections (Kyverno\'s paths and messages)', () => {
  const gce = (spec: Record<string, unknown>) => ({ apiVersion: 'kyverno.io/v2alpha1', kind: 'GlobalContextEntry', metadata: { name: 'e' }, spec });
  const check = (spec: Record<string, unknown>) => verdictResult(globalContextEntryAdmissionVerdict(gce(spec))).error;
  assert.equal(check({ kubernetesResource: { version: 'v1', resource: 'pods' } }), undefined, 'core v1 needs no group');
  assert.equal(check({ apiCall: { urlPath: '/api/v1/pods', refreshInterval: '1h' }, projections: [{ name: 'n', jmesPath: 'items' }] }), undefined);
  assert.equal(check({ apiCall: { service: { url: 'http://svc' } } }), undefined, 'the refresh interval defaults to 10m');
  const either = 'spec.kubernetesResource: Forbidden: A global context entry should either have KubernetesResource or APICall';
  assert.equal(check({}), either);
  assert.equal(check({ kubernetesResource: { group: 'apps', version: 'v1', resource: 'deployments' }, apiCall: { urlPath: '/x' } }), either);
  assert.equal(check({ kubernetesResource: { version: 'v2', resource: 'x' } }), 'spec.resource.group: Required value: A Resource entry requires a group');
  assert.equal(check({ kubernetesResource: { group: 'apps' } }), '[spec.resource.version: Required value: A Resource entry requires a version, spec.resource.resource: Required value: A Resource entry requires a resource]');
  // A service call with data but no POST (the chainsaw scenario validate-apicall-data).
  assert.equal(check({ apiCall: { service: { url: 'http://localhost:8080' }, method: 'GET', data: [{ key: 'foo', value: 'bar' }], refreshInterval: '10s' } }), 'spec.apiCall.method: Forbidden: An External API call with data should have method as POST');
  assert.equal(check({ apiCall: { service: { url: 'http://svc' }, urlPath: '/api/v1/pods' } }), 'spec.apiCall.service: Forbidden: An External API call should either have Service or URLPath');
  assert.equal(check({ apiCall: { urlPath: '/api/v1/pods', refreshInterval: '0s' } }), 'spec.apiCall.refreshIntervalSeconds: Required value: A Resource entry requires a refresh interval greater than 0 seconds');
  assert.equal(
    check({ kubernetesResource: { version: 'v1', resource: 'pods' }, projections: [{ name: '', jmesPath: 'a' }, { name: 'e' }] }),
    '[spec.projections[0].name: Required value: A projection entry requires a name, spec.projections[1].name: Required value: A projection entry requires a name different from the global context entry name, spec.projections[1].jmesPath: Required value: A projection entry requires a JMESPath]',
  );
});

test('each error carries the path of the value at fault, and the webhook message aggregates the same list', async () => {
  const { policyAdmissionVerdict, exceptionAdmissionVerdict, verdictResult } = await import('../../engine/policy/admission-checks');
  const { admissionVerdict } = await import('../../engine/policy/admission');
  const policy = pol({
    background: false,
    webhookTimeoutSeconds: 0,
    rules: [
      { name: 'r', match: { any: [{ resources: { kinds: ['ConfigMap'], namespaces: ['x'] }, subjects: [{ kind: 'Robot', name: 'n' }] }] }, ...validate },
      { name: 'g', match: { any: [{ resources: { kinds: ['ConfigMap'] } }] }, generate: { apiVersion: 'v1', kind: 'ConfigMap', name: 'c', namespace: 'other', data: {} } },
      { name: 'm', match: { any: [{ resources: { kinds: ['ConfigMap'] } }] }, mutate: { targets: [{ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'elsewhere' }], patchStrategicMerge: {} } },
    ],
  });
  const verdict = policyAdmissionVerdict(policy);
  assert.deepEqual(verdict.errors.map((e) => e.path), [
    ['spec', 'webhookTimeoutSeconds'],
    ['spec', 'rules', 0, 'match', 'any', 0, 'subjects', 0, 'kind'],
    ['spec', 'rules', 0, 'match', 'any', 0, 'resources', 'namespaces'],
    ['spec', 'rules', 1, 'generate', 'namespace'],
    ['spec', 'rules', 2, 'mutate', 'targets', 0, 'namespace'],
  ]);
  // Kyverno's own field paths stay in the messages (the generate target's is the rule's).
  assert.match(verdict.errors[3].message, /^spec\.rules\[1\]\.namespace: Forbidden: target resource scope mismatched/);
  assert.match(verdict.errors[4].message, /^spec\.rules\[2\]\.targets\[0\]\.namespace: Invalid value: "elsewhere"/);
  assert.equal(checkPolicyForAdmission(policy).error, `[${verdict.errors.map((e) => e.message).join(', ')}]`);
  assert.deepEqual(verdictResult(admissionVerdict(policy)!), checkPolicyForAdmission(policy));

  // Checks that stop at their first error point at it too.
  const wildcard = cpol({ rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['ConfigMap'] } }, { resources: { kinds: ['*'] } }] }, ...validate }] });
  assert.deepEqual(policyAdmissionVerdict(wildcard).errors.map((e) => e.path), [['spec', 'rules', 0, 'match', 'any', 1, 'resources', 'kinds', 0]]);
  const userVariable = cpol({ rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['Pod'] } }] }, validate: { message: 'by {{ request.userInfo.username }}', deny: {} } }] });
  assert.deepEqual(policyAdmissionVerdict(userVariable).errors.map((e) => e.path), [['spec', 'rules', 0, 'validate', 'message']]);
  assert.deepEqual(policyAdmissionVerdict(cpol({ rules: [rule(validate)] }, { namespace: 'x' })).errors.map((e) => e.path), [['metadata', 'namespace']]);
  assert.deepEqual(exceptionAdmissionVerdict({ apiVersion: 'kyverno.io/v2', kind: 'PolicyException', spec: { exceptions: [{ ruleNames: ['r'] }], match: { any: [{ resources: { kinds: ['Pod'] } }] } } }).errors.map((e) => e.path), [['spec', 'exceptions', 0, 'policyName']]);
});

test('without a cluster (the CLI\'s mock validation) no kind is cluster-scoped and kinds are not looked up', async () => {
  const { policyAdmissionVerdict } = await import('../../engine/policy/admission-checks');
  const generateNamespace = cpol({ rules: [{ name: 'g', match: { any: [{ resources: { kinds: ['ConfigMap'] } }] }, generate: { apiVersion: 'v1', kind: 'Namespace', name: 'n', data: {} } }] });
  assert.deepEqual(policyAdmissionVerdict(generateNamespace).errors, []);
  assert.deepEqual(policyAdmissionVerdict(generateNamespace, { withoutCluster: true }).errors.map((e) => e.message), ['spec.rules[0].namespace: Forbidden: target namespace must be set for a namespaced resource']);
  const subresource = cpol({ rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['Pod/exec'] } }] }, ...validate }] });
  assert.match(checkPolicyForAdmission(subresource).error ?? '', /background scan enabled with subresource Pod\/exec/);
  assert.deepEqual(policyAdmissionVerdict(subresource, { withoutCluster: true }).errors, []);
});

test('podSecurity exclusions Kyverno refuses: a rule\'s (its path leaves out validate) and a PolicyException\'s', async () => {
  const { policyAdmissionVerdict, exceptionAdmissionVerdict } = await import('../../engine/policy/admission-checks');
  const psa = (exclude: unknown[]) => cpol({ rules: [rule({ validate: { podSecurity: { level: 'baseline', version: 'latest', exclude } } })] });
  const missingValues = policyAdmissionVerdict(psa([{ controlName: '/proc Mount Type', images: ['nginx'], restrictedField: 'spec.containers[*].securityContext.procMount' }]));
  assert.deepEqual(missingValues.errors, [{ path: ['spec', 'rules', 0, 'validate', 'podSecurity', 'exclude', 0, 'values'], message: 'spec.rules[0].podSecurity.exclude[0].values: Forbidden: values is required' }]);
  assert.equal(checkPolicyForAdmission(psa([{ controlName: 'Sysctls', values: ['a'] }])).error, 'spec.rules[0].podSecurity.exclude[0].restrictedField: Forbidden: restrictedField is required');
  assert.equal(checkPolicyForAdmission(psa([{ controlName: 'Host Namespaces' }, { controlName: 'Capabilities', images: ['*'] }])).error, undefined);
  const polex = (podSecurity: unknown[]) => ({ apiVersion: 'kyverno.io/v2', kind: 'PolicyException', metadata: { name: 'e', namespace: 'n' }, spec: { exceptions: [{ policyName: 'psa', ruleNames: ['r'] }], match: { all: [{ resources: { kinds: ['Pod'] } }] }, podSecurity } });
  assert.deepEqual(exceptionAdmissionVerdict(polex([{ controlName: 'Host Namespaces' }, { controlName: 'Capabilities' }])).errors, [
    { path: ['spec', 'podSecurity', 1, 'controlName'], message: 'spec.podSecurity[1].controlName: Invalid value: "Capabilities": exclude.images must be specified for the container level control' },
  ]);
  assert.equal(checkExceptionForAdmission(polex([{ controlName: 'Seccomp', restrictedField: 'spec.securityContext.seccompProfile.type' }])).error, 'spec.podSecurity[0].values: Forbidden: values is required');
});

test('celPreconditions go with validate.cel only; the CLI (no cluster) does not check generate rules', async () => {
  const { policyAdmissionVerdict } = await import('../../engine/policy/admission-checks');
  const celPreconditions = [{ name: 'c', expression: "object.metadata.name == 'x'" }];
  const verdict = (body: Record<string, unknown>, withoutCluster = false) => policyAdmissionVerdict(cpol({ rules: [rule({ celPreconditions, ...body })] }), { withoutCluster }).errors;
  assert.deepEqual(verdict(validate), [{ path: ['spec', 'rules', 0, 'celPreconditions'], message: 'path: spec.rules[0].validate..: celPrecondition can only be used with validate.cel' }]);
  assert.deepEqual(verdict({ mutate: { patchStrategicMerge: { metadata: { labels: { a: 'b' } } } } }).map((e) => e.message), ['path: spec.rules[0].mutate..: celPrecondition can only be used with validate.cel']);
  const generate = { generate: { apiVersion: 'v1', kind: 'ConfigMap', name: 'c', namespace: 'default', data: {} } };
  assert.deepEqual(verdict(generate).map((e) => e.message), ['path: spec.rules[0].generate..: celPrecondition can only be used with validate.cel']);
  assert.deepEqual(verdict(generate, true), []);
  assert.deepEqual(verdict({ validate: { cel: { expressions: [{ expression: 'true' }] } } }), []);
});

test('deprecated condition operators are warnings, with Kyverno\'s alternatives; rule preconditions are not looked at', () => {
  const deny = (operator: string) => rule({ validate: { deny: { conditions: { any: [{ key: '{{ request.object.metadata.name }}', operator, value: ['a'] }] } } } });
  assert.deepEqual(checkPolicyForAdmission(cpol({ rules: [deny('NotIn')] })), { warnings: ['Operator NotIn has been deprecated and will be removed soon. Use these instead: ["AllNotIn" "AnyNotIn"]'] });
  assert.deepEqual(checkPolicyForAdmission(cpol({ rules: [deny('AnyIn')] })), { warnings: [] });
  const foreach = rule({ validate: { foreach: [{ list: 'request.object.spec.containers', preconditions: { all: [{ key: 'a', operator: 'In', value: ['a'] }] }, deny: { conditions: [{ key: 'a', operator: 'In', value: ['b'] }] } }] } });
  assert.equal(checkPolicyForAdmission(cpol({ rules: [foreach] })).warnings.length, 2);
  const preconditions = rule({ preconditions: { any: [{ key: 'a', operator: 'In', value: ['a'] }] }, ...validate });
  assert.deepEqual(checkPolicyForAdmission(cpol({ rules: [preconditions] })).warnings, []);
});

test('a condition operator Kyverno does not know is refused, at the condition, with Kyverno\'s path', async () => {
  const { policyAdmissionVerdict } = await import('../../engine/policy/admission-checks');
  const valid = '["Equal" "Equals" "NotEqual" "NotEquals" "In" "AnyIn" "AllIn" "NotIn" "AnyNotIn" "AllNotIn" "GreaterThanOrEquals" "GreaterThan" "LessThanOrEquals" "LessThan" "DurationGreaterThanOrEquals" "DurationGreaterThan" "DurationLessThanOrEquals" "DurationLessThan"]';
  const deny = rule({ validate: { deny: { conditions: { all: [{ key: 'a', operator: 'Equals', value: 'a' }, { key: 'a', operator: 'Invalid', value: 'b' }] } } } });
  assert.deepEqual(policyAdmissionVerdict(cpol({ rules: [deny] })).errors, [
    // Kyverno's path says any[1] for an `all` condition.
    { path: ['spec', 'rules', 0, 'validate', 'deny', 'conditions', 'all', 1, 'operator'], message: `path: spec.rules[0].validate.deny.conditions.any[1].: entered value of \`operator\` is invalid. valid values: ${valid}` },
  ]);
  const nested = rule({ validate: { foreach: [{ list: 'x', foreach: [{ list: 'y', preconditions: { any: [{ key: 'a', operator: 'equals', value: 'a' }] } }] }] } });
  assert.match(checkPolicyForAdmission(cpol({ rules: [nested] })).error ?? '', /^path: spec\.rules\[0\]\.validate\.foreach\.validate\.foreach\.conditions\.any\[0\]\.: entered value of `operator` is invalid/);
  const mutate = rule({ mutate: { foreach: [{ list: 'x', preconditions: { any: [{ key: 'a', operator: 'Nope', value: 'a' }] }, patchStrategicMerge: {} }] } });
  assert.match(checkPolicyForAdmission(cpol({ rules: [mutate] })).error ?? '', /^path: spec\.rules\[0\]\.mutate\.foreach\.conditions\.any\[0\]\.: entered/);
  assert.equal(checkPolicyForAdmission(cpol({ rules: [rule({ preconditions: [{ key: 'a', operator: 'DurationLessThan', value: '1h' }], ...validate })] })).error, undefined);
});

test('webhookConfiguration.matchConditions must compile in the API server\'s environment (ValidateCustomWebhookMatchConditions)', () => {
  const withConditions = (...expressions: string[]) => cpol({ webhookConfiguration: { matchConditions: expressions.map((expression, i) => ({ name: `c${i}`, expression })) }, rules: [rule(validate)] });
  assert.deepEqual(checkPolicyForAdmission(withConditions('object.metadata.namespace == "a"', '!("system:authenticated" in request.userInfo.groups)')), { warnings: [] });
  // A JMESPath-style `@` is no CEL: refused before anything else is looked at.
  const refused = policyAdmissionVerdict(withConditions('object.metadata.namespace == "a"', '!("ownerReferences" in request.object.metadata.keys(@))'));
  assert.equal(refused.errors.length, 1);
  assert.deepEqual(refused.errors[0].path, ['spec', 'webhookConfiguration', 'matchConditions', 1, 'expression']);
  assert.match(refused.errors[0].message, /^match conditions compilation errors: \[compilation failed: .+\]$/);
  assert.equal(checkPolicyForAdmission(withConditions('size(request.userInfo.groups)')).error, 'match conditions compilation errors: [must evaluate to bool]');
  // No params and no authorizer in this environment.
  assert.match(String(checkPolicyForAdmission(withConditions('params.x == 1')).error), /^match conditions compilation errors: \[compilation failed: /);
  // Only Kubernetes' libraries: Kyverno's (resource, http, json, imagedata, generator, time...),
  // cel-go's Math and Encoders, `authorizer` and `exceptions` are unknown to the API server.
  for (const expression of [
    "resource.Get('v1', 'configmaps', 'default', 'x') != null",
    "http.Get('https://example.com').ok == true",
    "json.unmarshal('{}') == {}",
    "image.GetMetadata('nginx') != null",
    "parseImageReference('nginx').registry() == 'docker.io'",
    'math.greatest(1, 2) == 2',
    "base64.encode(b'x') == 'eA=='",
    "authorizer.group('').resource('pods').check('get').allowed()",
    'size(exceptions) == 0',
    'variables.x == 1',
  ]) {
    assert.match(String(checkPolicyForAdmission(withConditions(expression)).error), /^match conditions compilation errors: \[compilation failed: /, expression);
  }
  // ...whose libraries compile: quantity, ip/cidr, url, regex, lists, sets, strings, format, semver, image, two-variable comprehensions.
  for (const expression of [
    "quantity('1Gi').isGreaterThan(quantity('1Mi'))",
    "ip('10.0.0.1').family() == 4 && cidr('10.0.0.0/8').containsIP(ip('10.0.0.1'))",
    "url('https://a.example/x').getHost() == 'a.example'",
    "'abc'.matches('^a') && [1, 2].isSorted() && sets.contains([1, 2], [1])",
    "'a,b'.split(',').size() == 2 && format.dns1123Label().validate('ok') == optional.none()",
    "semver('1.2.3').isGreaterThan(semver('1.0.0'))",
    "image('nginx').registry() == 'index.docker.io' || isImage('nginx')",
    'object.metadata.labels.all(k, v, v != "") && namespaceObject == null || oldObject == null',
  ]) {
    assert.deepEqual(checkPolicyForAdmission(withConditions(expression)), { warnings: [] }, expression);
  }
  // The editor's own CEL check reports inside the expression instead.
  assert.deepEqual(policyAdmissionVerdict(withConditions('size(request.userInfo.groups)'), { compileCel: false }).errors, []);
});
