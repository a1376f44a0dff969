/**
 * The webhook under exactly the RBAC a cluster-mode deploy gives it, against a real
 * kube-apiserver. The deploy plans its Deployment, Service, Secrets and roles as for any cluster;
 * with no kubelet here, the Deployment's pod is played by a local `serve --in-cluster` process
 * that authenticates as the webhook's ServiceAccount (a TokenRequest token) and listens on this
 * machine's non-loopback address, which a stand-in Pod carrying the Deployment's labels (on a
 * Node no kubelet reports for) publishes, so the API server reaches it through the deployed Service's Endpoints. Every
 * controller then works with those permissions only: scans and reports, events, Leases,
 * UpdateRequests and synchronized downstream objects, mutate existing with an apiCall read,
 * cleanup and the ttl label, certificate renewal, with no request refused. A policy applied later with kubectl that needs more is
 * admitted with a warning naming what is missing (and a log line and a Warning event); after
 * `deploy` again it is not.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import type { JsonObject } from '../../kube-api/client';
import { runDeploy, type DeployRequest } from '../../deploy/run';
import { DEFAULT_NAMESPACE, VALIDATING_CONFIG, WEBHOOK_NAME } from '../../deploy/plan';
import { makeCertificates } from '../../tls/certificates';
import { serviceHosts } from '../../webhook/configurations';
import { tlsSecretNames } from '../../webhook/cert-renewer';
import { LEASE_NAMES } from '../../webhook/leader';
import type { ReadinessCheck } from '../../deploy/ready';
import { bundleWebhook, kubectlInput, recordingUI, simulatedReadiness, startCluster, type TestCluster } from './harness';
import { AUDIT_OWNER, configMap, startInClusterWebhook, waitFor } from './fixtures';

const NS = DEFAULT_NAMESPACE;
const IDENTITY = 'least-privilege-replica';
let cluster: TestCluster;
let bundle = '';
let child: ChildProcess | undefined;
let log = '';
const until = <T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs?: number) => waitFor(what, probe, () => log, timeoutMs);

/** The API server refuses loopback Endpoints: the stand-in pod's address is this machine's first other IPv4 one. */
function podAddress(): string {
  const found = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal);
  if (!found) throw new Error('this test needs a non-loopback IPv4 address: the API server reaches the webhook through Endpoints, which may not be loopback');
  return found.address;
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().once('error', reject).listen(0, host, () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const GENERATE_SYNCED: JsonObject = {
  apiVersion: 'kyverno.io/v1',
  kind: 'ClusterPolicy',
  metadata: { name: 'team-defaults' },
  spec: {
    rules: [{
      name: 'synced',
      match: { any: [{ resources: { kinds: ['Namespace'], selector: { matchLabels: { 'least-privilege': 'yes' } } } }] },
      generate: { apiVersion: 'v1', kind: 'ConfigMap', name: 'synced', namespace: '{{request.object.metadata.name}}', synchronize: true, data: { data: { tier: 'gold' } } },
    }],
  },
};

const PURGE: JsonObject = {
  apiVersion: 'kyverno.io/v2',
  kind: 'ClusterCleanupPolicy',
  metadata: { name: 'purge-marked' },
  spec: { schedule: '*/1 * * * *', match: { any: [{ resources: { kinds: ['ConfigMap'], selector: { matchLabels: { purge: 'yes' } } } }] } },
};

/** Mutate existing, with an apiCall read of a kind nothing else reads. */
const STAMP: JsonObject = {
  apiVersion: 'kyverno.io/v1',
  kind: 'ClusterPolicy',
  metadata: { name: 'stamp-service-account' },
  spec: {
    rules: [{
      name: 'stamp',
      match: { any: [{ resources: { kinds: ['ConfigMap'], selector: { matchLabels: { stamp: 'yes' } } } }] },
      context: [{ name: 'quotas', apiCall: { urlPath: '/api/v1/namespaces/default/resourcequotas', jmesPath: 'items | length(@)' } }],
      mutate: {
        targets: [{ apiVersion: 'v1', kind: 'ServiceAccount', name: 'default', namespace: '{{request.object.metadata.namespace}}' }],
        patchStrategicMerge: { metadata: { annotations: { quotas: '{{ to_string(quotas) }}' } } },
      },
    }],
  },
};

const POLICIES = [AUDIT_OWNER, GENERATE_SYNCED, PURGE, STAMP];

/**
 * Where a kubelet would start the Deployment's pod: the stand-in Pod gets the address the
 * Service's Endpoints publish, and the webhook starts as the ServiceAccount deploy made (its
 * RBAC is applied by now); then the Deployment is seen rolled out.
 */
function podStarts(certs: ReturnType<typeof makeCertificates>, host: string, port: number): ReadinessCheck {
  return async (client, namespace, name, signal) => {
    if (!child) {
      // The Endpoints name the pod's node: a Node no kubelet reports for, whose taints the pod tolerates.
      await client.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'stand-in-node' } });
      await until('the stand-in Pod', () => client.create({
        apiVersion: 'v1', kind: 'Pod',
        metadata: { name: 'webhook-stand-in', namespace, labels: { 'app.kubernetes.io/name': WEBHOOK_NAME } },
        spec: { nodeName: 'stand-in-node', tolerations: [{ operator: 'Exists' }], automountServiceAccountToken: false, containers: [{ name: 'webhook', image: 'stand-in' }] },
      }));
      await client.request({
        method: 'PATCH', path: `/api/v1/namespaces/${namespace}/pods/webhook-stand-in/status`, contentType: 'application/merge-patch+json',
        body: { status: { phase: 'Running', podIP: host, podIPs: [{ ip: host }], conditions: [{ type: 'Ready', status: 'True' }] } },
      });
      await until('the Service to publish the stand-in address', async () => {
        const ep = await client.get({ apiVersion: 'v1', kind: 'Endpoints', name: 'kyverno-svc', namespace });
        return ((ep?.subsets ?? []) as JsonObject[]).some((s) => ((s.addresses ?? []) as JsonObject[]).some((a) => a.ip === host));
      });
      const token = await client.request({
        method: 'POST', path: `/api/v1/namespaces/${namespace}/serviceaccounts/${WEBHOOK_NAME}/token`,
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 7200 } },
      }) as JsonObject;
      const kubeconfig = parse(readFileSync(cluster.kubeconfig, 'utf8')) as { users: Array<{ user: Record<string, unknown> }> };
      kubeconfig.users[0].user = { token: String((token.status as JsonObject).token) };
      const file = join(cluster.state, 'webhook-sa.kubeconfig');
      writeFileSync(file, stringify(kubeconfig), { mode: 0o600 });
      ({ child, url: webhookUrl } = await startInClusterWebhook(bundle, file, (c) => (log += c), [
        '--namespace', namespace, '--report-interval-ms', '500', '--leader-election-retry-period', '500ms', '--generate-success-events',
        '--cert-renewal-interval', '2s', '--ttl-reconciliation-interval', '5s',
      ], { KYVERNO_POD_NAME: IDENTITY, KYVERNO_STUDIO_CLEANUP_CLOCK_SPEEDUP: '10' }, certs, { host, port }));
    }
    await simulatedReadiness()(client, namespace, name, signal);
  };
}

