/**
 * Kyverno's policy-admission permission check against a real kube-apiserver (RBAC
 * authorization, the clusterrole-aggregation controller): the questions a generate rule asks
 * are answered with SubjectAccessReviews for our service account, which lacks the permission
 * until a ClusterRole carrying Kyverno's background-controller labels is aggregated into the
 * role our deploy binds to it; and an apiCall-style POST of a SubjectAccessReview is answered.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { JsonObject } from '../../kube-api/client';
import { startCluster, type TestCluster } from './harness';
import { webhookRbac } from '../../deploy/rbac';
import { knownKindTable } from '../../engine/kube';
import { clusterAccessReviewer } from '../../webhook/cluster-mode';
import { accessOptionsOf, collectAccessAnswers } from '../../webhook/access-review';
import { accessCheckError } from '../../engine/policy/auth-checks';

let cluster: TestCluster;
const NS = 'ks-access';
const USER = `system:serviceaccount:${NS}:kyverno-studio-webhook`;

const generateServiceAccounts: JsonObject = {
  apiVersion: 'kyverno.io/v1',
  kind: 'ClusterPolicy',
  metadata: { name: 'generate-sa' },
  spec: { rules: [{ name: 'sa', match: { any: [{ resources: { kinds: ['ConfigMap'] } }] }, generate: { apiVersion: 'v1', kind: 'ServiceAccount', name: 'sa', namespace: 'default', synchronize: true, clone: { namespace: 'default', name: 'x' } } }] },
};

before(async () => {
  cluster = startCluster();
  await cluster.client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }, { force: true });
  // What our deploy applies for no policy: the service account, its roles, the aggregated ClusterRole.
  for (const o of webhookRbac(NS, [], knownKindTable()).objects) await cluster.client.apply(o as JsonObject, { force: true });
});

after(() => cluster?.stop());

async function refusal(): Promise<string | undefined> {
  const answers = await collectAccessAnswers(generateServiceAccounts, clusterAccessReviewer(cluster.client, USER));
  return accessCheckError(generateServiceAccounts, accessOptionsOf(answers));
}

test('a generate rule is refused with Kyverno\'s message until Kyverno\'s background-controller labels grant the kind', async () => {
  assert.equal(await refusal(), `path: spec.rules[0].generate..: ${USER} requires permissions list,get for resource v1/ServiceAccount in namespace default`);
  await cluster.client.apply({
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole',
    metadata: { name: 'kyverno:background-controller:sa', labels: { 'app.kubernetes.io/component': 'background-controller', 'app.kubernetes.io/instance': 'kyverno', 'app.kubernetes.io/part-of': 'kyverno' } },
    rules: [{ apiGroups: [''], resources: ['serviceaccounts'], verbs: ['get', 'list', 'create', 'update', 'delete'] }],
  }, { force: true });
  // The aggregation controller fills the aggregated role in; the authorizer's cache follows.
  const deadline = Date.now() + 30_000;
  let last = await refusal();
  while (last !== undefined && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    last = await refusal();
  }
  assert.equal(last, undefined);
});

test('a SubjectAccessReview POST (an apiCall entry\'s) is answered by the API server', async () => {
  const reply = await cluster.client.request<JsonObject>({
    method: 'POST', path: '/apis/authorization.k8s.io/v1/subjectaccessreviews',
    body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: { user: USER, resourceAttributes: { verb: 'delete', resource: 'namespaces', name: 'default' } } },
  });
  assert.equal((reply.status as JsonObject).allowed, false);
});

test('a background evaluation posts an apiCall entry\'s SubjectAccessReview to the API server and reads its answer', async () => {
  const { evaluateReadingCluster, backgroundRequest } = await import('../../webhook/cluster-reads');
  const { applyPolicy } = await import('../../engine/apply');
  const policy: JsonObject = {
    apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'sar-background' },
    spec: { rules: [{
      name: 'may-delete', match: { any: [{ resources: { kinds: ['ConfigMap'] } }] },
      context: [{ name: 'sar', apiCall: { method: 'POST', urlPath: '/apis/authorization.k8s.io/v1/subjectaccessreviews', data: [
        { key: 'apiVersion', value: 'authorization.k8s.io/v1' }, { key: 'kind', value: 'SubjectAccessReview' },
        { key: 'spec', value: { user: USER, resourceAttributes: { verb: 'delete', resource: 'namespaces', name: '{{ request.object.metadata.namespace }}' } } },
      ] } }],
      validate: { message: 'the webhook may delete namespaces', deny: { conditions: { any: [{ key: '{{ sar.status.allowed }}', operator: 'Equals', value: true }] } } },
    }] },
  };
  const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: NS } };
  const state = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] };
  // Unanswered, `sar` would be undefined and the rule an error: a pass says the API server answered "not allowed".
  const response = await evaluateReadingCluster(cluster.client, state, () => applyPolicy(policy, { request: backgroundRequest(configMap), cluster: state }));
  assert.deepEqual(response.rules.map((r) => r.status), ['pass']);
});
