/**
 * The background controller (webhook/background.ts) and mutate existing
 * (webhook/mutate-existing.ts) against an in-memory API server: UpdateRequests as they are
 * written and read back, targets selected with variables and preconditions and written with
 * their resourceVersion, retries, a follower that persists without processing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient, KubeError, type JsonObject } from '../../kube-api/client';
import type { AdmissionRequest } from '../../engine/core/types';
import { BackgroundController, jobOf, updateRequestFor, type BackgroundJob } from '../../webhook/background';
import { DownstreamGenerator } from '../../webhook/generate';
import { firedMutateExistingRules, mutateExisting } from '../../webhook/mutate-existing';
import { runGeneration } from '../../webhook/generate-work';
import { readAdmissionReview } from '../../webhook/admission';
import { FakeApi } from './fake-api';
import type { EventInfo } from '../../webhook/event-info';
import type { ReportItem } from '../../webhook/report-layout';

const meta = (o: JsonObject | undefined) => (o?.metadata ?? {}) as JsonObject;
const labels = (o: JsonObject | undefined) => (meta(o).labels ?? {}) as Record<string, string>;
const cm = (name: string, l: Record<string, string>, rv = '1'): JsonObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'apps', labels: l, resourceVersion: rv, uid: `uid-${name}` }, data: { k: 'v' } });

const STAMP: JsonObject = {
  apiVersion: 'kyverno.io/v1',
  kind: 'ClusterPolicy',
  metadata: { name: 'stamp' },
  spec: {
    rules: [{
      name: 'stamp',
      match: { any: [{ resources: { kinds: ['ConfigMap'], names: ['trigger*'] } }] },
      mutate: {
        targets: [{
          apiVersion: 'v1', kind: 'ConfigMap', namespace: '{{request.object.metadata.namespace}}', selector: { matchLabels: { target: 'yes' } },
          preconditions: { all: [{ key: '{{target.metadata.name}}', operator: 'NotEquals', value: 'skip-me' }] },
        }],
        patchStrategicMerge: { metadata: { labels: { 'stamped-by': '{{request.object.metadata.name}}' } } },
      },
    }],
  },
};

function createRequest(object: JsonObject): AdmissionRequest {
  return { operation: 'CREATE', object, oldObject: null, kind: { group: '', version: 'v1', kind: String(object.kind) }, namespace: String(meta(object).namespace ?? ''), requestInfo: { roles: [], clusterRoles: [], userInfo: { username: 'alice', groups: ['devs'] } } };
}

function seeded(): FakeApi {
  const api = new FakeApi();
  for (const o of [cm('trigger-1', {}), cm('a', { target: 'yes' }), cm('skip-me', { target: 'yes' }), cm('other', {})]) api.put(o);
  return api;
}

test('mutate existing: targets are selected with the trigger\'s variables, filtered by their preconditions, and updated with the resourceVersion read', async () => {
  const api = seeded();
  const lines: string[] = [];
  const out = await mutateExisting(api, STAMP, createRequest(cm('trigger-1', {})), [], (l) => lines.push(l));
  assert.deepEqual(out.failures, []);
  assert.deepEqual(out.mutated, ['ConfigMap apps/a']);
  assert.equal(labels(api.find('ConfigMap', 'a', 'apps'))['stamped-by'], 'trigger-1');
  assert.equal(labels(api.find('ConfigMap', 'skip-me', 'apps'))['stamped-by'], undefined);
  assert.equal(labels(api.find('ConfigMap', 'other', 'apps'))['stamped-by'], undefined);
  assert.ok(api.calls.includes('list ConfigMap/*'), 'a target namespace given by a variable lists the kind everywhere');
  // Again: already in line, nothing written.
  const writes = api.calls.filter((c) => c.startsWith('replace')).length;
  assert.deepEqual((await mutateExisting(api, STAMP, createRequest(cm('trigger-1', {})), [], () => {})).mutated, []);
  assert.equal(api.calls.filter((c) => c.startsWith('replace')).length, writes);
});

test('mutate existing: which admissions fire it (match, and DELETE only when the rule names it)', () => {
  const cluster = { namespaceLabels: {} };
  assert.deepEqual(firedMutateExistingRules(STAMP, createRequest(cm('trigger-1', {})), cluster), ['stamp']);
  assert.deepEqual(firedMutateExistingRules(STAMP, createRequest(cm('a', {})), cluster), []);
  const del: AdmissionRequest = { ...createRequest(cm('trigger-1', {})), operation: 'DELETE', object: null, oldObject: cm('trigger-1', {}) };
  assert.deepEqual(firedMutateExistingRules(STAMP, del, cluster), []);
  const onDelete = JSON.parse(JSON.stringify(STAMP)) as JsonObject;
  (((onDelete.spec as JsonObject).rules as JsonObject[])[0].match as JsonObject).any = [{ resources: { kinds: ['ConfigMap'], names: ['trigger*'], operations: ['DELETE'] } }];
  assert.deepEqual(firedMutateExistingRules(onDelete, del, cluster), ['stamp']);
  const work = runGeneration({ request: createRequest(cm('trigger-1', {})), policies: [], mutateExisting: [STAMP] }, { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] });
  assert.deepEqual(work.items.map((i) => i.action === 'request' && [i.type, i.rules]), [['mutate', ['stamp']]]);
});

test('mutate existing: a namespaceSelector sees the namespace labels it is given (the controller passes the watched ones)', async () => {
  const prodOnly = JSON.parse(JSON.stringify(STAMP)) as JsonObject;
  (((prodOnly.spec as JsonObject).rules as JsonObject[])[0].match as JsonObject).any = [{ resources: { kinds: ['ConfigMap'], names: ['trigger*'], namespaceSelector: { matchLabels: { env: 'prod' } } } }];
  const request = createRequest(cm('trigger-1', {}));
  const api = seeded();
  assert.deepEqual((await mutateExisting(api, prodOnly, request, [], () => {}, undefined, { apps: { env: 'dev' } })).mutated, []);
  assert.deepEqual((await mutateExisting(api, prodOnly, request, [], () => {}, undefined, { apps: { env: 'prod' } })).mutated, ['ConfigMap apps/a']);
  // Through the controller: the labels come from current().
  const fresh = seeded();
  const { bg, lines } = controller(fresh, [prodOnly], { current: () => ({ policies: [prodOnly], exceptions: [], namespaceLabels: { apps: { env: 'prod' } } }) });
  bg.submit([{ action: 'request', type: 'mutate', policy: prodOnly, rules: ['stamp'], request }]);
  await bg.idle();
  await new Promise((r) => setTimeout(r, 50));
  await bg.idle();
  assert.equal(labels(fresh.find('ConfigMap', 'a', 'apps'))['stamped-by'], 'trigger-1', lines.join('\n'));
  await bg.close();
});

test('an UpdateRequest holds the job without empty strings and reads back to the same request', () => {
  const request = createRequest(cm('trigger-1', {}));
  const job: BackgroundJob = { type: 'mutate', policy: 'stamp', rule: 'stamp', resource: { apiVersion: 'v1', kind: 'ConfigMap', name: 'trigger-1', namespace: 'apps', uid: 'uid-trigger-1' }, request };
  const ur = updateRequestFor(job, 'kyverno-studio');
  assert.equal(ur.kind, 'UpdateRequest');
  assert.equal(meta(ur).namespace, 'kyverno-studio');
  assert.equal(labels(ur)['app.kubernetes.io/managed-by'], 'kyverno-studio');
  const spec = ur.spec as JsonObject;
  assert.equal(spec.requestType, 'mutate');
  const empties: string[] = [];
  const walk = (v: unknown, path: string) => {
    if (v === '') empties.push(path);
    else if (typeof v === 'object' && v !== null && !path.endsWith('.object')) for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`);
  };
  walk(spec, 'spec');
  assert.deepEqual(empties, [], 'API servers before 1.2x refuse "" in typed fields');
  const back = jobOf({ ...ur, metadata: { ...meta(ur), name: 'ur-1' } })!;
  assert.deepEqual(back.resource, job.resource);
  assert.equal(back.request?.operation, 'CREATE');
  assert.deepEqual(back.request?.kind, { group: '', version: 'v1', kind: 'ConfigMap' }, 'a core kind comes back from the object');
  assert.deepEqual(back.request?.object, request.object);
  assert.equal(back.request?.requestInfo.userInfo.username, 'alice');
  // A policy event: no admission request, the trigger is read when processed.
  const event = jobOf(updateRequestFor({ ...job, type: 'generate', request: undefined }, 'ns'))!;
  assert.equal(event.request, undefined);
  assert.equal(event.type, 'generate');
});

function controller(api: FakeApi, policies: JsonObject[], extra: Partial<ConstructorParameters<typeof BackgroundController>[0]> = {}) {
  const lines: string[] = [];
  const log = (l: string) => lines.push(l);
  const generator = new DownstreamGenerator({ client: api, log, backoffMs: 1, triggerWaitMs: 200 });
  const bg = new BackgroundController({ client: api, namespace: 'kyverno-studio', log, generator, current: () => ({ policies, exceptions: [] }), backoffMs: 1, ...extra });
  return { bg, lines };
}

test('without the UpdateRequest CRD the work is done in memory where it arrived; a failed write is retried', async () => {
  const api = seeded();
  api.failures.replace = [new KubeError(409, 'Conflict', 'the object has been modified')];
  const { bg, lines } = controller(api, [STAMP]);
  bg.submit([{ action: 'request', type: 'mutate', policy: STAMP, rules: ['stamp'], request: createRequest(cm('trigger-1', {})) }]);
  await bg.idle();
  await new Promise((r) => setTimeout(r, 50));
  await bg.idle();
  assert.equal(labels(api.find('ConfigMap', 'a', 'apps'))['stamped-by'], 'trigger-1', lines.join('\n'));
  assert.ok(lines.some((l) => /failed \(attempt 1\); retrying/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /keep|memory/.test(l)), 'says the work is not persisted');
  await bg.close();
});

test('with the CRD, a replica that does not lead persists the work as an UpdateRequest and leaves it to the leader', async () => {
  const api = seeded();
  api.served.add('UpdateRequest');
  const { bg } = controller(api, [STAMP]);
  bg.submit([{ action: 'request', type: 'mutate', policy: STAMP, rules: ['stamp'], request: createRequest(cm('trigger-1', {})) }]);
  await new Promise((r) => setTimeout(r, 20));
  await bg.idle();
  const urs = [...api.objects.values()].filter((o) => o.kind === 'UpdateRequest');
  assert.equal(urs.length, 1);
  assert.equal((urs[0].spec as JsonObject).policy, 'stamp');
  assert.equal(labels(api.find('ConfigMap', 'a', 'apps'))['stamped-by'], undefined, 'not processed by a follower');
  await bg.close();
});

test("updateRequestThreshold: with that many UpdateRequests no more are written and the work is dropped, as Kyverno's generator does", async () => {
  const api = seeded();
  api.served.add('UpdateRequest');
  let threshold = 2;
  const { bg, lines } = controller(api, [STAMP], { updateRequestThreshold: () => threshold });
  const submit = (n: number) => bg.submit([{ action: 'request', type: 'mutate', policy: STAMP, rules: ['stamp'], request: createRequest(cm(`trigger-${n}`, {})) }]);
  const updateRequests = () => [...api.objects.values()].filter((o) => o.kind === 'UpdateRequest').length;
  for (const n of [1, 2, 3]) {
    submit(n);
    await new Promise((r) => setTimeout(r, 20));
    await bg.idle();
  }
  assert.equal(updateRequests(), 2, 'the third is not written');
  assert.ok(lines.some((l) => l.includes('UpdateRequest creation skipped: the number of updaterequests exceeds the threshold, please adjust updateRequestThreshold in the Kyverno configmap (current count 2, threshold 2)')), lines.join('\n'));
  // Counted as Kyverno's metadata client lists them: metadata only, every namespace, no full UpdateRequest.
  assert.deepEqual(api.calls.filter((c) => c.includes('UpdateRequest/') && c.startsWith('list')), ['listMetadata UpdateRequest/*', 'listMetadata UpdateRequest/*', 'listMetadata UpdateRequest/*']);
  assert.equal(labels(api.find('ConfigMap', 'a', 'apps'))['stamped-by'], undefined, 'nor done in memory');
  // The ConfigMap raised it: written again.
  threshold = 3;
  submit(4);
  await new Promise((r) => setTimeout(r, 20));
  await bg.idle();
  assert.equal(updateRequests(), 3);
  await bg.close();
});

/** A manual clock for the controller's retries: `fire()` runs the timers set so far. */
function manualClock() {
  const timers = new Set<() => void>();
  return {
    after(_ms: number, fn: () => void) {
      timers.add(fn);
      return () => timers.delete(fn);
    },
    fire() {
      const due = [...timers];
      timers.clear();
      for (const fn of due) fn();
    },
    get pending() {
      return timers.size;
    },
  };
}

