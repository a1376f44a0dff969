import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accessCheckError, accessQuestions, questionKey, type AccessAnswer, type AccessQuestion } from '../../engine/policy/auth-checks';
import type { JsonObject } from '../../engine/core/types';

const SA = 'system:serviceaccount:kyverno:kyverno-background-controller';
const users = { admission: 'system:serviceaccount:kyverno:kyverno-admission-controller', background: SA };

function policy(rules: JsonObject[]): JsonObject {
  return { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'p' }, spec: { rules } };
}

/** Answers from a set of allowed "verb gvk namespace" strings. */
function answering(allowed: string[], asked: AccessQuestion[] = []) {
  return (_account: string, q: AccessQuestion): AccessAnswer => {
    asked.push(q);
    return { allowed: allowed.includes(`${q.verb} ${q.gvk}${q.subresource ? `/${q.subresource}` : ''} ${q.namespace}`) };
  };
}

const mutateTargets = (targets: JsonObject[]) => policy([{ name: 'm', match: { any: [{ resources: { kinds: ['Namespace'] } }] }, mutate: { targets, patchStrategicMerge: { metadata: { labels: { a: 'b' } } } } }]);

test('a mutate target the background account may not get and update: Kyverno\'s message, targets joined with "; "', () => {
  const p = mutateTargets([{ apiVersion: 'v1', kind: 'ServiceAccount' }, { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: '{{ request.object.metadata.name }}' }]);
  const error = accessCheckError(p, { users, answer: answering(['get v1/ServiceAccount ']) });
  assert.equal(
    error,
    `path: spec.rules[0].mutate.targets.: auth check fails, additional privileges are required for the service account '${SA}': ` +
      `${SA} requires permissions update for resource v1/ServiceAccount; ${SA} requires permissions get,update for resource v1/PersistentVolumeClaim in namespace {{ request.object.metadata.name }}`,
  );
  assert.equal(accessCheckError(p, { users, answer: () => ({ allowed: true }) }), undefined);
});

test('mutate: a target kind with a variable is not checked, a foreach rule is not checked, a subresource is named', () => {
  assert.deepEqual(accessQuestions(mutateTargets([{ apiVersion: 'v1', kind: '{{ request.object.kind }}' }])), []);
  const foreach = policy([{ name: 'm', mutate: { targets: [{ apiVersion: 'v1', kind: 'Secret' }], foreach: [{ list: 'x', patchStrategicMerge: {} }] } }]);
  assert.deepEqual(accessQuestions(foreach), []);
  const error = accessCheckError(mutateTargets([{ apiVersion: 'v1', kind: 'Node/status' }]), { users, answer: answering([]) });
  assert.match(error ?? '', /requires permissions get,update for resource v1\/Node\/status$/);
});

test('generate: a synchronizing rule asks the admission account list,get first, then the background account get,create,update,delete', () => {
  const p = policy([{ name: 'g', match: { any: [{ resources: { kinds: ['ConfigMap'] } }] }, generate: { apiVersion: 'v1', kind: 'ServiceAccount', name: 'sa', namespace: 'default', synchronize: true, clone: { namespace: 'default', name: 'x' } } }]);
  assert.deepEqual(accessQuestions(p).map((q) => `${q.account} ${q.verb}`), ['admission list', 'admission get', 'background get', 'background create', 'background update', 'background delete']);
  assert.equal(accessCheckError(p, { users, answer: answering([]) }), `path: spec.rules[0].generate..: ${users.admission} requires permissions list,get for resource v1/ServiceAccount in namespace default`);
  assert.equal(
    accessCheckError(p, { users, answer: (account, q) => ({ allowed: account === 'admission' || q.verb === 'get' }) }),
    `path: spec.rules[0].generate..: ${SA} requires permissions create,update,delete for resource v1/ServiceAccount in namespace default`,
  );
});

test('generate: without synchronize get,create; foreach reports under generate.foreach; a cloneList checks its first kind', () => {
  const plain = policy([{ name: 'g', generate: { apiVersion: 'v1', kind: 'ConfigMap', name: 'c', namespace: 'ns', data: {} } }]);
  assert.deepEqual(accessQuestions(plain).map((q) => q.verb), ['get', 'create']);
  const foreach = policy([{ name: 'g', generate: { foreach: [{ list: 'x', apiVersion: 'v1', kind: 'Secret', name: 's', namespace: 'ns', data: {} }] } }]);
  assert.equal(accessCheckError(foreach, { users, answer: answering([]) }), `path: spec.rules[0].generate.foreach.: ${SA} requires permissions get,create for resource v1/Secret in namespace ns`);
  const cloneList = policy([{ name: 'g', generate: { namespace: 'ns', cloneList: { namespace: 'src', kinds: ['v1/Secret', 'v1/ConfigMap'] } } }]);
  assert.deepEqual([...new Set(accessQuestions(cloneList).map((q) => q.gvk))], ['v1/Secret']);
  const variableKind = policy([{ name: 'g', generate: { apiVersion: 'v1', kind: '{{ request.object.kind }}', name: 'c', namespace: 'ns', data: {} } }]);
  assert.deepEqual(accessQuestions(variableKind), []);
});

