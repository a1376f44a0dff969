/**
 * Clone sources (webhook/clone-sources.ts) as Kyverno's generate path treats them, against an
 * in-memory API server: the source labelled when copied, the copies found again by their
 * source-* labels when it changes, synchronized copies following it, copies of rules without
 * synchronize left alone, and the downstream deleted with its source.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeError, type JsonObject } from '../../kube-api/client';
import type { AdmissionRequest } from '../../engine/core/types';
import { BackgroundController, jobOf, updateRequestFor } from '../../webhook/background';
import { DownstreamGenerator } from '../../webhook/generate';
import { copiesSelector, isGenerateNonTrigger, sourceChangeWork, tagCloneSources } from '../../webhook/clone-sources';
import { runGeneration } from '../../webhook/generate-work';
import { FakeApi } from './fake-api';

const meta = (o: JsonObject | undefined) => (o?.metadata ?? {}) as JsonObject;
const labels = (o: JsonObject | undefined) => (meta(o).labels ?? {}) as Record<string, string>;

const namespace = (name: string): JsonObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, uid: `ns-${name}`, labels: { copy: 'yes' } } });
const source = (name: string, data: Record<string, string>, rv = '1'): JsonObject => ({
  apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'src', uid: `src-${name}`, resourceVersion: rv, labels: { team: 'platform' } }, data,
});

/** Copies `name` from namespace src into every Namespace labelled copy=yes. */
const clonePolicy = (policy: string, name: string, synchronize: boolean): JsonObject => ({
  apiVersion: 'kyverno.io/v1',
  kind: 'ClusterPolicy',
  metadata: { name: policy },
  spec: {
    rules: [{
      name: 'copy',
      match: { any: [{ resources: { kinds: ['Namespace'], selector: { matchLabels: { copy: 'yes' } } } }] },
      generate: { apiVersion: 'v1', kind: 'ConfigMap', name, namespace: '{{request.object.metadata.name}}', synchronize, clone: { namespace: 'src', name } },
    }],
  },
});
const SYNC = clonePolicy('copy-base', 'base', true);
const NOSYNC = clonePolicy('copy-fixed', 'fixed', false);

const user = { roles: [], clusterRoles: [], userInfo: { username: 'alice' } };
const create = (o: JsonObject): AdmissionRequest => ({ operation: 'CREATE', object: o, oldObject: null, kind: { group: '', version: 'v1', kind: String(o.kind) }, namespace: String(meta(o).namespace ?? meta(o).name), requestInfo: user });
const update = (old: JsonObject, now: JsonObject): AdmissionRequest => ({ ...create(now), operation: 'UPDATE', oldObject: old });
const remove = (old: JsonObject): AdmissionRequest => ({ ...create(old), operation: 'DELETE', object: null, oldObject: old });

function setup() {
  const api = new FakeApi();
  api.assignUids = true;
  for (const o of [namespace('n1'), namespace('n2'), source('base', { v: '1' }), source('fixed', { v: '1' })]) api.put(o);
  const lines: string[] = [];
  const log = (l: string) => lines.push(l);
  const generator = new DownstreamGenerator({ client: api, log, backoffMs: 1, triggerWaitMs: 200 });
  const bg = new BackgroundController({ client: api, namespace: 'kyverno-studio', log, generator, current: () => ({ policies: [SYNC, NOSYNC], exceptions: [] }), backoffMs: 1 });
  return { api, bg, lines };
}

/** The server processes' part for a request (what runGeneration sends up), handed to the controller. */
async function admit(bg: BackgroundController, request: AdmissionRequest, policies: JsonObject[] = [SYNC, NOSYNC]) {
  const cluster = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] };
  const old = request.oldObject;
  const downstream = (request.operation === 'UPDATE' || request.operation === 'DELETE') && isGenerateNonTrigger(old);
  bg.submit(runGeneration({ request, policies: request.object?.kind === 'Namespace' ? policies : [], ...(downstream ? { downstream } : {}) }, cluster).items);
  await settle(bg);
}

