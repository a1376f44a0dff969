import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatPatternPath, validatePattern } from '../../engine/pattern';

type Status = 'pass' | 'fail' | 'skip';

// kyverno pkg/engine/validate/validate_test.go TestConditionalAnchorWithMultiplePatterns and
// Test_global_anchor. Kyverno's helper asserts pass and skip outcomes only; "fail" rows are
// checked here too, and the five global-anchor rows it labels fail are skips by its handlers.
const P1 = `{"spec": {"containers": [{"name": "*","(image)": "*:latest | !*:*","imagePullPolicy": "!Always"}]}}`;
const TABLE: Array<[string, string, string, Status]> = [
 ['test-1', P1, `{"spec": {"containers": [{"name": "nginx","image": "nginx:1.2.3", "imagePullPolicy": "Always"}]}}`, 'skip'],
 ['test-2', P1, `{"spec": {"containers": [{"name": "nginx","image": "nginx:latest", "imagePullPolicy": "Always"}]}}`, 'fail'],
 ['test-3', P1, `{"spec": {"containers": [{"name": "nginx","image": "nginx", "imagePullPolicy": "Always"}]}}`, 'fail'],
 ['test-4', P1, `{"spec": {"containers": [{"name": "nginx","image": "nginx", "imagePullPolicy": "Never"}]}}`, 'pass'],
 ['test-5', P1, `{"spec": {"containers": [{"name": "nginx","image": "nginx:latest", "imagePullPolicy": "Never"}]}}`, 'pass'],
 ['test-6', P1, `{"spec": {"containers": [{"name": "nginx","image": "nginx:1.2.3", "imagePullPolicy": "Never"}]}}`, 'skip'],
 ['test-7', P1, `{"spec": {"containers": [{"name": "nginx","image": "nginx", "imagePullPolicy": "Always"},{"name": "busybox","image": "busybox:1.28", "imagePullPolicy": "Always"}]}}`, 'fail'],
 ['test-8', P1, `{"spec": {"containers": [{"name": "nginx","image": "nginx:latest", "imagePullPolicy": "Always"},{"name": "busybox","image": "busybox:1.28", "imagePullPolicy": "Always"}]}}`, 'fail'],
 ['test-9', P1, `{"spec": {"containers": [{"name": "nginx","image": "nginx:1.2.3", "imagePullPolicy": "Always"},{"name": "busybox","image": "busybox:1.28", "imagePullPolicy": "Always"}]}}`, 'skip'],
 ['test-10', P1, `{"spec": {"containers": [{"name": "nginx","image": "nginx", "imagePullPolicy": "Never"},{"name": "busybox","image": "busybox:1.28", "imagePullPolicy": "Always"}]}}`, 'pass'],
 ['test-11', P1, `{"spec": {"containers": [{"name": "nginx","image": "nginx:latest", "imagePullPolicy": "Never"},{"name": "busybox","image": "busybox:1.28", "imagePullPolicy": "Always"}]}}`, 'pass'],
 ['test-12', P1, `{"spec": {"containers": [{"name": "nginx","image": "nginx:1.2.3", "imagePullPolicy": "Never"},{"name": "busybox","image": "busybox:1.28", "imagePullPolicy": "Always"}]}}`, 'skip'],
 ['test-13', P1, `{"spec": {"containers": [{"name": "busybox","image": "busybox:1.28", "imagePullPolicy": "Always"},{"name": "nginx","image": "nginx", "imagePullPolicy": "Always"}]}}`, 'fail'],
 ['test-14', P1, `{"spec": {"containers": [{"name": "busybox","image": "busybox:1.28", "imagePullPolicy": "Always"},{"name": "nginx","image": "nginx:latest", "imagePullPolicy": "Always"}]}}`, 'fail'],
 ['test-15', P1, `{"spec": {"containers": [{"name": "busybox","image": "busybox:1.28", "imagePullPolicy": "Always"},{"name": "nginx","image": "nginx:1.2.3", "imagePullPolicy": "Always"}]}}`, 'skip'],
 ['test-16', P1, `{"spec": {"containers": [{"name": "busybox","image": "busybox:1.28", "imagePullPolicy": "Always"},{"name": "nginx","image": "nginx", "imagePullPolicy": "Never"}]}}`, 'pass'],
 ['test-17', P1, `{"spec": {"containers": [{"name": "busybox","image": "busybox:1.28", "imagePullPolicy": "Always"},{"name": "nginx","image": "nginx:latest", "imagePullPolicy": "Never"}]}}`, 'pass'],
 ['test-18', P1, `{"spec": {"containers": [{"name": "busybox","image": "busybox:1.28", "imagePullPolicy": "Always"},{"name": "nginx","image": "nginx:1.2.3", "imagePullPolicy": "Never"}]}}`, 'skip'],
 ['test-19', P1, `{"spec": {"containers": [{"name": "busybox","image": "busybox", "imagePullPolicy": "Always"},{"name": "nginx","image": "nginx", "imagePullPolicy": "Always"}]}}`, 'fail'],
 ['test-20', P1, `{"spec": {"containers": [{"name": "busybox","image": "busybox:latest", "imagePullPolicy": "Always"},{"name": "nginx","image": "nginx:latest", "imagePullPolicy": "Always"}]}}`, 'fail'],
 ['test-21', P1, `{"spec": {"containers": [{"name": "busybox","image": "busybox:1.2.3", "imagePullPolicy": "Always"},{"name": "nginx","image": "nginx:latest", "imagePullPolicy": "IfNotPresent"}]}}`, 'pass'],
 ['test-22', `{"spec": {"containers": [{"name": "*","(image)": "!*:* | *:latest","imagePullPolicy": "!Always"}]}}`, `{"spec": {"containers": [{"name": "nginx","image": "nginx:latest", "imagePullPolicy": "Always"}]}}`, 'fail'],
 ['test-23', `{"spec": {"containers": [{"name": "*","<(image)": "*:latest","imagePullPolicy": "!Always"}]}}`, `{"spec": {"containers": [{"name": "nginx","image": "nginx", "imagePullPolicy": "Always"}]}}`, 'skip'], // labelled fail (never asserted) in Kyverno; a failed global anchor skips
 ['test-24', `{"spec": {"containers": [{"name": "*","<(image)": "*:latest","imagePullPolicy": "!Always"}]}}`, `{"spec": {"containers": [{"name": "nginx","image": "nginx:latest", "imagePullPolicy": "Always"}]}}`, 'fail'],
 ['test-25', `{"spec": {"containers": [{"name": "*","<(image)": "nginx", "env": [{"<(name)": "foo", "<(value)": "bar" }],"imagePullPolicy": "!Always"}]}}`, `{"spec": {"containers": [{"name": "nginx","image": "nginx", "env": [{"name": "foo1", "value": "bar" }],"imagePullPolicy": "Always"}]}}`, 'skip'], // labelled fail (never asserted) in Kyverno; a failed global anchor skips
 ['test-26', `{"spec": {"containers": [{"name": "*","<(image)": "nginx", "env": [{"<(name)": "foo", "<(value)": "bar" }],"imagePullPolicy": "!Always"}]}}`, `{"spec": {"containers": [{"name": "nginx","image": "nginx", "env": [{"name": "foo", "value": "bar" }],"imagePullPolicy": "Always"}]}}`, 'fail'],
 ['test-27', `{"spec": {"containers": [{"name": "*", "env": [{"<(name)": "foo", "<(value)": "bar" }],"imagePullPolicy": "!Always"}]}}`, `{"spec": {"containers": [{"name": "nginx","image": "nginx", "env": [{"name": "foo1", "value": "bar" }],"imagePullPolicy": "Always"}]}}`, 'skip'], // labelled fail (never asserted) in Kyverno; a failed global anchor skips
 ['test-28', `{"spec": {"containers": [{"name": "*", "env": [{"<(name)": "foo", "<(value)": "bar" }],"imagePullPolicy": "!Always"}]}}`, `{"spec": {"containers": [{"name": "nginx","image": "nginx", "env": [{"name": "foo", "value": "bar" }],"imagePullPolicy": "IfNotpresent"}]}}`, 'pass'],
 ['test-29', `{"spec": {"containers": [{"name": "*", "env": [{"<(name)": "foo", "<(value)": "bar" }],"imagePullPolicy": "!Always"}]}}`, `{"spec": {"containers": [{"name": "nginx","image": "nginx", "env": [{"name": "foo", "value": "bar" }],"imagePullPolicy": "Always"}]}}`, 'fail'],
 ['test-30', `{"metadata": {"<(name)": "nginx"},"spec": {"imagePullSecrets": [{"name": "regcred"}]}}`, `{"metadata": {"name": "somename"},"spec": {"containers": [{"name": "nginx","image": "nginx:latest"}], "imagePullSecrets": [{"name": "cred"}]}}`, 'skip'], // labelled fail (never asserted) in Kyverno; a failed global anchor skips
 ['test-31', `{"metadata": {"<(name)": "nginx"},"spec": {"imagePullSecrets": [{"name": "regcred"}]}}`, `{"metadata": {"name": "nginx"},"spec": {"containers": [{"name": "nginx","image": "nginx:latest"}], "imagePullSecrets": [{"name": "cred"}]}}`, 'fail'],
 ['test-32', `{"metadata": {"labels": {"<(foo)": "bar"}},"spec": {"containers": [{"name": "nginx","image": "!*:latest"}]}}`, `{"metadata": {"name": "nginx","labels": {"foo": "bar"}},"spec": {"containers": [{"name": "nginx","image": "nginx"}]}}`, 'pass'],
 ['test-33', `{"metadata": {"labels": {"<(foo)": "bar"}},"spec": {"containers": [{"name": "nginx","image": "!*:latest"}]}}`, `{"metadata": {"name": "nginx","labels": {"foo": "bar"}},"spec": {"containers": [{"name": "nginx","image": "nginx:latest"}]}}`, 'fail'],
 ['test-34', `{"spec": {"containers": [{"name": "*","<(image)": "nginx"}],"imagePullSecrets": [{"name": "my-registry-secret"}]}}`, `{"spec": {"containers": [{"name": "nginx","image": "nginx"}], "imagePullSecrets": [{"name": "cred"}]}}`, 'fail'],
 ['test-35', `{"spec": {"containers": [{"name": "*","<(image)": "nginx"}],"imagePullSecrets": [{"name": "my-registry-secret"}]}}`, `{"spec": {"containers": [{"name": "nginx","image": "somepod"}], "imagePullSecrets": [{"name": "cred"}]}}`, 'skip'], // labelled fail (never asserted) in Kyverno; a failed global anchor skips
 ['test-36', `{"spec": {"containers": [{"name": "*","<(image)": "nginx"}],"imagePullSecrets": [{"name": "my-registry-secret"}]}}`, `{"spec": {"containers": [{"name": "nginx","image": "nginx"}], "imagePullSecrets": [{"name": "my-registry-secret"}]}}`, 'pass'],
 ['test-37', `{"metadata": {"labels": {"allow-docker": "true"}},"(spec)": {"(volumes)": [{"(hostPath)": {"path": "/var/run/docker.sock"}}]}}`, `{"metadata": {"labels": {"run": "nginx"},"name": "nginx"},"spec": {"containers": [{"image": "nginx","name": "nginx"}]}}`, 'skip'],
 ['test-38', `{"metadata": {"labels": {"allow-docker": "true"}},"(spec)": {"(volumes)": [{"(hostPath)": {"path": "/var/run/docker.sock"}}]}}`, `{"metadata": {"labels": {"run": "nginx"},"name": "nginx"},"spec": {"containers": [{"image": "nginx","name": "nginx"}],"volumes": [{"hostPath": {"path": "/var/run/docker.sock"}}]}}`, 'fail'],
 ['test-39', `{"metadata": {"labels": {"allow-docker": "true"}},"(spec)": {"(volumes)": [{"(hostPath)": {"path": "/var/run/docker.sock"}}]}}`, `{"metadata": {"labels": {"run": "nginx"},"name": "nginx"},"spec": {"containers": [{"image": "nginx","name": "nginx"}],"volumes": [{"hostPath": {"path": "/randome/value"}}]}}`, 'skip'],
 ['test-40', `{"metadata": {"labels": {"allow-docker": "true"}},"(spec)": {"(volumes)": [{"(hostPath)": {"path": "/var/run/docker.sock"}}]}}`, `{"metadata": {"labels": {"run": "nginx","allow-docker": "true"},"name": "nginx"},"spec": {"containers": [{"image": "nginx","name": "nginx"}],"volumes": [{"hostPath": {"path": "/var/run/docker.sock"}}]}}`, 'pass'],
 ['test-41', `{"metadata": {"labels": {"allow-docker": "true"}},"(spec)": {"(volumes)": [{"(hostPath)": {"path": "/var/run/docker.sock"}}]}}`, `{"metadata": {"labels": {"run": "nginx","allow-docker": "false"},"name": "nginx"},"spec": {"containers": [{"image": "nginx","name": "nginx"}],"volumes": [{"hostPath": {"path": "/var/run/docker.sock"}}]}}`, 'fail'],
 ['test-42', `{"metadata": {"labels": {"allow-docker": "true"}},"(spec)": {"(volumes)": [{"(hostPath)": {"path": "/var/run/docker.sock"}}]}}`, `{"metadata": {"labels": {"run": "nginx"},"name": "nginx"},"spec": {"containers": [{"image": "nginx","name": "nginx"}],"volumes": [{"hostPath": {"path": "/var/run/docker.sock"}}]}}`, 'fail'],
 ['test-43', `{"spec": {"=(volumes)": [{"(name)": "!cache-volume","=(emptyDir)": {"sizeLimit": "?*"}}]}}`, `{"spec": {"volumes": [{"name": "cache-volume","emptyDir": {}}]}}`, 'skip'],
 ['test-44', `{"spec": {"=(initContainers)": [{"(name)": "!istio-init", "=(securityContext)": {"=(runAsUser)": ">0"}}], "=(containers)": [{"=(securityContext)": {"=(runAsUser)": ">0"}}]}}`, `{"spec": {"initContainers": [{"name": "nginx", "securityContext": {"runAsUser": 1000}}], "containers": [{"name": "nginx", "image": "nginx"}]}}`, 'pass'],
 ['test-45', `{"spec": {"=(initContainers)": [{"(name)": "!istio-init", "=(securityContext)": {"=(runAsUser)": ">0"}}], "=(containers)": [{"=(securityContext)": {"=(runAsUser)": ">0"}}]}}`, `{"spec": {"initContainers": [{"name": "nginx", "securityContext": {"runAsUser": 0}}], "containers": [{"name": "nginx", "image": "nginx"}]}}`, 'fail'],
 ['test-46', `{"spec": {"=(initContainers)": [{"(name)": "!istio-init", "=(securityContext)": {"=(runAsUser)": ">0"}}], "=(containers)": [{"=(securityContext)": {"=(runAsUser)": ">0"}}]}}`, `{"spec": {"initContainers": [{"name": "istio-init", "securityContext": {"runAsUser": 0}}], "containers": [{"securityContext": {"runAsUser": 1000}}]}}`, 'pass'],
 ['test-47', `{"spec": {"=(initContainers)": [{"(name)": "!istio-init", "=(securityContext)": {"=(runAsUser)": ">0"}}], "=(containers)": [{"=(securityContext)": {"=(runAsUser)": ">0"}}]}}`, `{"spec": {"initContainers": [{"name": "istio-init", "securityContext": {"runAsUser": 1000}}], "containers": [{"securityContext": {"runAsUser": 0}}]}}`, 'fail'],
 ['test-48', `{"spec": {"=(initContainers)": [{"(name)": "!istio-init", "=(securityContext)": {"=(runAsUser)": ">0"}}], "=(containers)": [{"=(securityContext)": {"=(runAsUser)": ">0"}}]}}`, `{"spec": {"containers": [{"securityContext": {"runAsUser": 1000}}]}}`, 'pass'],
 ['test-49', `{"spec": {"=(initContainers)": [{"(name)": "!istio-init", "=(securityContext)": {"=(runAsUser)": ">0"}}], "=(containers)": [{"=(securityContext)": {"=(runAsUser)": ">0"}}]}}`, `{"spec": {"containers": [{"securityContext": {"runAsUser": 0}}]}}`, 'fail'],
 ['test-50', `{"spec": {"=(initContainers)": [{"(name)": "!istio-init", "=(securityContext)": {"=(runAsUser)": ">0"}}], "=(containers)": [{"=(securityContext)": {"=(runAsUser)": ">0"}}]}}`, `{"spec": {"initContainers": [{"name": "istio-init", "securityContext": {"runAsUser": 0}}], "containers": [{"name": "nginx", "image": "nginx"}]}}`, 'pass'],
 ['test-51', `{"spec": {"=(volumes)": [{"(name)": "!credential-socket&!istio-data&!istio-envoy&!workload-certs&!workload-socket","=(emptyDir)": {"sizeLimit": "?*"}}]}}`, `{"spec": {"volumes": [{"name": "credential-socket","emptyDir": {"sizeLimit": "1Gi"}}]}}`, 'skip'],
 ['test-52', `{"spec": {"=(volumes)": [{"(name)": "!credential-socket&!istio-data&!istio-envoy&!workload-certs&!workload-socket","=(emptyDir)": {"sizeLimit": "?*"}}]}}`, `{"spec": {"volumes": [{"name": "cache-volume","emptyDir": {"sizeLimit": "1Gi"}}]}}`, 'pass'],
 ['test-53', `{"spec": {"=(volumes)": [{"(name)": "!credential-socket&!istio-data&!istio-envoy&!workload-certs&!workload-socket","=(emptyDir)": {"sizeLimit": "?*"}}]}}`, `{"spec": {"volumes": [{"name": "cache-volume"}]}}`, 'pass'],
 ['test-54', `{"spec": {"=(volumes)": [{"(name)": "!credential-socket&!istio-data&!istio-envoy&!workload-certs&!workload-socket","=(emptyDir)": {"sizeLimit": "?*"}}]}}`, `{"spec": {"volumes": [{"name": "cache-volume","emptyDir": {}}]}}`, 'fail'],
 ['check_global_anchor_skip', `{"spec": {"containers": [{"name": "*","<(image)": "*:latest","imagePullPolicy": "!Always"}]}}`, `{"spec": {"containers": [{"name": "nginx","image": "nginx:v1", "imagePullPolicy": "Always"}]}}`, 'skip'],
 ['check_global_anchor_fail', `{"spec": {"containers": [{"name": "*","<(image)": "*:latest","imagePullPolicy": "!Always"}]}}`, `{"spec": {"containers": [{"name": "nginx","image": "nginx:latest", "imagePullPolicy": "Always"}]}}`, 'fail'],
 ['check_global_anchor_pass', `{"spec": {"containers": [{"name": "*","<(image)": "*:latest","imagePullPolicy": "!Always"}]}}`, `{"spec": {"containers": [{"name": "nginx","image": "nginx:latest", "imagePullPolicy": "IfNotPresent"}]}}`, 'pass'],
 ['check_global_anchor_mixed', `{"spec": {"containers": [{"name": "*","<(image)": "*:latest","imagePullPolicy": "!Always"}]}}`, `{"spec": {"containers": [{"name": "nginx","image": "nginx:latest", "imagePullPolicy": "IfNotPresent"},{"name": "nginx","image": "nginx:v2", "imagePullPolicy": "IfNotPresent"}]}}`, 'pass'],
];

