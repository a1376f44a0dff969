import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crdSchemaOf, findResources, kindTableWith, knownKindTable, resolveKind, KNOWN_KINDS } from '../../engine/kube';

test('the kind table is the well-known kinds: every one resolves to its plural', () => {
  const table = knownKindTable();
  for (const k of KNOWN_KINDS) {
    const spec = k.group ? `${k.group}/${k.version}/${k.kind}` : `${k.version}/${k.kind}`;
    // `v1/Event` has no group: it also names events.k8s.io/v1 Event, as in Kyverno.
    assert.deepEqual(resolveKind(spec, table)?.filter((r) => r.group === k.group), [{ group: k.group, version: k.version, resource: k.plural }], spec);
  }
});

test('resolveKind reads selectors as Kyverno does', () => {
  const table = knownKindTable();
  // A kind served by two groups resolves to both, as discovery's FindResources does.
  assert.deepEqual(resolveKind('Event', table)?.map((r) => r.group).sort(), ['', 'events.k8s.io']);
  // A version other than the preferred one, when the API server serves it.
  assert.deepEqual(resolveKind('autoscaling/v1/HorizontalPodAutoscaler', table), [{ group: 'autoscaling', version: 'v1', resource: 'horizontalpodautoscalers' }]);
  assert.deepEqual(resolveKind('HorizontalPodAutoscaler', table), [{ group: 'autoscaling', version: 'v2', resource: 'horizontalpodautoscalers' }]);
  assert.equal(resolveKind('autoscaling/v3/HorizontalPodAutoscaler', table), undefined);
  // Subresources with '/' or '.', and wildcards.
  assert.deepEqual(resolveKind('Pod.status', table), [{ group: '', version: 'v1', resource: 'pods/status' }]);
  assert.deepEqual(resolveKind('apps/v1/Deployment/scale', table), [{ group: 'apps', version: 'v1', resource: 'deployments/scale' }]);
  assert.deepEqual(resolveKind('apps/*/Deployment', table), [{ group: 'apps', version: 'v1', resource: 'deployments' }]);
  assert.deepEqual(resolveKind('*/scale', table), [{ group: '*', version: '*', resource: '*/scale' }]);
  assert.equal(resolveKind('a/b/c/d/e', table), undefined);
});

test('findResources answers as Kyverno discovery FindResources: every served version, scope, wildcard kinds and subresource patterns', () => {
  const table = knownKindTable();
  const names = (group: string, version: string, kind: string, sub: string) =>
    findResources(table, group, version, kind, sub).map((r) => `${r.group}/${r.version}/${r.resource}${r.subresource ? `/${r.subresource}` : ''}${r.namespaced ? '' : ' (cluster)'}`).sort();
  assert.deepEqual(names('*', '*', 'HorizontalPodAutoscaler', ''), ['autoscaling/v1/horizontalpodautoscalers', 'autoscaling/v2/horizontalpodautoscalers']);
  assert.deepEqual(names('*', 'v1', 'HorizontalPodAutoscaler', ''), ['autoscaling/v1/horizontalpodautoscalers']);
  assert.deepEqual(names('*', '*', 'Namespace', ''), ['/v1/namespaces (cluster)']);
  assert.deepEqual(names('apps', 'v1', 'Deployment', 'scale'), ['apps/v1/deployments/scale']);
  assert.deepEqual(names('*', '*', 'Node', '*'), ['/v1/nodes/proxy (cluster)', '/v1/nodes/status (cluster)']);
  assert.deepEqual(names('*', '*', 'Pod', 'nothing'), []);
  assert.deepEqual(names('*', '*', 'Lease*', ''), ['coordination.k8s.io/v1/leases']);
  // `*` with `*`: the resources and their subresources alike.
  const all = findResources(table, 'coordination.k8s.io', '*', '*', '*').map((r) => r.resource);
  assert.deepEqual(all, ['leases']);
});

test("kindTableWith: a CRD's kind at its served versions and scope, as discovery describes it once installed", () => {
  const crd = crdSchemaOf({
    apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition',
    spec: { group: 'example.com', scope: 'Cluster', names: { kind: 'Gadget', plural: 'gadgets' }, versions: [{ name: 'v2', served: true }, { name: 'v1beta1', served: false }, { name: 'v1', served: true }] },
  })!;
  const table = kindTableWith([crd]);
  assert.deepEqual(findResources(table, '*', '*', 'Gadget', ''), [
    { group: 'example.com', version: 'v2', resource: 'gadgets', subresource: '', namespaced: false },
    { group: 'example.com', version: 'v1', resource: 'gadgets', subresource: '', namespaced: false },
  ]);
  assert.deepEqual(findResources(table, 'example.com', 'v1beta1', 'Gadget', ''), [], 'a version not served is not discovered');
  // The well-known kinds stay, and a CRD of a group and kind the table has does not replace it.
  assert.equal(findResources(table, '', 'v1', 'Pod', '').length, 1);
  const shadow = kindTableWith([{ group: 'kyverno.io', kind: 'ClusterPolicy', plural: 'other', versions: [{ name: 'v9', schema: undefined }] }]);
  assert.deepEqual(findResources(shadow, 'kyverno.io', '*', 'ClusterPolicy', '').map((r) => r.resource), findResources(knownKindTable(), 'kyverno.io', '*', 'ClusterPolicy', '').map((r) => r.resource));
});