async function settle(bg: BackgroundController) {
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setTimeout(r, 10));
    await bg.idle();
  }
}

test('which old objects reach the generate handler: a clone source or a generated object', () => {
  assert.equal(isGenerateNonTrigger({ metadata: { labels: { 'generate.kyverno.io/clone-source': '' } } }), true);
  assert.equal(isGenerateNonTrigger({ metadata: { labels: { 'generate.kyverno.io/policy-name': 'p' } } }), true);
  assert.equal(isGenerateNonTrigger({ metadata: { labels: { 'generate.kyverno.io/policy-name': '' } } }), false);
  assert.equal(isGenerateNonTrigger({ metadata: { labels: { team: 'x' } } }), false);
  assert.equal(isGenerateNonTrigger(null), false);
  assert.equal(copiesSelector(source('base', {})),
    'generate.kyverno.io/source-group=,generate.kyverno.io/source-version=v1,generate.kyverno.io/source-kind=ConfigMap,generate.kyverno.io/source-namespace=src,generate.kyverno.io/source-uid=src-base');
});

test('a source change asks for the triggers of synchronized copies only, not when the source is itself the trigger, and deletion for a deleted source', () => {
  const copy = (policy: string, rule: string, ns: string) => ({
    'app.kubernetes.io/managed-by': 'kyverno', 'generate.kyverno.io/policy-name': policy, 'generate.kyverno.io/policy-namespace': '', 'generate.kyverno.io/rule-name': rule,
    'generate.kyverno.io/trigger-group': '', 'generate.kyverno.io/trigger-version': 'v1', 'generate.kyverno.io/trigger-kind': 'Namespace', 'generate.kyverno.io/trigger-namespace': '', 'generate.kyverno.io/trigger-uid': `ns-${ns}`,
  });
  const lines: string[] = [];
  const old = source('base', { v: '1' });
  const copies = [copy('copy-base', 'copy', 'n1'), copy('copy-base', 'copy', 'n2'), copy('copy-base', 'copy', 'n2'), copy('copy-fixed', 'copy', 'n1'), copy('gone', 'copy', 'n1'), copy('copy-base', 'other-rule', 'n1')];
  const work = sourceChangeWork(update(old, source('base', { v: '2' })), copies, [SYNC, NOSYNC], (l) => lines.push(l));
  assert.deepEqual(work, [
    { policy: 'copy-base', rule: 'copy', trigger: { apiVersion: 'v1', kind: 'Namespace', namespace: '', uid: 'ns-n1' }, deleteDownstream: false },
    { policy: 'copy-base', rule: 'copy', trigger: { apiVersion: 'v1', kind: 'Namespace', namespace: '', uid: 'ns-n2' }, deleteDownstream: false },
  ]);
  assert.match(lines.join('\n'), /names policy gone, which is not loaded/);
  assert.deepEqual(sourceChangeWork(remove(old), copies.slice(0, 1), [SYNC], () => {}).map((w) => w.deleteDownstream), [true]);
  // A rule that clones from objects it also matches: admission of the source already fires it.
  const selfTriggered = JSON.parse(JSON.stringify(SYNC)) as JsonObject;
  ((selfTriggered.spec as JsonObject).rules as JsonObject[])[0].match = { any: [{ resources: { kinds: ['ConfigMap'] } }] };
  assert.deepEqual(sourceChangeWork(update(old, source('base', { v: '2' })), copies.slice(0, 1), [selfTriggered], () => {}), []);
  // The same with a namespaceSelector: whether the source is a trigger depends on its namespace's labels.
  const bySelector = JSON.parse(JSON.stringify(SYNC)) as JsonObject;
  ((bySelector.spec as JsonObject).rules as JsonObject[])[0].match = { any: [{ resources: { kinds: ['ConfigMap'], namespaceSelector: { matchLabels: { shared: 'yes' } } } }] };
  assert.deepEqual(sourceChangeWork(update(old, source('base', { v: '2' })), copies.slice(0, 1), [bySelector], () => {}, { src: { shared: 'yes' } }), []);
  assert.equal(sourceChangeWork(update(old, source('base', { v: '2' })), copies.slice(0, 1), [bySelector], () => {}, { src: { shared: 'no' } }).length, 1);
});

