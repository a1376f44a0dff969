/** The store served as the Kubernetes API over loopback HTTPS (api-http.ts), read through our own kube client. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient, KubeError } from '../../kube-api/client';
import { servedResources } from '../../kube-api/cluster-resources';
import { Scenario } from './runner';
import { startApiEndpoint, type ApiEndpoint } from './api-http';
import { kubeconfigText } from './shell';

const fixture = join(import.meta.dirname, '../fixtures/chainsaw/deny-label');

const WIDGET_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.example.com' },
  spec: {
    group: 'example.com',
    scope: 'Namespaced',
    names: { kind: 'Widget', plural: 'widgets', listKind: 'WidgetList', singular: 'widget' },
    versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
  },
};

/** A scenario's store served, and a client of ours configured by the kubeconfig a step gets. */
async function withEndpoint(run: (client: KubeClient, scenario: Scenario, api: ApiEndpoint) => Promise<void>): Promise<void> {
  const scenario = new Scenario(fixture);
  const cluster = scenario.kubectlCluster();
  const api = await startApiEndpoint(cluster.store, () => cluster.kindTable());
  try {
    const config = new KubeConfig();
    config.loadFromString(kubeconfigText(api));
    await run(new KubeClient(config), scenario, api);
  } finally {
    await api.close();
    await scenario.close();
  }
}

test('discovery: the core and group versions of the built-in kinds, and a kind a stored CRD defines from then on', async () => {
  await withEndpoint(async (client, scenario, api) => {
    assert.deepEqual((await client.request<{ versions: string[] }>({ method: 'GET', path: '/api' })).versions, ['v1']);
    const groups = await client.request<{ groups: Array<{ name: string; preferredVersion: { version: string } }> }>({ method: 'GET', path: '/apis' });
    assert.equal(groups.groups.find((g) => g.name === 'apps')?.preferredVersion.version, 'v1');
    assert.equal(groups.groups.some((g) => g.name === 'example.com'), false);
    assert.deepEqual(await client.resourceFor('apps/v1', 'Deployment'), { plural: 'deployments', namespaced: true, verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] });
    assert.equal((await client.resourceFor('rbac.authorization.k8s.io/v1', 'ClusterRole'))?.namespaced, false);
    scenario.store.create(WIDGET_CRD);
    const served = await servedResources(client);
    assert.deepEqual(served.find((r) => r.kind === 'Widget'), { group: 'example.com', version: 'v1', kind: 'Widget', plural: 'widgets', namespaced: true, verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'], preferred: true });
    assert.ok(served.some((r) => r.kind === 'Pod' && r.group === '' && r.plural === 'pods'));
    assert.deepEqual(await client.serverVersion(), { major: '1', minor: '33', gitVersion: 'v1.33.1', platform: 'linux/amd64' });
    assert.deepEqual(api.unserved, []);
    assert.ok(api.requests.includes('GET /apis/example.com/v1'));
  });
});

test('lists and gets: namespaced with a label selector, every namespace, by field, a custom resource, a missing object', async () => {
  await withEndpoint(async (client, scenario, api) => {
    const { store } = scenario;
    for (const ns of ['team-a', 'team-b']) store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    store.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'team-a', labels: { tier: 'web' } }, data: { a: '1' } });
    store.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'y', namespace: 'team-a', labels: { tier: 'db' } } });
    store.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'team-b', labels: { tier: 'web' } } });
    const web = await client.list('v1', 'ConfigMap', 'team-a', 'tier=web');
    assert.deepEqual(web.map((c) => [c.apiVersion, c.kind, (c.metadata as { name: string }).name]), [['v1', 'ConfigMap', 'x']]);
    assert.equal((await client.list('v1', 'ConfigMap', 'team-a', 'tier!=web')).length, 1);
    const everywhere = await client.request<{ kind: string; items: Array<{ metadata: { namespace: string } }> }>({ method: 'GET', path: '/api/v1/configmaps', query: { labelSelector: 'tier=web' } });
    assert.equal(everywhere.kind, 'ConfigMapList');
    assert.deepEqual(everywhere.items.map((i) => i.metadata.namespace), ['team-a', 'team-b']);
    const named = await client.request<{ items: Array<{ metadata: { namespace: string; name: string } }> }>({ method: 'GET', path: '/api/v1/configmaps', query: { fieldSelector: 'metadata.name=x,metadata.namespace!=team-a' } });
    assert.deepEqual(named.items.map((i) => `${i.metadata.namespace}/${i.metadata.name}`), ['team-b/x']);
    assert.deepEqual((await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'team-a', name: 'x' }))?.data, { a: '1' });
    assert.equal(await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'team-a', name: 'missing' }), undefined);
    store.create(WIDGET_CRD);
    client.forgetDiscovery();
    store.create({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'team-b', labels: { tier: 'web' } }, spec: { size: 2 } });
    const widgets = await client.list('example.com/v1', 'Widget', undefined, 'tier=web');
    assert.deepEqual(widgets.map((w) => [w.kind, (w.metadata as { namespace: string }).namespace, (w.spec as { size: number }).size]), [['Widget', 'team-b', 2]]);
    // A missing object is the API server's NotFound Status.
    await assert.rejects(client.request({ method: 'GET', path: '/api/v1/namespaces/team-a/configmaps/missing' }), (e: unknown) => e instanceof KubeError && e.status === 404 && e.reason === 'NotFound' && /configmaps "missing" not found/.test(e.message));
    assert.deepEqual(api.unserved, []);
  });
});

test('what the endpoint does not serve is a 404 Status and recorded: a write, a watch, a field selector beyond metadata', async () => {
  await withEndpoint(async (client, _scenario, api) => {
    await assert.rejects(client.request({ method: 'POST', path: '/api/v1/namespaces/default/configmaps', body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'n' } } }), (e: unknown) => e instanceof KubeError && e.status === 404 && e.reason === 'NotFound');
    await assert.rejects(client.request({ method: 'GET', path: '/api/v1/pods', query: { watch: 'true' } }), KubeError);
    await assert.rejects(client.request({ method: 'GET', path: '/api/v1/pods', query: { fieldSelector: 'spec.nodeName=kind' } }), KubeError);
    assert.deepEqual(api.unserved, ['POST /api/v1/namespaces/default/configmaps', 'GET /api/v1/pods?watch=true', 'GET /api/v1/pods?fieldSelector=spec.nodeName%3Dkind']);
    // An unknown group version is an API server's own 404, not a gap of the endpoint.
    await assert.rejects(client.request({ method: 'GET', path: '/apis/unknown.example.com/v1' }), (e: unknown) => e instanceof KubeError && e.status === 404);
    assert.equal(api.unserved.length, 3);
  });
});
