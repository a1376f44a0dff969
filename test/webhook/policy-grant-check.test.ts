/**
 * What a policy applied after the last deploy needs and the webhook's service account lacks
 * (webhook/policy-grant-check.ts): asked of an API server that authorizes with the RBAC deploy
 * would apply (webhookRbac), over the same policyGrants; said as a warning on the policy's
 * admission, and by the admission leader once per policy generation as a log line and a
 * Warning event.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rbacAllows, webhookRbac } from '../../deploy/rbac';
import { knownKindTable } from '../../engine/kube';
import type { JsonObject } from '../../engine/core/types';
import { missingGrants, missingGrantText, PolicyGrantCheck, type ReviewPost } from '../../webhook/policy-grant-check';
import { policyValidationReply } from '../../webhook/evaluate';
import type { EventInfo } from '../../webhook/event-info';

const kinds = knownKindTable();
const auditServices: JsonObject = {
  apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'services-need-owner', uid: 'u1', generation: 1 },
  spec: { validationFailureAction: 'Audit', rules: [{ name: 'owner', match: { any: [{ resources: { kinds: ['Service'] } }] }, validate: { pattern: { metadata: { labels: { owner: '?*' } } } } }] },
};
const teamPolicy: JsonObject = {
  apiVersion: 'kyverno.io/v1', kind: 'Policy', metadata: { name: 'team-quota', namespace: 'team-a' },
  spec: { rules: [{ name: 'cm', match: { any: [{ resources: { kinds: ['ConfigMap'] } }] }, context: [{ name: 'limits', configMap: { name: 'limits', namespace: 'team-a' } }], validate: { pattern: {} } }] },
};

/** An API server whose RBAC is what deploy derives for `deployed`; records every SelfSubjectAccessReview. */
function apiServer(deployed: JsonObject[]): { post: ReviewPost; asked: JsonObject[] } {
  const { objects } = webhookRbac('kyverno-studio', deployed, kinds);
  const asked: JsonObject[] = [];
  return {
    asked,
    post: async (path, body) => {
      assert.equal(path, '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews');
      const a = (body.spec as JsonObject).resourceAttributes as Record<string, string>;
      asked.push(a);
      const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
      return { status: { allowed: rbacAllows(objects, { verb: a.verb, group: a.group, resource, namespace: a.namespace || undefined }) } };
    },
  };
}

test('a policy deployed with the rest lacks nothing; one applied later lacks what it matches, in words that say how to grant it', async () => {
  assert.deepEqual(await missingGrants(auditServices, kinds, apiServer([auditServices]).post), []);
  const server = apiServer([]);
  const missing = await missingGrants(auditServices, kinds, server.post);
  assert.deepEqual(missing.map((m) => [m.grant.resource, m.verbs, m.grant.rule, m.grant.controller]), [['services', ['get', 'list', 'watch'], 'owner', 'reports-controller']]);
  assert.equal(
    missingGrantText(missing[0]),
    "kyverno-studio: the webhook's service account cannot get, list, watch services, which rule owner needs (to scan and report on what it matches); run `kyverno-studio deploy` again to widen its RBAC, or grant it with a ClusterRole labelled rbac.kyverno.io/aggregate-to-reports-controller=true",
  );
  // One review per verb, asked once.
  assert.equal(server.asked.length, 3);
});

test("a namespaced Policy's needs are asked in its namespace; a named read by its name", async () => {
  const server = apiServer([]);
  const missing = await missingGrants(teamPolicy, kinds, server.post);
  const named = missing.find((m) => m.grant.resourceNames);
  assert.ok(named, JSON.stringify(missing));
  assert.match(missingGrantText(named), /cannot get, list, watch configmaps named limits in team-a, which the policy needs \(to read what its context and expressions reference\).*aggregate-to-admission-controller=true$/);
  assert.ok(server.asked.every((a) => a.namespace === 'team-a'));
  assert.ok(server.asked.some((a) => a.name === 'limits'));
  assert.deepEqual(await missingGrants(teamPolicy, kinds, apiServer([teamPolicy]).post), []);
});

test('a review that fails is not taken for a refusal', async () => {
  assert.deepEqual(await missingGrants(auditServices, kinds, async () => { throw new Error('timeout'); }), []);
});

test('the warnings go on an admitted policy, never on a refused one', () => {
  const review = (object: JsonObject) => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'r1', operation: 'CREATE', object } });
  const admitted = JSON.parse(policyValidationReply(review(auditServices), { grantWarnings: ['kyverno-studio: lacks x'] }).body).response;
  assert.equal(admitted.allowed, true);
  assert.deepEqual(admitted.warnings, ['kyverno-studio: lacks x']);
  const tooSlow = { ...auditServices, spec: { ...(auditServices.spec as JsonObject), webhookTimeoutSeconds: 31 } };
  const refused = JSON.parse(policyValidationReply(review(tooSlow), { grantWarnings: ['kyverno-studio: lacks x'] }).body).response;
  assert.equal(refused.allowed, false);
  assert.ok(!(refused.warnings ?? []).includes('kyverno-studio: lacks x'));
});

