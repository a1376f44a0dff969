/** /policyvalidate's warnings for a classic policy's validate.cel: Kyverno's CEL type check, as kubectl shows them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluatePolicyValidation } from '../../webhook/evaluate';
import { findBuiltInResources } from '../../engine/kube';

const review = (object: Record<string, unknown>) => JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u1', operation: 'CREATE', object } });
const policy = (kinds: string[], expressions: Array<Record<string, string>>, rules = 1) => ({
  apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy', metadata: { name: 'p' },
  spec: { rules: Array.from({ length: rules }, (_, i) => ({ name: `r${i}`, match: { any: [{ resources: { kinds } }] }, validate: { failureAction: 'Enforce', cel: { expressions } } })) },
});
const answer = (object: Record<string, unknown>) => JSON.parse(evaluatePolicyValidation(review(object), { findResources: findBuiltInResources }).body).response;

test('/policyvalidate admits a validate.cel policy naming a field its kind lacks, with the type checker\'s warning', () => {
  const r = answer(policy(['Deployment'], [{ expression: 'object.replicas > 1', message: 'must be replicated' }]));
  assert.equal(r.allowed, true);
  assert.deepEqual(r.warnings, ["spec.rules[0].validate.cel.expressions[0].expression:apps/v1, Kind=Deployment: ERROR: <input>:1:7: undefined field 'replicas'; | object.replicas > 1; | ......^;"]);
  // The right field: no warning. Two rules: Kyverno does not type-check.
  assert.equal(answer(policy(['Deployment'], [{ expression: 'object.spec.replicas > 1', message: 'm' }])).warnings, undefined);
  assert.equal(answer(policy(['Deployment'], [{ expression: 'object.replicas > 1', message: 'm' }], 2)).warnings, undefined);
});
