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

test('a CRD stored in the cluster defaults and validates its custom resources as the API server does', async () => {
  const { crdValidationError } = await import('./crd-defaults');
  const crd = {
    apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'roles.iam.example.io' },
    spec: {
      group: 'iam.example.io', scope: 'Cluster', names: { kind: 'Role', plural: 'roles' },
      versions: [{ name: 'v1beta1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', required: ['spec'], properties: { spec: { type: 'object', required: ['forProvider'], properties: { deletionPolicy: { type: 'string', default: 'Delete', enum: ['Orphan', 'Delete'] }, forProvider: { type: 'object' } } } } } } }],
    },
  };
  const role = (extra: Record<string, unknown>) => ({ apiVersion: 'iam.example.io/v1beta1', kind: 'Role', metadata: { name: 'superuser' }, ...extra });
  assert.equal(crdValidationError(role({ rules: [] }), [crd]), 'The Role "superuser" is invalid: spec: Required value');
  assert.equal(crdValidationError(role({ spec: {} }), [crd]), 'The Role "superuser" is invalid: spec.forProvider: Required value');
  assert.equal(crdValidationError(role({ spec: { forProvider: {} } }), [crd]), undefined);
  assert.equal(crdValidationError(role({ rules: [] }), []), undefined, 'without its CRD nothing is checked');
  assert.equal(crdValidationError({ ...role({ rules: [] }), apiVersion: 'iam.example.io/v2' }, [crd]), undefined, 'a version the CRD does not define has no schema here');
  assert.deepEqual(withCrdDefaults(role({ spec: { forProvider: {} } }), [crd]).spec, { deletionPolicy: 'Delete', forProvider: {} });
});
