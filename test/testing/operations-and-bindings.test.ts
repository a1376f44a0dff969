// `kyverno test` behaviours around admission operations, admission-policy bindings and
// parameters, and which unmatched answers the CLI keeps — run through the real engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runTestDocument, withDefaultNamespace } from '../../engine/testing';
import type { JsonObject } from '../../engine/core/types';
import { pod, suite, TEST_PATH, yamlDocs } from './helpers';

function run(testDoc: JsonObject, files: Record<string, string>) {
  return runTestDocument(TEST_PATH, testDoc, suite(files));
}

const rows = (res: ReturnType<typeof run>) => res.rows.map((r) => [r.policy, r.resource, r.actual, r.ok, r.reason]);

const podRules = (operations: string[]) => ({ resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations, resources: ['pods'] }] });

function vpol(name: string, spec: JsonObject): JsonObject {
  return { apiVersion: 'policies.kyverno.io/v1beta1', kind: 'ValidatingPolicy', metadata: { name }, spec: { validationActions: ['Deny'], ...spec } };
}

test('a result with an operation is checked against its own run of that operation', () => {
  const protect = vpol('deny-protected-deletion', {
    matchConstraints: podRules(['DELETE']),
    validations: [{ expression: "!(has(oldObject.metadata.labels) && oldObject.metadata.labels.?protected.orValue('') == 'true')", message: 'protected' }],
  });
  const onCreate = vpol('require-env', { matchConstraints: podRules(['CREATE']), validations: [{ expression: "has(object.metadata.labels.env)", message: 'env' }] });
  const res = run(
    {
      policies: ['p.yaml'],
      resources: ['r.yaml'],
      results: [
        { policy: 'deny-protected-deletion', kind: 'Pod', resources: ['guarded'], result: 'fail', operation: 'DELETE', isValidatingPolicy: true },
        { policy: 'require-env', kind: 'Pod', resources: ['guarded'], result: 'fail', isValidatingPolicy: true },
        // The DELETE run has no CREATE answer: the default run's result is not consulted.
        { policy: 'require-env', kind: 'Pod', resources: ['guarded'], result: 'fail', operation: 'DELETE', isValidatingPolicy: true },
      ],
    },
    { 'p.yaml': yamlDocs(protect, onCreate), 'r.yaml': yamlDocs(pod('guarded', 'team', { protected: 'true' })) },
  );
  assert.equal(res.error, null);
  assert.deepEqual(rows(res), [
    ['deny-protected-deletion', 'team/guarded', 'fail', true, 'Ok'],
    ['require-env', 'team/guarded', 'fail', true, 'Ok'],
    ['require-env', 'team/guarded', '', false, 'Not found'],
  ]);
});

test('result operations are checked before the run: unknown ones and deleting policies are refused', () => {
  const files = { 'p.yaml': yamlDocs(vpol('v', { matchConstraints: podRules(['CREATE']), validations: [{ expression: 'true' }] })), 'r.yaml': yamlDocs(pod('a')) };
  const bad = run({ policies: ['p.yaml'], resources: ['r.yaml'], results: [{ policy: 'v', resources: ['a'], result: 'pass', operation: 'CONNECT' }] }, files);
  assert.match(bad.error ?? '', /invalid test result for policy v: invalid operation "CONNECT", must be one of CREATE, UPDATE, DELETE/);
  const dpol = run({ policies: ['p.yaml'], resources: ['r.yaml'], results: [{ policy: 'v', resources: ['a'], result: 'pass', operation: 'DELETE', isDeletingPolicy: true }] }, files);
  assert.match(dpol.error ?? '', /operation is not supported for deleting policies/);
});

test('unmatched answers: a VAP and a selector-based validating policy report "Excluded", a deleting policy "Not found"', () => {
  const vap: JsonObject = {
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy', metadata: { name: 'vap' },
    spec: { matchConstraints: podRules(['CREATE']), validations: [{ expression: 'true' }] },
  };
  const binding: JsonObject = {
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding', metadata: { name: 'b' },
    spec: { policyName: 'vap', validationActions: ['Deny'], matchResources: { objectSelector: { matchLabels: { app: 'nginx' } } } },
  };
  const selective = vpol('selective', { matchConstraints: { ...podRules(['CREATE']), objectSelector: { matchLabels: { app: 'nginx' } } }, validations: [{ expression: 'true' }] });
  const plain = vpol('plain', { matchConstraints: podRules(['UPDATE']), validations: [{ expression: 'true' }] });
  const dpol: JsonObject = {
    apiVersion: 'policies.kyverno.io/v1beta1', kind: 'DeletingPolicy', metadata: { name: 'cleanup' },
    spec: { schedule: '0 1 * * *', matchConstraints: { ...podRules(['*']), objectSelector: { matchLabels: { app: 'nginx' } } }, conditions: [{ name: 'c', expression: 'true' }] },
  };
  const result = (policy: string, flag: string) => ({ policy, kind: 'Pod', resources: ['busybox'], result: 'skip', [flag]: true });
  const res = run(
    {
      policies: ['p.yaml'],
      resources: ['r.yaml'],
      results: [
        result('vap', 'isValidatingAdmissionPolicy'),
        result('selective', 'isValidatingPolicy'),
        result('plain', 'isValidatingPolicy'),
        result('cleanup', 'isDeletingPolicy'),
        { policy: 'cleanup', kind: 'Pod', resources: ['nginx'], result: 'pass', isDeletingPolicy: true },
      ],
    },
    { 'p.yaml': yamlDocs(vap, binding, selective, plain, dpol), 'r.yaml': yamlDocs(pod('busybox', 'default', { app: 'busybox' }), pod('nginx', 'default', { app: 'nginx' })) },
  );
  assert.equal(res.error, null);
  assert.deepEqual(rows(res), [
    ['vap', 'default/busybox', '', true, 'Excluded'],
    ['selective', 'default/busybox', '', true, 'Excluded'],
    ['plain', 'default/busybox', '', false, 'Not found'],
    ['cleanup', 'default/busybox', '', false, 'Not found'],
    ['cleanup', 'default/nginx', 'pass', true, 'Ok'],
  ]);
});

