import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluatePostingApiCalls } from '../../webhook/cluster-reads';
import { evaluatePolicyValidation, evaluateReview } from '../../webhook/evaluate';
import { PolicyIndex } from '../../webhook/prefilter';
import { answerApiCall, apiCallRequestData } from '../../engine/context/apicall';
import { policyGrants } from '../../webhook/policy-grants';
import { knownKindTable } from '../../engine/kube';
import type { ClusterState, JsonObject } from '../../engine/core/types';
import { asObject } from '../../engine/core/json';
import { accessQuestions, questionKey } from '../../engine/policy/auth-checks';
import { startTestWebhook } from './harness';

const empty = (): ClusterState => ({ resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] });
const SAR_PATH = '/apis/authorization.k8s.io/v1/subjectaccessreviews';

const policy: JsonObject = {
  apiVersion: 'kyverno.io/v1',
  kind: 'ClusterPolicy',
  metadata: { name: 'check-sar' },
  spec: {
    background: false,
    rules: [{
      name: 'check-sar',
      match: { any: [{ resources: { kinds: ['ConfigMap'] } }] },
      context: [{ name: 'sar', apiCall: { method: 'POST', urlPath: SAR_PATH, data: [
        { key: 'apiVersion', value: 'authorization.k8s.io/v1' },
        { key: 'kind', value: 'SubjectAccessReview' },
        { key: 'spec', value: { user: 'alice', resourceAttributes: { resource: 'namespaces', verb: 'delete', name: '{{ request.namespace }}' } } },
      ] } }],
      validate: { failureAction: 'Enforce', message: 'not authorized', deny: { conditions: { any: [{ key: '{{ sar.status.allowed }}', operator: 'NotEquals', value: true }] } } },
    }],
  },
};

function review(namespace: string): string {
  const object = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace } };
  return JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', kind: { group: '', version: 'v1', kind: 'ConfigMap' }, resource: { group: '', version: 'v1', resource: 'configmaps' }, namespace, name: 'cm', operation: 'CREATE', userInfo: { username: 'admin' }, object, oldObject: null } });
}

test('an apiCall POST without a service is posted with its data as the body and answered by the API server', async () => {
  const posted: JsonObject[] = [];
  const post = async (path: string, body: JsonObject) => {
    assert.equal(path, SAR_PATH);
    posted.push(body);
    const name = (((body.spec as JsonObject).resourceAttributes as JsonObject).name);
    return { ...body, status: { allowed: name === 'allowed-ns' } };
  };
  const index = new PolicyIndex([policy]);
  const run = (ns: string) => evaluatePostingApiCalls(empty(), (c) => evaluateReview({ path: 'validate', body: review(ns) }, index, c), post);
  const allowed = JSON.parse((await run('allowed-ns')).body).response;
  const denied = JSON.parse((await run('other')).body).response;
  assert.equal(allowed.allowed, true);
  assert.equal(denied.allowed, false);
  assert.match(denied.status.message, /not authorized/);
  assert.deepEqual(posted[0], { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: { user: 'alice', resourceAttributes: { resource: 'namespaces', verb: 'delete', name: 'allowed-ns' } } });
  assert.equal(posted.length, 2, 'one POST per review');
});

test('a refused POST is the entry\'s failure in Kyverno\'s words; without a poster the POST is only noted', () => {
  const call = { method: 'POST', urlPath: SAR_PATH, data: [{ key: 'kind', value: 'SubjectAccessReview' }] };
  const body = apiCallRequestData(call.data);
  const refused = answerApiCall(call, { ...empty(), apiCallPosts: [{ urlPath: SAR_PATH, body, answer: { error: 'forbidden' } }] });
  assert.deepEqual(refused, { found: false, reason: `failed to POST resource with raw url: ${SAR_PATH}: forbidden`, failure: `failed to fetch data for APICall: failed to POST resource with raw url: ${SAR_PATH}: forbidden`, defaultable: true });
  const misses: Array<{ urlPath: string; body: JsonObject }> = [];
  assert.equal(answerApiCall(call, { ...empty(), apiCallPostMisses: misses }).found, false);
  assert.deepEqual(misses, [{ urlPath: SAR_PATH, body: { kind: 'SubjectAccessReview' } }]);
  assert.equal(answerApiCall({ ...call, data: [{ key: 'kind', value: 'Other' }] }, { ...empty(), apiCallPosts: [{ urlPath: SAR_PATH, body, answer: { body: {} } }] }).found, false, 'another body is another request');
});

