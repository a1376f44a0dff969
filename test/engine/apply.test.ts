import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyPolicy } from '../../engine/apply';
import type { AdmissionRequest, ClusterState, JsonObject, TestValues } from '../../engine/core/types';
import { isBackground, isClassicPolicy, isScored, normalizeFailureAction, policyNamespace, policyRef, ruleFailureAction } from '../../engine/policy';

const cluster = (): ClusterState => ({ resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] });
const pod = (name: string, labels: Record<string, string> = {}): JsonObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default', labels },
  spec: { containers: [{ name: 'c', image: 'nginx:1.2' }] },
});
const create = (object: JsonObject): AdmissionRequest => ({ operation: 'CREATE', object, oldObject: null, requestInfo: { roles: [], clusterRoles: [], userInfo: {} } });
const matchPods = { any: [{ resources: { kinds: ['Pod'] } }] };
const policy = (rules: JsonObject[], spec: JsonObject = {}, name = 'p'): JsonObject => ({ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name }, spec: { rules, ...spec } });

test('apply: rules that do not match produce no result', () => {
  const p = policy([
    { name: 'svc', match: { any: [{ resources: { kinds: ['Service'] } }] }, validate: { deny: {} } },
    { name: 'pods', match: matchPods, validate: { deny: {} } },
  ]);
  const r = applyPolicy(p, { request: create(pod('x')), cluster: cluster() });
  assert.deepEqual(r.rules.map((x) => x.name), ['pods']);
  assert.deepEqual(r.policy, { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', name: 'p' });
  assert.deepEqual(r.resource, { apiVersion: 'v1', kind: 'Pod', name: 'x', namespace: 'default' });
});

test('apply: mutate rules run first and validate rules see the patched resource', () => {
  const p = policy([
    { name: 'check', match: matchPods, validate: { pattern: { metadata: { labels: { team: '?*' } } } } },
    { name: 'add', match: matchPods, mutate: { patchStrategicMerge: { metadata: { labels: { team: 'core' } } } } },
  ]);
  const r = applyPolicy(p, { request: create(pod('x')), cluster: cluster() });
  assert.deepEqual(r.rules.map((x) => [x.name, x.type, x.status]), [
    ['add', 'Mutation', 'pass'],
    ['check', 'Validation', 'pass'],
  ]);
  assert.equal((r.patchedResource.metadata as any).labels.team, 'core');
  const onlyValidate = applyPolicy(p, { request: create(pod('x')), cluster: cluster(), phases: ['validate'] });
  assert.deepEqual(onlyValidate.rules.map((x) => [x.name, x.status]), [['check', 'fail']]);
});

test('apply: global, resource and rule values feed variables; values may rewrite the resource', () => {
  const p = policy(
    [
      {
        name: 'quota',
        match: matchPods,
        context: [{ name: 'count', apiCall: { urlPath: '/api/v1/namespaces/default/pods', jmesPath: 'items | length(@)' } }],
        validate: { message: '{{count}} pods in {{env}}', deny: { conditions: { all: [{ key: '{{count}}', operator: 'GreaterThan', value: 2 }] } } },
      },
      { name: 'named', match: matchPods, validate: { pattern: { metadata: { name: 'renamed' } } } },
    ],
    {},
    'quota-policy',
  );
  const values: TestValues = {
    globalValues: { env: 'test' },
    policies: [{ name: 'quota-policy', rules: [{ name: 'quota', values: { count: 5 } }], resources: [{ name: 'x', values: { 'request.object.metadata.name': 'renamed' } }] }],
  };
  const r = applyPolicy(p, { request: create(pod('x')), cluster: cluster(), values });
  assert.deepEqual(r.rules.map((x) => [x.name, x.status, x.message]), [
    ['quota', 'fail', '5 pods in test'],
    ['named', 'pass', "validation rule 'named' passed."],
  ]);
});

test('apply: a request.operation value turns the request into an UPDATE', () => {
  const p = policy([{ name: 'op', match: matchPods, validate: { deny: { conditions: { all: [{ key: '{{request.operation}}', operator: 'Equals', value: 'UPDATE' }] } } } }]);
  const r = applyPolicy(p, { request: create(pod('x')), cluster: cluster(), values: { globalValues: { 'request.operation': 'UPDATE' } } });
  assert.equal(r.rules[0].status, 'fail');
});

test('apply: a matching PolicyException turns the rule into a skip', () => {
  const c = cluster();
  c.exceptions.push({
    apiVersion: 'kyverno.io/v2',
    kind: 'PolicyException',
    metadata: { name: 'allow-x', namespace: 'default' },
    spec: { exceptions: [{ policyName: 'p', ruleNames: ['r'] }], match: { any: [{ resources: { kinds: ['Pod'], names: ['x'] } }] } },
  });
  const p = policy([{ name: 'r', match: matchPods, validate: { deny: {} } }]);
  const skipped = applyPolicy(p, { request: create(pod('x')), cluster: c }).rules[0];
  assert.deepEqual([skipped.status, skipped.message, skipped.exceptions], ['skip', 'rule is skipped due to policy exceptionsdefault/allow-x', ['allow-x']]);
  assert.equal(applyPolicy(p, { request: create(pod('y')), cluster: c }).rules[0].status, 'fail');
});

test('apply: applyRules One stops after the first applied rule', () => {
  const p = policy(
    [
      { name: 'a', match: matchPods, validate: { deny: {} } },
      { name: 'b', match: matchPods, validate: { deny: {} } },
    ],
    { applyRules: 'One' },
  );
  assert.deepEqual(applyPolicy(p, { request: create(pod('x')), cluster: cluster() }).rules.map((x) => x.name), ['a']);
});

test('apply: autogen rules validate pod controllers', () => {
  const p = policy([{ name: 'labels', match: matchPods, validate: { pattern: { metadata: { labels: { app: '?*' } } } } }]);
  const deploy = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'default' }, spec: { template: { metadata: { labels: {} }, spec: { containers: [] } } } };
  const r = applyPolicy(p, { request: create(deploy), cluster: cluster() });
  assert.deepEqual(r.rules.map((x) => [x.name, x.status]), [['autogen-labels', 'fail']]);
});

