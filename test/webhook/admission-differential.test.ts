// Differential test: for every resource file of both shared corpora's tests, the webhook's pure
// admission answer (webhook/admission.ts, as the API server calls it: /mutate, its JSONPatch
// applied, then /validate on the mutated object) agrees with engine/evaluate, the path of
// `kyverno-studio apply`, on the same policies, resources and offline cluster:
// - the patch yields the resource the evaluation mutated;
// - the request is denied exactly when the evaluation has a validation failure (or error) whose
//   failure action is Enforce, or a verifyImages check of the validate pass failed under Enforce;
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
        // Kyverno's mutation handler denies a request whose classic mutate rules errored (under
        // failurePolicy Fail) where the CLI goes on; such a denial needs a rule that did not succeed.
        const mutateUnsuccessful = ev.responses.some((r) => r.rules.some((x) => x.type === 'Mutation' && (x.status === 'error' || x.status === 'fail')));
        if (mutateResponse.allowed === false && mutateUnsuccessful) return;
        const ops = typeof mutateResponse.patch === 'string' ? (JSON.parse(Buffer.from(mutateResponse.patch, 'base64').toString('utf8')) as Operation[]) : [];
        const mutated = applyPatch(structuredClone(ev.resource), ops, false, false).newDocument as JsonObject;
        assert.deepEqual(mutated, ev.patched, 'the patch yields the mutated resource');
        const validate = answerAdmissionReview(review(mutated), 'validate', applied.policies, applied.cluster);
        const response = validate.body.response as JsonObject;
        const validations = ev.responses.filter((r) => r.rules.some((x) => x.type === 'Validation'));
        // ValidatingPolicies and ImageValidatingPolicies deny a failure or error under their Deny
        // action and warn under Warn, "Policy <name> failed|error: <message>" (Kyverno's vpol and
        // ivpol handlers; no action given means Deny).
        const celActions = (r: { policy: { kind: string; name: string; namespace?: string } }): unknown[] => {
          if (!/^(Namespaced)?(Image)?ValidatingPolicy$/.test(r.policy.kind)) return [];
          const actions = ((policyOf(applied.policies, r.policy)?.spec ?? {}) as JsonObject).validationActions;
          return Array.isArray(actions) && actions.length > 0 ? actions : ['Deny'];
        };
        const celFailed = (r: { rules: RuleResult[] }) => r.rules.filter((x) => x.status === 'fail' || x.status === 'error');
        const celDenied = ev.responses.some((r) => celActions(r).includes('Deny') && celFailed(r).length > 0);
        const celWarnings = ev.responses.flatMap((r) => (celActions(r).includes('Warn') ? celFailed(r).map((x) => `Policy ${r.policy.name} ${x.status === 'fail' ? 'failed' : 'error'}: ${x.message}`) : []));
        const classic = validations.filter((r) => celActions(r).length === 0);
        // The validating webhook also runs verifyImages' validate pass (verifyDigest, required) and
        // blocks on its Enforce failures (Kyverno's HasEnforcedFailure): each must be a result
        // apply's evaluation has too (apply's also holds the image-verify pass, under the same type).
        const imageResult = (policy: string, x: RuleResult) => `${policy}/${x.name}: ${x.status} ${x.message}`;
        const appliedImages = new Set(ev.responses.flatMap((r) => r.rules.filter((x) => x.type === 'ImageVerify').map((x) => imageResult(r.policy.name, x))));
        const imageBlocks = validate.responses.flatMap((r) => r.rules.filter((x) => x.type === 'ImageVerify' && (x.status === 'fail' || x.status === 'error') && x.failureAction === 'Enforce').map((x) => imageResult(r.policy.name, x)));
        for (const b of imageBlocks) assert.ok(appliedImages.has(b), `a blocking image check apply's evaluation lacks: ${b}`);
        const denied = classic.some((r) => r.rules.some(enforced)) || celDenied || imageBlocks.length > 0;
        assert.equal(response.allowed, !denied, denied ? 'denied as an Enforce failure' : 'allowed');
        const answers = classic.map((response) => ({ policy: policyOf(applied.policies, response.policy), response }));
        assert.deepEqual(response.warnings ?? [], denied ? [] : [...admissionWarnings('validate', answers), ...celWarnings], 'warnings');
      } catch (e) {
        mismatches.push(`${at}: ${(e as Error).message.split('\n').slice(0, 14).join(' ')}`);
      }
    });
  }
  assert.ok(compared > minimum, `only ${compared} resources compared`);
  assert.deepEqual(mismatches, [], `${mismatches.length} of ${compared} resources differ`);
});
