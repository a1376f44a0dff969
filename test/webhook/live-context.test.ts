/**
 * Live cluster data for admission: what policies read (context-reads.ts), the watches the
 * LiveContext keeps for them as the policies change (a fake read source), the state merged into
 * the engine's ClusterState (configMap, apiCall, globalReference, CEL resource.Get answered
 * from it), and the `context` message through real server processes.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { asksCelAuthorizer, foldReads, globalContextEntryReads, policyReads, readOfApiPath, type ContextRead } from '../../webhook/context-reads';
import { apiServerReads, LiveContext, withLiveContext, type LiveContextState, type ReadSource } from '../../webhook/live-context';
import { KubeError } from '../../kube-api/errors';
import type { KubeClient } from '../../kube-api/client';
import { evaluateReview } from '../../webhook/evaluate';
import { PolicyIndex } from '../../webhook/prefilter';
import { startTestWebhook, type TestWebhook } from './harness';
import type { ClusterState, JsonObject } from '../../engine/core/types';
import { unfoldedDenial } from './denial-text';

const empty = (): ClusterState => ({ resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] });
const cm = (namespace: string, name: string, data: Record<string, string>): JsonObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, managedFields: [{ manager: 'kubectl' }] }, data });

const rule = (name: string, context: JsonObject[], deny: JsonObject): JsonObject => ({
  name, match: { any: [{ resources: { kinds: ['Pod'] } }] }, context, validate: { message: `${name} denies`, deny: { conditions: { any: [deny] } } },
});
const classic = (name: string, rules: JsonObject[]): JsonObject => ({ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name }, spec: { validationFailureAction: 'Enforce', background: false, rules } });

const BLOCKED_TEAMS = classic('blocked-teams', [rule('team', [{ name: 'settings', configMap: { name: 'blocked', namespace: 'policy-data' } }],
  { key: '{{ request.object.metadata.labels.team || \'\' }}', operator: 'AnyIn', value: '{{ settings.data.teams | split(@, \',\') }}' })]);
const PER_NAMESPACE = classic('per-namespace', [rule('limit', [{ name: 'limits', configMap: { name: 'limits', namespace: '{{ request.namespace }}' } }],
  { key: '{{ limits.data.block || \'no\' }}', operator: 'Equals', value: 'yes' })]);
const QUOTA_CALL = classic('pod-count', [rule('count', [{ name: 'pods', apiCall: { urlPath: '/api/v1/namespaces/{{ request.namespace }}/pods', jmesPath: 'items | length(@)' } }],
  { key: '{{ pods }}', operator: 'GreaterThanOrEquals', value: 2 })]);
const GLOBAL = classic('global-ref', [rule('gref', [{ name: 'deployments', globalReference: { name: 'deploys.count' } }], { key: '{{ deployments }}', operator: 'GreaterThan', value: 0 })]);
const CEL_GET: JsonObject = {
  apiVersion: 'policies.kyverno.io/v1', kind: 'ValidatingPolicy', metadata: { name: 'cel-flag' },
  spec: {
    validationActions: ['Deny'],
    matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }] },
    variables: [{ name: 'flags', expression: 'resource.Get("v1", "configmaps", "policy-data", "flags")' }],
    validations: [{ expression: "variables.flags.data.?frozen.orValue('false') != 'true'", message: 'the cluster is frozen' }],
  },
};

test('policyReads: configMap, apiCall and CEL resource reads, narrowed where literal, widened by variables', () => {
  const strip = (rs: ContextRead[]) => rs.map(({ via: _v, ...r }) => r);
  assert.deepEqual(strip(policyReads(BLOCKED_TEAMS).reads), [{ group: '', version: 'v1', resource: 'configmaps', namespace: 'policy-data', name: 'blocked' }]);
  assert.deepEqual(strip(policyReads(PER_NAMESPACE).reads), [{ group: '', version: 'v1', resource: 'configmaps', namespace: undefined, name: 'limits' }]);
  assert.deepEqual(strip(policyReads(QUOTA_CALL).reads), [{ group: '', version: 'v1', resource: 'pods', namespace: undefined, name: undefined }]);
  assert.deepEqual(strip(policyReads(CEL_GET).reads), [{ group: '', version: 'v1', resource: 'configmaps', namespace: 'policy-data', name: 'flags' }]);
  assert.equal(policyReads(GLOBAL).globalContext, true);
  assert.equal(policyReads(BLOCKED_TEAMS).globalContext, false);
  // A namespace left out is Kyverno's `default`.
  assert.equal(policyReads(classic('d', [rule('r', [{ name: 'c', configMap: { name: 'x' } }], { key: 1, operator: 'Equals', value: 2 })])).reads[0].namespace, 'default');
  // foreach levels carry context too.
  const foreach = classic('f', [{ name: 'r', match: { any: [{ resources: { kinds: ['Pod'] } }] }, validate: { foreach: [{ list: 'request.object.spec.containers', context: [{ name: 'c', configMap: { name: 'per-image', namespace: 'ns' } }], deny: {} }] } }]);
  assert.deepEqual(strip(policyReads(foreach).reads), [{ group: '', version: 'v1', resource: 'configmaps', namespace: 'ns', name: 'per-image' }]);
  // A resource named by a variable cannot be watched: said, not guessed; service calls and POSTs read no stored object.
  const unknown = classic('u', [rule('r', [
    { name: 'a', apiCall: { urlPath: '/apis/apps/v1/{{ request.object.kind }}' } },
    { name: 'b', apiCall: { service: { url: 'https://svc.ns/check' } } },
    { name: 'c', apiCall: { method: 'POST', urlPath: '/apis/authorization.k8s.io/v1/subjectaccessreviews', data: [] } },
  ], { key: 1, operator: 'Equals', value: 2 })]);
  assert.deepEqual(policyReads(unknown).reads, []);
  assert.deepEqual(policyReads(unknown).unresolved, ['apiCall /apis/apps/v1/{{ request.object.kind }} names its resource with a variable']);
});

test('policyReads: a cleanup policy\'s context entries sit in its spec (its cleanup controller reads them live)', () => {
  const cleanup: JsonObject = {
    apiVersion: 'kyverno.io/v2',
    kind: 'ClusterCleanupPolicy',
    metadata: { name: 'c' },
    spec: { schedule: '*/1 * * * *', context: [{ name: 'ns', apiCall: { urlPath: '/api/v1/namespaces/default', jmesPath: 'metadata.name' } }], match: { any: [{ resources: { kinds: ['Pod'] } }] } },
  };
  assert.deepEqual(policyReads(cleanup).reads.map(({ via: _v, ...r }) => r), [{ group: '', version: 'v1', resource: 'namespaces', name: 'default' }]);
});

