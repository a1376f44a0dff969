// The Policy Reports model fed through kube-api/watch.ts by a scripted API server: list, watch
// events, a watch that expires (410 Gone) and a relist in which a report has gone meanwhile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JsonObject, KubeClient } from '../../kube-api/client';
import { KubeError } from '../../kube-api/client';
import { ReportsModel, emptyCounts } from '../../client/src/cluster/reports-model';
import { watchReports } from '../../client/src/cluster/reports-watch';

function report(name: string, namespace: string, result: string, rv: string): JsonObject {
  return {
    metadata: { name, namespace, resourceVersion: rv },
    scope: { apiVersion: 'v1', kind: 'ConfigMap', name, namespace },
    results: [{ policy: 'p', rule: 'r', result, message: 'm' }],
  };
}

test('list, watch events, a 410 and a relist keep the model equal to the cluster', async () => {
  const lists: Array<Record<string, JsonObject[]>> = [
    { policyreports: [report('a', 'ns1', 'fail', '1'), report('b', 'ns1', 'pass', '2')], clusterpolicyreports: [] },
    // The relist after the watch expired: `a` went while no watch was open, `c` came.
    { policyreports: [report('b', 'ns1', 'pass', '2'), report('c', 'ns2', 'warn', '9')], clusterpolicyreports: [] },
  ];
  const listed: Record<string, number> = {};
  const watches: string[] = [];
  const abort = new AbortController();
  let relisted!: () => void;
  const relistDone = new Promise<void>((r) => (relisted = r));
  const fake = {
    resourceFor: async (_v: string, kind: string) => ({ plural: kind.toLowerCase() + 's', namespaced: kind === 'PolicyReport', verbs: ['list', 'watch'] }),
    forgetDiscovery: () => {},
    pathFor: async (ref: { kind: string }) => `/apis/wgpolicyk8s.io/v1alpha2/${ref.kind.toLowerCase()}s`,
    request: async ({ path }: { path: string }) => {
      const plural = path.split('/').pop()!;
      const n = (listed[plural] = (listed[plural] ?? 0) + 1);
      if (plural === 'policyreports' && n === 2) setTimeout(relisted, 50);
      return { metadata: { resourceVersion: String(n * 10) }, items: lists[Math.min(n, lists.length) - 1][plural] };
    },
    watch: async (path: string, rv: string, onEvent: (e: { type: string; object: JsonObject }) => void, signal?: AbortSignal) => {
      const plural = path.split('/').pop()!;
      watches.push(`${plural}@${rv}`);
      if (plural === 'policyreports' && listed[plural] === 1) {
        onEvent({ type: 'MODIFIED', object: report('a', 'ns1', 'pass', '11') });
        onEvent({ type: 'ADDED', object: report('d', 'ns3', 'error', '12') });
        onEvent({ type: 'DELETED', object: report('d', 'ns3', 'error', '13') });
        throw new KubeError(410, 'Expired', 'too old resource version');
      }
      // Later watches stay open until the test ends.
      await new Promise<void>((r) => signal?.addEventListener('abort', () => r(), { once: true }));
    },
  } as unknown as KubeClient;

  const model = new ReportsModel();
  const totalsSeen: string[] = [];
  const done = watchReports(fake, model, { signal: abort.signal, log: () => {}, onChange: () => totalsSeen.push(JSON.stringify(model.totals)), debounceMs: 10 });
  await relistDone;
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(model.totals, { ...emptyCounts(), pass: 1, warn: 1 }, 'a is gone (absent from the relist), b stays, c came, d came and went');
  assert.equal(model.reportCount, 2);
  assert.deepEqual(model.childrenOf(model.tree).map((g) => g.value), ['ns1', 'ns2']);
  // The first watch resumed from the list's resourceVersion; the one after the relist from the relist's.
  assert.ok(watches.includes('policyreports@10') && watches.includes('policyreports@20'), watches.join());
  assert.ok(totalsSeen.length > 0, 'the view was told');
  abort.abort();
  await done;
});
