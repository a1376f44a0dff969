import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installValue, kyvernoInstallFor, mergeValues, setValues } from './install';

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