test('readOfApiPath and foldReads', () => {
  assert.deepEqual(readOfApiPath('/apis/apps/v1/namespaces/prod/deployments/web?x=1'), { group: 'apps', version: 'v1', resource: 'deployments', namespace: 'prod', name: 'web' });
  assert.deepEqual(readOfApiPath('/api/v1/namespaces/{{ request.namespace }}'), { group: '', version: 'v1', resource: 'namespaces', name: undefined });
  assert.equal(readOfApiPath('/healthz'), undefined);
  const cmRead = (namespace?: string, name?: string): ContextRead => ({ group: '', version: 'v1', resource: 'configmaps', namespace, name, via: 'configMap' });
  // A namespace-wide read absorbs a named read in it; other namespaces stay apart; duplicates fold.
  assert.deepEqual(foldReads([cmRead('a', 'x'), cmRead('a'), cmRead('b', 'y'), cmRead('b', 'y')]), [cmRead('a'), cmRead('b', 'y')]);
  assert.deepEqual(foldReads([cmRead('a', 'x'), cmRead(undefined, 'x')]), [cmRead(undefined, 'x')]);
});

/** A read source the test drives: the watches started, and a way to answer each. */
function fakeSource() {
  const watches = new Map<string, { read: ContextRead; push: (objects: JsonObject[]) => void; signal: AbortSignal }>();
  const key = (r: Pick<ContextRead, 'resource' | 'namespace' | 'name'>) => `${r.resource}|${r.namespace ?? '*'}|${r.name ?? '*'}`;
  const refusals = new Map<string, (message: string) => void>();
  const source: ReadSource = {
    watch: (read, push, signal, onRefused) => {
      watches.set(key(read), { read, push, signal });
      if (onRefused) refusals.set(key(read), onRefused);
    },
  };
  return { source, watches, key, refusals };
}

