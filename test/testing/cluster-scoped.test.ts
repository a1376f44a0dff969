// Resources as the Kyverno CLI loads them: `default` only for namespaced kinds, null maps made empty.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runTestText, withDefaultNamespace } from '../../engine/testing';
import { suite, TEST_PATH, yamlDocs } from './helpers';

test('only namespaced kinds get the default namespace', () => {
  const ns = (r: object) => (withDefaultNamespace(r as never).metadata as { namespace?: string }).namespace;
  assert.equal(ns({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'a' } }), undefined);
  assert.equal(ns({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' } }), undefined);
  assert.equal(ns({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'a' } }), 'default');
  // Unknown kinds, and a known kind name in another group, are taken as namespaced.
  assert.equal(ns({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'a' } }), 'default');
  assert.equal(ns({ apiVersion: 'example.com/v1', kind: 'ClusterRole', metadata: { name: 'a' } }), 'default');
  assert.equal(ns({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a', namespace: 'x' } }), 'x');
});

test('annotations, labels and the like written without a value become empty maps', () => {
  const r = withDefaultNamespace({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a', labels: null, annotations: null }, spec: { nodeSelector: null, containers: [{ name: 'c', env: null }] } });
  assert.deepEqual(r.metadata, { name: 'a', labels: {}, annotations: {}, namespace: 'default' });
  assert.deepEqual(r.spec, { nodeSelector: {}, containers: [{ name: 'c', env: null }] });
});

test('match.namespaces [default] does not match a cluster-scoped resource', () => {
  const policy = {
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name: 'p' },
    spec: {
      rules: [
        {
          name: 'r',
          match: { any: [{ resources: { kinds: ['ClusterRole', 'Role'], namespaces: ['default'] } }] },
          validate: { failureAction: 'Audit', message: 'no', pattern: { metadata: { name: 'never-*' } } },
        },
      ],
    },
  };
  const resources = [
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'cr' } },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'role' } },
  ];
  const text = [
    'apiVersion: cli.kyverno.io/v1alpha1',
    'kind: Test',
    'metadata: {name: t}',
    'policies: [p.yaml]',
    'resources: [r.yaml]',
    'results:',
    '- {policy: p, rule: r, kind: ClusterRole, resources: [cr], result: skip}',
    '- {policy: p, rule: r, kind: Role, resources: [role], result: fail}',
  ].join('\n');
  const [res] = runTestText(TEST_PATH, text, suite({ 'p.yaml': yamlDocs(policy), 'r.yaml': yamlDocs(...resources) }));
  assert.equal(res.error, null, res.error ?? '');
  assert.deepEqual(res.rows.map((r) => [r.resource, r.reason]), [['cr', 'Excluded'], ['default/role', 'Ok']]);
});
