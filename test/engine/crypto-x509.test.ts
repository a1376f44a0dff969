/** engine/crypto/x509: certificates read and chains verified as Go's crypto/x509 does. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { generateKeyPairSync } from 'node:crypto';
import {
  CertificateError,
  derStringExtension,
  parseCertificatesPem,
  rawExtensionString,
  subjectAlternateNames,
  verifyCertificateChain,
  EKU_CODE_SIGNING,
  type Certificate,
} from '../../engine/crypto/x509';
import { issue, OID, testAuthority } from '../registry/test-ca';

const one = (pem: string): Certificate => parseCertificatesPem(pem)[0];
const HOUR = 3600_000;

describe('X.509 certificates', () => {
  const { root, intermediate } = testAuthority();
  const leaf = issue({ commonName: 'signer', issuer: intermediate, email: 'dev@example.com', oidcIssuer: 'https://token.example.com', oidcIssuerV2: 'https://token.example.com' });

  it('reads what node reads, and the Fulcio extensions', () => {
    const cert = one(leaf.pem);
    const node = new X509Certificate(leaf.pem);
    assert.equal(cert.notBefore, Date.parse(node.validFrom));
    assert.equal(cert.notAfter, Date.parse(node.validTo));
    assert.equal(cert.subject.commonName, 'signer');
    assert.equal(cert.isCA, false);
    assert.deepEqual(cert.extKeyUsage, [EKU_CODE_SIGNING]);
    assert.deepEqual(subjectAlternateNames(cert), ['dev@example.com']);
    assert.equal(rawExtensionString(cert, OID.fulcioIssuerV1), 'https://token.example.com');
    assert.equal(derStringExtension(cert, OID.fulcioIssuerV2), 'https://token.example.com');
    assert.equal(one(root.pem).isCA, true);
    assert.deepEqual(cert.unhandledCritical, [], 'a critical SAN with e-mail names is handled');
  });

  it('builds the chain leaf → intermediate → root at a time', () => {
    const chains = verifyCertificateChain(one(leaf.pem), { roots: [one(root.pem)], intermediates: [one(intermediate.pem)], at: Date.now(), keyUsages: [EKU_CODE_SIGNING] });
    assert.deepEqual(chains.map((c) => c.map((x) => x.subject.commonName)), [['signer', 'test-intermediate', 'test-root']]);
  });

  it('refuses a certificate outside the roots, with Go\'s messages', () => {
    const other = testAuthority('other');
    const check = (roots: Certificate[], intermediates: Certificate[]) => () =>
      verifyCertificateChain(one(leaf.pem), { roots, intermediates, at: Date.now(), keyUsages: [EKU_CODE_SIGNING] });
    assert.throws(check([one(other.root.pem)], [one(other.intermediate.pem)]), (e: Error) => e instanceof CertificateError && e.message === 'x509: certificate signed by unknown authority');
    assert.throws(check([one(root.pem)], []), { message: 'x509: certificate signed by unknown authority' }, 'the intermediate is missing');
    // Same issuer name, another key: Go names the candidate it tried.
    const forged = issue({ commonName: 'signer', issuer: intermediate, signingKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey });
    assert.throws(
      () => verifyCertificateChain(one(forged.pem), { roots: [one(root.pem)], intermediates: [one(intermediate.pem)], at: Date.now(), keyUsages: [] }),
      { message: 'x509: certificate signed by unknown authority (possibly because of "x509: ECDSA verification failure" while trying to verify candidate authority certificate "test-intermediate")' },
    );
  });

  it('checks validity, CA flags and extended key usage', () => {
    const at = Date.now();
    assert.throws(() => verifyCertificateChain(one(leaf.pem), { roots: [one(root.pem)], intermediates: [one(intermediate.pem)], at: at + 400 * 24 * HOUR, keyUsages: [] }),
      /^Error: x509: certificate has expired or is not yet valid: current time .* is after /);
    const server = issue({ commonName: 'web', issuer: intermediate, extKeyUsage: [OID.serverAuth] });
    assert.throws(() => verifyCertificateChain(one(server.pem), { roots: [one(root.pem)], intermediates: [one(intermediate.pem)], at, keyUsages: [EKU_CODE_SIGNING] }),
      { message: 'x509: certificate specifies an incompatible key usage' });
    const notCa = issue({ commonName: 'not-a-ca', issuer: root });
    const below = issue({ commonName: 'below', issuer: notCa });
    assert.throws(() => verifyCertificateChain(one(below.pem), { roots: [one(root.pem)], intermediates: [one(notCa.pem)], at, keyUsages: [] }),
      /parent certificate cannot sign this kind of certificate/);
    const late = issue({ commonName: 'late', issuer: intermediate, notBefore: new Date(at - HOUR), notAfter: new Date(at + HOUR) });
    const expiredRoot = issue({ commonName: 'old-root', ca: true, notBefore: new Date(at - 10 * HOUR), notAfter: new Date(at - 5 * HOUR) });
    const underOld = issue({ commonName: 'under-old', issuer: expiredRoot, notBefore: new Date(at - HOUR) });
    assert.throws(() => verifyCertificateChain(one(underOld.pem), { roots: [one(expiredRoot.pem)], intermediates: [], at: one(underOld.pem).notBefore, keyUsages: [] }),
      /certificate has expired or is not yet valid/);
    assert.equal(verifyCertificateChain(one(late.pem), { roots: [one(root.pem)], intermediates: [one(intermediate.pem)], at, keyUsages: [] }).length, 1);
  });

  it('refuses what is not a certificate', () => {
    assert.throws(() => parseCertificatesPem('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'), { message: 'x509: malformed certificate' });
    assert.throws(() => parseCertificatesPem('garbage'), { message: 'error during PEM decoding' });
  });
});