test('pattern anchors: Kyverno conditional/global anchor table', () => {
  for (const [name, pattern, resource, want] of TABLE) {
    assert.equal(validatePattern(JSON.parse(resource), JSON.parse(pattern)).status, want, name);
  }
});

test('pattern anchors: skip messages carry Kyverno wording', () => {
  const skip = validatePattern(
    { spec: { containers: [{ name: 'nginx', image: 'nginx:1.2.3', imagePullPolicy: 'Always' }] } },
    JSON.parse(P1),
  );
  assert.equal(skip.status, 'skip');
  assert.equal(
    skip.status === 'skip' && skip.message,
    "conditional anchor mismatch: resource value 'nginx:1.2.3' does not match '*:latest | !*:*' at path /spec/containers/0/image/",
  );
  // Several skipped items are joined as multierr does.
  const two = validatePattern(
    { spec: { containers: [{ image: 'a:1' }, { image: 'b:2' }] } },
    { spec: { containers: [{ '(image)': '*:latest', name: 'x' }] } },
  );
  assert.equal(
    two.status === 'skip' && two.message,
    "conditional anchor mismatch: resource value 'a:1' does not match '*:latest' at path /spec/containers/0/image/; " +
      "conditional anchor mismatch: resource value 'b:2' does not match '*:latest' at path /spec/containers/1/image/",
  );
  const missingKey = validatePattern({ spec: {} }, { spec: { '(hostNetwork)': true, x: 1 } });
  assert.deepEqual(missingKey, {
    status: 'skip',
    path: ['spec', 'hostNetwork'],
    message: "conditional anchor mismatch: conditional anchor key doesn't exist in the resource",
  });
});

