/** The validating webhook's verifyImages checks (verifyDigest, required): Kyverno's validating handler blocks on them as on validate rules. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerAdmissionReview } from '../../webhook/admission';
import type { JsonObject } from '../../engine/core/types';

const cluster = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] };
const digestPolicy = (failureAction: string): JsonObject => ({
  apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'digests' },
  spec: { rules: [{ name: 'digest', match: { any: [{ resources: { kinds: ['Pod'] } }] }, verifyImages: [{ imageReferences: ['ghcr.io/team/*'], mutateDigest: false, required: false, verifyDigest: true, failureAction }] }] },
});
const review = (image: string) => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {
  uid: 'u', operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, namespace: 'a', userInfo: {},
  object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'a' }, spec: { containers: [{ name: 'c', image }] } } } });
const answer = (policy: JsonObject, image: string) => (answerAdmissionReview(review(image), 'validate', [policy], cluster).body as { response: JsonObject }).response;

test('validate: an image without the digest verifyDigest asks for is refused under Enforce, with the rule\'s message', () => {
  const denied = answer(digestPolicy('Enforce'), 'ghcr.io/team/app:v1');
  assert.equal(denied.allowed, false);
  assert.equal((denied.status as JsonObject).message, '\n\nresource Pod/a/p was blocked due to the following policies \n\ndigests:\n  digest: missing digest for ghcr.io/team/app:v1\n');
  assert.equal(answer(digestPolicy('Enforce'), `ghcr.io/team/app:v1@sha256:${'a'.repeat(64)}`).allowed, true);
  assert.equal(answer(digestPolicy('Audit'), 'ghcr.io/team/app:v1').allowed, true, 'Audit reports, never blocks');
});
