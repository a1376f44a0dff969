/** Webhook registration for generate rules (webhook/rules.ts): kinds, operations, autogen. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { policyNeeds, webhookNeeds, webhookRules } from '../../webhook/rules';
import { knownKindTable } from '../../engine/kube';

type Json = Record<string, unknown>;

function policy(rules: Json[], spec: Json = {}): Json {
  return { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'p' }, spec: { ...spec, rules } };
}
const netpol = (extra: Json = {}, match: Json = { any: [{ resources: { kinds: ['Namespace'] } }] }): Json => ({
  name: 'default-deny',
  match,
  generate: { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', name: 'deny', namespace: '{{request.object.metadata.name}}', data: { spec: {} }, ...extra },
});
const rulesOf = (p: Json) => webhookNeeds([p], knownKindTable()).map((n) => ({ path: n.path, failurePolicy: n.failurePolicy, rules: webhookRules(n) }));

test('a generate rule needs the validating webhook for its trigger kinds, CREATE and UPDATE', () => {
  assert.deepEqual(rulesOf(policy([netpol()])), [
    { path: 'validate', failurePolicy: 'Fail', rules: [{ apiGroups: [''], apiVersions: ['*'], operations: ['CREATE', 'UPDATE'], resources: ['namespaces'], scope: '*' }] },
  ]);
});

test('with synchronize, DELETE reaches the webhook too (the downstream goes with its trigger), and so do edits and deletions of the generated kind', () => {
  const [need] = rulesOf(policy([netpol({ synchronize: true })]));
  assert.deepEqual(need.rules.map((r) => [r.resources, r.operations]), [[['namespaces'], ['CREATE', 'UPDATE', 'DELETE']], [['networkpolicies'], ['UPDATE', 'DELETE']]]);
});

test('explicit match operations win over the generate defaults', () => {
  const [need] = rulesOf(policy([netpol({ synchronize: true }, { any: [{ resources: { kinds: ['Namespace'], operations: ['CREATE'] } }] })]));
  assert.deepEqual(need.rules.map((r) => r.operations)[0], ['CREATE']);
});

test('without synchronize the generated kind is not registered, and no mutating webhook is needed', () => {
  const needs = policyNeeds(policy([netpol()]));
  assert.deepEqual(needs.map((n) => [n.path, n.kinds]), [['validate', ['Namespace']]]);
});

test('failurePolicy Ignore is kept for generate rules', () => {
  assert.deepEqual(rulesOf(policy([netpol()], { failurePolicy: 'Ignore' })).map((n) => n.failurePolicy), ['Ignore']);
});

test('a policy with a generate rule gets no Pod-controller autogen (Kyverno CanAutoGen), for any of its rules', () => {
  const podGenerate = { name: 'cm-per-pod', match: { any: [{ resources: { kinds: ['Pod'] } }] }, generate: { apiVersion: 'v1', kind: 'ConfigMap', name: 'x', namespace: 'default', data: {} } };
  const podValidate = { name: 'labels', match: { any: [{ resources: { kinds: ['Pod'] } }] }, validate: { pattern: { metadata: { labels: { a: '?*' } } } } };
  const resources = webhookNeeds([policy([podGenerate, podValidate])], knownKindTable()).flatMap((n) => n.resources);
  assert.deepEqual([...new Set(resources)], ['pods']);
  // Without the generate rule the same validate rule covers the controllers.
  const withoutGenerate = webhookNeeds([policy([podValidate])], knownKindTable()).flatMap((n) => n.resources);
  assert.ok(withoutGenerate.includes('deployments'));
});

test('generate and validate rules on the same kind merge their operations', () => {
  const validate = { name: 'v', match: { any: [{ resources: { kinds: ['Namespace'] } }] }, validate: { pattern: {} } };
  const [need] = rulesOf(policy([netpol(), validate]));
  assert.deepEqual(need.rules.map((r) => r.operations), [['CREATE', 'UPDATE', 'DELETE', 'CONNECT']]);
});

test('a GeneratingPolicy registers its resourceRules for every operation, whatever they list (the background decides)', () => {
  const gpol: Json = {
    apiVersion: 'policies.kyverno.io/v1beta1',
    kind: 'GeneratingPolicy',
    metadata: { name: 'g' },
    spec: { matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['namespaces'] }] } },
  };
  assert.deepEqual(rulesOf(gpol), [
    { path: 'validate', failurePolicy: 'Fail', rules: [{ apiGroups: [''], apiVersions: ['*'], operations: ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'], resources: ['namespaces'], scope: '*' }] },
  ]);
});
