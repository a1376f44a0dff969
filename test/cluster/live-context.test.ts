/**
 * Live context data against a real kube-apiserver: a policy whose `configMap` context entry
 * names a ConfigMap denies or admits according to that ConfigMap's value in the cluster, and
 * follows an update of it, as Kyverno resolves the entry at evaluation time. The webhook runs
 * as a local `--in-cluster` process registered by a local-mode deploy (as in incluster.test.ts).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import type { CertificateSet } from '../../tls/certificates';
import { KubeError, type JsonObject } from '../../kube-api/client';
import { runDeploy } from '../../deploy/run';
import { bundleWebhook, recordingUI, startCluster, type TestCluster } from './harness';
import { REQUIRE_TEAM, startInClusterWebhook, waitFor } from './fixtures';

let cluster: TestCluster;
let child: ChildProcess;
let url = '';
let certs: CertificateSet;
let log = '';

const until = <T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs?: number) => waitFor(what, probe, () => log, timeoutMs);

/** ConfigMaps in `apps` whose team the ConfigMap policy-data/blocked lists are refused. */
const BLOCKED_TEAMS: JsonObject = {
  apiVersion: 'kyverno.io/v1',
  kind: 'ClusterPolicy',
  metadata: { name: 'blocked-teams' },
  spec: {
    validationFailureAction: 'Enforce',
    background: false,
    rules: [{
      name: 'team-not-blocked',
      match: { any: [{ resources: { kinds: ['ConfigMap'], namespaces: ['apps'] } }] },
      context: [{ name: 'settings', configMap: { name: 'blocked', namespace: 'policy-data' } }],
      validate: {
        message: 'team {{ request.object.metadata.labels.team }} is blocked',
        deny: { conditions: { any: [{ key: '{{ request.object.metadata.labels.team }}', operator: 'AnyIn', value: '{{ settings.data.teams | split(@, \',\') }}' }] } },
      },
    }],
  },
};

const settings = (teams: string): JsonObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'blocked', namespace: 'policy-data', labels: { team: 'platform' } }, data: { teams } });

before(async () => {
  cluster = startCluster();
  for (const name of ['kyverno-studio', 'policy-data', 'apps']) await cluster.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  await cluster.client.create(settings('red'));
  const bundle = await bundleWebhook();
  ({ child, url, certs } = await startInClusterWebhook(bundle, cluster.kubeconfig, (c) => (log += c)));
});

after(async () => {
  child?.kill('SIGTERM');
  cluster?.stop();
});

let serial = 0;
/** Creates a ConfigMap of `team` in `apps`: 'allowed', or the denial's message. */
async function create(team: string): Promise<string> {
  try {
    await cluster.client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${++serial}`, namespace: 'apps', labels: { team } }, data: {} });
    return 'allowed';
  } catch (e) {
    if (e instanceof KubeError && (e.status === 400 || e.status === 403)) return e.message;
    throw e;
  }
}

test('a configMap context entry reads the live ConfigMap and follows its updates', async () => {
  const ui = recordingUI();
  const r = await runDeploy({ client: cluster.client, ui, mode: 'local', policies: [REQUIRE_TEAM, BLOCKED_TEAMS], localUrl: url, certs, smokeTimeoutMs: 45_000 });
  assert.equal(r.outcome, 'deployed', `${r.error}\n${ui.lines.join('\n')}\n${log}`);
  await until('the webhook to watch the ConfigMap the policy reads', async () => /context data: watching configmaps policy-data\/blocked/.test(log));

  const red = await until('team red to be refused from the ConfigMap value', async () => {
    const answer = await create('red');
    return answer !== 'allowed' && answer;
  });
  assert.match(red, /team red is blocked/);
  assert.equal(await create('blue'), 'allowed');

  // The ConfigMap changes: the webhook follows it without any policy change.
  await cluster.client.apply(settings('blue'), { force: true });
  await until('team blue to be refused after the update', async () => /team blue is blocked/.test(await create('blue')));
  assert.equal(await create('red'), 'allowed', 'red is no longer listed');

});