/** Each UpdateRequest's states as the API server stores them, in order, with its deletion ("deleted"). */
function urHistory(api: FakeApi): Map<string, string[]> {
  const history = new Map<string, string[]>();
  api.subscribe((o, deleted) => {
    if (o.kind !== 'UpdateRequest') return;
    const name = String(meta(o).name);
    const states = history.get(name) ?? [];
    const state = deleted ? 'deleted' : String((o.status as JsonObject | undefined)?.state ?? '(none)');
    if (states[states.length - 1] !== state) states.push(state);
    history.set(name, states);
  });
  return history;
}

test("a leader's UpdateRequest as Kyverno's: its labels, Pending once written, Completed when done, then deleted", async () => {
  const api = seeded();
  api.served.add('UpdateRequest');
  const history = urHistory(api);
  const created: JsonObject[] = [];
  api.subscribe((o) => void (o.kind === 'UpdateRequest' && !o.status && created.push(o)));
  const { bg, lines } = controller(api, [STAMP]);
  const lead = new AbortController();
  bg.lead(lead.signal);
  bg.submit([{ action: 'request', type: 'mutate', policy: STAMP, rules: ['stamp'], request: createRequest(cm('trigger-1', {})) }]);
  await new Promise((r) => setTimeout(r, 20));
  await bg.idle();
  assert.equal(labels(api.find('ConfigMap', 'a', 'apps'))['stamped-by'], 'trigger-1', lines.join('\n'));
  assert.equal(created.length, 1);
  assert.match(String(meta(created[0]).name), /^ur-/);
  // MutateLabelsSet: the policy and the trigger.
  assert.deepEqual(labels(created[0]), {
    'app.kubernetes.io/managed-by': 'kyverno-studio',
    'mutate.updaterequest.kyverno.io/policy-name': 'stamp',
    'mutate.updaterequest.kyverno.io/trigger-name': 'trigger-1',
    'mutate.updaterequest.kyverno.io/trigger-namespace': 'apps',
    'mutate.updaterequest.kyverno.io/trigger-kind': 'ConfigMap',
    'mutate.updaterequest.kyverno.io/trigger-apiversion': 'v1',
  });
  assert.deepEqual([...history.values()], [['(none)', 'Pending', 'Completed', 'deleted']]);
  lead.abort();
  await bg.close();
});

