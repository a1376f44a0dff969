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
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { newSigningKey, signingKeyFromCosign, pushCosignSignatures, pushImage, startRegistry, type LocalRegistry, type SigningKey } from './harness';
import { issue, testAuthority } from './test-ca';

let registry: LocalRegistry;
let alice: SigningKey;
let bob: SigningKey;
const digests: Record<string, string> = {};

/** A verifyImages policy whose one attestor set has these PEM keys (or is this entry). */
function policy(keys: string | JsonObject, extra: JsonObject = {}, attestor: JsonObject = {}): JsonObject {
  const set = typeof keys === 'string' ? keysAttestor(keys) : { entries: [keys] };
  return verifyImagesPolicy('check-signature', { imageReferences: [`${registry.host}/*`], attestors: [{ ...attestor, ...set }], ...extra });
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

  it('signs with a key in cosign\'s encrypted format and verifies with its public key', async () => {
    const fixtures = join(__dirname, '..', 'fixtures', 'cosign-keys');
    const key = signingKeyFromCosign(readFileSync(join(fixtures, 'sigstore.key'), 'utf8'), 'correct horse');
    const digest = await pushImage(registry.host, 'team/user-key', 'v1');
    await pushCosignSignatures(registry.host, 'team/user-key', digest, [{ key }]);
    const r = imageVerify((await evaluate(policy(readFileSync(join(fixtures, 'sigstore.pub'), 'utf8')), pod(`${registry.host}/team/user-key:v1`))).rules);
    assert.equal(r.status, 'pass', r.message);
  });

  it('verifies a keyless signature (Fulcio-like certificate and chain) against the given roots', async () => {
    const ca = testAuthority('fulcio');
    const leaf = issue({ commonName: '', issuer: ca.intermediate, email: 'ci@example.com', oidcIssuer: 'https://token.example.com' });
    const digest = await pushImage(registry.host, 'team/keyless', 'v1');
    const key = { privateKey: leaf.privateKey, publicKeyPem: '' };
    await pushCosignSignatures(registry.host, 'team/keyless', digest, [{ key, certificatePem: leaf.pem, chainPem: ca.chainPem }]);
    const keyless = (roots: string) => policy({ keyless: { subject: 'ci@example.com', issuer: 'https://token.example.com', roots, rekor: { ignoreTlog: true }, ctlog: { ignoreSCT: true } } });
    const image = `${registry.host}/team/keyless:v1`;
    const ok = imageVerify((await evaluate(keyless(ca.root.pem), pod(image))).rules);
    assert.equal(ok.status, 'pass', ok.message);
    const outside = imageVerify((await evaluate(keyless(testAuthority('other').root.pem), pod(image))).rules);
    assert.equal(outside.status, 'fail');
    assert.match(outside.message, /keyless: no matching signatures: cert verification failed: x509: certificate signed by unknown authority/);
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
