/** The admission leader's certificate renewal on Kyverno's two Secrets (webhook/cert-renewer.ts), against the fake API server. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { makeCertificates, pemBlocks, RENEW_BEFORE_DAYS, TLS_VALIDITY_DAYS, trustBundle, type CertificateSet } from '../../tls/certificates';
import { CERT_MANAGED_BY, certificatesOfSecrets, renewCertificates, tlsSecretNames, tlsSecrets } from '../../webhook/cert-renewer';
import { labels, VALIDATING_CONFIG, webhookConfigurations } from '../../webhook/configurations';
import { FakeKube } from '../deploy/fake-kube';

type Json = Record<string, unknown>;
const NS = 'ks';
const NAMES = tlsSecretNames(NS);
const HOSTS = ['kyverno-svc.ks.svc', 'kyverno-svc.ks.svc.cluster.local', 'kyverno-svc.ks'];
const day = 86_400_000;
const unb64 = (s: unknown) => Buffer.from(String(s), 'base64').toString('utf8');

/** What deploy leaves: the two Secrets and the webhook configurations trusting the CA. */
function deployed(set: CertificateSet, secretLabels: Json = labels()): FakeKube {
  const kube = new FakeKube();
  for (const s of tlsSecrets(set, NS, secretLabels)) kube.seed(s);
  for (const c of webhookConfigurations({ namespace: NS, caPem: trustBundle(set), needs: [], policies: [], keepEmpty: true })) kube.seed(c);
  return kube;
}

const read = (kube: FakeKube) => certificatesOfSecrets(kube.object('Secret', NAMES.ca, NS), kube.object('Secret', NAMES.pair, NS))!;

test('the Secrets are Kyverno\'s: names, kubernetes.io/tls, its managed-by label; they read back as the certificates written', () => {
  assert.deepEqual(NAMES, { ca: 'kyverno-svc.ks.svc.kyverno-tls-ca', pair: 'kyverno-svc.ks.svc.kyverno-tls-pair' });
  const set = { ...makeCertificates({ hosts: HOSTS, algorithm: 'ECDSA' }), previousCaPem: makeCertificates({ hosts: HOSTS, algorithm: 'ECDSA' }).ca.certPem };
  const [ca, pair] = tlsSecrets(set, NS);
  assert.equal(ca.type, 'kubernetes.io/tls');
  assert.deepEqual((ca.metadata as Json).labels, CERT_MANAGED_BY);
  assert.deepEqual(Object.keys(pair.data as Json), ['tls.crt', 'tls.key']);
  assert.deepEqual(certificatesOfSecrets(ca, pair), set);
  // Kyverno's reader falls back to rootCA.crt; no CA certificate at all reads as none.
  const rootCa = { data: { 'rootCA.crt': (ca.data as Json)['tls.crt'] } };
  assert.equal(certificatesOfSecrets(rootCa, pair)?.ca.certPem, set.ca.certPem);
  assert.equal(certificatesOfSecrets(undefined, pair), undefined);
});

test('nothing due: the Secrets and configurations are left alone', async () => {
  const kube = deployed(makeCertificates({ hosts: HOSTS, algorithm: 'ECDSA' }));
  assert.equal(await renewCertificates(kube, NS, () => undefined, new Date(), 'ECDSA'), 'kept');
  assert.deepEqual(kube.writes, []);
  assert.equal(await renewCertificates(new FakeKube(), NS, () => undefined), 'no-secret');
});

test("--renew-before: the renewer renews what expires within Kyverno's --renewBefore", async () => {
  const kube = deployed(makeCertificates({ hosts: HOSTS, algorithm: 'ECDSA' }));
  const now = new Date(Date.now() + (TLS_VALIDITY_DAYS - 30) * day);
  assert.equal(await renewCertificates(kube, NS, () => undefined, now, 'ECDSA'), 'kept');
  assert.equal(await renewCertificates(kube, NS, () => undefined, now, 'ECDSA', 45 * day), 'rotated');
  assert.deepEqual(kube.writes, [`PUT Secret ${NS}/${NAMES.pair}`]);
});

test('a serving certificate due for renewal: a new pair signed by the same CA, the caBundle untouched', async () => {
  const set = makeCertificates({ hosts: HOSTS, algorithm: 'ECDSA' });
  const kube = deployed(set);
  const lines: string[] = [];
  const now = new Date(Date.now() + (TLS_VALIDITY_DAYS - RENEW_BEFORE_DAYS + 1) * day);
  assert.equal(await renewCertificates(kube, NS, (l) => lines.push(l), now, 'ECDSA'), 'rotated');
  assert.deepEqual(kube.writes, [`PUT Secret ${NS}/${NAMES.pair}`], 'neither the CA Secret nor the configurations change');
  const after = read(kube);
  assert.equal(after.ca.certPem, set.ca.certPem);
  assert.equal(after.ca.keyPem, set.ca.keyPem);
  assert.notEqual(after.serving.certPem, set.serving.certPem);
  assert.ok(new X509Certificate(after.serving.certPem).checkIssued(new X509Certificate(set.ca.certPem)));
  assert.match(lines.join('\n'), /certificates renewed: 1 CA\(s\) trusted, serving certificate valid until/);
});