test('a question that could not be answered rejects with its error alone; unasked questions decide nothing', () => {
  const p = mutateTargets([{ apiVersion: 'v1', kind: 'Secret' }, { apiVersion: 'example.com/v1', kind: 'Unknown' }]);
  const answers = new Map<string, AccessAnswer>();
  for (const q of accessQuestions(p)) answers.set(questionKey(q), q.gvk === 'v1/Secret' ? { allowed: false } : { error: 'failed to get GVR for kind example.com/v1/Unknown' });
  assert.equal(accessCheckError(p, { users, answer: (_a, q) => answers.get(questionKey(q)) }), `path: spec.rules[0].mutate.targets.: auth check fails, additional privileges are required for the service account '${SA}': failed to get GVR for kind example.com/v1/Unknown`);
  assert.equal(accessCheckError(p, { users, answer: () => undefined }), undefined);
});

test('a cleanup policy: its controller must delete, then list, each kind and name it matches (all, then any), in the policy\'s namespace', () => {
  const cleanup = (match: JsonObject, namespace?: string): JsonObject => ({
    apiVersion: 'kyverno.io/v2',
    kind: namespace ? 'CleanupPolicy' : 'ClusterCleanupPolicy',
    metadata: { name: 'c', ...(namespace ? { namespace } : {}) },
    spec: { schedule: '* * * * *', match },
  });
  const cleanupUsers = { ...users, cleanup: 'system:serviceaccount:kyverno:kyverno-cleanup-controller' };
  const p = cleanup({ any: [{ resources: { kinds: ['Pod', 'apps/v1/Deployment'], names: ['a', 'b'] } }], all: [{ resources: { kinds: ['Secret'] } }] }, 'team');
  assert.deepEqual(
    accessQuestions(p).map((q) => `${q.account} ${q.verb} ${q.gvk} ${q.namespace}/${q.name}`),
    ['delete Secret team/', 'list Secret team/', 'delete Pod team/a', 'list Pod team/a', 'delete Pod team/b', 'list Pod team/b', 'delete apps/v1/Deployment team/a', 'list apps/v1/Deployment team/a', 'delete apps/v1/Deployment team/b', 'list apps/v1/Deployment team/b'].map((s) => `cleanup ${s}`),
  );
  assert.deepEqual(accessQuestions(cleanup({ all: [{ resources: { kinds: ['Secret'] } }] })).map((q) => `${q.verb} ${q.gvk} ${q.namespace}/${q.name}`), ['delete Secret /', 'list Secret /']);
  const allowed = (verbs: string[]) => (_account: string, q: AccessQuestion): AccessAnswer => ({ allowed: verbs.includes(`${q.verb} ${q.gvk}`) });
  const secret = ['delete Secret', 'list Secret'];
  assert.equal(accessCheckError(p, { users: cleanupUsers, answer: allowed([]) }), 'cleanup controller has no permission to delete kind Secret');
  assert.equal(accessCheckError(p, { users: cleanupUsers, answer: allowed(['delete Secret']) }), 'cleanup controller has no permission to list kind Secret');
  // With every `any` kind allowed, an `all` kind alone still refuses the policy.
  assert.equal(accessCheckError(p, { users: cleanupUsers, answer: allowed(['delete Pod', 'list Pod', 'delete apps/v1/Deployment', 'list apps/v1/Deployment']) }), 'cleanup controller has no permission to delete kind Secret');
  assert.equal(accessCheckError(p, { users: cleanupUsers, answer: allowed([...secret]) }), 'cleanup controller has no permission to delete kind Pod');
  assert.equal(accessCheckError(p, { users: cleanupUsers, answer: allowed([...secret, 'delete Pod']) }), 'cleanup controller has no permission to list kind Pod');
  assert.equal(accessCheckError(p, { users: cleanupUsers, answer: allowed([...secret, 'delete Pod', 'list Pod', 'delete apps/v1/Deployment']) }), 'cleanup controller has no permission to list kind apps/v1/Deployment');
  assert.equal(accessCheckError(p, { users: cleanupUsers, answer: allowed([...secret, 'delete Pod', 'list Pod', 'delete apps/v1/Deployment', 'list apps/v1/Deployment']) }), undefined);
  assert.equal(accessCheckError(p, { users: cleanupUsers, answer: () => ({ error: 'failed to get GVR for kind Pod' }) }), 'failed to get GVR for kind Pod');
});
