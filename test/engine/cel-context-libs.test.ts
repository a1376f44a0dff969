/**
 * Kyverno's CEL libraries that reach the cluster (sdk extensions/cel/libs resource, http,
 * globalcontext) and the Kyverno CLI's offline answers to them (pkg/cel/libs fake provider and
 * HTTP mocks, the CLI's Test mocks). Cases follow the Go test tables of those packages.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evalCel } from '../../engine/cel/environment';
import { fromCel, toCel } from '../../engine/cel/values';
import { kyvernoActivation } from '../../engine/cel/lib-kyverno';
import { applyCelPolicy } from '../../engine/cel';
import { addGlobalContextEntries, globalContextEntryData, isGlobalContextEntry, loadContextEntries, setGlobalContextEntry } from '../../engine/context';
import { apiCallMocksOf, resolveGlobalContextEntries } from '../../engine/testing/mocks';
import { runTestText } from '../../engine/testing';
import type { CelLibraryView, ClusterState, JsonObject } from '../../engine/core/types';

function cluster(partial: Partial<ClusterState> = {}): ClusterState {
  return { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [], ...partial };
}

function run(expr: string, state: ClusterState, vars: Record<string, unknown> = {}, policyNamespace = ''): unknown {
  const rt = { cluster: state, now: new Date('2025-01-01T00:00:00Z'), generated: [], policyNamespace };
  const act: Record<string, unknown> = { ...kyvernoActivation(rt) };
  for (const [k, v] of Object.entries(vars)) act[k] = toCel(v);
  return fromCel(evalCel(expr, act));
}

const deployment = (name: string, namespace: string, labels: Record<string, string> = {}): JsonObject => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace, labels },
});
const computeClass = (name: string): JsonObject => ({ apiVersion: 'cloud.google.com/v1', kind: 'ComputeClass', metadata: { name }, spec: { spot: true } });

function fakeProvider(partial: Partial<CelLibraryView>): ClusterState {
  return cluster({ celLibraries: { resourceSource: 'fakeProvider', resources: [], globalContext: {}, httpMocks: [], ...partial } });
}

test('resource.get: both name cases; a missing object is null, not an error', () => {
  const state = cluster({ resources: [deployment('nginx', 'default'), computeClass('spot')] });
  for (const fn of ['get', 'Get']) {
    assert.deepEqual(run(`resource.${fn}("apps/v1", "deployments", "default", "nginx").metadata`, state), { name: 'nginx', namespace: 'default', labels: {} });
  }
  assert.equal(run('resource.get("something/v1", "animals", "default", "nginx")', state), null);
  assert.equal(run('resource.get("apps/v1", "deployments", "other", "nginx")', state), null);
  // Cluster-scoped objects are addressed with the empty namespace.
  assert.equal(run('resource.get("cloud.google.com/v1", "computeclasses", "", "spot").spec.spot', state), true);
  assert.throws(() => run('resource.get("a/b/c", "x", "", "y")', state), /failed to get resource: unexpected GroupVersion string: a\/b\/c/);
});

test('resource.get: arguments typed dyn (namespace from the object) resolve', () => {
  const state = cluster({ resources: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'policy-cm', namespace: 'team' }, data: { name: 'ok' } }] });
  const object = { metadata: { namespace: 'team' }, spec: { nodeSelector: { cls: 'policy-cm' } } };
  assert.equal(run('resource.get("v1", "configmaps", object.metadata.namespace, "policy-cm").data.name', state, { object }), 'ok');
  assert.equal(run("resource.get('v1', 'configmaps', 'team', object.spec.?nodeSelector[?'cls'].orValue('x')).data.name", state, { object }), 'ok');
  assert.throws(() => run('resource.get("v1", "configmaps", object.n, "x")', state, { object: { n: false } }));
});

test('resource.list: namespace, every namespace with "", equality label selectors', () => {
  const state = cluster({ resources: [deployment('b', 'default', { app: 'nginx' }), deployment('a', 'default'), deployment('c', 'other', { app: 'nginx' })] });
  assert.deepEqual(run('resource.list("apps/v1", "deployments", "default").items.map(d, d.metadata.name)', state), ['a', 'b']);
  assert.deepEqual(run('resource.List("apps/v1", "deployments", "").items.map(d, d.metadata.name)', state), ['a', 'b', 'c']);
  assert.deepEqual(run('resource.list("apps/v1", "deployments", "", {"app": "nginx"}).items.map(d, d.metadata.name)', state), ['b', 'c']);
  assert.equal(run('resource.list("apps/v1", "deployments", "default").kind', state), 'DeploymentList');
  assert.deepEqual(run('resource.list("v1", "secrets", "default").items', state), []);
});

test('resource.post, toGVR and the GVR overloads', () => {
  const state = cluster({ resources: [deployment('nginx', 'default')] });
  const review = run('resource.post("authorization.k8s.io/v1", "subjectaccessreviews", {"kind": "SubjectAccessReview", "spec": {"user": "u"}})', state) as JsonObject;
  assert.deepEqual(review.spec, { user: 'u' });
  const created = run('resource.Post("v1", "configmaps", "team", {"metadata": {"name": "x"}})', state) as JsonObject;
  assert.equal((created.metadata as JsonObject).namespace, 'team');
  assert.equal(run('resource.get(resource.toGVR("apps/v1", "Deployment"), "default", "nginx").metadata.name', state), 'nginx');
  assert.equal(run('size(resource.List(resource.ToGVR("apps/v1", "Deployment"), "default").items)', state), 1);
});

test('Namespaced* policies: the resource library uses the policy namespace and drops the argument', () => {
  const state = cluster({ resources: [deployment('nginx', 'team'), deployment('nginx', 'other')] });
  assert.equal(run('resource.Get("apps/v1", "deployments", "nginx").metadata.namespace', state, {}, 'team'), 'team');
  assert.equal(run('size(resource.List("apps/v1", "deployments").items)', state, {}, 'team'), 1);
  assert.equal(run('size(resource.List("apps/v1", "deployments", {"app": "x"}).items)', state, {}, 'team'), 0);
  assert.throws(() => run('resource.get("apps/v1", "deployments", "other", "nginx")', state, {}, 'team'), /found no matching overload for 'get'/);
  assert.throws(() => run('resource.get("apps/v1", "deployments", "nginx")', state), /found no matching overload for 'get'/);
});

test('the Kyverno CLI fake provider: exact namespace buckets, no label filter, unknown types fail to list, no post', () => {
  const state = fakeProvider({ resources: [deployment('b', 'default', { app: 'nginx' }), deployment('a', 'default'), computeClass('spot')] });
  assert.equal(run('resource.get("apps/v1", "deployments", "default", "a").metadata.name', state), 'a');
  assert.equal(run('resource.get("v1", "configmaps", "default", "a")', state), null);
  assert.deepEqual(run('resource.list("apps/v1", "deployments", "default", {"app": "none"})', state), {
    items: [deployment('b', 'default', { app: 'nginx' }), deployment('a', 'default')],
  });
  assert.deepEqual(run('resource.list("apps/v1", "deployments", "").items', state), []);
  assert.throws(() => run('resource.list("v1", "configmaps", "default")', state), /failed to list resource: configmaps resource not found/);
  assert.throws(() => run('resource.list("batch/v1", "jobs", "default")', state), /jobs.batch resource not found/);
  assert.throws(() => run('resource.post("v1", "configmaps", {"a": "b"})', state), /internal error: not implemented/);
  // The view, not ClusterState.resources, is what the libraries read.
  assert.equal(run('resource.get("apps/v1", "deployments", "default", "a")', fakeProvider({ resources: [] })), null);
});

test('globalContext.get on GlobalContextEntry objects: precomputed projections, Kyverno store errors', () => {
  const listed = cluster({ resources: [
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'a', namespace: 'prod' } },
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'b', namespace: 'prod' } },
  ] });
  const state = cluster();
  const gce = (name: string, spec: JsonObject): JsonObject => ({ apiVersion: 'kyverno.io/v2alpha1', kind: 'GlobalContextEntry', metadata: { name }, spec });
  const projections = [{ name: 'count', jmesPath: 'items | length(@)' }, { name: 'none', jmesPath: 'nothing' }];
  for (const entry of [
    gce('calls', { apiCall: { urlPath: '/apis/apps/v1/namespaces/prod/deployments' }, projections }),
    gce('objects', { kubernetesResource: { group: 'apps', version: 'v1', resource: 'deployments', namespace: 'prod' }, projections: [{ name: 'names', jmesPath: '[].metadata.name' }, { name: 'none', jmesPath: 'nothing' }] }),
  ]) {
    const data = globalContextEntryData(entry, listed.resources, { apiCalls: true });
    setGlobalContextEntry(state, entry, data);
  }
  assert.equal(run('globalContext.get("calls", "count")', state), 2);
  assert.equal((run('globalContext.get("calls", "")', state) as JsonObject).kind, 'DeploymentList');
  assert.deepEqual(run('globalContext.get("objects", "names")', state), ['a', 'b']);
  assert.equal(run('size(globalContext.get("objects", ""))', state), 2);
  // apiCall entries hold no null projection (externalapi: "no data available"); kubernetesResource ones name the projection.
  assert.throws(() => run('globalContext.get("calls", "none")', state), /^Error: failed to get global reference: no data available$/);
  assert.throws(() => run('globalContext.get("objects", "missing")', state), /failed to get global reference: projection "missing" not found$/);
  assert.equal(run('globalContext.get("absent", "count")', state), null);
  // An entry whose call failed holds the error: every read fails with it.
  state.globalContextErrors = { calls: 'HTTP 500' };
  assert.throws(() => run('globalContext.get("calls", "count")', state), /^Error: failed to get global reference: HTTP 500$/);
});

test('GlobalContextEntry objects: served versions, apiCall data only where the controller calls', () => {
  assert.ok(isGlobalContextEntry({ apiVersion: 'kyverno.io/v2alpha1', kind: 'GlobalContextEntry' }));
  assert.ok(isGlobalContextEntry({ apiVersion: 'kyverno.io/v2beta1', kind: 'GlobalContextEntry' }));
  assert.ok(!isGlobalContextEntry({ apiVersion: 'kyverno.io/v1', kind: 'GlobalContextEntry' }));
  const call: JsonObject = { apiVersion: 'kyverno.io/v2', kind: 'GlobalContextEntry', metadata: { name: 'c' }, spec: { apiCall: { urlPath: '/api/v1/namespaces/x/configmaps/missing' } } };
  assert.equal(globalContextEntryData(call, [], { apiCalls: false }), undefined);
  assert.throws(() => globalContextEntryData(call, [], { apiCalls: true }), /configmaps missing not found/);
});

test('globalContext.get: entries, projections, a missing entry is null', () => {
  const state = cluster({ globalContext: { foo: 'stringValue', deployments: { items: [{ name: 'a' }, { name: 'b' }] } } });
  assert.equal(run('globalContext.get("foo")', state), 'stringValue');
  assert.equal(run('globalContext.Get("foo", "")', state), 'stringValue');
  assert.equal(run('size(globalContext.get("deployments", "items"))', state), 2);
  assert.equal(run('globalContext.Get("missing", "")', state), null);
  assert.throws(() => run('globalContext.get("deployments", "nope")', state), /failed to get global reference: projection "nope" not found in global context entry "deployments"/);
  assert.throws(() => run('globalContext.get("foo", "x")', state), /stored value is not an object/);
  // A view without entries (the CLI's API-server provider) answers null for every name.
  const view = cluster({ globalContext: { foo: 1 }, celLibraries: { resourceSource: 'apiServer', resources: [], globalContext: {}, httpMocks: [] } });
  assert.equal(run('globalContext.get("foo")', view), null);
});

test('http mocks: {body, statusCode}, method-specific key first, then the URL alone; misses need the network', () => {
  const httpMocks = apiCallMocksOf([
    { url: 'https://example.com/url', method: 'GET', response: { body: { v: 'method-specific' } } },
    { url: 'https://example.com/url', response: { body: { v: 'plain' }, statusCode: 201 } },
    { url: 'https://authz.example.com/validate', method: 'POST', response: { body: { allowed: false } } },
  ]);
  const state = fakeProvider({ httpMocks });
  assert.deepEqual(run('http.get("https://example.com/url")', state), { body: { v: 'method-specific' }, statusCode: 200 });
  assert.deepEqual(run('http.Post("https://example.com/url", {"a": 1})', state), { body: { v: 'plain' }, statusCode: 201 });
  assert.equal(run('http.post("https://authz.example.com/validate", {}, {"X-A": "b"}).body.allowed', state), false);
  assert.equal(run('http.client("").get("https://example.com/url").statusCode', state), 200);
  assert.throws(() => run('http.Get("https://authz.example.com/validate")', state), /request failed: .*needs network access/);
  assert.throws(() => run('http.get("https://nowhere")', state, {}, 'team'), /http calls are not allowed in namespaced policies/);
});

test('Test apiCallResponses are checked as the Kyverno CLI checks them', () => {
  assert.throws(() => apiCallMocksOf([{ response: { body: {} } }]), /either url or urlPath is required/);
  assert.throws(() => apiCallMocksOf([{ url: 'https://a', urlPath: '/b', response: { body: {} } }]), /mutually exclusive/);
  assert.throws(() => apiCallMocksOf([{ url: 'ftp://a/b', response: { body: {} } }]), /must be an absolute https\/http URL/);
  assert.throws(() => apiCallMocksOf([{ urlPath: 'api/v1', response: { body: {} } }]), /must be an absolute path/);
  assert.throws(() => apiCallMocksOf([{ url: 'https://a', method: 'PUT', response: { body: {} } }]), /method must be GET or POST/);
  assert.throws(() => apiCallMocksOf([{ url: 'https://a', response: {} }]), /response.body is required/);
  assert.throws(() => apiCallMocksOf([{ url: 'https://a', response: { body: [1] } }]), /must be a JSON object/);
  assert.throws(() => apiCallMocksOf([{ url: 'https://a', response: { body: {}, statusCode: 42 } }]), /between 100 and 599/);
  assert.throws(() => apiCallMocksOf([{ url: 'https://a', response: { body: {} } }, { url: 'https://a', response: { body: {} } }]), /duplicate entry/);
  assert.doesNotThrow(() => apiCallMocksOf([{ url: 'https://a', method: 'GET', response: { body: {} } }, { url: 'https://a', response: { body: {} } }]));
});

test('Test globalContextEntries: data, resources and files, then fieldPath and projections', () => {
  const files: Record<string, JsonObject[]> = { 'gce.yaml': [deployment('a', 'default'), deployment('b', 'default')] };
  const read = (p: string) => files[p] ?? (() => { throw new Error('open: no such file'); })();
  const out = resolveGlobalContextEntries([
    { name: 'plain', data: { deployments: [{ name: 'x' }] } },
    { name: 'projected', data: { deployments: [{ name: 'x' }, { name: 'y' }] }, projections: [{ name: 'items', path: 'deployments' }, { name: 'count', path: 'length(deployments)' }] },
    { name: 'inline', resources: [deployment('a', 'default')] },
    { name: 'files', resourceFiles: ['gce.yaml'], fieldPath: '[].metadata.name' },
  ], read);
  assert.deepEqual(out.plain, { deployments: [{ name: 'x' }] });
  assert.deepEqual(out.projected, { items: [{ name: 'x' }, { name: 'y' }], count: 2 });
  assert.deepEqual(out.inline, [deployment('a', 'default')]);
  assert.deepEqual(out.files, ['a', 'b']);
  assert.throws(() => resolveGlobalContextEntries([{ data: {} }], read), /name is required/);
  assert.throws(() => resolveGlobalContextEntries([{ name: 'a', data: {} }, { name: 'a', data: {} }], read), /duplicate name "a"/);
  assert.throws(() => resolveGlobalContextEntries([{ name: 'a' }], read), /one of data, resources, or resourceFiles is required/);
  assert.throws(() => resolveGlobalContextEntries([{ name: 'a', data: {}, resources: [] }], read), /mutually exclusive/);
  assert.throws(() => resolveGlobalContextEntries([{ name: 'a', data: { x: 1 }, projections: [{ name: 'p' }] }], read), /path is required/);
  assert.throws(() => resolveGlobalContextEntries([{ name: 'a', resourceFiles: ['../x.yaml'] }], read), /must not escape the test directory/);
  assert.throws(() => resolveGlobalContextEntries([{ name: 'a', resourceFiles: ['/etc/x.yaml'] }], read), /must not be absolute/);
  assert.throws(() => resolveGlobalContextEntries([{ name: 'a', resourceFiles: ['missing.yaml'] }], read), /failed to load globalContextEntries resource files/);
});

test('classic context entries: globalReference projections and mocked apiCalls', () => {
  const state = cluster({
    globalContext: { deployments: { items: [1, 2, 3] } },
    apiCallResponses: apiCallMocksOf([
      { url: 'https://svc.example.com/check', response: { body: { allowed: true } } },
      { url: 'https://svc.example.com/down', response: { body: { error: 'x' }, statusCode: 503 } },
    ]),
  });
  const env = { cluster: state, provided: new Set<string>() };
  const scope = { data: {} };
  const loaded = loadContextEntries([
    { name: 'count', globalReference: { name: 'deployments', jmesPath: 'items | length(@)' } },
    { name: 'projected', globalReference: { name: 'deployments.items' } },
    { name: 'missing', globalReference: { name: 'deployments.nope' } },
    { name: 'allowed', apiCall: { service: { url: 'https://svc.example.com/check' }, jmesPath: 'allowed' } },
    { name: 'whole', apiCall: { method: 'POST', service: { url: 'https://svc.example.com/check' } } },
  ], scope as never, env);
  assert.equal(loaded.error, undefined);
  assert.equal(loaded.scope.data.count, 3);
  assert.deepEqual(loaded.scope.data.projected, [1, 2, 3]);
  assert.equal('missing' in loaded.scope.data, false);
  assert.equal(loaded.scope.data.allowed, true);
  assert.deepEqual(loaded.scope.data.whole, { allowed: true });
  // A mock with a non-2xx status fails the rule's context, as v1 apiCall treats it.
  const failed = loadContextEntries([{ name: 'down', apiCall: { service: { url: 'https://svc.example.com/down' } } }], scope as never, env);
  assert.match(failed.error ?? '', /HTTP 503 from apiCall mock for context entry "down"/);
});

test('DeletingPolicy with resource.get: the CLI reports pass or fail', () => {
  const policy: JsonObject = {
    apiVersion: 'policies.kyverno.io/v1beta1', kind: 'DeletingPolicy', metadata: { name: 'd' },
    spec: {
      schedule: '*/1 * * * *',
      matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }] },
      conditions: [{ name: 'cm', expression: 'resource.get("v1", "configmaps", "default", "flags").data["delete"] == "yes"' }],
    },
  };
  const pod: JsonObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' } };
  const withFlag = (value: string): ClusterState => fakeProvider({ resources: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'flags', namespace: 'default' }, data: { delete: value } }] });
  const opts = (state: ClusterState) => ({ request: { operation: 'CREATE' as const, object: pod, oldObject: null, requestInfo: { roles: [], clusterRoles: [], userInfo: {} } }, cluster: state });
  assert.equal(applyCelPolicy(policy, opts(withFlag('yes'))).rules[0].status, 'pass');
  assert.equal(applyCelPolicy(policy, opts(withFlag('no'))).rules[0].status, 'fail');
});

