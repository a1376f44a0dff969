/**
 * Certificate rotation in the cluster (webhook/cert-renewer.ts), against a real kube-apiserver:
 * the in-cluster server's admission leader finds certificates 10 days from expiry, makes the
 * webhook configurations trust a new CA beside the old one, then writes the new certificates to
 * the Secret; the API server keeps calling the webhook before (old certificate, old CA still
 * trusted) and after the server reloads the new files.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { KubeError, type JsonObject } from '../../kube-api/client';
import { runDeploy } from '../../deploy/run';
import { VALIDATING_CONFIG, WEBHOOK_NAME } from '../../deploy/plan';
import { hostsOf, makeCertificates, pemBlocks } from '../../tls/certificates';
import { bundleWebhook, recordingUI, startCluster, type TestCluster } from './harness';
import { REQUIRE_TEAM, configMap, startInClusterWebhook, waitFor, type InClusterWebhook } from './fixtures';

const NS = 'kyverno-studio';
let cluster: TestCluster;
let server: InClusterWebhook;
let log = '';
const until = <T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs?: number) => waitFor(what, probe, () => log, timeoutMs);
const DENIED = /^403 [\s\S]*denied the request[\s\S]*check-team: 'validation error: label ''team'' is required/;
const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: unknown) => Buffer.from(String(s), 'base64').toString('utf8');

before(async () => {
  cluster = startCluster();
  await cluster.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  const expiring = makeCertificates({ hosts: ['127.0.0.1'], validDays: 10 });
  server = await startInClusterWebhook(await bundleWebhook(), cluster.kubeconfig, (c) => (log += c), ['--cert-renewal-interval', '1s'], {}, expiring);
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

test('the admission leader rotates certificates due for renewal without a moment of distrust', async () => {
  const old = server.certs;
  const r = await runDeploy({ client: cluster.client, ui: recordingUI(), mode: 'local', policies: [REQUIRE_TEAM], localUrl: server.url, certs: old, smokeTimeoutMs: 45_000 });
  assert.equal(r.outcome, 'deployed', `${r.error}\n${log}`);
  assert.match(await deniedWithoutTeam(), DENIED);

  // The Secret deploy writes in cluster mode, with the certificates 10 days from expiry.
  await cluster.client.create({
    apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: `${WEBHOOK_NAME}-tls`, namespace: NS },
    data: { 'tls.crt': b64(old.serving.certPem), 'tls.key': b64(old.serving.keyPem), 'ca.crt': b64(old.ca.certPem) },
  });
  const secret = await until('the leader to rotate the certificates', async () => {
    const s = await cluster.client.get({ apiVersion: 'v1', kind: 'Secret', name: `${WEBHOOK_NAME}-tls`, namespace: NS });
    return s && unb64((s.data as JsonObject)['tls.crt']) !== old.serving.certPem && s;
  }, 30_000);
  await until('the rotation to be logged', async () => /certificates rotated: new CA trusted beside 1 previous one/.test(log));
  const data = secret.data as JsonObject;
  const fresh = { cert: unb64(data['tls.crt']), key: unb64(data['tls.key']), bundle: pemBlocks(unb64(data['ca.crt'])) };
  assert.deepEqual(hostsOf(fresh.cert), ['127.0.0.1'], 'the new certificate names the hosts of the old one');
  const days = (new Date(new X509Certificate(fresh.cert).validTo).getTime() - Date.now()) / 86_400_000;
  assert.ok(days > 360 && days <= 366, `valid for a year, got ${days.toFixed(1)} days`);
  assert.equal(fresh.bundle.length, 2);
  assert.equal(fresh.bundle[1], old.ca.certPem, 'the old CA stays trusted during the hand-over');
  assert.ok(new X509Certificate(fresh.cert).checkIssued(new X509Certificate(fresh.bundle[0])), 'the new CA signed the new certificate');

  // The webhook configuration trusts both CAs; the server still presents the old certificate,
  // and the API server still accepts it.
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

  // The next round keeps what is now a year away from expiry.
  const before = unb64(data['tls.crt']);
  await new Promise((r) => setTimeout(r, 2500));
  const again = await cluster.client.get({ apiVersion: 'v1', kind: 'Secret', name: `${WEBHOOK_NAME}-tls`, namespace: NS });
  assert.equal(unb64((again!.data as JsonObject)['tls.crt']), before);
});
