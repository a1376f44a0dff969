// Differential test: for every resource file of both shared corpora's tests, the webhook's pure
// admission answer (webhook/admission.ts, as the API server calls it: /mutate, its JSONPatch
// applied, then /validate on the mutated object) agrees with engine/evaluate, the path of
// `kyverno-studio apply`, on the same policies, resources and offline cluster:
// - the patch yields the resource the evaluation mutated;
// - the request is denied exactly when the evaluation has a validation failure (or error) whose
//   failure action is Enforce;
// - the warnings are Kyverno's (pkg/webhooks/utils GetWarningMessages).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyPatch, type Operation } from 'fast-json-patch';
import { applyFiles } from '../../cli/commands/apply';
import { corpusCases, corpusDir } from '../fixtures/corpus-cases';
import { answerAdmissionReview, admissionWarnings } from '../../webhook/admission';
import type { JsonObject, RuleResult } from '../../engine/core/types';

const CORPORA = [
  { name: 'kyverno-policies', minimum: 300 },
  { name: 'kyverno-cli', minimum: 100 },
];
const now = new Date('2026-01-01T00:00:00Z');

function review(resource: JsonObject): JsonObject {
  const [group, version] = String(resource.apiVersion).includes('/') ? String(resource.apiVersion).split('/') : ['', String(resource.apiVersion)];
  const meta = (resource.metadata ?? {}) as JsonObject;
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'differential',
      operation: 'CREATE',
      kind: { group, version, kind: resource.kind },
      resource: { group, version, resource: `${String(resource.kind).toLowerCase()}s` },
      ...(typeof meta.namespace === 'string' ? { namespace: meta.namespace } : {}),
      userInfo: {},
      object: resource,
    },
  };
}

function policyOf(policies: JsonObject[], ref: { kind: string; name: string; namespace?: string }): JsonObject {
  const meta = (p: JsonObject) => (p.metadata ?? {}) as JsonObject;
  return policies.find((p) => p.kind === ref.kind && meta(p).name === ref.name && (meta(p).namespace ?? undefined) === ref.namespace)!;
}

const enforced = (r: RuleResult) => r.type === 'Validation' && (r.status === 'fail' || r.status === 'error') && r.failureAction === 'Enforce';

for (const { name, minimum } of CORPORA) test(`the webhook's admission answers agree with apply's evaluation on every ${name} resource file`, (t) => {
  const corpus = corpusDir(t, name);
  if (!corpus) return;
  const mismatches: string[] = [];
  let compared = 0;
  for (const { where, policyPaths, resourceFile } of corpusCases(corpus)) {
    const applied = applyFiles({ policyPaths, resourcePaths: [resourceFile] }, { err: () => undefined }, { now });
    applied.evaluations.forEach((ev, i) => {
      compared++;
      const at = `${where} #${i}`;
      try {
        const mutate = answerAdmissionReview(review(ev.resource), 'mutate', applied.policies, applied.cluster);
        const mutateResponse = mutate.body.response as JsonObject;
        const ops = typeof mutateResponse.patch === 'string' ? (JSON.parse(Buffer.from(mutateResponse.patch, 'base64').toString('utf8')) as Operation[]) : [];
        const mutated = applyPatch(structuredClone(ev.resource), ops, false, false).newDocument as JsonObject;
        assert.deepEqual(mutated, ev.patched, 'the patch yields the mutated resource');
        const validate = answerAdmissionReview(review(mutated), 'validate', applied.policies, applied.cluster);
        const response = validate.body.response as JsonObject;
        const validations = ev.responses.filter((r) => r.rules.some((x) => x.type === 'Validation'));
        // ImageValidatingPolicies deny a failure or error under their Deny action (Kyverno's ivpol handler).
        const imageDenied = ev.responses.some((r) => {
          const policy = policyOf(applied.policies, r.policy);
          const actions = ((policy?.spec ?? {}) as JsonObject).validationActions;
          return /ImageValidatingPolicy$/.test(r.policy.kind) && Array.isArray(actions) && actions.includes('Deny') && r.rules.some((x) => x.status === 'fail' || x.status === 'error');
        });
        const denied = validations.some((r) => r.rules.some(enforced)) || imageDenied;
        assert.equal(response.allowed, !denied, denied ? 'denied as an Enforce failure' : 'allowed');
        const answers = validations.map((response) => ({ policy: policyOf(applied.policies, response.policy), response }));
        assert.deepEqual(response.warnings ?? [], denied ? [] : admissionWarnings('validate', answers), 'warnings');
      } catch (e) {
        mismatches.push(`${at}: ${(e as Error).message.split('\n').slice(0, 14).join(' ')}`);
      }
    });
  }
  assert.ok(compared > minimum, `only ${compared} resources compared`);
  assert.deepEqual(mismatches, [], `${mismatches.length} of ${compared} resources differ`);
});
