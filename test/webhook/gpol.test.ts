/**
 * GeneratingPolicy in the webhook (webhook/gpol.ts): what admission queues, and the background
 * controller over an in-memory API server with watches (the offline runner's store): objects
 * generated with Kyverno's labels, synchronize (downstream put back, clone sources followed,
 * stale and no-longer-matching downstream deleted), policy deletion with and without
 * orphaning, generateExisting, and the gpol exception semantics of the engine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AdmissionRequest, JsonObject } from '../../engine/core/types';
import { applyPolicy } from '../../engine/apply';
import { BackgroundController, jobOf, updateRequestFor } from '../../webhook/background';
import { DownstreamGenerator } from '../../webhook/generate';
import { runGeneration } from '../../webhook/generate-work';
import { gpolAdmissionWork, writeGenerated, type GenerateContext } from '../../webhook/gpol';
import { ObjectStore, StoreClient, refOfObject } from '../chainsaw/store';

const meta = (o: JsonObject | undefined) => (o?.metadata ?? {}) as JsonObject;
const labels = (o: JsonObject | undefined) => (meta(o).labels ?? {}) as Record<string, string>;
const EMPTY = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] };

function gpol(name: string, spec: JsonObject): JsonObject {
  return { apiVersion: 'policies.kyverno.io/v1beta1', kind: 'GeneratingPolicy', metadata: { name }, spec };
}

const NAMESPACES = { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['namespaces'] }] };

/** A ConfigMap in each namespace labelled gen=yes, with the namespace's `quota` annotation. */
function dataPolicy(evaluation: JsonObject = { synchronize: { enabled: true } }): JsonObject {
  return gpol('ns-config', {
    evaluation,
    matchConstraints: NAMESPACES,
    matchConditions: [{ name: 'labelled', expression: "has(object.metadata.labels) && object.metadata.labels.?gen.orValue('') == 'yes'" }],
    variables: [{ name: 'ns', expression: 'object.metadata.name' }],
    generate: [{ expression: 'generator.Apply(variables.ns, [{"apiVersion": dyn("v1"), "kind": dyn("ConfigMap"), "metadata": dyn({"name": "settings"}), "data": dyn({"quota": object.metadata.?annotations.quota.orValue("10")})}])' }],
  });
}

/** A copy of default/regcred in each namespace. */
function clonePolicy(): JsonObject {
  return gpol('copy-regcred', {
    evaluation: { synchronize: { enabled: true } },
    matchConstraints: NAMESPACES,
    variables: [{ name: 'source', expression: 'resource.Get("v1", "secrets", "default", "regcred")' }],
    generate: [{ expression: 'generator.Apply(object.metadata.name, [variables.source])' }],
  });
}

function request(operation: AdmissionRequest['operation'], object: JsonObject | null, oldObject: JsonObject | null = null): AdmissionRequest {
  const subject = (object ?? oldObject)!;
  return { operation, object, oldObject, kind: { group: '', version: 'v1', kind: String(subject.kind) }, namespace: subject.kind === 'Namespace' ? String(meta(subject).name) : (meta(subject).namespace as string | undefined), requestInfo: { roles: [], clusterRoles: [], userInfo: { username: 'alice' } } };
}

/** A cluster with a background controller leading over it; writes go through "admission". */
class Cluster {
  readonly store = new ObjectStore();
  readonly client = new StoreClient(this.store);
  readonly log: string[] = [];
  policies: JsonObject[] = [];
  private readonly generator = new DownstreamGenerator({ client: this.client.asKubeClient(), log: (l) => this.log.push(l), triggerWaitMs: 0, attempts: 1 });
  private readonly bg = new BackgroundController({
    client: this.client.asKubeClient(),
    namespace: 'kyverno',
    log: (l) => this.log.push(l),
    generator: this.generator,
    current: () => ({ policies: this.policies, exceptions: [] }),
    backoffMs: 3_600_000,
    maxBackoffMs: 3_600_000,
    watchKind: (apiVersion, kind, rv, onEvent, signal) => this.client.watchKind(apiVersion, kind, rv, onEvent, signal),
  });
  private readonly leading = new AbortController();

  constructor() {
    this.store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
    this.bg.lead(this.leading.signal);
  }

  async setPolicies(policies: JsonObject[]): Promise<void> {
    this.policies = policies;
    await this.bg.onPolicies(policies);
    await this.settle();
  }

