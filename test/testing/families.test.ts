// engine/testing/families: a test's policy families come from what its policies contain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { policyFamilies, testFamilies } from '../../engine/testing';
import type { JsonObject } from '../../engine/core/types';
import { clusterPolicy, suite, TEST_PATH, yamlDocs } from './helpers';

const celKind = (kind: string, apiVersion = 'policies.kyverno.io/v1'): JsonObject => ({ apiVersion, kind, metadata: { name: kind.toLowerCase() }, spec: {} });

test('pattern, anyPattern, deny and foreach rules are classic validate-only', () => {
  const p = clusterPolicy('p', [
    { name: 'a', validate: { pattern: {} } },
    { name: 'b', validate: { deny: {} } },
    { name: 'c', validate: { foreach: [] } },
  ]);
  assert.deepEqual(policyFamilies([p], false), ['classic-validate-only']);
});

test('mutate, generate, podSecurity, verifyImages and validate.cel each mark their family', () => {
  const p = clusterPolicy('p', [
    { name: 'm', mutate: {} },
    { name: 'g', generate: {} },
    { name: 's', validate: { podSecurity: {} } },
    { name: 'v', verifyImages: [] },
    { name: 'c', validate: { cel: {} } },
  ]);
  assert.deepEqual(policyFamilies([p], false), [
    'classic-mutate',
    'classic-generate',
    'classic-pod-security',
    'classic-verify-images',
    'classic-validate-cel',
    'any-cel',
  ]);
});

test('CEL kinds (Namespaced variants included) and admission policies are families of their own, and CEL', () => {
  assert.deepEqual(policyFamilies([celKind('NamespacedValidatingPolicy')], false), ['validating-policy', 'any-cel']);
  assert.deepEqual(policyFamilies([celKind('MutatingPolicy'), celKind('GeneratingPolicy')], false), ['mutating-policy', 'generating-policy', 'any-cel']);
  assert.deepEqual(policyFamilies([celKind('DeletingPolicy'), celKind('ImageValidatingPolicy')], false), ['deleting-policy', 'image-validating-policy', 'any-cel']);
  assert.deepEqual(policyFamilies([celKind('ValidatingAdmissionPolicy', 'admissionregistration.k8s.io/v1')], false), ['admission-policy', 'any-cel']);
});

test('a classic validate policy beside a CEL policy is not validate-only; exceptions are their own family', () => {
  const classic = clusterPolicy('p', [{ name: 'a', validate: { pattern: {} } }]);
  assert.deepEqual(policyFamilies([classic, celKind('ValidatingPolicy')], false), ['validating-policy', 'any-cel']);
  assert.deepEqual(policyFamilies([classic], true), ['classic-validate-only', 'policy-exceptions']);
});

test('families are read from the files a test names; a missing resource file does not hide them', () => {
  const exception = { apiVersion: 'kyverno.io/v2', kind: 'PolicyException', metadata: { name: 'e' }, spec: {} };
  const files = suite({ 'p.yaml': yamlDocs(clusterPolicy('p', [{ name: 'm', mutate: {} }]), exception) });
  const families = testFamilies(TEST_PATH, { policies: ['p.yaml'], resources: ['missing.yaml'], results: [] }, files);
  assert.deepEqual(families, ['classic-mutate', 'policy-exceptions']);
});
