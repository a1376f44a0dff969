// The webhook's certificates as Kyverno's pkg/tls makes and renews them (tls/certificates.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createServer, connect } from 'node:tls';
import type { AddressInfo } from 'node:net';
import {
  CA_VALIDITY_DAYS, certificatesCover, hostsOf, KEY_ALGORITHMS, keyAlgorithmOf, makeCertificates, nextCertificates, parseKeyAlgorithm, pemBlocks, RENEW_BEFORE_DAYS,
  secretCertificates, TLS_VALIDITY_DAYS, trustBundle, type CertificateSet, type KeyAlgorithm,
} from '../../tls/certificates';

const hosts = ['kyverno-svc.kyverno-studio.svc', 'kyverno-svc.kyverno-studio.svc.cluster.local', '127.0.0.1'];
const day = 86_400_000;
const daysFrom = (now: number, date: string) => (new Date(date).getTime() - now) / day;
const x509 = (pem: string) => new X509Certificate(pem);
const KEY_TYPES: Record<KeyAlgorithm, string> = { RSA: 'rsa', ECDSA: 'ec', Ed25519: 'ed25519' };

/** A TLS handshake against the serving certificate, trusting only the bundle: what the API server does. */
async function handshake(set: CertificateSet, bundle = trustBundle(set)): Promise<string | undefined> {
  const server = createServer({ cert: set.serving.certPem, key: set.serving.keyPem }, (s) => s.end());
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  try {
    return await new Promise((done) => {
      const socket = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, ca: bundle, servername: hosts[0] }, () => {
        done(socket.authorized ? undefined : String(socket.authorizationError));
        socket.end();
      });
      socket.on('error', (e) => done(e.message));
    });
  } finally {
    server.close();
  }
}

