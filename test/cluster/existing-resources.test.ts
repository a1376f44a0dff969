/**
 * What a running in-cluster server does about resources and exceptions it did not see being
 * admitted, against a real kube-apiserver (the server is a local `--in-cluster` process,
 * registered by a local-mode deploy): an UPDATE of a Deployment that already violates an Enforce
 * policy (`allowExistingViolations`), a PolicyException applied and deleted with kubectl, and a
 * resource changed without its admission being evaluated, which only the periodic background
 * scan (`--background-scan-interval`) brings into its PolicyReport.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CertificateSet } from '../../tls/certificates';
import { KubeError, type JsonObject } from '../../kube-api/client';
import { runDeploy } from '../../deploy/run';
import { bundleWebhook, kubectl, recordingUI, startCluster, type TestCluster } from './harness';
import { AUDIT_OWNER, REQUIRE_TEAM, configMap, startInClusterWebhook, waitFor } from './fixtures';

/** The periodic scan's interval: short enough for the test, long enough to see a change wait for it. */
const SCAN_INTERVAL_MS = 8000;
/** A user whose requests the server is configured to leave alone (Kyverno's excludeUsernames). */
const EXCLUDED_USER = 'unchecked-operator';

let cluster: TestCluster;
let child: ChildProcess;
let url = '';
let certs: CertificateSet;
let log = '';
const dir = mkdtempSync(join(tmpdir(), 'ks-existing-'));

const until = <T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs?: number) => waitFor(what, probe, () => log, timeoutMs);

before(async () => {
  cluster = startCluster();
  const bundle = await bundleWebhook();
  ({ child, url, certs } = await startInClusterWebhook(bundle, cluster.kubeconfig, (c) => (log += c), [
    '--report-interval-ms', '300', '--background-scan-interval', `${SCAN_INTERVAL_MS}ms`, '--exclude-usernames', EXCLUDED_USER,
  ]));
  const ui = recordingUI();
  const r = await runDeploy({ client: cluster.client, ui, mode: 'local', policies: [REQUIRE_TEAM], localUrl: url, certs, smokeTimeoutMs: 45_000 });
  assert.equal(r.outcome, 'deployed', `${r.error}\n${ui.lines.join('\n')}\n${log}`);
});

after(async () => {
  child?.kill('SIGTERM');
  cluster?.stop();
});

/** `kubectl apply` of one object written to a file, as a user would. */
function kubectlApply(obj: JsonObject): string {
  const file = join(dir, `${String((obj.metadata as JsonObject).name)}-${Date.now()}.json`);
  writeFileSync(file, JSON.stringify(obj));
  return kubectl(cluster, 'apply', '-f', file);
}

/** The answer to a dry-run request: 'admitted', or the denial's message when one of our policies denied it. */
async function answer(send: () => Promise<unknown>): Promise<string> {
  try {
    await send();
    return 'admitted';
  } catch (e) {
    if (e instanceof KubeError && e.status === 403 && /denied the request/.test(e.message)) return e.message;
    throw e;
  }
}

/** Pods need an `owner` label; autogen carries the rule to the Deployment's pod template. */
function podsNeedOwner(allowExistingViolations?: boolean): JsonObject {
  return {
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name: 'pods-need-owner' },
    spec: {
      background: false,
      rules: [{
        name: 'owner',
        match: { any: [{ resources: { kinds: ['Pod'] } }] },
        validate: {
          failureAction: 'Enforce',
          message: 'pods need an owner label',
          ...(allowExistingViolations === undefined ? {} : { allowExistingViolations }),
          pattern: { metadata: { labels: { owner: '?*' } } },
        },
      }],
    },
  };
}

const deployment = (name: string): JsonObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'default', labels: { team: 'x' } },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
  },
});

test("allowExistingViolations: `kubectl rollout restart` of a Deployment that already violates goes through by default, and is denied with allowExistingViolations: false", async () => {
  // Created before any policy selects it: it violates from the start.
  await cluster.client.create(deployment('legacy'));
  kubectlApply(podsNeedOwner());
  // The policy is in force for Deployments (autogen) once a new violating Deployment is denied.
  const created = await until('a new Deployment without an owner to be denied', async () => {
    const a = await answer(() => cluster.client.create(deployment('fresh'), { dryRun: true }));
    return a !== 'admitted' && a;
  });
  assert.match(created, /pods-need-owner/);
  assert.match(created, /autogen-owner/);

  // The same patch `kubectl rollout restart` sends: a new annotation on the pod template.
  const restartPatch = () => cluster.client.request({
    method: 'PATCH', path: '/apis/apps/v1/namespaces/default/deployments/legacy', query: { dryRun: 'All' },
    body: { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() } } } } },
    contentType: 'application/strategic-merge-patch+json',
  });
  // Default (true): old and new both fail, so the rule is skipped and the restart is admitted.
  assert.match(kubectl(cluster, 'rollout', 'restart', 'deployment/legacy'), /restarted/);
  const restarted = await cluster.client.get({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'legacy', namespace: 'default' });
  assert.ok((((restarted!.spec as JsonObject).template as JsonObject).metadata as JsonObject).annotations, 'the restart was stored');

  kubectlApply(podsNeedOwner(false));
  const denied = await until('the restart patch to be denied once allowExistingViolations is false', async () => {
    const a = await answer(restartPatch);
    return a !== 'admitted' && a;
  });
  assert.match(denied, /pods-need-owner/);
  assert.match(denied, /pods need an owner label/);
  // kubectl itself is refused with the policy's message.
  assert.throws(() => kubectl(cluster, 'rollout', 'restart', 'deployment/legacy'), (e: Error & { stderr?: string }) => /denied the request/.test(String(e.stderr)) && /pods need an owner label/.test(String(e.stderr)));
  // An update that mends the violation is admitted either way.
  const mend = { spec: { template: { metadata: { labels: { owner: 'me' } } } } };
  assert.equal(await answer(() => cluster.client.request({ method: 'PATCH', path: '/apis/apps/v1/namespaces/default/deployments/legacy', query: { dryRun: 'All' }, body: mend, contentType: 'application/strategic-merge-patch+json' })), 'admitted');

  await cluster.client.delete({ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', name: 'pods-need-owner' });
  await cluster.client.delete({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'legacy', namespace: 'default' });
});

