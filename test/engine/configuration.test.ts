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
    // Both entries are read (`all` evaluates every condition), so Kyverno's deferred loader loads both.
    validate: { message: 'm', deny: { conditions: { all: [{ key: '{{ length(a) }}', operator: 'Equals', value: 600 }, { key: '{{ length(b) }}', operator: 'Equals', value: 600 }] } } },
  };
  const policy = { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'p' }, spec: { rules: [rule] } };
  const run = () => applyPolicy(policy, { request: create(podWith('nginx')), cluster: cluster() }).rules[0];
  assert.equal(run().status, 'fail', 'under the default 2 MiB');
  configured({ maxContextSize: 1024 });
  const over = run();
  assert.equal(over.status, 'error');
  // Each entry is 602 bytes of JSON (Kyverno's len of the marshalled value): 1204 > 1024. The
  // deferred loader gives the error to the query that loads `b`.
  assert.equal(over.message, 'failed to check deny conditions: failed to substitute variables in condition key: failed to resolve length(b) at path : context size limit exceeded: 1204 bytes exceeds limit of 1024 bytes');
  // An entry no query names is never added (nor counted) by Kyverno's deferred loader.
  const readsB = { ...rule, validate: { message: 'm', deny: { conditions: { any: [{ key: '{{ length(b) }}', operator: 'Equals', value: 600 }] } } } };
  assert.equal(applyPolicy({ ...policy, spec: { rules: [readsB] } }, { request: create(podWith('nginx')), cluster: cluster() }).rules[0].status, 'fail');
  configured({ maxContextSize: 1204 });
  assert.equal(run().status, 'fail', 'exactly at the limit is within it');
  configured({ maxContextSize: 0 });
  assert.equal(run().status, 'fail');
});