test('pattern anchors: a failed condition on a map skips even when its siblings match', () => {
  const pattern = { metadata: { labels: { '(app)': 'web' }, name: 'x' } };
  assert.equal(validatePattern({ metadata: { labels: { app: 'db' }, name: 'x' } }, pattern).status, 'skip');
  assert.equal(validatePattern({ metadata: { labels: { app: 'web' }, name: 'x' } }, pattern).status, 'pass');
  assert.equal(validatePattern({ metadata: { labels: { app: 'web' }, name: 'y' } }, pattern).status, 'fail');
});

test('pattern anchors: a list whose items are all skipped does not skip siblings that applied', () => {
  const pattern = {
    spec: {
      '=(initContainers)': [{ '(name)': '!istio-init', '=(securityContext)': { '=(runAsUser)': '>0' } }],
      '=(containers)': [{ '=(securityContext)': { '=(runAsUser)': '>0' } }],
    },
  };
  const istio = { name: 'istio-init', securityContext: { runAsUser: 0 } };
  assert.equal(validatePattern({ spec: { initContainers: [istio], containers: [{ name: 'app' }] } }, pattern).status, 'pass');
  const onlyInit = { spec: { '=(initContainers)': pattern.spec['=(initContainers)'] } };
  assert.equal(validatePattern({ spec: { initContainers: [istio] } }, onlyInit).status, 'skip');
  // A failure met after a sibling whose items were all skipped fails the map: Kyverno's
  // validateMap hides a failure only behind a condition of the map itself (kyverno#8731;
  // chainsaw validate-pattern-should-fail).
  const skipFirst = {
    spec: {
      '=(initContainers)': [{ '(name)': '!istio-init' }],
      '=(volumes)': [{ name: 'ok' }],
    },
  };
  assert.equal(validatePattern({ spec: { initContainers: [istio], volumes: [{ name: 'bad' }] } }, skipFirst).status, 'fail');
  // A condition of the map itself still skips it, whatever fails beside it.
  const ownCondition = { spec: { '(hostNetwork)': true, '=(volumes)': [{ name: 'ok' }] } };
  assert.equal(validatePattern({ spec: { hostNetwork: false, volumes: [{ name: 'bad' }] } }, ownCondition).status, 'skip');
  // No anchor applied: the skipped child skips the map before its other keys are looked at.
  const onlySkipped = { spec: { '=(initContainers)': [{ '(name)': '!istio-init' }], volumes: [{ name: 'ok' }] } };
  assert.equal(validatePattern({ spec: { initContainers: [istio], volumes: [{ name: 'bad' }] } }, onlySkipped).status, 'skip');
});