test("a failing UpdateRequest as Kyverno's: Failed with the message and retry count, Pending again when retried, deleted after its fifth failure", async () => {
  const api = seeded();
  api.served.add('UpdateRequest');
  api.failures.replace = Array.from({ length: 5 }, () => new KubeError(422, 'Invalid', 'label value too long'));
  const history = urHistory(api);
  const failed: JsonObject[] = [];
  api.subscribe((o) => void (o.kind === 'UpdateRequest' && (o.status as JsonObject | undefined)?.state === 'Failed' && failed.push(o.status as JsonObject)));
  const clock = manualClock();
  const { bg } = controller(api, [STAMP], { clock });
  const lead = new AbortController();
  bg.lead(lead.signal);
  bg.submit([{ action: 'request', type: 'mutate', policy: STAMP, rules: ['stamp'], request: createRequest(cm('trigger-1', {})) }]);
  for (let i = 0; i < 6; i++) {
    await new Promise((r) => setTimeout(r, 20));
    await bg.idle();
    clock.fire();
  }
  assert.deepEqual([...history.values()], [['(none)', 'Pending', 'Failed', 'Pending', 'Failed', 'Pending', 'Failed', 'Pending', 'Failed', 'Pending', 'deleted']]);
  assert.deepEqual(failed.map((s) => s.retryCount), [1, 2, 3, 4]);
  assert.match(String(failed[0].message), /label value too long/);
  assert.equal(clock.pending, 0, 'no retry left');
  lead.abort();
  await bg.close();
});

