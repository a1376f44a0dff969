/** Policy report layout (pure): one report per resource, Kyverno's shape, and what pruning keeps. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ReportPolicies,
  buildReport,
  fallbackReportName,
  isLegacyReport,
  mergeResults,
  reportResult,
  reportTarget,
  resourceInfo,
  targetOf,
} from '../../webhook/reports';

type Json = Record<string, unknown>;

const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'ns', uid: 'u-1' } };
const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a', uid: 'u-ns' } };

function cpol(name: string, rules: string[], extra: Json = {}, annotations?: Json): Json {
  return {
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name, ...(annotations ? { annotations } : {}) },
    spec: { ...extra, rules: rules.map((r) => ({ name: r, match: { any: [{ resources: { kinds: ['ConfigMap'] } }] }, validate: { pattern: { metadata: { name: '?*' } } } })) },
  };
}

test('a namespaced resource with a UID: PolicyReport named by the UID in its namespace, scope and owner', () => {
  const t = reportTarget(cm)!;
  assert.deepEqual(t, {
    namespace: 'ns',
    name: 'u-1',
    scope: { apiVersion: 'v1', kind: 'ConfigMap', name: 'c', namespace: 'ns', uid: 'u-1' },
    owner: { apiVersion: 'v1', kind: 'ConfigMap', name: 'c', uid: 'u-1' },
  });
  const r = buildReport(t, [reportResult({ policy: 'p', rule: 'r', status: 'fail', message: 'bad', resource: cm, time: 7 })]);
  assert.deepEqual(r, {
    apiVersion: 'wgpolicyk8s.io/v1alpha2',
    kind: 'PolicyReport',
    metadata: {
      name: 'u-1',
      namespace: 'ns',
      labels: { 'app.kubernetes.io/managed-by': 'kyverno', 'reports.kyverno-studio.io/written-by': 'kyverno-studio' },
      ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'c', uid: 'u-1' }],
    },
    scope: { apiVersion: 'v1', kind: 'ConfigMap', name: 'c', namespace: 'ns', uid: 'u-1' },
    results: [{ source: 'kyverno', policy: 'p', rule: 'r', result: 'fail', message: 'bad', scored: true, timestamp: { seconds: 7, nanos: 0 } }],
    summary: { pass: 0, fail: 1, warn: 0, error: 0, skip: 0 },
  });
  assert.deepEqual(targetOf(r), t, 'a stored report gives back its target');
});

test('a cluster-scoped resource gets a ClusterPolicyReport; no UID: a name from kind and name, no owner', () => {
  const t = reportTarget(ns)!;
  assert.equal(t.namespace, '');
  assert.equal(buildReport(t, []).kind, 'ClusterPolicyReport');
  assert.equal((buildReport(t, []).metadata as Json).namespace, undefined);

  const fresh = reportTarget({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'my.cm', namespace: 'ns' } })!;
  assert.equal(fresh.name, 'configmap-my.cm');
  assert.equal(fresh.owner, undefined);
  assert.equal((fresh.scope as Json).uid, undefined);
  assert.equal((buildReport(fresh, []).metadata as Json).ownerReferences, undefined);
  assert.equal(fallbackReportName('ClusterRole', 'system:controller:Foo_bar'), 'clusterrole-system-controller-foo-bar');
  assert.equal(fallbackReportName('Kind', '---'), 'kind');
  assert.ok(fallbackReportName('ConfigMap', 'x'.repeat(400)).length <= 253);
  assert.equal(reportTarget({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'x-' } }), undefined, 'nothing to point at');
});

test('results: Kyverno shape without resources; newest per (policy, rule) wins, sorted by policy and rule', () => {
  const old = reportResult({ policy: 'p', rule: 'r', status: 'fail', message: 'bad', resource: cm, time: 100 });
  const fresh = reportResult({ policy: 'p', rule: 'r', status: 'pass', message: 'ok', resource: cm, time: 200 });
  const other = reportResult({ policy: 'a', rule: 'z', status: 'weird', message: '', resource: cm, time: 150 });
  assert.equal(old.resources, undefined, 'the scope names the resource');
  const merged = mergeResults([old, other], [fresh]);
  assert.deepEqual(merged.map((r) => [r.policy, r.rule, r.result]), [['a', 'z', 'error'], ['p', 'r', 'pass']]);
  assert.deepEqual(mergeResults([fresh], [old]).map((r) => r.result), ['pass'], 'an older result does not replace a newer one');
  assert.deepEqual(buildReport(reportTarget(cm)!, merged).summary, { pass: 1, fail: 0, warn: 0, error: 1, skip: 0 });
});

test('results take scored, category, severity and process from the policy, as Kyverno does', () => {
  const policies = ReportPolicies.of([
    cpol('unscored', ['r'], {}, { 'policies.kyverno.io/scored': 'false', 'policies.kyverno.io/category': 'Best Practices', 'policies.kyverno.io/severity': 'medium' }),
    cpol('admission-only', ['r'], { background: false }, { 'policies.kyverno.io/severity': 'extreme' }),
  ]);
  const a = reportResult({ policy: 'unscored', rule: 'r', status: 'fail', message: 'm', resource: cm, time: 1 }, policies);
  assert.equal(a.result, 'warn', 'scored: "false" turns a failure into a warning');
  assert.equal(a.scored, false);
  assert.equal(a.category, 'Best Practices');
  assert.equal(a.severity, 'medium');
  assert.deepEqual(a.properties, { process: 'background scan' });
  const b = reportResult({ policy: 'admission-only', rule: 'r', status: 'fail', message: 'm', resource: cm, time: 1 }, policies);
  assert.equal(b.result, 'fail');
  assert.equal(b.severity, undefined, 'only the severities the report schema knows');
  assert.deepEqual(b.properties, { process: 'admission review' });
});

test('pruning: which results survive, per policy kind and scope', () => {
  const pods = {
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name: 'pods' },
    spec: { rules: [{ name: 'img', match: { any: [{ resources: { kinds: ['Pod'] } }] }, validate: { pattern: { spec: { containers: [{ image: '?*' }] } } } }] },
  };
  const local = { apiVersion: 'kyverno.io/v1', kind: 'Policy', metadata: { name: 'local', namespace: 'a' }, spec: (cpol('x', ['r']).spec as Json) };
  const vpol = { apiVersion: 'policies.kyverno.io/v1', kind: 'ValidatingPolicy', metadata: { name: 'vp' }, spec: { validations: [{ expression: 'true' }] } };
  const keep = ReportPolicies.of([pods, local, vpol]);
  const res = (policy: string, rule: string) => ({ policy, rule });
  assert.equal(keep.keeps(res('pods', 'img'), 'a'), true);
  assert.equal(keep.keeps(res('pods', 'autogen-img'), 'a'), true, 'autogen rules belong to the policy');
  assert.equal(keep.keeps(res('pods', 'autogen-cronjob-img'), ''), true);
  assert.equal(keep.keeps(res('pods', 'gone'), 'a'), false, 'a removed rule');
  assert.equal(keep.keeps(res('deleted', 'img'), 'a'), false, 'a removed policy');
  assert.equal(keep.keeps(res('local', 'r'), 'a'), true);
  assert.equal(keep.keeps(res('local', 'r'), 'b'), false, 'a namespaced policy only reports in its namespace');
  assert.equal(keep.keeps(res('a/local', 'r'), 'a'), true, "Kyverno's namespace/name spelling");
  assert.equal(keep.keeps(res('vp', ''), ''), true, 'CEL policies: any rule name');

  assert.equal(keep.dropsAnyIn(ReportPolicies.of([pods, local, vpol, cpol('new', ['r'])])), false, 'adding removes nothing');
  assert.equal(keep.dropsAnyIn(ReportPolicies.of([pods, vpol])), true, 'a policy went away');
  assert.equal(keep.dropsAnyIn(ReportPolicies.of([{ ...pods, metadata: { name: 'pods', annotations: { 'pod-policies.kyverno.io/autogen-controllers': 'none' } } }, local, vpol])), true, 'autogen rules went away');
  assert.equal(ReportPolicies.of([cpol('p', ['a', 'b'])]).dropsAnyIn(ReportPolicies.of([cpol('p', ['a'])])), true, 'a rule went away');
});

test('the earlier per-namespace report is recognised by its name and missing scope, and only if ours', () => {
  const labels = { 'app.kubernetes.io/managed-by': 'kyverno-studio' };
  assert.equal(isLegacyReport({ metadata: { name: 'kyverno-studio', namespace: 'x', labels } }), true);
  assert.equal(isLegacyReport({ metadata: { name: 'kyverno-studio', labels }, scope: { kind: 'Kyverno', name: 'studio' } }), false);
  assert.equal(isLegacyReport({ metadata: { name: 'kyverno-studio', labels: { 'app.kubernetes.io/managed-by': 'kyverno' } } }), false);
});

function celPolicy(kind: string, name: string, spec: Json = {}): Json {
  return { apiVersion: 'policies.kyverno.io/v1', kind, metadata: { name }, spec };
}

test('source per policy kind, as Kyverno\'s ToPolicyReportResult names it; an empty rule is left out', () => {
  const source = (policyKind?: string) => reportResult({ policy: 'p', policyKind, rule: '', status: 'pass', message: 'success', resource: cm, time: 1 }).source;
  assert.equal(source(undefined), 'kyverno');
  assert.equal(source('ClusterPolicy'), 'kyverno');
  assert.equal(source('ValidatingPolicy'), 'KyvernoValidatingPolicy');
  assert.equal(source('NamespacedValidatingPolicy'), 'KyvernoValidatingPolicy');
  assert.equal(source('ImageValidatingPolicy'), 'KyvernoImageValidatingPolicy');
  assert.equal(source('NamespacedMutatingPolicy'), 'KyvernoMutatingPolicy');
  assert.equal(source('GeneratingPolicy'), 'KyvernoGeneratingPolicy');
  assert.equal(source('ValidatingAdmissionPolicy'), 'ValidatingAdmissionPolicy');
  assert.equal(source('MutatingAdmissionPolicy'), 'MutatingAdmissionPolicy');
  const r = reportResult({ policy: 'p', policyKind: 'ValidatingPolicy', rule: '', status: 'pass', message: 'success', resource: cm, time: 1 });
  assert.equal('rule' in r, false, 'omitempty');
});

test('a CEL policy has one result per resource: a later one replaces it whatever its rule name', () => {
  const fail = reportResult({ policy: 'v', policyKind: 'ValidatingPolicy', rule: '', status: 'fail', message: 'bad', resource: cm, time: 100 });
  const skip = reportResult({ policy: 'v', policyKind: 'ValidatingPolicy', rule: 'exception', status: 'skip', message: 'skipped', exceptions: ['ns/allow-it'], resource: cm, time: 100 });
  const merged = mergeResults([fail], [skip]);
  assert.deepEqual(merged.map((r) => [r.rule, r.result]), [['exception', 'skip']]);
  assert.deepEqual((merged[0].properties as Json).exceptions, 'allow-it', 'exceptions named without their namespace');
  // A ClusterPolicy keeps one result per rule, and a same-named CEL policy's result stays apart (another source).
  const a = reportResult({ policy: 'p', rule: 'a', status: 'pass', message: '', resource: cm, time: 1 });
  const b = reportResult({ policy: 'p', rule: 'b', status: 'fail', message: '', resource: cm, time: 1 });
  const v = reportResult({ policy: 'p', policyKind: 'ValidatingPolicy', rule: '', status: 'pass', message: '', resource: cm, time: 1 });
  assert.deepEqual(mergeResults([a, b], [v]).map((r) => [r.source, r.rule ?? '']), [['KyvernoValidatingPolicy', ''], ['kyverno', 'a'], ['kyverno', 'b']]);
});

test('process for CEL kinds, rule properties kept, Kyverno\'s message overrides', () => {
  const policies = ReportPolicies.of([
    celPolicy('ValidatingPolicy', 'admission-only', { evaluation: { background: { enabled: false } } }),
    celPolicy('GeneratingPolicy', 'gen'),
    celPolicy('MutatingPolicy', 'mut'),
  ]);
  const props = (policy: string, policyKind: string, properties?: Record<string, string>, status = 'pass') =>
    reportResult({ policy, policyKind, rule: '', status, message: 'success', properties, resource: cm, time: 1 }, policies);
  assert.deepEqual(props('admission-only', 'ValidatingPolicy').properties, { process: 'admission review' });
  assert.deepEqual(props('gen', 'GeneratingPolicy', { 'generated-resources': '/v1, Kind=ConfigMap Name=x Namespace=ns' }).properties, { 'generated-resources': '/v1, Kind=ConfigMap Name=x Namespace=ns', process: 'admission review' });
  assert.deepEqual(props('mut', 'MutatingPolicy', { env: 'prod' }).properties, { env: 'prod', process: 'background scan' });
  assert.equal(props('mut', 'MutatingPolicy', { passMessage: 'all good' }).message, 'all good');
  assert.equal(props('mut', 'MutatingPolicy', { passMessage: 'all good' }, 'fail').message, 'success', 'only the message of the result it names');
  assert.equal(props('mut', 'MutatingPolicy', { passMessage: 'p', message: 'generic' }).message, 'generic');
});

test("a classic rule's report properties: an unscored failure is reported as a warning with its failMessage", () => {
  const unscored = { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'quiet', annotations: { 'policies.kyverno.io/scored': 'false' } }, spec: { rules: [] } };
  const r = reportResult({ policy: 'quiet', rule: 'r', status: 'fail', message: 'denied', properties: { failMessage: 'F', warnMessage: 'W', objName: 'bar' }, resource: cm, time: 1 }, ReportPolicies.of([unscored]));
  assert.equal(r.result, 'warn');
  assert.equal(r.message, 'F');
  assert.equal((r.properties as Json).objName, 'bar');
});

function admissionPolicy(kind: 'ValidatingAdmissionPolicy' | 'MutatingAdmissionPolicy', name: string, labels?: Record<string, string>): Json {
  return { apiVersion: 'admissionregistration.k8s.io/v1', kind, metadata: { name, ...(labels ? { labels } : {}) }, spec: {} };
}

test("Kubernetes' admission policies: reported only with reports.kyverno.io/enabled=true; the binding as binding or mapBinding", () => {
  const vap = admissionPolicy('ValidatingAdmissionPolicy', 'vap', { 'reports.kyverno.io/enabled': 'true' });
  const policies = ReportPolicies.of([vap, admissionPolicy('ValidatingAdmissionPolicy', 'unlabelled'), admissionPolicy('MutatingAdmissionPolicy', 'map', { 'reports.kyverno.io/enabled': 'true' }), admissionPolicy('ValidatingAdmissionPolicy', 'off', { 'reports.kyverno.io/enabled': 'false' })]);
  const result = (policy: string, policyKind: string, binding?: string) =>
    reportResult({ policy, policyKind, rule: policy, status: 'fail', message: 'failed expression: object.spec.replicas <= 5', binding, resource: cm, time: 1 }, policies);
  const v = result('vap', 'ValidatingAdmissionPolicy', 'vap-binding');
  assert.deepEqual([v.source, v.policy, v.rule, v.result], ['ValidatingAdmissionPolicy', 'vap', 'vap', 'fail'], 'rule named after the policy, as Kyverno writes it');
  assert.deepEqual(v.properties, { binding: 'vap-binding', process: 'background scan' });
  assert.deepEqual(result('map', 'MutatingAdmissionPolicy', 'map-binding').properties, { mapBinding: 'map-binding', process: 'background scan' });
  assert.deepEqual(result('vap', 'ValidatingAdmissionPolicy').properties, { process: 'background scan' }, 'no binding: no property');
  assert.equal(policies.keeps(v, 'ns'), true);
  assert.equal(policies.keeps(result('unlabelled', 'ValidatingAdmissionPolicy'), 'ns'), false);
  assert.equal(policies.keeps(result('off', 'ValidatingAdmissionPolicy'), 'ns'), false, 'only "true" enables');
});

test('reports.kyverno.io/disabled leaves a policy out of every report (any value); adding it prunes', () => {
  const plain = cpol('p', ['r']);
  const disabled = { ...plain, metadata: { name: 'p', labels: { 'reports.kyverno.io/disabled': '' } } };
  const r = reportResult({ policy: 'p', rule: 'r', status: 'pass', message: 'ok', resource: cm, time: 1 });
  assert.equal(ReportPolicies.of([plain]).keeps(r, 'ns'), true);
  assert.equal(ReportPolicies.of([disabled]).keeps(r, 'ns'), false);
  const vpol = { ...celPolicy('ValidatingPolicy', 'v'), metadata: { name: 'v', labels: { 'reports.kyverno.io/disabled': 'true' } } };
  assert.equal(ReportPolicies.of([vpol]).keeps(reportResult({ policy: 'v', policyKind: 'ValidatingPolicy', rule: '', status: 'pass', message: '', resource: cm, time: 1 }), 'ns'), false);
  assert.equal(ReportPolicies.of([plain]).dropsAnyIn(ReportPolicies.of([disabled])), true, 'a prune is due');
  assert.equal(ReportPolicies.of([disabled]).dropsAnyIn(ReportPolicies.of([plain])), false);
});

test('a result without a message has no message field (Go omitempty); resource info as Go prints a GVK', () => {
  const r = reportResult({ policy: 'g', rule: 'clone', status: 'pass', message: '', resource: cm, time: 1 });
  assert.equal('message' in r, false);
  assert.equal(reportResult({ policy: 'g', rule: 'clone', status: 'pass', message: 'x', resource: cm, time: 1 }).message, 'x');
  assert.equal(resourceInfo({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'secret-1', namespace: 'staging' } }), '/v1, Kind=Secret Name=secret-1 Namespace=staging');
  assert.equal(resourceInfo({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'cr' } }), 'rbac.authorization.k8s.io/v1, Kind=ClusterRole Name=cr');
});