test('pattern anchors: negation anchor', () => {
  const pattern = { spec: { 'X(hostPID)': 'null', containers: [{ name: '*' }] } };
  assert.equal(validatePattern({ spec: { containers: [{ name: 'a' }] } }, pattern).status, 'pass');
  const o = validatePattern({ spec: { hostPID: false, containers: [{ name: 'a' }] } }, pattern);
  assert.deepEqual(o, { status: 'fail', path: ['spec', 'hostPID'], message: 'negation anchor matched in resource: /spec/hostPID/ is not allowed' });
  // Present with null still counts as present.
  assert.equal(validatePattern({ spec: { hostPID: null, containers: [] } }, pattern).status, 'fail');
});

test('pattern anchors: equality anchor applies only when the key is present', () => {
  const pattern = { spec: { '=(securityContext)': { '=(runAsNonRoot)': true } } };
  assert.equal(validatePattern({ spec: {} }, pattern).status, 'pass');
  assert.equal(validatePattern({ spec: { securityContext: {} } }, pattern).status, 'pass');
  assert.equal(validatePattern({ spec: { securityContext: { runAsNonRoot: true } } }, pattern).status, 'pass');
  const o = validatePattern({ spec: { securityContext: { runAsNonRoot: false } } }, pattern);
  assert.equal(o.status === 'fail' && formatPatternPath(o.path), '/spec/securityContext/runAsNonRoot/');
});

