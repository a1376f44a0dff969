// kyverno.io PolicyExceptions on classic rules. Data ported from Kyverno's
// test/cli/test-exceptions (exceptions-1: autogen rule names, exceptions-3: podSecurity,
// exceptions-4: namespaced exceptions) and the semantics of pkg/engine/utils/exceptions.go
// (MatchesException), api/kyverno/v2 Exception.Contains and the handlers' skip messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { applyPolicy } from '../../engine/apply';
import { matchingExceptions, exceptionSkip } from '../../engine/apply/exceptions';
import type { AdmissionRequest, ClusterState, JsonObject } from '../../engine/core/types';

const docs = (text: string): JsonObject[] => parseAllDocuments(text).map((d) => d.toJS() as JsonObject);
const cluster = (exceptions: JsonObject[] = []): ClusterState => ({ resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions });
const request = (object: JsonObject, operation: AdmissionRequest['operation'] = 'CREATE'): AdmissionRequest => ({
  operation,
  object: operation === 'DELETE' ? null : object,
  oldObject: operation === 'CREATE' ? null : object,
  requestInfo: { roles: [], clusterRoles: [], userInfo: {} },
});
const run = (policy: JsonObject, resource: JsonObject, exceptions: JsonObject[], operation: AdmissionRequest['operation'] = 'CREATE') =>
  applyPolicy(policy, { request: request(resource, operation), cluster: cluster(exceptions) }).rules;

const hostNamespacesPolicy = docs(`
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: disallow-host-namespaces
spec:
  background: false
  rules:
    - name: host-namespaces
      match:
        any:
        - resources:
            kinds:
              - Pod
      validate:
        failureAction: Enforce
        message: Sharing the host namespaces is disallowed.
        pattern:
          spec:
            =(hostPID): "false"
            =(hostIPC): "false"
            =(hostNetwork): "false"
`)[0];

const deltaException = docs(`
apiVersion: kyverno.io/v2beta1
kind: PolicyException
metadata:
  name: delta-exception
  namespace: delta
spec:
  exceptions:
  - policyName: disallow-host-namespaces
    ruleNames:
    - host-namespaces
    - autogen-host-namespaces
  match:
    any:
    - resources:
        kinds:
        - Pod
        - Deployment
        namespaces:
        - delta
        names:
        - important-tool*
`)[0];

const deployment = (name: string, namespace: string | undefined, hostIPC: boolean): JsonObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, ...(namespace ? { namespace } : {}), labels: { app: 'busybox' } },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: 'busybox' } },
    template: { metadata: { labels: { app: 'busybox' } }, spec: { hostIPC, containers: [{ image: 'busybox:1.35', name: 'busybox' }] } },
  },
});

test('exceptions-1: an exception naming the autogen rule skips it for the matched Deployment only', () => {
  const outcome = (d: JsonObject) => run(hostNamespacesPolicy, d, [deltaException]).find((r) => r.name === 'autogen-host-namespaces');
  const skipped = outcome(deployment('important-tool', 'delta', true))!;
  assert.equal(skipped.status, 'skip');
  assert.equal(skipped.message, 'rule is skipped due to policy exceptionsdelta/delta-exception');
  assert.deepEqual(skipped.exceptions, ['delta-exception']);
  assert.equal(outcome(deployment('bad-deployment', undefined, true))!.status, 'fail');
  assert.equal(outcome(deployment('good-deployment', undefined, false))!.status, 'pass');
});

test('autogen rules are only exempted when the exception lists them (or a wildcard covers them)', () => {
  const onlyPods = structuredClone(deltaException);
  (onlyPods.spec as any).exceptions[0].ruleNames = ['host-namespaces'];
  const d = deployment('important-tool', 'delta', true);
  assert.equal(run(hostNamespacesPolicy, d, [onlyPods]).find((r) => r.name === 'autogen-host-namespaces')!.status, 'fail');
  (onlyPods.spec as any).exceptions[0].ruleNames = ['*host-namespaces'];
  assert.equal(run(hostNamespacesPolicy, d, [onlyPods]).find((r) => r.name === 'autogen-host-namespaces')!.status, 'skip');
});

test('the policy name must be the exact policy key (namespace/name for a Policy)', () => {
  const ex = structuredClone(deltaException);
  (ex.spec as any).exceptions[0].policyName = 'disallow-*';
  const d = deployment('important-tool', 'delta', true);
  assert.equal(run(hostNamespacesPolicy, d, [ex]).find((r) => r.name === 'autogen-host-namespaces')!.status, 'fail');
  const namespaced = { ...structuredClone(hostNamespacesPolicy), kind: 'Policy', metadata: { name: 'disallow-host-namespaces', namespace: 'delta' } };
  assert.equal(run(namespaced, d, [deltaException]).find((r) => r.name === 'autogen-host-namespaces')!.status, 'fail');
  (ex.spec as any).exceptions[0].policyName = 'delta/disallow-host-namespaces';
  assert.equal(run(namespaced, d, [ex]).find((r) => r.name === 'autogen-host-namespaces')!.status, 'skip');
});

