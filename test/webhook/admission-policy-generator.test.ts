// The admission policy generator (webhook/admission-policy-generator.ts) against a fake API
// server: generated objects created, kept in step, deleted when the policy no longer
// qualifies, and the policy's status recording each outcome.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeError, type JsonObject } from '../../kube-api/client';
import { knownKindTable, type KindTable } from '../../engine/kube';
import { AdmissionPolicyGenerator, servedMapVersion } from '../../webhook/admission-policy-generator';
import { generatedForApiServer } from '../../engine/cel/admission-policy-generation';
import { parseServeArgs } from '../../webhook/serve';
import type { EventInfo } from '../../webhook/event-info';
import { FakeApi } from './fake-api';

function tableServingMap(versions: string[]): KindTable {
  const table = knownKindTable();
  for (const kind of ['MutatingAdmissionPolicy', 'MutatingAdmissionPolicyBinding']) {
    table.set(kind, versions.length ? [{ group: 'admissionregistration.k8s.io', version: versions[0], otherVersions: versions.slice(1), resource: `${kind.toLowerCase()}s`, namespaced: false }] : []);
  }
  return table;
}

function setup(features = { validating: true, mutating: false }, table = knownKindTable()) {
  const api = new FakeApi();
  const log: string[] = [];
  const events: EventInfo[] = [];
  const generator = new AdmissionPolicyGenerator({ client: api, log: (l) => log.push(l), features, kinds: async () => table, now: () => 0, events: { add: (e) => events.push(...e) } });
  // The generator's watches: every write to the fake API server, as it happens.
  api.subscribe((o, deleted) => generator.observe(o, deleted));
  generator.lead(new AbortController().signal);
  return { api, log, generator, events };
}

function clusterPolicy(expression: string, rules = 1): JsonObject {
  const rule = (i: number) => ({
    name: `r${i}`,
    match: { any: [{ resources: { kinds: ['Pod'], operations: ['CREATE'] } }] },
    validate: { failureAction: 'Enforce', cel: { generate: true, expressions: [{ expression, message: 'm' }] } },
  });
  return { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'p', uid: 'u1', resourceVersion: '1' }, spec: { rules: Array.from({ length: rules }, (_, i) => rule(i)) } };
}

const changes = (api: FakeApi) => api.calls.filter((c) => !c.startsWith('get '));

