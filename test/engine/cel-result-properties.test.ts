/**
 * The names, messages and properties of CEL policies' results, as Kyverno's engines give them
 * (pkg/cel/policies/{vpol,mpol,gpol}/engine): what policy reports and events are built from.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyCelPolicy } from '../../engine/cel/index';
import type { ApplyOptions } from '../../engine/apply';
import type { JsonObject, PolicyResponse } from '../../engine/core/types';
import { mutationScanResponse } from '../../webhook/evaluate';
import { generatedResourcesProperty } from '../../webhook/report-layout';

function opts(object: JsonObject, exceptions: JsonObject[] = []): ApplyOptions {
  return {
    request: { operation: 'CREATE', object, oldObject: null, requestInfo: { roles: [], clusterRoles: [], userInfo: { username: 'admin' } } },
    cluster: { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions },
    now: new Date('2025-01-01T00:00:00Z'),
  };
}

const cm = (name: string, data: Record<string, string> = {}): JsonObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'ns' }, data });
const cmRules = { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['configmaps'] }] };
const audit = [
  { key: 'resource-name', valueExpression: "'cm/' + object.metadata.name" },
  { key: 'empty', valueExpression: "''" },
];

test('ValidatingPolicy: an unnamed result; a pass carries the audit annotations, a failure also the failing validation\'s index', () => {
  const policy = { apiVersion: 'policies.kyverno.io/v1', kind: 'ValidatingPolicy', metadata: { name: 'v' }, spec: { matchConstraints: cmRules, validations: [{ expression: 'true' }, { expression: "has(object.data.ok)", message: 'no ok' }], auditAnnotations: audit } };
  const pass = applyCelPolicy(policy, opts(cm('a', { ok: '1' }))).rules[0];
  assert.deepEqual([pass.name, pass.status, pass.message, pass.properties], ['', 'pass', 'success', { 'resource-name': 'cm/a' }]);
  const fail = applyCelPolicy(policy, opts(cm('b'))).rules[0];
  assert.deepEqual([fail.name, fail.status, fail.properties], ['', 'fail', { 'resource-name': 'cm/b', 'cel.validationIndex': '1' }]);
});

test('MutatingPolicy: audit annotations on a pass; an exception\'s result names the exceptions', () => {
  const policy = {
    apiVersion: 'policies.kyverno.io/v1', kind: 'MutatingPolicy', metadata: { name: 'm' },
    spec: { matchConstraints: cmRules, mutations: [{ patchType: 'ApplyConfiguration', applyConfiguration: { expression: 'Object{metadata: Object.metadata{labels: Object.metadata.labels{foo: "bar"}}}' } }], auditAnnotations: audit },
  };
  const pass = applyCelPolicy(policy, opts(cm('a'))).rules[0];
  assert.deepEqual([pass.name, pass.status, pass.properties], ['', 'pass', { 'resource-name': 'cm/a' }]);
  const exception = { apiVersion: 'policies.kyverno.io/v1', kind: 'PolicyException', metadata: { name: 'skip-a', namespace: 'ns' }, spec: { policyRefs: [{ name: 'm', kind: 'MutatingPolicy' }], matchConditions: [{ name: 'a', expression: "object.metadata.name == 'a'" }] } };
  const skipped = applyCelPolicy(policy, opts(cm('a'), [exception])).rules[0];
  assert.deepEqual([skipped.name, skipped.status, skipped.exceptions], ['exception', 'skip', ['ns/skip-a']]);
});

test('GeneratingPolicy: the result is named after the policy, "policy evaluated successfully", with audit annotations', () => {
  const policy = {
    apiVersion: 'policies.kyverno.io/v1', kind: 'GeneratingPolicy', metadata: { name: 'gen' },
    spec: { matchConstraints: cmRules, generate: [{ expression: 'true' }], auditAnnotations: audit },
  };
  const r = applyCelPolicy(policy, opts(cm('a'))).rules[0];
  assert.deepEqual([r.name, r.status, r.message, r.properties], ['gen', 'pass', 'policy evaluated successfully', { 'resource-name': 'cm/a' }]);
  const broken = { ...policy, spec: { ...policy.spec, generate: [{ expression: '1' }] } };
  const e = applyCelPolicy(broken, opts(cm('a'))).rules[0];
  assert.equal(e.name, 'gen');
  assert.match(e.message, /^failed to evaluate policy: /);
});

test('generated-resources as Kyverno prints them: Go\'s GroupVersionKind, name and namespace, "; " between', () => {
  assert.equal(
    generatedResourcesProperty([cm('a'), { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'np', namespace: 'x' } }, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'cr' } }]),
    '/v1, Kind=ConfigMap Name=a Namespace=ns; networking.k8s.io/v1, Kind=NetworkPolicy Name=np Namespace=x; rbac.authorization.k8s.io/v1, Kind=ClusterRole Name=cr',
  );
});

test('a MutatingPolicy in a background scan: a pass that would still change the resource fails', () => {
  const resource = cm('a');
  const response = (patched: JsonObject, kind = 'MutatingPolicy', exceptions?: string[]): PolicyResponse => ({
    policy: { apiVersion: 'policies.kyverno.io/v1', kind, name: 'm' },
    resource: { apiVersion: 'v1', kind: 'ConfigMap', name: 'a', namespace: 'ns' },
    rules: [{ name: exceptions ? 'exception' : '', type: 'Mutation', status: 'pass', message: 'success', ...(exceptions ? { exceptions } : {}) }],
    patchedResource: patched,
  });
  const labelled = { ...resource, metadata: { ...(resource.metadata as JsonObject), labels: { foo: 'bar' } } };
  assert.deepEqual(mutationScanResponse(response(labelled), resource).rules, [{ name: '', type: 'Mutation', status: 'fail', message: 'mutation is not applied' }]);
  assert.equal(mutationScanResponse(response(resource), resource).rules[0].status, 'pass', 'already as the policy wants it');
  assert.equal(mutationScanResponse(response(labelled, 'MutatingPolicy', ['ns/e']), resource).rules[0].status, 'pass', 'an exception\'s pass stays');
  assert.equal(mutationScanResponse(response(labelled, 'ClusterPolicy'), resource).rules[0].status, 'pass', 'only MutatingPolicies');
});

test('a background scan leaves out what the resource filters name and a ValidatingPolicy\'s matchConditions skips', async () => {
  const { evaluateReview } = await import('../../webhook/evaluate');
  const { PolicyIndex } = await import('../../webhook/prefilter');
  const { parseResourceFilters } = await import('../../webhook/resource-filters');
  const policy = {
    apiVersion: 'policies.kyverno.io/v1', kind: 'ValidatingPolicy', metadata: { name: 'v' },
    spec: { matchConstraints: cmRules, matchConditions: [{ name: 'only-a', expression: "object.metadata.name == 'a'" }], validations: [{ expression: 'true' }] },
  };
  const review = (name: string, namespace: string) => JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {
    uid: 'u', operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'ConfigMap' }, resource: { group: '', version: 'v1', resource: 'configmaps' },
    name, namespace, userInfo: {}, object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace } },
  } });
  const cluster = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] };
  const filters = parseResourceFilters('[*,kube-system,*]');
  const scan = (name: string, namespace: string, scanning: boolean) =>
    evaluateReview({ path: 'validate', body: review(name, namespace), only: ['v'], scan: scanning, filters }, new PolicyIndex([policy]), cluster).reportable.map((r) => r.status);
  assert.deepEqual(scan('a', 'ns', true), ['pass']);
  assert.deepEqual(scan('b', 'ns', true), [], 'matchConditions false: nothing to report in a scan');
  assert.deepEqual(scan('b', 'ns', false), ['skip'], 'admission reports the skip');
  assert.deepEqual(scan('a', 'kube-system', true), [], 'filtered');
});