const settle = () => new Promise((r) => setTimeout(r, 30));

test('LiveContext watches what the policies read, follows policy changes and stops unused watches', async () => {
  const { source, watches, key } = fakeSource();
  const states: LiveContextState[] = [];
  const live = new LiveContext({ source, onChange: (s) => states.push(s), log: () => {}, debounceMs: 5 });
  live.setPolicies([BLOCKED_TEAMS]);
  assert.deepEqual([...watches.keys()], ['configmaps|policy-data|blocked']);
  watches.get('configmaps|policy-data|blocked')!.push([cm('policy-data', 'blocked', { teams: 'red' })]);
  await settle();
  assert.deepEqual(states.at(-1)!.resources, [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'blocked', namespace: 'policy-data' }, data: { teams: 'red' } }], 'managedFields are dropped');
  // A second policy reading every `limits` ConfigMap: a new watch; the first one stays.
  live.setPolicies([BLOCKED_TEAMS, PER_NAMESPACE]);
  assert.equal(watches.size, 2);
  const first = watches.get('configmaps|policy-data|blocked')!;
  live.setPolicies([PER_NAMESPACE]);
  assert.equal(first.signal.aborted, true, 'the watch no policy needs is stopped');
  assert.equal(watches.get(key({ resource: 'configmaps', name: 'limits' }))!.signal.aborted, false);
  await settle();
  assert.deepEqual(states.at(-1)!.resources, [], 'its objects are gone from the state');
  live.close();
  assert.equal(watches.get(key({ resource: 'configmaps', name: 'limits' }))!.signal.aborted, true);
});

test('LiveContext is synced once every read was listed and its state sent', async () => {
  const { source, watches } = fakeSource();
  const sent: LiveContextState[] = [];
  const live = new LiveContext({ source, onChange: (s) => sent.push(s), log: () => {}, debounceMs: 5 });
  assert.equal(live.isSynced(), true, 'nothing to read');
  live.setPolicies([BLOCKED_TEAMS, QUOTA_CALL]);
  assert.equal(live.isSynced(), false);
  let resolved = false;
  const waiting = live.whenSynced(5_000).then(() => (resolved = true));
  watches.get('configmaps|policy-data|blocked')!.push([cm('policy-data', 'blocked', { teams: 'red' })]);
  await settle();
  assert.equal(resolved, false, 'one read is not listed yet');
  watches.get('pods|*|*')!.push([]);
  await waiting;
  assert.equal(sent.at(-1)!.resources.length, 1, 'the state went out before the waiters were told');
  // A read that never lists does not hold a policy change for ever.
  live.setPolicies([PER_NAMESPACE]);
  const started = Date.now();
  await live.whenSynced(50);
  assert.ok(Date.now() - started < 1000);
  live.close();
});

test('LiveContext watches the bindings while something reads the user\'s roles', async () => {
  const { source, watches } = fakeSource();
  let state: LiveContextState | undefined;
  const withRoles = classic('by-role', [{ name: 'r', match: { any: [{ resources: { kinds: ['Pod'] } }] }, exclude: { any: [{ clusterRoles: ['admin'] }] }, validate: { pattern: {} } }]);
  const live = new LiveContext({ source, onChange: (s) => (state = s), log: () => {}, debounceMs: 1 });
  live.setPolicies([BLOCKED_TEAMS]);
  assert.ok(!watches.has('clusterrolebindings|*|*'));
  live.setPolicies([withRoles]);
  watches.get('clusterrolebindings|*|*')!.push([{ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'b' }, roleRef: { kind: 'ClusterRole', name: 'admin' }, subjects: [{ kind: 'User', name: 'alice' }] }]);
  watches.get('rolebindings|*|*')!.push([]);
  await settle();
  assert.deepEqual(state!.roleBindings?.byUser.alice, [{ namespace: undefined, kind: 'ClusterRole', name: 'admin' }]);
  live.setPolicies([BLOCKED_TEAMS]);
  assert.equal(watches.get('clusterrolebindings|*|*')!.signal.aborted, true);
  live.close();
  // Kyverno's excludeRoles/excludeClusterRoles settings need them whatever the policies.
  const always = new LiveContext({ source, onChange: () => {}, log: () => {}, rolesAlways: true });
  always.setPolicies([]);
  assert.equal(watches.get('rolebindings|*|*')!.signal.aborted, false);
  always.close();
});

