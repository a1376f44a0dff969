/**
 * The cluster behind the Policy Reports e2e test (reports.sh): a real kube-apiserver
 * (test/cluster/harness.ts), workloads in a few namespaces, then the workspace's policies
 * deployed in local mode to our in-cluster server, whose background scan writes the
 * PolicyReports and ClusterPolicyReports the view shows. Writes <state>/ready.json (kubeconfig
 * path and the reports' totals) once the reports are written, and stops everything on SIGTERM.
 * Usage: node --import tsx reports-cluster.ts <workspace> <stateFile>
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { JsonObject } from '../../kube-api/client';
import { runDeploy } from '../../deploy/run';
import { bundleWebhook, recordingUI, startCluster } from '../cluster/harness';
import { startInClusterWebhook, waitFor } from '../cluster/fixtures';

const [workspace, stateFile] = process.argv.slice(2);
if (!stateFile) {
  console.error('usage: reports-cluster.ts <workspace> <stateFile>');
  process.exit(2);
}
const say = (line: string) => console.log(`[reports-cluster] ${line}`);

const cluster = startCluster();
let webhookLog = '';
let stopWebhook = () => {};
const stop = () => {
  stopWebhook();
  cluster.stop();
  say('cluster stopped');
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// Stay up until the e2e run is done with the cluster.
setInterval(() => {}, 1 << 30);

/** Every policy document of the workspace's cluster-policy folders. */
function workspacePolicies(): JsonObject[] {
  const out: JsonObject[] = [];
  for (const dir of ['policies', 'cluster-policies']) {
    let files: string[] = [];
    try {
      files = readdirSync(join(workspace, dir)).filter((f) => /\.ya?ml$/.test(f));
    } catch {
      continue;
    }
    for (const f of files) for (const d of parseAllDocuments(readFileSync(join(workspace, dir, f), 'utf8'))) {
      const v = d.toJSON() as JsonObject | null;
      if (v && v.kind === 'ClusterPolicy') out.push(v);
    }
  }
  return out;
}

const pod = (name: string, namespace: string, image: string, team?: string): JsonObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace, ...(team ? { labels: { team } } : {}) },
  spec: { automountServiceAccountToken: false, containers: [{ name: 'app', image }] },
});

async function createRetrying(obj: JsonObject): Promise<void> {
  // A new namespace gets its default ServiceAccount from the controller manager a moment later.
  await waitFor(`creating ${String(obj.kind)} ${String((obj.metadata as JsonObject).name)}`, async () => {
    await cluster.client.create(obj);
    return true;
  });
}

async function main(): Promise<void> {
  await cluster.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kyverno-studio' } });
  const namespaces = ['shop', 'payments', 'staging'];
  for (const ns of namespaces) await cluster.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: ns === 'payments' ? { team: 'pay' } : {} } });
  // Workloads from before the policies: the background scan reports them (pass and fail).
  for (const ns of namespaces) {
    await createRetrying(pod('web', ns, 'registry.example.com/web:1', 'web'));
    await createRetrying(pod('legacy', ns, 'docker.io/library/nginx:1.25'));
    await createRetrying(pod('worker', ns, 'registry.example.com/worker:2'));
    await createRetrying({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: ns }, data: { a: 'b' } });
  }
  say('workloads created');
  const bundle = await bundleWebhook();
  const wh = await startInClusterWebhook(bundle, cluster.kubeconfig, (c) => (webhookLog += c), ['--report-interval-ms', '300']);
  stopWebhook = () => wh.child.kill('SIGTERM');
  const policies = workspacePolicies();
  const ui = recordingUI();
  const r = await runDeploy({ client: cluster.client, ui, mode: 'local', policies, localUrl: wh.url, certs: wh.certs, smokeTimeoutMs: 60_000 });
  if (r.outcome !== 'deployed') throw new Error(`deploy: ${r.outcome} ${r.error ?? ''}\n${ui.lines.join('\n')}\n${webhookLog.slice(-3000)}`);
  say(`deployed ${policies.length} policies: ${policies.map((p) => String((p.metadata as JsonObject).name)).join(', ')}`);
  const list = async () => [
    ...(await cluster.client.list('wgpolicyk8s.io/v1alpha2', 'PolicyReport')),
    ...(await cluster.client.list('wgpolicyk8s.io/v1alpha2', 'ClusterPolicyReport')),
  ];
  // Every pod has a report with both Pod policies' results, and the namespaces theirs.
  const reports = await waitFor(
    'the background scan reports',
    async () => {
      const all = await list();
      const podReports = all.filter((x) => (x.scope as JsonObject | undefined)?.kind === 'Pod' && ((x.results as unknown[]) ?? []).length >= 2);
      const nsReports = all.filter((x) => x.kind === 'ClusterPolicyReport');
      return podReports.length >= namespaces.length * 3 && nsReports.length >= namespaces.length && all;
    },
    () => webhookLog,
    120_000,
  );
  const totals: Record<string, number> = {};
  for (const rep of reports) for (const res of (rep.results as JsonObject[]) ?? []) totals[String(res.result)] = (totals[String(res.result)] ?? 0) + 1;
  writeFileSync(stateFile, JSON.stringify({ kubeconfig: cluster.kubeconfig, reports: reports.length, totals }, null, 2));
  say(`ready: ${reports.length} reports ${JSON.stringify(totals)}`);
}

main().catch((e: unknown) => {
  console.error(`[reports-cluster] FAILED: ${(e as Error).message}`);
  stopWebhook();
  cluster.stop();
  process.exit(1);
});
