/** /policyvalidate's warnings for a classic policy's validate.cel: Kyverno's CEL type check, as kubectl shows them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluatePolicyValidation } from '../../webhook/evaluate';
import { crdSchemaOf, findBuiltInResources, findResources, kindTableWith } from '../../engine/kube';
import { asObject } from '../../engine/core/json';
import { kindLookups } from '../../engine/policy/admission-checks';
import { crdSchemasForPolicy, crdSchemasServing } from '../../kube-api/discovery';
import type { KubeClient } from '../../kube-api/client';
import { startTestWebhook } from './harness';

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

// ---- custom resources: the cluster's CRDs type `object` ---------------------------------------

const GADGET_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'gadgets.example.com' },
  spec: {
    group: 'example.com', scope: 'Namespaced', names: { kind: 'Gadget', plural: 'gadgets', singular: 'gadget', listKind: 'GadgetList' },
    versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } } } } }],
  },
};
const GADGET = crdSchemaOf(GADGET_CRD)!;
const clusterTable = kindTableWith([GADGET]);
const clusterFind = (g: string, v: string, k: string, s: string) => findResources(clusterTable, g, v, k, s);
const gadgetPolicy = (expression: string) => policy(['example.com/v1/Gadget'], [{ expression, message: 'm' }]);
const GADGET_WARNING = "spec.rules[0].validate.cel.expressions[0].expression:example.com/v1, Kind=Gadget: ERROR: <input>:1:12: undefined field 'colour'; | object.spec.colour > 1; | ...........^;";

test("/policyvalidate warns on a custom resource's missing field with the cluster's CRDs, and skips the kind without them", () => {
  const withCrds = (object: Record<string, unknown>) => JSON.parse(evaluatePolicyValidation(review(object), { findResources: clusterFind, customResources: [GADGET] }).body).response;
  const r = withCrds(gadgetPolicy('object.spec.colour > 1'));
  assert.equal(r.allowed, true);
  assert.deepEqual(r.warnings, [GADGET_WARNING]);
  assert.equal(withCrds(gadgetPolicy('object.spec.size > 1')).warnings, undefined);
  // Discovery knows the kind but its CRD was not read: no schema, no warning (ErrSchemaNotFound).
  assert.equal(JSON.parse(evaluatePolicyValidation(review(gadgetPolicy('object.spec.colour > 1')), { findResources: clusterFind }).body).response.warnings, undefined);
});

test("the server process types custom resources with the CRDs the primary read (access answers), as the webhook answers in a cluster", async () => {
  const asked: string[] = [];
  const hook = await startTestWebhook('policyvalidate-crd', {
    workers: 1,
    accessAnswers: async (p) => {
      asked.push(String(asObject(p.metadata).name));
      // What cluster-mode answers: discovery's lookups and the CRDs serving them.
      return { user: '', answers: [], kinds: kindLookups(p, clusterFind), crds: [GADGET] };
    },
  }, []);
  try {
    const r = JSON.parse((await hook.call('/policyvalidate', review(gadgetPolicy('object.spec.colour > 1')))).text).response;
    assert.equal(r.allowed, true);
    assert.deepEqual(r.warnings, [GADGET_WARNING]);
    assert.deepEqual(asked, ['p']);
  } finally {
    await hook.server.close();
  }
});

test("the primary reads the CRD serving each custom resource by its name, not the built-in kinds', and skips what it cannot read", async () => {
  const paths: string[] = [];
  const client = {
    request: async ({ path }: { path: string }) => {
      paths.push(path);
      if (path.endsWith('/gadgets.example.com')) return GADGET_CRD;
      throw new Error('404 not found');
    },
  } as unknown as KubeClient;
  const served = [
    ...clusterFind('example.com', 'v1', 'Gadget', ''),
    ...findBuiltInResources('apps', 'v1', 'Deployment', ''),
    { group: 'metrics.example.io', version: 'v1', resource: 'samples', subresource: '', namespaced: true },
  ];
  const crds = await crdSchemasServing(client, served);
  assert.deepEqual(crds, [GADGET]);
  assert.deepEqual(paths.sort(), ['/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.example.com', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/samples.metrics.example.io']);
  // Per policy: read for a policy Kyverno type-checks, not for one it does not (two rules).
  paths.length = 0;
  const one = gadgetPolicy('object.spec.size > 1');
  assert.deepEqual(await crdSchemasForPolicy(client, one, kindLookups(one, clusterFind)), [GADGET]);
  assert.deepEqual(paths, ['/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.example.com']);
  paths.length = 0;
  const two = policy(['example.com/v1/Gadget'], [{ expression: 'true', message: 'm' }], 2);
  assert.deepEqual(await crdSchemasForPolicy(client, two, kindLookups(two, clusterFind)), []);
  assert.deepEqual(paths, []);
});
