/** The webhook's role grants writes on exactly the kinds the deployed generate rules produce. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generatedKinds, generateRbacRules } from '../../deploy/generate-rbac';
import { knownKindTable } from '../../engine/kube';

const policy = (rules: unknown[]) => ({ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'p' }, spec: { rules } });

test('generated kinds: data, clone, cloneList and foreach targets; variables and non-generate rules are skipped', () => {
  const policies = [
    policy([
      { name: 'netpol', generate: { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', name: 'default-deny', data: {} } },
      { name: 'secrets', generate: { namespace: '{{request.object.metadata.name}}', cloneList: { namespace: 'src', kinds: ['v1/Secret', 'v1/ConfigMap'] } } },
      { name: 'each', generate: { foreach: [{ list: 'request.object.spec.x', apiVersion: 'v1', kind: 'ServiceAccount', data: {} }] } },
      { name: 'dynamic', generate: { apiVersion: 'v1', kind: '{{ request.object.kind }}', data: {} } },
      { name: 'validate-only', validate: { pattern: {} } },
    ]),
    { apiVersion: 'policies.kyverno.io/v1', kind: 'ValidatingPolicy', metadata: { name: 'v' }, spec: {} },
  ];
  assert.deepEqual(generatedKinds(policies), ['networking.k8s.io/v1/NetworkPolicy', 'v1/ConfigMap', 'v1/Secret', 'v1/ServiceAccount']);
  assert.deepEqual(generateRbacRules(policies, knownKindTable()), [
    { apiGroups: [''], resources: ['configmaps', 'secrets', 'serviceaccounts'], verbs: ['create', 'update', 'patch', 'delete'] },
    { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['create', 'update', 'patch', 'delete'] },
  ]);
});

test('no generate rules, no extra permissions', () => {
  assert.deepEqual(generateRbacRules([policy([{ name: 'v', validate: { pattern: {} } }])], knownKindTable()), []);
});