let deployRequest: Omit<DeployRequest, 'ui'>;
let webhookUrl = '';

/** The webhook's metrics, for a failure's message. */
async function metrics(): Promise<string> {
  const { request } = await import('node:https');
  return new Promise((resolve) => {
    request(`${webhookUrl}/metrics`, { ca: deployRequest.certs!.ca.certPem, servername: serviceHosts(NS)[0], checkServerIdentity: () => undefined }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve(text));
    }).on('error', (e) => resolve(String(e))).end();
  });
}

before(async () => {
  cluster = startCluster();
  bundle = await bundleWebhook();
  const host = podAddress();
  const port = await freePort(host);
  // Ten days from expiry: deploy keeps them (renewing 1 day before), the webhook's renewer (15 days, Kyverno's default) renews them.
  const certs = makeCertificates({ hosts: serviceHosts(NS), validDays: 10 });
  deployRequest = {
    client: cluster.client, mode: 'cluster', policies: POLICIES, webhookCode: readFileSync(bundle), certs, port, renewBeforeMs: 24 * 3600_000,
    imageDigest: async () => `sha256:${'0'.repeat(64)}`, readiness: podStarts(certs, host, port), smokeCheck: false,
  };
});

after(() => {
  if (process.env.KS_CLUSTER_LOG_DIR) {
    writeFileSync(join(process.env.KS_CLUSTER_LOG_DIR, 'least-privilege.log'), log);
    if (cluster) writeFileSync(join(process.env.KS_CLUSTER_LOG_DIR, 'least-privilege-apiserver.log'), readFileSync(join(cluster.state, 'kube-apiserver.log')));
  }
  child?.kill('SIGTERM');
  cluster?.stop();
});

