import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatPatternPath, validatePattern, type PatternOutcome } from '../../engine/pattern';

// Cases ported from kyverno pkg/engine/validate/validate_test.go. Kyverno's tests call
// validateMap/validateResourceElement and check the returned path string; here the same
// facts are checked through validatePattern, whose path renders to that string.

const statefulSet = (container: Record<string, unknown>) => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name: 'game-web', labels: { originalLabel: 'isHere' } },
  spec: {
    selector: { matchLabels: { app: 'nginxo' } },
    serviceName: 'nginxo',
    replicas: 3,
    template: {
      metadata: { labels: { app: 'nginxo' } },
      spec: {
        terminationGracePeriodSeconds: 10,
        containers: [
          {
            name: 'nginxo',
            image: 'registry.k8s.io/nginx-but-no-slim:0.8',
            ports: [{ containerPort: 8780, name: 'webp' }],
            volumeMounts: [{ name: 'www', mountPath: '/usr/share/nginxo/html' }],
            ...container,
          },
        ],
      },
    },
    volumeClaimTemplates: [
      {
        metadata: { name: 'www' },
        spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'my-storage-class', resources: { requests: { storage: '1Gi' } } },
      },
    ],
  },
});

const memoryDeployment = (requests: unknown) => ({
  pattern: {
    spec: { containers: [{ name: '*', resources: { requests: { memory: requests }, limits: { memory: '2048Mi' } } }] },
  },
  resource: {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'nginx-deployment', labels: { app: 'nginx' } },
    spec: { containers: [{ name: 'nirmata', resources: { requests: { memory: '1024Mi' }, limits: { memory: '2048Mi' } } }] },
  },
});

function failPath(o: PatternOutcome): string | null {
  return o.status === 'fail' ? formatPatternPath(o.path) : null;
}

test('pattern resource: TestValidateMap (deployment with operators and wildcards)', () => {
  const pattern = { spec: { template: { spec: { containers: [{ name: '?*', resources: { requests: { cpu: '<4|8' } } }] } } } };
  const resource = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'nginx-deployment', labels: { app: 'nginx' } },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'nginx' } },
      template: {
        metadata: { labels: { app: 'nginx' } },
        spec: {
          securityContext: { runAsNonRoot: true },
          containers: [
            {
              name: 'nginx',
              image: 'https://nirmata/nginx:latest',
              imagePullPolicy: 'Always',
              readinessProbe: { exec: { command: ['cat', '/tmp/healthy'] }, initialDelaySeconds: 5, periodSeconds: 10 },
              livenessProbe: { tcpSocket: { port: 8080 }, initialDelaySeconds: 15, periodSeconds: 11 },
              resources: { limits: { memory: '2Gi', cpu: 8 }, requests: { memory: '512Mi', cpu: '8' } },
              ports: [{ containerPort: 80 }],
            },
          ],
        },
      },
    },
  };
  assert.deepEqual(validatePattern(resource, pattern), { status: 'pass' });
});

test('pattern resource: asterisk matches ints, maps and arrays', () => {
  const containers = (c: unknown) => ({ spec: { template: { spec: { containers: c } } } });
  const withProbe = statefulSet({ livenessProbe: { periodSeconds: 11 } });
  assert.equal(validatePattern(withProbe, containers([{ name: '*', livenessProbe: { periodSeconds: '*' } }])).status, 'pass');
  assert.equal(validatePattern(withProbe, containers([{ name: '*', livenessProbe: '*' }])).status, 'pass');
  assert.equal(validatePattern(withProbe, containers('*')).status, 'pass');
});

test('pattern resource: asterisk on a null field fails at the parent path', () => {
  const o = validatePattern(
    statefulSet({ livenessProbe: null }),
    { spec: { template: { spec: { containers: [{ name: '*', livenessProbe: '*' }] } } } },
  );
  assert.equal(failPath(o), '/spec/template/spec/containers/0/');
  assert.equal(o.status === 'fail' && o.message, '/spec/template/spec/containers/0//livenessProbe not found');
});

test('pattern resource: null pattern accepts null and absent fields', () => {
  const pattern = { spec: { template: { spec: { containers: [{ name: '*', livenessProbe: null }] } } } };
  assert.equal(validatePattern(statefulSet({ livenessProbe: null }), pattern).status, 'pass');
  assert.equal(validatePattern(statefulSet({}), pattern).status, 'pass');
  assert.equal(failPath(validatePattern(statefulSet({ livenessProbe: { periodSeconds: 1 } }), pattern)), '/spec/template/spec/containers/0/livenessProbe/');
});

