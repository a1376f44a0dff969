import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installValue, kyvernoConfigMapOf, kyvernoInstallFor, mergeValues, serveFlagsOf, setValues, type KyvernoInstall } from './install';
import { parseServeArgs } from '../../webhook/serve';
import { configurationDefaults, configurationOf } from '../../webhook/kyverno-config';
import { defaultNamespaceSelector } from '../../webhook/configurations';

function fakeRepo(): string {
  const repo = mkdtempSync(join(tmpdir(), 'kyverno-install-'));
  const write = (path: string, text: string) => {
    mkdirSync(join(repo, path, '..'), { recursive: true });
    writeFileSync(join(repo, path), text);
  };
  write('charts/kyverno/values.yaml', 'features:\n  forceFailurePolicyIgnore:\n    enabled: false\n  policyExceptions:\n    enabled: false\n    namespace: ""\nlist: [a, b]\n');
  write('scripts/config/standard/kyverno.yaml', 'features:\n  policyExceptions:\n    enabled: true\n    namespace: "*"\nlist: [c]\n');
  write('scripts/config/ffi/kyverno.yaml', 'features:\n  forceFailurePolicyIgnore:\n    enabled: true\n');
  write(
    '.github/workflows/tests-conformance.yaml',
    `jobs:
  plain:
    steps:
      - uses: ./.github/actions/tests/conformance/run
        with:
          kyverno-configs: standard,ffi
          tests-path: ffi
          quarantined-tests: flaky
  certs:
    strategy:
      matrix:
        k8s-version: [v1.33.1, v1.34.0]
        algo:
          - dir: ed
            settings: --set admissionController.tlsKeyAlgorithm=Ed25519 --set a.n=3
          - dir: ec
            settings: --set admissionController.tlsKeyAlgorithm=ECDSA
    steps:
      - uses: ./.github/actions/tests/conformance/run
        with:
          k8s-version: \${{ matrix.k8s-version }}
          kyverno-configs: standard
          tests-path: tls/\${{ matrix.algo.dir }}
          explicit-install-settings: \${{ matrix.algo.settings }}
`,
  );
  mkdirSync(join(repo, 'test/conformance/chainsaw'), { recursive: true });
  return repo;
}

test('an area gets the chart defaults, then its configs in order, then its --set values; lists replace, maps merge', () => {
  const root = join(fakeRepo(), 'test/conformance/chainsaw');
  const ffi = kyvernoInstallFor(root, 'ffi/cluster-policy/fail');
  assert.deepEqual(ffi.configs, ['standard', 'ffi']);
  assert.equal(installValue(ffi, 'features.forceFailurePolicyIgnore.enabled'), true);
  assert.equal(installValue(ffi, 'features.policyExceptions.namespace'), '*');
  assert.deepEqual(installValue(ffi, 'list'), ['c']);
  assert.deepEqual(ffi.quarantined, ['flaky']);
  // A matrix path axis gives one job per entry, each with its own settings.
  const ed = kyvernoInstallFor(root, 'tls/ed/x');
  assert.equal(ed.testsPath, 'tls/ed');
  assert.equal(installValue(ed, 'admissionController.tlsKeyAlgorithm'), 'Ed25519');
  assert.equal(installValue(ed, 'a.n'), 3);
  assert.equal(installValue(kyvernoInstallFor(root, 'tls/ec'), 'admissionController.tlsKeyAlgorithm'), 'ECDSA');
  // An area the workflow does not name: the standard install.
  const other = kyvernoInstallFor(root, 'validate/x');
  assert.equal(other.testsPath, '');
  assert.equal(installValue(other, 'features.forceFailurePolicyIgnore.enabled'), false);
  assert.equal(installValue(other, 'features.policyExceptions.enabled'), true);
});

test('helm merge and --set parsing', () => {
  assert.deepEqual(mergeValues({ a: { b: 1, c: [1] } }, { a: { c: [2], d: true } }), { a: { b: 1, c: [2], d: true } });
  assert.deepEqual(setValues({}, '--set x.y=false --set z=abc'), { x: { y: false }, z: 'abc' });
});

const installOf = (values: Record<string, unknown>): KyvernoInstall => ({ testsPath: 'x', configs: [], values, quarantined: [] });

