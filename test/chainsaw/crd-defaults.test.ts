/** The runner's stand-in for the API server's CRD defaulting. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withCrdDefaults } from './crd-defaults';

test('a ClusterPolicy gets its CRD defaults inside present objects, and set values stay', () => {
  const policy = {
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name: 'p' },
    spec: {
      background: false,
      rules: [
        { name: 'a', match: { any: [{ resources: { kinds: ['Pod'] } }] }, validate: { pattern: { x: 1 } } },
        { name: 'b', skipBackgroundRequests: false, match: { any: [{ resources: { kinds: ['Pod'] } }] }, validate: { pattern: { x: 1 } } },
      ],
    },
  };
  const out = withCrdDefaults(policy) as { spec: { background: boolean; admission: boolean; validationFailureAction: string; rules: Array<Record<string, unknown>> } };
  assert.equal(out.spec.background, false, 'a set value is kept');
  assert.equal(out.spec.admission, true);
  assert.equal(out.spec.validationFailureAction, 'Audit');
  assert.equal(out.spec.rules[0].skipBackgroundRequests, true, 'array items are defaulted');
  assert.equal(out.spec.rules[1].skipBackgroundRequests, false);
  assert.equal((out.spec.rules[0].validate as Record<string, unknown>).allowExistingViolations, true);
  assert.equal(out.spec.rules[0].mutate, undefined, 'an absent object is not created');
  assert.deepEqual(policy.spec.rules[0].skipBackgroundRequests, undefined, 'the input is not changed');
});

test('kinds without a bundled CRD are left as they are', () => {
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' } };
  assert.equal(withCrdDefaults(pod), pod);
});