  /** Stores the change, then hands the admitted request to the background as a server process would. */
  async write(operation: 'CREATE' | 'UPDATE' | 'DELETE', object: JsonObject): Promise<JsonObject | undefined> {
    const old = this.store.get(refOfObject(object)) ?? null;
    let stored: JsonObject | undefined;
    if (operation === 'DELETE') this.store.delete(refOfObject(object));
    else stored = operation === 'CREATE' ? this.store.create(object) : this.store.replace({ ...object, metadata: { ...meta(object), uid: meta(old!).uid } });
    const work = runGeneration({ request: request(operation, operation === 'DELETE' ? null : stored!, operation === 'CREATE' ? null : old), policies: this.policies }, { ...EMPTY, namespaceLabels: {} });
    this.bg.submit(work.items);
    await this.settle();
    return stored;
  }

  async settle(): Promise<void> {
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setImmediate(r));
      await this.bg.idle();
      await this.generator.idle();
    }
  }

  get(kind: string, name: string, namespace?: string): JsonObject | undefined {
    return this.store.get({ apiVersion: 'v1', kind, name, namespace });
  }

  async close(): Promise<void> {
    this.leading.abort();
    await this.bg.close();
    await this.generator.close();
  }
}

const ns = (name: string, extra: JsonObject = {}): JsonObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { gen: 'yes' }, ...extra } });

test('admission: one CELGenerate request per policy whose webhook gets the request, as Kyverno\'s gpol handler', () => {
  const sync = dataPolicy();
  const plain = dataPolicy({});
  const n = { ...ns('a'), metadata: { ...meta(ns('a')), uid: 'u1' } };
  assert.deepEqual(gpolAdmissionWork(sync, request('CREATE', n), EMPTY), { deleteDownstream: false, synchronize: false });
  assert.deepEqual(gpolAdmissionWork(sync, request('UPDATE', n, n), EMPTY), { deleteDownstream: false, synchronize: true });
  assert.deepEqual(gpolAdmissionWork(plain, request('UPDATE', n, n), EMPTY), { deleteDownstream: false, synchronize: false });
  // A deleted trigger: its downstream goes when the policy synchronizes, unless DELETE is matched (then it generates).
  assert.deepEqual(gpolAdmissionWork(sync, request('DELETE', null, n), EMPTY), { deleteDownstream: true, synchronize: false });
  assert.equal(gpolAdmissionWork(plain, request('DELETE', null, n), EMPTY), undefined);
  const onDelete = gpol('on-delete', { matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['DELETE'], resources: ['namespaces'] }] } });
  assert.deepEqual(gpolAdmissionWork(onDelete, request('DELETE', null, n), EMPTY), { deleteDownstream: false, synchronize: false });
  // The webhook is registered for every operation of the rule's resources, not for other resources.
  assert.deepEqual(gpolAdmissionWork(onDelete, request('CREATE', n), EMPTY), { deleteDownstream: false, synchronize: false });
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'a' } };
  assert.equal(gpolAdmissionWork(sync, request('CREATE', pod), EMPTY), undefined);
  assert.equal(gpolAdmissionWork(sync, { ...request('CREATE', n), dryRun: true }, EMPTY), undefined);
  const namespaced = { ...onDelete, kind: 'NamespacedGeneratingPolicy', metadata: { name: 'x', namespace: 'team' }, spec: { matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }] } } };
  assert.equal(gpolAdmissionWork(namespaced, request('CREATE', pod), EMPTY), undefined, 'a namespaced policy only hears its own namespace');
  assert.ok(gpolAdmissionWork(namespaced, request('CREATE', { ...pod, metadata: { name: 'p', namespace: 'team' } }), EMPTY));
});

