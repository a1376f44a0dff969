/**
 * In-cluster mode against a real kube-apiserver: the webhook runs as a local process in
 * `--in-cluster` mode with a kubeconfig (no kubelet, so no pod can run it), registered by a
 * local-mode deploy. Policies come from watching the API server; the webhook controller
 * widens the configuration when a policy for a new kind appears; the background scan and
 * Audit admissions write PolicyReports.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCertificates, type CertificateSet } from '../../deploy/certs';
import { KubeError, type JsonObject } from '../../deploy/kube';
import { runDeploy } from '../../deploy/run';
import { runUndeploy } from '../../deploy/undeploy';
import { VALIDATING_CONFIG } from '../../deploy/plan';
import { bundleWebhook, recordingUI, snapshot, startCluster, type TestCluster } from './harness';
import { AUDIT_OWNER, REQUIRE_TEAM, configMap } from './fixtures';

let cluster: TestCluster;
let child: ChildProcess;
let url = '';
let certs: CertificateSet;
let pristine: string[];
let log = '';

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 40_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\nwebhook log:\n${log.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

before(async () => {
  cluster = startCluster();
  pristine = await snapshot(cluster.client);
  const bundle = await bundleWebhook();
  const dir = mkdtempSync(join(tmpdir(), 'ks-incluster-'));
  certs = makeCertificates({ hosts: ['127.0.0.1'] });
  writeFileSync(join(dir, 'tls.crt'), certs.serving.certPem);
  writeFileSync(join(dir, 'tls.key'), certs.serving.keyPem);
  writeFileSync(join(dir, 'ca.crt'), certs.ca.certPem);
  child = spawn(process.execPath, [bundle, '--in-cluster', '--kubeconfig', cluster.kubeconfig, '--port', '0', '--host', '127.0.0.1',
    '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key'), '--workers', '1', '--report-interval-ms', '500'], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', (c) => (log += c));
  const port = await until('the in-cluster webhook to listen', async () => /in-cluster mode on https:\/\/[^:]+:(\d+)/.exec(log)?.[1], 30_000);
  url = `https://127.0.0.1:${port}`;
});

after(async () => {
  child?.kill('SIGTERM');
  cluster?.stop();
});

test('policies are watched from the cluster, the controller follows new kinds, scans and audits become PolicyReports, undeploy restores', async () => {
  const ui = recordingUI();
  const r = await runDeploy({ client: cluster.client, ui, mode: 'local', policies: [REQUIRE_TEAM], localUrl: url, certs, smokeTimeoutMs: 45_000 });
  assert.equal(r.outcome, 'deployed', `${r.error}\n${ui.lines.join('\n')}\n${log}`);
  assert.match(r.smoke ?? '', /require-team-label/, 'the in-cluster server learnt the policy by watching it');

  // A resource that exists before the Audit policy: the background scan must report it.
  await cluster.client.create(configMap('existing', { team: 'a' }));
  const audit = { ...AUDIT_OWNER, metadata: { ...(AUDIT_OWNER.metadata as JsonObject), labels: { 'app.kubernetes.io/managed-by': 'kyverno-studio' } } };
  const secretsPolicy = {
    apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy',
    metadata: { name: 'secrets-need-team', labels: { 'app.kubernetes.io/managed-by': 'kyverno-studio' } },
    spec: { validationFailureAction: 'Enforce', background: false, rules: [{ name: 'team', match: { any: [{ resources: { kinds: ['Secret'] } }] }, validate: { message: 'secrets need a team', pattern: { metadata: { labels: { team: '?*' } } } } }] },
  };
  await cluster.client.apply(audit, { force: true });
  await cluster.client.apply(secretsPolicy, { force: true });

  const resources = await until('the controller to add secrets to the webhook rules', async () => {
    const vwc = await cluster.client.get({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', name: VALIDATING_CONFIG });
    const list = ((vwc?.webhooks ?? []) as JsonObject[]).flatMap((w) => (w.rules as JsonObject[]).flatMap((x) => x.resources as string[]));
    return list.includes('secrets') && list;
  });
  assert.deepEqual([...resources].sort(), ['configmaps', 'secrets']);
  const vwc = await cluster.client.get({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', name: VALIDATING_CONFIG });
  assert.equal((((vwc!.webhooks as JsonObject[])[0]).clientConfig as JsonObject).url, `${url}/validate`, 'the controller kept the URL and caBundle');

  const denied = await until('a Secret without a team to be denied', async () => {
    try {
      await cluster.client.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'default' }, data: {} }, { dryRun: true });
      return false;
    } catch (e) {
      return e instanceof KubeError && e.status === 403 && e.message;
    }
  });
  assert.match(String(denied), /secrets need a team/);

  await cluster.client.create(configMap('admitted', { team: 'b' }));
  const report = await until('the PolicyReport with the scan and the Audit admission', async () => {
    const rep = await cluster.client.get({ apiVersion: 'wgpolicyk8s.io/v1alpha2', kind: 'PolicyReport', name: 'kyverno-studio', namespace: 'default' });
    const results = (rep?.results ?? []) as JsonObject[];
    const names = (policy: string, result: string) =>
      results.filter((x) => x.policy === policy && x.result === result).map((x) => String(((x.resources as JsonObject[])[0]).name));
    return names('audit-owner-annotation', 'fail').includes('existing') && names('audit-owner-annotation', 'fail').includes('admitted') && rep;
  });
  assert.equal((report.summary as JsonObject).fail as number >= 2, true);
  assert.equal(report.apiVersion, 'wgpolicyk8s.io/v1alpha2');

  for (const name of ['existing', 'admitted']) await cluster.client.delete({ apiVersion: 'v1', kind: 'ConfigMap', name, namespace: 'default' });
  const u = await runUndeploy({ client: cluster.client, ui: recordingUI(), namespaceTimeoutMs: 30_000 });
  assert.equal(u.outcome, 'undeployed', u.error);
  assert.ok(u.deleted.some((d) => d.kind === 'PolicyReport'), 'our reports are removed too');
  assert.deepEqual(await snapshot(cluster.client), pristine);
});

test('the in-cluster server survives bad requests and keeps answering probes', async () => {
  const { request } = await import('node:https');
  const call = (path: string, body?: string) =>
    new Promise<number>((resolve, reject) => {
      const req = request(`${url}${path}`, { method: body === undefined ? 'GET' : 'POST', ca: certs.ca.certPem }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(body);
    });
  assert.equal(await call('/validate', '{"kind":'), 400);
  assert.equal(await call('/validate', JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {} })), 400);
  assert.equal(await call('/healthz'), 200);
  assert.equal(await call('/readyz'), 200);
});
