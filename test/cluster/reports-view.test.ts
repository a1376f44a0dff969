/**
 * The Policy Reports view's model against a real kube-apiserver: reports written by the
 * in-cluster server (background scan and Audit admissions, per-resource PolicyReports and
 * ClusterPolicyReports) reach the model through list+watch as they appear, change and go.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { KubeClient, type JsonObject } from '../../kube-api/client';
import { runDeploy } from '../../deploy/run';
import { VALIDATING_CONFIG } from '../../deploy/plan';
import { ReportsModel, failurePath, type ReportRow } from '../../client/src/cluster/reports-model';
import { watchReports } from '../../client/src/cluster/reports-watch';
import { bundleWebhook, recordingUI, startCluster, type TestCluster } from './harness';
import { AUDIT_OWNER, REQUIRE_TEAM, configMap, startInClusterWebhook, waitFor } from './fixtures';

let cluster: TestCluster;
let child: ChildProcess;
let url = '';
let certs: Awaited<ReturnType<typeof startInClusterWebhook>>['certs'];
let log = '';
const watching = new AbortController();

const until = <T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs?: number) => waitFor(what, probe, () => log, timeoutMs);

const MANAGED = { 'app.kubernetes.io/managed-by': 'kyverno-studio' };
const AUDIT_NAMESPACE_TEAM: JsonObject = {
  apiVersion: 'kyverno.io/v1',
  kind: 'ClusterPolicy',
  metadata: { name: 'namespaces-need-team', labels: MANAGED },
  spec: {
    validationFailureAction: 'Audit',
    background: true,
    rules: [{ name: 'ns-team', match: { any: [{ resources: { kinds: ['Namespace'] } }] }, validate: { message: 'namespaces need a team', pattern: { metadata: { labels: { team: '?*' } } } } }],
  },
};

before(async () => {
  cluster = startCluster();
  await cluster.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kyverno-studio' } });
  const bundle = await bundleWebhook();
  ({ child, url, certs } = await startInClusterWebhook(bundle, cluster.kubeconfig, (c) => (log += c), ['--report-interval-ms', '300']));
});

after(async () => {
  watching.abort();
  child?.kill('SIGTERM');
  cluster?.stop();
});

function rowsFor(model: ReportsModel, kind: string, name: string): ReportRow[] {
  const out: ReportRow[] = [];
  const walk = (node = model.tree) => {
    for (const r of node.rows?.values() ?? []) if (r.resource?.kind === kind && r.resource.name === name) out.push(r);
    for (const c of node.children.values()) walk(c);
  };
  walk();
  return out;
}

const summary = (rows: ReportRow[]) => rows.map((r) => `${r.policy}/${r.rule}=${r.result}`).sort();

test('the watch-driven model sees reports appear, update and disappear', async () => {
  const ui = recordingUI();
  const r = await runDeploy({ client: cluster.client, ui, mode: 'local', policies: [REQUIRE_TEAM], localUrl: url, certs, smokeTimeoutMs: 45_000 });
  assert.equal(r.outcome, 'deployed', `${r.error}\n${ui.lines.join('\n')}\n${log}`);

  // The view's own client: read from the kubeconfig as the extension reads it.
  const model = new ReportsModel();
  let changes = 0;
  const viewClient = KubeClient.fromKubeconfig(cluster.kubeconfig);
  void watchReports(viewClient, model, { signal: watching.signal, log: (l) => (log += `[view] ${l}\n`), onChange: () => changes++, debounceMs: 100 });
  await until('the first list of reports', async () => changes > 0);

  await cluster.client.apply({ ...AUDIT_OWNER, metadata: { ...(AUDIT_OWNER.metadata as JsonObject), labels: MANAGED } }, { force: true });
  await cluster.client.apply(AUDIT_NAMESPACE_TEAM, { force: true });
  await until('the server to serve the Audit policies', async () => /serving 3 policies/.test(log) || undefined);
  // Admission reviews of Namespaces reach the server once the controller adds them to the rules.
  await until('the webhook rules to cover namespaces', async () => {
    const vwc = await cluster.client.get({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', name: VALIDATING_CONFIG });
    return ((vwc?.webhooks ?? []) as JsonObject[]).some((w) => (w.rules as JsonObject[]).some((x) => (x.resources as string[]).includes('namespaces')));
  });

  // Appear: an admitted ConfigMap's PolicyReport, and a Namespace's ClusterPolicyReport.
  await cluster.client.create(configMap('shop', { team: 'a' }));
  await cluster.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'no-team' } });
  const appeared = await until('the ConfigMap results in the model', async () => {
    const rows = rowsFor(model, 'ConfigMap', 'shop');
    return summary(rows).join() === 'audit-owner-annotation/check-owner=fail,require-team-label/check-team=pass' && rows;
  });
  assert.deepEqual(appeared.map((x) => x.namespace), ['default', 'default']);
  const failing = appeared.find((x) => x.result === 'fail')!;
  assert.match(failing.message, /annotation 'owner' is recommended/);
  const live = await cluster.client.get({ apiVersion: 'v1', kind: 'ConfigMap', name: 'shop', namespace: 'default' });
  assert.deepEqual(failurePath(live, failing.message)?.slice(0, 2), ['metadata', 'annotations'], 'the message locates the failing field in the live object');
  const nsRows = await until('the Namespace results (a ClusterPolicyReport)', async () => {
    const rows = rowsFor(model, 'Namespace', 'no-team');
    return rows.length > 0 && rows;
  });
  assert.deepEqual(summary(nsRows), ['namespaces-need-team/ns-team=fail']);
  assert.equal(nsRows[0].namespace, '', 'cluster-scoped: grouped under the cluster');
  // The background scan reports every namespace (none has a team label), the admission `no-team`.
  const nsGroup = model.nodeAt(['', 'namespaces-need-team', 'ns-team'])!;
  assert.equal(nsGroup.counts.fail, nsGroup.rows!.size);
  assert.ok([...nsGroup.rows!.values()].some((x) => x.resource?.name === 'no-team'));

  // Update: the owner annotation makes the Audit rule pass on the next admission.
  const fails = () => model.nodeAt(['default', 'audit-owner-annotation', 'check-owner'])!.counts.fail;
  const failsBefore = fails();
  await cluster.client.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'shop', namespace: 'default', labels: { team: 'a' }, annotations: { owner: 'me' } } }, { force: true });
  await until('the updated report in the model', async () => summary(rowsFor(model, 'ConfigMap', 'shop')).join() === 'audit-owner-annotation/check-owner=pass,require-team-label/check-team=pass');
  assert.equal(fails(), failsBefore - 1, 'one failure fewer in the group');

  // Disappear: a deleted resource takes its report (garbage collector) and the model forgets it.
  await cluster.client.delete({ apiVersion: 'v1', kind: 'ConfigMap', name: 'shop', namespace: 'default' });
  await until('the ConfigMap rows to leave the model', async () => rowsFor(model, 'ConfigMap', 'shop').length === 0, 120_000);
  assert.ok(rowsFor(model, 'Namespace', 'no-team').length > 0, 'other reports stay');
  await cluster.client.delete({ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', name: 'namespaces-need-team' });
  // Pruning a policy empties its results in every report (ClusterPolicyReports of all namespaces).
  await until('the Namespace rows to leave the model', async () => model.nodeAt(['']) === undefined, 60_000);
  assert.deepEqual(rowsFor(model, 'Namespace', 'no-team'), []);

  // The model agrees with a fresh list of the cluster's reports.
  const listed = [
    ...(await cluster.client.list('wgpolicyk8s.io/v1alpha2', 'PolicyReport')),
    ...(await cluster.client.list('wgpolicyk8s.io/v1alpha2', 'ClusterPolicyReport')),
  ];
  const fresh = new ReportsModel();
  for (const rep of listed) fresh.setReport(`${String(rep.kind)}|${String((rep.metadata as JsonObject).namespace ?? '')}|${String((rep.metadata as JsonObject).name)}`, rep);
  assert.deepEqual(model.totals, fresh.totals);
  assert.equal(model.reportCount, fresh.reportCount);
});