test('background: the objects generator.Apply returns are created with Kyverno\'s labels; a synchronized one is put back when edited or deleted', async () => {
  const c = new Cluster();
  try {
    await c.setPolicies([dataPolicy()]);
    const trigger = await c.write('CREATE', ns('team-a', { annotations: { quota: '5' } }));
    const cm = c.get('ConfigMap', 'settings', 'team-a');
    assert.ok(cm, c.log.join('\n'));
    assert.equal((cm.data as JsonObject).quota, '5');
    assert.deepEqual(
      Object.fromEntries(Object.entries(labels(cm)).filter(([k]) => k.startsWith('generate.kyverno.io/') || k === 'app.kubernetes.io/managed-by')),
      {
        'app.kubernetes.io/managed-by': 'kyverno',
        'generate.kyverno.io/policy-name': 'ns-config',
        'generate.kyverno.io/trigger-name': 'team-a',
        'generate.kyverno.io/trigger-namespace': '',
        'generate.kyverno.io/trigger-uid': String(meta(trigger).uid),
        'generate.kyverno.io/trigger-kind': 'Namespace',
        'generate.kyverno.io/trigger-group': '',
        'generate.kyverno.io/trigger-version': 'v1',
      },
    );
    // Someone edits it: reverted. Someone deletes it: recreated.
    c.store.replace({ ...cm, data: { quota: '999' } });
    await c.settle();
    assert.equal((c.get('ConfigMap', 'settings', 'team-a')!.data as JsonObject).quota, '5');
    c.store.delete(refOfObject(cm));
    await c.settle();
    assert.ok(c.get('ConfigMap', 'settings', 'team-a'), 'a deleted downstream object is recreated');
    // The trigger changes: the downstream is updated in place (same uid).
    const before = meta(c.get('ConfigMap', 'settings', 'team-a')).uid;
    await c.write('UPDATE', ns('team-a', { annotations: { quota: '50' } }));
    const after = c.get('ConfigMap', 'settings', 'team-a')!;
    assert.equal((after.data as JsonObject).quota, '50');
    assert.equal(meta(after).uid, before);
    // The trigger stops matching (match conditions): a synchronized UPDATE deletes its downstream.
    await c.write('UPDATE', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a', labels: { gen: 'no' } } });
    assert.equal(c.get('ConfigMap', 'settings', 'team-a'), undefined);
  } finally {
    await c.close();
  }
});

test('background: without synchronize, an edited or deleted downstream stays as it is', async () => {
  const c = new Cluster();
  try {
    await c.setPolicies([dataPolicy({})]);
    await c.write('CREATE', ns('team-b'));
    const cm = c.get('ConfigMap', 'settings', 'team-b')!;
    c.store.replace({ ...cm, data: { quota: 'edited' } });
    await c.settle();
    assert.equal((c.get('ConfigMap', 'settings', 'team-b')!.data as JsonObject).quota, 'edited');
    c.store.delete(refOfObject(cm));
    await c.settle();
    assert.equal(c.get('ConfigMap', 'settings', 'team-b'), undefined);
  } finally {
    await c.close();
  }
});

test('background: a synchronized trigger deleted takes its downstream; a deleted policy takes the rest unless it orphans them', async () => {
  for (const orphan of [false, true]) {
    const c = new Cluster();
    try {
      c.store.create(ns('keep'));
      const policy = dataPolicy({ synchronize: { enabled: true }, orphanDownstreamOnPolicyDelete: { enabled: orphan } });
      await c.setPolicies([policy]);
      await c.write('CREATE', ns('x'));
      await c.write('CREATE', ns('y'));
      assert.ok(c.get('ConfigMap', 'settings', 'x') && c.get('ConfigMap', 'settings', 'y'));
      // A ConfigMap deleted with its namespace is not recreated there (the API server refuses it).
      await c.write('DELETE', ns('x'));
      assert.equal(c.get('ConfigMap', 'settings', 'x'), undefined);
      await c.setPolicies([]);
      assert.equal(!!c.get('ConfigMap', 'settings', 'y'), orphan, `orphanDownstreamOnPolicyDelete ${orphan}`);
    } finally {
      await c.close();
    }
  }
});

test('background: a clone copies the source read with resource.Get, names it, follows its edits and goes with it', async () => {
  const c = new Cluster();
  try {
    c.store.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'regcred', namespace: 'default' }, data: { token: 'b25l' } });
    await c.setPolicies([clonePolicy()]);
    await c.write('CREATE', ns('apps'));
    const copy = c.get('Secret', 'regcred', 'apps');
    assert.ok(copy, c.log.join('\n'));
    const source = c.get('Secret', 'regcred', 'default')!;
    assert.equal(labels(copy)['generate.kyverno.io/source-uid'], meta(source).uid);
    c.store.replace({ ...source, data: { token: 'dHdv' } });
    await c.settle();
    assert.deepEqual(c.get('Secret', 'regcred', 'apps')!.data, { token: 'dHdv' });
    c.store.delete(refOfObject(source));
    await c.settle();
    assert.equal(c.get('Secret', 'regcred', 'apps'), undefined);
  } finally {
    await c.close();
  }
});

test('background: generateExisting generates for the triggers already there; a changed synchronized policy regenerates its downstream', async () => {
  const c = new Cluster();
  try {
    c.store.create(ns('early'));
    c.store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'unlabelled' } });
    await c.setPolicies([dataPolicy({ synchronize: { enabled: true }, generateExisting: { enabled: true } })]);
    assert.ok(c.get('ConfigMap', 'settings', 'early'), c.log.join('\n'));
    assert.equal(c.get('ConfigMap', 'settings', 'unlabelled'), undefined);
    const changed = dataPolicy({ synchronize: { enabled: true } });
    (changed.spec as JsonObject).generate = [{ expression: 'generator.Apply(variables.ns, [{"apiVersion": dyn("v1"), "kind": dyn("ConfigMap"), "metadata": dyn({"name": "settings-v2"}), "data": dyn({})}])' }];
    await c.setPolicies([changed]);
    assert.equal(c.get('ConfigMap', 'settings', 'early'), undefined, 'the old downstream goes');
    assert.ok(c.get('ConfigMap', 'settings-v2', 'early'), 'the trigger gets what the policy now generates');
  } finally {
    await c.close();
  }
});

