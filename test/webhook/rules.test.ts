/** Webhook rules from policies, the per-kind pre-filter, and background-scan policy selection (pure). Reports: reports*.test.ts. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { policyNeeds, webhookNeeds, webhookRules } from '../../webhook/rules';
import { knownKindTable, resolveKind } from '../../engine/kube';
import { PolicyIndex } from '../../webhook/prefilter';
import { answerAdmissionReview } from '../../webhook/admission';
import { evaluateReview } from '../../webhook/evaluate';
import { BackgroundScanner, policyVersion, wantsBackground } from '../../webhook/scan';
import type { ReportItem } from '../../webhook/report-layout';
import type { Rescan } from '../../webhook/reports';
import type { KubeClient } from '../../kube-api/client';

type Json = Record<string, unknown>;

function policy(name: string, rule: Json, spec: Json = {}, annotations?: Json): Json {
  return { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name, ...(annotations ? { annotations } : {}) }, spec: { ...spec, rules: [{ name: 'r', ...rule }] } };
}
const validatePods = policy('pods', { match: { any: [{ resources: { kinds: ['Pod'] } }] }, validate: { pattern: { metadata: { labels: { team: '?*' } } } } }, { validationFailureAction: 'Enforce' });
const mutateCms = policy('cms', { match: { any: [{ resources: { kinds: ['ConfigMap'], operations: ['CREATE'] } }] }, mutate: { patchStrategicMerge: { metadata: { labels: { a: 'b' } } } } }, { failurePolicy: 'Ignore', webhookTimeoutSeconds: 5 });

test('kinds resolve like Kyverno kind selectors: plain, group/version, subresource, wildcard', () => {
  const t = knownKindTable();
  assert.deepEqual(resolveKind('Pod', t), [{ group: '', version: 'v1', resource: 'pods' }]);
  assert.deepEqual(resolveKind('apps/v1/Deployment', t), [{ group: 'apps', version: 'v1', resource: 'deployments' }]);
  assert.deepEqual(resolveKind('Pod/exec', t), [{ group: '', version: 'v1', resource: 'pods/exec' }]);
  assert.deepEqual(resolveKind('*', t), [{ group: '*', version: '*', resource: '*' }]);
  assert.equal(resolveKind('Widget', t), undefined);
  assert.equal(resolveKind('batch/v1/Deployment', t), undefined, 'a group that does not serve the kind');
});

test('webhook needs: only matched kinds and operations, autogen controllers, per path and failurePolicy', () => {
  const needs = webhookNeeds([validatePods, mutateCms, policy('x', { match: { any: [{ resources: { kinds: ['Widget'] } }] }, validate: { pattern: {} } })], knownKindTable());
  const v = needs.find((n) => n.path === 'validate')!;
  const m = needs.find((n) => n.path === 'mutate')!;
  assert.equal(v.failurePolicy, 'Fail');
  assert.deepEqual(v.unresolved, ['Widget']);
  const all = ['CONNECT', 'CREATE', 'DELETE', 'UPDATE'];
  // Autogen's rules name their controllers by group/version/kind; each lands in its group, namespaced.
  assert.deepEqual(webhookRules(v), [
    { apiGroups: [''], apiVersions: ['v1'], operations: all, resources: ['pods', 'pods/ephemeralcontainers', 'replicationcontrollers'], scope: 'Namespaced' },
    { apiGroups: ['apps'], apiVersions: ['v1'], operations: all, resources: ['daemonsets', 'deployments', 'replicasets', 'statefulsets'], scope: 'Namespaced' },
    { apiGroups: ['batch'], apiVersions: ['v1'], operations: all, resources: ['cronjobs', 'jobs'], scope: 'Namespaced' },
  ]);
  assert.equal(m.failurePolicy, 'Ignore');
  // A policy's timeout raises the webhook's above Kyverno's default of 10 s, never lowers it.
  assert.equal(m.timeoutSeconds, 10);
  assert.deepEqual(webhookRules(m), [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['configmaps'], scope: 'Namespaced' }]);
  const none = webhookNeeds([policy('p', { match: { any: [{ resources: { kinds: ['Pod'] } }] }, validate: { pattern: {} } }, {}, { 'pod-policies.kyverno.io/autogen-controllers': 'none' })], knownKindTable());
  assert.deepEqual(webhookRules(none[0]).flatMap((r) => r.resources as string[]), ['pods', 'pods/ephemeralcontainers']);
});

test('webhook needs: CEL policies bring their resource rules', () => {
  const vpol = {
    apiVersion: 'policies.kyverno.io/v1alpha1', kind: 'ValidatingPolicy', metadata: { name: 'v' },
    spec: { matchConstraints: { resourceRules: [{ apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['deployments'] }] }, validations: [{ expression: 'true' }] },
  };
  const [need] = webhookNeeds([vpol], knownKindTable());
  assert.deepEqual(webhookRules(need), [{ apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['deployments'], scope: '*' }]);
});

function review(kind: string, object: Json, dryRun = false): string {
  const group = kind === 'Deployment' ? 'apps' : '';
  return JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u1', operation: 'CREATE', dryRun, kind: { group, version: 'v1', kind }, resource: { group, version: 'v1', resource: `${kind.toLowerCase()}s` }, namespace: 'default', userInfo: { username: 'a' }, object } });
}

test('pre-filter: only candidate policies run, and answers equal the unfiltered engine', () => {
  const index = new PolicyIndex([validatePods, mutateCms]);
  const names = (i: PolicyIndex, group: string, kind: string) => i.candidatesForRequest({ group, kind }, undefined).map((p) => (p.metadata as Json).name);
  assert.deepEqual(names(index, '', 'ConfigMap'), ['cms']);
  assert.deepEqual(names(index, 'apps', 'Deployment'), ['pods'], 'autogen controllers are candidates');
  assert.deepEqual(names(index, '', 'Secret'), []);
  const wildcard = policy('all', { match: { any: [{ resources: { kinds: ['*'] } }] }, validate: { pattern: {} } });
  assert.deepEqual(names(new PolicyIndex([wildcard]), '', 'Secret'), ['all'], 'wildcards are always candidates');
  const cluster = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] };
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'x' }] } };
  const filtered = evaluateReview({ path: 'validate', body: review('Pod', pod) }, index, cluster);
  const full = answerAdmissionReview(JSON.parse(review('Pod', pod)), 'validate', [validatePods, mutateCms], cluster);
  assert.equal(filtered.status, 200);
  assert.deepEqual(JSON.parse(filtered.body), full.body);
  assert.equal(filtered.allowed, false);
  assert.deepEqual(filtered.reportable.map((r) => [r.policy, r.status, r.enforce]), [['pods', 'fail', true]]);
  assert.equal((filtered.subject?.metadata as Json).name, 'p');
  const dry = evaluateReview({ path: 'validate', body: review('Pod', pod, true) }, index, cluster);
  assert.equal(dry.dryRun, true);
  const only = evaluateReview({ path: 'validate', body: review('Pod', pod), only: ['other'] }, index, cluster);
  assert.equal(only.allowed, true, '`only` limits evaluation to the named policies');
  const bad = evaluateReview({ path: 'validate', body: '{not json' }, index, cluster);
  assert.equal(bad.status, 400);
  assert.match(bad.body, /not JSON/);
});

test('background scan: which policies scan, and what counts as a change', () => {
  assert.equal(wantsBackground(validatePods), true, 'background defaults to true');
  assert.equal(wantsBackground({ ...validatePods, spec: { ...(validatePods.spec as Json), background: false } }), false);
  assert.equal(wantsBackground(mutateCms), false, 'no validate rule, nothing to report');
  const a = { ...validatePods, metadata: { name: 'pods', generation: 1 } };
  assert.notEqual(policyVersion(a), policyVersion({ ...a, metadata: { name: 'pods', generation: 2 } }));
});

test('admission warnings as Kyverno gives them: synchronous policies only, none on a denial', () => {
  const cluster = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] };
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'x' }] } };
  const needsTeam = { match: { any: [{ resources: { kinds: ['Pod'] } }] }, validate: { message: 'team label', pattern: { metadata: { labels: { team: '?*' } } } } };
  const warningsOf = (policies: Json[]) => {
    const answer = answerAdmissionReview(JSON.parse(review('Pod', pod)), 'validate', policies, cluster);
    return { allowed: (answer.body.response as Json).allowed, warnings: (answer.body.response as Json).warnings };
  };
  // An Audit policy is audited in the background: admitted without a warning.
  assert.deepEqual(warningsOf([policy('audit', needsTeam, { validationFailureAction: 'Audit' })]), { allowed: true, warnings: undefined });
  // spec.emitWarning puts it on the synchronous path: its failure is a warning.
  const warned = warningsOf([policy('audit-warn', needsTeam, { validationFailureAction: 'Audit', emitWarning: true })]);
  assert.equal(warned.allowed, true);
  assert.deepEqual(warned.warnings, ["policy audit-warn.r: validation error: team label. rule r failed at path /metadata/labels/"]);
  // A policy with an Enforce rule runs synchronously: its Audit rule's failure is a warning.
  const mixed = { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'mixed' }, spec: { rules: [
    { name: 'enforced', match: needsTeam.match, validate: { failureAction: 'Enforce', pattern: { metadata: { name: '?*' } } } },
    { name: 'audited', ...needsTeam, validate: { ...needsTeam.validate, failureAction: 'Audit' } },
  ] } };
  assert.deepEqual(warningsOf([mixed]).warnings, ["policy mixed.audited: validation error: team label. rule audited failed at path /metadata/labels/"]);
  // A denial carries the reason, not warnings.
  const denied = warningsOf([mixed, policy('enforce', needsTeam, { validationFailureAction: 'Enforce' })]);
  assert.deepEqual(denied, { allowed: false, warnings: undefined });
});

test('a MutatingPolicy that mutates existing resources from admission is also served by the validating webhook (where its work is queued)', () => {
  const mpol = (evaluation: Record<string, unknown>) => ({ apiVersion: 'policies.kyverno.io/v1', kind: 'MutatingPolicy', metadata: { name: 'm' }, spec: { evaluation, matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['secrets'] }] } } });
  assert.deepEqual(policyNeeds(mpol({ mutateExisting: { enabled: true } })).map((n) => n.path), ['mutate', 'validate']);
  assert.deepEqual(policyNeeds(mpol({})).map((n) => n.path), ['mutate']);
  assert.deepEqual(policyNeeds(mpol({ mutateExisting: { enabled: true }, admission: { enabled: false } })).map((n) => n.path), ['mutate']);
});

test("background scan of Kubernetes' admission policies: labelled ones, behind Kyverno's flags; results carry the binding and replace the policy's earlier ones", async () => {
  const vap: Json = {
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy', metadata: { name: 'replicas', labels: { 'reports.kyverno.io/enabled': 'true' } },
    spec: { matchConstraints: { resourceRules: [{ apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['deployments'] }] }, validations: [{ expression: 'object.spec.replicas <= 5' }] },
  };
  const map: Json = { ...vap, kind: 'MutatingAdmissionPolicy', metadata: { ...(vap.metadata as Json), name: 'm' } };
  const unlabelled = { ...vap, metadata: { name: 'replicas' } };
  assert.equal(wantsBackground(vap), true, '--validatingAdmissionPolicyReports is on by default');
  assert.equal(wantsBackground(unlabelled), false, 'only with reports.kyverno.io/enabled=true');
  assert.equal(wantsBackground(vap, { validating: false, mutating: false }), false);
  assert.equal(wantsBackground(map), false, '--mutatingAdmissionPolicyReports is off by default');
  assert.equal(wantsBackground(map, { validating: true, mutating: true }), true);

  const deployment = (name: string, replicas: number) => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'staging', uid: `uid-${name}` }, spec: { replicas } });
  const binding = { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding', metadata: { name: 'replicas-binding' }, spec: { policyName: 'replicas', validationActions: ['Deny'] } };
  const stored = [deployment('big', 7), deployment('small', 3)];
  // Discovery answers nothing beyond the built-in kinds (the scan asks it for every policy's kinds).
  const client = { request: async () => ({}), list: async (apiVersion: string, kind: string) => (apiVersion === 'apps/v1' && kind === 'Deployment' ? stored : []) } as unknown as KubeClient;
  const cluster = { resources: [binding], namespaceLabels: { staging: {} }, apiCallResponses: [], globalContext: {}, exceptions: [] };
  const paths: string[] = [];
  const evaluate = async (path: 'validate' | 'mutate', body: string, only: string[]) => {
    paths.push(path);
    return evaluateReview({ path, body, only, scan: true }, new PolicyIndex([vap]), cluster);
  };
  const calls: Array<{ items: ReportItem[]; rescan: Rescan }> = [];
  const scanner = new BackgroundScanner(client, evaluate, (items, rescan) => calls.push({ items, rescan }), () => {});
  await scanner.onPolicies([vap]);
  assert.deepEqual(paths, ['validate', 'validate']);
  assert.deepEqual(calls.map((c) => [c.rescan.policy, c.rescan.policyKind, (c.rescan.resource.metadata as Json).name]), [['replicas', 'ValidatingAdmissionPolicy', 'big'], ['replicas', 'ValidatingAdmissionPolicy', 'small']]);
  assert.deepEqual(calls.flatMap((c) => c.items.map((i) => [(i.resource.metadata as Json).name, i.policy, i.rule, i.status, i.message, i.binding])), [
    ['big', 'replicas', 'replicas', 'fail', 'failed expression: object.spec.replicas <= 5', 'replicas-binding'],
    ['small', 'replicas', 'replicas', 'pass', '', 'replicas-binding'],
  ]);
  // A binding change rescans the policy (Kyverno reconciles on binding events); an unchanged one does not.
  calls.length = 0;
  await scanner.onPolicies([vap], [binding]);
  assert.equal(calls.length, 2, 'the bindings are new to the scanner');
  calls.length = 0;
  await scanner.onPolicies([vap], [binding]);
  assert.equal(calls.length, 0);
  await scanner.onPolicies([vap], [{ ...binding, metadata: { name: 'replicas-binding', resourceVersion: '2' } }]);
  assert.equal(calls.length, 2);
  // At admission the API server enforces it: no admission report results for it.
  const admission = evaluateReview({ path: 'validate', body: review('Deployment', deployment('big', 7)) }, new PolicyIndex([vap]), cluster);
  assert.deepEqual(admission.reportable, []);
});

test('a MutatingAdmissionPolicy scan (its flag on): a resource not as the policy would have it fails "mutation is not applied", with its name and binding', async () => {
  const map: Json = {
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingAdmissionPolicy', metadata: { name: 'add-label', labels: { 'reports.kyverno.io/enabled': 'true' } },
    spec: {
      matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['configmaps'] }] },
      reinvocationPolicy: 'Never',
      mutations: [{ patchType: 'ApplyConfiguration', applyConfiguration: { expression: 'Object{metadata: Object.metadata{labels: {"team": "a"}}}' } }],
    },
  };
  const binding = { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingAdmissionPolicyBinding', metadata: { name: 'add-label-binding' }, spec: { policyName: 'add-label' } };
  const cm = (name: string, labels: Record<string, string>) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default', uid: `uid-${name}`, labels } });
  const stored = [cm('labelled', { team: 'a' }), cm('bare', {})];
  const client = { request: async () => ({}), list: async (apiVersion: string, kind: string) => (apiVersion === 'v1' && kind === 'ConfigMap' ? stored : []) } as unknown as KubeClient;
  const cluster = { resources: [binding], namespaceLabels: { default: {} }, apiCallResponses: [], globalContext: {}, exceptions: [] };
  const items: ReportItem[] = [];
  const scanner = new BackgroundScanner(client, async (path, body, only) => evaluateReview({ path, body, only, scan: true }, new PolicyIndex([map]), cluster), (i) => items.push(...i), () => {}, 5000, { validating: true, mutating: true });
  await scanner.onPolicies([map]);
  assert.deepEqual(items.map((i) => [(i.resource.metadata as Json).name, i.policyKind, i.rule, i.status, i.message, i.binding]), [
    ['labelled', 'MutatingAdmissionPolicy', 'add-label', 'pass', 'mutation is successfully applied', 'add-label-binding'],
    ['bare', 'MutatingAdmissionPolicy', 'add-label', 'fail', 'mutation is not applied', 'add-label-binding'],
  ]);
});

test('a ClusterPolicy with admission: false is not run at admission (not in Kyverno\'s policy cache); its background scan runs it', () => {
  const backgroundOnly = { ...validatePods, spec: { ...(validatePods.spec as Json), admission: false } };
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'x' }] } };
  const cluster = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] };
  const admitted = evaluateReview({ path: 'validate', body: review('Pod', pod) }, new PolicyIndex([backgroundOnly]), cluster);
  assert.equal(admitted.allowed, true);
  assert.deepEqual(admitted.reportable, []);
  assert.equal(evaluateReview({ path: 'validate', body: review('Pod', pod) }, new PolicyIndex([validatePods]), cluster).allowed, false, 'with admission on, the same policy denies');
  const scanned = evaluateReview({ path: 'validate', body: review('Pod', pod), scan: true }, new PolicyIndex([backgroundOnly]), cluster);
  assert.deepEqual(scanned.reportable.map((r) => [r.policy, r.status]), [['pods', 'fail']]);
});