test('pattern resource: existence anchor needs one matching item (TestValidateMapElement_TwoElementsInArrayOnePass)', () => {
  const pattern = { '^(list)': [{ '(name)': 'nirmata-*', object: [{ '(key1)': 'value*', key2: 'value*' }] }] };
  const resource = {
    list: [
      { name: 'nirmata-1', object: [{ key1: 'value1', key2: 'value2' }] },
      { name: 'nirmata-1', object: [{ key1: 'not_value', key2: 'not_value' }] },
    ],
  };
  assert.deepEqual(validatePattern(resource, pattern), { status: 'pass' });
});

test('pattern resource: arrays of maps with conditions (OneElementInArrayPass / NotPass)', () => {
  const pattern = [{ '(name)': 'nirmata-*', object: [{ '(key1)': 'value*', key2: 'value*' }] }];
  assert.equal(validatePattern([{ name: 'nirmata-1', object: [{ key1: 'value1', key2: 'value2' }] }], pattern).status, 'pass');
  const o = validatePattern([{ name: 'nirmata-1', object: [{ key1: 'value5', key2: '1value1' }] }], pattern);
  assert.equal(failPath(o), '/0/object/0/key2/');
  assert.equal(o.status === 'fail' && o.message, "resource value '1value1' does not match 'value*' at path /0/object/0/key2/");
});

test('pattern resource: unsubstituted references are plain strings and fail', () => {
  // TestValidateMap_RelativePathDoesNotExists, _OnlyAnchorsInPath, _MalformedReferenceOnlyDolarMark,
  // _MalformedPath, _AbosolutePathDoesNotExists: without substitution the value must equal the text.
  for (const ref of ['$(./../somekey/somekey2/memory)', '$()', '$', '$(>2048)', '$(<=/some/memory)']) {
    const { pattern, resource } = memoryDeployment(ref);
    assert.equal(failPath(validatePattern(resource, pattern)), '/spec/containers/0/resources/requests/memory/', ref);
  }
  // The substituted form of the passing reference cases compares as quantities.
  const { pattern, resource } = memoryDeployment('<=2048Mi');
  assert.equal(validatePattern(resource, pattern).status, 'pass');
});

test('pattern resource: conditional anchor on a list item (TestValidateMap_AbsolutePathToMetadata)', () => {
  const resource = { spec: { containers: [{ name: 'kyverno', image: 'kyverno.io/test:latest' }] } };
  assert.equal(validatePattern(resource, { spec: { containers: [{ '(name)': 'kyverno', image: 'kyverno.io*' }] } }).status, 'pass');
  // _fail: condition holds, image does not match.
  const o = validatePattern(
    { metadata: { labels: { app: 'nirmata*' } }, spec: { containers: [{ name: 'nirmata', image: 'nginx' }] } },
    { metadata: { labels: { app: 'nirmata*' } }, spec: { containers: [{ '(name)': 'nirmata*', image: 'nirmata.io*' }] } },
  );
  assert.equal(failPath(o), '/spec/containers/0/image/');
});