test('an UpdateRequest keeps deleteDownstream', () => {
  const job = { type: 'generate' as const, policy: 'copy-base', rule: 'copy', resource: { apiVersion: 'v1', kind: 'Namespace', name: 'n1', uid: 'ns-n1' }, deleteDownstream: true };
  const ur = updateRequestFor(job, 'kyverno-studio');
  assert.equal((ur.spec as JsonObject).deleteDownstream, true);
  assert.equal(jobOf(ur)?.deleteDownstream, true);
  assert.equal(jobOf(updateRequestFor({ ...job, deleteDownstream: undefined }, 'kyverno-studio'))?.deleteDownstream, undefined);
});

test('copies carry the source labels; an edited source is followed by every synchronized copy, not by the others; a deleted one takes its synchronized copies along', async () => {
  const { api, bg, lines } = setup();
  for (const ns of ['n1', 'n2']) await admit(bg, create(namespace(ns)));
  for (const ns of ['n1', 'n2']) {
    const copy = api.find('ConfigMap', 'base', ns);
    assert.deepEqual(copy?.data, { v: '1' }, lines.join('\n'));
    assert.equal(labels(copy)['generate.kyverno.io/source-uid'], 'src-base');
    assert.equal(labels(copy)['generate.kyverno.io/source-namespace'], 'src');
    assert.equal(labels(copy)['generate.kyverno.io/clone-source'], '');
    assert.equal(labels(copy)['generate.kyverno.io/trigger-uid'], `ns-${ns}`);
    assert.ok(api.find('ConfigMap', 'fixed', ns));
  }
  // Kyverno's updateSourceLabel: both sources are tagged (once), whether or not their rule synchronizes.
  for (const name of ['base', 'fixed']) assert.equal(labels(api.find('ConfigMap', name, 'src'))['generate.kyverno.io/clone-source'], '', name);
  assert.equal(api.calls.filter((c) => c === 'replace ConfigMap/src/base').length, 1, 'a tagged source is not written again');

  // Edit both sources (as the API server would send the webhook the UPDATE).
  for (const name of ['base', 'fixed']) {
    const old = api.find('ConfigMap', name, 'src')!;
    const now = { ...old, data: { v: '2' } };
    api.put(now);
    await admit(bg, update(old, now));
  }
  for (const ns of ['n1', 'n2']) {
    assert.deepEqual(api.find('ConfigMap', 'base', ns)?.data, { v: '2' }, `synchronized copy in ${ns}\n${lines.join('\n')}`);
    assert.deepEqual(api.find('ConfigMap', 'fixed', ns)?.data, { v: '1' }, `copy without synchronize in ${ns}`);
  }
  assert.ok(api.calls.some((c) => c.startsWith('list ConfigMap/*?') && c.includes('source-uid=src-base')), 'copies found by their source labels');

  const copyInN1 = api.find('ConfigMap', 'base', 'n1')!;
  // Delete both sources.
  for (const name of ['base', 'fixed']) {
    const old = api.find('ConfigMap', name, 'src')!;
    await api.delete({ apiVersion: 'v1', kind: 'ConfigMap', name, namespace: 'src' });
    await admit(bg, remove(old));
  }
  for (const ns of ['n1', 'n2']) {
    assert.equal(api.find('ConfigMap', 'base', ns), undefined, `synchronized copy in ${ns} deleted\n${lines.join('\n')}`);
    assert.ok(api.find('ConfigMap', 'fixed', ns), `copy without synchronize in ${ns} kept`);
  }
  // Our own deletion of a copy comes back through admission: it is not undone (nor tried, with the source gone).
  const before = lines.length;
  assert.ok(meta(copyInN1).uid);
  await admit(bg, remove(copyInN1));
  assert.deepEqual(lines.slice(before).filter((l) => /generating it again|not found/.test(l)), []);
  await bg.close();
});

