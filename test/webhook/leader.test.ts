// Leader election (webhook/leader.ts) against a scripted Lease API: after losing the Lease a
// pod's elector stops campaigning and says so (its process exits and the Deployment restarts
// it, as Kubernetes restarts Kyverno's controllers); without onLost (local mode, which nothing
// restarts) it campaigns again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeError, type JsonObject, type KubeClient } from '../../kube-api/client';
import { LeaderElector } from '../../webhook/leader';

/** One Lease held in memory; `down` makes every request fail as an unreachable API server would. */
function leaseApi() {
  const state = { lease: undefined as JsonObject | undefined, rv: 0, down: false };
  const client = {
    request: async (o: { method: string; body?: JsonObject }) => {
      if (state.down) throw new Error('connect ECONNREFUSED');
      if (o.method === 'GET') {
        if (!state.lease) throw new KubeError(404, 'NotFound', 'not found');
        return structuredClone(state.lease);
      }
      const body = o.body!;
      if (o.method === 'PUT' && (body.metadata as JsonObject).resourceVersion !== String(state.rv)) throw new KubeError(409, 'Conflict', 'modified');
      state.lease = { ...body, metadata: { ...(body.metadata as JsonObject), resourceVersion: String(++state.rv) } };
      return structuredClone(state.lease);
    },
  } as unknown as KubeClient;
  return { state, client };
}

async function until(what: string, probe: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !probe(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(probe(), what);
}

test('a lost Lease: with onLost the elector stops leading, says so once and stops campaigning', async () => {
  const { state, client } = leaseApi();
  const events: string[] = [];
  const elector = new LeaderElector({
    client, name: 'kyverno', namespace: 'kyverno', identity: 'pod-a', retryPeriodMs: 20, log: () => {},
    onStartedLeading: (signal) => {
      events.push('started');
      signal.addEventListener('abort', () => events.push('stopped'));
    },
    onLost: () => events.push('lost'),
  });
  const stop = new AbortController();
  let ended = false;
  const run = elector.run(stop.signal).then(() => (ended = true));
  await until('leading', () => elector.isLeader());
  state.down = true;
  await until('the run to end after the renew deadline', () => ended);
  assert.deepEqual(events, ['started', 'stopped', 'lost']);
  assert.equal(elector.isLeader(), false);
  // The API server back: nothing campaigns any more in this process.
  state.down = false;
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(events, ['started', 'stopped', 'lost']);
  stop.abort();
  await run;
});

test('a lost Lease without onLost (local mode): the elector campaigns again and leads once it can', async () => {
  const { state, client } = leaseApi();
  let started = 0;
  const elector = new LeaderElector({ client, name: 'kyverno', namespace: 'kyverno', identity: 'laptop', retryPeriodMs: 20, log: () => {}, onStartedLeading: () => void started++ });
  const stop = new AbortController();
  const run = elector.run(stop.signal);
  await until('leading', () => elector.isLeader());
  state.down = true;
  await until('the lease to be lost', () => !elector.isLeader());
  state.down = false;
  await until('leading again', () => elector.isLeader() && started === 2);
  stop.abort();
  await run;
});