test('a ClusterPolicy: created, left alone when in step (API server defaults included), updated on change, deleted when it stops qualifying', async () => {
  const { api, generator, events } = setup();
  let policy = clusterPolicy('true');
  api.put(policy);
  await generator.idle();
  assert.deepEqual(changes(api), ['create ValidatingAdmissionPolicy/default/cpol-p', 'create ValidatingAdmissionPolicyBinding/default/cpol-p-binding', 'replace ClusterPolicy/default/p/status']);
  const vap = api.find('ValidatingAdmissionPolicy', 'cpol-p')!;
  assert.deepEqual((vap.spec as JsonObject).validations, [{ expression: 'true', message: 'm' }]);
  assert.deepEqual(((api.find('ValidatingAdmissionPolicyBinding', 'cpol-p-binding')!.spec) as JsonObject).validationActions, ['Deny']);
  policy = api.find('ClusterPolicy', 'p')!;
  assert.deepEqual((policy.status as JsonObject).validatingadmissionpolicy, { generated: true, message: '' });
  assert.equal(generatedForApiServer(policy), true);
  // Kyverno's NewValidatingAdmissionPolicyEvent (the event writer drops it unless success events are on).
  assert.deepEqual(events.map((e) => [e.reason, e.source, e.related?.kind, e.message]), [
    ['PolicyApplied', 'kyverno-generate', 'ValidatingAdmissionPolicy', 'successfully generated validating admission policy cpol-p from policy p'],
    ['PolicyApplied', 'kyverno-generate', 'ValidatingAdmissionPolicyBinding', 'successfully generated validating admission policy binding cpol-p-binding from policy p'],
  ]);

  // What the API server adds (defaults, metadata) does not make the objects out of step.
  api.calls.length = 0;
  api.put({ ...vap, metadata: { ...(vap.metadata as JsonObject), resourceVersion: '7' }, spec: { ...(vap.spec as JsonObject), failurePolicy: 'Fail' } });
  await generator.idle();
  assert.deepEqual(changes(api), []);
  assert.equal(events.length, 2);

  // The policy's expression changes: the generated policy follows, the binding is untouched.
  policy = { ...clusterPolicy('false'), status: policy.status, metadata: { ...(policy.metadata as JsonObject) } };
  api.put(policy);
  await generator.idle();
  assert.deepEqual(changes(api), ['replace ValidatingAdmissionPolicy/default/cpol-p']);
  assert.deepEqual((api.find('ValidatingAdmissionPolicy', 'cpol-p')!.spec as JsonObject).validations, [{ expression: 'false', message: 'm' }]);

  // A second rule: no longer expressible, both objects go and the status says why.
  api.calls.length = 0;
  policy = { ...clusterPolicy('false', 2), status: api.find('ClusterPolicy', 'p')!.status, metadata: { ...(api.find('ClusterPolicy', 'p')!.metadata as JsonObject) } };
  api.put(policy);
  await generator.idle();
  assert.deepEqual(changes(api), ['delete ValidatingAdmissionPolicy/default/cpol-p', 'delete ValidatingAdmissionPolicyBinding/default/cpol-p-binding', 'replace ClusterPolicy/default/p/status']);
  const after = api.find('ClusterPolicy', 'p')!;
  assert.deepEqual((after.status as JsonObject).validatingadmissionpolicy, { generated: false, message: 'skip generating ValidatingAdmissionPolicy: multiple rules are not applicable.' });
  assert.equal(generatedForApiServer(after), false);
  // The policy written again unchanged (its status, say): nothing is queued, nothing written.
  api.calls.length = 0;
  api.put(after);
  await generator.idle();
  assert.deepEqual(api.calls, []);
});

