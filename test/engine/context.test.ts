import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerApiCall, baseScope, extractImages, loadContextEntries, serviceAccountOf } from '../../engine/context';
import { tryGetImageInfo as parseImage } from '../../engine/images/image-info';
import { substituteVariables } from '../../engine/variables';
import type { AdmissionRequest, ClusterState } from '../../engine/core/types';

const emptyCluster = (): ClusterState => ({ resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] });

// Cases from kyverno pkg/utils/image (GetImageInfo) tests.
test('context: image references split as Kyverno splits them', () => {
  assert.deepEqual(parseImage('nginx'), {
    registry: 'docker.io', name: 'nginx', path: 'nginx', tag: 'latest', reference: 'docker.io/nginx:latest', referenceWithTag: 'docker.io/nginx:latest',
  });
  const gh = parseImage('ghcr.io/kyverno/kyverno:v1.9.0');
  assert.equal(gh?.registry, 'ghcr.io');
  assert.equal(gh?.path, 'kyverno/kyverno');
  assert.equal(gh?.name, 'kyverno');
  assert.equal(gh?.tag, 'v1.9.0');
  const digest = 'sha256:' + 'a'.repeat(64);
  const local = parseImage(`localhost:5000/team/app@${digest}`);
  assert.equal(local?.registry, 'localhost:5000');
  assert.equal(local?.digest, digest);
  assert.equal(local?.tag, undefined);
  assert.equal(local?.reference, `localhost:5000/team/app@${digest}`);
  assert.equal(local?.referenceWithTag, 'localhost:5000/team/app:', 'Kyverno sets it with an empty tag');
  assert.equal(parseImage('library/busybox:1.36')?.registry, 'docker.io');
  assert.equal(parseImage('Bad Image'), null);
});

test('context: images of pods, pod controllers and cronjobs by container name', () => {
  const pod = { kind: 'Pod', spec: { containers: [{ name: 'web', image: 'nginx:1.2' }], initContainers: [{ name: 'init', image: 'busybox' }] } };
  const imgs = extractImages(pod);
  assert.equal(imgs.containers.web.tag, '1.2');
  assert.equal(imgs.containers.web.jsonPointer, '/spec/containers/0/image');
  assert.equal(imgs.initContainers.init.name, 'busybox');
  assert.equal(imgs.ephemeralContainers, undefined);
  const deploy = { kind: 'Deployment', spec: { template: { spec: { containers: [{ name: 'a', image: 'a/b:c' }] } } } };
  assert.equal(extractImages(deploy).containers.a.jsonPointer, '/spec/template/spec/containers/0/image');
  const cron = { kind: 'CronJob', spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: 'j', image: 'job:1' }] } } } } } };
  assert.equal(extractImages(cron).containers.j.tag, '1');
  assert.deepEqual(extractImages({ kind: 'ConfigMap', data: {} }), {});
});

test('context: service account variables from the username', () => {
  assert.deepEqual(serviceAccountOf('system:serviceaccount:kube-system:builder'), { name: 'builder', namespace: 'kube-system' });
  assert.deepEqual(serviceAccountOf('alice'), { name: '', namespace: '' });
});