test('kyverno test: CEL sees the Context file without clusterResources, the fake API server with them', () => {
  const policy = (name: string, expression: string) => `apiVersion: policies.kyverno.io/v1
kind: ValidatingPolicy
metadata: {name: ${name}}
spec:
  matchConstraints:
    resourceRules: [{apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [pods]}]
  validations:
  - expression: '${expression}'
---
`;
  const files: Record<string, string> = {
    't/policy.yaml': policy('configmap', 'resource.get("v1", "configmaps", "default", "cfg") != null')
      + policy('gce', 'globalContext.get("gce", "") != null && size(globalContext.get("gce", "names")) == 2')
      + policy('pod', 'resource.get("v1", "pods", "default", "p") != null'),
    't/pod.yaml': 'apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: default}\n',
    't/context.yaml': 'apiVersion: cli.kyverno.io/v1alpha1\nkind: Context\nmetadata: {name: c}\nspec:\n  resources:\n  - {apiVersion: v1, kind: ConfigMap, metadata: {name: cfg, namespace: default}}\n',
    't/cluster.yaml': 'apiVersion: cli.kyverno.io/v1alpha1\nkind: ClusterResource\nmetadata: {name: c}\nspec:\n  resources:\n  - {apiVersion: v1, kind: ConfigMap, metadata: {name: cfg, namespace: default}}\n',
  };
  const testDoc = (extra: string, expected: Record<string, string>) => `apiVersion: cli.kyverno.io/v1alpha1
kind: Test
metadata: {name: t}
policies: [policy.yaml]
resources: [pod.yaml]
globalContextEntries:
- name: gce
  data: {items: [{name: a}, {name: b}]}
  projections: [{name: names, path: "items[].name"}]
${extra}
results:
${Object.entries(expected).map(([p, r]) => `- {policy: ${p}, isValidatingPolicy: true, kind: Pod, resources: [p], result: ${r}}`).join('\n')}
`;
  const rows = (text: string) => {
    const [r] = runTestText('t/kyverno-test.yaml', text, files);
    assert.equal(r.error, null);
    return r.rows.map((row) => [row.policy, row.actual]);
  };
  // The fake provider: the Context file's resources and the global context mocks only.
  assert.deepEqual(rows(testDoc('context: context.yaml', { configmap: 'pass', gce: 'pass', pod: 'fail' })), [['configmap', 'pass'], ['gce', 'pass'], ['pod', 'fail']]);
  assert.deepEqual(rows(testDoc('', { configmap: 'fail' })), [['configmap', 'fail']]);
  // The fake API server: every resource of the test, but no global context entry.
  assert.deepEqual(rows(testDoc('clusterResources: [cluster.yaml]', { configmap: 'pass', gce: 'fail', pod: 'pass' })), [['configmap', 'pass'], ['gce', 'fail'], ['pod', 'pass']]);
  const [bad] = runTestText('t/kyverno-test.yaml', testDoc('apiCallResponses: [{url: "ftp://x", response: {body: {}}}]', { configmap: 'pass' }), files);
  assert.match(bad.error ?? '', /must be an absolute https\/http URL/);
});

