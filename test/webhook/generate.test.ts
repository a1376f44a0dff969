/**
 * Generate rules in the webhook, server-process side: which admitted requests carry generate
 * work (webhook/evaluate.ts), and what that work is (webhook/generate-work.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AdmissionRequest, ClusterState, JsonObject, Operation } from '../../engine/core/types';
import { evaluateReview } from '../../webhook/evaluate';
import { generateWork, needsCloneSources, runGeneration } from '../../webhook/generate-work';
import { PolicyIndex } from '../../webhook/prefilter';
import { parseResourceFilters } from '../../webhook/resource-filters';

const CLUSTER: ClusterState = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] };

function generator(name: string, generate: JsonObject, match: JsonObject = { any: [{ resources: { kinds: ['Namespace'] } }] }, spec: JsonObject = {}): JsonObject {
  return { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name }, spec: { ...spec, rules: [{ name: 'make', match, generate }] } };
}
const configMapData = (extra: JsonObject = {}): JsonObject => ({
  apiVersion: 'v1', kind: 'ConfigMap', name: 'defaults', namespace: '{{request.object.metadata.name}}', data: { data: { owner: '{{request.object.metadata.labels.owner}}' } }, ...extra,
});
const DEFAULTS = generator('ns-defaults', configMapData());
const MANAGED_NAMESPACES = { any: [{ resources: { kinds: ['Namespace'], selector: { matchLabels: { managed: 'yes' } } } }] };
const SYNCED = generator('ns-synced', configMapData({ synchronize: true }), MANAGED_NAMESPACES);
const DENY_UNLABELLED: JsonObject = {
  apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'need-owner' },
  spec: { validationFailureAction: 'Enforce', rules: [{ name: 'owner', match: { any: [{ resources: { kinds: ['Namespace'] } }] }, validate: { message: 'owner needed', pattern: { metadata: { labels: { owner: '?*' } } } } }] },
};

function namespace(name: string, labels: Record<string, string> = { owner: 'team-a' }): JsonObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, uid: `uid-${name}`, labels } };
}
function request(operation: Operation, object: JsonObject | null, oldObject: JsonObject | null = null): AdmissionRequest {
  return { operation, object, oldObject, kind: { group: '', version: 'v1', kind: 'Namespace' }, requestInfo: { roles: [], clusterRoles: [], userInfo: { groups: [] } } };
}
function review(operation: Operation, object: JsonObject | null, oldObject: JsonObject | null = null, dryRun = false): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: { uid: 'r1', operation, object, oldObject, dryRun, kind: { group: '', version: 'v1', kind: 'Namespace' }, resource: { group: '', version: 'v1', resource: 'namespaces' }, userInfo: { username: 'me' } },
  });
}
const labels = (o: JsonObject) => ((o.metadata as JsonObject).labels ?? {}) as Record<string, string>;

test('a matching CREATE yields the downstream object with Kyverno labels naming policy, rule and trigger', () => {
  // The API server sends a Namespace's name as the request namespace; the trigger has none.
  const work = generateWork(DEFAULTS, { ...request('CREATE', namespace('team-a')), namespace: 'team-a' }, CLUSTER);
  assert.deepEqual(work.errors, []);
  assert.equal(work.items.length, 1);
  const item = work.items[0];
  assert.ok(item.action === 'create');
  assert.deepEqual([item.policy, item.rule, item.synchronize, item.operation], ['ns-defaults', 'make', false, 'CREATE']);
  assert.deepEqual(item.trigger, { apiVersion: 'v1', kind: 'Namespace', name: 'team-a', uid: 'uid-team-a' });
  const [cm] = item.resources;
  assert.deepEqual([cm.apiVersion, cm.kind, (cm.metadata as JsonObject).name, (cm.metadata as JsonObject).namespace], ['v1', 'ConfigMap', 'defaults', 'team-a']);
  assert.deepEqual(cm.data, { owner: 'team-a' }, 'variables substituted from the trigger');
  const l = labels(cm);
  assert.equal(l['app.kubernetes.io/managed-by'], 'kyverno');
  assert.equal(l['generate.kyverno.io/policy-name'], 'ns-defaults');
  assert.equal(l['generate.kyverno.io/rule-name'], 'make');
  assert.equal(l['generate.kyverno.io/trigger-kind'], 'Namespace');
  assert.equal(l['generate.kyverno.io/trigger-uid'], 'uid-team-a');
});

test('a trigger DELETE: nothing without synchronize, the downstream deleted with it, generated when the rule matches DELETE', () => {
  const gone = request('DELETE', null, namespace('team-a', { owner: 'x', managed: 'yes' }));
  assert.deepEqual(generateWork(DEFAULTS, gone, CLUSTER).items, []);
  const synced = generateWork(SYNCED, gone, CLUSTER).items;
  assert.deepEqual(synced.map((i) => [i.action, i.action === 'delete' ? i.resources.map((r) => (r.metadata as JsonObject).name) : []]), [['delete', ['defaults']]]);
  const onDelete = generator('on-delete', configMapData({ namespace: 'audit', name: 'gone-{{request.oldObject.metadata.name}}' }), { any: [{ resources: { kinds: ['Namespace'], operations: ['DELETE'] } }] });
  const items = generateWork(onDelete, gone, CLUSTER).items;
  assert.deepEqual(items.map((i) => [i.action, i.action === 'create' ? (i.resources[0].metadata as JsonObject).name : '']), [['create', 'gone-team-a']]);
});

test('an UPDATE that takes the trigger out of a synchronized rule deletes its downstream; still matching, it is re-applied', () => {
  const before = namespace('team-a', { owner: 'a', managed: 'yes' });
  const after = namespace('team-a', { owner: 'a' });
  const left = generateWork(SYNCED, request('UPDATE', after, before), CLUSTER).items;
  assert.deepEqual(left.map((i) => i.action), ['delete']);
  const stays = generateWork(SYNCED, request('UPDATE', { ...before, metadata: { ...(before.metadata as JsonObject), labels: { owner: 'b', managed: 'yes' } } }, before), CLUSTER).items;
  assert.deepEqual(stays.map((i) => [i.action, i.action === 'create' && i.synchronize]), [['create', true]]);
  // Without synchronize the downstream is kept when the trigger stops matching.
  const unsynced = generator('keep', configMapData(), MANAGED_NAMESPACES);
  assert.deepEqual(generateWork(unsynced, request('UPDATE', after, before), CLUSTER).items, []);
});

test('a CONNECT fires generate rules as any operation (Kyverno\'s handleGenerate: an exec triggers Pod/exec rules); non-matching requests have no work; a failing rule becomes a log line naming policy and rule', () => {
  assert.deepEqual(generateWork(DEFAULTS, request('CONNECT', namespace('a')), CLUSTER).items.map((i) => [i.action, i.action === 'create' && i.operation]), [['create', 'CONNECT']]);
  assert.deepEqual(generateWork(SYNCED, request('CREATE', namespace('a')), CLUSTER).items, [], 'selector does not match');
  const broken = generator('broken', { apiVersion: 'v1', kind: 'ConfigMap', name: 'x', namespace: '{{request.object.metadata.name}}', data: 'not a map' });
  const work = generateWork(broken, request('CREATE', namespace('a')), CLUSTER);
  assert.deepEqual(work.items, []);
  assert.equal(work.errors.length, 1);
  assert.match(work.errors[0], /^generate: policy broken rule make: .*generate\.data must be a map/);
});

test('an admitted request that fires generate rules becomes one request unit per policy for the primary; a non-firing policy none', () => {
  const clone = generator('copy-secret', { apiVersion: 'v1', kind: 'Secret', name: 'regcred', namespace: '{{request.object.metadata.name}}', clone: { namespace: 'default', name: 'regcred' } });
  const cloneList = generator('copy-list', { namespace: '{{request.object.metadata.name}}', cloneList: { namespace: 'default', kinds: ['v1/Secret'], selector: { matchLabels: { copy: 'yes' } } } });
  assert.equal(needsCloneSources(clone), true);
  assert.equal(needsCloneSources(cloneList), true);
  assert.equal(needsCloneSources(DEFAULTS), false);
  const req = request('CREATE', namespace('team-a'));
  const work = runGeneration({ request: req, policies: [clone, DEFAULTS] }, CLUSTER);
  assert.deepEqual(work.items.map((i) => i.action === 'request' && `${i.type} ${String((i.policy.metadata as JsonObject).name)}`), ['generate copy-secret', `generate ${String((DEFAULTS.metadata as JsonObject).name)}`]);
  const first = work.items[0];
  assert.ok(first.action === 'request');
  assert.equal(first.policy, clone);
  assert.equal(first.request, req);
  // A Pod fires neither (both match Namespaces only).
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'team-a' } };
  assert.deepEqual(runGeneration({ request: request('CREATE', pod), policies: [DEFAULTS] }, CLUSTER).items, []);
  // A clone policy goes up only with the rules whose match selects the object (or, on UPDATE, the old one).
  const labelled = generator('copy-labelled', { apiVersion: 'v1', kind: 'Secret', name: 'regcred', namespace: '{{request.object.metadata.name}}', clone: { namespace: 'default', name: 'regcred' } }, MANAGED_NAMESPACES);
  assert.deepEqual(runGeneration({ request: req, policies: [labelled] }, CLUSTER).items, []);
  const managed = namespace('team-m', { managed: 'yes' });
  assert.deepEqual(runGeneration({ request: request('CREATE', managed), policies: [labelled] }, CLUSTER).items.map((i) => i.action === 'request' && i.rules), [['make']]);
  const unmanaged = request('UPDATE', namespace('team-m', {}), managed);
  assert.deepEqual(runGeneration({ request: unmanaged, policies: [labelled] }, CLUSTER).items.map((i) => i.action === 'request' && i.rules), [['make']], 'leaving the match: its downstream may go');
});

test('evaluateReview hands back generate work only for admitted, stored validate requests when asked', () => {
  const index = new PolicyIndex([DENY_UNLABELLED, DEFAULTS]);
  assert.deepEqual([...index.generating], [DEFAULTS]);
  const ok = evaluateReview({ path: 'validate', body: review('CREATE', namespace('team-a')), generate: true }, index, CLUSTER);
  assert.equal(ok.allowed, true);
  assert.deepEqual(ok.generation?.policies, [DEFAULTS]);
  assert.equal(ok.generation?.request.operation, 'CREATE');
  const denied = evaluateReview({ path: 'validate', body: review('CREATE', namespace('b', {})), generate: true }, index, CLUSTER);
  assert.equal(denied.allowed, false);
  assert.equal(denied.generation, undefined, 'a denied request generates nothing');
  assert.equal(evaluateReview({ path: 'validate', body: review('CREATE', namespace('c'), null, true), generate: true }, index, CLUSTER).generation, undefined, 'dry run');
  assert.equal(evaluateReview({ path: 'validate', body: review('CREATE', namespace('c')) }, index, CLUSTER).generation, undefined, 'not asked (local mode, scans)');
  assert.equal(evaluateReview({ path: 'mutate', body: review('CREATE', namespace('c')), generate: true }, index, CLUSTER).generation, undefined, 'mutating webhook');
});

test('generate work never changes the answer, and policies without generate rules carry none', () => {
  const index = new PolicyIndex([DENY_UNLABELLED]);
  assert.equal(index.generating.size, 0);
  const body = review('CREATE', namespace('team-a'));
  const asked = evaluateReview({ path: 'validate', body, generate: true }, index, CLUSTER);
  assert.equal(asked.generation, undefined);
  const both = new PolicyIndex([DENY_UNLABELLED, DEFAULTS]);
  const plain = evaluateReview({ path: 'validate', body }, both, CLUSTER);
  const withGeneration = evaluateReview({ path: 'validate', body, generate: true }, both, CLUSTER);
  assert.equal(withGeneration.body, plain.body);
  assert.equal(withGeneration.status, plain.status);
});

test('generateWork: an UPDATE after which a synchronized rule\'s preconditions no longer hold deletes its downstream (Kyverno fails the rule)', () => {
  const policy = {
    apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'p' },
    spec: { rules: [{
      name: 'r', match: { any: [{ resources: { kinds: ['ConfigMap'] } }] },
      preconditions: { all: [{ key: '{{ request.object.metadata.labels.make || \'\' }}', operator: 'Equals', value: 'yes' }] },
      generate: { synchronize: true, apiVersion: 'v1', kind: 'ConfigMap', name: 'made', namespace: 'n', data: { data: { a: 'b' } } },
    }] },
  };
  const cm = (make: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'n', uid: 'u1', labels: { make } } });
  const cluster = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] };
  const request = (object: JsonObject, oldObject: JsonObject): AdmissionRequest => ({ operation: 'UPDATE', object, oldObject, kind: { group: '', version: 'v1', kind: 'ConfigMap' }, namespace: 'n', requestInfo: { roles: [], clusterRoles: [], userInfo: {} } });
  const work = generateWork(policy, request(cm('no'), cm('yes')), cluster);
  assert.deepEqual(work.items.map((i) => i.action), ['delete']);
  // Still applying: nothing is deleted.
  assert.deepEqual(generateWork(policy, request(cm('yes'), cm('yes')), cluster).items.map((i) => i.action), ['create']);
});

test("evaluateReview hands an UPDATE or DELETE of a clone source or a generated object to the background controller (Kyverno's handleNonTrigger), unless resource filters drop the request", () => {
  const index = new PolicyIndex([DEFAULTS]);
  const source = namespace('src', { 'generate.kyverno.io/clone-source': '' });
  const edited = { ...source, metadata: { ...(source.metadata as JsonObject), annotations: { a: 'b' } } };
  for (const [op, now] of [['UPDATE', edited], ['DELETE', null]] as const) {
    const reply = evaluateReview({ path: 'validate', body: review(op, now, source), generate: true }, index, CLUSTER);
    assert.equal(reply.generation?.downstream, true, op);
  }
  assert.equal(evaluateReview({ path: 'validate', body: review('UPDATE', edited, namespace('plain')), generate: true }, index, CLUSTER).generation?.downstream, undefined);
  const filters = parseResourceFilters('[Namespace,*,*]');
  assert.equal(evaluateReview({ path: 'validate', body: review('UPDATE', edited, source), generate: true, filters }, index, CLUSTER).generation?.downstream, undefined);
  // The source's old object travels with the work: its copies are found by its uid.
  const work = runGeneration({ request: request('UPDATE', edited, source), policies: [], downstream: true }, CLUSTER);
  assert.deepEqual(work.items.map((i) => i.action === 'downstream' && [i.operation, i.labels, (i.request.oldObject?.metadata as JsonObject).uid]), [['UPDATE', { 'generate.kyverno.io/clone-source': '' }, 'uid-src']]);
});
