// A Test's own apiCallResponses and globalContextEntries stand in for the network and the cluster.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runTestText } from '../../engine/testing';
import { suite, TEST_PATH, yamlDocs } from './helpers';

function denyPolicy(context: object, key: string) {
  return {
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name: 'p' },
    spec: {
      rules: [
        {
          name: 'r',
          match: { any: [{ resources: { kinds: ['Pod'] } }] },
          context: [context],
          validate: { failureAction: 'Audit', deny: { conditions: { any: [{ key, operator: 'Equals', value: false }] } } },
        },
      ],
    },
  };
}

const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } };

function run(policy: object, mocks: string, result: string) {
  const text = [
    'apiVersion: cli.kyverno.io/v1alpha1',
    'kind: Test',
    'metadata: {name: t}',
    'policies: [p.yaml]',
    'resources: [r.yaml]',
    mocks,
    'results:',
    `- {policy: p, rule: r, kind: Pod, resources: [a], result: ${result}}`,
  ].join('\n');
  const [res] = runTestText(TEST_PATH, text, suite({ 'p.yaml': yamlDocs(policy), 'r.yaml': yamlDocs(pod), 'gce.yaml': yamlDocs(pod) }));
  return res;
}

test('apiCallResponses answer apiCall context entries by URL (any method when none is given)', () => {
  const policy = denyPolicy({ name: 'check', apiCall: { method: 'POST', service: { url: 'https://svc.example.com/check' }, jmesPath: 'allowed' } }, '{{ check }}');
  const allowed = run(policy, 'apiCallResponses:\n- url: https://svc.example.com/check\n  response: {body: {allowed: true}}', 'pass');
  assert.deepEqual(allowed.rows.map((r) => [r.ok, r.reason]), [[true, 'Ok']]);
  const denied = run(policy, 'apiCallResponses:\n- url: https://svc.example.com/check\n  method: POST\n  response: {body: {allowed: false}}', 'fail');
  assert.deepEqual(denied.rows.map((r) => [r.ok, r.reason]), [[true, 'Ok']]);
  const status = run(policy, 'apiCallResponses:\n- url: https://svc.example.com/check\n  response: {statusCode: 500, body: {}}', 'pass');
  assert.equal(status.rows[0].actual, 'error');
});

test('globalContextEntries give data, resources or resource files, with fieldPath and projections', () => {
  const policy = denyPolicy({ name: 'count', globalReference: { name: 'deployments', jmesPath: 'length(@)' } }, '{{ count > `0` }}');
  assert.equal(run(policy, 'globalContextEntries:\n- name: deployments\n  data: {items: [1, 2]}\n  fieldPath: items', 'pass').ok, true);
  // Kyverno's ValidateGlobalContextEntries: `data` must be an object; the test does not run.
  assert.match(run(policy, 'globalContextEntries:\n- name: deployments\n  data: [1, 2]', 'pass').error ?? '', /globalContextEntries entry "deployments": data must be a JSON object/);
  assert.equal(run(policy, 'globalContextEntries:\n- name: deployments\n  data: {items: []}\n  fieldPath: items', 'fail').ok, true);
  assert.equal(run(policy, 'globalContextEntries:\n- name: deployments\n  resourceFiles: [gce.yaml]', 'pass').ok, true);
  const projected = denyPolicy({ name: 'count', globalReference: { name: 'deployments', jmesPath: 'length(names)' } }, '{{ count > `0` }}');
  assert.equal(run(projected, 'globalContextEntries:\n- name: deployments\n  resources: [{kind: Deployment, metadata: {name: d}}]\n  projections: [{name: names, path: "[].metadata.name"}]', 'pass').ok, true);
});
