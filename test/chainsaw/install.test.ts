/** Kyverno's install for a chainsaw area, read from Kyverno's conformance workflow and helm values. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { installSettings, mergeValues, workflowConfigs } from './install';

const workflow = {
  jobs: {
    reports: { steps: [{ uses: './run', with: { 'tests-path': 'mutating-admission-policy-reports', 'kyverno-configs': 'standard,mutating-admission-policy-reports' } }] },
    cel: { steps: [{ with: { 'tests-path': 'cel', 'kyverno-configs': 'standard' } }] },
    celHttp: { steps: [{ with: { 'tests-path': 'cel/http/', 'kyverno-configs': 'standard,custom' } }] },
    rbac: { strategy: { matrix: { 'kyverno-configs': ['default', 'force-failure-policy-ignore'] } }, steps: [{ with: { 'tests-path': 'rbac', 'kyverno-configs': '${{ matrix.kyverno-configs }}' } }] },
  },
};

test('the area\'s job: the longest tests-path holding the scenario, its configs in order; a matrix gives its first entry', () => {
  assert.deepEqual(workflowConfigs(workflow, 'mutating-admission-policy-reports/background/with-binding-pass'), ['standard', 'mutating-admission-policy-reports']);
  assert.deepEqual(workflowConfigs(workflow, 'mutating-admission-policy-reports-v1/background/x'), [], 'a tests-path is a folder, not a name prefix');
  assert.deepEqual(workflowConfigs(workflow, 'cel/http/get'), ['standard', 'custom']);
  assert.deepEqual(workflowConfigs(workflow, 'cel/other'), ['standard']);
  assert.deepEqual(workflowConfigs(workflow, 'rbac/aggregate'), ['default']);
});

test('helm values: later files override, maps merge; the admission policy report flags default as the chart does', () => {
  const values = mergeValues({ features: { validatingAdmissionPolicyReports: { enabled: true }, omitEvents: { eventTypes: ['a'] } } }, { features: { mutatingAdmissionPolicyReports: { enabled: true }, omitEvents: { eventTypes: [] } } });
  assert.deepEqual(values, { features: { validatingAdmissionPolicyReports: { enabled: true }, mutatingAdmissionPolicyReports: { enabled: true }, omitEvents: { eventTypes: [] } } });
  assert.deepEqual(installSettings(['x'], values).admissionPolicyReports, { validating: true, mutating: true });
  assert.deepEqual(installSettings([], {}).admissionPolicyReports, { validating: true, mutating: false });
  assert.deepEqual(installSettings([], { features: { validatingAdmissionPolicyReports: { enabled: false } } }).admissionPolicyReports, { validating: false, mutating: false });
});