test('a CA of another algorithm than asked: the configurations trust the new CA beside the old one before the Secrets change', async () => {
  const set = makeCertificates({ hosts: HOSTS, algorithm: 'ECDSA' });
  const kube = deployed(set);
  assert.equal(await renewCertificates(kube, NS, () => undefined, new Date(), 'Ed25519'), 'rotated');
  const firstSecretWrite = kube.writes.findIndex((w) => w.includes('Secret'));
  const configWrites = kube.writes.map((w, i) => [w, i] as const).filter(([w]) => w.includes('WebhookConfiguration'));
  assert.ok(configWrites.length > 0 && configWrites.every(([, i]) => i < firstSecretWrite), kube.writes.join('\n'));
  const after = read(kube);
  const bundle = pemBlocks(trustBundle(after));
  assert.deepEqual(bundle, [set.ca.certPem, after.ca.certPem]);
  assert.equal(new X509Certificate(after.serving.certPem).publicKey.asymmetricKeyType, 'ed25519');
  const vwc = kube.object('ValidatingWebhookConfiguration', VALIDATING_CONFIG)!;
  for (const w of vwc.webhooks as Json[]) assert.deepEqual(pemBlocks(unb64((w.clientConfig as Json).caBundle)), bundle);
});

test('Secrets without Kyverno\'s managed-by label (cert-manager\'s, say) are never renewed, as Kyverno refuses to', async () => {
  const set = makeCertificates({ hosts: HOSTS, algorithm: 'ECDSA', validDays: 3 });
  const kube = new FakeKube();
  for (const s of tlsSecrets(set, NS)) kube.seed({ ...s, metadata: { ...(s.metadata as Json), labels: { 'controller.cert-manager.io/fao': 'true' } } });
  const lines: string[] = [];
  assert.equal(await renewCertificates(kube, NS, (l) => lines.push(l), new Date(), 'ECDSA'), 'not-managed');
  assert.deepEqual(kube.writes, []);
  assert.match(lines.join('\n'), /certificates are not managed by kyverno, we can't renew them/);
});

test('cert-manager\'s Secrets still valid for the service: left alone without a complaint, whatever algorithm is asked', async () => {
  const set = makeCertificates({ hosts: HOSTS, algorithm: 'ECDSA' });
  const kube = new FakeKube();
  for (const s of tlsSecrets(set, NS)) kube.seed({ ...s, metadata: { ...(s.metadata as Json), labels: {} } });
  const lines: string[] = [];
  assert.equal(await renewCertificates(kube, NS, (l) => lines.push(l), new Date(), 'RSA'), 'not-managed');
  assert.deepEqual(kube.writes, []);
  assert.deepEqual(lines, []);
});

test('a deleted CA Secret: a new CA, while the CA the configurations trusted stays trusted (replicas still serve what it signed); the Secret is made again', async () => {
  const set = makeCertificates({ hosts: HOSTS, algorithm: 'ECDSA' });
  const kube = deployed(set);
  await kube.delete({ apiVersion: 'v1', kind: 'Secret', name: NAMES.ca, namespace: NS });
  assert.equal(await renewCertificates(kube, NS, () => undefined, new Date(), 'ECDSA'), 'rotated');
  assert.ok(kube.object('Secret', NAMES.ca, NS), 'the CA Secret exists again');
  const after = read(kube);
  assert.notEqual(after.ca.certPem, set.ca.certPem);
  const vwc = kube.object('ValidatingWebhookConfiguration', VALIDATING_CONFIG)!;
  for (const w of vwc.webhooks as Json[]) assert.deepEqual(pemBlocks(unb64((w.clientConfig as Json).caBundle)), [set.ca.certPem, after.ca.certPem]);
});

test('a Secret of another type (an older Opaque one) is deleted and made anew: the API server refuses a type change in place', async () => {
  const set = makeCertificates({ hosts: HOSTS, algorithm: 'ECDSA', validDays: 3 });
  const kube = new FakeKube();
  const [ca, pair] = tlsSecrets(set, NS, labels());
  kube.seed(ca);
  kube.seed({ ...pair, type: 'Opaque' });
  for (const c of webhookConfigurations({ namespace: NS, caPem: trustBundle(set), needs: [], policies: [], keepEmpty: true })) kube.seed(c);
  assert.equal(await renewCertificates(kube, NS, () => undefined, new Date(), 'ECDSA'), 'rotated');
  assert.ok(kube.writes.includes(`DELETE Secret ${NS}/${NAMES.pair}`), kube.writes.join('\n'));
  assert.equal(kube.object('Secret', NAMES.pair, NS)?.type, 'kubernetes.io/tls');
});
