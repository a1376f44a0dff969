/**
 * A review's metric outcomes and rule results are shared objects where reviews repeat: each
 * policy's outcome at a position is checked before the per-name lookup, and a literal
 * pattern's pass result is one frozen object. Both must follow every change of answer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateReview } from '../../webhook/evaluate';
import { PolicyIndex } from '../../webhook/prefilter';
import { applyPolicy } from '../../engine/apply';
import type { AdmissionRequest, JsonObject } from '../../engine/core/types';

const cluster = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] };
const policy = (name: string, action: string, rules: Array<[string, unknown]>) => ({
  apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name },
  spec: { validationFailureAction: action, rules: rules.map(([rule, pattern]) => ({ name: rule, match: { any: [{ resources: { kinds: ['Pod'] } }] }, validate: { message: `${rule} failed`, pattern } })) },
});
const pod = (labels: Record<string, string>) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'a', labels }, spec: { containers: [{ name: 'c', image: 'x:1' }] } });
const body = (labels: Record<string, string>) => JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {
  uid: 'u', operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, namespace: 'a', userInfo: {}, object: pod(labels) } });

test('metric outcomes follow each review: pass, fail, back to pass, per rule position', () => {
  const index = new PolicyIndex([
    policy('labels', 'Audit', [['team', { metadata: { labels: { team: '?*' } } }], ['app', { metadata: { labels: { app: '?*' } } }]]),
    policy('enforced', 'Enforce', [['team', { metadata: { labels: { team: '?*' } } }]]),
  ]);
  const outcomes = (labels: Record<string, string>) => evaluateReview({ path: 'validate', body: body(labels), reports: false }, index, cluster).outcomes;
  const seen = (labels: Record<string, string>) => outcomes(labels).map((o) => `${o.policy}/${o.rule}:${o.status}:${o.validationMode}`);
  assert.deepEqual(seen({ team: 't', app: 'a' }), ['labels/team:pass:audit', 'labels/app:pass:audit', 'enforced/team:pass:enforce']);
  assert.deepEqual(seen({ app: 'a' }), ['labels/team:fail:audit', 'labels/app:pass:audit', 'enforced/team:fail:enforce']);
  assert.deepEqual(seen({ team: 't' }), ['labels/team:pass:audit', 'labels/app:fail:audit', 'enforced/team:pass:enforce']);
  assert.deepEqual(seen({ team: 't', app: 'a' }), ['labels/team:pass:audit', 'labels/app:pass:audit', 'enforced/team:pass:enforce']);
  // The same answer gives the same outcome objects (no label text per review).
  const [a, b] = [outcomes({ team: 't', app: 'a' }), outcomes({ team: 't', app: 'a' })];
  for (let i = 0; i < a.length; i++) assert.equal(a[i], b[i]);
  assert.ok(Object.isFrozen(a[0]));
});

test('a literal pattern pass is one frozen result per rule and action, equal to a fresh one', () => {
  const p = policy('labels', 'Enforce', [['team', { metadata: { labels: { team: '?*' } } }]]) as JsonObject;
  const request = (labels: Record<string, string>): AdmissionRequest => ({
    operation: 'CREATE', object: pod(labels), oldObject: null, kind: { group: '', version: 'v1', kind: 'Pod' }, namespace: 'a',
    requestInfo: { roles: [], clusterRoles: [], userInfo: { username: 'u' } },
  });
  const first = applyPolicy(p, { request: request({ team: 't' }), cluster, phases: ['validate'] }).rules[0];
  const second = applyPolicy(p, { request: request({ team: 'other' }), cluster, phases: ['validate'] }).rules[0];
  assert.equal(first, second);
  assert.ok(Object.isFrozen(first));
  assert.deepEqual({ ...first }, { name: 'team', type: 'Validation', status: 'pass', message: 'validation rule \'team\' passed.', failureAction: 'Enforce' });
  const failed = applyPolicy(p, { request: request({}), cluster, phases: ['validate'] }).rules[0];
  assert.equal(failed.status, 'fail');
  assert.notEqual(failed, first);
});

test('a shared one-result list is copied, never changed, when the policy adds more results', () => {
  const team = { metadata: { labels: { team: '?*' } } };
  const app = { metadata: { labels: { app: '?*' } } };
  const one = policy('one', 'Audit', [['team', team]]) as JsonObject;
  const two = policy('two', 'Audit', [['team', team], ['app', app]]) as JsonObject;
  const request: AdmissionRequest = {
    operation: 'CREATE', object: pod({ team: 't', app: 'a' }), oldObject: null, kind: { group: '', version: 'v1', kind: 'Pod' }, namespace: 'a',
    requestInfo: { roles: [], clusterRoles: [], userInfo: { username: 'u' } },
  };
  const alone = applyPolicy(one, { request, cluster, phases: ['validate'] }).rules;
  assert.equal(applyPolicy(one, { request, cluster, phases: ['validate'] }).rules, alone);
  assert.ok(Object.isFrozen(alone));
  for (let i = 0; i < 2; i++) {
    const both = applyPolicy(two, { request, cluster, phases: ['validate'] }).rules;
    assert.deepEqual(both.map((r) => `${r.name}:${r.status}`), ['team:pass', 'app:pass']);
  }
  const failing = applyPolicy(two, { request: { ...request, object: pod({ team: 't' }) }, cluster, phases: ['validate'] }).rules;
  assert.deepEqual(failing.map((r) => `${r.name}:${r.status}`), ['team:pass', 'app:fail']);
  assert.equal(alone.length, 1);
});