test("a generate UpdateRequest says per rule what to do (Kyverno's ruleContext) and carries Kyverno's generate label", () => {
  const job: BackgroundJob = { type: 'generate', policy: 'team/defaults', rule: 'a,b', resource: { apiVersion: 'v1', kind: 'Namespace', name: 'n1', uid: 'u1' }, request: createRequest({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n1', uid: 'u1' } }) };
  const ur = updateRequestFor(job, 'kyverno');
  assert.deepEqual(labels(ur), { 'app.kubernetes.io/managed-by': 'kyverno-studio', 'generate.kyverno.io/policy-name': 'defaults' });
  assert.deepEqual((ur.spec as JsonObject).ruleContext, [
    { rule: 'a', trigger: job.resource, deleteDownstream: false },
    { rule: 'b', trigger: job.resource, deleteDownstream: false },
  ]);
  const back = jobOf(ur)!;
  assert.deepEqual([back.rule, back.resource, back.deleteDownstream], ['a,b', job.resource, undefined]);
  // A deletion's trigger found by uid has no name: written without it (omitempty), read back as one without.
  const byUid = updateRequestFor({ ...job, request: undefined, resource: { apiVersion: 'v1', kind: 'Namespace', name: '', uid: 'u1' }, deleteDownstream: true }, 'kyverno');
  assert.deepEqual([(byUid.spec as JsonObject).resource, ((byUid.spec as JsonObject).ruleContext as JsonObject[])[0].trigger], [{ apiVersion: 'v1', kind: 'Namespace', uid: 'u1' }, { apiVersion: 'v1', kind: 'Namespace', uid: 'u1' }]);
  assert.deepEqual([jobOf(byUid)!.resource, jobOf(byUid)!.deleteDownstream], [{ apiVersion: 'v1', kind: 'Namespace', name: '', uid: 'u1' }, true]);
});

test('a subresource request (pods/exec) keeps its kind, parent resource and name through its UpdateRequest', () => {
  const review = {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'x', operation: 'CONNECT', name: 'nginx', namespace: 'apps', subResource: 'exec',
      kind: { group: '', version: 'v1', kind: 'PodExecOptions' }, resource: { group: '', version: 'v1', resource: 'pods' },
      object: { apiVersion: 'v1', kind: 'PodExecOptions', command: ['ls'] }, userInfo: { username: 'alice' },
    },
  };
  const { request } = readAdmissionReview(review);
  const job: BackgroundJob = { type: 'generate', policy: 'p', rule: 'r', resource: { apiVersion: 'v1', kind: 'PodExecOptions', name: '', namespace: 'apps' }, request };
  const back = jobOf(updateRequestFor(job, 'kyverno'))!.request!;
  assert.deepEqual(back.kind, { group: '', version: 'v1', kind: 'PodExecOptions' });
  assert.deepEqual(back.resourceKind, { group: '', version: 'v1', kind: 'Pod', resource: 'pods' });
  assert.equal(back.subResource, 'exec');
  assert.equal(back.name, 'nginx');
});

test("the UpdateRequest count asks the API server for metadata only, in every namespace (Kyverno's metadata client)", async () => {
  const seen: Array<{ path: string; accept: string }> = [];
  const server: Server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', accept: String(req.headers.accept) });
    res.setHeader('content-type', 'application/json');
    if (req.url === '/apis/kyverno.io/v2') {
      res.end(JSON.stringify({ resources: [{ name: 'updaterequests', kind: 'UpdateRequest', namespaced: true, verbs: ['list'] }] }));
      return;
    }
    const item = (name: string) => ({ metadata: { name, namespace: 'kyverno' } });
    res.end(JSON.stringify({ apiVersion: 'meta.k8s.io/v1', kind: 'PartialObjectMetadataList', items: [item('ur-1'), item('ur-2')] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const kc = new KubeConfig();
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    kc.loadFromOptions({ clusters: [{ name: 'c', server: url, skipTLSVerify: true }], users: [{ name: 'u' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
    const items = await new KubeClient(kc).listMetadata('kyverno.io/v2', 'UpdateRequest');
    assert.deepEqual(items.map((i) => (i.metadata as JsonObject).name), ['ur-1', 'ur-2']);
    assert.deepEqual(seen.at(-1), { path: '/apis/kyverno.io/v2/updaterequests', accept: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1' });
    assert.equal(seen[0].accept, 'application/json', 'other requests ask for plain JSON');
  } finally {
    await new Promise((r) => server.close(r));
  }
});

test('work for a policy that is gone is dropped', async () => {
  const api = seeded();
  const { bg, lines } = controller(api, []);
  bg.submit([{ action: 'request', type: 'mutate', policy: STAMP, rules: ['stamp'], request: createRequest(cm('trigger-1', {})) }]);
  await new Promise((r) => setTimeout(r, 20));
  await bg.idle();
  assert.ok(lines.some((l) => /the policy is gone; dropped/.test(l)), lines.join('\n'));
  assert.equal(labels(api.find('ConfigMap', 'a', 'apps'))['stamped-by'], undefined);
  await bg.close();
});

test('background events: a mutated target gives PolicyApplied on the policy, a refused write a PolicyError naming the rule', async () => {
  const api = seeded();
  const events: EventInfo[] = [];
  const { bg } = controller(api, [STAMP], { events: { add: (e) => events.push(...e) }, maxBackoffMs: 1 });
  api.failures.replace = [new KubeError(422, 'Invalid', 'label value too long')];
  bg.submit([{ action: 'request', type: 'mutate', policy: STAMP, rules: ['stamp'], request: createRequest(cm('trigger-1', {})) }]);
  await bg.idle();
  await new Promise((r) => setTimeout(r, 50));
  await bg.idle();
  const failed = events.find((e) => e.reason === 'PolicyError');
  assert.ok(failed, JSON.stringify(events));
  assert.equal(failed.source, 'kyverno-mutate');
  assert.equal(failed.message, 'policy stamp/stamp error: label value too long');
  assert.deepEqual(failed.related, { apiVersion: '', kind: 'ConfigMap', name: 'a', namespace: 'apps' });
  const applied = events.find((e) => e.reason === 'PolicyApplied');
  assert.ok(applied, 'the retry succeeded');
  assert.deepEqual([applied.action, applied.message, applied.regarding.name, applied.related?.name], ['Resource Mutated', 'resource mutated', 'stamp', 'a']);
  await bg.close();
});

test('mutate existing: a target of the status subresource is written through /status', async () => {
  const api = seeded();
  const policy = JSON.parse(JSON.stringify(STAMP)) as JsonObject;
  const mutate = ((policy.spec as JsonObject).rules as JsonObject[])[0].mutate as JsonObject;
  (mutate.targets as JsonObject[])[0].kind = 'ConfigMap/status';
  const out = await mutateExisting(api, policy, createRequest(cm('trigger-1', {})), [], () => {});
  assert.deepEqual(out.mutated, ['ConfigMap apps/a']);
  assert.ok(api.calls.includes('replace ConfigMap/apps/a/status'), api.calls.join('\n'));
  assert.ok(!api.calls.includes('replace ConfigMap/apps/a'));
});

test('background events: generating an object gives PolicyApplied on it and on the policy; a failed rule a PolicyError related to the trigger', async () => {
  const api = seeded();
  const gen: JsonObject = {
    apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'gen', uid: 'gen-uid' },
    spec: { rules: [{ name: 'copy', match: { any: [{ resources: { kinds: ['ConfigMap'], names: ['trigger*'] } }] }, generate: { apiVersion: 'v1', kind: 'Secret', name: 'made', namespace: 'apps', data: { data: { k: 'dg==' } } } }] },
  };
  const events: EventInfo[] = [];
  const lines: string[] = [];
  let bg: BackgroundController | undefined;
  const generator = new DownstreamGenerator({ client: api, log: (l) => lines.push(l), backoffMs: 1, triggerWaitMs: 200, onCreated: (p, r, o) => bg!.generated(p, r, o) });
  bg = new BackgroundController({ client: api, namespace: 'kyverno-studio', log: (l) => lines.push(l), generator, current: () => ({ policies: [gen], exceptions: [] }), backoffMs: 1, maxBackoffMs: 1, events: { add: (e) => events.push(...e) } });
  api.failures.create = [new KubeError(403, 'Forbidden', 'secrets is forbidden')];
  bg.submit([{ action: 'request', type: 'generate', policy: gen, rules: ['copy'], request: createRequest(cm('trigger-1', {})) }]);
  await bg.idle();
  await new Promise((r) => setTimeout(r, 50));
  await bg.idle();
  assert.ok(api.find('Secret', 'made', 'apps'), lines.join('\n'));
  const failed = events.find((e) => e.reason === 'PolicyError')!;
  assert.match(failed.message, /^policy gen\/copy error: .*forbidden/);
  assert.deepEqual([failed.regarding.uid, failed.related?.kind, failed.related?.name], ['gen-uid', 'ConfigMap', 'trigger-1']);
  const applied = events.filter((e) => e.reason === 'PolicyApplied');
  assert.deepEqual(applied.map((e) => [e.regarding.kind, e.regarding.name, e.action, e.message]), [
    ['Secret', 'made', 'None', 'Created Secret made as a result of applying policy gen/copy'],
    ['ClusterPolicy', 'gen', 'Resource Generated', 'resource generated'],
  ]);
  await bg.close();
});

test('retries: Kyverno\'s limit (retryCount past 3 at a failure) ends the work after 5 attempts', async () => {
  const api = seeded();
  api.failures.replace = Array.from({ length: 8 }, () => new KubeError(409, 'Conflict', 'the object has been modified'));
  const { bg, lines } = controller(api, [STAMP], { maxBackoffMs: 1 });
  bg.submit([{ action: 'request', type: 'mutate', policy: STAMP, rules: ['stamp'], request: createRequest(cm('trigger-1', {})) }]);
  for (let i = 0; i < 20 && !lines.some((l) => /giving up/.test(l)); i++) {
    await bg.idle();
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(api.calls.filter((c) => c === 'replace ConfigMap/apps/a').length, 5, lines.join('\n'));
  assert.ok(lines.some((l) => /failed 5 times; giving up/.test(l)), lines.join('\n'));
  await bg.close();
});

const ON_UPDATE: JsonObject = { ...STAMP, metadata: { name: 'stamp', creationTimestamp: '2020-01-01T00:00:00Z' }, spec: { ...(STAMP.spec as JsonObject), mutateExistingOnPolicyUpdate: true } };

async function leading(bg: BackgroundController, policies: JsonObject[]): Promise<AbortController> {
  const lead = new AbortController();
  bg.lead(lead.signal);
  await bg.onPolicies(policies);
  await bg.idle();
  return lead;
}

test('periodic reconciliation: the leader applies mutateExistingOnPolicyUpdate rules to existing triggers again each interval', async () => {
  const api = seeded();
  const { bg } = controller(api, [ON_UPDATE]);
  const lead = await leading(bg, [ON_UPDATE]);
  assert.equal(labels(api.find('ConfigMap', 'a', 'apps'))['stamped-by'], 'trigger-1', 'on the policy event');
  // Someone takes the stamp off; the next pass puts it back.
  const a = api.find('ConfigMap', 'a', 'apps')!;
  api.put({ ...a, metadata: { ...meta(a), labels: { target: 'yes' } } });
  await bg.reconcile();
  await bg.idle();
  assert.equal(labels(api.find('ConfigMap', 'a', 'apps'))['stamped-by'], 'trigger-1');
  lead.abort();
  await bg.close();
});

test('periodic reconciliation: no second request while mutate work for the trigger is pending; a young policy without the policy-level flag waits', async () => {
  const api = seeded();
  const { bg } = controller(api, [ON_UPDATE], { backoffMs: 60_000 });
  api.failures.replace = [new KubeError(409, 'Conflict', 'the object has been modified')];
  const lead = await leading(bg, [ON_UPDATE]);
  assert.equal(api.calls.filter((c) => c.startsWith('replace')).length, 1, 'the first attempt failed and waits for its retry');
  await bg.reconcile();
  await bg.idle();
  assert.equal(api.calls.filter((c) => c.startsWith('replace')).length, 1, 'the pending work is not doubled');
  lead.abort();
  await bg.close();

  // Rule-level flag only, policy created just now: Kyverno's canBackgroundProcess leaves it to the next pass after the interval.
  const ruleLevel = JSON.parse(JSON.stringify(STAMP)) as JsonObject;
  ((((ruleLevel.spec as JsonObject).rules as JsonObject[])[0]).mutate as JsonObject).mutateExistingOnPolicyUpdate = true;
  (ruleLevel.metadata as JsonObject).creationTimestamp = new Date().toISOString();
  const api2 = seeded();
  const second = controller(api2, [ruleLevel], { reconcileIntervalMs: 3_600_000 });
  const lead2 = await leading(second.bg, []);
  await second.bg.onPolicies([ruleLevel]);
  await second.bg.idle();
  const a = api2.find('ConfigMap', 'a', 'apps')!;
  api2.put({ ...a, metadata: { ...meta(a), labels: { target: 'yes' } } });
  await second.bg.reconcile();
  await second.bg.idle();
  assert.equal(labels(api2.find('ConfigMap', 'a', 'apps'))['stamped-by'], undefined, 'young policy: skipped by the periodic pass');
  await second.bg.reconcile(Date.now() + 3_600_001);
  await second.bg.idle();
  assert.equal(labels(api2.find('ConfigMap', 'a', 'apps'))['stamped-by'], 'trigger-1', 'older than the interval: processed');
  lead2.abort();
  await second.bg.close();
});

test('mutate existing: a literal target name in a namespace given by a variable is looked up by listing, not in "default"', async () => {
  const api = seeded();
  const policy = JSON.parse(JSON.stringify(STAMP)) as JsonObject;
  const target = ((((policy.spec as JsonObject).rules as JsonObject[])[0].mutate as JsonObject).targets as JsonObject[])[0];
  delete target.selector;
  target.name = 'a';
  const out = await mutateExisting(api, policy, createRequest(cm('trigger-1', {})), [], () => {});
  assert.deepEqual(out.mutated, ['ConfigMap apps/a']);
  assert.ok(api.calls.includes('list ConfigMap/*'), api.calls.join('\n'));
});

test('mutate existing on DELETE: the deleted trigger is request.object, as Kyverno\'s background context adds it', async () => {
  const api = seeded();
  const onDelete = JSON.parse(JSON.stringify(STAMP)) as JsonObject;
  (((onDelete.spec as JsonObject).rules as JsonObject[])[0].match as JsonObject).any = [{ resources: { kinds: ['ConfigMap'], names: ['trigger*'], operations: ['DELETE'] } }];
  const del: AdmissionRequest = { ...createRequest(cm('trigger-1', {})), operation: 'DELETE', object: null, oldObject: cm('trigger-1', {}) };
  const out = await mutateExisting(api, onDelete, del, [], () => {});
  assert.deepEqual(out.failures, []);
  assert.deepEqual(out.mutated, ['ConfigMap apps/a']);
  assert.equal(labels(api.find('ConfigMap', 'a', 'apps'))['stamped-by'], 'trigger-1');
});

test('mutate existing: apiCall context entries are read from the API server (not from the target candidates)', async () => {
  const api = seeded();
  api.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps', labels: { org: 'acme' } } });
  const policy = JSON.parse(JSON.stringify(STAMP)) as JsonObject;
  const rule = ((policy.spec as JsonObject).rules as JsonObject[])[0];
  // The second entry's path depends on the first one's answer: read in a second round.
  rule.context = [
    { name: 'org', apiCall: { urlPath: '/api/v1/namespaces/{{request.object.metadata.namespace}}', jmesPath: 'metadata.labels.org' } },
    { name: 'count', apiCall: { urlPath: '/api/v1/namespaces/{{request.namespace}}/configmaps', jmesPath: 'length(items)' } },
  ];
  (rule.mutate as JsonObject).patchStrategicMerge = { metadata: { labels: { org: '{{org}}', count: '{{to_string(count)}}' } } };
  const out = await mutateExisting(api, policy, createRequest(cm('trigger-1', {})), [], () => {});
  assert.deepEqual(out.failures, []);
  assert.equal(labels(api.find('ConfigMap', 'a', 'apps')).org, 'acme');
  // Every ConfigMap of the namespace, not only the two target candidates.
  assert.equal(labels(api.find('ConfigMap', 'a', 'apps')).count, '4');
  assert.ok(api.calls.includes('request /api/v1/namespaces/apps'), api.calls.join('\n'));
  // A path the API server does not know leaves the entry unanswered: the rule fails, nothing is written.
  const missing = JSON.parse(JSON.stringify(policy)) as JsonObject;
  (((missing.spec as JsonObject).rules as JsonObject[])[0].context as JsonObject[])[0] = { name: 'org', apiCall: { urlPath: '/api/v1/namespaces/nowhere', jmesPath: 'metadata.labels.org' } };
  const fresh = seeded();
  const failed = await mutateExisting(fresh, missing, createRequest(cm('trigger-1', {})), [], () => {});
  assert.deepEqual(failed.mutated, []);
});

const MPOL: JsonObject = {
  apiVersion: 'policies.kyverno.io/v1beta1',
  kind: 'MutatingPolicy',
  metadata: { name: 'stamp-cel' },
  spec: {
    evaluation: { mutateExisting: { enabled: true } },
    matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['secrets'] }] },
    targetMatchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['configmaps'] }] },
    mutations: [{ patchType: 'ApplyConfiguration', applyConfiguration: { expression: 'Object{metadata: Object.metadata{labels: Object.metadata.labels{stamped: "yes"}}}' } }],
  },
};

test('MutatingPolicy mutate existing: an admitted trigger fires it, and the targetMatchConstraints objects are mutated in the background', async () => {
  const api = seeded();
  const secret: JsonObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'apps', uid: 'uid-s' } };
  api.put(secret);
  const cluster = { namespaceLabels: {} };
  assert.deepEqual(firedMutateExistingRules(MPOL, createRequest(secret), cluster), ['']);
  assert.deepEqual(firedMutateExistingRules(MPOL, createRequest(cm('x', {})), cluster), [], 'a ConfigMap is no trigger');
  const adminDisabled = { ...MPOL, spec: { ...(MPOL.spec as JsonObject), evaluation: { mutateExisting: { enabled: true }, admission: { enabled: false } } } };
  assert.deepEqual(firedMutateExistingRules(adminDisabled, createRequest(secret), cluster), [], 'admission-disabled policies are driven by policy events only');
  const out = await mutateExisting(api, MPOL, createRequest(secret), [], () => {});
  assert.deepEqual(out.failures, []);
  assert.deepEqual(out.mutated.sort(), ['ConfigMap apps/a', 'ConfigMap apps/other', 'ConfigMap apps/skip-me', 'ConfigMap apps/trigger-1']);
  assert.equal(labels(api.find('ConfigMap', 'a', 'apps')).stamped, 'yes');
  assert.equal(labels(api.find('Secret', 's', 'apps')).stamped, undefined, 'the trigger is not its own target');
});

test('MutatingPolicy mutate existing: a target expression reads the cluster through the resource library', async () => {
  const api = seeded();
  const secret: JsonObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'apps', uid: 'uid-s' } };
  const policy = JSON.parse(JSON.stringify(MPOL)) as JsonObject;
  (policy.spec as JsonObject).targetMatchConstraints = { expression: 'resource.Get("v1", "configmaps", object.metadata.namespace, "a")' };
  const out = await mutateExisting(api, policy, createRequest(secret), [], () => {});
  assert.deepEqual(out.failures, []);
  assert.deepEqual(out.mutated, ['ConfigMap apps/a']);
  assert.ok(api.calls.includes('request /api/v1/namespaces/apps/configmaps/a'), api.calls.join('\n'));
});

