/** Notary JWS signatures verified offline from referrer data (no registry). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseCertificatesPem } from '../../engine/crypto/x509';
import { verifyNotarySignatures, type ArtifactDescriptor } from '../../engine/verify-images/notary';
import type { RegistryReferrer } from '../../engine/verify-images';
import { notaryCoseEnvelope, notaryEnvelope } from '../registry/harness';
import { issue, testAuthority, type IssuedCertificate } from '../registry/test-ca';

const target: ArtifactDescriptor = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'d'.repeat(64)}`, size: 527 };
const HOUR = 3600_000;

function signatureReferrer(envelope: Buffer, mediaType = 'application/jose+json'): RegistryReferrer {
  return { digest: `sha256:${'e'.repeat(64)}`, mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType: 'application/vnd.cncf.notary.signature', size: 1, layer: { mediaType, digest: 'x', size: envelope.length, data: envelope.toString('base64') } };
}

const signer = (cert: IssuedCertificate, ...chain: IssuedCertificate[]) => ({ privateKey: cert.privateKey, chainDer: [cert.der, ...chain.map((c) => c.der)] });
const trust = (...certs: IssuedCertificate[]) => certs.flatMap((c) => parseCertificatesPem(c.pem));

describe('Notary signatures', () => {
  const selfSigned = issue({ commonName: 'notary-test' });
  const ca = testAuthority('notary');
  const leaf = issue({ commonName: 'signer', issuer: ca.intermediate });

  it('verifies a self-signed leaf and a chain ending in a trusted root', () => {
    verifyNotarySignatures(target, [signatureReferrer(notaryEnvelope(target, signer(selfSigned)))], trust(selfSigned), Date.now());
    verifyNotarySignatures(target, [signatureReferrer(notaryEnvelope(target, signer(leaf, ca.intermediate, ca.root)))], trust(ca.root), Date.now());
  });

  it('refuses an untrusted signer, another artifact, a tampered envelope and an expired certificate', () => {
    const now = Date.now();
    assert.throws(() => verifyNotarySignatures(target, [signatureReferrer(notaryEnvelope(target, signer(selfSigned)))], trust(ca.root), now), /not produced by a trusted signer/);
    const other = { ...target, digest: `sha256:${'f'.repeat(64)}` };
    assert.throws(() => verifyNotarySignatures(target, [signatureReferrer(notaryEnvelope(other, signer(selfSigned)))], trust(selfSigned), now), /integrity check failed/);
    const envelope = JSON.parse(notaryEnvelope(target, signer(selfSigned)).toString());
    envelope.payload = Buffer.from(JSON.stringify({ targetArtifact: { ...target, size: 1 } })).toString('base64url');
    assert.throws(() => verifyNotarySignatures(target, [signatureReferrer(Buffer.from(JSON.stringify(envelope)))], trust(selfSigned), now), /signature is invalid/);
    const old = issue({ commonName: 'old', notBefore: new Date(now - 3 * HOUR), notAfter: new Date(now - HOUR) });
    assert.throws(() => verifyNotarySignatures(target, [signatureReferrer(notaryEnvelope(target, signer(old), new Date(now - 2 * HOUR)))], trust(old), now), /not valid anymore/);
    // The leaf must chain to the root it names: an intermediate from elsewhere breaks it.
    const elsewhere = testAuthority('elsewhere');
    assert.throws(() => verifyNotarySignatures(target, [signatureReferrer(notaryEnvelope(target, signer(leaf, elsewhere.intermediate, elsewhere.root)))], trust(elsewhere.root), now), /invalid certificate chain/);
  });

  it('needs a signature in a format it knows', () => {
    assert.throws(() => verifyNotarySignatures(target, [], trust(selfSigned), Date.now()), /no signature is associated/);
    assert.throws(() => verifyNotarySignatures(target, [signatureReferrer(Buffer.from('x'), 'application/pkcs7')], trust(selfSigned), Date.now()), /media type "application\/pkcs7" is not supported/);
    assert.throws(() => verifyNotarySignatures(target, [signatureReferrer(Buffer.from('x'), 'application/cose')], trust(selfSigned), Date.now()), /malformed COSE envelope/);
  });

  it('verifies COSE envelopes as notation writes them, with the same trust checks', () => {
    const now = Date.now();
    const cose = (envelope: Buffer) => [signatureReferrer(envelope, 'application/cose')];
    verifyNotarySignatures(target, cose(notaryCoseEnvelope(target, signer(selfSigned))), trust(selfSigned), now);
    verifyNotarySignatures(target, cose(notaryCoseEnvelope(target, signer(leaf, ca.intermediate, ca.root))), trust(ca.root), now);
    assert.throws(() => verifyNotarySignatures(target, cose(notaryCoseEnvelope(target, signer(selfSigned))), trust(ca.root), now), /not produced by a trusted signer/);
    const other = { ...target, digest: `sha256:${'f'.repeat(64)}` };
    assert.throws(() => verifyNotarySignatures(target, cose(notaryCoseEnvelope(other, signer(selfSigned))), trust(selfSigned), now), /integrity check failed/);
    assert.throws(() => verifyNotarySignatures(target, cose(notaryCoseEnvelope(target, signer(selfSigned), new Date(now), { expiry: new Date(now - HOUR) })), trust(selfSigned), now), /digital signature has expired/);
    // A byte of the payload changed after signing.
    const envelope = notaryCoseEnvelope(target, signer(selfSigned));
    const tampered = Buffer.from(envelope);
    const at = tampered.indexOf(Buffer.from(target.digest));
    tampered[at + 10] = tampered[at + 10] === 0x64 ? 0x65 : 0x64;
    assert.throws(() => verifyNotarySignatures(target, cose(tampered), trust(selfSigned), now), /signature is invalid/);
    const old = issue({ commonName: 'old', notBefore: new Date(now - 3 * HOUR), notAfter: new Date(now - HOUR) });
    assert.throws(() => verifyNotarySignatures(target, cose(notaryCoseEnvelope(target, signer(old), new Date(now - 2 * HOUR))), trust(old), now), /not valid anymore/);
  });
});
