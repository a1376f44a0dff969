/** The review deadline inside a server process: checked between policies, answered with a 504. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateReview } from '../../webhook/evaluate';
import { PolicyIndex } from '../../webhook/prefilter';

const cluster = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] };

function policy(name: string) {
  return {
    apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name },
    spec: { validationFailureAction: 'Enforce', rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['Pod'] } }] }, validate: { message: 'm', pattern: { metadata: { name: '?*' } } } }] },
  };
}

const body = JSON.stringify({
  apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
  request: { uid: 'u', operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, namespace: 'ns', userInfo: {}, object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns' } } },
});

test('a review whose deadline has passed stops before the next policy and answers 504', () => {
  const index = new PolicyIndex([policy('a'), policy('b'), policy('c')]);
  const late = evaluateReview({ path: 'validate', body, deadline: Date.now() - 1 }, index, cluster);
  assert.equal(late.status, 504);
  assert.match(JSON.parse(late.body).message, /exceeded its deadline .*\(0 of 3 policies done\)/);
  assert.deepEqual(late.outcomes, []);
  const inTime = evaluateReview({ path: 'validate', body, deadline: Date.now() + 60_000 }, index, cluster);
  assert.equal(inTime.status, 200);
  assert.equal(inTime.outcomes.length, 3);
});
