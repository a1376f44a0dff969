/** The kind cluster's workload controllers (controllers.ts) in a scenario: through admission, on the scenario's clock. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JsonObject } from '../../engine/core/types';
import { podTemplateHash, qosClass } from './controllers';
import { Scenario } from './runner';

const NS = 'chainsaw-offline';

function deployment(name: string, replicas: number, labels: Record<string, string> = {}): JsonObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name, ...labels } }, spec: { containers: [{ name: 'c', image: 'nginx:1.27' }] } } },
  };
}

const meta = (o: JsonObject | undefined) => (o?.metadata ?? {}) as { name: string; uid: string; labels?: Record<string, string>; annotations?: Record<string, string>; ownerReferences?: Array<{ kind: string; name: string; uid: string; controller?: boolean }> };
const status = (o: JsonObject | undefined) => (o?.status ?? {}) as Record<string, unknown> & { conditions?: Array<{ type: string; status: string; reason?: string; message?: string }> };

async function withScenario(run: (s: Scenario) => Promise<void>): Promise<void> {
  const scenario = new Scenario('/nonexistent');
  try {
    await run(scenario);
  } finally {
    await scenario.close();
  }
}

test('a Deployment becomes a ReplicaSet and running Pods only when time passes, created through admission as the controllers', async () => {
  await withScenario(async (s) => {
    // A mutate policy records who created each Pod, as Kyverno sees the request.
    assert.equal(await s.write('create', {
      apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'creator', annotations: { 'pod-policies.kyverno.io/autogen-controllers': 'none' } },
      spec: { background: false, rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['Pod'] } }] }, mutate: { patchStrategicMerge: { metadata: { annotations: { 'created-by': '{{ request.userInfo.username }}' } } } } }] },
    }), undefined);
    assert.equal(await s.write('apply', deployment('web', 2)), undefined);
    assert.deepEqual(s.store.list('apps/v1', 'ReplicaSet', NS), [], 'nothing happens inside the write');
    await s.clock.advance(1_000);
    const d = s.store.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'web' });
    const [rs] = s.store.list('apps/v1', 'ReplicaSet', NS);
    const hash = podTemplateHash((d!.spec as JsonObject).template);
    assert.equal(meta(rs).name, `web-${hash}`);
    assert.equal(meta(rs).labels?.['pod-template-hash'], hash);
    assert.deepEqual(meta(rs).ownerReferences?.map((r) => [r.kind, r.name, r.uid, r.controller]), [['Deployment', 'web', meta(d).uid, true]]);
    const pods = s.store.list('v1', 'Pod', NS);
    assert.equal(pods.length, 2);
    for (const pod of pods) {
      assert.match(meta(pod).name, new RegExp(`^web-${hash}-[bcdfghjklmnpqrstvwxz2456789]{5}$`));
      assert.equal(meta(pod).annotations?.['created-by'], 'system:serviceaccount:kube-system:replicaset-controller');
      assert.equal(status(pod).phase, 'Running');
      assert.deepEqual(status(pod).conditions?.map((c) => [c.type, c.status]), [['PodReadyToStartContainers', 'True'], ['Initialized', 'True'], ['Ready', 'True'], ['ContainersReady', 'True'], ['PodScheduled', 'True']]);
      assert.deepEqual((status(pod).containerStatuses as JsonObject[]).map((c) => [c.name, c.image, c.ready]), [['c', 'nginx:1.27', true]]);
      assert.equal((pod.spec as JsonObject).nodeName, 'kind-control-plane');
    }
    const ds = status(s.store.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'web' }));
    assert.deepEqual([ds.replicas, ds.updatedReplicas, ds.readyReplicas, ds.availableReplicas, ds.observedGeneration], [2, 2, 2, 2, 1]);
    assert.deepEqual(ds.conditions?.map((c) => [c.type, c.status, c.reason]), [['Available', 'True', 'MinimumReplicasAvailable'], ['Progressing', 'True', 'NewReplicaSetAvailable']]);
    assert.deepEqual([status(s.store.get({ apiVersion: 'apps/v1', kind: 'ReplicaSet', namespace: NS, name: meta(rs).name })).readyReplicas], [2]);
  });
});

test('a policy that refuses the Pods leaves the ReplicaSet short, with FailedCreate as kube reports it', async () => {
  await withScenario(async (s) => {
    assert.equal(await s.write('create', {
      apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'team', annotations: { 'pod-policies.kyverno.io/autogen-controllers': 'none' } },
      spec: { validationFailureAction: 'Enforce', rules: [{ name: 'require-team', match: { any: [{ resources: { kinds: ['Pod'] } }] }, validate: { message: 'a team label is required', pattern: { metadata: { labels: { team: '?*' } } } } }] },
    }), undefined);
    assert.equal(await s.write('apply', deployment('blocked', 2)), undefined, 'the Deployment itself is admitted');
    await s.clock.advance(1_000);
    assert.equal(s.store.list('v1', 'Pod', NS).length, 0);
    const [rs] = s.store.list('apps/v1', 'ReplicaSet', NS);
    const failure = status(rs).conditions?.find((c) => c.type === 'ReplicaFailure');
    assert.equal(failure?.reason, 'FailedCreate');
    assert.match(failure?.message ?? '', /^admission webhook "validate\.kyverno\.svc-fail" denied the request: [\s\S]*a team label is required/);
    const events = s.store.list('v1', 'Event', NS).filter((e) => e.reason === 'FailedCreate');
    assert.equal(events.length, 1);
    assert.match(String(events[0].message), /^Error creating: admission webhook/);
    const ds = status(s.store.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'blocked' }));
    assert.equal(ds.readyReplicas, undefined);
    assert.equal(ds.unavailableReplicas, 2);
    assert.deepEqual(ds.conditions?.map((c) => [c.type, c.status]), [['Available', 'False'], ['Progressing', 'True'], ['ReplicaFailure', 'True']]);
    // Compliant Pods once the template carries the label: a new ReplicaSet, the old one scaled to 0.
    assert.equal(await s.write('apply', deployment('blocked', 2, { team: 'a' })), undefined);
    await s.clock.advance(1_000);
    assert.equal(s.store.list('v1', 'Pod', NS).length, 2);
    const sets = s.store.list('apps/v1', 'ReplicaSet', NS).map((r) => (r.spec as { replicas: number }).replicas).sort();
    assert.deepEqual(sets, [0, 2]);
  });
});

test('kubectl scale goes through admission as UPDATE deployments/scale, then the controllers follow it', async () => {
  await withScenario(async (s) => {
    assert.equal(await s.write('apply', deployment('web', 3)), undefined);
    await s.clock.advance(1_000);
    assert.equal(s.store.list('v1', 'Pod', NS).length, 3);
    assert.equal(await s.write('create', {
      apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'min-two' },
      spec: { background: false, validationFailureAction: 'Enforce', rules: [{ name: 'r', match: { any: [{ resources: { kinds: ['Deployment/scale'] } }] }, validate: { message: 'at least 2 replicas', deny: { conditions: { any: [{ key: '{{ request.object.spec.replicas }}', operator: 'LessThan', value: 2 }] } } } }] },
    }), undefined);
    const d = () => s.store.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'web' })!;
    const refused = await s.scaleAs(d(), 1, { username: 'kubernetes-admin', groups: ['system:authenticated'] });
    assert.match(refused.error?.message ?? '', /at least 2 replicas/);
    const scaled = await s.scaleAs(d(), 2, { username: 'kubernetes-admin', groups: ['system:authenticated'] });
    assert.equal(scaled.error, undefined);
    await s.clock.advance(1_000);
    assert.equal(s.store.list('v1', 'Pod', NS).length, 2);
    assert.deepEqual([status(d()).replicas, status(d()).availableReplicas], [2, 2]);
  });
});

test('a Job runs a Pod; deleting the Job collects it (Background) or leaves it ownerless (Orphan)', async () => {
  for (const propagation of ['Background', 'Orphan'] as const) {
    await withScenario(async (s) => {
      const job = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'job' }, spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'bash:5', command: ['sleep', '120'] }] } } } };
      assert.equal(await s.write('create', job), undefined);
      await s.clock.advance(1_000);
      const [pod] = s.store.list('v1', 'Pod', NS);
      const stored = s.store.get({ apiVersion: 'batch/v1', kind: 'Job', namespace: NS, name: 'job' })!;
      assert.match(meta(pod).name, /^job-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
      assert.equal(meta(pod).labels?.['job-name'], 'job');
      assert.equal(meta(pod).labels?.['batch.kubernetes.io/controller-uid'], meta(stored).uid);
      assert.equal(status(pod).phase, 'Running');
      assert.equal(status(stored).active, 1);
      assert.equal((await s.removeAs(job, { username: 'kubernetes-admin', groups: ['system:authenticated'] }, propagation)).error, undefined);
      assert.equal(s.store.list('v1', 'Pod', NS).length, 1, 'the garbage collector acts when time passes');
      await s.clock.advance(1_000);
      const left = s.store.list('v1', 'Pod', NS);
      if (propagation === 'Background') assert.equal(left.length, 0);
      else assert.deepEqual(left.map((p) => [meta(p).name, meta(p).ownerReferences]), [[meta(pod).name, undefined]]);
    });
  }
});

test('a Pod the kind node cannot take stays Pending; one whose volume is not modelled says why', async () => {
  await withScenario(async (s) => {
    const pod = (name: string, spec: JsonObject): JsonObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'nginx' }], ...spec } });
    assert.equal(await s.write('create', pod('gpu', { nodeSelector: { accelerator: 'gpu' } })), undefined);
    assert.equal(await s.write('create', pod('claim', { volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'data' } }] })), undefined);
    await s.clock.advance(1_000);
    const gpu = s.store.get({ apiVersion: 'v1', kind: 'Pod', namespace: NS, name: 'gpu' });
    assert.equal(status(gpu).phase, 'Pending');
    assert.deepEqual(status(gpu).conditions?.map((c) => [c.type, c.status, c.reason]), [['PodScheduled', 'False', 'Unschedulable']]);
    assert.equal(status(s.store.get({ apiVersion: 'v1', kind: 'Pod', namespace: NS, name: 'claim' })).phase, 'Pending');
    assert.throws(() => s.assertOne({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'claim' }, status: { phase: 'Running' } }, { namespace: NS }), /stays Pending offline: it mounts the PersistentVolumeClaim chainsaw-offline\/data/);
  });
});

test('QoS classes as the API server gives them', () => {
  assert.equal(qosClass({ containers: [{ name: 'a' }] }), 'BestEffort');
  assert.equal(qosClass({ containers: [{ name: 'a', resources: { limits: { cpu: '1', memory: '1Gi' } } }] }), 'Guaranteed');
  assert.equal(qosClass({ containers: [{ name: 'a', resources: { requests: { cpu: '1' } } }] }), 'Burstable');
});
