// `serve` reads its flags with the parser every command uses (io/args).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseServeArgs } from '../../webhook/serve';
import { UsageError } from '../../io/args';

const TLS = ['--tls-cert', '/tls/tls.crt', '--tls-key', '/tls/tls.key'];

test('serve flags: --force-failure-policy-ignore (Kyverno\'s --forceFailurePolicyIgnore), off by default', () => {
  assert.equal(parseServeArgs(['--policy', 'p.yaml', ...TLS]).forceFailurePolicyIgnore, false);
  assert.equal(parseServeArgs(['--in-cluster', ...TLS, '--force-failure-policy-ignore']).forceFailurePolicyIgnore, true);
});

test('serve flags: --tls-key-algorithm (Kyverno\'s --tlsKeyAlgorithm), any case, RSA by default, others a usage error', () => {
  assert.equal(parseServeArgs(['--in-cluster', ...TLS]).tlsKeyAlgorithm, 'RSA');
  assert.equal(parseServeArgs(['--in-cluster', ...TLS, '--tls-key-algorithm', 'ed25519']).tlsKeyAlgorithm, 'Ed25519');
  assert.equal(parseServeArgs(['--in-cluster', ...TLS, '--tls-key-algorithm=ECDSA']).tlsKeyAlgorithm, 'ECDSA');
  assert.throws(() => parseServeArgs(['--in-cluster', ...TLS, '--tls-key-algorithm', 'DSA']), (e: Error) => e instanceof UsageError && /^--tls-key-algorithm: unsupported key algorithm: DSA \(supported: RSA, ECDSA, Ed25519\)$/.test(e.message));
});

test("serve flags: --renew-before (Kyverno's --renewBefore), a Go duration, 15 days by default", () => {
  assert.equal(parseServeArgs(['--in-cluster', ...TLS]).renewBeforeMs, 15 * 86_400_000);
  assert.equal(parseServeArgs(['--in-cluster', ...TLS, '--renew-before', '720h']).renewBeforeMs, 30 * 86_400_000);
  assert.equal(parseServeArgs(['--in-cluster', ...TLS, '--renew-before=1296000000ms']).renewBeforeMs, 15 * 86_400_000, 'what deploy passes');
  assert.throws(() => parseServeArgs(['--in-cluster', ...TLS, '--renew-before', '15d']), (e: Error) => e instanceof UsageError && /--renew-before must be a duration/.test(e.message));
});

test("serve flags: --exclude-bootstrap-resources (Kyverno's --excludeBootstrapResources), off by default", () => {
  assert.equal(parseServeArgs(['--in-cluster', ...TLS]).excludeBootstrapResources, false);
  assert.equal(parseServeArgs(['--in-cluster', ...TLS, '--exclude-bootstrap-resources']).excludeBootstrapResources, true);
});

test("serve flags: Kyverno's ConfigMap name, exception scope and allowed results", () => {
  const d = parseServeArgs(['--in-cluster', ...TLS]);
  assert.equal(d.configMap, 'kyverno');
  assert.deepEqual(d.exceptionScope, { enabled: true, namespace: '*' }, 'ours: every exception applies');
  assert.deepEqual(d.allowedResults, ['pass', 'fail', 'warn', 'error', 'skip']);
  const s = parseServeArgs(['--in-cluster', ...TLS, '--config-map', 'ks-config', '--enable-policy-exception=false', '--exception-namespace', 'exceptions', '--allowed-results', 'fail,error']);
  assert.equal(s.configMap, 'ks-config');
  assert.deepEqual(s.exceptionScope, { enabled: false, namespace: 'exceptions' });
  assert.deepEqual(s.allowedResults, ['fail', 'error']);
  assert.equal(parseServeArgs(['--in-cluster', ...TLS, '--exception-namespace=']).exceptionScope.namespace, '', 'empty, as Kyverno\'s unset flag');
  assert.throws(() => parseServeArgs(['--in-cluster', ...TLS, '--allowed-results', 'fail,passed']), /--allowed-results takes pass, fail, warn, error, skip \(got passed\)/);
  assert.throws(() => parseServeArgs(['--in-cluster', ...TLS, '--config-map=']), /--config-map needs a ConfigMap name/);
});

test('serve flags: values, =values, several policies, defaults', () => {
  const a = parseServeArgs(['--policy', 'p1.yaml', 'p2', '--policy=p3', ...TLS, '--port=8443', '--workers', '3']);
  assert.deepEqual(a.policies, ['p1.yaml', 'p3', 'p2']);
  assert.equal(a.port, 8443);
  assert.equal(a.workers, 3);
  assert.equal(a.timeoutMs, 8000);
  assert.equal(a.caFile, '/tls/ca.crt');
  const c = parseServeArgs(['--in-cluster', ...TLS, '--namespace', 'ks', '--report-interval-ms', '100']);
  assert.equal(c.inCluster, true);
  assert.equal(c.namespace, 'ks');
  assert.equal(c.reportIntervalMs, 100);
});

test('serve flags: unknown flags, missing values and bad combinations are usage errors', () => {
  assert.throws(() => parseServeArgs(['--bogus', ...TLS]), /unknown flag --bogus/);
  assert.throws(() => parseServeArgs(['--policy', 'p', '--tls-cert']), /flag --tls-cert needs a value/);
  assert.throws(() => parseServeArgs(['--policy', 'p']), /--tls-cert and --tls-key are required/);
  assert.throws(() => parseServeArgs(['--policy', 'p', ...TLS, '--port', 'x']), /--port must be a port number/);
  assert.throws(() => parseServeArgs(['--in-cluster', '--policy', 'p', ...TLS]), /--in-cluster watches the policies/);
  assert.throws(() => parseServeArgs(['stray', ...TLS, '--in-cluster']), /unexpected argument stray/);
});

test("serve flags: Kyverno's admission policy report flags (ValidatingAdmissionPolicies on, MutatingAdmissionPolicies off by default)", () => {
  assert.deepEqual(parseServeArgs(['--in-cluster', ...TLS]).admissionPolicyReports, { validating: true, mutating: false });
  assert.deepEqual(parseServeArgs(['--in-cluster', ...TLS, '--validating-admission-policy-reports=false', '--mutating-admission-policy-reports']).admissionPolicyReports, { validating: false, mutating: true });
});