test('feature off: ClusterPolicies and ValidatingPolicies are left alone; a refused write records missing permissions', async () => {
  const off = setup({ validating: false, mutating: false });
  off.api.put(clusterPolicy('true'));
  await off.generator.idle();
  assert.deepEqual(changes(off.api), []);

  const { api, generator } = setup();
  const policy = clusterPolicy('true');
  api.failures.create = [new KubeError(403, 'Forbidden', 'no')];
  api.put(policy);
  await generator.idle();
  assert.deepEqual((api.find('ClusterPolicy', 'p')!.status as JsonObject).validatingadmissionpolicy, { generated: false, message: 'insufficient permissions to generate ValidatingAdmissionPolicies' });
  // Granted, and the policy changes: generated. Then the binding is deleted and writing it again is refused.
  api.put({ ...clusterPolicy('1 == 1'), status: api.find('ClusterPolicy', 'p')!.status, metadata: api.find('ClusterPolicy', 'p')!.metadata });
  await generator.idle();
  assert.deepEqual((api.find('ClusterPolicy', 'p')!.status as JsonObject).validatingadmissionpolicy, { generated: true, message: '' });
  api.failures.create = [new KubeError(403, 'Forbidden', 'no')];
  await api.delete({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding', name: 'cpol-p-binding' });
  await generator.idle();
  assert.deepEqual((api.find('ClusterPolicy', 'p')!.status as JsonObject).validatingadmissionpolicy, { generated: false, message: 'insufficient permissions to generate ValidatingAdmissionPolicyBindings' });
});

test("a status write refused with a conflict is logged and given up, as Kyverno's updatePolicyStatus (no retry)", async () => {
  const { api, generator, log } = setup();
  // A ValidatingPolicy that does not ask for generation: its status is the only write.
  const vpol = (resourceVersion: string, expression: string): JsonObject => ({
    apiVersion: 'policies.kyverno.io/v1beta1', kind: 'ValidatingPolicy', metadata: { name: 'v', uid: 'u2', resourceVersion },
    spec: { validationActions: ['Audit'], matchConstraints: { resourceRules: [{ apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE'], resources: ['deployments'] }] }, validations: [{ expression }] },
  });
  api.failures.replace = [new KubeError(409, 'Conflict', 'the object has been modified')];
  api.put(vpol('1', 'true'));
  await generator.idle();
  assert.deepEqual(changes(api), ['replace ValidatingPolicy/default/v/status'], 'one attempt');
  assert.equal(api.find('ValidatingPolicy', 'v')!.status, undefined);
  assert.ok(log.some((l) => l.includes('failed to update validating policy status: v: the object has been modified')), log.join('\n'));
  // The policy's next change writes it.
  api.put(vpol('2', '1 == 1'));
  await generator.idle();
  assert.equal((api.find('ValidatingPolicy', 'v')!.status as JsonObject).generated, false);
});

test('a ValidatingPolicy not asking for generation records why; a CEL exception is reflected in the generated policy', async () => {
  const { api, generator } = setup();
  const vpol = (enabled: boolean): JsonObject => ({
    apiVersion: 'policies.kyverno.io/v1beta1',
    kind: 'ValidatingPolicy',
    metadata: { name: 'v', uid: 'u2', resourceVersion: '1' },
    spec: {
      autogen: { validatingAdmissionPolicy: { enabled } },
      validationActions: ['Audit'],
      matchConstraints: { resourceRules: [{ apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE'], resources: ['deployments'] }] },
      validations: [{ expression: 'true' }],
    },
    status: { conditionStatus: { ready: true } },
  });
  api.put(vpol(false));
  await generator.idle();
  assert.deepEqual(api.find('ValidatingPolicy', 'v')!.status, { conditionStatus: { ready: true, message: 'skip generating ValidatingAdmissionPolicy: not enabled.' }, generated: false });
  assert.equal(api.find('ValidatingAdmissionPolicy', 'vpol-v'), undefined);

  const exception = { apiVersion: 'policies.kyverno.io/v1beta1', kind: 'PolicyException', metadata: { name: 'e' }, spec: { policyRefs: [{ name: 'v', kind: 'ValidatingPolicy' }], matchConditions: [{ name: 'n', expression: 'false' }] } };
  const enabled = { ...vpol(true), status: api.find('ValidatingPolicy', 'v')!.status, metadata: api.find('ValidatingPolicy', 'v')!.metadata };
  api.put(exception);
  api.put(enabled);
  await generator.idle();
  assert.deepEqual((api.find('ValidatingAdmissionPolicy', 'vpol-v')!.spec as JsonObject).matchConditions, [{ name: 'n', expression: '!(false)' }]);
  assert.deepEqual((api.find('ValidatingAdmissionPolicyBinding', 'vpol-v-binding')!.spec as JsonObject).validationActions, ['Audit']);
  assert.deepEqual(api.find('ValidatingPolicy', 'v')!.status, { conditionStatus: { ready: true }, generated: true });
});

test('MutatingPolicies: the version the cluster serves, and nothing for a policy that does not ask while the feature is off', async () => {
  assert.equal(servedMapVersion(tableServingMap(['v1beta1', 'v1alpha1'])), 'v1beta1');
  assert.equal(servedMapVersion(tableServingMap(['v1', 'v1beta1'])), 'v1');
  assert.equal(servedMapVersion(tableServingMap([])), undefined);
  const mpol = (enabled: boolean): JsonObject => ({
    apiVersion: 'policies.kyverno.io/v1beta1',
    kind: 'MutatingPolicy',
    metadata: { name: 'm', uid: 'u3', resourceVersion: '1' },
    spec: {
      autogen: { mutatingAdmissionPolicy: { enabled } },
      matchConstraints: { resourceRules: [{ apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE'], resources: ['deployments'] }] },
      mutations: [{ patchType: 'JSONPatch', jsonPatch: { expression: '[]' } }],
    },
  });
  const off = setup({ validating: true, mutating: false }, tableServingMap(['v1beta1']));
  off.api.put(mpol(false));
  await off.generator.idle();
  assert.deepEqual(changes(off.api), []);

  const { api, generator } = setup({ validating: true, mutating: false }, tableServingMap(['v1beta1']));
  api.put(mpol(true));
  await generator.idle();
  const map = api.find('MutatingAdmissionPolicy', 'mpol-m')!;
  assert.equal(map.apiVersion, 'admissionregistration.k8s.io/v1beta1');
  assert.equal((api.find('MutatingAdmissionPolicyBinding', 'mpol-m-binding')!.spec as JsonObject).policyName, 'mpol-m');
  assert.equal((api.find('MutatingPolicy', 'm')!.status as JsonObject).generated, true);
});

test('serve flags: generation of validating admission policies on by default, mutating off', () => {
  const TLS = ['--tls-cert', 'c', '--tls-key', 'k'];
  assert.deepEqual(parseServeArgs(['--in-cluster', ...TLS]).admissionPolicyGeneration, { validating: true, mutating: false });
  assert.deepEqual(parseServeArgs(['--in-cluster', ...TLS, '--generate-validating-admission-policy=false', '--generate-mutating-admission-policy']).admissionPolicyGeneration, { validating: false, mutating: true });
});

test('a field the policy no longer sets leaves the generated policy too (Kyverno rewrites the whole spec)', async () => {
  const { api, generator } = setup();
  const withCondition: JsonObject = { ...clusterPolicy('true') };
  const rules = ((withCondition.spec as JsonObject).rules as JsonObject[]).map((r) => ({ ...r, celPreconditions: [{ name: 'c', expression: 'false' }] }));
  withCondition.spec = { rules };
  api.put(withCondition);
  await generator.idle();
  assert.ok(((api.find('ValidatingAdmissionPolicy', 'cpol-p')!.spec as JsonObject).matchConditions as unknown[])?.length, 'the precondition became a matchCondition');
  const without = { ...clusterPolicy('true'), status: api.find('ClusterPolicy', 'p')!.status };
  api.calls.length = 0;
  api.put(without);
  await generator.idle();
  assert.deepEqual(changes(api), ['replace ValidatingAdmissionPolicy/default/cpol-p']);
  assert.equal((api.find('ValidatingAdmissionPolicy', 'cpol-p')!.spec as JsonObject).matchConditions, undefined);
});

/** A ClusterPolicy named `name` generating a ValidatingAdmissionPolicy (`rule` its one rule's name). */
function namedPolicy(name: string, expression = 'true'): JsonObject {
  const p = clusterPolicy(expression);
  return { ...p, metadata: { name, uid: `uid-${name}`, resourceVersion: '1' } };
}

test('the generated objects are watched: a deletion or a spec edit is put back at once, touching only the policy that owns it', async () => {
  const { api, generator } = setup();
  api.put(namedPolicy('a'));
  api.put(namedPolicy('b'));
  await generator.idle();
  const vapOf = (name: string) => api.find('ValidatingAdmissionPolicy', `cpol-${name}`)!;
  assert.ok(vapOf('a') && vapOf('b'));

  // The binding of `a` deleted by hand: only it is written again; no read, nothing about `b`.
  api.calls.length = 0;
  await api.delete({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding', name: 'cpol-a-binding' });
  await generator.idle();
  assert.deepEqual(api.calls, ['delete ValidatingAdmissionPolicyBinding/default/cpol-a-binding', 'create ValidatingAdmissionPolicyBinding/default/cpol-a-binding']);
  assert.deepEqual((api.find('ValidatingAdmissionPolicyBinding', 'cpol-a-binding')!.spec as JsonObject).policyName, 'cpol-a');

  // The generated policy of `b` edited by hand: its spec is put back.
  api.calls.length = 0;
  const edited = vapOf('b');
  api.put({ ...edited, spec: { ...(edited.spec as JsonObject), validations: [{ expression: 'false', message: 'hand edit' }] } });
  await generator.idle();
  assert.deepEqual(api.calls, ['replace ValidatingAdmissionPolicy/default/cpol-b']);
  assert.deepEqual((vapOf('b').spec as JsonObject).validations, [{ expression: 'true', message: 'm' }]);

  // A metadata-only edit is no spec change: Kyverno's handlers queue nothing for it.
  api.calls.length = 0;
  api.put({ ...vapOf('b'), metadata: { ...(vapOf('b').metadata as JsonObject), annotations: { note: 'x' } } });
  await generator.idle();
  assert.deepEqual(api.calls, []);

  // An object owned by something else, or by no policy we know, queues nothing.
  api.put({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy', metadata: { name: 'mine', ownerReferences: [{ kind: 'ClusterPolicy', name: 'unknown' }] }, spec: {} });
  await generator.idle();
  assert.deepEqual(api.calls, []);
});

test('a PolicyException queues the policies it names (not the others; not an entry naming several rules, as in Kyverno)', async () => {
  const { api, generator } = setup();
  api.put(namedPolicy('a'));
  api.put(namedPolicy('b'));
  await generator.idle();
  const exception = (ruleNames: string[], name = 'e'): JsonObject => ({
    apiVersion: 'kyverno.io/v2',
    kind: 'PolicyException',
    metadata: { name, namespace: 'default' },
    spec: { exceptions: [{ policyName: 'a', ruleNames }], match: { any: [{ resources: { kinds: ['Pod'], names: ['skip-me'] } }] } },
  });
  api.calls.length = 0;
  api.put(exception(['r0']));
  await generator.idle();
  assert.deepEqual(api.calls, ['replace ValidatingAdmissionPolicy/default/cpol-a']);
  const excluded = asRules(api.find('ValidatingAdmissionPolicy', 'cpol-a')!);
  assert.deepEqual(excluded.map((r) => r.resourceNames), [['skip-me']]);

  // Kyverno's enqueueException skips entries naming more than one rule: nothing is reconciled.
  api.calls.length = 0;
  api.put(exception(['r0', 'r1'], 'e2'));
  await generator.idle();
  assert.deepEqual(api.calls, []);
  await api.delete({ apiVersion: 'kyverno.io/v2', kind: 'PolicyException', namespace: 'default', name: 'e2' });

  // The exception deleted: the policy it named is reconciled again.
  await api.delete({ apiVersion: 'kyverno.io/v2', kind: 'PolicyException', namespace: 'default', name: 'e' });
  await generator.idle();
  assert.deepEqual(asRules(api.find('ValidatingAdmissionPolicy', 'cpol-a')!), []);
});

function asRules(vap: JsonObject): JsonObject[] {
  return (((vap.spec as JsonObject).matchConstraints as JsonObject).excludeResourceRules ?? []) as JsonObject[];
}

test('leadership: nothing is reconciled while not leading; a new leader reconciles every policy once the generated objects are listed', async () => {
  const api = new FakeApi();
  const generator = new AdmissionPolicyGenerator({ client: api, log: () => {}, features: { validating: true, mutating: false }, kinds: async () => knownKindTable(), now: () => 0 });
  api.subscribe((o, deleted) => generator.observe(o, deleted));
  api.put(namedPolicy('a'));
  await generator.idle();
  assert.deepEqual(api.calls, [], 'a follower writes nothing');

  const leading = new AbortController();
  let listed!: () => void;
  generator.lead(leading.signal, new Promise<void>((r) => (listed = r)));
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(api.calls, [], 'the work waits for the generated objects to be listed');
  listed();
  await generator.idle();
  assert.ok(api.find('ValidatingAdmissionPolicy', 'cpol-a'));

  leading.abort();
  api.calls.length = 0;
  await api.delete({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding', name: 'cpol-a-binding' });
  await generator.idle();
  assert.deepEqual(api.calls, ['delete ValidatingAdmissionPolicyBinding/default/cpol-a-binding'], 'no longer leading: not put back');
});
