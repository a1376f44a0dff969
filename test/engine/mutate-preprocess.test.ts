// Anchor preprocessing of patchStrategicMerge overlays, ported from Kyverno's
// pkg/engine/mutate/patch/strategicPreprocessing_test.go (Test_preProcessStrategicMergePatch_multipleAnchors).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { preprocessOverlay, ConditionError, GlobalConditionError } from '../../engine/mutate/preprocess';

interface Case { name: string; overlay: unknown; resource: unknown; expected: unknown }

const pod = (spec: unknown, metadata: unknown = { name: 'hello' }) => ({ apiVersion: 'v1', kind: 'Pod', metadata, spec });

const cases: Case[] = [
  {
    name: 'add-if-not-present with a passing global anchor on a list element',
    overlay: { metadata: { annotations: { '+(cluster-autoscaler.kubernetes.io/safe-to-evict)': 'true' } }, spec: { volumes: [{ '<(emptyDir)': {} }] } },
    resource: pod({ containers: [{ name: 'web', image: '1nginx' }], volumes: [{ emptyDir: {}, name: 'cache-volume' }, { secret: { secretName: 'default-token-6gplg' }, name: 'default-token-6gplg' }] }, { name: 'static-web', labels: { role: 'myrole' } }),
    expected: { metadata: { annotations: { 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'true' } } },
  },
  {
    name: 'a null value is kept',
    overlay: { metadata: null },
    resource: pod({ containers: [{ name: 'hello', image: 'busybox' }] }),
    expected: { metadata: null },
  },
  {
    name: 'a conditional element is re-targeted to the matching resource element by name',
    overlay: { spec: { containers: [{ '(name)': '*', image: 'gcr.io/google-containers/busybox:latest' }], imagePullSecrets: [{ name: 'regcred' }] } },
    resource: pod({ containers: [{ name: 'hello', image: 'busybox' }] }),
    expected: { spec: { containers: [{ name: 'hello', image: 'gcr.io/google-containers/busybox:latest' }], imagePullSecrets: [{ name: 'regcred' }] } },
  },
  {
    name: 'several conditions on one element, plain fields inserted',
    overlay: { spec: { containers: [{ '(name)': '*', '(image)': 'gcr.io/google-containers/busybox:*', new_filed: 'must be inserted' }], imagePullSecrets: [{ name: 'regcred' }] } },
    resource: pod({ containers: [{ name: 'hello', image: 'gcr.io/google-containers/busybox:latest' }] }, { name: 'hello2' }),
    expected: { spec: { containers: [{ name: 'hello', new_filed: 'must be inserted' }], imagePullSecrets: [{ name: 'regcred' }] } },
  },
  {
    name: 'an element made only of conditions disappears (exact image)',
    overlay: { spec: { containers: [{ '(image)': 'gcr.io/google-containers/busybox:latest' }], imagePullSecrets: [{ name: 'regcred' }] } },
    resource: pod({ containers: [{ name: 'hello', image: 'gcr.io/google-containers/busybox:latest' }] }, { name: 'hello2' }),
    expected: { spec: { imagePullSecrets: [{ name: 'regcred' }] } },
  },
  {
    name: 'an element made only of conditions disappears (wildcard image)',
    overlay: { spec: { containers: [{ '(image)': 'gcr.io/google-containers/busybox:*' }], imagePullSecrets: [{ name: 'regcred' }] } },
    resource: pod({ containers: [{ name: 'hello', image: 'gcr.io/google-containers/busybox:latest' }] }, { name: 'hello2' }),
    expected: { spec: { imagePullSecrets: [{ name: 'regcred' }] } },
  },
  {
    name: 'only some resource elements satisfy the condition',
    overlay: { spec: { containers: [{ '(image)': 'gcr.io/google-containers/busybox:*' }], imagePullSecrets: [{ name: 'regcred' }] } },
    resource: pod({ containers: [
      { name: 'hello', image: 'gcr.io/google-containers/busybox:latest' },
      { name: 'hello2', image: 'gcr.io/google-containers/busybox:latest' },
      { name: 'hello3', image: 'gcr.io/google-containers/nginx:latest' },
    ] }),
    expected: { spec: { imagePullSecrets: [{ name: 'regcred' }] } },
  },
  {
    name: 'global anchor passes: add-if-not-present keys are added, the anchored element dropped',
    overlay: { metadata: { annotations: { '+(cluster-autoscaler.kubernetes.io/safe-to-evict)': true }, labels: { '+(add-labels)': 'add' } }, spec: { volumes: [{ '<(hostPath)': { path: '*' } }] } },
    resource: { kind: 'Pod', apiVersion: 'v1', metadata: { name: 'nginx' }, spec: {
      containers: [{ name: 'nginx', image: 'nginx:latest', imagePullPolicy: 'Never', volumeMounts: [{ mountPath: '/cache', name: 'cache-volume' }] }],
      volumes: [{ name: 'cache-volume', hostPath: { path: '/data', type: 'Directory' } }],
    } },
    expected: { metadata: { annotations: { 'cluster-autoscaler.kubernetes.io/safe-to-evict': true }, labels: { 'add-labels': 'add' } } },
  },
  {
    name: 'add-if-not-present of an existing key leaves nothing',
    overlay: { metadata: { annotations: { '+(cluster-autoscaler.kubernetes.io/safe-to-evict)': true } }, spec: { volumes: [{ '<(hostPath)': { path: '*' } }] } },
    resource: { kind: 'Pod', apiVersion: 'v1', metadata: { name: 'nginx', annotations: { 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false' } }, spec: {
      containers: [{ name: 'nginx', image: 'nginx:latest' }],
      volumes: [{ name: 'cache-volume', hostPath: { path: '/data', type: 'Directory' } }],
    } },
    expected: {},
  },
  {
    name: 'every annotation already present',
    overlay: { metadata: { annotations: {
      '+(alb.ingress.kubernetes.io/backend-protocol)': 'HTTPS', '+(alb.ingress.kubernetes.io/healthcheck-protocol)': 'HTTPS',
      '+(alb.ingress.kubernetes.io/scheme)': 'internal', '+(alb.ingress.kubernetes.io/target-type)': 'ip', '+(kubernetes.io/ingress.class)': 'alb',
    } } },
    resource: { apiVersion: 'extensions/v1beta1', kind: 'Ingress', metadata: { name: 'argocd', namespace: 'default', annotations: {
      'alb.ingress.kubernetes.io/backend-protocol': 'HTTPS', 'alb.ingress.kubernetes.io/healthcheck-protocol': 'HTTPS',
      'alb.ingress.kubernetes.io/scheme': 'internal', 'alb.ingress.kubernetes.io/target-type': 'ip',
      'external-dns.alpha.kubernetes.io/hostname': 'argo', 'kubernetes.io/ingress.class': 'test',
    } } },
    expected: {},
  },
  {
    name: 'add-if-not-present inside a conditional element',
    overlay: { spec: { template: { spec: { containers: [{ '(name)': '*', resources: { limits: { '+(memory)': '300Mi', '+(cpu)': '100' } } }] } } } },
    resource: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'qos-demo' }, spec: { replicas: 1, template: { metadata: { labels: { app: 'nginx' } }, spec: {
      containers: [{ name: 'nginx', image: 'nginx:latest', resources: { limits: { cpu: '50m' } } }],
    } } } },
    expected: { spec: { template: { spec: { containers: [{ resources: { limits: { memory: '300Mi' } }, name: 'nginx' }] } } } },
  },
  {
    name: 'a conditional key holding a list, and a conditional element',
    overlay: {
      metadata: { annotations: { '+(annotation1)': 'atest1', '+(annotation2)': 'atest2' }, labels: { '+(label1)': 'test1' } },
      spec: { '(volumes)': [{ '(hostPath)': { path: '/var/run/docker.sock' } }], containers: [{ '(image)': '*:latest', command: ['ls'], imagePullPolicy: 'Always' }] },
    },
    resource: { apiVersion: 'v1', kind: 'Pod', metadata: { annotations: { annotation1: 'atest2' }, labels: { label1: 'test2', label2: 'test2' }, name: 'check-root-user' }, spec: {
      containers: [{ command: ['ll'], image: 'nginx:latest', imagePullPolicy: 'Never', name: 'nginx' }, { image: 'busybox:latest', imagePullPolicy: 'Never', name: 'busybox' }],
      volumes: [{ hostPath: { path: '/var/run/docker.sock' }, name: 'test-volume' }],
    } },
    expected: { metadata: { annotations: { annotation2: 'atest2' } }, spec: { containers: [
      { command: ['ls'], imagePullPolicy: 'Always', name: 'nginx' },
      { command: ['ls'], imagePullPolicy: 'Always', name: 'busybox' },
    ] } },
  },
  {
    name: 'a null value to delete is kept',
    overlay: { metadata: { annotations: { annotation1: null } } },
    resource: { apiVersion: 'v1', kind: 'Pod', metadata: { annotations: { annotation1: 'atest2' }, name: 'check-root-user' } },
    expected: { metadata: { annotations: { annotation1: null } } },
  },
  {
    name: 'a global anchor nested in a list element',
    overlay: { metadata: { annotations: { '+(cluster-autoscaler.kubernetes.io/safe-to-evict)': true } }, spec: { volumes: [{ hostPath: { '<(path)': '*data' } }] } },
    resource: { kind: 'Pod', apiVersion: 'v1', metadata: { name: 'nginx' }, spec: { volumes: [{ name: 'cache-volume', hostPath: { path: '/data', type: 'Directory' } }] } },
    expected: { metadata: { annotations: { 'cluster-autoscaler.kubernetes.io/safe-to-evict': true } } },
  },
  {
    name: 'conditional elements in two lists',
    overlay: { spec: { securityContext: { runAsNonRoot: true }, initContainers: [{ '(name)': '*', securityContext: { runAsNonRoot: true } }], containers: [{ '(name)': '*', securityContext: { runAsNonRoot: true } }] } },
    resource: { spec: { initContainers: [{ name: 'initbusy', image: 'busybox:1.28', command: ['sleep', '9999'] }], containers: [{ image: 'busybox:1.28', name: 'busybox', command: ['sleep', '9999'] }] } },
    expected: { spec: { securityContext: { runAsNonRoot: true }, initContainers: [{ name: 'initbusy', securityContext: { runAsNonRoot: true } }], containers: [{ name: 'busybox', securityContext: { runAsNonRoot: true } }] } },
  },
];

