/**
 * Background work reads the cluster one way (webhook/cluster-reads.ts: what an evaluation
 * could not answer is read from the API server and it runs again) and sees the live context
 * data admission sees (withLiveContext through the controllers' `current()` accessor).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeError, type JsonObject } from '../../kube-api/client';
import type { AdmissionRequest, ClusterState } from '../../engine/core/types';
import { answerApiCall } from '../../engine/context/apicall';
import { evaluateReadingCluster, CLUSTER_READ_ROUNDS } from '../../webhook/cluster-reads';
import { mutateExisting } from '../../webhook/mutate-existing';
import { BackgroundController } from '../../webhook/background';
import { DownstreamGenerator } from '../../webhook/generate';
import type { LiveContextState } from '../../webhook/live-context';
import { FakeApi } from './fake-api';

const meta = (o: JsonObject | undefined) => (o?.metadata ?? {}) as JsonObject;
const labels = (o: JsonObject | undefined) => (meta(o).labels ?? {}) as Record<string, string>;
const cm = (name: string, namespace: string, data: Record<string, string>, l: Record<string, string> = {}): JsonObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, labels: l, resourceVersion: '1', uid: `uid-${namespace}-${name}` }, data });
const empty = (): ClusterState => ({ resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [], apiCallsAllowed: true });

function createRequest(object: JsonObject): AdmissionRequest {
  return { operation: 'CREATE', object, oldObject: null, kind: { group: '', version: 'v1', kind: String(object.kind) }, namespace: String(meta(object).namespace ?? ''), requestInfo: { roles: [], clusterRoles: [], userInfo: { username: 'alice', groups: [] } } };
}

test('evaluateReadingCluster reads what an evaluation missed, follows reads that depend on earlier ones, and stops', async () => {
  const api = new FakeApi();
  api.put(cm('first', 'apps', { next: 'second' }));
  api.put(cm('second', 'apps', { value: 'found' }));
  const cluster = empty();
  let evaluations = 0;
  // An entry reading another: the second path is known only once the first is answered.
  const value = await evaluateReadingCluster(api, cluster, () => {
    evaluations++;
    const first = answerApiCall({ urlPath: '/api/v1/namespaces/apps/configmaps/first' }, cluster);
    if (!first.found) return undefined;
    const next = String((first.body as JsonObject & { data: Record<string, string> }).data.next);
    const second = answerApiCall({ urlPath: `/api/v1/namespaces/apps/configmaps/${next}` }, cluster);
    return second.found ? (second.body as JsonObject & { data: Record<string, string> }).data.value : undefined;
  });
  assert.equal(value, 'found');
  assert.equal(evaluations, 3);
  assert.deepEqual(api.calls, ['request /api/v1/namespaces/apps/configmaps/first', 'request /api/v1/namespaces/apps/configmaps/second']);
  assert.equal(cluster.apiCallMisses, undefined, 'the misses are the helper\'s own, not left on the state');
});

test('evaluateReadingCluster: a path the API server refuses is read once and stays unanswered; rounds are bounded', async () => {
  const api = new FakeApi();
  const lines: string[] = [];
  const missing = await evaluateReadingCluster(api, empty(), () => answerApiCall({ urlPath: '/api/v1/namespaces/apps/configmaps/absent' }, empty()).found, (l) => lines.push(l));
  assert.equal(missing, false);
  const cluster = empty();
  let n = 0;
  // Each evaluation asks for a new path: the helper gives up after its rounds.
  await evaluateReadingCluster(api, cluster, () => answerApiCall({ urlPath: `/api/v1/namespaces/apps/configmaps/c${n++}` }, cluster));
  assert.equal(n, CLUSTER_READ_ROUNDS + 1);
  const refused = new FakeApi();
  const cluster2 = empty();
  await evaluateReadingCluster(refused, cluster2, () => answerApiCall({ urlPath: '/api/v1/namespaces/apps/configmaps/absent' }, cluster2), (l) => lines.push(l));
  assert.deepEqual(refused.calls, ['request /api/v1/namespaces/apps/configmaps/absent']);
  assert.ok(lines.some((l) => l.includes('cannot read /api/v1/namespaces/apps/configmaps/absent')), lines.join('\n'));
});

test('evaluateReadingCluster: a read the API server forbids (403) is the call\'s permission denied error in the next evaluation, as Kyverno\'s inline call', async () => {
  const api = new FakeApi();
  const forbidden = 'configmaps "settings" is forbidden: User "system:serviceaccount:kyverno:kyverno-studio-webhook" cannot get resource "configmaps" in API group "" in the namespace "apps"';
  api.failures.request = [new KubeError(403, 'Forbidden', `GET /api/v1/namespaces/apps/configmaps/settings: ${forbidden}`)];
  const cluster = empty();
  const answer = await evaluateReadingCluster(api, cluster, () => answerApiCall({ urlPath: '/api/v1/namespaces/apps/configmaps/settings' }, cluster));
  assert.deepEqual(answer, { found: false, reason: `failed to GET resource with raw url: /api/v1/namespaces/apps/configmaps/settings: permission denied: ${forbidden}`, failure: `failed to fetch data for APICall: failed to GET resource with raw url: /api/v1/namespaces/apps/configmaps/settings: permission denied: ${forbidden}`, defaultable: true });
  assert.deepEqual(api.calls, ['request /api/v1/namespaces/apps/configmaps/settings'], 'asked once');
});

const STAMP_FROM_CONTEXT: JsonObject = {
  apiVersion: 'kyverno.io/v1',
  kind: 'ClusterPolicy',
  metadata: { name: 'stamp-from-context' },
  spec: {
    rules: [{
      name: 'stamp',
      match: { any: [{ resources: { kinds: ['ConfigMap'], names: ['trigger*'] } }] },
      context: [
        { name: 'settings', configMap: { name: 'settings', namespace: 'policy-data' } },
        { name: 'team', globalReference: { name: 'team-entry' } },
      ],
      mutate: {
        targets: [{ apiVersion: 'v1', kind: 'ConfigMap', namespace: '{{request.object.metadata.namespace}}', selector: { matchLabels: { target: 'yes' } } }],
        patchStrategicMerge: { metadata: { labels: { owner: '{{settings.data.owner}}', team: '{{team}}' } } },
      },
    }],
  },
};

test('mutate existing resolves configMap and globalReference context from the live state, as admission does', async () => {
  const api = new FakeApi();
  api.put(cm('trigger-1', 'apps', {}));
  api.put(cm('a', 'apps', {}, { target: 'yes' }));
  const live: LiveContextState = { resources: [cm('settings', 'policy-data', { owner: 'platform' })], globalContext: { 'team-entry': 'blue' }, globalContextProjections: {} };
  const out = await mutateExisting(api, STAMP_FROM_CONTEXT, createRequest(cm('trigger-1', 'apps', {})), [], () => {}, undefined, {}, false, live);
  assert.deepEqual(out.failures, []);
  assert.deepEqual(out.mutated, ['ConfigMap apps/a']);
  assert.deepEqual({ owner: labels(api.find('ConfigMap', 'a', 'apps')).owner, team: labels(api.find('ConfigMap', 'a', 'apps')).team }, { owner: 'platform', team: 'blue' });
  // The live ConfigMap is context, not a target (it has no target label), and is not written.
  assert.ok(!api.calls.some((c) => c.includes('settings') && !c.startsWith('request')), api.calls.join('\n'));
});

test('without the live state the same context is missing: the rule does not write (the old empty-state behaviour)', async () => {
  const api = new FakeApi();
  api.put(cm('trigger-1', 'apps', {}));
  api.put(cm('a', 'apps', {}, { target: 'yes' }));
  const out = await mutateExisting(api, STAMP_FROM_CONTEXT, createRequest(cm('trigger-1', 'apps', {})), [], () => {});
  assert.deepEqual(out.mutated, []);
  assert.equal(labels(api.find('ConfigMap', 'a', 'apps')).owner, undefined);
});

test('the background controller generates with the live context its current() accessor hands over', async () => {
  const api = new FakeApi();
  api.put(cm('trigger-1', 'apps', {}));
  const gen: JsonObject = {
    apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'gen', uid: 'gen-uid' },
    spec: { rules: [{
      name: 'copy',
      match: { any: [{ resources: { kinds: ['ConfigMap'], names: ['trigger*'] } }] },
      context: [{ name: 'settings', configMap: { name: 'settings', namespace: 'policy-data' } }],
      generate: { apiVersion: 'v1', kind: 'ConfigMap', name: 'made', namespace: 'apps', data: { data: { owner: '{{settings.data.owner}}' } } },
    }] },
  };
  let live: LiveContextState | null = { resources: [cm('settings', 'policy-data', { owner: 'platform' })], globalContext: {}, globalContextProjections: {} };
  const lines: string[] = [];
  const generator = new DownstreamGenerator({ client: api, log: (l) => lines.push(l), backoffMs: 1, triggerWaitMs: 200 });
  const bg = new BackgroundController({ client: api, namespace: 'kyverno-studio', log: (l) => lines.push(l), generator, current: () => ({ policies: [gen], exceptions: [], live }), backoffMs: 1, maxBackoffMs: 1 });
  bg.submit([{ action: 'request', type: 'generate', policy: gen, rules: ['copy'], request: createRequest(cm('trigger-1', 'apps', {})) }]);
  await bg.idle();
  await new Promise((r) => setTimeout(r, 50));
  await bg.idle();
  assert.deepEqual(api.find('ConfigMap', 'made', 'apps')?.data, { owner: 'platform' }, lines.join('\n'));
  await bg.close();
  live = null;
});
