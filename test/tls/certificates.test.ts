// When deploy and the in-cluster renewer replace the webhook's certificates (tls/certificates.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostsOf, makeCertificates, nextCertificates, pemBlocks, secretCertificates, trustBundle, RENEW_BEFORE_DAYS } from '../../tls/certificates';

const hosts = ['kyverno-studio-webhook.kyverno-studio.svc', '127.0.0.1'];
const day = 86_400_000;

test('certificates far from expiry are kept as they are', () => {
  const current = makeCertificates({ hosts });
  const next = nextCertificates(current, hosts);
  assert.equal(next.rotated, false);
  assert.equal(next.set, current);
});

test(`certificates within ${RENEW_BEFORE_DAYS} days of expiry are replaced, the current CA staying trusted beside the new one`, () => {
  const current = makeCertificates({ hosts, validDays: RENEW_BEFORE_DAYS - 1 });
  const next = nextCertificates(current, hosts);
  assert.equal(next.rotated, true);
  assert.notEqual(next.set.ca.certPem, current.ca.certPem);
  assert.deepEqual(pemBlocks(trustBundle(next.set)), [next.set.ca.certPem, current.ca.certPem]);
  assert.deepEqual(hostsOf(next.set.serving.certPem), hosts);
  // A year later the one after drops the first CA: the bundle never grows past two.
  const later = nextCertificates({ ...next.set, ca: { ...next.set.ca, certPem: trustBundle(next.set) } }, hosts, new Date(Date.now() + 340 * day));
  assert.equal(later.rotated, true);
  assert.deepEqual(pemBlocks(trustBundle(later.set)).slice(1), [next.set.ca.certPem]);
});

test('expired certificates, missing ones and ones for other hosts are replaced without keeping the old CA', () => {
  const expired = makeCertificates({ hosts, validDays: 1 });
  const afterExpiry = nextCertificates(expired, hosts, new Date(Date.now() + 2 * day));
  assert.equal(afterExpiry.rotated, true);
  assert.equal(afterExpiry.set.previousCaPem, undefined);
  assert.equal(nextCertificates(undefined, hosts).rotated, true);
  const otherHosts = nextCertificates(makeCertificates({ hosts: ['elsewhere.example'] }), hosts);
  assert.equal(otherHosts.rotated, true);
  assert.equal(otherHosts.set.previousCaPem, undefined);
});

test('a TLS Secret reads back as the certificates deploy wrote, and an incomplete one as none', () => {
  const set = makeCertificates({ hosts });
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const secret = { data: { 'tls.crt': b64(set.serving.certPem), 'tls.key': b64(set.serving.keyPem), 'ca.crt': b64(set.ca.certPem) } };
  const read = secretCertificates(secret)!;
  assert.equal(read.serving.certPem, set.serving.certPem);
  assert.equal(read.ca.certPem, set.ca.certPem);
  assert.equal(secretCertificates({ data: { 'tls.crt': b64(set.serving.certPem) } }), undefined);
  assert.equal(secretCertificates(undefined), undefined);
});