test('context: the base scope lays out request, images and service account', () => {
  const req: AdmissionRequest = {
    operation: 'CREATE',
    object: { kind: 'Pod', metadata: { name: 'p', namespace: 'ns' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
    oldObject: null,
    requestInfo: { roles: ['ns:r'], clusterRoles: [], userInfo: { username: 'system:serviceaccount:ns:sa', groups: ['g'] } },
  };
  const { data } = baseScope(req);
  const r = data.request as Record<string, unknown>;
  assert.equal(r.operation, 'CREATE');
  assert.equal(r.namespace, 'ns');
  assert.deepEqual(r.roles, ['ns:r']);
  assert.equal('clusterRoles' in r, false, 'empty lists are omitted like Go omitempty');
  assert.deepEqual(r.userInfo, { username: 'system:serviceaccount:ns:sa', groups: ['g'] });
  assert.equal('kind' in r, false, 'the CLI context has no request.kind');
  assert.equal(data.serviceAccountName, 'sa');
  assert.equal((data.images as any).containers.c.registry, 'docker.io');
  const del = baseScope({ ...req, operation: 'DELETE', object: null, oldObject: req.object }).data.request as Record<string, unknown>;
  assert.equal('object' in del, false);
  assert.equal((del.oldObject as any).metadata.name, 'p');
});

const scope = { data: { request: { object: { metadata: { name: 'web', namespace: 'prod', labels: { team: 'a' } } } } } };

test('context: variable entries with value, jmesPath and default', () => {
  const { scope: s, skipped } = loadContextEntries(
    [
      { name: 'team', variable: { jmesPath: 'request.object.metadata.labels.team' } },
      { name: 'upper', variable: { value: '{{ team }}-x' } },
      { name: 'list', variable: { value: [1, 2, 3], jmesPath: 'length(@)' } },
      { name: 'fallback', variable: { jmesPath: 'request.object.metadata.labels.missing', default: 'none' } },
      { name: 'nothing', variable: { jmesPath: 'request.object.metadata.labels.missing' } },
    ],
    scope,
    { cluster: emptyCluster(), provided: new Set() },
  );
  assert.equal(s.data.team, 'a');
  assert.equal(s.data.upper, 'a-x');
  assert.equal(s.data.list, 3);
  assert.equal(s.data.fallback, 'none');
  assert.equal('nothing' in s.data, false, 'an entry evaluating to null is left undefined');
  assert.match(skipped.find((x) => x.name === 'nothing')?.reason ?? '', /evaluated to nil/);
});

test('context: configMap entries from cluster resources; missing ones are skipped', () => {
  const cluster = emptyCluster();
  cluster.resources.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'prod' }, data: { allowed: 'a,b' } });
  const { scope: s, skipped } = loadContextEntries(
    [
      { name: 'cfg', configMap: { name: 'cfg', namespace: '{{request.object.metadata.namespace}}' } },
      { name: 'gone', configMap: { name: 'gone', namespace: 'prod' } },
    ],
    scope,
    { cluster, provided: new Set() },
  );
  assert.deepEqual((s.data.cfg as any).data, { allowed: 'a,b' });
  assert.equal('gone' in s.data, false);
  assert.equal(skipped.length, 1);
});