for (const algorithm of KEY_ALGORITHMS) {
  test(`${algorithm}: a CA and a serving certificate that parse, chain and serve TLS, with Kyverno's keys, usages and validity`, async () => {
    const now = Date.now();
    const set = makeCertificates({ hosts, algorithm });
    const ca = x509(set.ca.certPem);
    const leaf = x509(set.serving.certPem);
    for (const [what, cert, keyPem] of [['CA', ca, set.ca.keyPem], ['serving', leaf, set.serving.keyPem]] as const) {
      assert.equal(cert.publicKey.asymmetricKeyType, KEY_TYPES[algorithm], `${what} key type`);
      assert.ok(cert.checkPrivateKey(createPrivateKey(keyPem)), `${what} key matches its certificate`);
      if (algorithm === 'RSA') assert.equal(cert.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
      if (algorithm === 'ECDSA') assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
      // Valid from an hour ago, as Kyverno's certificates.
      assert.ok(Math.abs(daysFrom(now, cert.validFrom) * 24 + 1) < 0.05, `${what} validFrom ${cert.validFrom}`);
    }
    assert.equal(ca.ca, true);
    assert.equal(leaf.ca, false);
    assert.ok(Math.abs(daysFrom(now, ca.validTo) - CA_VALIDITY_DAYS) < 0.01, `CA valid ${CA_VALIDITY_DAYS} days, got ${ca.validTo}`);
    assert.ok(Math.abs(daysFrom(now, leaf.validTo) - TLS_VALIDITY_DAYS) < 0.01, `serving valid ${TLS_VALIDITY_DAYS} days, got ${leaf.validTo}`);
    assert.ok(leaf.checkIssued(ca) && leaf.verify(ca.publicKey), 'the CA signed the serving certificate');
    assert.deepEqual(leaf.keyUsage, ['1.3.6.1.5.5.7.3.1'], 'server auth');
    assert.deepEqual(hostsOf(set.serving.certPem), hosts);
    assert.equal(await handshake(set), undefined);
  });
}

test('--tls-key-algorithm values: any case, empty is RSA, others refused as Kyverno words it', () => {
  assert.equal(parseKeyAlgorithm('rsa'), 'RSA');
  assert.equal(parseKeyAlgorithm('ecdsa'), 'ECDSA');
  assert.equal(parseKeyAlgorithm('ED25519'), 'Ed25519');
  assert.equal(parseKeyAlgorithm(''), 'RSA');
  assert.throws(() => parseKeyAlgorithm('DSA'), /^Error: unsupported key algorithm: DSA \(supported: RSA, ECDSA, Ed25519\)$/);
  assert.equal(makeCertificates({ hosts }).ca.keyPem.length > 0 && keyAlgorithmOf(createPrivateKey(makeCertificates({ hosts }).ca.keyPem)), 'RSA', 'RSA by default');
});

test('certificates far from expiry are kept as they are', () => {
  const current = makeCertificates({ hosts, algorithm: 'ECDSA' });
  const next = nextCertificates(current, hosts, { algorithm: 'ECDSA', now: new Date(Date.now() + (TLS_VALIDITY_DAYS - RENEW_BEFORE_DAYS - 1) * day) });
  assert.equal(next.rotated, false);
  assert.equal(next.set, current);
});

test("Kyverno's --renewBefore: the margin before expiry at which both certificates are renewed", () => {
  const current = makeCertificates({ hosts, algorithm: 'ECDSA' });
  // 30 days before the serving certificate expires: kept under the default 15 days, renewed under 45.
  const now = new Date(Date.now() + (TLS_VALIDITY_DAYS - 30) * day);
  assert.equal(nextCertificates(current, hosts, { algorithm: 'ECDSA', now }).rotated, false);
  const early = nextCertificates(current, hosts, { algorithm: 'ECDSA', now, renewBeforeMs: 45 * day });
  assert.equal(early.rotated, true);
  assert.equal(early.set.ca.certPem, current.ca.certPem, 'the CA (a year) is not due yet');
  assert.equal(certificatesCover(current, hosts, { now, renewBeforeMs: 45 * day }), false);
  assert.equal(certificatesCover(current, hosts, { now, renewBeforeMs: 0 }), true);
  // A CA within the margin is renewed with its key too.
  const ca = makeCertificates({ hosts, algorithm: 'ECDSA', validDays: 40 });
  const renewed = nextCertificates(ca, hosts, { algorithm: 'ECDSA', renewBeforeMs: 45 * day });
  assert.notEqual(renewed.set.ca.certPem, ca.ca.certPem);
  assert.equal(renewed.set.ca.keyPem, ca.ca.keyPem);
  assert.equal(nextCertificates(ca, hosts, { algorithm: 'ECDSA' }).rotated, false, 'under the default margin both are kept');
});

test(`a serving certificate within ${RENEW_BEFORE_DAYS} days of expiry is signed anew by the same CA`, () => {
  const current = makeCertificates({ hosts, algorithm: 'ECDSA' });
  const now = new Date(Date.now() + (TLS_VALIDITY_DAYS - RENEW_BEFORE_DAYS + 1) * day);
  const next = nextCertificates(current, hosts, { algorithm: 'ECDSA', now });
  assert.equal(next.rotated, true);
  assert.equal(next.set.ca.certPem, current.ca.certPem, 'the CA stays');
  assert.equal(trustBundle(next.set), current.ca.certPem, 'and so does the caBundle');
  assert.notEqual(next.set.serving.certPem, current.serving.certPem);
  const leaf = x509(next.set.serving.certPem);
  assert.ok(leaf.checkIssued(x509(current.ca.certPem)) && leaf.verify(x509(current.ca.certPem).publicKey));
  assert.ok(Math.abs(daysFrom(now.getTime(), leaf.validTo) - TLS_VALIDITY_DAYS) < 0.01);
});

test(`a CA within ${RENEW_BEFORE_DAYS} days of expiry is renewed with its key, so what it signed stays trusted`, async () => {
  const current = makeCertificates({ hosts, algorithm: 'Ed25519', validDays: RENEW_BEFORE_DAYS - 1 });
  const next = nextCertificates(current, hosts, { algorithm: 'Ed25519' });
  assert.equal(next.rotated, true);
  const [oldCa, newCa] = [x509(current.ca.certPem), x509(next.set.ca.certPem)];
  assert.notEqual(newCa.fingerprint256, oldCa.fingerprint256);
  assert.equal(next.set.ca.keyPem, current.ca.keyPem, 'the CA key is kept (Kyverno\'s RenewCA)');
  assert.equal(newCa.subject, oldCa.subject);
  assert.ok(daysFrom(Date.now(), newCa.validTo) > CA_VALIDITY_DAYS - 1);
  // The certificate of the same key supersedes the old one; what the old one signed verifies under it.
  assert.deepEqual(pemBlocks(trustBundle(next.set)), [next.set.ca.certPem]);
  const oldLeaf = x509(current.serving.certPem);
  assert.ok(oldLeaf.checkIssued(newCa) && oldLeaf.verify(newCa.publicKey), 'replicas still serving the old certificate are trusted');
  assert.equal(await handshake(current, trustBundle(next.set)), undefined);
  // The serving certificate, due too, was signed anew.
  assert.ok(x509(next.set.serving.certPem).checkIssued(newCa));
  assert.ok(daysFrom(Date.now(), x509(next.set.serving.certPem).validTo) > TLS_VALIDITY_DAYS - 1);
});

test('without the CA key (our older single Secret) the new CA keeps the old one trusted beside it until it expires', async () => {
  const old = makeCertificates({ hosts, algorithm: 'ECDSA' });
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const legacy = secretCertificates({ data: { 'tls.crt': b64(old.serving.certPem), 'tls.key': b64(old.serving.keyPem), 'ca.crt': b64(old.ca.certPem) } })!;
  assert.equal(legacy.ca.keyPem, '');
  const next = nextCertificates(legacy, hosts, { algorithm: 'ECDSA' });
  assert.equal(next.rotated, true);
  assert.ok(next.set.ca.keyPem, 'the new CA has its key');
  // Kyverno's order in the CA Secret: previous CAs first, the current one last.
  assert.deepEqual(pemBlocks(trustBundle(next.set)), [old.ca.certPem, next.set.ca.certPem]);
  assert.equal(await handshake(old, trustBundle(next.set)), undefined, 'the old serving certificate is still trusted');
  assert.equal(await handshake(next.set), undefined, 'and so is the new one');
  // Kept while nothing is due; once the old CA has expired it leaves the bundle.
  assert.equal(nextCertificates(next.set, hosts, { algorithm: 'ECDSA' }).rotated, false);
  const later = nextCertificates(next.set, hosts, { algorithm: 'ECDSA', now: new Date(Date.now() + (CA_VALIDITY_DAYS + 1) * day) });
  assert.equal(later.rotated, true);
  assert.ok(!pemBlocks(trustBundle(later.set)).includes(old.ca.certPem));
});

test('another key algorithm asked for: a new CA and serving certificate of that algorithm, the old CA trusted meanwhile', () => {
  const current = makeCertificates({ hosts, algorithm: 'ECDSA' });
  const next = nextCertificates(current, hosts, { algorithm: 'RSA' });
  assert.equal(next.rotated, true);
  assert.equal(keyAlgorithmOf(createPrivateKey(next.set.ca.keyPem)), 'RSA');
  assert.equal(x509(next.set.serving.certPem).publicKey.asymmetricKeyType, 'rsa');
  assert.deepEqual(pemBlocks(trustBundle(next.set)), [current.ca.certPem, next.set.ca.certPem]);
});

test('expired certificates, missing ones and ones for other hosts are replaced', () => {
  const expired = makeCertificates({ hosts, algorithm: 'ECDSA', validDays: 1 });
  const afterExpiry = nextCertificates(expired, hosts, { algorithm: 'ECDSA', now: new Date(Date.now() + 2 * day) });
  assert.equal(afterExpiry.rotated, true);
  assert.equal(afterExpiry.set.previousCaPem, undefined, 'an expired CA of the same key is not kept');
  assert.equal(nextCertificates(undefined, hosts).rotated, true);
  const elsewhere = makeCertificates({ hosts: ['elsewhere.example'], algorithm: 'ECDSA' });
  const otherHosts = nextCertificates(elsewhere, hosts, { algorithm: 'ECDSA' });
  assert.equal(otherHosts.rotated, true);
  assert.equal(otherHosts.set.ca.certPem, elsewhere.ca.certPem, 'the CA signs a certificate for the new hosts');
  assert.deepEqual(hostsOf(otherHosts.set.serving.certPem), hosts);
});

test('our older single TLS Secret reads back as its certificates without a CA key, and an incomplete one as none', () => {
  const set = makeCertificates({ hosts, algorithm: 'ECDSA' });
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const read = secretCertificates({ data: { 'tls.crt': b64(set.serving.certPem), 'tls.key': b64(set.serving.keyPem), 'ca.crt': b64(set.ca.certPem) } })!;
  assert.equal(read.serving.certPem, set.serving.certPem);
  assert.equal(read.ca.certPem, set.ca.certPem);
  assert.equal(secretCertificates({ data: { 'tls.crt': b64(set.serving.certPem) } }), undefined);
  assert.equal(secretCertificates(undefined), undefined);
});
