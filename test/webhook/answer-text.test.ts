/** The reply's text: the plain allowed answer is written from fixed pieces, every other one by JSON.stringify, with the same result. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerAdmissionReview, answerText, type WebhookPath } from '../../webhook/admission';
import { evaluateReview } from '../../webhook/evaluate';
import { PolicyIndex } from '../../webhook/prefilter';
import type { JsonObject } from '../../engine/core/types';

const cluster = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] };
const validate = (name: string, action: string, pattern: unknown, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name },
  spec: { validationFailureAction: action, ...extra, rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['Pod'] } }] }, validate: { message: `${name} failed`, pattern } }] },
});
const addLabel = {
  apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'add-label' },
  spec: { rules: [{ name: 'm', match: { any: [{ resources: { kinds: ['Pod'] } }] }, mutate: { patchStrategicMerge: { metadata: { labels: { '+(added)': 'yes' } } } } }] },
};
const review = (labels: Record<string, string>, uid = 'the-uid') => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {
  uid, operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, namespace: 'a', userInfo: {},
  object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'a', labels }, spec: { containers: [{ name: 'c', image: 'x:1' }] } } } });

test('answerText writes exactly what JSON.stringify writes: allowed, denied, warned, patched, unpatched, bad', () => {
  const needTeam = validate('need-team', 'Enforce', { metadata: { labels: { team: '?*' } } });
  const warnApp = validate('warn-app', 'Audit', { metadata: { labels: { app: '?*' } } }, { emitWarning: true });
  const cases: Array<[unknown, WebhookPath, JsonObject[], boolean]> = [
    [review({ team: 't', app: 'x' }), 'validate', [needTeam, warnApp], true],
    [review({ team: 't', app: 'x' }, 'quote " back \\ slash \u2028 \n'), 'validate', [needTeam], true],
    [review({}), 'validate', [needTeam], false],
    [review({ team: 't' }), 'validate', [warnApp], false],
    [review({}), 'mutate', [addLabel], false],
    [review({ added: 'no' }), 'mutate', [addLabel], true],
    [{ kind: 'AdmissionReview' }, 'validate', [needTeam], false],
  ];
  for (const [body, path, policies, plain] of cases) {
    const answer = answerAdmissionReview(body, path, policies, cluster);
    assert.equal(answer.plainAllowed === true, plain, JSON.stringify(answer.body));
    assert.equal(answerText(answer), JSON.stringify(answer.body));
  }
});

test('the reply of evaluateReview parses to the answer', () => {
  const index = new PolicyIndex([validate('need-team', 'Enforce', { metadata: { labels: { team: '?*' } } })]);
  const answer = (labels: Record<string, string>) => JSON.parse(evaluateReview({ path: 'validate', body: JSON.stringify(review(labels)), reports: false }, index, cluster).body).response;
  assert.deepEqual(answer({ team: 't' }), { uid: 'the-uid', allowed: true });
  const denied = answer({});
  assert.equal(denied.allowed, false);
  assert.match(denied.status.message, /need-team/);
});
