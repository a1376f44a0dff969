/**
 * Kyverno's configuration as the engine reads it (engine/core/configuration.ts): the ConfigMap's
 * defaultRegistry and enableDefaultRegistryMutation change how image references are read (the
 * `images` variable, image_normalize, Pod Security images), and maxContextSize the context size
 * limit, whose error is Kyverno's. Each test puts Kyverno's defaults back.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { applyPolicy } from '../../engine/apply';
import type { AdmissionRequest, ClusterState, JsonObject } from '../../engine/core/types';
import { configureEngine, DEFAULT_ENGINE_CONFIGURATION, engineConfiguration } from '../../engine/core/configuration';
import { getImageInfo, ImageReferenceError } from '../../engine/images/image-info';
import { jmesSearch } from '../../engine/jmespath';

afterEach(() => configureEngine());

const DIGEST = 'sha256:dead07b4d8ed7e29e98de0f4504d87e8880d4347859d839686a31da35a3b532f';
const cluster = (): ClusterState => ({ resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] });
const podWith = (image: string): JsonObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'shop' }, spec: { containers: [{ name: 'app', image }] } });
const create = (object: JsonObject): AdmissionRequest => ({ operation: 'CREATE', object, oldObject: null, requestInfo: { roles: [], clusterRoles: [], userInfo: {} } });
const configured = (over: Partial<typeof DEFAULT_ENGINE_CONFIGURATION>) => configureEngine({ ...DEFAULT_ENGINE_CONFIGURATION, ...over });

test("GetImageInfo under the configuration: Kyverno's infos_test.go cases with a default registry and without mutation", () => {
  configured({ defaultRegistry: 'gcr.io' });
  assert.equal(getImageInfo('test/nginx').registry, 'gcr.io');
  assert.equal(getImageInfo('test/nginx').reference, 'gcr.io/test/nginx:latest');
  assert.equal(getImageInfo('docker.io/test/nginx:v10.4').registry, 'docker.io', 'a reference naming its registry keeps it');
  configured({ defaultRegistry: 'gcr.io', enableDefaultRegistryMutation: false });
  const bare = getImageInfo('test/nginx');
  assert.deepEqual(bare, { name: 'nginx', path: 'test/nginx', tag: 'latest', reference: 'test/nginx:latest', referenceWithTag: 'test/nginx:latest' }, 'no registry field at all (omitempty)');
  assert.equal(getImageInfo('myregistry.org/test/nginx:v10.3').registry, 'myregistry.org', 'without mutation a registry written stays');
  assert.equal(getImageInfo(`nginx@${DIGEST}`).reference, `nginx@${DIGEST}`);
  // Kyverno's quirk without a registry: a first segment with `_` becomes the registry, after the reference was made.
  const underscore = getImageInfo('my_org/app:1');
  assert.equal(underscore.registry, 'my_org');
  assert.equal(underscore.path, 'app');
  assert.equal(underscore.reference, 'my_org/app:1');
  // A registry with a path (an ECR pull-through cache): the host is the registry, the rest joins the path.
  configured({ defaultRegistry: '123456789012.dkr.ecr.eu-west-3.amazonaws.com/docker' });
  const cached = getImageInfo('test/nginx:v10.3');
  assert.equal(cached.registry, '123456789012.dkr.ecr.eu-west-3.amazonaws.com');
  assert.equal(cached.path, 'docker/test/nginx');
  assert.equal(cached.reference, '123456789012.dkr.ecr.eu-west-3.amazonaws.com/docker/test/nginx:v10.3');
  // Kyverno's error names the configuration.
  configured({ defaultRegistry: 'gcr.io', enableDefaultRegistryMutation: false });
  assert.throws(() => getImageInfo('Bad Image'), (e: unknown) => e instanceof ImageReferenceError && /^bad image: gcr\.io\/Bad Image, defaultRegistry: gcr\.io, enableDefaultRegistryMutation: false: /.test((e as Error).message));
});

test('configureEngine keeps the same object for the same values (memos stay valid) and goes back to the defaults', () => {
  const before = engineConfiguration();
  configureEngine({ ...DEFAULT_ENGINE_CONFIGURATION });
  assert.equal(engineConfiguration(), before);
  configured({ maxContextSize: 10 });
  assert.equal(engineConfiguration().maxContextSize, 10);
  configureEngine();
  assert.deepEqual(engineConfiguration(), DEFAULT_ENGINE_CONFIGURATION);
});

test('the engine answers with the configured registry: the images variable and image_normalize', () => {
  const policy = {
    apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'registries' },
    spec: { validationFailureAction: 'Enforce', rules: [{
      name: 'allowed-registry', match: { any: [{ resources: { kinds: ['Pod'] } }] },
      validate: { message: 'image from {{ images.containers.app.registry || \'none\' }} as {{ image_normalize(request.object.spec.containers[0].image) }}', deny: { conditions: { any: [{ key: '{{ images.containers.app.registry || \'\' }}', operator: 'NotEquals', value: 'registry.corp' }] } } },
    }] },
  };
  const answer = () => applyPolicy(policy, { request: create(podWith('team/app:1.0')), cluster: cluster() }).rules[0];
  const before = answer();
  assert.equal(before.status, 'fail');
  assert.equal(before.message, 'image from docker.io as docker.io/team/app:1.0');
  configured({ defaultRegistry: 'registry.corp' });
  const after = answer();
  assert.equal(after.status, 'pass', 'the same Pod, read with the configured registry');
  configured({ defaultRegistry: 'registry.corp', enableDefaultRegistryMutation: false });
  const unmutated = answer();
  assert.equal(unmutated.status, 'fail');
  assert.equal(unmutated.message, 'image from none as team/app:1.0');
  assert.equal(jmesSearch("image_normalize('nginx')", {}), 'nginx:latest');
});

test("a context past maxContextSize is Kyverno's error; the limit follows the configuration, 0 lifts it", () => {
  const half = 'x'.repeat(600);
  const rule = {
    name: 'r', match: { any: [{ resources: { kinds: ['Pod'] } }] },
    context: [{ name: 'a', variable: { value: half } }, { name: 'b', variable: { value: half } }],
    validate: { message: 'm', deny: { conditions: { any: [{ key: '{{ length(b) }}', operator: 'Equals', value: 600 }] } } },
  };
  const policy = { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'p' }, spec: { rules: [rule] } };
  const run = () => applyPolicy(policy, { request: create(podWith('nginx')), cluster: cluster() }).rules[0];
  assert.equal(run().status, 'fail', 'under the default 2 MiB');
  configured({ maxContextSize: 1024 });
  const over = run();
  assert.equal(over.status, 'error');
  // Each entry is 602 bytes of JSON (Kyverno's len of the marshalled value): 1204 > 1024.
  assert.equal(over.message, 'failed to load context: context size limit exceeded: 1204 bytes exceeds limit of 1024 bytes');
  configured({ maxContextSize: 1204 });
  assert.equal(run().status, 'fail', 'exactly at the limit is within it');
  configured({ maxContextSize: 0 });
  assert.equal(run().status, 'fail');
});

test("verifyImages' digest patch names the image as the configuration reads it (Kyverno's makeAddDigestPatch on ImageInfo.String())", () => {
  const digest = `sha256:${'a'.repeat(64)}`;
  const pod = podWith('team/app:1');
  const policy = {
    apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'pin' },
    spec: { rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['Pod'] } }] }, verifyImages: [{ imageReferences: ['*'], mutateDigest: true, verifyDigest: false, required: false }] }] },
  };
  const patchedImage = (reference: string) => {
    const state = { ...cluster(), imageRegistry: { images: { [reference]: { digest, signatures: [] } } } };
    const response = applyPolicy(policy, { request: create(pod), cluster: state, phases: ['verifyImages'] });
    assert.equal(response.rules[0]?.status, 'pass', response.rules[0]?.message);
    return ((response.patchedResource?.spec as JsonObject).containers as JsonObject[])[0].image;
  };
  assert.equal(patchedImage('docker.io/team/app:1'), `docker.io/team/app:1@${digest}`);
  configured({ defaultRegistry: 'mirror.corp' });
  assert.equal(patchedImage('mirror.corp/team/app:1'), `mirror.corp/team/app:1@${digest}`);
  configured({ enableDefaultRegistryMutation: false });
  assert.equal(patchedImage('team/app:1'), `team/app:1@${digest}`, 'without mutation the reference keeps no registry');
});