test('pattern resource: wildcard keys in metadata labels/annotations (TestValidateMapWildcardKeys)', () => {
  const cases: Array<[string, unknown, unknown, string | null]> = [
    ['1', { metadata: { annotations: { 'test/*': 'value1' } } }, { metadata: { annotations: { 'test/bar': 'value1' } } }, null],
    ['2', { metadata: { annotations: { 'test/b??': 'v*' } } }, { metadata: { annotations: { 'test/bar': 'value1' } } }, null],
    ['3', {}, { metadata: { annotations: { 'test/bar': 'value1' } } }, null],
    ['4', { metadata: { annotations: { 'test/b??': 'v*' } } }, { metadata: { labels: { 'test/bar': 'value1' } } }, '/metadata/annotations/'],
    ['5', { metadata: { labels: { '*/test': 'foo' } } }, { metadata: { labels: { 'foo/test': 'foo' } } }, null],
    ['6', { metadata: { labels: { 'foo/a*': 'bar' } } }, { metadata: { labels: { 'foo/aa?': 'bar', 'foo/789': 'bar' } } }, null],
    ['7', { metadata: { labels: { 'foo/ABC*': 'bar' } } }, { metadata: { labels: { 'foo/AB?': 'bar', 'foo/ABC': 'bar2' } } }, '/metadata/labels/foo/ABC/'],
    ['8', { '=(metadata)': { '=(labels)': { 'foo/P*': 'bar', 'foo/Q*': 'bar2' } } }, { metadata: { labels: { 'foo/PQR': 'bar', 'foo/QR': 'bar2' } } }, null],
    ['9', { metadata: { labels: { 'foo/1*': 'bar' } } }, { metadata: { labels: { 'foo/123': 'bar222' } } }, '/metadata/labels/foo/123/'],
    ['10', { metadata: { labels: { 'foo/X*': 'bar', 'foo/A*': 'bar2' } } }, { metadata: { labels: { 'foo/XYZ': 'bar' } } }, '/metadata/labels/foo/A*/'],
    ['11', { '=(metadata)': { '=(labels)': { 'foo/1*': 'bar', 'foo/4*': 'bar2' } } }, { metadata: { labels: { 'foo/123': 'bar' } } }, '/metadata/labels/foo/4*/'],
  ];
  for (const [name, pattern, resource, path] of cases) {
    const o = validatePattern(resource, pattern);
    if (path === null) assert.equal(o.status, 'pass', name);
    else assert.equal(failPath(o), path, name);
  }
  // The pattern itself is left untouched.
  const pattern = { metadata: { labels: { 'foo/a*': 'bar' } } };
  validatePattern({ metadata: { labels: { 'foo/ab': 'bar' } } }, pattern);
  assert.deepEqual(pattern, { metadata: { labels: { 'foo/a*': 'bar' } } });
});

test('pattern resource: structure mismatches', () => {
  const m = validatePattern({ spec: 'x' }, { spec: { a: 1 } });
  assert.deepEqual(m, {
    status: 'fail',
    path: ['spec'],
    message: 'pattern and resource have different structures. Path: /spec/. Expected map[string]interface {}, found string',
  });
  const a = validatePattern({ spec: { list: { a: 1 } } }, { spec: { list: [{ a: 1 }] } });
  assert.equal(a.status === 'fail' && a.message, 'validation rule failed at path /spec/list/, resource does not satisfy the expected overlay pattern');
  const missing = validatePattern({}, { spec: { a: 1 } });
  assert.equal(missing.status === 'fail' && missing.message, 'pattern and resource have different structures. Path: /spec/. Expected map[string]interface {}, found <nil>');
  const e = validatePattern({ list: [1] }, { list: [] });
  assert.deepEqual(e, { status: 'fail', path: ['list'], message: 'pattern Array empty' });
});

test('pattern resource: scalar list patterns use their first item against every element', () => {
  assert.equal(validatePattern({ args: ['--a', '--b'] }, { args: ['--*'] }).status, 'pass');
  const o = validatePattern({ args: ['--a', 'b'] }, { args: ['--*', 'ignored'] });
  assert.equal(o.status === 'fail' && o.message, "resource value '[--a b]' does not match '--*' at path /args/");
  // A scalar pattern against a list resource also applies to every element.
  assert.equal(validatePattern({ ports: [80, 443] }, { ports: '>0' }).status, 'pass');
});

test('pattern resource: nested lists match by position; short resource lists error without a path', () => {
  assert.equal(validatePattern({ m: [[1], [2, 2], [9]] }, { m: [[1], [2]] }).status, 'pass');
  assert.equal(failPath(validatePattern({ m: [[1], [2, 3]] }, { m: [[1], [2]] })), '/m/1/');
  assert.deepEqual(validatePattern({ m: [[1]] }, { m: [[1], [2]] }), {
    status: 'error',
    message: 'validate Array failed, array length mismatch, resource Array len is 1 and pattern Array len is 2',
  });
});

test('pattern resource: messages print values as Go does', () => {
  const int = validatePattern({ replicas: 3 }, { replicas: 1000000 });
  assert.equal(int.status === 'fail' && int.message, "resource value '3' does not match '1e+06' at path /replicas/");
  const map = validatePattern({ a: { z: 1, b: [true, null] } }, { a: 'x' });
  assert.equal(map.status === 'fail' && map.message, "resource value 'map[b:[true <nil>] z:1]' does not match 'x' at path /a/");
  const nil = validatePattern({}, { a: 'x' });
  assert.equal(nil.status === 'fail' && nil.message, "resource value '<nil>' does not match 'x' at path /a/");
});
