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

const ALL = ['CONNECT', 'CREATE', 'DELETE', 'UPDATE'];
// Kyverno's mergeWebhook: the triggers for every operation, the generated kind for CREATE, UPDATE
// and DELETE (an edit or deletion of a downstream object is seen, synchronized or not).
const netpolRules = (triggerOps: string[]) => [
  { apiGroups: [''], apiVersions: ['v1'], operations: triggerOps, resources: ['namespaces'], scope: '*' },
  { apiGroups: ['networking.k8s.io'], apiVersions: ['v1'], operations: ['CREATE', 'DELETE', 'UPDATE'], resources: ['networkpolicies'], scope: 'Namespaced' },
];

test('a generate rule needs the validating webhook for its triggers (every operation) and its generated kind', () => {
  assert.deepEqual(rulesOf(policy([netpol()])), [{ path: 'validate', failurePolicy: 'Fail', rules: netpolRules(ALL) }]);
});

test('synchronize does not change the registration', () => {
  assert.deepEqual(rulesOf(policy([netpol({ synchronize: true })])), rulesOf(policy([netpol()])));
});

test('explicit match operations win over the generate defaults', () => {
  const [need] = rulesOf(policy([netpol({ synchronize: true }, { any: [{ resources: { kinds: ['Namespace'], operations: ['CREATE'] } }] })]));
  assert.deepEqual(need.rules, netpolRules(['CREATE']));
});

test('cloned kinds (cloneList, foreach) are registered like generated ones, and no mutating webhook is needed', () => {
  const clone = { name: 'c', match: { any: [{ resources: { kinds: ['Namespace'] } }] }, generate: { namespace: 'x', cloneList: { namespace: 'default', kinds: ['v1/Secret'] }, foreach: [{ list: 'x', kind: 'ConfigMap', apiVersion: 'v1', name: 'n', data: {} }] } };
  assert.deepEqual(policyNeeds(policy([clone])).map((n) => [n.path, n.kinds, [...n.operations].sort()]), [
    ['validate', ['Namespace'], ALL],
    ['validate', ['ConfigMap'], ['CREATE', 'DELETE', 'UPDATE']],
    ['validate', ['v1/Secret'], ['CREATE', 'DELETE', 'UPDATE']],
  ]);
});

test('failurePolicy Ignore is kept for generate rules', () => {
  assert.deepEqual(rulesOf(policy([netpol()], { failurePolicy: 'Ignore' })).map((n) => n.failurePolicy), ['Ignore']);
});

test('a policy with a generate rule gets no Pod-controller autogen (Kyverno CanAutoGen), for any of its rules', () => {
  const podGenerate = { name: 'cm-per-pod', match: { any: [{ resources: { kinds: ['Pod'] } }] }, generate: { apiVersion: 'v1', kind: 'ConfigMap', name: 'x', namespace: 'default', data: {} } };
  const podValidate = { name: 'labels', match: { any: [{ resources: { kinds: ['Pod'] } }] }, validate: { pattern: { metadata: { labels: { a: '?*' } } } } };
  const resources = webhookNeeds([policy([podGenerate, podValidate])], knownKindTable()).flatMap((n) => n.resources);
  assert.deepEqual([...new Set(resources)], ['configmaps', 'pods']);
  // Without the generate rule the same validate rule covers the controllers.
  const withoutGenerate = webhookNeeds([policy([podValidate])], knownKindTable()).flatMap((n) => n.resources);
  assert.ok(withoutGenerate.includes('deployments'));
});

test('generate and validate rules on the same kind merge their operations', () => {
  const validate = { name: 'v', match: { any: [{ resources: { kinds: ['Namespace'], operations: ['CREATE'] } }] }, validate: { pattern: {} } };
  const [need] = rulesOf(policy([netpol({}, { any: [{ resources: { kinds: ['Namespace'], operations: ['UPDATE'] } }] }), validate]));
  assert.deepEqual(need.rules[0], { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['namespaces'], scope: '*' });
});

test('a policy served by the mutating webhook brings its generate rules there too (Kyverno merges every generate rule)', () => {
  const mutate = { name: 'm', match: { any: [{ resources: { kinds: ['Pod'] } }] }, mutate: { patchStrategicMerge: { metadata: { labels: { a: 'b' } } } } };
  const needs = rulesOf(policy([netpol(), mutate]));
  assert.deepEqual(needs.map((n) => n.path), ['validate', 'mutate']);
  const mutating = needs.find((n) => n.path === 'mutate')!;
  // Kyverno orders rules by group, version, then the shorter resource list first.
  assert.deepEqual(mutating.rules, [
    { apiGroups: [''], apiVersions: ['v1'], operations: ALL, resources: ['namespaces'], scope: '*' },
    { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['pods', 'pods/ephemeralcontainers'], scope: 'Namespaced' },
    { apiGroups: ['networking.k8s.io'], apiVersions: ['v1'], operations: ['CREATE', 'DELETE', 'UPDATE'], resources: ['networkpolicies'], scope: 'Namespaced' },
  ]);
});

test('a GeneratingPolicy registers its resourceRules for every operation, whatever they list (the background decides)', () => {
  const gpol: Json = {
    apiVersion: 'policies.kyverno.io/v1beta1',
    kind: 'GeneratingPolicy',
    metadata: { name: 'g' },
    spec: { matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['namespaces'] }] } },
  };
  assert.deepEqual(rulesOf(gpol), [
    { path: 'validate', failurePolicy: 'Fail', rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ALL, resources: ['namespaces'], scope: '*' }] },
  ]);
});

test('generated kinds are marked downstream (registered, not scanned as triggers) unless a rule matches them', () => {
  const downstream = (p: Json) => policyNeeds(p).map((n) => [n.kinds[0], n.downstream === true]);
  assert.deepEqual(downstream(policy([netpol()])), [['Namespace', false], ['NetworkPolicy', true]]);
  const alsoMatched = { name: 'v', match: { any: [{ resources: { kinds: ['NetworkPolicy'] } }] }, validate: { pattern: {} } };
  assert.deepEqual(downstream(policy([netpol(), alsoMatched])), [['Namespace', false], ['NetworkPolicy', false]]);
});