test('LiveContext caps the objects per read and says so once', async () => {
  const { source, watches } = fakeSource();
  const lines: string[] = [];
  let state: LiveContextState | undefined;
  const live = new LiveContext({ source, onChange: (s) => (state = s), log: (l) => lines.push(l), maxObjectsPerRead: 2, debounceMs: 1 });
  live.setPolicies([QUOTA_CALL]);
  const pods = (n: number) => Array.from({ length: n }, (_, i) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `p${i}`, namespace: 'a' } }));
  watches.get('pods|*|*')!.push(pods(5));
  watches.get('pods|*|*')!.push(pods(4));
  await settle();
  assert.equal(state!.resources.length, 2);
  const capped = lines.filter((l) => /keeping the first/.test(l));
  assert.equal(capped.length, 1, lines.join('\n'));
  assert.match(capped[0], /5 objects .*keeping the first 2/);
  assert.match(lines[0], /watching pods \*\/\*/);
  live.close();
});

test('LiveContext reads GlobalContextEntries and their kubernetesResource, with projections', async () => {
  const { source, watches } = fakeSource();
  let state: LiveContextState | undefined;
  const live = new LiveContext({ source, onChange: (s) => (state = s), log: () => {}, debounceMs: 1 });
  live.setPolicies([GLOBAL]);
  assert.deepEqual([...watches.keys()], ['globalcontextentries|*|*']);
  watches.get('globalcontextentries|*|*')!.push([{
    apiVersion: 'kyverno.io/v2', kind: 'GlobalContextEntry', metadata: { name: 'deploys' },
    spec: { kubernetesResource: { group: 'apps', version: 'v1', resource: 'deployments', namespace: 'prod' }, projections: [{ name: 'count', jmesPath: 'length(@)' }] },
  }]);
  assert.ok(watches.has('deployments|prod|*'), 'the entry names a further read');
  watches.get('deployments|prod|*')!.push([{ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'prod' } }]);
  await settle();
  assert.deepEqual(state!.globalContextProjections, { deploys: { count: 1 } });
  assert.equal((state!.globalContext.deploys as JsonObject[]).length, 1);
  // No policy reads the global context any more: both watches stop.
  live.setPolicies([]);
  assert.ok([...watches.values()].every((w) => w.signal.aborted));
  live.close();
});

test('LiveContext: an apiCall entry whose read the API server forbids fails as Kyverno\'s call does (permission denied), until the read is allowed', async () => {
  const { source, watches, refusals } = fakeSource();
  let state: LiveContextState | undefined;
  const live = new LiveContext({ source, onChange: (s) => (state = s), log: () => {}, debounceMs: 1 });
  live.setPolicies([GLOBAL]);
  watches.get('globalcontextentries|*|*')!.push([{
    apiVersion: 'kyverno.io/v2', kind: 'GlobalContextEntry', metadata: { name: 'deploys' },
    spec: { apiCall: { urlPath: '/apis/apps/v1/namespaces/default/unknown', refreshInterval: '1h' } },
  }]);
  const forbidden = 'unknown.apps is forbidden: User "system:serviceaccount:kyverno:kyverno-studio-webhook" cannot list resource "unknown" in API group "apps" in the namespace "default"';
  refusals.get('unknown|default|*')!(forbidden);
  await settle();
  assert.deepEqual(state!.globalContextErrors, { deploys: `failed to GET resource with raw url: /apis/apps/v1/namespaces/default/unknown: permission denied: ${forbidden}` });
  assert.ok(live.isSynced(), 'a refused read does not hold the webhook back');
  live.close();
});