test("the install's feature flags become our serve flags, parsed as serve parses them", () => {
  const flags = serveFlagsOf(installOf({
    features: {
      forceFailurePolicyIgnore: { enabled: true },
      policyExceptions: { enabled: false, namespace: '' },
      omitEvents: { eventTypes: ['PolicyApplied', 'PolicySkipped'] },
      reporting: { validate: true, allowedResults: { fail: true, pass: false } },
      validatingAdmissionPolicyReports: { enabled: false },
      mutatingAdmissionPolicyReports: { enabled: true },
    },
  }));
  const args = parseServeArgs([...flags, '--in-cluster', '--tls-cert', 'c', '--tls-key', 'k']);
  assert.equal(args.forceFailurePolicyIgnore, true);
  assert.deepEqual(args.exceptionScope, { enabled: false, namespace: '' });
  assert.deepEqual(args.omitEvents, ['PolicyApplied', 'PolicySkipped']);
  assert.deepEqual(args.allowedResults, ['fail']);
  assert.deepEqual(args.admissionPolicyReports, { validating: false, mutating: true });
  const none = parseServeArgs([...serveFlagsOf(installOf({})), '--in-cluster', '--tls-cert', 'c', '--tls-key', 'k']);
  assert.deepEqual(none.exceptionScope, { enabled: true, namespace: '*' }, 'no values: our defaults');
  assert.deepEqual(none.omitEvents, []);
});

test("the install's config values become the kyverno ConfigMap the chart creates, read by our configuration reader", () => {
  const cm = kyvernoConfigMapOf(installOf({
    config: {
      excludeGroups: ['system:nodes'],
      excludeUsernames: [],
      generateSuccessEvents: false,
      excludeKyvernoNamespace: true,
      resourceFilters: ['[Event,*,*]', '[ClusterRole,*,{{ template "kyverno.admission-controller.roleName" . }}:core]'],
      resourceFiltersExcludeNamespaces: [],
      resourceFiltersIncludeNamespaces: ['team'],
    },
  }), 'kyverno');
  assert.deepEqual(cm.metadata, { name: 'kyverno', namespace: 'kyverno', labels: { 'app.kubernetes.io/component': 'config', 'app.kubernetes.io/instance': 'kyverno', 'app.kubernetes.io/part-of': 'kyverno' } });
  const data = cm.data as Record<string, string>;
  assert.equal(data.resourceFilters, '[*/*,kyverno,*] [Event,*,*] [ClusterRole,*,kyverno:admission-controller:core] [*/*,team,*]');
  assert.equal(data.excludeGroups, 'system:nodes');
  assert.equal(data.excludeUsernames, undefined, 'an empty list is left out, as the template leaves it');
  assert.equal(data.generateSuccessEvents, 'false');
  const config = configurationOf(data, configurationDefaults({ resourceFilters: 'flags', userExclusions: {}, successEvents: true, successEventActions: [] }, 'kyverno'));
  assert.equal(config.successEvents, false);
  assert.deepEqual(config.userExclusions, { excludeGroups: 'system:nodes' });
});

test("the chart's webhooks helper adds the Kyverno namespace's exclusion, as the ConfigMap Kyverno's chart writes", () => {
  const chartDefault = { namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system'] }] } };
  const read = (config: Record<string, unknown>) => configurationOf(kyvernoConfigMapOf(installOf({ config }), 'kyverno').data, configurationDefaults({ resourceFilters: '', userExclusions: {}, successEvents: false, successEventActions: [] }, 'elsewhere')).webhooks;
  // The chart's defaults give our default selector (kube-system, then Kyverno's namespace).
  assert.deepEqual(read({ webhooks: chartDefault, excludeKyvernoNamespace: true }).namespaceSelector, defaultNamespaceSelector('kyverno'));
  assert.deepEqual(read({ webhooks: chartDefault, excludeKyvernoNamespace: false }).namespaceSelector, chartDefault.namespaceSelector);
  assert.deepEqual(read({ excludeKyvernoNamespace: true }).namespaceSelector, { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kyverno'] }] });
  // An old-style list becomes an object keyed by webhook name: Kyverno's decoder finds no selector in it.
  const listed = read({ webhooks: [{ name: 'w', namespaceSelector: { matchLabels: { a: 'b' } } }], excludeKyvernoNamespace: true });
  assert.equal(listed.namespaceSelector, undefined);
  assert.equal(listed.objectSelector, undefined);
});