test('writing generated objects: an object of that name that is not this policy\'s is never adopted; a bad apiVersion is an error; a cluster-scoped kind has no namespace', async () => {
  const store = new ObjectStore();
  const client = new StoreClient(store).asKubeClient();
  store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps' } });
  store.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'mine', namespace: 'apps' }, data: { owner: 'user' } });
  const ctx: GenerateContext = { policyName: 'p', policyNamespace: '', triggerName: 't', triggerNamespace: '', triggerGroup: '', triggerVersion: 'v1', triggerKind: 'Namespace', triggerUid: 'u', restoreCache: false, serverSideApply: false };
  const written = await writeGenerated(client, ctx, [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'mine', namespace: 'apps' }, data: { owner: 'policy' } }]);
  assert.deepEqual(written, []);
  assert.deepEqual(store.get({ apiVersion: 'v1', kind: 'ConfigMap', name: 'mine', namespace: 'apps' })!.data, { owner: 'user' });
  await assert.rejects(writeGenerated(client, ctx, [{ apiVersion: 'networking.k8s.io/apps/v1', kind: 'NetworkPolicy', metadata: { name: 'n', namespace: 'apps' } }]), /unexpected GroupVersion string/);
  const [crb] = await writeGenerated(client, ctx, [{ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'view', namespace: 'apps' }, roleRef: {}, subjects: [] }]);
  assert.equal(meta(crb).namespace, undefined);
  const nsCtx = { ...ctx, policyNamespace: 'apps' };
  await assert.rejects(writeGenerated(client, nsCtx, [{ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'r', namespace: 'apps' } }]), /cross-scope generation denied/);
});

test('engine: a GeneratingPolicy exception with images lets the policy run with exceptions.allowedImages; one without exempts', () => {
  const policy = gpol('cm-for-pods', {
    matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }] },
    matchConditions: [{ name: 'allowed', expression: 'object.spec.containers.all(c, c.image in exceptions.allowedImages)' }],
    generate: [{ expression: 'generator.Apply(object.metadata.namespace, [{"apiVersion": dyn("v1"), "kind": dyn("ConfigMap"), "metadata": dyn({"name": object.metadata.name})}])' }],
  });
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'apps' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } };
  const exception = (spec: JsonObject): JsonObject => ({ apiVersion: 'policies.kyverno.io/v1beta1', kind: 'PolicyException', metadata: { name: 'ex', namespace: 'apps' }, spec: { policyRefs: [{ name: 'cm-for-pods', kind: 'GeneratingPolicy' }], matchConditions: [], ...spec } });
  const run = (exceptions: JsonObject[]) => applyPolicy(policy, { request: request('CREATE', pod), cluster: { ...EMPTY, exceptions } }).rules[0];
  const withImages = run([exception({ images: ['nginx'] })]);
  assert.equal(withImages.status, 'pass');
  assert.equal(withImages.generatedResources?.length, 1);
  assert.equal(run([]).status, 'skip', 'without the exception the match condition fails');
  const full = run([exception({})]);
  assert.deepEqual([full.status, full.message], ['skip', 'rule is skipped due to policy exception: apps/ex']);
  assert.equal(run([exception({ reportResult: 'pass' })]).status, 'pass');
});

test('a CELGenerate job survives its UpdateRequest: type, trigger, deleteDownstream, synchronize and cacheRestore (in ruleContext, as Kyverno writes them)', () => {
  const job = { type: 'cel-generate' as const, policy: 'team/ns-config', rule: '', resource: { apiVersion: 'v1', kind: 'Namespace', name: 'a', uid: 'u1' }, synchronize: true, restoreCache: true };
  const ur = updateRequestFor(job, 'kyverno');
  const spec = ur.spec as JsonObject;
  assert.equal(spec.requestType, 'cel-generate');
  assert.deepEqual(spec.ruleContext, [{ rule: 'ns-config', trigger: job.resource, deleteDownstream: false, synchronize: true, cacheRestore: true }]);
  const back = jobOf(ur)!;
  assert.deepEqual([back.type, back.policy, back.resource, back.synchronize, back.restoreCache, back.deleteDownstream], ['cel-generate', 'team/ns-config', job.resource, true, true, undefined]);
});
