/**
 * Classic verifyImages with cosign public keys against a real registry (docker-registry on
 * loopback): the snapshot is read by registry/ and verified by the engine.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { evaluateResources, offlineCluster } from '../../engine/evaluate';
import { evaluateWithRegistry, keysAttestor, podOf, verifyImagesPolicy } from './evaluate';
import type { JsonObject, RuleResult } from '../../engine/core/types';
import { RegistryClient } from '../../registry';
import { newSigningKey, pushCosignSignatures, pushImage, startRegistry, type LocalRegistry, type SigningKey } from './harness';

let registry: LocalRegistry;
let alice: SigningKey;
let bob: SigningKey;
const digests: Record<string, string> = {};

function policy(keys: string, extra: JsonObject = {}, attestor: JsonObject = {}): JsonObject {
  return verifyImagesPolicy('check-signature', { imageReferences: [`${registry.host}/*`], attestors: [{ ...attestor, ...keysAttestor(keys) }], ...extra });
}

const pod = podOf;
const evaluate = evaluateWithRegistry;

function imageVerify(rules: RuleResult[]): RuleResult {
  const found = rules.filter((r) => r.type === 'ImageVerify');
  assert.equal(found.length, 1, JSON.stringify(rules));
  return found[0];
}

describe('verifyImages against a real OCI registry', () => {
  before(async () => {
    registry = await startRegistry();
    alice = newSigningKey();
    bob = newSigningKey();
    digests.signed = await pushImage(registry.host, 'team/signed', 'v1');
    await pushCosignSignatures(registry.host, 'team/signed', digests.signed, [{ key: alice }]);
    digests.unsigned = await pushImage(registry.host, 'team/unsigned', 'v1');
    digests.both = await pushImage(registry.host, 'team/both', 'v1');
    await pushCosignSignatures(registry.host, 'team/both', digests.both, [{ key: alice }, { key: bob }]);
    digests.other = await pushImage(registry.host, 'team/other', 'v1');
    await pushCosignSignatures(registry.host, 'team/other', digests.other, [{ key: alice, claimedDigest: digests.signed }]);
  });
  after(() => registry?.stop());

  it('passes an image signed with the policy key', async () => {
    const { rules } = await evaluate(policy(alice.publicKeyPem), pod(`${registry.host}/team/signed:v1`));
    const r = imageVerify(rules);
    assert.equal(r.status, 'pass', r.message);
    assert.equal(r.message, `verified image signatures for ${registry.host}/team/signed:v1`);
  });

  it('fails an unsigned image', async () => {
    const r = imageVerify((await evaluate(policy(alice.publicKeyPem), pod(`${registry.host}/team/unsigned:v1`))).rules);
    assert.equal(r.status, 'fail');
    assert.equal(r.message, `failed to verify image ${registry.host}/team/unsigned:v1: .attestors[0].entries[0].keys: no signatures found`);
  });

  it('fails an image signed by another key', async () => {
    const r = imageVerify((await evaluate(policy(bob.publicKeyPem), pod(`${registry.host}/team/signed:v1`))).rules);
    assert.equal(r.status, 'fail');
    assert.match(r.message, /no matching signatures: invalid signature when validating ASN\.1 encoded signature/);
  });

  it('fails a signature whose payload names another digest', async () => {
    const r = imageVerify((await evaluate(policy(alice.publicKeyPem), pod(`${registry.host}/team/other:v1`))).rules);
    assert.equal(r.status, 'fail');
    assert.match(r.message, new RegExp(`invalid or missing digest in claim: ${digests.signed}`));
  });

  it('needs count signatures out of several keys', async () => {
    const carol = newSigningKey();
    const keys = [alice.publicKeyPem, bob.publicKeyPem, carol.publicKeyPem].join('');
    const two = imageVerify((await evaluate(policy(keys, {}, { count: 2 }), pod(`${registry.host}/team/both:v1`))).rules);
    assert.equal(two.status, 'pass', two.message);
    const all = imageVerify((await evaluate(policy(keys), pod(`${registry.host}/team/both:v1`))).rules);
    assert.equal(all.status, 'fail');
    assert.match(all.message, /\.attestors\[0\]\.entries\[2\]\.keys: no matching signatures/);
    const onlyAlice = imageVerify((await evaluate(policy(keys, {}, { count: 2 }), pod(`${registry.host}/team/signed:v1`))).rules);
    assert.equal(onlyAlice.status, 'fail');
  });

  it('adds the verified digest with mutateDigest and records the verdict', async () => {
    const image = `${registry.host}/team/signed:v1`;
    const { rules, patched } = await evaluate(policy(alice.publicKeyPem, { mutateDigest: true }), pod(image));
    assert.equal(imageVerify(rules).status, 'pass');
    const spec = patched.spec as { containers: Array<{ image: string }> };
    assert.equal(spec.containers[0].image, `${image}@${digests.signed}`);
    const annotations = (patched.metadata as { annotations: Record<string, string> }).annotations;
    assert.deepEqual(JSON.parse(annotations['kyverno.io/verify-images']), { [`${registry.host}/team/signed@${digests.signed}`]: 'pass' });
    assert.deepEqual(JSON.parse(annotations['kyverno.io/verify-images-scoped']), {
      version: 1,
      policies: { '/check-signature': { verify: { [`${registry.host}/team/signed@${digests.signed}`]: 'pass' } } },
    });
  });

  it('passes the validate pass (verifyDigest, required) after a verified mutateDigest', async () => {
    const { rules } = await evaluate(policy(alice.publicKeyPem, { mutateDigest: true, verifyDigest: true, required: true }), pod(`${registry.host}/team/signed:v1`));
    assert.deepEqual(rules.map((r) => r.status), ['pass', 'pass'], JSON.stringify(rules));
  });

  it('gives an error naming the image when the registry does not answer', async () => {
    // A port nothing listens on (a registry's, once stopped, may still answer while its process exits).
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const down = `127.0.0.1:${(probe.address() as { port: number }).port}`;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const p = policy(alice.publicKeyPem, { imageReferences: [`${down}/*`] });
    const r = imageVerify((await evaluate(p, pod(`${down}/team/signed:v1`), new RegistryClient({ timeoutMs: 2000 }))).rules);
    assert.equal(r.status, 'error');
    assert.match(r.message, new RegExp(`^failed to verify image ${down}/team/signed:v1: \\.attestors\\[0\\]\\.entries\\[0\\]\\.keys: GET http://${down}/v2/team/signed/manifests/v1: fetch failed \\(ECONNREFUSED\\)$`));
  });

  it('keeps the offline error when the snapshot lacks the image', async () => {
    const resource = pod(`${registry.host}/team/signed:v1`);
    const p = policy(alice.publicKeyPem);
    const [evaluation] = evaluateResources({ policies: [p], resources: [resource], cluster: offlineCluster({ resources: [resource] }) });
    const r = imageVerify(evaluation.responses.flatMap((x) => x.rules));
    assert.equal(r.status, 'error');
    assert.match(r.message, /needs registry access/);
  });
});
