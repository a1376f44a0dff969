/** Kyverno's install for a chainsaw area, read from Kyverno's conformance workflow and helm values. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installSettings, mergeValues, scenarioInstall, workflowConfigs } from './install';

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

test('a scenario\'s install is read from the Kyverno checkout around the corpus; without one, the chart\'s defaults', () => {
  const repo = mkdtempSync(join(tmpdir(), 'kyverno-install-'));
  try {
    const corpus = join(repo, 'test', 'conformance', 'chainsaw');
    mkdirSync(corpus, { recursive: true });
    mkdirSync(join(repo, '.github', 'workflows'), { recursive: true });
    writeFileSync(join(repo, '.github', 'workflows', 'tests-conformance.yaml'), 'jobs:\n  m:\n    steps:\n    - with:\n        tests-path: maps\n        kyverno-configs: standard,reports\n');
    for (const [name, text] of [['standard', 'features:\n  validatingAdmissionPolicyReports:\n    enabled: false\n'], ['reports', 'features:\n  mutatingAdmissionPolicyReports:\n    enabled: true\n']]) {
      mkdirSync(join(repo, 'scripts', 'config', name), { recursive: true });
      writeFileSync(join(repo, 'scripts', 'config', name, 'kyverno.yaml'), text);
    }
    assert.deepEqual(scenarioInstall(corpus, 'maps/background/pass'), { configs: ['standard', 'reports'], admissionPolicyReports: { validating: false, mutating: true } });
    assert.deepEqual(scenarioInstall(corpus, 'other/x').admissionPolicyReports, { validating: true, mutating: false });
    assert.deepEqual(scenarioInstall(join(repo, 'elsewhere'), 'maps/x').configs, []);
  } finally {
    rmSync(repo, { recursive: true, force: true });
  }
});