test('MutatingPolicy mutate existing: a policy event mutates each existing target as an UPDATE of itself', async () => {
  const api = seeded();
  const { bg, lines } = controller(api, [MPOL]);
  const lead = await leading(bg, [MPOL]);
  await new Promise((r) => setTimeout(r, 50));
  await bg.idle();
  for (const name of ['a', 'other', 'trigger-1']) assert.equal(labels(api.find('ConfigMap', name, 'apps')).stamped, 'yes', `${name}\n${lines.join('\n')}`);
  lead.abort();
  await bg.close();
});

test('MutatingPolicy mutate existing from a policy event with a target expression: request in scope, targetMatchConditions per target, the trigger may be its own target, written through the subresource the target rule names', async () => {
  const api = seeded();
  const policy: JsonObject = {
    apiVersion: 'policies.kyverno.io/v1beta1', kind: 'MutatingPolicy', metadata: { name: 'resize' },
    spec: {
      evaluation: { admission: { enabled: false }, mutateExisting: { enabled: true } },
      matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['configmaps'] }] },
      matchConditions: [{ name: 'ns', expression: 'request.namespace == "apps"' }],
      variables: [{ name: 'name', expression: 'request.name' }],
      targetMatchConstraints: { expression: 'resource.get("v1", "configmaps", request.namespace, variables.name)', resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['configmaps/status'] }] },
      targetMatchConditions: [{ name: 'not-other', expression: 'object.metadata.name != "other"' }],
      mutations: [{ patchType: 'ApplyConfiguration', applyConfiguration: { expression: 'Object{metadata: Object.metadata{labels: Object.metadata.labels{seen: "yes"}}}' } }],
    },
  };
  const { bg, lines } = controller(api, [policy]);
  const lead = await leading(bg, [policy]);
  await new Promise((r) => setTimeout(r, 50));
  await bg.idle();
  for (const name of ['a', 'trigger-1', 'skip-me']) assert.equal(labels(api.find('ConfigMap', name, 'apps')).seen, 'yes', `${name}\n${lines.join('\n')}`);
  assert.equal(labels(api.find('ConfigMap', 'other', 'apps')).seen, undefined, 'targetMatchConditions leave it out');
  assert.ok(api.calls.includes('replace ConfigMap/apps/a/status'), api.calls.join('\n'));
  lead.abort();
  await bg.close();
});