test('apply: CEL policies go to the CEL engine, unknown kinds are errors', () => {
  const vpol = { apiVersion: 'policies.kyverno.io/v1', kind: 'ValidatingPolicy', metadata: { name: 'v' }, spec: {} };
  assert.equal(applyPolicy(vpol, { request: create(pod('x')), cluster: cluster() }).policy.kind, 'ValidatingPolicy');
  const odd = applyPolicy({ apiVersion: 'example.io/v1', kind: 'Thing', metadata: { name: 't' } }, { request: create(pod('x')), cluster: cluster() });
  assert.equal(odd.rules[0].status, 'error');
});

test('policy accessors', () => {
  const ns = { apiVersion: 'kyverno.io/v1', kind: 'Policy', metadata: { name: 'n', namespace: 'team', annotations: { 'policies.kyverno.io/scored': 'false' } }, spec: { background: false } };
  assert.equal(isClassicPolicy(ns), true);
  assert.equal(policyNamespace(ns), 'team');
  assert.deepEqual(policyRef(ns), { apiVersion: 'kyverno.io/v1', kind: 'Policy', name: 'n', namespace: 'team' });
  assert.equal(isScored(ns), false);
  assert.equal(isBackground(ns), false);
  assert.equal(normalizeFailureAction('ENFORCE'), 'Enforce');
  assert.equal(normalizeFailureAction('block'), undefined);
  const overrides = policy([{ name: 'r', validate: {} }], { validationFailureAction: 'Audit', validationFailureActionOverrides: [{ action: 'Enforce', namespaces: ['prod-*'] }] });
  assert.equal(ruleFailureAction(overrides, { name: 'r', validate: {} }, 'prod-1'), 'Enforce');
  assert.equal(ruleFailureAction(overrides, { name: 'r', validate: {} }, 'dev'), 'Audit');
  // Kyverno's matchOverride: a namespaceSelector alone covers the namespaces it selects, and a
  // rule's own overrides win over its failureAction.
  const bySelector = { name: 'r', validate: { failureAction: 'Enforce', failureActionOverrides: [{ action: 'Audit', namespaceSelector: { matchExpressions: [{ key: 'kyverno-audit', operator: 'In', values: ['true'] }] } }] } };
  assert.equal(ruleFailureAction(policy([bySelector]), bySelector, 'labeled', { 'kyverno-audit': 'true' }), 'Audit');
  assert.equal(ruleFailureAction(policy([bySelector]), bySelector, 'other', {}), 'Enforce');
  const both = { name: 'r', validate: { failureAction: 'Audit', failureActionOverrides: [{ action: 'Enforce', namespaces: ['prod-*'], namespaceSelector: { matchLabels: { tier: 'a' } } }, { action: 'bogus' }] } };
  assert.equal(ruleFailureAction(policy([both]), both, 'prod-1', { tier: 'a' }), 'Enforce');
  assert.equal(ruleFailureAction(policy([both]), both, 'prod-1', { tier: 'b' }), 'Audit', 'namespaces and selector must both hold');
});

test('apply: validate rules after a mutation see images of the mutated resource', () => {
  const p = policy([
    { name: 'pin', match: matchPods, mutate: { patchStrategicMerge: { spec: { containers: [{ name: 'c', image: 'nginx:1.3' }] } } } },
    {
      name: 'tag',
      match: matchPods,
      validate: { message: 'tag is {{images.containers.c.tag}}', deny: { conditions: { all: [{ key: '{{images.containers.c.tag}}', operator: 'NotEquals', value: '1.3' }] } } },
    },
  ]);
  const r = applyPolicy(p, { request: create(pod('x')), cluster: cluster() });
  assert.deepEqual(r.rules.map((x) => [x.name, x.status]), [['pin', 'pass'], ['tag', 'pass']]);
});