for (const c of cases) {
  test(`preprocess: ${c.name}`, () => {
    const overlay = structuredClone(c.overlay);
    preprocessOverlay(overlay, c.resource);
    assert.deepEqual(overlay, c.expected);
  });
}

test('preprocess: a failing condition in a map is a ConditionError', () => {
  const overlay = { metadata: { '(name)': 'other', labels: { a: 'b' } } };
  assert.throws(() => preprocessOverlay(overlay, { metadata: { name: 'mine' } }), ConditionError);
});

test('preprocess: a condition on a missing key fails with Kyverno\'s wording', () => {
  assert.throws(() => preprocessOverlay({ spec: { '(hostNetwork)': true, dnsPolicy: 'x' } }, { spec: {} }), /could not found "hostNetwork" key in the resource/);
});

test('preprocess: a global anchor no list element satisfies is a GlobalConditionError', () => {
  const overlay = { metadata: { labels: { x: 'y' } }, spec: { containers: [{ '<(image)': '*:latest' }] } };
  const resource = pod({ containers: [{ name: 'a', image: 'nginx:1.0' }, { name: 'b', image: 'redis:6' }] });
  assert.throws(() => preprocessOverlay(overlay, resource), GlobalConditionError);
});

test('preprocess: equality anchors are not mutation anchors and stay literal', () => {
  const overlay = { metadata: { labels: { '=(team)': 'a' } } };
  preprocessOverlay(overlay, { metadata: { labels: { team: 'b' } } });
  assert.deepEqual(overlay, { metadata: { labels: { '=(team)': 'a' } } });
});
