/**
 * deploy pins the webhook's image to the digest its tag names today (deploy/image-pin.ts),
 * read from a real registry: the multi-arch index's digest, so each node pulls its own build.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pinImage, registryDigestResolver } from '../../deploy/image-pin';
import { pushIndex, pushImage, startRegistry, type LocalRegistry } from './harness';

describe('deploy pins the webhook image to a digest', () => {
  let registry: LocalRegistry;
  before(async () => {
    registry = await startRegistry();
  });
  after(() => registry.stop());

  it('appends the digest of the multi-arch index the tag names', async () => {
    const { digest } = await pushIndex(registry.host, 'library/node', '22-alpine');
    const image = `${registry.host}/library/node:22-alpine`;
    assert.deepEqual(await pinImage(image, registryDigestResolver()), { image: `${image}@${digest}` });
  });

  it('follows the tag when it moves', async () => {
    const image = `${registry.host}/webhook/node:lts`;
    const first = await pushImage(registry.host, 'webhook/node', 'lts', 'build 1');
    assert.equal((await pinImage(image, registryDigestResolver())).image, `${image}@${first}`);
    const second = await pushImage(registry.host, 'webhook/node', 'lts', 'build 2');
    assert.notEqual(first, second);
    assert.equal((await pinImage(image, registryDigestResolver())).image, `${image}@${second}`);
  });

  it('keeps an image that already names a digest, without asking the registry', async () => {
    const pinned = `${registry.host}/library/node:22-alpine@sha256:${'a'.repeat(64)}`;
    assert.deepEqual(await pinImage(pinned, () => Promise.reject(new Error('must not be called'))), { image: pinned });
  });

  it('deploys by tag with a warning naming the image and the reason when the tag cannot be resolved', async () => {
    const missing = `${registry.host}/library/node:no-such-tag`;
    const r = await pinImage(missing, registryDigestResolver());
    assert.equal(r.image, missing);
    assert.match(r.warning ?? '', /could not pin .*node:no-such-tag to a digest \(the registry has no manifest/);
    const offline = await pinImage('127.0.0.1:1/library/node:22-alpine', registryDigestResolver());
    assert.equal(offline.image, '127.0.0.1:1/library/node:22-alpine');
    assert.match(offline.warning ?? '', /could not pin 127\.0\.0\.1:1\/library\/node:22-alpine to a digest/);
  });

  it('rejects an image reference that is not one', async () => {
    await assert.rejects(pinImage('Not An Image', registryDigestResolver()), /--image Not An Image: could not parse reference/);
  });
});
