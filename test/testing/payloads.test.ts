// `kyverno test` with jsonPayloads / httpPayloads / envoyPayloads, run through the real engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runTestDocument, runTestText } from '../../engine/testing';
import type { JsonObject } from '../../engine/core/types';
import { suite, TEST_PATH, yamlDocs } from './helpers';

function jsonPolicy(name: string, expression: string, extra: JsonObject = {}): JsonObject {
  return {
    apiVersion: 'policies.kyverno.io/v1',
    kind: 'ValidatingPolicy',
    metadata: { name },
    spec: { evaluation: { mode: 'JSON' }, validations: [{ expression, message: `${name} failed` }], ...extra },
  };
}

const checkValue = jsonPolicy('check-value', 'object.data.value > 10');

function rows(res: ReturnType<typeof runTestDocument>) {
  assert.equal(res.error, null);
  return res.rows.map((r) => [r.policy, r.resource, r.expected, r.actual, r.ok, r.reason]);
}

test('JSON payloads are keyed by their cleaned names and selected by resources', () => {
  const res = runTestDocument(TEST_PATH, {
    policies: ['policy.yaml'],
    jsonPayloads: ['./good.json', 'bad.json', 'good.json'],
    results: [
      { policy: 'check-value', resources: ['bad.json'], result: 'fail' },
      { policy: 'check-value', resources: ['good.json'], result: 'pass' },
    ],
  }, suite({ 'policy.yaml': yamlDocs(checkValue), 'good.json': '{"data": {"value": 15}}', 'bad.json': '{"data": {"value": 5}}' }));
  assert.deepEqual(rows(res), [
    ['check-value', 'bad.json', 'fail', 'fail', true, 'Ok'],
    ['check-value', 'good.json', 'pass', 'pass', true, 'Ok'],
  ]);
});

test('a result naming no resource is checked against every payload', () => {
  const res = runTestDocument(TEST_PATH, {
    policies: ['policy.yaml'],
    jsonPayload: 'a.yaml',
    results: [{ policy: 'check-value', result: 'pass' }],
  }, suite({ 'policy.yaml': yamlDocs(checkValue), 'a.yaml': 'data:\n  value: 11\n' }));
  assert.deepEqual(rows(res), [['check-value', 'a.yaml', 'pass', 'pass', true, 'Ok']]);
});

test('JSON mode: matchConditions skip, variables, and exceptions with JSON payloads', () => {
  const policy = jsonPolicy('acm', 'variables.roots.all(r, r.enabled == false)', {
    matchConditions: [{ name: 'has-ca', expression: 'has(object.cas)' }],
    variables: [{ name: 'roots', expression: 'object.cas.filter(c, c.type == "ROOT")' }],
  });
  const exception = {
    apiVersion: 'policies.kyverno.io/v1beta1',
    kind: 'PolicyException',
    metadata: { name: 'allow-lab' },
    spec: { policyRefs: [{ name: 'acm', kind: 'ValidatingPolicy' }], matchConditions: [{ name: 'lab', expression: 'object.env == "lab"' }] },
  };
  const res = runTestDocument(TEST_PATH, {
    policies: ['policy.yaml'],
    exceptions: ['exception.yaml'],
    jsonPayloads: ['none.json', 'root.json', 'lab.json'],
    results: [
      { policy: 'acm', resources: ['none.json'], result: 'skip' },
      { policy: 'acm', resources: ['root.json'], result: 'fail' },
      { policy: 'acm', resources: ['lab.json'], result: 'skip' },
    ],
  }, suite({
    'policy.yaml': yamlDocs(policy),
    'exception.yaml': yamlDocs(exception),
    'none.json': '{"other": 1}',
    'root.json': '{"cas": [{"type": "ROOT", "enabled": true}]}',
    'lab.json': '{"env": "lab", "cas": [{"type": "ROOT", "enabled": true}]}',
  }));
  assert.deepEqual(res.rows.map((r) => [r.resource, r.actual, r.ok]), [['none.json', 'skip', true], ['root.json', 'fail', true], ['lab.json', 'skip', true]]);
});

test('Kubernetes-mode policies skip JSON payloads: their results are not found', () => {
  const k8s = { ...jsonPolicy('k8s', 'true'), spec: { validations: [{ expression: 'true' }], matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }] } } };
  const res = runTestDocument(TEST_PATH, {
    policies: ['policy.yaml'],
    jsonPayloads: ['p.json'],
    results: [{ policy: 'k8s', result: 'pass' }],
  }, suite({ 'policy.yaml': yamlDocs(k8s), 'p.json': '{"name": "x"}' }));
  assert.deepEqual(rows(res), [['k8s', 'p.json', 'pass', '', false, 'Not found']]);
});

test('JSON payloads that are not one object are refused with the payload name', () => {
  const run = (text: string, name = 'p.json') => runTestDocument(TEST_PATH, { policies: ['policy.yaml'], jsonPayloads: [name], results: [] },
    suite({ 'policy.yaml': yamlDocs(checkValue), [name]: text })).error;
  assert.match(String(run('[1, 2]')), /JSON payload p\.json must be a top-level object \(map\)/);
  assert.match(String(run('null')), /JSON payload p\.json is empty or nil/);
  assert.match(String(run('{bad')), /failed to load JSON payload p\.json/);
  assert.match(String(run('a: 1\n---\nb: 2\n', 'p.yaml')), /must be a top-level object/);
  assert.match(String(run('{}', 'p.txt')), /unrecognized payload format/);
  assert.match(String(runTestDocument(TEST_PATH, { policies: ['policy.yaml'], jsonPayloads: ['missing.json'], results: [] }, suite({ 'policy.yaml': yamlDocs(checkValue) })).error), /missing\.json: file not found/);
});

