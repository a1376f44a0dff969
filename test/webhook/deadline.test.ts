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

test('a deadline passing between policies names how many were done, up to the last one (cut inside it)', () => {
  const index = new PolicyIndex([policy('a'), policy('b'), policy('c'), policy('d')]);
  const realNow = Date.now;
  // A clock that moves one millisecond per read: as the deadline moves later, the review gets
  // further before it passes, and each policy boundary is seen once.
  const t0 = realNow();
  let reads = 0;
  Date.now = () => t0 + ++reads;
  const done = new Set<string>();
  let answered = false;
  try {
    for (let d = 0; d < 200 && !answered; d++) {
      reads = 0;
      const r = evaluateReview({ path: 'validate', body, deadline: t0 + d }, index, cluster);
      if (r.status === 200) {
        answered = true;
        assert.equal(r.outcomes.length, 4);
        continue;
      }
      assert.equal(r.status, 504);
      done.add(/\((\d+) of 4 policies done\)/.exec(JSON.parse(r.body).message)![1]);
    }
  } finally {
    Date.now = realNow;
  }
  assert.ok(answered);
  assert.deepEqual([...done].sort(), ['0', '1', '2', '3']);
});
