/** The admission answer for ValidatingPolicies, as Kyverno's vpol handler words it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerAdmissionReview } from '../../webhook/admission';
import type { JsonObject } from '../../engine/core/types';
import { configureEngine, DEFAULT_ENGINE_CONFIGURATION } from '../../engine/core/configuration';

const cluster = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] };
const vpol = (actions?: string[]): JsonObject => ({
  apiVersion: 'policies.kyverno.io/v1', kind: 'ValidatingPolicy', metadata: { name: 'vp' },
  spec: {
    ...(actions ? { validationActions: actions } : {}),
    matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['configmaps'] }] },
    validations: [{ expression: "has(object.data) && 'a' in object.data", message: 'need a' }],
  },
});
const classic: JsonObject = {
  apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'cp' },
  spec: { validationFailureAction: 'Enforce', rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['ConfigMap'] } }] }, validate: { message: 'need b', pattern: { data: { b: '?*' } } } }] },
};
const review = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: '1', kind: { group: '', version: 'v1', kind: 'ConfigMap' }, resource: { group: '', version: 'v1', resource: 'configmaps' }, operation: 'CREATE', namespace: 'n', name: 'c', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'n' } }, userInfo: { username: 'u' } } };
const answer = (policies: JsonObject[]) => answerAdmissionReview(review, 'validate', policies, cluster).body.response as JsonObject;

test('a ValidatingPolicy denies under Deny (the default) with "Policy <name> failed: <message>"', () => {
  for (const actions of [['Deny'], undefined]) {
    const r = answer([vpol(actions)]);
    assert.equal(r.allowed, false);
    assert.deepEqual(r.status, { code: 403, message: 'Policy vp failed: need a' });
  }
});

test('a ValidatingPolicy warns under Warn and says nothing under Audit', () => {
  assert.deepEqual(answer([vpol(['Warn'])]), { uid: '1', allowed: true, warnings: ['Policy vp failed: need a'] });
  assert.deepEqual(answer([vpol(['Audit'])]), { uid: '1', allowed: true });
});

test('a classic policy that blocks keeps the resource webhook message, without the ValidatingPolicy in it', () => {
  const r = answer([classic, vpol(['Deny'])]);
  assert.equal(r.allowed, false);
  const message = String((r.status as JsonObject).message);
  assert.match(message, /cp:\n {2}r: /);
  assert.doesNotMatch(message, /vp/);
});

test("a review's classic policies share one JSON context: their context entries count together against maxContextSize (Kyverno's validation handler)", () => {
  const half = 'x'.repeat(600);
  const withEntry = (name: string, entry: string, action = 'Enforce'): JsonObject => ({
    apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name },
    spec: {
      validationFailureAction: action,
      rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['ConfigMap'] } }] }, context: [{ name: entry, variable: { value: half } }], validate: { message: 'm', deny: { conditions: { any: [{ key: `{{ length(${entry}) }}`, operator: 'Equals', value: 0 }] } } } }],
    },
  });
  configureEngine({ ...DEFAULT_ENGINE_CONFIGURATION, maxContextSize: 1024 });
  try {
    const one = answerAdmissionReview(review, 'validate', [withEntry('one', 'a')], cluster);
    assert.deepEqual(one.responses.map((r) => r.rules[0].status), ['pass']);
    const both = answerAdmissionReview(review, 'validate', [withEntry('one', 'a'), withEntry('two', 'b')], cluster);
    assert.deepEqual(both.responses.map((r) => r.rules[0].status), ['pass', 'error']);
    assert.match(both.responses[1].rules[0].message, /context size limit exceeded: 1204 bytes exceeds limit of 1024 bytes$/);
    // Audit-only policies run in HandleValidationAudit's own policy context, shared among them.
    const audit = answerAdmissionReview(review, 'validate', [withEntry('one', 'a'), withEntry('two', 'b', 'Audit'), withEntry('three', 'c', 'Audit')], cluster);
    assert.deepEqual(audit.responses.map((r) => r.rules[0].status), ['pass', 'pass', 'error']);
    // A background scan builds a policy context per policy: nothing is shared.
    const scan = answerAdmissionReview(review, 'validate', [withEntry('one', 'a'), withEntry('two', 'b'), withEntry('three', 'c', 'Audit')], cluster, Infinity, true);
    assert.deepEqual(scan.responses.map((r) => r.rules[0].status), ['pass', 'pass', 'pass']);
  } finally {
    configureEngine();
  }
});