test("reports of classic background rules: mutate existing per rule and target on the trigger with patched-target; generate on the trigger with generated-resources, only once applied", async () => {
  const api = seeded();
  const reported: ReportItem[] = [];
  const { bg, lines } = controller(api, [STAMP], { reports: { add: (items) => reported.push(...items) } });
  const trigger = cm('trigger-1', {});
  bg.submit([{ action: 'request', type: 'mutate', policy: STAMP, rules: ['stamp'], request: createRequest(trigger) }]);
  for (let i = 0; i < 5; i++) (await bg.idle(), await new Promise((r) => setTimeout(r, 10)));
  assert.deepEqual(
    reported.map((r) => [meta(r.resource).name, r.policy, r.rule, r.status, r.message, r.properties?.['patched-target']]).sort((a, b) => String(a[3]).localeCompare(String(b[3]))),
    [
      ['trigger-1', 'stamp', 'stamp', 'pass', 'mutated ConfigMap/a in namespace apps', '/v1, Kind=ConfigMap Name=a Namespace=apps'],
      ['trigger-1', 'stamp', 'stamp', 'skip', 'preconditions not met', undefined],
    ],
    lines.join('\n'),
  );
  await bg.close();

  const gen: JsonObject = {
    apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'gen' },
    spec: { rules: [{ name: 'copy', match: { any: [{ resources: { kinds: ['ConfigMap'], names: ['trigger*'] } }] }, generate: { apiVersion: 'v1', kind: 'Secret', name: 'made', namespace: 'apps', data: { data: { k: 'dg==' } } } }] },
  };
  const run = async (fail: boolean) => {
    const fresh = seeded();
    const items: ReportItem[] = [];
    const c = controller(fresh, [gen], { reports: { add: (i) => items.push(...i) }, maxBackoffMs: 1 });
    if (fail) fresh.failures.create = Array.from({ length: 10 }, () => new KubeError(403, 'Forbidden', 'secrets is forbidden'));
    c.bg.submit([{ action: 'request', type: 'generate', policy: gen, rules: ['copy'], request: createRequest(trigger) }]);
    for (let i = 0; i < 5; i++) (await c.bg.idle(), await new Promise((r) => setTimeout(r, 10)));
    await c.bg.close();
    return items;
  };
  const ok = await run(false);
  assert.deepEqual(ok.map((r) => [meta(r.resource).name, r.policy, r.rule, r.status, r.message, r.properties]), [
    ['trigger-1', 'gen', 'copy', 'pass', '', { 'generated-resources': '/v1, Kind=Secret Name=made Namespace=apps' }],
  ]);
  assert.deepEqual(await run(true), [], 'a downstream object that could not be written: no report (Kyverno returns before createReports)');
});