const requireLabels = docs(`
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: require-labels
spec:
  rules:
  - name: check-required-labels
    match:
      any:
      - resources:
          kinds: [Pod]
    validate:
      failureAction: Enforce
      message: label app is required
      pattern:
        metadata:
          labels:
            app: "?*"
`)[0];

const namespacedExceptions = docs(`
apiVersion: kyverno.io/v2
kind: PolicyException
metadata:
  name: system-namespaces-exception
  namespace: kube-system
spec:
  exceptions:
  - policyName: require-labels
    ruleNames:
    - check-required-labels
  match:
    any:
    - resources:
        kinds:
        - Pod
        namespaces:
        - kube-system
---
apiVersion: kyverno.io/v2
kind: PolicyException
metadata:
  name: monitoring-exception
  namespace: monitoring
spec:
  exceptions:
  - policyName: require-labels
    ruleNames:
    - check-required-labels
  match:
    any:
    - resources:
        kinds:
        - Pod
        namespaces:
        - monitoring
        names:
        - monitoring-*
`);

const pod = (name: string, namespace: string, labels: Record<string, string> = {}, spec: JsonObject = {}): JsonObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace, labels },
  spec: { containers: [{ name: 'nginx', image: 'nginx' }], ...spec },
});

test('exceptions-4: each namespaced exception covers what its match selects', () => {
  const status = (p: JsonObject) => run(requireLabels, p, namespacedExceptions)[0];
  assert.equal(status(pod('coredns', 'kube-system')).message, 'rule is skipped due to policy exceptionskube-system/system-namespaces-exception');
  assert.equal(status(pod('monitoring-agent', 'monitoring')).status, 'skip');
  assert.equal(status(pod('other', 'monitoring')).status, 'fail');
  assert.equal(status(pod('app', 'default', { app: 'x' })).status, 'pass');
});

test('every matching exception is reported, keys joined by ", "', () => {
  const both = namespacedExceptions.map((ex) => {
    const c = structuredClone(ex);
    (c.spec as any).match = { any: [{ resources: { kinds: ['Pod'] } }] };
    return c;
  });
  const r = run(requireLabels, pod('x', 'default'), both)[0];
  assert.equal(r.message, 'rule is skipped due to policy exceptionskube-system/system-namespaces-exception, monitoring/monitoring-exception');
  assert.deepEqual(r.exceptions, ['system-namespaces-exception', 'monitoring-exception']);
});

test('an exception match with neither any nor all, or an empty filter, selects nothing', () => {
  const ex = structuredClone(namespacedExceptions[0]);
  (ex.spec as any).match = {};
  assert.equal(run(requireLabels, pod('x', 'kube-system'), [ex])[0].status, 'fail');
  (ex.spec as any).match = { any: [{ resources: {} }] };
  assert.equal(run(requireLabels, pod('x', 'kube-system'), [ex])[0].status, 'fail');
  (ex.spec as any).match = { all: [{ resources: { kinds: ['Pod'] } }, { resources: { namespaces: ['kube-*'] } }] };
  assert.equal(run(requireLabels, pod('x', 'kube-system'), [ex])[0].status, 'skip');
  assert.equal(run(requireLabels, pod('x', 'default'), [ex])[0].status, 'fail');
});

test('exception conditions see the rule context; an unevaluable condition leaves the exception out', () => {
  const policy = structuredClone(requireLabels);
  const rule = (policy.spec as any).rules[0];
  rule.context = [{ name: 'tier', variable: { value: 'gold' } }];
  const ex = structuredClone(namespacedExceptions[0]);
  (ex.spec as any).conditions = { any: [{ key: '{{ tier }}', operator: 'Equals', value: 'gold' }] };
  assert.equal(run(policy, pod('x', 'kube-system'), [ex])[0].status, 'skip');
  (ex.spec as any).conditions = { any: [{ key: '{{ tier }}', operator: 'Equals', value: 'silver' }] };
  assert.equal(run(policy, pod('x', 'kube-system'), [ex])[0].status, 'fail');
  (ex.spec as any).conditions = { any: [{ key: '{{ missing.field }}', operator: 'Equals', value: 'x' }] };
  assert.equal(run(policy, pod('x', 'kube-system'), [ex])[0].status, 'fail');
});