test('LiveContext answers a GlobalContextEntry apiCall from the objects its path reads; a failing call sets no data and says why', async () => {
  const { source, watches } = fakeSource();
  const lines: string[] = [];
  let state: LiveContextState | undefined;
  const live = new LiveContext({ source, onChange: (s) => (state = s), log: (l) => lines.push(l), debounceMs: 1 });
  live.setPolicies([GLOBAL]);
  watches.get('globalcontextentries|*|*')!.push([
    {
      apiVersion: 'kyverno.io/v2alpha1', kind: 'GlobalContextEntry', metadata: { name: 'deploys' },
      spec: { apiCall: { urlPath: '/apis/apps/v1/namespaces/prod/deployments', refreshInterval: '1h' }, projections: [{ name: 'count', jmesPath: 'items | length(@)' }] },
    },
    { apiVersion: 'kyverno.io/v2', kind: 'GlobalContextEntry', metadata: { name: 'broken' }, spec: { apiCall: { urlPath: '/apis/apps/v1/namespaces/prod/deployments/nope' } } },
  ]);
  assert.ok(watches.has('deployments|prod|*'), 'the apiCall path names a further read');
  assert.ok(!watches.has('deployments|prod|nope'), 'the namespace-wide read serves the named object too');
  watches.get('deployments|prod|*')!.push([
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'prod' } },
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'api', namespace: 'prod' } },
  ]);
  await settle();
  assert.deepEqual(state!.globalContextProjections.deploys, { count: 2 });
  assert.equal((state!.globalContext.deploys as JsonObject).kind, 'DeploymentList');
  assert.equal(state!.globalContext.broken, undefined);
  assert.deepEqual(state!.globalContextErrors, { broken: 'deployments nope not found' });
  assert.ok(lines.some((l) => /entry broken: deployments nope not found/.test(l)), lines.join('\n'));
  live.close();
});

test('globalContextEntryReads: an apiCall GET of the API server is a read; a service call or a POST is none', () => {
  const entry = (apiCall: JsonObject): JsonObject => ({ apiVersion: 'kyverno.io/v2', kind: 'GlobalContextEntry', metadata: { name: 'e' }, spec: { apiCall } });
  assert.deepEqual(globalContextEntryReads(entry({ urlPath: '/api/v1/namespaces/a/configmaps' })).map((r) => [r.resource, r.namespace, r.name]), [['configmaps', 'a', undefined]]);
  assert.deepEqual(globalContextEntryReads(entry({ urlPath: '/api/v1/configmaps', method: 'POST' })), []);
  assert.deepEqual(globalContextEntryReads(entry({ service: { url: 'http://svc' } })), []);
});

const podReview = (namespace: string, labels: Record<string, string> = {}) => JSON.stringify({
  apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
  request: {
    uid: 'u', operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, namespace, name: 'p',
    userInfo: { username: 'u' }, object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace, labels }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
  },
});

function answer(policies: JsonObject[], live: LiveContextState | null, body: string): string {
  const reply = evaluateReview({ path: 'validate', body, deadline: Date.now() + 5000 }, new PolicyIndex(policies), withLiveContext(empty(), live));
  const response = JSON.parse(reply.body).response as JsonObject;
  return response.allowed ? 'allowed' : unfoldedDenial(String((response.status as JsonObject).message));
}

const liveState = (resources: JsonObject[], extra: Partial<LiveContextState> = {}): LiveContextState => ({ resources, globalContext: {}, globalContextProjections: {}, ...extra });