test('context: apiCall entries from canned responses or cluster resources', () => {
  const cluster = emptyCluster();
  cluster.apiCallResponses.push({ request: { urlPath: '/apis/x/v1/things' }, response: { body: { items: [1, 2] } } });
  cluster.resources.push({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p1', namespace: 'prod' } });
  cluster.resources.push({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p2', namespace: 'dev' } });
  const { scope: s } = loadContextEntries(
    [
      { name: 'things', apiCall: { urlPath: '/apis/x/v1/things', jmesPath: 'items | length(@)' } },
      { name: 'pods', apiCall: { urlPath: '/api/v1/namespaces/{{request.object.metadata.namespace}}/pods', jmesPath: 'items[].metadata.name' } },
      { name: 'unknown', apiCall: { urlPath: '/apis/y/v1/other/z' } },
      { name: 'withDefault', apiCall: { urlPath: '/apis/y/v1/other/z', default: 0 } },
    ],
    scope,
    { cluster, provided: new Set() },
  );
  assert.equal(s.data.things, 2);
  assert.deepEqual(s.data.pods, ['p1']);
  assert.equal('unknown' in s.data, false);
  assert.equal(s.data.withDefault, 0);
});

test('context: test values win over entries that need a cluster; variables still compute', () => {
  const cluster = emptyCluster();
  cluster.apiCallResponses.push({ request: { urlPath: '/x' }, response: { body: 'from-api' } });
  const start = { data: { ...scope.data, count: 'from-values', v: 'from-values' } };
  const { scope: s } = loadContextEntries(
    [
      { name: 'count', apiCall: { urlPath: '/x' } },
      { name: 'v', variable: { value: 'computed' } },
    ],
    start,
    { cluster, provided: new Set(['count', 'v']) },
  );
  assert.equal(s.data.count, 'from-values');
  assert.equal(s.data.v, 'computed');
});

test('context: globalReference and imageRegistry entries offline', () => {
  const cluster = emptyCluster();
  cluster.globalContext.deployments = [{ name: 'a' }, { name: 'b' }];
  const { scope: s, skipped } = loadContextEntries(
    [
      { name: 'count', globalReference: { name: 'deployments', jmesPath: 'length(@)' } },
      { name: 'img', imageRegistry: { reference: 'nginx' } },
      { name: 'bad' },
    ],
    scope,
    { cluster, provided: new Set() },
  );
  assert.equal(s.data.count, 2);
  assert.equal('img' in s.data, false);
  assert.deepEqual(skipped.map((x) => x.name), ['img', 'bad']);
});

test('context: without cluster resources API paths are not answered (the CLI disallows the call)', () => {
  const { scope: s } = loadContextEntries([{ name: 'pods', apiCall: { urlPath: '/api/v1/namespaces/prod/pods' } }], scope, { cluster: emptyCluster(), provided: new Set() });
  assert.equal('pods' in s.data, false);
});

test('an apiCall to a resource the API server does not serve is not found (its default applies), an empty known list is found', () => {
  const cluster: ClusterState = { resources: [{ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'a' } }], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [], apiCallsAllowed: true };
  assert.deepEqual(answerApiCall({ urlPath: '/api/v1/namespaces/a/invalid' }, cluster), { found: false, reason: 'the server could not find the requested resource' });
  assert.equal(answerApiCall({ urlPath: '/api/v1/namespaces/a/configmaps' }, cluster).found, true);
  assert.equal(answerApiCall({ urlPath: '/apis/example.com/v1/namespaces/a/widgets' }, cluster).found, true, 'served: an object of it is known');
  const { scope: s } = loadContextEntries(
    [{ name: 'podname', apiCall: { urlPath: '/api/v1/namespaces/{{ request.namespace }}/invalid', jmesPath: 'metadata.name', default: 'example' } }],
    { data: { request: { namespace: 'a' } } },
    { cluster, provided: new Set() },
  );
  assert.equal(s.data.podname, 'example');
});

test('context: a service call is read from the calls made, in Kyverno\'s words; unmade, it is noted for a caller that makes it', () => {
  const service = { url: 'https://svc/x', headers: [{ key: 'A', value: '1' }] };
  const request = { method: 'GET' as const, url: 'https://svc/x', headers: [['A', '1']] as Array<[string, string]>, caBundle: '', caller: 'apiCall' as const };
  const answered = (outcome: NonNullable<ClusterState['serviceCalls']>[number]['outcome'], extra = {}) =>
    answerApiCall({ service, ...extra }, { ...emptyCluster(), serviceCalls: [{ request, outcome }] }, 'svc');
  assert.deepEqual(answered({ status: 200, statusText: 'OK', text: '{"n": 1}' }), { found: true, body: { n: 1 } });
  assert.deepEqual(answered({ status: 404, statusText: 'Not Found', text: 'gone' }), { found: false, reason: 'HTTP 404 Not Found: gone', failure: 'failed to fetch data for APICall: HTTP 404 Not Found: gone', defaultable: true });
  assert.equal((answered({ status: 200, statusText: 'OK', text: '{"n"' }) as { failure: string }).failure, 'failed to store data for APICall: failed to add resource data to context entry svc: unexpected end of JSON input');
  assert.equal((answered({ status: 200, statusText: 'OK', text: 'x'.repeat(10), overLimit: 10 }) as { failure: string }).failure, 'failed to fetch data for APICall: response length must be less than max allowed response length of 10');
  assert.equal((answered({ error: 'Get "https://svc/x": EOF' }) as { failure: string }).failure, 'failed to fetch data for APICall: failed to execute HTTP request for APICall svc: Get "https://svc/x": EOF');
  assert.equal((answerApiCall({ service: { ...service, caBundle: 'not a pem' } }, emptyCluster(), 'svc') as { failure: string }).failure, 'failed to fetch data for APICall: failed to parse PEM CA bundle for APICall svc');
  // Unmade: noted once when a caller listens; offline, only a reason.
  const misses: NonNullable<ClusterState['serviceCallMisses']> = [];
  const listening = { ...emptyCluster(), serviceCallMisses: misses };
  answerApiCall({ service }, listening, 'svc');
  answerApiCall({ service }, listening, 'svc');
  assert.deepEqual(misses, [request]);
  const offline = answerApiCall({ service }, emptyCluster(), 'svc');
  assert.equal(offline.found, false);
  assert.match((offline as { reason: string }).reason, /needs network access/);
  assert.equal((offline as { failure?: string }).failure, undefined, 'offline the entry stays unloaded, as in the CLI without a client');
});

test('context: a failed call\'s error is what a variable naming the entry reports', () => {
  const scope = baseScope({ operation: 'CREATE', object: { kind: 'ConfigMap' }, oldObject: null, requestInfo: { roles: [], clusterRoles: [], userInfo: {} } } as AdmissionRequest);
  const request = { method: 'GET' as const, url: 'https://svc/x', headers: [], caBundle: '', caller: 'apiCall' as const };
  const cluster = { ...emptyCluster(), serviceCalls: [{ request, outcome: { status: 500, statusText: 'Internal Server Error', text: 'boom' } }] };
  const loaded = loadContextEntries([{ name: 'svc', apiCall: { service: { url: 'https://svc/x' } } }], scope, { cluster, provided: new Set() });
  assert.deepEqual(loaded.scope.failedEntries, { svc: 'failed to fetch data for APICall: HTTP 500 Internal Server Error: boom' });
  const withDefault = loadContextEntries([{ name: 'svc', apiCall: { service: { url: 'https://svc/x' }, default: { ok: true } } }], scope, { cluster, provided: new Set() });
  assert.deepEqual(withDefault.scope.data.svc, { ok: true });
  assert.equal(withDefault.scope.failedEntries, undefined);
});

test('context: a variable entry that fails to load reports its error where it is named (Kyverno deferred loader)', () => {
  const pod = { kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } };
  const scope = baseScope({ operation: 'CREATE', object: pod, oldObject: null, requestInfo: { roles: [], clusterRoles: [], userInfo: {} } } as AdmissionRequest);
  const jmesPath = '{{ request.object.spec.[containers,initContainers][].image[] }}';
  const loaded = loadContextEntries([{ name: 'image', variable: { jmesPath } }, { name: 'nothing', variable: { jmesPath: 'request.object.missing' } }], scope, { cluster: emptyCluster(), provided: new Set() });
  assert.equal('image' in loaded.scope.data, false);
  assert.equal(loaded.scope.failedEntries?.image, `jmespath value must be a string image ${jmesPath}: <nil>`);
  assert.equal(loaded.scope.failedEntries?.nothing, 'failed to add context entry for variable nothing since it evaluated to nil');
  assert.throws(() => substituteVariables('{{ image }}', loaded.scope), /failed to resolve image at path : jmespath value must be a string image/);
});

test('context: with Kyverno\'s global context store, an unknown or failed entry is the error of the variables naming it', () => {
  const scope = baseScope({ operation: 'CREATE', object: { kind: 'ConfigMap' }, oldObject: null, requestInfo: { roles: [], clusterRoles: [], userInfo: {} } } as AdmissionRequest);
  const entries = [{ name: 'missing', globalReference: { name: 'no-such-entry', jmesPath: 'length(@)' } }, { name: 'broken', globalReference: { name: 'failed-entry' } }];
  const store = { ...emptyCluster(), globalContextStore: true, globalContextErrors: { 'failed-entry': 'failed to GET resource with raw url: /x: boom' } };
  const loaded = loadContextEntries(entries, scope, { cluster: store, provided: new Set() });
  assert.deepEqual(loaded.scope.failedEntries, {
    missing: 'failed to marshal APICall data for context entry missing: failed to fetch entry key=no-such-entry',
    broken: 'failed to marshal APICall data for context entry broken: failed to GET resource with raw url: /x: boom',
  });
  assert.throws(() => substituteVariables('{{ missing }}', loaded.scope), /failed to resolve missing at path : failed to marshal APICall data for context entry missing: failed to fetch entry key=no-such-entry/);
  // Without a store (the CLI without entries) the entry is not loaded: the variable is unknown.
  const offline = loadContextEntries(entries.slice(0, 1), scope, { cluster: emptyCluster(), provided: new Set() });
  assert.equal(offline.scope.failedEntries, undefined);
  assert.throws(() => substituteVariables('{{ missing }}', offline.scope), /Unknown key "missing"/);
});

test('context: an apiCall GET the API server refused fails as Kyverno\'s executor words it (permission denied); a default still applies', () => {
  const forbidden = 'configmaps is forbidden: User "system:serviceaccount:kyverno:kyverno-studio-webhook" cannot list resource "configmaps" in API group "" in the namespace "prod"';
  const cluster: ClusterState = { ...emptyCluster(), resources: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'prod' } }], apiCallsAllowed: true, readRefusals: [{ group: '', resource: 'configmaps', namespace: 'prod', message: forbidden }] };
  const denied = `failed to GET resource with raw url: /api/v1/namespaces/prod/configmaps: permission denied: ${forbidden}`;
  assert.deepEqual(answerApiCall({ urlPath: '/api/v1/namespaces/prod/configmaps' }, cluster), { found: false, reason: denied, failure: `failed to fetch data for APICall: ${denied}`, defaultable: true });
  assert.equal((answerApiCall({ urlPath: '/api/v1/namespaces/prod/configmaps/a?x=1' }, cluster) as { reason: string }).reason.includes('permission denied'), true, 'the refused list covers its objects');
  assert.equal(answerApiCall({ urlPath: '/api/v1/namespaces/dev/configmaps' }, cluster).found, true, 'another namespace is not refused');
  const scope = { data: { request: { namespace: 'prod' } } };
  const loaded = loadContextEntries([{ name: 'cms', apiCall: { urlPath: '/api/v1/namespaces/{{ request.namespace }}/configmaps' } }], scope, { cluster, provided: new Set() });
  assert.deepEqual(loaded.scope.failedEntries, { cms: `failed to fetch data for APICall: ${denied}` });
  const withDefault = loadContextEntries([{ name: 'cms', apiCall: { urlPath: '/api/v1/namespaces/prod/configmaps', default: { items: [] } } }], scope, { cluster, provided: new Set() });
  assert.deepEqual(withDefault.scope.data.cms, { items: [] });
});