test('cloneList: the selected sources are labelled, and an edit of one is followed by its synchronized copies', async () => {
  const LIST: JsonObject = {
    apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'copy-shared' },
    spec: { rules: [{
      name: 'list',
      match: { any: [{ resources: { kinds: ['Namespace'], selector: { matchLabels: { copy: 'yes' } } } }] },
      generate: { namespace: '{{request.object.metadata.name}}', synchronize: true, cloneList: { namespace: 'src', kinds: ['v1/ConfigMap'], selector: { matchLabels: { share: 'yes' } } } },
    }] },
  };
  const api = new FakeApi();
  api.assignUids = true;
  const shared = (name: string, share: string): JsonObject => ({ ...source(name, { v: '1' }), metadata: { ...meta(source(name, {})), labels: { share } } });
  for (const o of [namespace('n1'), shared('a', 'yes'), shared('b', 'no')]) api.put(o);
  const lines: string[] = [];
  const generator = new DownstreamGenerator({ client: api, log: (l) => lines.push(l), backoffMs: 1, triggerWaitMs: 200 });
  const bg = new BackgroundController({ client: api, namespace: 'kyverno-studio', log: (l) => lines.push(l), generator, current: () => ({ policies: [LIST], exceptions: [] }), backoffMs: 1 });
  await admit(bg, create(namespace('n1')), [LIST]);
  assert.deepEqual(api.find('ConfigMap', 'a', 'n1')?.data, { v: '1' }, lines.join('\n'));
  assert.equal(api.find('ConfigMap', 'b', 'n1'), undefined);
  assert.equal(labels(api.find('ConfigMap', 'a', 'src'))['generate.kyverno.io/clone-source'], '');
  assert.equal(labels(api.find('ConfigMap', 'b', 'src'))['generate.kyverno.io/clone-source'], undefined, 'an unselected object is no source');
  const old = api.find('ConfigMap', 'a', 'src')!;
  const now = { ...old, data: { v: '2' } };
  api.put(now);
  await admit(bg, update(old, now), [LIST]);
  assert.deepEqual(api.find('ConfigMap', 'a', 'n1')?.data, { v: '2' }, lines.join('\n'));
  await bg.close();
});

test('labelling a source: a stale read is read again, a source already labelled is left, other failures are one log line', async () => {
  const api = new FakeApi();
  api.put(source('base', { v: '1' }));
  const copy = { metadata: { labels: { 'generate.kyverno.io/source-uid': 'src-base' } } };
  api.failures.replace = [new KubeError(409, 'Conflict', 'the object has been modified')];
  const lines: string[] = [];
  await tagCloneSources(api, [source('base', { v: '1' })], [copy], (l) => lines.push(l));
  assert.equal(labels(api.find('ConfigMap', 'base', 'src'))['generate.kyverno.io/clone-source'], '', lines.join('\n'));
  assert.equal(lines.length, 0, lines.join('\n'));
  const writes = api.calls.filter((c) => c.startsWith('replace')).length;
  await tagCloneSources(api, [api.find('ConfigMap', 'base', 'src')!], [copy], (l) => lines.push(l));
  assert.equal(api.calls.filter((c) => c.startsWith('replace')).length, writes, 'already labelled');
  api.put(source('other', {}));
  api.failures.replace = [new KubeError(403, 'Forbidden', 'no')];
  await tagCloneSources(api, [source('other', {})], [{ metadata: { labels: { 'generate.kyverno.io/source-uid': 'src-other' } } }], (l) => lines.push(l));
  assert.match(lines.join('\n'), /cannot label clone source ConfigMap src\/other: no/);
});