test('admission reads the live state: configMap, apiCall, globalReference and CEL resource.Get', () => {
  const blocked = liveState([cm('policy-data', 'blocked', { teams: 'red,blue' })]);
  assert.match(answer([BLOCKED_TEAMS], blocked, podReview('a', { team: 'red' })), /team denies/);
  assert.equal(answer([BLOCKED_TEAMS], blocked, podReview('a', { team: 'green' })), 'allowed');
  assert.equal(answer([BLOCKED_TEAMS], liveState([cm('policy-data', 'blocked', { teams: 'blue' })]), podReview('a', { team: 'red' })), 'allowed');

  const pods = (n: number, namespace: string) => Array.from({ length: n }, (_, i) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `p${i}`, namespace } }));
  assert.match(answer([QUOTA_CALL], liveState([...pods(2, 'a'), ...pods(1, 'b')]), podReview('a')), /count denies/);
  assert.equal(answer([QUOTA_CALL], liveState([...pods(2, 'a'), ...pods(1, 'b')]), podReview('b')), 'allowed');

  const gctx = liveState([], { globalContext: { deploys: [{}] }, globalContextProjections: { deploys: { count: 3 } } });
  assert.match(answer([GLOBAL], gctx, podReview('a')), /gref denies/);
  // Kyverno's global context store answers: an entry it lacks, or one whose call failed, is the rule's error in its words.
  assert.match(answer([GLOBAL], liveState([]), podReview('a')), /failed to resolve deployments at path : failed to marshal APICall data for context entry deployments: failed to fetch entry key=deploys/);
  assert.match(answer([GLOBAL], liveState([], { globalContextErrors: { deploys: 'deployments nope not found' } }), podReview('a')), /context entry deployments: deployments nope not found/);

  assert.match(answer([CEL_GET], liveState([cm('policy-data', 'flags', { frozen: 'true' })]), podReview('a')), /the cluster is frozen/);
  assert.equal(answer([CEL_GET], liveState([cm('policy-data', 'flags', { frozen: 'false' })]), podReview('a')), 'allowed');
});

test('a read the API server refuses: a rule\'s apiCall and CEL resource.Get fail with Kyverno\'s permission denied, not an empty answer', async () => {
  const { source, refusals } = fakeSource();
  let state: LiveContextState | undefined;
  const live = new LiveContext({ source, onChange: (s) => (state = s), log: () => {}, debounceMs: 1 });
  live.setPolicies([QUOTA_CALL, CEL_GET]);
  const podsForbidden = 'pods is forbidden: User "system:serviceaccount:kyverno:kyverno-studio-webhook" cannot list resource "pods" in API group "" at the cluster scope';
  const cmForbidden = 'configmaps "flags" is forbidden: User "system:serviceaccount:kyverno:kyverno-studio-webhook" cannot list resource "configmaps" in API group "" in the namespace "policy-data"';
  refusals.get('pods|*|*')!(podsForbidden);
  refusals.get('configmaps|policy-data|flags')!(cmForbidden);
  await settle();
  assert.deepEqual(state!.readRefusals, [
    { group: '', resource: 'pods', message: podsForbidden },
    { group: '', resource: 'configmaps', namespace: 'policy-data', name: 'flags', message: cmForbidden },
  ]);
  const quota = answer([QUOTA_CALL], state!, podReview('a'));
  assert.ok(quota.includes(`failed to GET resource with raw url: /api/v1/namespaces/a/pods: permission denied: ${podsForbidden}`), quota);
  const cel = answer([CEL_GET], state!, podReview('a'));
  assert.ok(cel.includes(`failed to get resource: permission denied: ${cmForbidden}`), cel);
  live.close();
});

let webhook: TestWebhook | undefined;
after(() => webhook?.server.close());

test('server processes follow the context message without new policies', async () => {
  webhook = await startTestWebhook('live-context', { workers: 2, timeoutMs: 5_000 }, [BLOCKED_TEAMS]);
  const w = webhook;
  const answers = async () => {
    const out = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const { status, text } = await w.call('/validate', podReview('a', { team: 'red' }));
      assert.equal(status, 200, text);
      const response = JSON.parse(text).response as JsonObject;
      out.add(response.allowed ? 'allowed' : String((response.status as JsonObject).message));
    }
    return [...out];
  };
  w.server.setContext(liveState([cm('policy-data', 'blocked', { teams: 'red' })]));
  const denied = await answers();
  assert.equal(denied.length, 1, 'every process answers alike');
  assert.match(denied[0], /team denies/);
  w.server.setContext(liveState([cm('policy-data', 'blocked', { teams: 'blue' })]));
  assert.deepEqual(await answers(), ['allowed']);
});