test('reports of a namespaced Policy\'s mutate existing rule name the policy namespace/name, as admission results and Kyverno do', async () => {
  const api = seeded();
  const policy = { ...JSON.parse(JSON.stringify(STAMP)), kind: 'Policy', metadata: { name: 'stamp', namespace: 'apps' } } as JsonObject;
  const reported: ReportItem[] = [];
  const { bg, lines } = controller(api, [policy], { reports: { add: (items) => reported.push(...items) } });
  bg.submit([{ action: 'request', type: 'mutate', policy, rules: ['stamp'], request: createRequest(cm('trigger-1', {})) }]);
  for (let i = 0; i < 5; i++) (await bg.idle(), await new Promise((r) => setTimeout(r, 10)));
  assert.deepEqual(
    reported.map((r) => [r.policy, r.policyKind, r.status]).sort((a, b) => String(a[2]).localeCompare(String(b[2]))),
    [['apps/stamp', 'Policy', 'pass'], ['apps/stamp', 'Policy', 'skip']],
    lines.join('\n'),
  );
  await bg.close();
});

test('mutate existing on a subresource CREATE: the object is never stored, so the admission request\'s is the trigger (Kyverno\'s getTriggerForCreateOperation)', async () => {
  const api = new FakeApi();
  api.put({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'apps', uid: 'uid-web', resourceVersion: '1' }, spec: {} });
  const policy: JsonObject = {
    apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'on-binding' },
    spec: { rules: [{ name: 'node-label', match: { any: [{ resources: { kinds: ['Pod/binding'] } }] }, mutate: { targets: [{ apiVersion: 'v1', kind: 'Pod', name: '{{ request.name }}', namespace: '{{ request.namespace }}' }], patchStrategicMerge: { metadata: { labels: { node: '{{ request.object.target.name }}' } } } } }] },
  };
  const binding = { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'web', namespace: 'apps', uid: 'uid-web' }, target: { apiVersion: 'v1', kind: 'Node', name: 'node-1' } };
  // As the API server sends the scheduler's binding (pods/binding), read as the webhook reads it.
  const pods = { group: '', version: 'v1', resource: 'pods' };
  const { request } = readAdmissionReview({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u1', kind: { group: '', version: 'v1', kind: 'Binding' }, resource: pods, requestKind: { group: '', version: 'v1', kind: 'Binding' }, requestResource: pods, subResource: 'binding', requestSubResource: 'binding', name: 'web', namespace: 'apps', operation: 'CREATE', userInfo: { username: 'system:kube-scheduler' }, object: binding, oldObject: null } });
  const { bg, lines } = controller(api, [policy]);
  bg.submit([{ action: 'request', type: 'mutate', policy, rules: ['node-label'], request }]);
  await bg.idle();
  assert.equal(labels(api.find('Pod', 'web', 'apps')).node, 'node-1', lines.join('\n'));
  await bg.close();
});