test('pattern anchors: existence anchor', () => {
  const pattern = { spec: { '^(containers)': [{ image: 'nginx:*' }] } };
  assert.equal(validatePattern({ spec: { containers: [{ image: 'busybox' }, { image: 'nginx:1' }] } }, pattern).status, 'pass');
  const none = validatePattern({ spec: { containers: [{ image: 'busybox' }] } }, pattern);
  assert.deepEqual(none, {
    status: 'fail',
    path: ['spec', 'containers'],
    message: 'existence anchor validation failed at path /spec/containers/',
  });
  // Every map of the pattern list must find its own match.
  const both = { spec: { '^(containers)': [{ image: 'nginx:*' }, { image: 'redis:*' }] } };
  assert.equal(validatePattern({ spec: { containers: [{ image: 'nginx:1' }, { image: 'redis:7' }] } }, both).status, 'pass');
  assert.equal(validatePattern({ spec: { containers: [{ image: 'nginx:1' }] } }, both).status, 'fail');
  const notList = validatePattern({ spec: { containers: { image: 'x' } } }, pattern);
  assert.equal(
    notList.status === 'fail' && notList.message,
    'invalid resource type map[string]interface {}: Existence ^ () anchor can be used only on list/array type resource',
  );
  const badPattern = validatePattern({ spec: { containers: [] } }, { spec: { '^(containers)': 'x' } });
  assert.equal(badPattern.status === 'fail' && badPattern.message, 'invalid pattern type string: Pattern has to be of list to compare against resource');
});

