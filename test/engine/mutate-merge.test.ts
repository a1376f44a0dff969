// patchStrategicMerge as Kyverno runs it (kyaml merge2 with kustomize's list prepend, after
// anchor preprocessing). First cases ported from Kyverno's strategicMergePatch_test.go.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyStrategicMerge, strategicMerge, schemaForResource, StrategicMergeError } from '../../engine/mutate';

const wordpressBase = {
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'wordpress', labels: { app: 'wordpress' } },
  spec: { selector: { matchLabels: { app: 'wordpress' } }, strategy: { type: 'Recreate' }, template: { metadata: { labels: { app: 'wordpress' } }, spec: {
    containers: [{ image: 'wordpress:4.8-apache', name: 'wordpress', ports: [{ containerPort: 80, name: 'wordpress' }], volumeMounts: [{ name: 'wordpress-persistent-storage', mountPath: '/var/www/html' }] }],
    volumes: [{ name: 'wordpress-persistent-storage' }],
  } } },
};
const env = [{ name: 'WORDPRESS_DB_HOST', value: '$(MYSQL_SERVICE)' }, { name: 'WORDPRESS_DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'mysql-pass', key: 'password' } } }];
const initContainers = [{ name: 'init-command', image: 'debian', command: ['echo $(WORDPRESS_SERVICE)', 'echo $(MYSQL_SERVICE)'] }];

test('kyverno TestMergePatch: containers merge by name, patch elements first', () => {
  const overlay = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'wordpress' }, spec: { template: { spec: {
    initContainers, containers: [{ name: 'nginx', image: 'nginx' }, { name: 'wordpress', env }],
  } } } };
  const out = applyStrategicMerge(wordpressBase, overlay) as typeof wordpressBase;
  assert.deepEqual(out.spec.template.spec, {
    containers: [{ name: 'nginx', image: 'nginx' }, { ...wordpressBase.spec.template.spec.containers[0], env }],
    volumes: [{ name: 'wordpress-persistent-storage' }],
    initContainers,
  });
  assert.deepEqual(out.metadata, wordpressBase.metadata);
  assert.deepEqual(wordpressBase.spec.template.spec.containers.length, 1, 'the input is not modified');
});

const hello = {
  apiVersion: 'v1', kind: 'Pod', metadata: { name: 'hello' }, spec: { containers: [
    { name: 'hello', image: 'gcr.io/google-containers/busybox:latest' },
    { name: 'hello2', image: 'gcr.io/google-containers/busybox:latest' },
    { name: 'hello3', image: 'gcr.io/google-containers/nginx:latest' },
  ] },
};

for (const image of ['gcr.io/google-containers/busybox:*', 'gcr.io/google-containers/nginx:*']) {
  test(`kyverno TestMergePatch: a condition-only element (${image}) leaves containers alone`, () => {
    const out = applyStrategicMerge(hello, { spec: { containers: [{ '(image)': image }], imagePullSecrets: [{ name: 'regcred' }] } });
    assert.deepEqual(out, { ...hello, spec: { ...hello.spec, imagePullSecrets: [{ name: 'regcred' }] } });
  });
}

test('a conditional element patches only the matching container, which kustomize moves first', () => {
  const out = applyStrategicMerge(hello, { spec: { containers: [{ '(image)': '*nginx*', imagePullPolicy: 'Always' }] } }) as typeof hello;
  assert.deepEqual(out.spec.containers.map((c) => [c.name, (c as Record<string, unknown>).imagePullPolicy]), [
    ['hello3', 'Always'], ['hello', undefined], ['hello2', undefined],
  ]);
});

test('a failing map condition skips the whole patch', () => {
  const out = applyStrategicMerge(hello, { metadata: { '(name)': 'other', labels: { a: 'b' } } });
  assert.deepEqual(out, hello);
});

test('null removes a field; $patch: delete removes a map or a list element', () => {
  const base = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: { a: '1', b: '2' } }, spec: { securityContext: { runAsUser: 1 }, containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'y' }] } };
  const out = strategicMerge(base, {
    metadata: { labels: { a: null } },
    spec: { securityContext: { $patch: 'delete' }, containers: [{ name: 'b', $patch: 'delete' }] },
  }, schemaForResource(base));
  assert.deepEqual(out, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: { b: '2' } }, spec: { containers: [{ name: 'a', image: 'x' }] } });
});

test('$patch: replace replaces a map and, as a list element, the whole list', () => {
  const base = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: { a: '1' } }, spec: { containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'y' }] } };
  const out = strategicMerge(base, {
    metadata: { labels: { $patch: 'replace', c: '3' } },
    spec: { containers: [{ $patch: 'replace' }, { name: 'c', image: 'z' }] },
  }, schemaForResource(base));
  assert.deepEqual(out, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: { c: '3' } }, spec: { containers: [{ name: 'c', image: 'z' }] } });
});

test('lists without a merge strategy are replaced (tolerations, args, CRD lists)', () => {
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { tolerations: [{ key: 'a' }], containers: [{ name: 'c', args: ['1', '2'] }] } };
  assert.deepEqual(strategicMerge(pod, { spec: { tolerations: [{ key: 'b' }], containers: [{ name: 'c', args: ['3'] }] } }, schemaForResource(pod)),
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { tolerations: [{ key: 'b' }], containers: [{ name: 'c', args: ['3'] }] } });
  const crd = { apiVersion: 'example.com/v1', kind: 'Widget', spec: { items: [{ name: 'a', v: 1 }] } };
  assert.equal(schemaForResource(crd), undefined);
  assert.deepEqual(strategicMerge(crd, { spec: { items: [{ name: 'b', v: 2 }] } }, undefined), { apiVersion: 'example.com/v1', kind: 'Widget', spec: { items: [{ name: 'b', v: 2 }] } });
});

test('env merges by name, ports by containerPort, volumeMounts by mountPath, finalizers by value', () => {
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', finalizers: ['a'] }, spec: { containers: [{
    name: 'c', env: [{ name: 'X', value: '1' }], ports: [{ containerPort: 80, name: 'http' }], volumeMounts: [{ mountPath: '/a', name: 'v1' }],
  }] } };
  const out = strategicMerge(pod, { metadata: { finalizers: ['b', 'a'] }, spec: { containers: [{
    name: 'c', env: [{ name: 'Y', value: '2' }, { name: 'X', value: '3' }], ports: [{ containerPort: 80, protocol: 'TCP' }], volumeMounts: [{ mountPath: '/a', readOnly: true }],
  }] } }, schemaForResource(pod));
  assert.deepEqual(out, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', finalizers: ['b', 'a'] }, spec: { containers: [{
    name: 'c', env: [{ name: 'Y', value: '2' }, { name: 'X', value: '3' }], ports: [{ containerPort: 80, name: 'http', protocol: 'TCP' }],
    volumeMounts: [{ mountPath: '/a', name: 'v1', readOnly: true }],
  }] } });
});

test('a map patched onto a scalar is an error, as in kyaml', () => {
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } };
  assert.throws(() => strategicMerge(pod, { metadata: { name: { a: 1 } } }, schemaForResource(pod)), StrategicMergeError);
  assert.throws(() => strategicMerge(pod, { metadata: { labels: { $patch: 'bogus' } } }, schemaForResource(pod)), /unknown patch strategy/);
});
