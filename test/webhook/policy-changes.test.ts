/**
 * Generate rules across policy events (webhook/policy-changes.ts and the background
 * controller), as Kyverno's policy controller handles them: a deleted policy or rule takes its
 * synchronized downstream objects with it unless orphanDownstreamOnPolicyDelete, a changed
 * `data` reaches the downstream objects, a retargeted rule un-labels its old targets. Driven
 * through the offline runner's API server, which runs the webhook's own admission and
 * background code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JsonObject } from '../../engine/core/types';
import { downstreamToDelete, ruleChange, syncedDataKinds } from '../../webhook/policy-changes';
import { Scenario } from '../chainsaw/runner';
import { labelsMatchSelector, normalizeSecret } from '../chainsaw/store';
import { immutableGenerateFields } from '../../engine/policy/admission-checks';

function policy(name: string, rules: JsonObject[]): JsonObject {
  return { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name }, spec: { rules } };
}

function dataRule(name: string, target: string, data: JsonObject, extra: JsonObject = {}): JsonObject {
  return {
    name,
    match: { any: [{ resources: { kinds: ['Namespace'] } }] },
    generate: { apiVersion: 'v1', kind: 'ConfigMap', name: target, namespace: '{{request.object.metadata.name}}', synchronize: true, data, ...extra },
  };
}

const configMap = (s: Scenario, name: string, ns: string) => s.store.get({ apiVersion: 'v1', kind: 'ConfigMap', name, namespace: ns });

test('rule changes: removed rules, retargeted rules, the kinds to clean up and to synchronize', () => {
  const a = dataRule('a', 'cm-a', { data: { k: '1' } });
  const b = dataRule('b', 'cm-b', { data: { k: '1' } }, { synchronize: false });
  const old = policy('p', [a, b]);
  assert.deepEqual(ruleChange(old, policy('p', [a])).deletedRules.map((r) => r.name), ['b']);
  const retargeted = ruleChange(old, policy('p', [dataRule('a', 'other', { data: {} }), b]));
  assert.deepEqual([retargeted.deletedRules.length, retargeted.relabel], [0, [{ rule: 'a', kinds: ['ConfigMap'] }, { rule: 'b', kinds: [] }]]);
  // Only synchronized rules without orphanDownstreamOnPolicyDelete lose their downstream.
  assert.deepEqual(downstreamToDelete(old), [{ rule: 'a', kinds: [{ apiVersion: 'v1', kind: 'ConfigMap' }] }]);
  assert.deepEqual(downstreamToDelete(policy('p', [dataRule('a', 'x', {}, { orphanDownstreamOnPolicyDelete: true })])), []);
  const cloneList = { name: 'c', match: {}, generate: { namespace: 'n', synchronize: true, cloneList: { namespace: 'default', kinds: ['v1/Secret', 'ConfigMap', 'v1/*'] } } };
  assert.deepEqual(downstreamToDelete(policy('p', [cloneList])), [{ rule: 'c', kinds: [{ apiVersion: 'v1', kind: 'Secret' }, { apiVersion: 'v1', kind: 'ConfigMap' }] }]);
  // A synchronized single clone loses its downstream too (Kyverno 1.19 has no data-only check any more).
  const clone = { name: 'k', match: {}, generate: { apiVersion: 'v1', kind: 'Secret', name: 'regcred', namespace: 'n', synchronize: true, clone: { namespace: 'default', name: 'regcred' } } };
  assert.deepEqual(downstreamToDelete(policy('p', [clone])), [{ rule: 'k', kinds: [{ apiVersion: 'v1', kind: 'Secret' }] }]);
  // Data rules only are synchronized on policy events; foreach entries with data count.
  const foreach = { name: 'f', match: {}, generate: { synchronize: true, foreach: [{ list: 'x', apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', name: 'n', data: {} }] } };
  assert.deepEqual(syncedDataKinds(policy('p', [a, b, cloneList, foreach])), [
    { rule: 'a', kinds: [{ apiVersion: 'v1', kind: 'ConfigMap' }] },
    { rule: 'f', kinds: [{ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy' }] },
  ]);
});

test('policy update: a generate rule\'s immutable fields are refused, a changed target is a warning, data may change', () => {
  const old = policy('p', [dataRule('a', 'cm-a', { data: { k: '1' } })]);
  assert.deepEqual(immutableGenerateFields(policy('p', [dataRule('a', 'cm-a', { data: { k: '2' } })]), old), {});
  assert.deepEqual(immutableGenerateFields(policy('p', [dataRule('renamed', 'cm-a', { data: { k: '1' } })]), old), { error: 'changes of immutable fields of a rule spec in a generate rule is disallowed' });
  const rematched = dataRule('a', 'cm-a', { data: { k: '1' } });
  rematched.match = { any: [{ resources: { kinds: ['Pod'] } }] };
  assert.match(immutableGenerateFields(policy('p', [rematched]), old).error ?? '', /immutable/);
  // Without a synchronizing rule in the old policy, match may change.
  const unsynced = policy('p', [dataRule('a', 'cm-a', { data: {} }, { synchronize: false })]);
  const unsyncedRematched = structuredClone(rematched);
  (unsyncedRematched.generate as JsonObject).synchronize = false;
  assert.deepEqual(immutableGenerateFields(policy('p', [unsyncedRematched]), unsynced), {});
  assert.deepEqual(immutableGenerateFields(policy('p', [dataRule('a', 'cm-b', { data: { k: '1' } })]), old), { warning: 'changes in the generate rule pattern could result in stale targets' });
});

test('policy events: data changes reach the downstream (removed list elements go), a deleted rule and a deleted policy take their synchronized downstream', async () => {
  const s = new Scenario('/nonexistent');
  try {
    const v1 = policy('p', [dataRule('keep', 'kept', { data: { list: 'a,b' } }), dataRule('drop', 'dropped', { data: { k: 'v' } })]);
    assert.equal(await s.write('apply', v1), undefined);
    assert.equal(await s.write('apply', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } }), undefined);
    assert.deepEqual(configMap(s, 'kept', 'team')?.data, { list: 'a,b' });
    assert.ok(configMap(s, 'dropped', 'team'));
    // Data edited (a key removed, a value changed) and the second rule removed.
    const v2 = policy('p', [dataRule('keep', 'kept', { data: { other: 'x' } })]);
    const warnings = await s.write('apply', v2);
    assert.equal(warnings, undefined);
    assert.deepEqual(configMap(s, 'kept', 'team')?.data, { other: 'x' }, s.log.join('\n'));
    assert.equal(configMap(s, 'dropped', 'team'), undefined, s.log.join('\n'));
    assert.equal(await s.remove({ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'p' } }), undefined);
    assert.equal(configMap(s, 'kept', 'team'), undefined, s.log.join('\n'));
    // orphanDownstreamOnPolicyDelete keeps them.
    assert.equal(await s.write('apply', policy('q', [dataRule('keep', 'orphan', { data: { k: 'v' } }, { orphanDownstreamOnPolicyDelete: true })])), undefined);
    assert.equal(await s.write('apply', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team2' } }), undefined);
    assert.ok(configMap(s, 'orphan', 'team2'));
    await s.remove({ apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'q' } });
    assert.ok(configMap(s, 'orphan', 'team2'));
  } finally {
    await s.close();
  }
});

test('offline API server: label selectors on list, Secret stringData converted before admission', () => {
  assert.equal(labelsMatchSelector({ a: '1', b: '' }, 'a=1,b='), true);
  assert.equal(labelsMatchSelector({ a: '1' }, 'a==2'), false);
  assert.equal(labelsMatchSelector({ a: '1' }, 'a,!c'), true);
  assert.equal(labelsMatchSelector({ a: '1' }, 'a!=1'), false);
  assert.deepEqual(normalizeSecret({ apiVersion: 'v1', kind: 'Secret', data: { x: 'eA==', y: 'old' }, stringData: { y: 'new' } }), { apiVersion: 'v1', kind: 'Secret', data: { x: 'eA==', y: 'bmV3' } });
});

test('offline API server: server-side apply keeps fields others wrote and drops those the webhook no longer applies', async () => {
  const { ObjectStore, StoreClient } = await import('../chainsaw/store');
  const store = new ObjectStore();
  const client = new StoreClient(store);
  // The API server refuses objects in a namespace that does not exist.
  store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n' } });
  const ref = { apiVersion: 'v1', kind: 'ConfigMap', name: 'c', namespace: 'n' };
  await client.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'n' }, data: { a: '1', b: '1' } });
  store.replace({ ...store.get(ref)!, data: { a: '1', b: '1', user: 'x' } });
  await client.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'n' }, data: { a: '2' } });
  assert.deepEqual(store.get(ref)?.data, { a: '2', user: 'x' });
});

test('a deleted policy\'s downstream list is persisted in the UpdateRequest status, and the leader waits for the status of every request', async () => {
  const { updateRequestFor, jobOf, AWAITS_STATUS_ANNOTATION } = await import('../../webhook/background');
  const job = { type: 'generate' as const, policy: 'p', rule: 'r', resource: { apiVersion: 'v1', kind: 'Namespace', name: '', uid: 'u1' }, deleteDownstream: true, generatedResources: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'c', namespace: 'n' }] };
  const ur = updateRequestFor(job, 'kyverno');
  assert.equal(((ur.metadata as JsonObject).annotations as JsonObject)[AWAITS_STATUS_ANNOTATION], 'true');
  assert.equal(jobOf(ur)?.generatedResources, undefined, 'the create carries no status');
  assert.deepEqual(jobOf({ ...ur, status: { state: 'Pending', generatedResources: job.generatedResources } }), { ...job, request: undefined });
  // Every request's status (Pending) is written after it is created, as Kyverno's generator writes it.
  assert.equal((((updateRequestFor({ ...job, generatedResources: undefined }, 'kyverno').metadata as JsonObject).annotations) as JsonObject)[AWAITS_STATUS_ANNOTATION], 'true');
});