test('GlobalContextEntry resources (kyverno apply): listed once, projections over the list', () => {
  const state = cluster();
  const resources = [deployment('b', 'default'), deployment('a', 'default'), deployment('c', 'other')];
  addGlobalContextEntries(state, [
    { apiVersion: 'kyverno.io/v2', kind: 'GlobalContextEntry', metadata: { name: 'deps' }, spec: { kubernetesResource: { group: 'apps', version: 'v1', resource: 'deployments', namespace: 'default' }, projections: [{ name: 'names', jmesPath: '[].metadata.name' }] } },
    { apiVersion: 'kyverno.io/v2', kind: 'GlobalContextEntry', metadata: { name: 'external' }, spec: { apiCall: { urlPath: '/x', refreshInterval: '10s' } } },
  ], resources);
  assert.deepEqual(Object.keys(state.globalContext), ['deps']);
  const loaded = loadContextEntries([
    { name: 'all', globalReference: { name: 'deps', jmesPath: 'length(@)' } },
    { name: 'names', globalReference: { name: 'deps.names' } },
    { name: 'nope', globalReference: { name: 'deps.nope' } },
  ], { data: {} } as never, { cluster: state, provided: new Set() });
  assert.equal(loaded.scope.data.all, 2);
  assert.deepEqual(loaded.scope.data.names, ['a', 'b']);
  assert.equal('nope' in loaded.scope.data, false);
});

