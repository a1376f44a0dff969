/**
 * Per-policy and per-request caches on the evaluation path must not change results: the same
 * policy objects applied to different requests, literal documents, pattern strings parsed once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyPolicy } from '../../engine/apply';
import type { AdmissionRequest, ClusterState, JsonObject } from '../../engine/core/types';
import { validatePattern } from '../../engine/pattern';
import { parseDuration, parseDurationExact, DurationError } from '../../engine/units';
import { substituteAll } from '../../engine/variables';

const cluster: ClusterState = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] };

function pod(name: string, labels: Record<string, string>, image: string): JsonObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'apps', labels }, spec: { containers: [{ name: 'c', image }] } };
}

function request(object: JsonObject): AdmissionRequest {
  return { operation: 'CREATE', object, oldObject: null, kind: { group: '', version: 'v1', kind: 'Pod' }, namespace: 'apps', requestInfo: { roles: [], clusterRoles: [], userInfo: {} } };
}

const policy: JsonObject = {
  apiVersion: 'kyverno.io/v1',
  kind: 'ClusterPolicy',
  metadata: { name: 'checks' },
  spec: {
    validationFailureAction: 'Enforce',
    rules: [
      { name: 'team', match: { any: [{ resources: { kinds: ['Pod'] } }] }, validate: { message: 'team', pattern: { metadata: { labels: { team: '?*' } } } } },
      { name: 'tag', match: { any: [{ resources: { kinds: ['Pod'] } }] }, validate: { message: 'tag', pattern: { spec: { containers: [{ image: '!*:latest' }] } } } },
      {
        name: 'image-var',
        match: { any: [{ resources: { kinds: ['Pod'] } }] },
        validate: { message: 'image', deny: { conditions: { any: [{ key: '{{ images.containers.c.tag }}', operator: 'Equals', value: 'bad' }] } } },
      },
    ],
  },
};

function statuses(object: JsonObject): string[] {
  return applyPolicy(policy, { request: request(object), cluster, phases: ['validate'] }).rules.map((r) => `${r.name}=${r.status}`);
}

test('evaluation caches: one policy object gives each request its own result', () => {
  assert.deepEqual(statuses(pod('a', { team: 'x' }, 'nginx:1.0')), ['team=pass', 'tag=pass', 'image-var=pass']);
  assert.deepEqual(statuses(pod('b', {}, 'nginx:latest')), ['team=fail', 'tag=fail', 'image-var=pass']);
  assert.deepEqual(statuses(pod('c', { team: 'y' }, 'nginx:bad')), ['team=pass', 'tag=pass', 'image-var=fail']);
  // The same request object again: the shared per-request scope still sees its own images.
  const same = request(pod('d', { team: 'z' }, 'nginx:bad'));
  for (let i = 0; i < 2; i++) {
    assert.deepEqual(applyPolicy(policy, { request: same, cluster, phases: ['validate'] }).rules.map((r) => r.status), ['pass', 'pass', 'fail']);
  }
});

test('evaluation caches: substituting a literal document still returns a copy unless the caller only reads it', () => {
  const doc = { a: [{ b: 'x' }], c: 1 };
  const copy = substituteAll(doc, { data: {} }) as typeof doc;
  assert.deepEqual(copy, doc);
  assert.notEqual(copy, doc);
  assert.notEqual(copy.a, doc.a);
  assert.equal(substituteAll(doc, { data: {} }, { readOnly: true }), doc);
  // Escapes still unescape, and a document with variables is still substituted.
  assert.deepEqual(substituteAll({ k: '\\{{ x }}' }, { data: { x: 1 } }, { readOnly: true }), { k: '{{ x }}' });
  assert.deepEqual(substituteAll({ k: '{{ x }}' }, { data: { x: 2 } }, { readOnly: true }), { k: 2 });
});

test('evaluation caches: a pattern matched again against other resources gives their own outcome', () => {
  const pattern = { metadata: { labels: { 'app*': '?*', team: 'a | b' } }, spec: { '=(replicas)': '>1 & <10' } };
  assert.equal(validatePattern({ metadata: { labels: { application: 'x', team: 'a' } }, spec: { replicas: 3 } }, pattern).status, 'pass');
  assert.equal(validatePattern({ metadata: { labels: { application: 'x', team: 'c' } }, spec: { replicas: 3 } }, pattern).status, 'fail');
  assert.equal(validatePattern({ metadata: { labels: { application: 'x', team: 'b' } }, spec: { replicas: 12 } }, pattern).status, 'fail');
  assert.equal(validatePattern({ metadata: { labels: { team: 'b' } }, spec: {} }, pattern).status, 'fail');
});

test('evaluation caches: durations parse without exceptions but keep Go errors for exact parsing', () => {
  assert.equal(parseDuration('10'), null);
  assert.equal(parseDuration('1m30s'), 90e9);
  assert.throws(() => parseDurationExact('10'), (e: unknown) => e instanceof DurationError && e.message === 'time: missing unit in duration "10"');
  assert.throws(() => parseDurationExact('1x'), (e: unknown) => e instanceof DurationError && e.message === 'time: unknown unit "x" in duration "1x"');
  assert.throws(() => parseDurationExact('.s'), (e: unknown) => e instanceof DurationError && e.message === 'time: invalid duration ".s"');
});
