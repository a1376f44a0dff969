/** The mutating webhook's denial when a classic policy's mutate rules fail or error (Kyverno's mutation handler). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerAdmissionReview } from '../../webhook/admission';
import type { JsonObject } from '../../engine/core/types';

const cluster = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] };
const labelFrom = (name: string, failurePolicy: string | undefined, variable: string): JsonObject => ({
  apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name },
  spec: {
    ...(failurePolicy ? { failurePolicy } : {}),
    rules: [{
      name: 'add', match: { any: [{ resources: { kinds: ['Pod'] } }] },
      context: [{ name: 'labels', variable: { value: { present: 'yes' } } }],
      mutate: { patchStrategicMerge: { metadata: { labels: { copied: `{{ ${variable} }}` } } } },
    }],
  },
});
const review = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {
  uid: 'u', operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, namespace: 'a', userInfo: {},
  object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'a' }, spec: { containers: [{ name: 'c', image: 'x:1' }] } } } };
const answer = (policies: JsonObject[]) => (answerAdmissionReview(review, 'mutate', policies, cluster).body as { response: JsonObject }).response;

test('mutate: an erroring mutate rule denies the request under failurePolicy Fail, with the failed rules', () => {
  const denied = answer([labelFrom('copy', 'Fail', 'labels."missing.key/x"')]);
  assert.equal(denied.allowed, false);
  assert.equal((denied.status as JsonObject).message,
    'mutation policy copy error: failed to apply policy copy rules [add: variable substitution failed: failed to resolve labels."missing.key/x" at path /mutate/patchStrategicMerge/metadata/labels/copied: JMESPath query failed: Unknown key "missing.key/x" in path]');
  assert.equal(answer([labelFrom('copy', undefined, 'labels.missing')]).allowed, false, 'Fail is the default');
});

test('mutate: under Ignore an erroring rule is let through, unless an earlier policy set Fail (Kyverno keeps it for the loop)', () => {
  const ignored = answer([labelFrom('copy', 'Ignore', 'labels.missing')]);
  assert.equal(ignored.allowed, true);
  const fine = labelFrom('fine', 'Fail', 'labels.present');
  assert.equal(answer([fine]).allowed, true);
  assert.ok(answer([fine]).patch, 'the working policy patches');
  assert.equal(answer([fine, labelFrom('copy', 'Ignore', 'labels.missing')]).allowed, false);
  assert.equal(answer([labelFrom('copy', 'Ignore', 'labels.missing'), fine]).allowed, true);
});
