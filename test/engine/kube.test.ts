// Cases ported from kyverno/kyverno pkg/utils/kube/kind_test.go and pkg/utils/match/kind_test.go.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  KNOWN_KINDS,
  containsKind,
  findKnownKinds,
  groupVersionMatches,
  inferGVK,
  isNamespacedKind,
  kindSelectorsMatch,
  parseApiVersion,
  parseKindSelector,
  pluralOf,
  qualifiedKind,
  resourceGVK,
  splitKindSelector,
  splitSubresource,
} from '../../engine/kube';

test('kube: parseKindSelector (Kyverno TestParseKindSelector)', () => {
  const cases: Array<[string, [string, string, string, string]]> = [
    ['*', ['*', '*', '*', '']],
    ['*.*', ['*', '*', '*', '*']],
    ['*/*', ['*', '*', '*', '*']],
    ['Pod', ['*', '*', 'Pod', '']],
    ['v1/Pod', ['*', 'v1', 'Pod', '']],
    ['batch/*/CronJob', ['batch', '*', 'CronJob', '']],
    ['storage.k8s.io/v1/CSIDriver', ['storage.k8s.io', 'v1', 'CSIDriver', '']],
    ['tekton.dev/v1beta1/TaskRun/status', ['tekton.dev', 'v1beta1', 'TaskRun', 'status']],
    ['v1/Pod.status', ['*', 'v1', 'Pod', 'status']],
    ['v1/Pod/status', ['*', 'v1', 'Pod', 'status']],
    ['Pod.status', ['*', '*', 'Pod', 'status']],
    ['Pod/status', ['*', '*', 'Pod', 'status']],
    ['apps/v1/Deployment/scale', ['apps', 'v1', 'Deployment', 'scale']],
    ['v1/ReplicationController/scale', ['*', 'v1', 'ReplicationController', 'scale']],
    ['*/ReplicationController/scale', ['*', '*', 'ReplicationController', 'scale']],
    ['*/Deployment/scale', ['*', '*', 'Deployment', 'scale']],
    ['*/Deployment.scale', ['*', '*', 'Deployment', 'scale']],
    ['apps/v1/Deployment.scale', ['apps', 'v1', 'Deployment', 'scale']],
    ['*/scale', ['*', '*', '*', 'scale']],
    ['Pod/*', ['*', '*', 'Pod', '*']],
    ['*/*/*', ['*', '*', '*', '*']],
    ['*/*/*/*', ['*', '*', '*', '*']],
    ['*/*/*/*/*', ['', '', '', '']],
  ];
  for (const [input, [group, version, kind, subresource]] of cases) {
    assert.deepEqual(parseKindSelector(input), { group, version, kind, subresource }, input);
  }
});

test('kube: splitKindSelector (Kyverno Test_GetKindFromGVK)', () => {
  const cases: Array<[string, string, string]> = [
    ['*', '', '*'],
    ['*.*', '', '*/*'],
    ['*/*', '', '*/*'],
    ['Pod', '', 'Pod'],
    ['v1/Pod', 'v1', 'Pod'],
    ['batch/*/CronJob', 'batch/*', 'CronJob'],
    ['storage.k8s.io/v1/CSIDriver', 'storage.k8s.io/v1', 'CSIDriver'],
    ['tekton.dev/v1beta1/TaskRun/Status', 'tekton.dev/v1beta1', 'TaskRun/Status'],
    ['v1/Pod.Status', 'v1', 'Pod/Status'],
    ['Pod.Status', '', 'Pod/Status'],
    ['apps/v1/Deployment/Scale', 'apps/v1', 'Deployment/Scale'],
    ['*/Deployment.scale', '*', 'Deployment/scale'],
    ['apps/v1/Deployment.scale', 'apps/v1', 'Deployment/scale'],
  ];
  for (const [input, apiVersion, kind] of cases) assert.deepEqual(splitKindSelector(input), { apiVersion, kind }, input);
  assert.deepEqual(splitSubresource('TaskRun/status'), ['TaskRun', 'status']);
  assert.deepEqual(splitSubresource('Pod'), ['Pod', '']);
  assert.equal(containsKind(['v1/Pod', 'Deployment'], 'Pod'), true);
  assert.equal(containsKind(['Pod/exec'], 'Pod'), true);
  assert.equal(containsKind(['*'], 'Pod'), false);
});

test('kube: groupVersionMatches (Kyverno Test_GroupVersionMatches)', () => {
  assert.equal(groupVersionMatches('v1', 'v1'), true);
  assert.equal(groupVersionMatches('v1', 'networking.k8s.io/v1'), false);
  assert.equal(groupVersionMatches('*', 'v1'), true);
  assert.equal(groupVersionMatches('certificates.k8s.io/*', 'certificates.k8s.io/v1'), true);
  assert.equal(groupVersionMatches('*', 'certificates.k8s.io/v1'), true);
  assert.equal(groupVersionMatches('certificates.k8s.io/*', 'networking.k8s.io/v1'), false);
});