test('preconditions are checked before exceptions (a precondition skip wins)', () => {
  const policy = structuredClone(requireLabels);
  (policy.spec as any).rules[0].preconditions = { all: [{ key: '{{ request.object.metadata.name }}', operator: 'Equals', value: 'never' }] };
  const r = run(policy, pod('x', 'kube-system'), namespacedExceptions)[0];
  assert.equal(r.status, 'skip');
  assert.match(r.message, /^preconditions not met/);
});

test('exceptions skip mutate and generate rules too, with the same message', () => {
  const policy = docs(`
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: require-labels}
spec:
  rules:
  - name: check-required-labels
    match: {any: [{resources: {kinds: [Pod]}}]}
    mutate:
      patchStrategicMerge: {metadata: {labels: {app: added}}}
  - name: make-cm
    match: {any: [{resources: {kinds: [Pod]}}]}
    generate:
      apiVersion: v1
      kind: ConfigMap
      name: cm
      namespace: kube-system
      data: {data: {a: b}}
`)[0];
  const ex = structuredClone(namespacedExceptions[0]);
  (ex.spec as any).exceptions[0].ruleNames = ['*'];
  const rules = run(policy, pod('x', 'kube-system'), [ex]);
  assert.deepEqual(rules.map((r) => [r.name, r.type, r.status]), [['check-required-labels', 'Mutation', 'skip'], ['make-cm', 'Generation', 'skip']]);
  assert.ok(rules.every((r) => r.message === 'rule is skipped due to policy exceptionskube-system/system-namespaces-exception'));
});

const psa = docs(`
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: psa
spec:
  background: true
  rules:
  - name: baseline
    match:
      any:
      - resources:
          kinds:
          - Pod
    validate:
      failureAction: Enforce
      podSecurity:
        level: baseline
        version: latest
`)[0];

const podSecurityException = docs(`
apiVersion: kyverno.io/v2
kind: PolicyException
metadata:
  name: pod-security-exception
  namespace: policy-exception-ns
spec:
  exceptions:
  - policyName: psa
    ruleNames:
    - baseline
  match:
    any:
    - resources:
        namespaces:
        - staging-ns
  podSecurity:
    - controlName: "HostPath Volumes"
      restrictedField: "spec.volumes[*].hostPath"
      values:
      - "path"
`)[0];

const hostPath = { volumes: [{ name: 'host', hostPath: { path: '/var/lib1' } }] };

// Kyverno's exceptions-3 expects the hostPath pod to be skipped with `values: [path]`; value
// matching is engine/pss's, so here the control is exempted as a whole.
const wholeControl = structuredClone(podSecurityException);
(wholeControl.spec as any).podSecurity = [{ controlName: 'HostPath Volumes' }];

test('exceptions-3: podSecurity exceptions relax the listed control', () => {
  const status = (p: JsonObject) => run(psa, p, [wholeControl])[0].status;
  assert.equal(status(pod('bad-pod', 'default', {}, hostPath)), 'fail');
  assert.equal(status(pod('good-pod', 'default')), 'pass');
  assert.equal(status(pod('excluded-pod', 'staging-ns', {}, hostPath)), 'skip');
});

test('podSecurity rules: an exception without controls skips with the first such key; DELETE gets no response', () => {
  const full = structuredClone(podSecurityException);
  delete (full.spec as any).podSecurity;
  (full.metadata as any).name = 'full';
  const r = run(psa, pod('p', 'staging-ns', {}, hostPath), [wholeControl, full])[0];
  assert.deepEqual([r.status, r.message, r.exceptions], ['skip', 'rule is skipped due to policy exception policy-exception-ns/full', ['full']]);
  assert.deepEqual(run(psa, pod('p', 'staging-ns', {}, hostPath), [full], 'DELETE'), []);
});

test('matchingExceptions / exceptionSkip: the rule context scope, the request resource, none → null', () => {
  const req = request(pod('coredns', 'kube-system'));
  const found = matchingExceptions(namespacedExceptions, 'require-labels', 'check-required-labels', req, cluster(), { data: { request: req } });
  assert.deepEqual(found.map((e) => (e.metadata as any).name), ['system-namespaces-exception']);
  assert.equal(exceptionSkip('r', 'Validation', []), null);
  assert.deepEqual(matchingExceptions(namespacedExceptions, 'require-labels', 'other-rule', req, cluster(), { data: {} }), []);
});

test('podSecurity rules: an exception with an empty podSecurity list counts as one without controls', () => {
  const empty = structuredClone(podSecurityException);
  (empty.spec as any).podSecurity = [];
  const r = run(psa, pod('p', 'staging-ns', {}, hostPath), [empty])[0];
  assert.deepEqual([r.status, r.message], ['skip', 'rule is skipped due to policy exception policy-exception-ns/pod-security-exception']);
});