test('LiveContext calls a GlobalContextEntry apiCall once per refreshInterval and keeps the answer (error included) in between; a spec change calls again at once', async () => {
  const { source, watches } = fakeSource();
  let clock = 1_000_000;
  let state: LiveContextState | undefined;
  const refreshed: Array<[string, string]> = [];
  const live = new LiveContext({
    source, onChange: (s) => (state = s), log: () => {}, debounceMs: 1, now: () => clock,
    onRefreshed: (entry, at) => refreshed.push([String((entry.metadata as JsonObject).name), at.toISOString()]),
  });
  live.setPolicies([GLOBAL]);
  const entry = (path: string): JsonObject => ({
    apiVersion: 'kyverno.io/v2', kind: 'GlobalContextEntry', metadata: { name: 'deploys' },
    spec: { apiCall: { urlPath: path, refreshInterval: '1m' }, projections: [{ name: 'count', jmesPath: 'items | length(@)' }] },
  });
  const deploy = (name: string): JsonObject => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'prod' } });
  watches.get('globalcontextentries|*|*')!.push([entry('/apis/apps/v1/namespaces/prod/deployments')]);
  watches.get('deployments|prod|*')!.push([deploy('web')]);
  await settle();
  assert.deepEqual(state!.globalContextProjections.deploys, { count: 1 });
  assert.deepEqual(refreshed, [['deploys', new Date(1_000_000).toISOString()]]);
  // Within the interval a change of the objects is not seen (Kyverno has not called again).
  clock += 59_000;
  watches.get('deployments|prod|*')!.push([deploy('web'), deploy('api')]);
  await settle();
  assert.deepEqual(state!.globalContextProjections.deploys, { count: 1 });
  assert.equal(refreshed.length, 1);
  // Once the interval has passed, the next state calls again.
  clock += 1_000;
  watches.get('deployments|prod|*')!.push([deploy('web'), deploy('api')]);
  await settle();
  assert.deepEqual(state!.globalContextProjections.deploys, { count: 2 });
  assert.equal(refreshed.length, 2);
  // A failing call (a changed path) is made at once and its error kept until the next refresh.
  watches.get('globalcontextentries|*|*')!.push([entry('/apis/apps/v1/namespaces/prod/deployments/nope')]);
  await settle();
  assert.deepEqual(state!.globalContextErrors, { deploys: 'deployments nope not found' });
  assert.equal(refreshed.length, 2, 'a failed call is no refresh');
  watches.get('deployments|prod|*')!.push([deploy('nope')]);
  await settle();
  assert.deepEqual(state!.globalContextErrors, { deploys: 'deployments nope not found' }, 'the error stays until the interval passes');
  live.close();
});

test('LiveContext sends the state again when an apiCall entry is due: a change seen within the interval reaches admission at the refresh, without another event', async () => {
  const { source, watches } = fakeSource();
  const states: LiveContextState[] = [];
  const live = new LiveContext({ source, onChange: (s) => states.push(s), log: () => {}, debounceMs: 1 });
  live.setPolicies([GLOBAL]);
  watches.get('globalcontextentries|*|*')!.push([{
    apiVersion: 'kyverno.io/v2', kind: 'GlobalContextEntry', metadata: { name: 'deploys' },
    spec: { apiCall: { urlPath: '/apis/apps/v1/namespaces/prod/deployments', refreshInterval: '150ms' }, projections: [{ name: 'count', jmesPath: 'items | length(@)' }] },
  }]);
  const deployments = watches.get('deployments|prod|*')!;
  deployments.push([]);
  await settle();
  assert.deepEqual(states.at(-1)!.globalContextProjections.deploys, { count: 0 });
  // Within the interval: the watch event sends a state, still with the last call's answer.
  deployments.push([{ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'prod' } }]);
  await settle();
  assert.deepEqual(states.at(-1)!.globalContextProjections.deploys, { count: 0 });
  const before = states.length;
  // No further event: the refresh timer sends the state with the new call's answer.
  await new Promise((r) => setTimeout(r, 250));
  assert.ok(states.length > before, 'the refresh sent a new state');
  assert.deepEqual(states.at(-1)!.globalContextProjections.deploys, { count: 1 });
  live.close();
});

test('refreshIntervalMs: Go durations, the CRD default (10m) when absent or unreadable', async () => {
  const { refreshIntervalMs } = await import('../../webhook/live-context');
  const entry = (refreshInterval?: string): JsonObject => ({ spec: { apiCall: { urlPath: '/api/v1/pods', ...(refreshInterval !== undefined ? { refreshInterval } : {}) } } });
  assert.equal(refreshIntervalMs(entry('1h30m')), 5_400_000);
  assert.equal(refreshIntervalMs(entry('300ms')), 300);
  assert.equal(refreshIntervalMs(entry()), 600_000);
  assert.equal(refreshIntervalMs(entry('soon')), 600_000);
});