test('the leader says each missing grant once per policy generation: a log line and a Warning event on the policy', async () => {
  const lines: string[] = [];
  const events: EventInfo[] = [];
  const check = new PolicyGrantCheck({ kinds: async () => kinds, post: apiServer([]).post, log: (l) => lines.push(l), events: { add: (e) => events.push(...e) } });
  await check.check([auditServices]);
  await check.check([auditServices]);
  assert.equal(lines.length, 1, lines.join('\n'));
  assert.match(lines[0], /^ClusterPolicy\/services-need-owner: kyverno-studio: the webhook's service account cannot get, list, watch services/);
  assert.deepEqual(events.map((e) => [e.type, e.reason, e.regarding.kind, e.regarding.name, e.regarding.uid]), [['Warning', 'PolicyError', 'ClusterPolicy', 'services-need-owner', 'u1']]);
  await check.check([{ ...auditServices, metadata: { ...(auditServices.metadata as JsonObject), generation: 2 } }]);
  assert.equal(lines.length, 2, 'a new generation is checked again');
  check.forget();
  await check.check([{ ...auditServices, metadata: { ...(auditServices.metadata as JsonObject), generation: 2 } }]);
  assert.equal(lines.length, 3, 'a new leader says it again');
});

test('every review is sent before any answer is awaited, and the answer is the same as asked one at a time', async () => {
  const server = apiServer([]);
  let inFlight = 0;
  let most = 0;
  const slow: ReviewPost = async (path, body) => {
    inFlight++;
    most = Math.max(most, inFlight);
    await new Promise((resolve) => setTimeout(resolve, 5));
    inFlight--;
    return server.post(path, body);
  };
  const missing = await missingGrants(teamPolicy, kinds, slow);
  const asked = server.asked.length;
  assert.ok(asked > 1);
  assert.equal(most, asked, 'all reviews were in flight together');
  let oneAtATime = Promise.resolve();
  const sequential: ReviewPost = (path, body) => {
    const reply = oneAtATime.then(() => server.post(path, body));
    oneAtATime = reply.then(() => undefined);
    return reply;
  };
  assert.deepEqual(missing.map(missingGrantText), (await missingGrants(teamPolicy, kinds, sequential)).map(missingGrantText));
  assert.ok(missing.length > 0);
});

test('a policy gone from its watched list is forgotten: applied again, it is checked again; other lists keep theirs', async () => {
  const lines: string[] = [];
  const check = new PolicyGrantCheck({ kinds: async () => kinds, post: apiServer([]).post, log: (l) => lines.push(l) });
  const cleanupPolicy: JsonObject = { apiVersion: 'kyverno.io/v2', kind: 'ClusterCleanupPolicy', metadata: { name: 'old-pods', uid: 'c1', generation: 1 }, spec: { schedule: '* * * * *', match: { any: [{ resources: { kinds: ['Pod'] } }] } } };
  await check.check([auditServices]);
  await check.check([cleanupPolicy], 'cleanup');
  const afterFirst = lines.length;
  assert.ok(lines.some((l) => l.startsWith('ClusterCleanupPolicy/old-pods')), lines.join('\n'));
  // The cleanup list changing says nothing about the Kyverno policies.
  await check.check([], 'cleanup');
  await check.check([auditServices]);
  assert.equal(lines.length, afterFirst);
  await check.check([]);
  await check.check([auditServices]);
  assert.equal(lines.length, afterFirst + 1, 'deleted and applied again: checked again');
  await check.check([cleanupPolicy], 'cleanup');
  assert.ok(lines.length > afterFirst + 1);
});

test("one pass asks the API server each question once: policies matching the same kinds share the answers, and each still gets its warning", async () => {
  const lines: string[] = [];
  const server = apiServer([]);
  const check = new PolicyGrantCheck({ kinds: async () => kinds, post: server.post, log: (l) => lines.push(l) });
  const twin = { ...auditServices, metadata: { name: 'services-need-team', uid: 'u2', generation: 1 } };
  await check.check([auditServices, twin]);
  const questions = server.asked.map((a) => JSON.stringify(a));
  assert.equal(new Set(questions).size, questions.length, `asked twice: ${questions.join('\n')}`);
  assert.deepEqual(lines.map((l) => l.split(':')[0]), ['ClusterPolicy/services-need-owner', 'ClusterPolicy/services-need-team']);
});