test('a PolicyException applied with kubectl lets a denied request through; deleting it denies it again', async () => {
  const unlabelled = () => answer(() => cluster.client.create(configMap('exempt-cm'), { dryRun: true }));
  const before = await unlabelled();
  assert.match(before, /require-team-label/);
  assert.match(before, /label '+team'+ is required/);
  const exception: JsonObject = {
    apiVersion: 'kyverno.io/v2',
    kind: 'PolicyException',
    metadata: { name: 'exempt-configmaps', namespace: 'default' },
    spec: {
      exceptions: [{ policyName: 'require-team-label', ruleNames: ['check-team'] }],
      match: { any: [{ resources: { kinds: ['ConfigMap'], names: ['exempt-*'] } }] },
    },
  };
  assert.match(kubectlApply(exception), /policyexception\.kyverno\.io\/exempt-configmaps created/);
  await until('the excepted ConfigMap to be admitted', async () => (await unlabelled()) === 'admitted');
  // Only what the exception matches.
  assert.match(await answer(() => cluster.client.create(configMap('other-cm'), { dryRun: true })), /label '+team'+ is required/);
  kubectl(cluster, 'delete', 'policyexception', 'exempt-configmaps', '-n', 'default');
  const after = await until('the ConfigMap to be denied again once the exception is deleted', async () => {
    const a = await unlabelled();
    return a !== 'admitted' && a;
  });
  assert.match(after, /label '+team'+ is required/);
});

test('the periodic background scan: a change admission did not evaluate reaches the PolicyReport at the next scan, within the interval', async () => {
  const scanLine = /background scan audit-owner-annotation: \d+ resource\(s\) evaluated/g;
  const scansSince = (mark: number) => (log.slice(mark).match(scanLine) ?? []).length;
  const cm = await cluster.client.create({ ...configMap('drifting', { team: 'a' }), metadata: { name: 'drifting', namespace: 'default', labels: { team: 'a' }, annotations: { owner: 'me' } } });
  const uid = String((cm.metadata as JsonObject).uid);
  await cluster.client.apply(AUDIT_OWNER, { force: true });
  const ownerResult = async () => {
    const report = await cluster.client.get({ apiVersion: 'wgpolicyk8s.io/v1alpha2', kind: 'PolicyReport', name: uid, namespace: 'default' });
    return ((report?.results ?? []) as JsonObject[]).find((r) => r.policy === 'audit-owner-annotation')?.result as string | undefined;
  };
  await until('the first scan to report the ConfigMap as passing', async () => (await ownerResult()) === 'pass');

  // Edit it right after a periodic scan, as a user whose requests the server skips: nothing evaluates the change then.
  const mark = log.length;
  await until('a periodic scan', async () => scansSince(mark) > 0, SCAN_INTERVAL_MS * 3);
  const editMark = log.length;
  const editedAt = Date.now();
  kubectl(cluster, '--as', EXCLUDED_USER, '--as-group', 'system:masters', 'annotate', 'configmap', 'drifting', 'owner-');
  // Well before the next tick, the report still says what the last scan saw.
  await new Promise((r) => setTimeout(r, SCAN_INTERVAL_MS / 4));
  assert.equal(scansSince(editMark), 0, 'no scan yet: the check below is before the next tick');
  assert.equal(await ownerResult(), 'pass', 'the skipped admission wrote nothing');

  await until('the next periodic scan to report the change', async () => (await ownerResult()) === 'fail', SCAN_INTERVAL_MS * 3);
  const elapsedMs = Date.now() - editedAt;
  assert.ok(scansSince(editMark) > 0, 'reported by a scan that ran after the edit');
  // The next tick is at most one interval after the edit; the report is flushed within its interval (300 ms) plus scheduling on a loaded machine.
  assert.ok(elapsedMs <= SCAN_INTERVAL_MS + 4000, `reported ${elapsedMs} ms after the edit (interval ${SCAN_INTERVAL_MS} ms)`);
  process.stderr.write(`change reported by the periodic scan ${elapsedMs} ms after the edit\n`);
  await cluster.client.delete({ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', name: 'audit-owner-annotation' });
});