test('generator.apply (both name cases) expands lists such as resource.list results into the namespace', () => {
  const state = fakeProvider({ resources: [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'default' } }] });
  const rt = { cluster: state, now: new Date(), generated: [] as JsonObject[], policyNamespace: '' };
  const act = kyvernoActivation(rt);
  assert.equal(evalCel('generator.apply("team", [resource.list("v1", "secrets", "default")])', act), true);
  assert.equal(evalCel('generator.Apply("", [{"kind": "ClusterRole", "metadata": {"name": "r", "namespace": "x"}}])', act), true);
  assert.deepEqual(rt.generated, [
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'team' } },
    { kind: 'ClusterRole', metadata: { name: 'r' } },
  ]);
});

test('Namespaced* policies: generator.apply takes no namespace and generates into the policy\'s (sdk generator.Lib with a namespace)', () => {
  const rt = { cluster: cluster(), now: new Date(), generated: [] as JsonObject[], policyNamespace: 'team' };
  const act = kyvernoActivation(rt);
  for (const fn of ['apply', 'Apply']) assert.equal(evalCel(`generator.${fn}([{"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "${fn}"}}])`, act), true);
  assert.deepEqual(rt.generated.map((o) => o.metadata), [{ name: 'apply', namespace: 'team' }, { name: 'Apply', namespace: 'team' }]);
  assert.throws(() => evalCel('generator.apply("other", [{"kind": "ConfigMap"}])', act), /found no matching overload for 'apply'/);
  const clusterWide = kyvernoActivation({ ...rt, generated: [], policyNamespace: '' });
  assert.throws(() => evalCel('generator.apply([{"kind": "ConfigMap"}])', clusterWide), /found no matching overload for 'apply'/);
});

