/** The reply's text: the common "allowed, nothing else" answer is written from fixed pieces, every other one by JSON.stringify, with the same result. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerText, evaluateReview } from '../../webhook/evaluate';
import { PolicyIndex } from '../../webhook/prefilter';

const envelope = (response: Record<string, unknown>) => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response });

test('answerText writes exactly what JSON.stringify writes, for the common answer and the others', () => {
  for (const body of [
    envelope({ uid: 'u-1', allowed: true }),
    envelope({ uid: 'quote " back \\ slash \u2028 newline \n', allowed: true }),
    envelope({ uid: 'u', allowed: false, status: { code: 403, message: 'no' } }),
    envelope({ uid: 'u', allowed: true, warnings: ['w'] }),
    envelope({ uid: 'u', allowed: true, patchType: 'JSONPatch', patch: 'W10=' }),
    { kind: 'AdmissionReview', apiVersion: 'admission.k8s.io/v1', response: { uid: 'u', allowed: true } },
    envelope({ allowed: true, uid: 'u' }),
    { message: 'bad AdmissionReview: request is missing' },
  ]) assert.equal(answerText(body), JSON.stringify(body));
});

test('an admitted review, a warned one and a denied one: the reply body parses to the answer', () => {
  const policy = (name: string, action: string, pattern: unknown) => ({
    apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name },
    spec: { validationFailureAction: action, rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['Pod'] } }] }, validate: { message: `${name} failed`, pattern } }] },
  });
  const review = (labels: Record<string, string>) => JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {
    uid: 'the-uid', operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, namespace: 'a', userInfo: {},
    object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'a', labels }, spec: { containers: [{ name: 'c', image: 'x:1' }] } } } });
  const cluster = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] };
  const index = new PolicyIndex([policy('need-team', 'Enforce', { metadata: { labels: { team: '?*' } } }), policy('want-app', 'Audit', { metadata: { labels: { app: '?*' } } })]);
  const answer = (labels: Record<string, string>) => JSON.parse(evaluateReview({ path: 'validate', body: review(labels), reports: false }, index, cluster).body).response;
  assert.deepEqual(answer({ team: 't', app: 'x' }), { uid: 'the-uid', allowed: true });
  const denied = answer({});
  assert.equal(denied.allowed, false);
  assert.match(denied.status.message, /need-team/);
  assert.deepEqual(answer({ team: 't' }), { uid: 'the-uid', allowed: true }, 'an Audit failure on /validate does not warn');
});
