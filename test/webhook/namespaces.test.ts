/**
 * The cluster's Namespaces at admission: the state built from watched Namespace objects, its
 * merge into the policies' cluster state, and the `namespaces` message through real server
 * processes (a namespaceSelector and CEL namespaceObject follow it without new policies).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { namespaceStateOf, withNamespaces } from '../../webhook/namespaces';
import { startTestWebhook, type TestWebhook } from './harness';
import type { ClusterState, JsonObject } from '../../engine/core/types';

const empty = (): ClusterState => ({ resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] });

test('namespaceStateOf keeps labels as strings and the objects without managedFields', () => {
  const state = namespaceStateOf([
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a', labels: { env: 'prod', n: 1 }, annotations: { owner: 'x' }, managedFields: [{ manager: 'm' }] }, status: { phase: 'Active' } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'b' } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: {} },
    'not an object',
  ]);
  assert.deepEqual(state.labels, { a: { env: 'prod', n: '1' }, b: {} });
  assert.deepEqual(state.objects.a, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a', labels: { env: 'prod', n: 1 }, annotations: { owner: 'x' } }, status: { phase: 'Active' } });
  assert.deepEqual(Object.keys(state.objects), ['a', 'b']);
});

test('withNamespaces adds the namespaces to the policy cluster state and leaves the rest', () => {
  const policyCluster = { ...empty(), exceptions: [{ kind: 'PolicyException' }] };
  assert.equal(withNamespaces(policyCluster, null), policyCluster);
  const merged = withNamespaces(policyCluster, namespaceStateOf([{ metadata: { name: 'a', labels: { env: 'prod' } } }]));
  assert.deepEqual(merged.namespaceLabels, { a: { env: 'prod' } });
  assert.equal((merged.namespaceObjects?.a.metadata as JsonObject).name, 'a');
  assert.equal(merged.exceptions, policyCluster.exceptions);
  assert.deepEqual(policyCluster.namespaceLabels, {}, 'the policy state is not modified');
});

const SELECTOR: JsonObject = {
  apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'prod-needs-team' },
  spec: { validationFailureAction: 'Enforce', rules: [{ name: 'team', match: { any: [{ resources: { kinds: ['ConfigMap'], namespaceSelector: { matchLabels: { env: 'prod' } } } }] }, validate: { message: 'prod needs a team', pattern: { metadata: { labels: { team: '?*' } } } } }] },
};
const OWNER: JsonObject = {
  apiVersion: 'policies.kyverno.io/v1', kind: 'ValidatingPolicy', metadata: { name: 'owner-annotated' },
  spec: {
    matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['configmaps'] }] },
    validations: [{ expression: "namespaceObject.metadata.?annotations.?owner.orValue('') != 'blocked'", message: 'namespace owner blocks it' }],
  },
};
const review = (namespace: string) => JSON.stringify({
  apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
  request: { uid: 'u', operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'ConfigMap' }, resource: { group: '', version: 'v1', resource: 'configmaps' }, namespace, name: 'c', userInfo: { username: 'u' }, object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace } } },
});

let webhook: TestWebhook | undefined;
after(() => webhook?.server.close());

test('server processes follow the namespaces message: namespaceSelector labels and CEL namespaceObject', async () => {
  webhook = await startTestWebhook('namespaces', { workers: 2, timeoutMs: 5_000 }, [SELECTOR, OWNER]);
  const w = webhook;
  // Each call opens a new connection, handed to the next process: ask several times so both answer.
  const answers = async (namespace: string) => {
    const out = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const { status, text } = await w.call('/validate', review(namespace));
      assert.equal(status, 200, text);
      const response = JSON.parse(text).response as JsonObject;
      out.add(response.allowed ? 'allowed' : String((response.status as JsonObject).message));
    }
    return [...out];
  };
  assert.deepEqual(await answers('a'), ['allowed'], 'no labels known yet');
  w.server.setNamespaces(namespaceStateOf([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a', labels: { env: 'prod' } } }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'b', annotations: { owner: 'blocked' } } }]));
  // The message and the review travel on the same IPC channel of each process, in order.
  const denied = await answers('a');
  assert.equal(denied.length, 1, 'every process answers alike');
  assert.match(denied[0], /prod needs a team/);
  assert.deepEqual(await answers('b'), ['Policy owner-annotated failed: namespace owner blocks it']);
  // Relabelled: the selector no longer matches; the policies stay as they were.
  w.server.setNamespaces(namespaceStateOf([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a', labels: { env: 'dev' } } }]));
  assert.deepEqual(await answers('a'), ['allowed']);
  assert.deepEqual(await answers('b'), ['allowed']);
});
