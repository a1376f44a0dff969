/**
 * The policy webhook's permission questions asked of the API server (webhook/access-review.ts):
 * each of the account Kyverno asks it of.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accessOptionsOf, collectAccessAnswers, type AccessReviewer } from '../../webhook/access-review';
import { accessCheckError } from '../../engine/policy/auth-checks';
import { evaluatePolicyValidation } from '../../webhook/evaluate';
import type { JsonObject } from '../../engine/core/types';

const ADMISSION = 'system:serviceaccount:kyverno:kyverno-admission-controller';
const BACKGROUND = 'system:serviceaccount:kyverno:kyverno-background-controller';

const syncGenerate: JsonObject = {
  apiVersion: 'kyverno.io/v1',
  kind: 'ClusterPolicy',
  metadata: { name: 'p' },
  spec: { rules: [{ name: 'g', match: { any: [{ resources: { kinds: ['Namespace'] } }] }, generate: { synchronize: true, apiVersion: 'v1', kind: 'ServiceAccount', name: 'sa', namespace: 'default', data: {} } }] },
};

/** An API server whose RBAC allows `allowed` ("user verb"), recording each review's user and verb. */
function reviewer(allowed: string[], asked: string[], accounts: Pick<AccessReviewer, 'user' | 'admissionUser' | 'cleanupUser'>): AccessReviewer {
  return {
    ...accounts,
    post: async (_path, body) => {
      const spec = body.spec as JsonObject;
      const entry = `${String(spec.user)} ${String((spec.resourceAttributes as JsonObject).verb)}`;
      asked.push(entry);
      return { ...body, status: { allowed: allowed.includes(entry) } };
    },
    resourceOf: async () => ({ group: '', version: 'v1', resource: 'serviceaccounts' }),
  };
}

test('a synchronizing generate rule: list/get asked of the admission controller\'s account, get/create/update/delete of the background one', async () => {
  const asked: string[] = [];
  const bgVerbs = ['get', 'create', 'update', 'delete'].map((v) => `${BACKGROUND} ${v}`);
  const collected = await collectAccessAnswers(syncGenerate, reviewer(bgVerbs, asked, { user: BACKGROUND, admissionUser: ADMISSION }));
  assert.deepEqual(asked.sort(), [`${ADMISSION} get`, `${ADMISSION} list`, ...bgVerbs].sort());
  // The admission account may not list/get: Kyverno's message names it.
  assert.equal(accessCheckError(syncGenerate, accessOptionsOf(collected)), `path: spec.rules[0].generate..: ${ADMISSION} requires permissions list,get for resource v1/ServiceAccount in namespace default`);
  const allowedAll = await collectAccessAnswers(syncGenerate, reviewer([`${ADMISSION} list`, `${ADMISSION} get`, ...bgVerbs], [], { user: BACKGROUND, admissionUser: ADMISSION }));
  assert.equal(accessCheckError(syncGenerate, accessOptionsOf(allowedAll)), undefined);
});

test('one account for both (our deploy): each question is asked once, of that account', async () => {
  const asked: string[] = [];
  const collected = await collectAccessAnswers(syncGenerate, reviewer([], asked, { user: BACKGROUND }));
  assert.deepEqual(asked.sort(), ['create', 'delete', 'get', 'list', 'update'].map((v) => `${BACKGROUND} ${v}`).sort());
  assert.equal(accessCheckError(syncGenerate, accessOptionsOf(collected)), `path: spec.rules[0].generate..: ${BACKGROUND} requires permissions list,get for resource v1/ServiceAccount in namespace default`);
  // Naming the same account as the admission one changes nothing.
  const same: string[] = [];
  await collectAccessAnswers(syncGenerate, reviewer([], same, { user: BACKGROUND, admissionUser: BACKGROUND }));
  assert.deepEqual(same.sort(), asked);
});

test('a cleanup policy: delete and list asked of the cleanup controller\'s account; the policy webhook refuses with Kyverno\'s message', async () => {
  const CLEANUP = 'system:serviceaccount:kyverno:kyverno-cleanup-controller';
  const policy: JsonObject = { apiVersion: 'kyverno.io/v2', kind: 'ClusterCleanupPolicy', metadata: { name: 'c' }, spec: { schedule: '* * * * *', match: { any: [{ resources: { kinds: ['ServiceAccount'] } }] } } };
  const asked: string[] = [];
  const collected = await collectAccessAnswers(policy, reviewer([`${CLEANUP} delete`], asked, { user: BACKGROUND, admissionUser: ADMISSION, cleanupUser: CLEANUP }));
  assert.deepEqual(asked, [`${CLEANUP} delete`, `${CLEANUP} list`]);
  const review = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', operation: 'CREATE', object: policy, userInfo: { username: 'admin' } } };
  const reply = evaluatePolicyValidation(JSON.stringify(review), { access: accessOptionsOf(collected) });
  const response = (JSON.parse(reply.body) as { response: { allowed: boolean; status?: { message?: string } } }).response;
  assert.equal(response.allowed, false);
  assert.match(String(response.status?.message), /cleanup controller has no permission to list kind ServiceAccount$/);
  const granted = await collectAccessAnswers(policy, reviewer([`${CLEANUP} delete`, `${CLEANUP} list`], [], { user: BACKGROUND, cleanupUser: CLEANUP }));
  assert.equal((JSON.parse(evaluatePolicyValidation(JSON.stringify(review), { access: accessOptionsOf(granted) }).body) as { response: { allowed: boolean } }).response.allowed, true);
});