test('GlobalContextStatusWriter: status.lastRefreshTime on the latest object through the status subresource, retried on conflict; a non-writer remembers and flushes later', async () => {
  const { GlobalContextStatusWriter, kubeTime } = await import('../../webhook/global-context-status');
  const { KubeError } = await import('../../kube-api/errors');
  let stored: JsonObject = { apiVersion: 'kyverno.io/v2', kind: 'GlobalContextEntry', metadata: { name: 'e', resourceVersion: '7' }, spec: { apiCall: { urlPath: '/api/v1/pods' } }, status: { ready: true } };
  const puts: Array<[JsonObject, string | undefined]> = [];
  let conflicts = 1;
  const client = {
    get: async () => structuredClone(stored),
    replace: async (obj: JsonObject, sub?: string) => {
      puts.push([obj, sub]);
      if (conflicts-- > 0) throw new KubeError(409, 'Conflict', 'the object has been modified');
      stored = obj;
      return obj;
    },
  };
  const lines: string[] = [];
  const writer = new GlobalContextStatusWriter(client as never, (l) => lines.push(l));
  const at = new Date('2026-12-07T04:30:12.345Z');
  await writer.refreshed(stored, at);
  assert.equal(puts.length, 2, 'one conflict, then written');
  assert.ok(puts.every(([, sub]) => sub === 'status'));
  assert.deepEqual(stored.status, { ready: true, lastRefreshTime: '2026-12-07T04:30:12Z' });
  assert.equal(kubeTime(at), '2026-12-07T04:30:12Z');
  // Not the writer: nothing is written until flush.
  const later = new Date('2026-12-07T05:30:00Z');
  await writer.refreshed(stored, later, false);
  assert.equal(puts.length, 2);
  await writer.flush();
  assert.equal(puts.length, 3);
  assert.equal((stored.status as JsonObject).lastRefreshTime, '2026-12-07T05:30:00Z');
  // Another error is logged, never thrown.
  client.replace = async () => { throw new KubeError(403, 'Forbidden', 'no'); };
  await writer.refreshed(stored, later);
  assert.ok(lines.some((l) => /status of e: no/.test(l)), lines.join('\n'));
});

test('context reads: a classic policy whose CEL names the authorizer posts SubjectAccessReviews per review', () => {
  const classic = (expression: string): JsonObject => ({ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'p' }, spec: { rules: [{ name: 'r', validate: { cel: { expressions: [{ expression }] } } }] } });
  assert.equal(asksCelAuthorizer(classic("authorizer.serviceAccount('a', 'b').group('').resource('pods').check('get').allowed()")), true);
  assert.equal(asksCelAuthorizer(classic("object.metadata.authorizer == 'authorizer'")), false, 'a field or a string is not the variable');
});

test('apiServerReads: a read of a resource the cluster does not serve is asked once, and a 403 is reported with the API server\'s message', async () => {
  const asked: string[] = [];
  const client = {
    kindFor: async () => undefined,
    forgetDiscovery: () => undefined,
    request: async (req: { method: string; path: string }) => {
      asked.push(`${req.method} ${req.path}`);
      throw new KubeError(403, 'Forbidden', `${req.method} ${req.path}: unknown.apps is forbidden: User "u" cannot list resource "unknown"`);
    },
  } as unknown as KubeClient;
  const stop = new AbortController();
  const seen: Array<JsonObject[] | string> = [];
  apiServerReads(client, () => undefined).watch({ group: 'apps', version: 'v1', resource: 'unknown', namespace: 'default', via: 'GlobalContextEntry' }, (objects) => seen.push(objects), stop.signal, (message) => seen.push(message));
  await settle();
  stop.abort();
  assert.deepEqual(asked, ['GET /apis/apps/v1/namespaces/default/unknown']);
  assert.deepEqual(seen, [[], 'unknown.apps is forbidden: User "u" cannot list resource "unknown"']);
});