test('our deploy grants create on what a policy\'s apiCall POSTs to', () => {
  const { grants } = policyGrants(policy, knownKindTable());
  assert.ok(grants.some((g) => g.group === 'authorization.k8s.io' && g.resource === 'subjectaccessreviews' && g.verbs.includes('create')));
});

test('/policyvalidate rejects with Kyverno\'s permission message when the answers say the service account lacks a permission', () => {
  const mutate: JsonObject = {
    apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'm' },
    spec: { rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['Namespace'] } }] }, mutate: { mutateExistingOnPolicyUpdate: true, targets: [{ apiVersion: 'v1', kind: 'ServiceAccount' }], patchStrategicMerge: { metadata: { labels: { a: 'b' } } } } }] },
  };
  const body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', operation: 'CREATE', object: mutate } });
  const user = 'system:serviceaccount:ks:webhook';
  const refused = JSON.parse(evaluatePolicyValidation(body, { access: { users: { admission: user, background: user }, answer: () => ({ allowed: false }) } }).body).response;
  assert.equal(refused.allowed, false);
  assert.equal(refused.status.message, `path: spec.rules[0].mutate.targets.: auth check fails, additional privileges are required for the service account '${user}': ${user} requires permissions get,update for resource v1/ServiceAccount`);
  assert.equal(JSON.parse(evaluatePolicyValidation(body, { access: { users: { admission: user, background: user }, answer: () => ({ allowed: true }) } }).body).response.allowed, true);
  assert.equal(JSON.parse(evaluatePolicyValidation(body).body).response.allowed, true, 'no answers, no check (the CLI)');
});

test('/policyvalidate through a server process: the policy the primary is asked about is the review\'s, its answers decide, and a body that is not JSON is a 400', async () => {
  const mutate: JsonObject = {
    apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'm' },
    spec: { rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['Namespace'] } }] }, mutate: { mutateExistingOnPolicyUpdate: true, targets: [{ apiVersion: 'v1', kind: 'ServiceAccount' }], patchStrategicMerge: { metadata: { labels: { a: 'b' } } } } }] },
  };
  const user = 'system:serviceaccount:ks:webhook';
  const asked: JsonObject[] = [];
  let allowed = false;
  const hook = await startTestWebhook('policyvalidate', {
    workers: 1,
    accessAnswers: async (p) => {
      asked.push(p);
      return { user, answers: accessQuestions(p).map((q) => [questionKey(q), { allowed }] as [string, { allowed: boolean }]) };
    },
  }, [policy]);
  try {
    const review = (dryRun: boolean) => JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', operation: 'CREATE', dryRun, object: mutate } });
    const refused = JSON.parse((await hook.call('/policyvalidate', review(false))).text).response;
    assert.equal(refused.allowed, false);
    assert.match(refused.status.message, /requires permissions get,update for resource v1\/ServiceAccount/);
    assert.deepEqual(asked.map((p) => asObject(p.metadata).name), ['m']);
    assert.equal(JSON.parse((await hook.call('/policyvalidate', review(true))).text).response.allowed, true, 'a dry run is not checked');
    allowed = true;
    assert.equal(JSON.parse((await hook.call('/policyvalidate', review(false))).text).response.allowed, true);
    const bad = await hook.call('/policyvalidate', '{not json');
    assert.equal(bad.status, 400);
    assert.match(bad.text, /body is not JSON/);
  } finally {
    await hook.server.close();
  }
});
