/**
 * The cleanup controller on a clock it does not own: cron runs happen at the schedule's time and
 * not before, ttl deletions when the label's time comes, with the propagation the annotation
 * asks for. The clock is the chainsaw runner's virtual one; the API server a small fake.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CleanupController } from '../../webhook/cleanup';
import type { ObjectRef } from '../../kube-api/errors';
import { knownKindTable } from '../../engine/kube';
import { VirtualClock } from '../chainsaw/clock';
import { discoveryDocuments } from '../chainsaw/store';
import { FakeApi } from './fake-api';

type Json = Record<string, unknown>;

/** The webhook tests' fake API server, with discovery of the known kinds, every access allowed, status patches and deletions recorded. */
class CleanupApi extends FakeApi {
  private readonly documents = discoveryDocuments(knownKindTable());
  readonly deleted: Array<{ name: string; propagationPolicy: unknown }> = [];
  readonly statuses: Json[] = [];
  override async request<T>(o?: { method: string; path: string; body?: unknown }): Promise<T> {
    if (o?.method === 'GET' && this.documents.has(o.path)) return this.documents.get(o.path) as T;
    if (o?.method === 'POST' && o.path.endsWith('/selfsubjectaccessreviews')) return { status: { allowed: true } } as T;
    if (o?.method === 'PATCH' && o.path.endsWith('/status')) return this.statuses.push(o.body as Json) as T;
    return super.request<T>(o);
  }
  override async pathFor(ref: Pick<ObjectRef, 'apiVersion' | 'kind' | 'namespace'> & { name?: string }): Promise<string> {
    return `/apis/${ref.apiVersion}/${ref.kind.toLowerCase()}s/${ref.name ?? ''}`;
  }
  override async delete(ref: ObjectRef, opts: { propagationPolicy?: unknown } = {}): Promise<boolean> {
    const had = await super.delete(ref);
    if (had) this.deleted.push({ name: ref.name, propagationPolicy: opts.propagationPolicy });
    return had;
  }
}

function fakeApi(objects: Json[]): CleanupApi {
  const api = new CleanupApi();
  for (const o of objects) api.put(o as never);
  return api;
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
/** 12:00:10 UTC: the next `*\/1 * * * *` time is 12:01:00, 50 s later. */
const START = Date.parse('2026-01-01T12:00:10Z');

test('a cleanup policy deletes at its cron time on the controller\'s clock, not before, and records the run', async () => {
  const pod = (name: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', creationTimestamp: iso(START) } });
  const namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } };
  const api = fakeApi([namespace, pod('example'), pod('other')]);
  let controller: CleanupController | undefined;
  const clock = new VirtualClock(START, () => controller!.idle());
  controller = new CleanupController({ client: api, log: () => undefined, clock, ttlClock: clock, watchLabelled: () => undefined });
  const lead = new AbortController();
  controller.setPolicies([
    {
      apiVersion: 'kyverno.io/v2',
      kind: 'ClusterCleanupPolicy',
      metadata: { name: 'cleanup-example', generation: 1, creationTimestamp: iso(START) },
      spec: { schedule: '*/1 * * * *', match: { any: [{ resources: { kinds: ['Pod'] } }] }, conditions: { all: [{ key: '{{ target.metadata.name }}', operator: 'Equals', value: 'example' }] } },
    },
  ]);
  controller.lead(lead.signal);
  try {
    await clock.advance(49_000);
    assert.equal(api.deleted.length, 0, 'nothing before 12:01:00');
    await clock.advance(2_000);
    assert.deepEqual(api.deleted, [{ name: 'example', propagationPolicy: null }]);
    assert.deepEqual(api.statuses, [{ status: { lastExecutionTime: '2026-01-01T12:01:00Z' } }]);
  } finally {
    lead.abort();
  }
});

test('the ttl label: a labelled object is deleted once its time has come on the ttl clock, with the propagation its annotation asks for', async () => {
  const job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'job', namespace: 'default', uid: 'u-job', creationTimestamp: iso(START), labels: { 'cleanup.kyverno.io/ttl': '10s' }, annotations: { 'cleanup.kyverno.io/propagation-policy': 'Foreground' } },
  };
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'pod', namespace: 'default', uid: 'u-pod', creationTimestamp: iso(START), labels: { 'cleanup.kyverno.io/ttl': '20s' } } };
  const api = fakeApi([job, pod]);
  let controller: CleanupController | undefined;
  const clock = new VirtualClock(START, () => controller!.idle());
  const watched: string[] = [];
  controller = new CleanupController({
    client: api,
    log: () => undefined,
    clock,
    ttlClock: clock,
    watchLabelled: (kinds, onObjects) => {
      watched.push(...kinds.map((k) => `${k.apiVersion}/${k.kind}`));
      onObjects([job, pod]);
    },
  });
  const lead = new AbortController();
  controller.lead(lead.signal);
  try {
    await clock.advance(0);
    assert.ok(watched.includes('batch/v1/Job') && watched.includes('v1/Pod'), 'every permitted kind is watched');
    await clock.advance(9_000);
    assert.equal(api.deleted.length, 0);
    await clock.advance(2_000);
    assert.deepEqual(api.deleted, [{ name: 'job', propagationPolicy: 'Foreground' }]);
    await clock.advance(10_000);
    assert.deepEqual(api.deleted.map((d) => d.propagationPolicy), ['Foreground', null], 'without the annotation the API server chooses');
  } finally {
    lead.abort();
  }
});

test('a DeletingPolicy\'s CEL http.get is called out during the run, as Kyverno\'s deleting controller calls inline', async () => {
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'example', namespace: 'default', creationTimestamp: iso(START) } };
  const api = fakeApi([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } }, pod]);
  const asked: string[] = [];
  let controller: CleanupController | undefined;
  const clock = new VirtualClock(START, () => controller!.idle());
  controller = new CleanupController({
    client: api,
    log: () => undefined,
    clock,
    ttlClock: clock,
    watchLabelled: () => undefined,
    calls: {
      post: () => Promise.reject(new Error('no POST expected')),
      service: async (requests) => requests.map((request) => {
        asked.push(`${request.method} ${request.url}`);
        return { request, outcome: { status: 200, statusText: '200 OK', text: JSON.stringify({ metadata: { labels: { app: 'test' } } }) } };
      }),
    },
  });
  controller.setPolicies([
    {
      apiVersion: 'policies.kyverno.io/v1',
      kind: 'DeletingPolicy',
      metadata: { name: 'http-check', generation: 1, creationTimestamp: iso(START) },
      spec: {
        schedule: '*/1 * * * *',
        matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }] },
        conditions: [{ name: 'http-200', expression: 'http.get("http://api.default.svc:80").metadata.labels.app == "test"' }],
      },
    },
  ]);
  const lead = new AbortController();
  controller.lead(lead.signal);
  try {
    await clock.advance(51_000);
    assert.deepEqual(asked, ['GET http://api.default.svc:80']);
    assert.deepEqual(api.deleted, [{ name: 'example', propagationPolicy: null }]);
  } finally {
    lead.abort();
  }
});