test('pattern anchors: an anchor key absent from the whole resource turns a failure into an error', () => {
  // Kyverno's AnchorMap: the existence key never appears, so the later failure has no path.
  const o = validatePattern({ metadata: { name: 'bad' }, spec: {} }, { metadata: { name: 'good' }, spec: { '^(volumes)': [{ name: '*' }] } });
  assert.equal(o.status, 'error');
  assert.equal(o.status === 'error' && o.message, "resource value 'bad' does not match 'good' at path /metadata/name/");
  // Negation keys are expected to be absent and do not count.
  const n = validatePattern({ metadata: { name: 'bad' }, spec: {} }, { metadata: { name: 'good' }, spec: { 'X(hostPID)': null } });
  assert.equal(n.status, 'fail');
});

test('pattern anchors: global anchor skips the rule wherever it fails', () => {
  const pattern = { metadata: { labels: { '<(tier)': 'frontend' } }, spec: { replicas: '>1' } };
  assert.equal(validatePattern({ metadata: { labels: { tier: 'backend' } }, spec: { replicas: 1 } }, pattern).status, 'skip');
  assert.equal(validatePattern({ metadata: { labels: { tier: 'frontend' } }, spec: { replicas: 1 } }, pattern).status, 'fail');
  assert.equal(validatePattern({ metadata: { labels: { tier: 'frontend' } }, spec: { replicas: 2 } }, pattern).status, 'pass');
  // A global anchor whose key is absent does not apply.
  assert.equal(validatePattern({ metadata: { labels: {} }, spec: { replicas: 2 } }, pattern).status, 'pass');
});

test('pattern anchors: +() is a literal key in validate patterns', () => {
  assert.equal(validatePattern({ a: 1 }, { '+(a)': 1 }).status, 'fail');
  assert.equal(validatePattern({ '+(a)': 1 }, { '+(a)': 1 }).status, 'pass');
});

test('pattern anchors: inherited object properties are never treated as present', () => {
  assert.equal(validatePattern({}, { 'X(constructor)': null }).status, 'pass');
  assert.equal(validatePattern({}, { toString: '*' }).status, 'fail');
});

test('pattern anchors: hostile depth yields an error, not a crash', () => {
  let resource: unknown = 'leaf';
  let pattern: unknown = 'leaf';
  for (let i = 0; i < 20000; i++) {
    resource = { a: resource };
    pattern = { a: pattern };
  }
  const o = validatePattern(resource, pattern);
  assert.ok(o.status === 'pass' || o.status === 'error');
  const cyclic: Record<string, unknown> = { x: 1 };
  cyclic.self = cyclic;
  assert.equal(validatePattern(cyclic, cyclic).status, 'error');
});