test('paramResources are the parameters a VAP binding selects from', () => {
  const vap: JsonObject = {
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy', metadata: { name: 'replicas' },
    spec: {
      paramKind: { apiVersion: 'v1', kind: 'ConfigMap' },
      matchConstraints: { resourceRules: [{ apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE'], resources: ['deployments'] }] },
      validations: [{ expression: 'object.spec.replicas <= int(params.data.max)' }],
    },
  };
  const binding: JsonObject = {
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding', metadata: { name: 'b' },
    spec: { policyName: 'replicas', validationActions: ['Deny'], paramRef: { name: 'limits' } },
  };
  const deploy = (name: string, replicas: number): JsonObject => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name }, spec: { replicas } });
  const res = run(
    {
      policies: ['p.yaml'],
      resources: ['r.yaml'],
      paramResources: ['params.yaml'],
      results: [
        { policy: 'replicas', kind: 'Deployment', resources: ['small'], result: 'pass', isValidatingAdmissionPolicy: true },
        { policy: 'replicas', kind: 'Deployment', resources: ['big'], result: 'fail', isValidatingAdmissionPolicy: true },
      ],
    },
    {
      'p.yaml': yamlDocs(vap, binding),
      'r.yaml': yamlDocs(deploy('small', 2), deploy('big', 9)),
      'params.yaml': yamlDocs({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'limits' }, data: { max: '5' } }),
    },
  );
  assert.equal(res.error, null);
  assert.deepEqual(res.rows.map((r) => [r.resource, r.actual, r.ok]), [['default/small', 'pass', true], ['default/big', 'fail', true]]);
});

test('resources of kinds known to be cluster-scoped keep an empty namespace; others default to "default"', () => {
  const meta = (r: JsonObject) => r.metadata as JsonObject;
  assert.equal(meta(withDefaultNamespace({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'c' } })).namespace, undefined);
  assert.equal(meta(withDefaultNamespace({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n' } })).namespace, undefined);
  assert.equal(meta(withDefaultNamespace({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } })).namespace, 'default');
  // The group must match: an unknown group's ClusterRoleBinding counts as namespaced.
  assert.equal(meta(withDefaultNamespace({ apiVersion: 'example.com/v1', kind: 'ClusterRoleBinding', metadata: { name: 'c' } })).namespace, 'default');
});

test('failOnMissingResources turns a resource missing from patchedResources into a failing row', () => {
  const mpol: JsonObject = {
    apiVersion: 'policies.kyverno.io/v1beta1', kind: 'MutatingPolicy', metadata: { name: 'label' },
    spec: {
      matchConstraints: podRules(['CREATE']),
      mutations: [{ patchType: 'ApplyConfiguration', applyConfiguration: { expression: 'Object{metadata: Object.metadata{labels: {"x": "y"}}}' } }],
    },
  };
  const result = (fail: boolean) => ({ policy: 'label', kind: 'Pod', resources: ['a'], result: 'pass', isMutatingPolicy: true, patchedResources: 'patched.yaml', failOnMissingResources: fail });
  const files = { 'p.yaml': yamlDocs(mpol), 'r.yaml': yamlDocs(pod('a')), 'patched.yaml': yamlDocs(pod('someone-else')) };
  // Kyverno skips the comparison silently; our row says so and does not fail.
  assert.deepEqual(run({ policies: ['p.yaml'], resources: ['r.yaml'], results: [result(false)] }, files).rows.map((r) => [r.ok, r.reason]), [
    [true, 'Skipped: Pod/default/a not found in manifest patched.yaml'],
  ]);
  const failing = run({ policies: ['p.yaml'], resources: ['r.yaml'], results: [result(true)] }, files).rows;
  assert.deepEqual(failing.map((r) => [r.ok, r.reason]), [[false, 'Pod/default/a not found in manifest patched.yaml']]);
});