test('Envoy and HTTP payloads answer with one rule per policy, keyed by the payload path', () => {
  const envoy = { apiVersion: 'policies.kyverno.io/v1alpha1', kind: 'ValidatingPolicy', metadata: { name: 'envoy-get' },
    spec: { evaluation: { mode: 'Envoy' }, validations: [{ expression: 'object.attributes.request.http.method == "GET" ? envoy.Allowed().Response() : envoy.Denied(403).Response()' }] } };
  const http = { apiVersion: 'policies.kyverno.io/v1alpha1', kind: 'ValidatingPolicy', metadata: { name: 'http-host' },
    spec: { evaluation: { mode: 'HTTP' }, validations: [{ expression: 'object.attributes.host == "ok" ? http.Allowed().Response() : http.Denied("host").Response()' }] } };
  const res = runTestDocument(TEST_PATH, {
    policies: ['policies.yaml'],
    envoyPayloads: ['get.json', 'post.json'],
    httpPayloads: ['req.json'],
    // Payload keys are paths: a result naming no resource is checked against each of them.
    results: [
      { policy: 'envoy-get', result: 'pass' },
      { policy: 'http-host', result: 'fail' },
    ],
  }, suite({
    'policies.yaml': yamlDocs(envoy, http),
    'get.json': '{"attributes": {"request": {"http": {"method": "GET"}}}}',
    'post.json': '{"attributes": {"request": {"http": {"method": "POST"}}}}',
    'req.json': '{"attributes": {"host": "bad"}}',
  }));
  const sorted = rows(res).sort((a, b) => `${a[0]}${a[1]}`.localeCompare(`${b[0]}${b[1]}`));
  assert.deepEqual(sorted, [
    ['envoy-get', 'suite/get.json', 'pass', 'pass', true, 'Ok'],
    ['envoy-get', 'suite/post.json', 'pass', 'fail', false, 'Want pass, got fail'],
    // Each policy answers only the payloads of its mode; the others have no response from it.
    ['envoy-get', 'suite/req.json', 'pass', '', false, 'Not found'],
    ['http-host', 'suite/get.json', 'fail', '', false, 'Not found'],
    ['http-host', 'suite/post.json', 'fail', '', false, 'Not found'],
    ['http-host', 'suite/req.json', 'fail', 'fail', true, 'Ok'],
  ]);
});

test('an Envoy payload protojson refuses is a test error naming the file', () => {
  const res = runTestDocument(TEST_PATH, { policies: ['p.yaml'], envoyPayloads: ['r.json'], results: [] },
    suite({ 'p.yaml': yamlDocs(checkValue), 'r.json': '{"attributes": {"nope": 1}}' }));
  assert.match(String(res.error), /failed to load Envoy payloads from path suite\/r\.json \(unknown field "nope" in attributes\)/);
});

test('each Test document of a file runs with its own payloads', () => {
  const text = yamlDocs(
    { apiVersion: 'cli.kyverno.io/v1alpha1', kind: 'Test', metadata: { name: 'one' }, policies: ['policy.yaml'], jsonPayloads: ['good.json'], results: [{ policy: 'check-value', result: 'pass' }] },
    { apiVersion: 'cli.kyverno.io/v1alpha1', kind: 'Test', metadata: { name: 'two' }, policies: ['policy.yaml'], jsonPayloads: ['bad.json'], results: [{ policy: 'check-value', result: 'pass' }] },
  );
  const files = suite({ 'policy.yaml': yamlDocs(checkValue), 'good.json': '{"data": {"value": 15}}', 'bad.json': '{"data": {"value": 1}}' });
  const results = runTestText(TEST_PATH, text, files);
  assert.deepEqual(results.map((r) => r.error), [null, null]);
  assert.deepEqual(results.flatMap((r) => r.rows.map((row) => [row.resource, row.actual, row.ok])), [['good.json', 'pass', true], ['bad.json', 'fail', false]]);
});

test('DeletingPolicies on a JSON payload: conditions decide pass or fail', () => {
  const dpol = (name: string, expression: string) => ({ apiVersion: 'policies.kyverno.io/v1beta1', kind: 'DeletingPolicy', metadata: { name },
    spec: { schedule: '*/1 * * * *', conditions: [{ name: 'c', expression }] } });
  const res = runTestDocument(TEST_PATH, {
    policies: ['policy.yaml'],
    jsonPayloads: ['p.json'],
    results: [{ policy: 'matches', isDeletingPolicy: true, result: 'pass' }, { policy: 'differs', isDeletingPolicy: true, result: 'fail' }],
  }, suite({ 'policy.yaml': yamlDocs(dpol('matches', 'object.k == "v"'), dpol('differs', 'object.k == "w"')), 'p.json': '{"k": "v"}' }));
  assert.deepEqual(rows(res), [['matches', 'p.json', 'pass', 'pass', true, 'Ok'], ['differs', 'p.json', 'fail', 'fail', true, 'Ok']]);
});

test('a NamespacedValidatingPolicy in JSON mode evaluates payloads, which have no namespace', () => {
  const namespaced = { ...checkValue, kind: 'NamespacedValidatingPolicy', metadata: { name: 'check-value', namespace: 'team-a' } };
  const res = runTestDocument(TEST_PATH, { policies: ['policy.yaml'], jsonPayloads: ['p.json'], results: [{ policy: 'team-a/check-value', result: 'fail' }] },
    suite({ 'policy.yaml': yamlDocs(namespaced), 'p.json': '{"data": {"value": 1}}' }));
  assert.deepEqual(rows(res), [['team-a/check-value', 'p.json', 'fail', 'fail', true, 'Ok']]);
});