const events = async () => [...(await cluster.client.list('events.k8s.io/v1', 'Event', 'default')), ...(await cluster.client.list('events.k8s.io/v1', 'Event', 'kube-system'))];
const cm = (name: string, namespace = 'default') => cluster.client.get({ apiVersion: 'v1', kind: 'ConfigMap', name, namespace });
const refusals = () => log.split('\n').filter((l) => /forbidden|\b403\b|cannot (get|list|watch|create|update|patch|delete)/i.test(l));

test('under the RBAC deploy derives, every controller does its work and nothing is refused', async () => {
  // A ConfigMap from before the policies: the background scan reports it.
  const existing = await cluster.client.create(configMap('existing', { team: 'a' }));
  const pairSecret = () => cluster.client.get({ apiVersion: 'v1', kind: 'Secret', name: tlsSecretNames(NS).pair, namespace: NS });
  const ui = recordingUI();
  const r = await runDeploy({ ...deployRequest, ui });
  assert.equal(r.outcome, 'deployed', `${r.error}\n${ui.lines.join('\n')}\n${log}`);
  assert.match(log, new RegExp(`background work is written as system:serviceaccount:${NS}:${WEBHOOK_NAME}`), 'the webhook runs as its ServiceAccount');

  // The webhook controller follows the policies as it loads them: until it has them all, the
  // rules it writes may lag behind the ones deploy wrote.
  await until('the controller to send ConfigMap and Namespace requests to the webhook', async () => {
    // Its own word that it wrote them, not only deploy's configuration, which it may still replace.
    if (!/kyverno-resource-validating-webhook-cfg now covers [a-z,]*(configmaps,namespaces|namespaces,configmaps)/.test(log)) return false;
    const vwc = await cluster.client.get({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', name: VALIDATING_CONFIG });
    const resources = ((vwc?.webhooks ?? []) as JsonObject[]).flatMap((w) => ((w.rules ?? []) as JsonObject[]).flatMap((x) => x.resources as string[]));
    return resources.includes('namespaces') && resources.includes('configmaps');
  });
  // Leases: one replica, every controller's.
  await until('every Lease held', async () => {
    const held = await Promise.all(Object.values(LEASE_NAMES).map((name) => cluster.client.get({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', name, namespace: NS })));
    return held.every((l) => ((l?.spec ?? {}) as JsonObject).holderIdentity === IDENTITY);
  });
  // Policy status (Ready), by the admission leader.
  await until('the policies to be Ready', async () => {
    const p = await cluster.client.get({ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', name: 'audit-owner-annotation' });
    return (((p?.status ?? {}) as JsonObject).conditions as JsonObject[] | undefined)?.some((c) => c.type === 'Ready' && c.status === 'True');
  });

  // Reports: the scan's result on the ConfigMap that was there before, and an admission's.
  const reportOf = (uid: string) => cluster.client.get({ apiVersion: 'wgpolicyk8s.io/v1alpha2', kind: 'PolicyReport', name: uid, namespace: 'default' });
  const failsOwner = (r: JsonObject | undefined) => ((r?.results ?? []) as JsonObject[]).some((x) => x.policy === 'audit-owner-annotation' && x.result === 'fail');
  await until('the scan report of the existing ConfigMap', async () => failsOwner(await reportOf(String((existing.metadata as JsonObject).uid))));
  const admitted = await cluster.client.create(configMap('admitted', { team: 'b' }));
  await until('the admission report', async () => failsOwner(await reportOf(String((admitted.metadata as JsonObject).uid)))).catch(async (e: Error) => {
    const reports = (await cluster.client.list('wgpolicyk8s.io/v1alpha2', 'PolicyReport', 'default')).map((r) => `${String((r.metadata as JsonObject).name)} ${JSON.stringify(r.results)}`);
    const vwc = await cluster.client.get({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', name: VALIDATING_CONFIG });
    if (process.env.KS_CLUSTER_LOG_DIR) writeFileSync(join(process.env.KS_CLUSTER_LOG_DIR, 'least-privilege-vwc.json'), JSON.stringify(vwc, null, 1));
    throw new Error(`${e.message}\nadmitted uid ${String((admitted.metadata as JsonObject).uid)}; reports:\n${reports.join('\n')}\nmetrics:\n${(await metrics()).split('\n').filter((l) => /admission_requests_total|policy_results_total/.test(l)).join('\n')}`);
  });

  // Generate with synchronize: an UpdateRequest, the downstream object, an edit of it undone.
  await cluster.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'lp-team', labels: { 'least-privilege': 'yes' } } });
  const downstream = await until('the generated ConfigMap', () => cm('synced', 'lp-team'));
  assert.deepEqual(downstream.data, { tier: 'gold' });
  await cluster.client.request({ method: 'PATCH', path: '/api/v1/namespaces/lp-team/configmaps/synced', contentType: 'application/merge-patch+json', body: { data: { tier: 'silver' } } });
  await until('the edited downstream put back', async () => ((await cm('synced', 'lp-team'))?.data as JsonObject | undefined)?.tier === 'gold');
  await until('the UpdateRequests done and removed', async () => (await cluster.client.list('kyverno.io/v2', 'UpdateRequest', NS)).length === 0);

  // Mutate existing: the target is read and updated, with what the apiCall read.
  await cluster.client.create(configMap('stamp-trigger', { stamp: 'yes', team: 'e' }));
  await until('the target ServiceAccount mutated', async () => ((((await cluster.client.get({ apiVersion: 'v1', kind: 'ServiceAccount', name: 'default', namespace: 'default' }))?.metadata ?? {}) as JsonObject).annotations as JsonObject | undefined)?.quotas === '0');

  // Cleanup: the policy's schedule (a minute lasts 6 s here) and the ttl label.
  await cluster.client.create(configMap('purge-me', { purge: 'yes', team: 'c' }));
  await cluster.client.create(configMap('ttl-soon', { 'cleanup.kyverno.io/ttl': '2s', team: 'd' }));
  await until('the cleanup policy to delete purge-me', async () => !(await cm('purge-me')), 60_000);
  await until('the ttl label to delete ttl-soon', async () => !(await cm('ttl-soon')), 60_000);
  await until('the cleanup run recorded', async () => ((await cluster.client.get({ apiVersion: 'kyverno.io/v2', kind: 'ClusterCleanupPolicy', name: 'purge-marked' }))?.status as JsonObject | undefined)?.lastExecutionTime);

  // Events of the scan, the generate and the cleanup controllers.
  const written = await until('events of every controller', async () => {
    const all = await events();
    const by = new Set(all.map((e) => String(e.reportingController)));
    return ['kyverno-scan', 'kyverno-generate', 'kyverno-cleanup'].every((c) => by.has(c)) && all;
  });
  assert.ok(written.some((e) => e.reason === 'PolicyViolation' && e.type === 'Warning'));

  // Certificate renewal: the admission leader renewed the ten-day certificates in the Secrets.
  await until('the certificates renewed', async () => /certificates renewed/.test(log));
  assert.notEqual(((await pairSecret())!.data as JsonObject)['tls.crt'], Buffer.from(deployRequest.certs!.serving.certPem).toString('base64'));

  assert.deepEqual(refusals(), [], 'no request of the webhook was refused');
});

test('a policy applied later that needs more is admitted with a warning saying what is missing, logged and evented; after deploy again it is not', async () => {
  const rule = { name: 'owner', match: { any: [{ resources: { kinds: ['Service'] } }] }, validate: { message: 'services need an owner', pattern: { metadata: { labels: { owner: '?*' } } } } };
  const later = { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'services-need-owner' }, spec: { validationFailureAction: 'Audit', background: true, rules: [rule] } };
  const lacking = "kyverno-studio: the webhook's service account cannot get, list, watch services, which rule owner needs (to scan and report on what it matches); run `kyverno-studio deploy` again to widen its RBAC, or grant it with a ClusterRole labelled rbac.kyverno.io/aggregate-to-reports-controller=true";
  const applied = kubectlInput(cluster, JSON.stringify(later), 'apply', '-f', '-');
  assert.equal(applied.status, 0, applied.stderr);
  assert.deepEqual(applied.stderr.split('\n').filter((l) => l.startsWith('Warning:')), [`Warning: ${lacking}`], 'kubectl prints the admission warning');
  await until('the log line', async () => log.includes(`ClusterPolicy/services-need-owner: ${lacking}`));
  const event = await until('the Warning event on the policy', async () => (await events()).find((e) => ((e.regarding ?? {}) as JsonObject).name === 'services-need-owner' && e.reason === 'PolicyError'));
  assert.equal(event.type, 'Warning');
  assert.equal(event.note, lacking);

  // Kyverno's own refusal stays: a generate rule for a kind the service account may not create.
  const quota = {
    apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'team-quota' },
    spec: { rules: [{ name: 'quota', match: { any: [{ resources: { kinds: ['Namespace'] } }] }, generate: { apiVersion: 'v1', kind: 'ResourceQuota', name: 'q', namespace: '{{request.object.metadata.name}}', data: { spec: { hard: { pods: '10' } } } } }] },
  };
  const refused = kubectlInput(cluster, JSON.stringify(quota), 'apply', '-f', '-');
  assert.notEqual(refused.status, 0, 'refused');
  assert.match(refused.stderr, new RegExp(`system:serviceaccount:${NS}:${WEBHOOK_NAME} requires permissions [a-z,]+ for resource \\S*ResourceQuota`));

  // deploy again: its RBAC now reads Services too, and an update of the policy is admitted without a warning.
  const ui = recordingUI();
  const again = await runDeploy({ ...deployRequest, certs: undefined, ui });
  assert.equal(again.outcome, 'deployed', `${again.error}\n${ui.lines.join('\n')}`);
  assert.ok(ui.lines.some((l) => /the running deployment lacks ClusterRole: core\/[a-z,]*services/.test(l)), ui.lines.join('\n'));
  const said = log.split(lacking).length;
  const updated = kubectlInput(cluster, JSON.stringify({ ...later, spec: { ...later.spec, rules: [{ ...rule, validate: { ...rule.validate, message: 'services need an owner label' } }] } }), 'apply', '-f', '-');
  assert.equal(updated.status, 0, updated.stderr);
  assert.doesNotMatch(updated.stderr, /Warning/);
  // The leader checks the new generation too: nothing more to say.
  await until('the policy update served', async () => {
    const p = await cluster.client.get({ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', name: 'services-need-owner' });
    return (((p?.status ?? {}) as JsonObject).conditions as JsonObject[] | undefined)?.some((c) => c.type === 'Ready' && c.status === 'True' && c.observedGeneration === 2);
  });
  // Its permission reviews run beside the status write: give them the time they take.
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(log.split(lacking).length, said, 'no new log line once the permission is granted');
});
