/** Cosign public-key verification from a registry snapshot (no registry needed). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import type { JsonObject } from '../../engine/core/types';
import { runWithRecord } from './verify-images-snapshot';
import { splitPemKeys, verifyCosignKey } from '../../engine/verify-images/cosign';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const OTHER = `sha256:${'b'.repeat(64)}`;

function key() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, pem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

function layer(k: ReturnType<typeof key>, digest = DIGEST, optional: Record<string, string> | null = null) {
  const payload = Buffer.from(JSON.stringify({ critical: { identity: { 'docker-reference': 'registry.test/app' }, image: { 'docker-manifest-digest': digest }, type: 'cosign container image signature' }, optional }));
  return { payload: payload.toString('base64'), signature: sign('sha256', payload, k.privateKey).toString('base64'), mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', annotations: {} };
}

const alice = key();
const bob = key();

const run = runWithRecord;

const keys = (pem: string, extra: JsonObject = {}) => ({ keys: { publicKeys: pem, rekor: { ignoreTlog: true }, ...extra } });

describe('cosign verification from a snapshot', () => {
  it('splits several PEM keys, keeps one as is', () => {
    assert.equal(splitPemKeys(alice.pem + bob.pem).length, 2);
    assert.deepEqual(splitPemKeys(alice.pem), [alice.pem]);
  });

  it('verifies a matching signature and names what is wrong otherwise', () => {
    const signed = layer(alice);
    assert.deepEqual(verifyCosignKey({ digest: DIGEST, signatures: [signed] }, DIGEST, alice.pem), { digest: DIGEST, certificates: [null], layers: [signed] });
    assert.throws(() => verifyCosignKey({ digest: DIGEST, signatures: [] }, DIGEST, alice.pem), /^Error: no signatures found$/);
    assert.throws(() => verifyCosignKey({ digest: DIGEST, signatures: [layer(bob)] }, DIGEST, alice.pem), /no matching signatures: invalid signature/);
    assert.throws(() => verifyCosignKey({ digest: DIGEST, signatures: [layer(alice, OTHER)] }, DIGEST, alice.pem), new RegExp(`invalid or missing digest in claim: ${OTHER}`));
    assert.throws(() => verifyCosignKey({ digest: DIGEST, signatures: [layer(alice)] }, DIGEST, 'not a key'), /failed to load public key from PEM/);
  });

  it('passes when any layer verifies', () => {
    const [r] = run({ attestors: [{ entries: [keys(alice.pem)] }] }, { digest: DIGEST, signatures: [layer(bob), layer(alice)] });
    assert.equal(r.status, 'pass', r.message);
  });

  it('counts entries of an attestor set, nested sets included', () => {
    const record = { digest: DIGEST, signatures: [layer(alice)] };
    assert.equal(run({ attestors: [{ count: 1, entries: [keys(bob.pem), keys(alice.pem)] }] }, record)[0].status, 'pass');
    const [all] = run({ attestors: [{ entries: [keys(bob.pem), keys(alice.pem)] }] }, record);
    assert.equal(all.status, 'fail');
    assert.match(all.message, /^failed to verify image registry\.test\/app:1: \.attestors\[0\]\.entries\[0\]\.keys: no matching signatures/);
    const [nested] = run({ attestors: [{ entries: [{ attestor: { entries: [keys(bob.pem)] } }] }] }, record);
    assert.equal(nested.status, 'fail');
    assert.match(nested.message, /\.attestors\[0\]\.entries\[0\]\.attestor\.entries\[0\]\.keys: no matching signatures/);
  });

  it('errors (not fails) on what it cannot check offline', () => {
    const record = { digest: DIGEST, signatures: [layer(alice)] };
    const [tlog] = run({ attestors: [{ entries: [{ keys: { publicKeys: alice.pem } }] }] }, record);
    assert.equal(tlog.status, 'error');
    assert.match(tlog.message, /Rekor/);
    const [missing] = run({ attestors: [{ entries: [keys(alice.pem)] }] }, undefined);
    assert.equal(missing.status, 'error');
    assert.match(missing.message, /needs registry access/);
    const [unreachable] = run({ attestors: [{ entries: [keys(alice.pem)] }] }, { error: 'GET http://x/v2/: refused', unreachable: true, signatures: [] });
    assert.equal(unreachable.status, 'error');
    // The registry is read inside each attestor entry (cosign's VerifyImageSignatures): the entry's path leads.
    assert.equal(unreachable.message, 'failed to verify image registry.test/app:1: .attestors[0].entries[0].keys: GET http://x/v2/: refused');
  });

  it('requires the annotations on some verified payload, the attestor\'s replacing the entry\'s', () => {
    const record = { digest: DIGEST, signatures: [layer(alice, DIGEST, { env: 'prod' })] };
    assert.equal(run({ annotations: { env: 'prod' }, attestors: [{ entries: [keys(alice.pem)] }] }, record)[0].status, 'pass');
    const [wrong] = run({ annotations: { env: 'dev' }, attestors: [{ entries: [keys(alice.pem)] }] }, record);
    assert.equal(wrong.status, 'fail');
    assert.match(wrong.message, /no signature matched the required annotations/);
    assert.equal(run({ annotations: { env: 'dev' }, attestors: [{ entries: [{ ...keys(alice.pem), annotations: { env: 'prod' } }] }] }, record)[0].status, 'pass');
  });

  it('mutateDigest without attestors replaces the tag with the resolved digest', () => {
    const rules = run({ mutateDigest: true }, { digest: DIGEST, signatures: [] });
    assert.deepEqual(rules.map((r) => [r.status, r.message]), [['pass', 'mutated image digest']]);
  });
});
