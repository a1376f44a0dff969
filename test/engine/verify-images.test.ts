// verifyImages rules in Kyverno's two passes (pkg/engine/internal/imageverifier.go and
// handlers/validation/validate_image.go): what can be decided without a registry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyPolicy } from '../../engine/apply';
import type { AdmissionRequest, ClusterState, JsonObject } from '../../engine/core/types';
import { imageVerification } from '../../engine/verify-images';

const cluster = (): ClusterState => ({ resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] });
const pod = (image: string, annotations?: Record<string, string>): JsonObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace: 'default', ...(annotations ? { annotations } : {}) },
  spec: { containers: [{ name: 'c', image }] },
});
const create = (object: JsonObject): AdmissionRequest => ({ operation: 'CREATE', object, oldObject: null, requestInfo: { roles: [], clusterRoles: [], userInfo: {} } });
const policy = (entry: JsonObject): JsonObject => ({
  apiVersion: 'kyverno.io/v1',
  kind: 'ClusterPolicy',
  metadata: { name: 'pol' },
  spec: { rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['Pod'] } }] }, verifyImages: [entry] }] },
});
const run = (entry: JsonObject, object: JsonObject) =>
  applyPolicy(policy(entry), { request: create(object), cluster: cluster() }).rules.map((r) => [r.type, r.status, r.message]);
const DIGEST = 'sha256:859ab6768a6f26a79bc42b231664111317d095a4f04e4b6fe79ce37b3d199097';

test('verifyImages: the CRD defaults verifyDigest, mutateDigest and required to true; image folds into imageReferences', () => {
  assert.deepEqual(imageVerification({ image: 'ghcr.io/*' }), {
    imageReferences: ['ghcr.io/*'],
    skipImageReferences: [],
    cosignOCI11: false,
    repository: '',
    attestors: [],
    attestations: [],
    verifyDigest: true,
    mutateDigest: true,
    required: true,
    annotations: {},
    roots: '',
  });
});

test('verifyImages: verifyDigest fails an image without a digest and passes one with it', () => {
  const entry = { imageReferences: ['*'], verifyDigest: true, mutateDigest: false, required: false };
  assert.deepEqual(run(entry, pod('nginx:latest')), [['ImageVerify', 'fail', 'missing digest for docker.io/nginx:latest']]);
  assert.deepEqual(run(entry, pod(`nginx:latest@${DIGEST}`)), [['ImageVerify', 'pass', 'image verified']]);
});

test('verifyImages: a rule whose references match no image gives no result', () => {
  const entry = { imageReferences: ['ghcr.io/*'], verifyDigest: true, mutateDigest: false, required: false };
  assert.deepEqual(run(entry, pod('nginx:latest')), []);
});

test('verifyImages: required reads the scoped verification annotation for this policy and rule', () => {
  const entry = { imageReferences: ['*'], verifyDigest: false, mutateDigest: false, required: true };
  assert.deepEqual(run(entry, pod('nginx:1')), [['ImageVerify', 'fail', 'unverified image docker.io/nginx:1']]);
  const scoped = (status: string, rule = 'r') =>
    pod('nginx:1', { 'kyverno.io/verify-images-scoped': JSON.stringify({ version: 1, policies: { '/pol': { [rule]: { 'docker.io/nginx:1': status } } } }) });
  assert.deepEqual(run(entry, scoped('pass')), [['ImageVerify', 'pass', 'image verified']]);
  assert.deepEqual(run(entry, scoped('skip')), [['ImageVerify', 'skip', 'image skipped, skipped images: docker.io/nginx:1']]);
  assert.deepEqual(run(entry, scoped('pass', 'other')), [['ImageVerify', 'fail', 'unverified image docker.io/nginx:1']]);
  assert.equal(run(entry, pod('nginx:1', { 'kyverno.io/verify-images-scoped': '{' }))[0][1], 'fail');
});

test('verifyImages: signatures and digest resolution need a registry, and say so', () => {
  const keyed = { imageReferences: ['*'], attestors: [{ entries: [{ keys: { publicKeys: 'k' } }] }], verifyDigest: false, required: false, mutateDigest: false };
  const [only] = run(keyed, pod('nginx:1'));
  assert.equal(only[1], 'error');
  assert.match(String(only[2]), /registry access/);
  const skipped = { ...keyed, skipImageReferences: ['docker.io/nginx*'] };
  assert.deepEqual(run(skipped, pod('nginx:1')).map((r) => r[1]), ['skip']);
  const mutate = { imageReferences: ['*'], verifyDigest: false, required: false, mutateDigest: true };
  assert.match(String(run(mutate, pod('nginx:1'))[0][2]), /^failed to update digest/);
  assert.deepEqual(run(mutate, pod(`nginx:1@${DIGEST}`)), []);
});
