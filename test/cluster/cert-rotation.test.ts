/**
 * Certificate renewal in the cluster (webhook/cert-renewer.ts), against a real kube-apiserver:
 * the in-cluster server's admission leader finds certificates 10 days from expiry in Kyverno's
 * two Secrets, renews the CA with its key (as Kyverno's RenewCA) and signs a new serving
 * certificate, then writes them; the API server keeps calling the webhook before (old
 * certificate, which the renewed CA still verifies) and after the server reloads the new files.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { KubeError, type JsonObject } from '../../kube-api/client';
import { runDeploy } from '../../deploy/run';
import { VALIDATING_CONFIG } from '../../deploy/plan';
import { hostsOf, makeCertificates, pemBlocks, TLS_VALIDITY_DAYS } from '../../tls/certificates';
import { tlsSecretNames, tlsSecrets } from '../../webhook/cert-renewer';
import { bundleWebhook, recordingUI, startCluster, type TestCluster } from './harness';
import { REQUIRE_TEAM, configMap, startInClusterWebhook, waitFor, type InClusterWebhook } from './fixtures';

const NS = 'kyverno-studio';
let cluster: TestCluster;
let server: InClusterWebhook;
let log = '';
const until = <T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs?: number) => waitFor(what, probe, () => log, timeoutMs);
const DENIED = /^403 [\s\S]*denied the request[\s\S]*check-team: 'validation error: label ''team'' is required/;
const unb64 = (s: unknown) => Buffer.from(String(s), 'base64').toString('utf8');

before(async () => {
  cluster = startCluster();
  await cluster.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  const expiring = makeCertificates({ hosts: ['127.0.0.1'], algorithm: 'ECDSA', validDays: 10 });
  server = await startInClusterWebhook(await bundleWebhook(), cluster.kubeconfig, (c) => (log += c), ['--cert-renewal-interval', '1s', '--tls-key-algorithm', 'ECDSA'], {}, expiring);
});

after(() => {
  server?.child.kill('SIGTERM');
  cluster?.stop();
});

/** The certificate the webhook presents right now. */
function servedCertificate(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), rejectUnauthorized: false }, () => {
      resolve(socket.getPeerX509Certificate()!.fingerprint256);
      socket.end();
    });
    socket.on('error', reject);
  });
}

async function deniedWithoutTeam(): Promise<string> {
  try {
    await cluster.client.create(configMap(`probe-${Date.now()}`), { dryRun: true });
    return 'admitted';
  } catch (e) {
    return e instanceof KubeError ? `${e.status} ${e.message}` : String(e);
  }
}

test('the admission leader renews certificates due for renewal without a moment of distrust', async () => {
  const old = server.certs;
  const r = await runDeploy({ client: cluster.client, ui: recordingUI(), mode: 'local', policies: [REQUIRE_TEAM], localUrl: server.url, certs: old, smokeTimeoutMs: 45_000 });
  assert.equal(r.outcome, 'deployed', `${r.error}\n${log}`);
  assert.match(await deniedWithoutTeam(), DENIED);

  // The Secrets deploy writes in cluster mode (Kyverno's layout), with the certificates 10 days from expiry.
  const names = tlsSecretNames(NS);
  for (const secret of tlsSecrets(old, NS)) await cluster.client.create(secret);
  const pair = await until('the leader to renew the certificates', async () => {
    const s = await cluster.client.get({ apiVersion: 'v1', kind: 'Secret', name: names.pair, namespace: NS });
    return s && unb64((s.data as JsonObject)['tls.crt']) !== old.serving.certPem && s;
  }, 30_000);
  await until('the renewal to be logged', async () => /certificates renewed: 1 CA\(s\) trusted/.test(log));
  const caSecret = await cluster.client.get({ apiVersion: 'v1', kind: 'Secret', name: names.ca, namespace: NS });
  const data = pair.data as JsonObject;
  const fresh = { cert: unb64(data['tls.crt']), key: unb64(data['tls.key']), bundle: pemBlocks(unb64((caSecret!.data as JsonObject)['tls.crt'])) };
  assert.deepEqual(hostsOf(fresh.cert), ['127.0.0.1'], 'the new certificate names the hosts of the old one');
  const days = (new Date(new X509Certificate(fresh.cert).validTo).getTime() - Date.now()) / 86_400_000;
  assert.ok(days > TLS_VALIDITY_DAYS - 1 && days <= TLS_VALIDITY_DAYS, `valid ${TLS_VALIDITY_DAYS} days, got ${days.toFixed(1)}`);
  assert.equal(unb64((caSecret!.data as JsonObject)['tls.key']), old.ca.keyPem, 'the CA keeps its key');
  assert.equal(fresh.bundle.length, 1, 'the renewed CA certificate supersedes the old one of the same key');
  const renewedCa = new X509Certificate(fresh.bundle[0]);
  assert.notEqual(renewedCa.fingerprint256, new X509Certificate(old.ca.certPem).fingerprint256);
  assert.ok(new X509Certificate(old.serving.certPem).checkIssued(renewedCa), 'the old serving certificate verifies under the renewed CA');
  assert.ok(new X509Certificate(fresh.cert).checkIssued(renewedCa), 'the CA signed the new certificate');

  // The webhook configuration trusts the renewed CA; the server still presents the old
  // certificate, and the API server still accepts it.
  const vwc = await cluster.client.get({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', name: VALIDATING_CONFIG });
  for (const w of vwc!.webhooks as JsonObject[]) assert.deepEqual(pemBlocks(unb64((w.clientConfig as JsonObject).caBundle)), fresh.bundle, String(w.name));
  assert.equal(await servedCertificate(server.url), new X509Certificate(old.serving.certPem).fingerprint256);
  assert.match(await deniedWithoutTeam(), DENIED);

  // What the kubelet does with the mounted Secret: the files change, the server reloads them.
  writeFileSync(join(server.tlsDir, 'tls.key'), fresh.key);
  writeFileSync(join(server.tlsDir, 'tls.crt'), fresh.cert);
  const wanted = new X509Certificate(fresh.cert).fingerprint256;
  await until('the server to present the new certificate', async () => (await servedCertificate(server.url)) === wanted, 20_000);
  assert.match(await deniedWithoutTeam(), DENIED);

  // The next round keeps what is now 150 days away from expiry.
  const before = unb64(data['tls.crt']);
  await new Promise((r) => setTimeout(r, 2500));
  const again = await cluster.client.get({ apiVersion: 'v1', kind: 'Secret', name: names.pair, namespace: NS });
  assert.equal(unb64((again!.data as JsonObject)['tls.crt']), before);
});
