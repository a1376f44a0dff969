/** A cluster-mode redeploy removes the workload objects of ours that it no longer plans (deploy/run.ts staleWorkload). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runDeploy, staleWorkload, type DeployUI } from '../../deploy/run';
import { makeCertificates } from '../../tls/certificates';
import { DEFAULT_NAMESPACE, WEBHOOK_NAME } from '../../deploy/plan';
import { SERVICE_NAME, VALIDATING_CONFIG } from '../../webhook/configurations';
import { REQUIRE_TEAM } from '../cluster/fixtures';
import { FakeKube } from './fake-kube';

const CRDS = ['clusterpolicies.kyverno.io', 'policyreports.wgpolicyk8s.io', 'clusterpolicyreports.wgpolicyk8s.io', 'updaterequests.kyverno.io', 'policyexceptions.kyverno.io', 'policyexceptions.policies.kyverno.io'];
const OURS = { 'app.kubernetes.io/managed-by': 'kyverno-studio' };
const service = (name: string, namespace: string, labels?: Record<string, string>) => ({
  apiVersion: 'v1', kind: 'Service', metadata: { name, namespace, ...(labels ? { labels } : {}) }, spec: { ports: [{ port: 443 }] },
});

function ui(): DeployUI & { lines: string[] } {
  const lines: string[] = [];
  return { lines, log: (l) => lines.push(l), step: (t) => lines.push(`==> ${t}`), confirm: async () => true, offerPoliciesOnly: async () => false };
}

test('a redeploy deletes the Service an older version created (kyverno-studio-webhook), and only objects with our label', async () => {
  const kube = new FakeKube();
  for (const name of CRDS) kube.seed({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name } });
  kube.seed(service(WEBHOOK_NAME, DEFAULT_NAMESPACE, OURS));
  kube.seed(service('someone-else', DEFAULT_NAMESPACE));
  kube.seed(service(WEBHOOK_NAME, 'other-namespace', OURS));
  const display = ui();
  const r = await runDeploy({
    client: kube, ui: display, mode: 'cluster', policies: [REQUIRE_TEAM], webhookCode: Buffer.from('// webhook'),
    certs: makeCertificates({ hosts: [`${SERVICE_NAME}.${DEFAULT_NAMESPACE}.svc`] }),
    imageDigest: async () => `sha256:${'0'.repeat(64)}`, readiness: async () => undefined, smokeCheck: false,
  });
  assert.equal(r.outcome, 'deployed', r.error);
  assert.equal(kube.object('Service', WEBHOOK_NAME, DEFAULT_NAMESPACE), undefined, 'the old Service is gone');
  assert.ok(kube.writes.includes(`DELETE Service ${DEFAULT_NAMESPACE}/${WEBHOOK_NAME}`), kube.writes.join('\n'));
  assert.ok(kube.object('Service', SERVICE_NAME, DEFAULT_NAMESPACE), 'Kyverno\'s kyverno-svc is deployed');
  assert.ok(kube.object('Service', `${SERVICE_NAME}-metrics`, DEFAULT_NAMESPACE));
  assert.ok(kube.object('Service', 'someone-else', DEFAULT_NAMESPACE), 'a Service without our label stays');
  assert.ok(kube.object('Service', WEBHOOK_NAME, 'other-namespace'), 'only our namespace is reconciled');
  assert.ok(display.lines.some((l) => l.includes(`deleted Service ${DEFAULT_NAMESPACE}/${WEBHOOK_NAME}`)), display.lines.join('\n'));
});

test('stale workload: what the plan has is kept, what it dropped is listed', async () => {
  const kube = new FakeKube();
  const monitor = { apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { name: WEBHOOK_NAME, namespace: 'ks', labels: OURS } };
  kube.seed(monitor);
  kube.seed(service(SERVICE_NAME, 'ks', OURS));
  const planned = [service(SERVICE_NAME, 'ks', OURS)];
  assert.deepEqual((await staleWorkload(kube, 'ks', planned)).map((r) => `${r.kind}/${r.name}`), [`ServiceMonitor/${WEBHOOK_NAME}`]);
  assert.deepEqual(await staleWorkload(kube, 'ks', [...planned, monitor]), []);
});

test("a deploy writes the webhook configurations with the webhook keys of Kyverno's ConfigMap in the namespace, as the webhook's controller keeps them", async () => {
  const kube = new FakeKube();
  for (const name of CRDS) kube.seed({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name } });
  kube.seed({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kyverno', namespace: DEFAULT_NAMESPACE }, data: { webhookAnnotations: '{"team":"platform"}', webhooks: '{"namespaceSelector":{"matchLabels":{"env":"prod"}}}' } });
  const r = await runDeploy({
    client: kube, ui: ui(), mode: 'cluster', policies: [REQUIRE_TEAM], webhookCode: Buffer.from('// webhook'),
    certs: makeCertificates({ hosts: [`${SERVICE_NAME}.${DEFAULT_NAMESPACE}.svc`] }),
    imageDigest: async () => `sha256:${'0'.repeat(64)}`, readiness: async () => undefined, smokeCheck: false,
  });
  assert.equal(r.outcome, 'deployed', r.error);
  const vwc = kube.object('ValidatingWebhookConfiguration', VALIDATING_CONFIG)!;
  assert.deepEqual((vwc.metadata as Record<string, unknown>).annotations, { team: 'platform' });
  assert.deepEqual(((vwc.webhooks as Array<Record<string, unknown>>)[0]).namespaceSelector, { matchLabels: { env: 'prod' } });
});
