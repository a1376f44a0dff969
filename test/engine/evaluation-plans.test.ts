/**
 * The webhook hot path remembers what depends on the policy alone (pattern plans, match
 * filters, failure actions, rule lists) and builds per-request data lazily or once. These
 * tests pin that the shortcuts give the same answers as the long way round.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyPolicy } from '../../engine/apply';
import { baseScope, extractImages } from '../../engine/context';
import type { AdmissionRequest, ClusterState, JsonObject } from '../../engine/core/types';
import { jmesSearch } from '../../engine/jmespath';
import { evaluateConditions } from '../../engine/conditions';
import { matchesResourceDescription, ruleMatchesRequest } from '../../engine/match';
import { validatePattern } from '../../engine/pattern';
import { substituteVariables } from '../../engine/variables';
import { wildcardMatch } from '../../engine/wildcard/wildcard';

const cluster = (namespaceLabels: Record<string, Record<string, string>> = {}): ClusterState => ({
  resources: [],
  namespaceLabels,
  apiCallResponses: [],
  globalContext: {},
  exceptions: [],
});

function pod(namespace: string, containers: JsonObject[]): JsonObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace }, spec: { containers } };
}

function request(object: JsonObject, username?: string): AdmissionRequest {
  const namespace = String((object.metadata as JsonObject).namespace ?? '');
  return {
    operation: 'CREATE',
    object,
    oldObject: null,
    kind: { group: '', version: 'v1', kind: String(object.kind) },
    namespace,
    requestInfo: { roles: [], clusterRoles: [], userInfo: username ? { username } : {} },
  };
}

test('evaluation plans: the images variable exists only when the resource has images, and reads as the eager listing', () => {
  const withImage = pod('apps', [{ name: 'app', image: 'nginx:1.25' }]);
  const data = baseScope(request(withImage)).data;
  assert.deepEqual(Object.keys(data), ['request', 'images', 'serviceAccountName', 'serviceAccountNamespace']);
  assert.deepEqual(JSON.parse(JSON.stringify(data.images)), extractImages(withImage));
  assert.deepEqual({ ...data }.images, extractImages(withImage));
  assert.equal(jmesSearch('images.containers.app.tag', data), '1.25');
  assert.equal(substituteVariables('{{ images.containers.app.registry }}', { data }), 'docker.io');

  const noImage = baseScope(request(pod('apps', [{ name: 'app', image: 'not a valid ref' }]))).data;
  assert.equal(Object.prototype.hasOwnProperty.call(noImage, 'images'), false);
  assert.throws(() => substituteVariables('{{ images.containers }}', { data: noImage }), /Unknown key "images"/);
});

test('evaluation plans: assigning the lazy images variable replaces it with a plain value', () => {
  const data = { ...baseScope(request(pod('apps', [{ name: 'app', image: 'nginx' }]))).data };
  // A copy turns the getter into a value; the original object accepts assignment too.
  const original = baseScope(request(pod('apps', [{ name: 'app', image: 'nginx' }]))).data;
  original.images = { replaced: true };
  assert.deepEqual(original.images, { replaced: true });
  assert.equal((data.images as JsonObject).containers !== undefined, true);
});

test('evaluation plans: failure paths stay correct when one pattern is matched again and again', () => {
  const pattern = { spec: { containers: [{ '=(ports)': [{ 'X(hostPort)': 'null' }], image: '!*:latest' }] } };
  const good = pod('apps', [{ name: 'a', image: 'nginx:1', ports: [{ containerPort: 80 }] }]);
  const badImage = pod('apps', [{ name: 'a', image: 'nginx:1' }, { name: 'b', image: 'nginx:latest' }]);
  const badPort = pod('apps', [{ name: 'a', image: 'nginx:1', ports: [{ containerPort: 80 }, { hostPort: 80 }] }]);
  for (let round = 0; round < 3; round++) {
    assert.deepEqual(validatePattern(good, pattern), { status: 'pass' });
    const image = validatePattern(badImage, pattern);
    assert.equal(image.status, 'fail');
    assert.deepEqual(image.status === 'fail' && image.path, ['spec', 'containers', 1, 'image']);
    const port = validatePattern(badPort, pattern);
    assert.equal(port.status, 'fail');
    assert.deepEqual(port.status === 'fail' && port.path, ['spec', 'containers', 0, 'ports', 1, 'hostPort']);
  }
});

test('evaluation plans: a returned failure path is not changed by later matches', () => {
  const pattern = { spec: { containers: [{ image: 'registry.example.com/*' }] } };
  const first = validatePattern(pod('apps', [{ name: 'a', image: 'docker.io/x' }]), pattern);
  validatePattern(pod('apps', [{ name: 'a', image: 'registry.example.com/x' }, { name: 'b', image: 'quay.io/y' }]), pattern);
  assert.deepEqual(first.status === 'fail' && first.path, ['spec', 'containers', 0, 'image']);
});

test('evaluation plans: keys inherited by every object are not taken for resource fields', () => {
  const resource = { spec: {} };
  const missing = validatePattern(resource, { spec: { constructor: '*' } });
  assert.equal(missing.status, 'fail');
  assert.match(missing.status === 'fail' ? missing.message : '', /constructor not found/);
  // A null pattern accepts an absent field, not an inherited function.
  assert.equal(validatePattern(resource, { spec: { toString: null } }).status, 'pass');
  assert.equal(validatePattern(resource, { spec: { '__proto__': null } }).status, 'pass');
  assert.equal(validatePattern({ spec: { toString: 'x' } }, { spec: { toString: 'x' } }).status, 'pass');
});

test('evaluation plans: namespace overrides still decide the failure action per request', () => {
  const policy: JsonObject = {
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name: 'overrides' },
    spec: {
      validationFailureAction: 'Audit',
      validationFailureActionOverrides: [{ action: 'Enforce', namespaces: ['prod-*'] }],
      rules: [{ name: 'img', match: { any: [{ resources: { kinds: ['Pod'] } }] }, validate: { pattern: { spec: { containers: [{ image: '*:*' }] } } } }],
    },
  };
  const options = (ns: string) => ({ request: request(pod(ns, [{ name: 'a', image: 'nginx' }])), cluster: cluster(), phases: ['validate' as const] });
  assert.equal(applyPolicy(policy, options('prod-eu')).rules[0].failureAction, 'Enforce');
  assert.equal(applyPolicy(policy, options('dev')).rules[0].failureAction, 'Audit');
  assert.equal(applyPolicy(policy, options('prod-us')).rules[0].failureAction, 'Enforce');
});

test('evaluation plans: one request matched against two clusters uses each cluster namespace labels', () => {
  const rule: JsonObject = { name: 'r', match: { any: [{ resources: { kinds: ['Pod'], namespaceSelector: { matchLabels: { env: 'prod' } } } }] } };
  const req = request(pod('apps', []));
  assert.equal(ruleMatchesRequest(rule, req, cluster({ apps: { env: 'prod' } })).matched, true);
  assert.equal(ruleMatchesRequest(rule, req, cluster({ apps: { env: 'dev' } })).matched, false);
  assert.equal(ruleMatchesRequest(rule, req, cluster({ apps: { env: 'prod' } })).matched, true);
});

test('evaluation plans: user-info filters still see who sends each request', () => {
  const rule: JsonObject = { name: 'r', match: { any: [{ resources: { kinds: ['Pod'] }, subjects: [{ kind: 'User', name: 'alice' }] }] } };
  const object = pod('apps', []);
  assert.equal(ruleMatchesRequest(rule, request(object, 'alice'), cluster()).matched, true);
  assert.equal(ruleMatchesRequest(rule, request(object, 'bob'), cluster()).matched, false);
  // No user at all: the CLI case, where user filters are ignored.
  assert.equal(ruleMatchesRequest(rule, request(object), cluster()).matched, true);
});

test('evaluation plans: match reasons are fresh lists for each call', () => {
  const rule: JsonObject = { name: 'r', match: { resources: { kinds: ['Deployment'] } } };
  const target = {
    resource: pod('apps', []),
    gvk: { group: '', version: 'v1', kind: 'Pod' },
    subresource: '',
    operation: 'CREATE',
    namespaceLabels: {},
    requestInfo: { roles: [], clusterRoles: [], userInfo: {} },
  };
  const first = matchesResourceDescription(rule, target);
  assert.deepEqual(first, ['kind does not match [Deployment]']);
  first.push('changed by the caller');
  assert.deepEqual(matchesResourceDescription(rule, target), ['kind does not match [Deployment]']);
  const matched = matchesResourceDescription({ name: 'r', match: { resources: { kinds: ['Pod'] } } }, target);
  matched.push('x');
  assert.deepEqual(matchesResourceDescription({ name: 'r', match: { resources: { kinds: ['Pod'] } } }, target), []);
});

test('evaluation plans: plain field paths evaluate as the JMESPath interpreter does', () => {
  const docs: unknown[] = [
    { a: { b: { c: 1 } } },
    { a: { b: null } },
    { a: { b: [1, 2] } },
    { a: [{ b: { c: 1 } }] },
    { a: 'text' },
    { a: { b: { c: false } } },
    { a: { b: { c: 0 } } },
    {},
    null,
    [1],
  ];
  for (const doc of docs) {
    // A pipe keeps the interpreter on the general path: both must agree.
    assert.deepEqual(jmesSearch('a.b.c', doc), jmesSearch('a.b.c | @', doc), JSON.stringify(doc));
    assert.deepEqual(jmesSearch('a', doc), jmesSearch('a | @', doc), JSON.stringify(doc));
  }
});

test('evaluation plans: more distinct expressions than the parse cache holds still evaluate', () => {
  for (let i = 0; i < 1500; i++) assert.equal(jmesSearch(`k${i}`, { [`k${i}`]: i }), i);
  assert.equal(jmesSearch('k3', { k3: 'again' }), 'again');
});

test('evaluation plans: any/all condition messages join only the non-empty ones', () => {
  const scope = { data: { request: { namespace: 'default' } } };
  const out = evaluateConditions(
    {
      any: [
        { key: '{{ request.namespace }}', operator: 'Equals', value: 'a', message: 'not a' },
        { key: '{{ request.namespace }}', operator: 'Equals', value: 'b' },
        { key: '{{ request.namespace }}', operator: 'Equals', value: 'c', message: 'not c' },
      ],
    },
    scope,
  );
  assert.deepEqual(out, { passed: false, message: 'not a; not c' });
  assert.deepEqual(evaluateConditions({ all: [{ key: 'x', operator: 'Equals', value: 'x' }] }, scope), { passed: true });
});

test('evaluation plans: wildcard shortcuts agree with the general matcher', () => {
  assert.equal(wildcardMatch('*', ''), true);
  assert.equal(wildcardMatch('*', 'anything'), true);
  assert.equal(wildcardMatch('a*?', 'a*?'), true);
  assert.equal(wildcardMatch('Pod', 'Pod'), true);
  assert.equal(wildcardMatch('Pod', 'Pods'), false);
});