test('apply: generate rules report the resources they create', () => {
  const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } };
  const p = policy([
    {
      name: 'quota',
      match: { any: [{ resources: { kinds: ['Namespace'] } }] },
      generate: { apiVersion: 'v1', kind: 'ResourceQuota', name: 'q', namespace: '{{request.object.metadata.name}}', data: { spec: { hard: { pods: '10' } } } },
    },
  ]);
  const r = applyPolicy(p, { request: create(ns), cluster: cluster() });
  assert.equal(r.rules.length, 1);
  assert.equal(r.rules[0].type, 'Generation');
  assert.equal(r.rules[0].status, 'pass');
  const gen = r.rules[0].generatedResources ?? [];
  assert.equal(gen.length, 1);
  assert.equal((gen[0].metadata as JsonObject).namespace, 'team-a');
});

test("apply: a rule's reportProperties are substituted once its preconditions hold (Kyverno's SubstitutePropertiesInRule) and carried by its results", () => {
  const reportProperties = { operation: '{{ request.operation }}', objName: '{{ objName }}', literal: 'x' };
  const rule = (extra: JsonObject): JsonObject => ({ name: 'r', match: matchPods, context: [{ name: 'objName', variable: { jmesPath: 'request.object.metadata.name' } }], reportProperties, ...extra });
  const pass = applyPolicy(policy([rule({ validate: { pattern: { metadata: { name: '?*' } } } })]), { request: create(pod('bar')), cluster: cluster() });
  assert.deepEqual(pass.rules.map((r) => [r.status, r.properties]), [['pass', { operation: 'CREATE', objName: 'bar', literal: 'x' }]]);
  const fail = applyPolicy(policy([rule({ validate: { deny: {} } })]), { request: create(pod('bar')), cluster: cluster() });
  assert.deepEqual(fail.rules.map((r) => [r.status, r.properties]), [['fail', { operation: 'CREATE', objName: 'bar', literal: 'x' }]]);
  // Preconditions that do not hold: the skip carries them as written.
  const skipped = applyPolicy(policy([rule({ preconditions: { all: [{ key: '{{ request.operation }}', operator: 'Equals', value: 'DELETE' }] }, validate: { deny: {} } })]), { request: create(pod('bar')), cluster: cluster() });
  assert.deepEqual(skipped.rules.map((r) => [r.status, r.properties]), [['skip', reportProperties]]);
  // A variable that does not resolve leaves every property as written.
  const unresolved = applyPolicy(policy([rule({ reportProperties: { ...reportProperties, missing: '{{ request.object.spec.nothing.here }}' }, validate: { deny: {} } })]), { request: create(pod('bar')), cluster: cluster() });
  assert.equal(unresolved.rules[0].properties?.objName, '{{ objName }}');
  const mutated = applyPolicy(policy([rule({ mutate: { patchStrategicMerge: { metadata: { labels: { a: 'b' } } } } })]), { request: create(pod('bar')), cluster: cluster() });
  assert.deepEqual(mutated.rules.map((r) => [r.type, r.properties]), [['Mutation', { operation: 'CREATE', objName: 'bar', literal: 'x' }]]);
});

test('apply: a policy whose webhookConfiguration.matchConditions do not hold applies no rule (Kyverno\'s MatchPolicyContext)', () => {
  const conditions = (...expressions: string[]) => ({ webhookConfiguration: { matchConditions: expressions.map((expression, i) => ({ name: `c${i}`, expression })) } });
  const rules = [{ name: 'deny', match: matchPods, validate: { deny: {} } }, { name: 'add', match: matchPods, mutate: { patchStrategicMerge: { metadata: { labels: { team: 'core' } } } } }];
  const asUser = (groups: string[]): AdmissionRequest => ({ ...create(pod('x')), requestInfo: { roles: [], clusterRoles: [], userInfo: { username: 'u', groups } } });
  const selecting = policy(rules, conditions('object.metadata.namespace == "default"', '"system:masters" in request.userInfo.groups'));
  assert.deepEqual(applyPolicy(selecting, { request: asUser(['system:masters']), cluster: cluster() }).rules.map((x) => [x.name, x.status]), [['add', 'pass'], ['deny', 'fail']]);
  // One false condition: no rule result, the resource unchanged.
  const skipped = applyPolicy(selecting, { request: asUser(['system:authenticated']), cluster: cluster() });
  assert.deepEqual(skipped.rules, []);
  assert.equal((skipped.patchedResource.metadata as any).labels.team, undefined);
  // A background scan's request has no user: a condition on the user does not hold there.
  assert.deepEqual(applyPolicy(selecting, { request: create(pod('x')), cluster: cluster() }).rules, []);
  // A condition that cannot be evaluated leaves the policy out too (the matcher's error: no match).
  assert.deepEqual(applyPolicy(policy(rules, conditions('object.spec.missing.field == 1')), { request: asUser([]), cluster: cluster() }).rules, []);
  // An empty list selects everything.
  assert.equal(applyPolicy(policy(rules, { webhookConfiguration: { matchConditions: [] } }), { request: asUser([]), cluster: cluster() }).rules.length, 2);
});