test('kube: kindSelectorsMatch (Kyverno Test_CheckKind)', () => {
  const gvk = (group: string, version: string, kind: string) => ({ group, version, kind });
  const pod = gvk('', 'v1', 'Pod');
  assert.equal(kindSelectorsMatch(['*'], gvk('', 'v1', 'Deployment'), '', false), true);
  assert.equal(kindSelectorsMatch(['Pod'], pod, '', false), true);
  assert.equal(kindSelectorsMatch(['v1/Pod'], pod, '', false), true);
  assert.equal(kindSelectorsMatch(['tekton.dev/v1beta1/TaskRun'], gvk('tekton.dev', 'v1beta1', 'TaskRun'), '', false), true);
  assert.equal(kindSelectorsMatch(['tekton.dev/*/TaskRun'], gvk('tekton.dev', 'v1alpha1', 'TaskRun'), '', false), true);
  assert.equal(kindSelectorsMatch(['v1/Pod'], pod, 'status', false), false);
  assert.equal(kindSelectorsMatch(['v1/Pod'], pod, 'ephemeralcontainers', true), true);
  assert.equal(kindSelectorsMatch(['v1/Pod'], pod, 'ephemeralcontainers', false), false);
  assert.equal(kindSelectorsMatch(['postgresdb'], gvk('acid.zalan.do', 'v1', 'postgresdb'), '', false), true);
  assert.equal(kindSelectorsMatch(['Postgresdb'], gvk('acid.zalan.do', 'v1', 'postgresdb'), '', false), false);
  assert.equal(
    kindSelectorsMatch(['networking.k8s.io/v1/NetworkPolicy/status'], gvk('networking.k8s.io', 'v1', 'NetworkPolicy'), 'status', false),
    true,
  );
  assert.equal(kindSelectorsMatch(['v1/Pod.status'], pod, 'status', false), true);
  assert.equal(kindSelectorsMatch(['*/Pod.eviction'], pod, 'eviction', false), true);
  assert.equal(kindSelectorsMatch(['v1alpha1/Pod.eviction'], pod, 'eviction', false), false);
  assert.equal(kindSelectorsMatch(['Pod/exec'], pod, 'exec', false), true);
  assert.equal(kindSelectorsMatch(['Pod/exec'], pod, '', false), false);
  assert.equal(kindSelectorsMatch(['Deployment/scale'], gvk('apps', 'v1', 'Deployment'), 'scale', false), true);
  assert.equal(kindSelectorsMatch(['*/*'], gvk('apps', 'v1', 'Deployment'), 'scale', false), true);
});

test('kube: GVK of resources and apiVersions', () => {
  assert.deepEqual(parseApiVersion('apps/v1'), { group: 'apps', version: 'v1' });
  assert.deepEqual(parseApiVersion('v1'), { group: '', version: 'v1' });
  assert.ok('error' in parseApiVersion('a/b/c'));
  assert.deepEqual(resourceGVK({ apiVersion: 'batch/v1', kind: 'CronJob' }), { group: 'batch', version: 'v1', kind: 'CronJob' });
  assert.deepEqual(resourceGVK({ kind: 'Pod' }), { group: '', version: '', kind: 'Pod' });
});

test('kube: known kinds table', () => {
  const byKey = new Set(KNOWN_KINDS.map((k) => `${k.group}/${k.version}/${k.kind}`));
  assert.equal(byKey.size, KNOWN_KINDS.length, 'no duplicate entries');
  assert.deepEqual(inferGVK('Deployment'), { group: 'apps', version: 'v1', kind: 'Deployment' });
  assert.deepEqual(inferGVK('Event'), { group: '', version: 'v1', kind: 'Event' });
  assert.equal(findKnownKinds('Event').length, 2);
  assert.equal(inferGVK('NoSuchKind'), undefined);
  assert.equal(isNamespacedKind('', 'Namespace'), false);
  assert.equal(isNamespacedKind('rbac.authorization.k8s.io', 'ClusterRole'), false);
  assert.equal(isNamespacedKind('kyverno.io', 'Policy'), true);
  assert.equal(isNamespacedKind('example.com', 'Widget'), true);
  assert.equal(pluralOf('networking.k8s.io', 'NetworkPolicy'), 'networkpolicies');
  assert.equal(pluralOf('example.com', 'Widget'), 'widgets');
  assert.equal(pluralOf('example.com', 'Gateway'), 'gateways');
  assert.equal(pluralOf('example.com', 'Proxy'), 'proxies');
  assert.equal(qualifiedKind({ group: '', version: 'v1', kind: 'Pod' }), 'v1/Pod');
  assert.equal(qualifiedKind({ group: 'batch', version: 'v1', kind: 'Job' }), 'batch/v1/Job');
  for (const k of ['ClusterPolicy', 'ValidatingPolicy', 'PolicyException', 'CustomResourceDefinition', 'ValidatingAdmissionPolicy']) {
    assert.ok(findKnownKinds(k).length > 0, k);
  }
  assert.ok(findKnownKinds('Pod')[0].subresources?.includes('exec'));
});