test('resource.get/list over a read the API server refused: the sdk\'s permission denied error, not an empty answer', () => {
  const forbidden = 'configmaps is forbidden: User "system:serviceaccount:kyverno:kyverno-studio-webhook" cannot list resource "configmaps" in API group "" in the namespace "team"';
  const state = cluster({ resources: [deployment('nginx', 'team')], readRefusals: [{ group: '', resource: 'configmaps', namespace: 'team', message: forbidden }] });
  assert.throws(() => run('resource.List("v1", "configmaps", "team")', state), (e: Error) => e.message.includes(`failed to list resource: permission denied: ${forbidden}`));
  assert.throws(() => run('resource.get("v1", "configmaps", "team", "x")', state), (e: Error) => e.message.includes(`failed to get resource: permission denied: ${forbidden}`));
  // Reads the refusal does not cover answer as before.
  assert.deepEqual(run('resource.list("v1", "configmaps", "other").items', state), []);
  assert.equal(run('resource.get("apps/v1", "deployments", "team", "nginx").metadata.name', state), 'nginx');
  // The CLI's fake provider has no API server to refuse anything.
  const fake = { ...fakeProvider({ resources: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'team' } }] }), readRefusals: state.readRefusals };
  assert.equal(run('resource.get("v1", "configmaps", "team", "x").metadata.name', fake), 'x');
});
