// Reused policy responses (engine/evaluate ResponseMemo, kept per file by ManifestResults)
// never change a diagnostic: a server that saw the workspace grow (a scan reporting progress)
// or a policy change answers as a cold server evaluating everything at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { evaluateResources, offlineCluster, ResponseMemo } from '../../engine/evaluate';
import { parseFile, policySet, ManifestResults, type WorkspacePolicy } from '../../server/src/service';
import { WorkspaceIndex } from '../../server/src/workspace';
import { diskFiles } from '../../server/src/disk-files';
import { WITHOUT_CORPUS } from '../fixtures/corpus-cases';
import type { JsonObject } from '../../engine/core/types';

const LIBRARY = resolve(__dirname, '../../../shared/conformance/kyverno-policies');
const now = new Date('2026-01-01T00:00:00Z');

const MANIFESTS = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web}
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      hostNetwork: true
      containers:
      - name: web
        image: nginx:latest
        securityContext:
          privileged: true
---
apiVersion: v1
kind: Pod
metadata:
  name: tool
spec:
  containers:
  - name: tool
    image: busybox
    resources:
      limits: {memory: 1Gi}
`;

async function library(): Promise<WorkspacePolicy[]> {
  const index = new WorkspaceIndex(diskFiles(['pod-security', 'best-practices', 'best-practices-mpol', 'other-mpol', 'pod-security-vpol', 'other'].map((d) => join(LIBRARY, d))));
  await index.scanInSlices();
  return index.policies();
}

test('a workspace that grows in steps ends with the diagnostics of a cold evaluation', { skip: WITHOUT_CORPUS }, async () => {
  const all = await library();
  assert.ok(all.length > 100, `${all.length} documents`);
  const file = parseFile('file:///elsewhere/app.yaml', MANIFESTS);
  const cold = new ManifestResults({ now }).diagnostics(file, policySet(all));
  assert.ok(cold.length > 10, `${cold.length} diagnostics`);
  const warm = new ManifestResults({ now });
  // Steps in a shuffled order, so mutate policies also arrive before policies already evaluated.
  const shuffled = [...all].sort((a, b) => JSON.stringify(a.value).length % 7 - JSON.stringify(b.value).length % 7);
  for (const n of [10, 40, 90, shuffled.length]) warm.diagnostics(file, policySet(shuffled.slice(0, n)));
  assert.deepEqual(warm.diagnostics(file, policySet(all)), cold);
});

test('the memo reuses responses for a resource on which every read of the evaluation reads the same', { skip: WITHOUT_CORPUS }, async () => {
  const all = (await library()).filter((w) => w.role === 'policy').map((w) => w.value);
  const resource = parseFile('x', MANIFESTS).docs[0].value as JsonObject;
  const run = (policies: JsonObject[], res: JsonObject, memo?: ResponseMemo) =>
    evaluateResources({ policies, resources: [res], cluster: offlineCluster({ resources: [res] }), now, memo })[0];
  const memo = new ResponseMemo();
  const half = all.slice(0, Math.floor(all.length / 2));
  run(half, resource, memo);
  assert.equal(memo.hits, 0);
  const full = run(all, resource, memo);
  assert.ok(memo.hits > 0, 'the first half was reused');
  assert.ok(memo.misses >= all.length - half.length);
  assert.deepEqual(full, run(all, resource));
  // A changed resource: responses whose evaluation read nothing that changed are reused,
  // the others are computed again, and together they are what a fresh run gives.
  const changed = { ...resource, metadata: { ...(resource.metadata as JsonObject), labels: { app: 'other' } } };
  const [hits, misses] = [memo.hits, memo.misses];
  assert.deepEqual(run(all, changed, memo), run(all, changed));
  assert.ok(memo.hits > hits, 'policies that do not read labels were reused');
  assert.ok(memo.misses > misses, 'policies that read labels were evaluated again');
  // A value JSON cannot carry exactly has no key: never looked up.
  assert.equal(memo.keyOf({ ...resource, spec: { replicas: Infinity } }), null);
  assert.equal(memo.keyOf({ ...resource, spec: { replicas: -0 } }), null);
});