test("the context size is the JSON context's: rules, foreach elements and a review's policies add up; the CLI's phases start afresh (Kyverno's contextSize, never reset by Checkpoint/Restore)", () => {
  configured({ maxContextSize: 1024 });
  const half = 'x'.repeat(600);
  const denyLength = (name: string) => ({ message: 'm', deny: { conditions: { any: [{ key: `{{ length(${name}) }}`, operator: 'Equals', value: 600 }] } } });
  const rule = (name: string, entry: string, extra: JsonObject = {}) => ({ name, match: { any: [{ resources: { kinds: ['Pod'] } }] }, context: [{ name: entry, variable: { value: half } }], ...extra });
  const policyOf = (name: string, ...rules: JsonObject[]) => ({ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name }, spec: { rules } });
  const request = create(podWith('nginx'));

  // Two rules of 602 bytes each: the second takes the policy's context to 1204 bytes.
  const twoRules = applyPolicy(policyOf('p', rule('first', 'a', { validate: denyLength('a') }), rule('second', 'b', { validate: denyLength('b') })), { request, cluster: cluster() });
  assert.deepEqual(twoRules.rules.map((r) => [r.name, r.status]), [['first', 'fail'], ['second', 'error']]);
  assert.equal(twoRules.rules[1].message, 'failed to check deny conditions: failed to substitute variables in condition key: failed to resolve length(b) at path : context size limit exceeded: 1204 bytes exceeds limit of 1024 bytes');

  // A foreach level's entries count again for every element (each element loads them anew).
  const pod = podWith('nginx');
  const twoContainers = { ...pod, spec: { containers: [{ name: 'one', image: 'nginx' }, { name: 'two', image: 'nginx' }] } };
  const perElement = {
    name: 'each', match: { any: [{ resources: { kinds: ['Pod'] } }] },
    validate: { message: 'm', foreach: [{ list: 'request.object.spec.containers', context: [{ name: 'e', variable: { value: half } }], deny: { conditions: { any: [{ key: '{{ length(e) }}', operator: 'Equals', value: 0 }] } } }] },
  };
  const oneElement = applyPolicy(policyOf('f', perElement), { request, cluster: cluster() });
  assert.equal(oneElement.rules[0].status, 'pass', 'one element: 602 bytes');
  const elements = applyPolicy(policyOf('f', perElement), { request: create(twoContainers), cluster: cluster() });
  assert.equal(elements.rules[0].status, 'error');
  assert.equal(elements.rules[0].message, 'validation failure: failed to check deny conditions: failed to substitute variables in condition key: failed to resolve length(e) at path : context size limit exceeded: 1204 bytes exceeds limit of 1024 bytes');

  // The rule's entries load again at every element's Reset and at the list's Restore
  // (deferredLoaders.Reset): 100 bytes of rule context and three elements count 100 × 5.
  configured({ maxContextSize: 499 });
  const threeContainers = { ...pod, spec: { containers: ['one', 'two', 'three'].map((name) => ({ name, image: 'nginx' })) } };
  const ruleEntry = (list: string) => ({
    name: 'reload', match: { any: [{ resources: { kinds: ['Pod'] } }] }, context: [{ name: 'r', variable: { value: 'y'.repeat(98) } }],
    preconditions: { all: [{ key: '{{ length(r) }}', operator: 'Equals', value: 98 }] },
    validate: { message: 'm', foreach: [{ list, deny: { conditions: { any: [{ key: '{{ length(r) }}', operator: 'Equals', value: 0 }] } } }] },
  });
  const reloadedOnce = (list: string) => {
    const validate = { bytes: 0 };
    const r = applyPolicy(policyOf('r', ruleEntry(list)), { request: create(threeContainers), cluster: cluster(), contextSizes: { validate } }).rules[0];
    return { status: r.status, bytes: validate.bytes };
  };
  assert.deepEqual(reloadedOnce('request.object.spec.containers[:2]'), { status: 'pass', bytes: 400 }, 'two elements: 100 + 2 resets + 1 restore');
  assert.deepEqual(reloadedOnce('request.object.spec.containers'), { status: 'pass', bytes: 400 }, 'the reload past the limit is only logged by Kyverno');
  configured({ maxContextSize: 1024 });

  // The CLI makes a policy context per phase: a mutate rule's entry does not count in validation.
  const mutateThenValidate = policyOf('m',
    rule('label', 'a', { mutate: { patchStrategicMerge: { metadata: { labels: { size: '{{ length(a) }}' } } } } }),
    rule('check', 'b', { validate: denyLength('b') }));
  assert.deepEqual(applyPolicy(mutateThenValidate, { request, cluster: cluster() }).rules.map((r) => [r.name, r.status]), [['label', 'pass'], ['check', 'fail']]);

  // The webhook evaluates a review's policies in one policy context: the second policy's entry is over.
  const validate = { bytes: 0 };
  const shared = [policyOf('one', rule('r', 'a', { validate: denyLength('a') })), policyOf('two', rule('r', 'b', { validate: denyLength('b') }))]
    .map((p) => applyPolicy(p, { request, cluster: cluster(), contextSizes: { validate } }).rules[0].status);
  assert.deepEqual(shared, ['fail', 'error']);
  assert.equal(validate.bytes, 602);
  const alone = [policyOf('one', rule('r', 'a', { validate: denyLength('a') })), policyOf('two', rule('r', 'b', { validate: denyLength('b') }))]
    .map((p) => applyPolicy(p, { request, cluster: cluster() }).rules[0].status);
  assert.deepEqual(alone, ['fail', 'fail'], 'without a shared context (the CLI) each policy has its own');
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

test("an entry past maxContextSize fails the query that loads it; later queries run without the error (Kyverno's loaders: HasLoaded, a global context entry's matched flag until the next Reset)", async () => {
  const { loadContextEntries } = await import('../../engine/context/entries');
  const { loadNamedEntries } = await import('../../engine/context/deferred');
  const { enterJsonContext, leaveJsonContext, foreachCheckpoint, foreachElementReset } = await import('../../engine/core/budget');
  configured({ maxContextSize: 1024 });
  const half = 'x'.repeat(600);
  const env = { cluster: { ...cluster(), globalContext: { g: half } }, provided: new Set<string>() };
  const json = { bytes: 0 };
  const outer = enterJsonContext(json);
  try {
    const { scope, error } = loadContextEntries([
      { name: 'a', variable: { value: half } }, { name: 'b', variable: { value: half } }, { name: 'g', globalReference: { name: 'g' } },
    ], { data: {} }, env);
    assert.equal(error, undefined);
    assert.equal(loadNamedEntries('a', scope.deferredEntries), undefined);
    const over = 'context size limit exceeded: 1204 bytes exceeds limit of 1024 bytes';
    // The variable loader stored its data before the size check: loaded from then on.
    assert.equal(loadNamedEntries('b', scope.deferredEntries), over);
    assert.equal(loadNamedEntries('b', scope.deferredEntries), undefined);
    // The global context loader did not: passed over until the next Reset (a foreach element's), then tried again.
    assert.equal(loadNamedEntries('g', scope.deferredEntries), `failed to add resource cache results for context entry g: ${over}`);
    assert.equal(loadNamedEntries('g', scope.deferredEntries), undefined);
    foreachCheckpoint();
    foreachElementReset();
    assert.match(loadNamedEntries('g', scope.deferredEntries) ?? '', /^failed to add resource cache results for context entry g: context size limit exceeded/);
    assert.equal(json.bytes, 602);
  } finally {
    leaveJsonContext(outer);
  }
});

test("apiCall and imageRegistry entries wait for a query like every kind (Kyverno's NewDeferredLoader), in their loader's words; the CLI's mocked calls count at once", async () => {
  const { loadContextEntries } = await import('../../engine/context/entries');
  const { loadNamedEntries } = await import('../../engine/context/deferred');
  configured({ maxContextSize: 1024 });
  const half = 'x'.repeat(600);
  // Answered from the cluster's resources (a fetch), or by a Test's apiCallResponses (a mock).
  const big = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big', namespace: 'shop' }, data: { v: half } };
  const call = (mock: boolean): ClusterState => mock
    ? { ...cluster(), apiCallResponses: [{ request: { urlPath: '/api/v1/namespaces/shop/configmaps/big' }, response: { body: big }, mock }] }
    : { ...cluster(), resources: [big] };
  const rule = (reads: string, jmesPath?: string) => ({
    name: 'r', match: { any: [{ resources: { kinds: ['Pod'] } }] },
    context: [{ name: 'a', variable: { value: half } }, { name: 'b', apiCall: { urlPath: '/api/v1/namespaces/shop/configmaps/big', ...(jmesPath ? { jmesPath } : {}) } }],
    validate: { message: 'm', deny: { conditions: { all: reads.split(',').map((n) => ({ key: `{{ length(${n}) }}`, operator: 'GreaterThan', value: 0 })) } } },
  });
  const run = (r: JsonObject, state: ClusterState) => applyPolicy({ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'p' }, spec: { rules: [r] } }, { request: create(podWith('nginx')), cluster: state }).rules[0];
  // Unread, the fetched answer never counts.
  assert.equal(run(rule('a'), call(false)).status, 'fail');
  const over = 'context size limit exceeded: 1204 bytes exceeds limit of 1024 bytes';
  const both = run(rule('a,b', 'data.v'), call(false));
  assert.equal(both.status, 'error', JSON.stringify(both));
  assert.equal(both.message, `failed to check deny conditions: failed to substitute variables in condition key: failed to resolve length(b) at path : failed to store data for APICall: failed to add APICall results for context entry b: ${over}`);
  assert.match(run(rule('a,b'), call(false)).message, /: failed to store data for APICall: failed to add resource data to context entry b: context size limit exceeded: \d+ bytes/);
  // A mock is added with the entries, read or not: `a` then finds the context full.
  const mocked = run(rule('a', 'data.v'), call(true));
  assert.equal(mocked.status, 'error', mocked.message);

  // A mock is no deferred loader: a foreach's resets do not add it again (a variable's would be, 100 × 4).
  const twoContainers = { ...podWith('nginx'), spec: { containers: [{ name: 'one', image: 'nginx' }, { name: 'two', image: 'nginx' }] } };
  const reloads = (entry: JsonObject) => {
    const validate = { bytes: 0 };
    const each = { name: 'each', match: { any: [{ resources: { kinds: ['Pod'] } }] }, context: [entry], preconditions: { all: [{ key: '{{ length(m) }}', operator: 'Equals', value: 98 }] }, validate: { message: 'm', foreach: [{ list: 'request.object.spec.containers', deny: { conditions: { any: [{ key: '{{ length(m) }}', operator: 'Equals', value: 0 }] } } }] } };
    const mockOf = { ...cluster(), apiCallResponses: [{ request: { urlPath: '/api/v1/m' }, response: { body: 'y'.repeat(98) }, mock: true }] };
    const r = applyPolicy({ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'p' }, spec: { rules: [each] } }, { request: create(twoContainers), cluster: mockOf, contextSizes: { validate } }).rules[0];
    return { status: r.status, bytes: validate.bytes };
  };
  assert.deepEqual(reloads({ name: 'm', apiCall: { urlPath: '/api/v1/m' } }), { status: 'pass', bytes: 100 });
  assert.deepEqual(reloads({ name: 'm', variable: { value: 'y'.repeat(98) } }), { status: 'pass', bytes: 400 });

  // An image's data: deferred, in the imageDataLoader's words (Go's %v of the entry).
  configured({ maxContextSize: 100 });
  const found = { image: 'nginx', resolvedImage: 'docker.io/nginx:latest', registry: 'index.docker.io', repository: 'library/nginx', identifier: 'latest', digest: 'sha256:0', manifest: { layers: [half] }, config: {} };
  const env = { cluster: { ...cluster(), imageRegistry: { images: {}, metadata: { nginx: found } } }, provided: new Set<string>() };
  const { scope, error } = loadContextEntries([{ name: 'img', imageRegistry: { reference: 'nginx' } }], { data: {} }, env);
  assert.equal(error, undefined, 'nothing counted before a query');
  assert.match(loadNamedEntries('img.manifest', scope.deferredEntries) ?? '', /^failed to add resource data to context: contextEntry: \{img <nil> <nil> 0x[0-9a-f]+ <nil> <nil>\}, error: context size limit exceeded: \d+ bytes exceeds limit of 100 bytes$/);
});
