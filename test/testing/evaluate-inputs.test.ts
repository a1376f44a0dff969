// The test runner hands resources to the real engine without copying them per policy: this
// guards the assumption that applyPolicy leaves the request it is given untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyPolicy } from '../../engine/apply';
import type { JsonObject } from '../../engine/core/types';
import { emptyCluster } from '../../engine/testing';
import { clusterPolicy, pod } from './helpers';

const requestInfo = { roles: [], clusterRoles: [], userInfo: {} };
const match = { any: [{ resources: { kinds: ['Pod'] } }] };

function applyAndCompare(policy: JsonObject): void {
  const resource = pod('web', 'shop', { app: 'web' });
  const before = structuredClone(resource);
  const response = applyPolicy(policy, { request: { operation: 'CREATE', object: resource, oldObject: null, namespace: 'shop', requestInfo }, cluster: emptyCluster() });
  assert.ok(response.rules.length > 0, 'the policy must apply for the check to mean anything');
  assert.deepEqual(resource, before);
}

test('a mutate rule patches a copy, not the request object', () => {
  applyAndCompare(
    clusterPolicy('add', [
      { name: 'label', match, mutate: { patchStrategicMerge: { metadata: { labels: { team: 'x' } } } } },
      { name: 'patch', match, mutate: { patchesJson6902: '- op: add\n  path: /metadata/annotations\n  value: {a: b}\n' } },
    ]),
  );
});

test('validate and foreach rules leave the request object as it was', () => {
  applyAndCompare(
    clusterPolicy('check', [
      { name: 'pattern', match, validate: { message: 'm', pattern: { spec: { containers: [{ image: '!*:latest' }] } } } },
      { name: 'each', match, validate: { message: 'm', foreach: [{ list: 'request.object.spec.containers', deny: { conditions: { any: [{ key: '{{ element.name }}', operator: 'Equals', value: 'x' }] } } }] } },
    ]),
  );
});
