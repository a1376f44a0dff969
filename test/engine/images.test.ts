/**
 * The two image-reference readers Kyverno has, side by side: GetImageInfo (pkg/utils/image:
 * the classic engine's `images` variable, image_normalize, verifyImages) and go-containerregistry's
 * name.ParseReference (CEL's parseImageReference). Cases from Kyverno's infos_test.go and the sdk
 * image library; the second test pins where the two readings differ.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getImageInfo, tryGetImageInfo, ImageReferenceError } from '../../engine/images/image-info';
import { parseReference, BadName } from '../../engine/images/parse-reference';

const DIGEST = 'sha256:dead07b4d8ed7e29e98de0f4504d87e8880d4347859d839686a31da35a3b532f';

test('GetImageInfo: Kyverno infos_test.go', () => {
  const rows: Array<[string, string, string, string, string | undefined, string | undefined, string, string]> = [
    // input, name, path, registry, tag, digest, reference, referenceWithTag
    ['nginx', 'nginx', 'nginx', 'docker.io', 'latest', undefined, 'docker.io/nginx:latest', 'docker.io/nginx:latest'],
    ['nginx:v10.3', 'nginx', 'nginx', 'docker.io', 'v10.3', undefined, 'docker.io/nginx:v10.3', 'docker.io/nginx:v10.3'],
    ['docker.io/test/nginx:v10.3', 'nginx', 'test/nginx', 'docker.io', 'v10.3', undefined, 'docker.io/test/nginx:v10.3', 'docker.io/test/nginx:v10.3'],
    ['test/nginx', 'nginx', 'test/nginx', 'docker.io', 'latest', undefined, 'docker.io/test/nginx:latest', 'docker.io/test/nginx:latest'],
    ['localhost:4443/test/nginx', 'nginx', 'test/nginx', 'localhost:4443', 'latest', undefined, 'localhost:4443/test/nginx:latest', 'localhost:4443/test/nginx:latest'],
    [`docker.io/test/centos@${DIGEST}`, 'centos', 'test/centos', 'docker.io', undefined, DIGEST, `docker.io/test/centos@${DIGEST}`, 'docker.io/test/centos:'],
    ['localhost/netd:v0.4.4-gke.0', 'netd', 'netd', 'localhost', 'v0.4.4-gke.0', undefined, 'localhost/netd:v0.4.4-gke.0', 'localhost/netd:v0.4.4-gke.0'],
  ];
  for (const [input, name, path, registry, tag, digest, reference, referenceWithTag] of rows) {
    assert.deepEqual(getImageInfo(input), { registry, name, path, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}), reference, referenceWithTag }, input);
  }
  assert.throws(() => getImageInfo('++'), ImageReferenceError);
  assert.equal(tryGetImageInfo('Bad Image'), null);
});

test('GetImageInfo and name.ParseReference differ where Kyverno does', () => {
  // Docker Hub: classic keeps the path and says docker.io; CEL says index.docker.io and adds library/.
  assert.equal(getImageInfo('nginx').registry, 'docker.io');
  assert.equal(getImageInfo('nginx').path, 'nginx');
  assert.equal(parseReference('nginx').registry, 'index.docker.io');
  assert.equal(parseReference('nginx').repository, 'library/nginx');
  // A first component without '.' or ':' is a registry for GetImageInfo when it is localhost or has capitals.
  assert.equal(getImageInfo('localhost/app').registry, 'localhost');
  assert.equal(parseReference('localhost/app').registry, 'index.docker.io');
  assert.equal(parseReference('localhost/app').repository, 'localhost/app');
  // Tag and digest together: GetImageInfo keeps both; ParseReference reads a digest reference.
  const both = `nginx:1.25@${DIGEST}`;
  assert.equal(getImageInfo(both).tag, '1.25');
  assert.equal(getImageInfo(both).digest, DIGEST);
  assert.equal(parseReference(both).tag, '');
  assert.equal(parseReference(both).digest, DIGEST);
  // Digests: go-digest knows sha384/sha512; go-containerregistry only sha256.
  const sha512 = `sha512:${'a'.repeat(128)}`;
  assert.equal(getImageInfo(`nginx@${sha512}`).digest, sha512);
  assert.throws(() => parseReference(`nginx@${sha512}`), BadName);
  // Both check the encoded length and lower-case hex.
  assert.throws(() => getImageInfo(`nginx@sha256:${'a'.repeat(32)}`), /invalid checksum digest length/);
  assert.throws(() => getImageInfo(`nginx@sha256:${'A'.repeat(64)}`), /invalid checksum digest format/);
  assert.throws(() => getImageInfo(`nginx@md5:${'a'.repeat(32)}`), /unsupported digest algorithm/);
  assert.throws(() => parseReference(`nginx@sha256:${'a'.repeat(32)}`), BadName);
  // Upper case in the repository: refused by both; a one-character repository only by ParseReference.
  assert.throws(() => getImageInfo('ghcr.io/Team/app'), /repository name must be lowercase/);
  assert.throws(() => parseReference('ghcr.io/Team/app'), BadName);
  assert.equal(getImageInfo('a').path, 'a');
  assert.throws(() => parseReference('a'), BadName);
});
