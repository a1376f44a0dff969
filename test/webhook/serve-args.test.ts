// `serve` reads its flags with the parser every command uses (io/args).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { makeCertificates } from '../../tls/certificates';
import { parseServeArgs, serveCommand } from '../../webhook/serve';
import { UsageError } from '../../io/args';
import { ignoredFlagsLine } from '../../webhook/kyverno-flags';

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

// Kyverno's chart (charts/kyverno, default values, release `kyverno` in namespace `kyverno`):
// the args each controller's container gets, as its templates render them.
const LOGGING_AND_GLOBAL_CONTEXT = ['--maxAPICallResponseLength=2000000', '--apiCallTimeout=30s', '--maxGlobalContextEntries=0', '--loggingFormat=text', '--v=2'];
const METERING = ['--disableMetrics=false', '--otelConfig=prometheus', '--metricsPort=8000'];
const REPORTING = '--enableReporting=validate,mutate,mutateExisting,imageVerify,generate';
const CHART_ARGS: Record<string, string[]> = {
  'admission-controller': [
    '--caSecretName=kyverno-svc.kyverno.svc.kyverno-tls-ca', '--tlsSecretName=kyverno-svc.kyverno.svc.kyverno-tls-pair', '--tlsKeyAlgorithm=RSA',
    '--backgroundServiceAccountName=system:serviceaccount:kyverno:kyverno-background-controller', '--reportsServiceAccountName=system:serviceaccount:kyverno:kyverno-reports-controller',
    '--servicePort=443', '--webhookServerPort=9443', '--resyncPeriod=15m', '--crdWatcher=false', ...METERING,
    '--admissionReports=true', '--maxAdmissionReports=1000', '--autoUpdateWebhooks=true', '--excludeBootstrapResources=false', '--enableConfigMapCaching=true',
    '--controllerRuntimeMetricsAddress=:8080', '--enableDeferredLoading=true', '--dumpPayload=false', '--forceFailurePolicyIgnore=false',
    '--generateValidatingAdmissionPolicy=true', '--generateMutatingAdmissionPolicy=false', '--dumpPatches=false', ...LOGGING_AND_GLOBAL_CONTEXT,
    '--omitEvents=PolicyApplied,PolicySkipped', '--enablePolicyException=false', '--protectManagedResources=false', '--allowInsecureRegistry=false',
    '--registryCredentialHelpers=default,google,amazon,azure,github', REPORTING,
  ],
  'background-controller': [
    ...METERING, '--resyncPeriod=15m', '--enableConfigMapCaching=true', '--controllerRuntimeMetricsAddress=:8080', '--enableDeferredLoading=true',
    ...LOGGING_AND_GLOBAL_CONTEXT, '--omitEvents=PolicyApplied,PolicySkipped', '--enablePolicyException=false', REPORTING,
  ],
  'reports-controller': [
    '--disableMetrics=false', '--openreportsEnabled=false', '--otelConfig=prometheus', '--metricsPort=8000', '--resyncPeriod=15m',
    '--admissionReports=true', '--maxAdmissionReports=1000', '--aggregateReports=true', '--policyReports=true', '--validatingAdmissionPolicyReports=true',
    '--mutatingAdmissionPolicyReports=false', '--backgroundScan=true', '--backgroundScanWorkers=2', '--backgroundScanInterval=1h', '--skipResourceFilters=true',
    '--enableConfigMapCaching=true', '--enableDeferredLoading=true', ...LOGGING_AND_GLOBAL_CONTEXT, '--omitEvents=PolicyApplied,PolicySkipped',
    '--enablePolicyException=false', '--allowInsecureRegistry=false', '--registryCredentialHelpers=default,google,amazon,azure,github', REPORTING,
  ],
  'cleanup-controller': [
    '--caSecretName=kyverno-cleanup-controller.kyverno.svc.kyverno-tls-ca', '--tlsSecretName=kyverno-cleanup-controller.kyverno.svc.kyverno-tls-pair', '--tlsKeyAlgorithm=RSA',
    '--servicePort=443', '--resyncPeriod=15m', '--cleanupServerPort=9443', ...METERING,
    '--enableDeferredLoading=true', '--dumpPayload=false', ...LOGGING_AND_GLOBAL_CONTEXT, '--ttlReconciliationInterval=1m', '--protectManagedResources=false',
  ],
};

test("serve flags: each Kyverno controller's default chart args parse, with Kyverno's meaning", () => {
  for (const [controller, args] of Object.entries(CHART_ARGS)) {
    const s = parseServeArgs(['--in-cluster', ...TLS, ...args]);
    assert.equal(s.maxApiCallResponseBytes, 2_000_000, controller);
    assert.equal(s.apiCallTimeoutMs, 30_000, controller);
    assert.equal(s.metricsPort, 8000, controller);
    const ignored = s.ignoredKyvernoFlags.map((f) => f.flag);
    assert.ok(ignored.includes('loggingFormat') && ignored.includes('v') && ignored.includes('otelConfig'), `${controller}: ${ignored.join(' ')}`);
    for (const f of s.ignoredKyvernoFlags) assert.ok(f.why.length > 10, `${controller}: --${f.flag} says why`);
  }
  const admission = parseServeArgs(['--in-cluster', ...TLS, ...CHART_ARGS['admission-controller']]);
  assert.equal(admission.port, 9443);
  assert.equal(admission.webhookTimeoutSeconds, 10);
  assert.equal(admission.backgroundUser, 'system:serviceaccount:kyverno:kyverno-background-controller');
  assert.deepEqual(admission.omitEvents, ['PolicyApplied', 'PolicySkipped']);
  assert.deepEqual(admission.exceptionScope, { enabled: false, namespace: '*' }, "the chart turns Kyverno's exceptions off: so here");
  assert.deepEqual(admission.admissionPolicyGeneration, { validating: true, mutating: false });
  assert.equal(admission.forceFailurePolicyIgnore, false);
  assert.equal(admission.excludeBootstrapResources, false);
  assert.equal(admission.tlsKeyAlgorithm, 'RSA');
  const reports = parseServeArgs(['--in-cluster', ...TLS, ...CHART_ARGS['reports-controller']]);
  assert.equal(reports.backgroundScanIntervalMs, 3_600_000);
  assert.deepEqual(reports.admissionPolicyReports, { validating: true, mutating: false });
  assert.equal(reports.openreports, false);
  assert.equal(parseServeArgs(['--in-cluster', ...TLS, ...CHART_ARGS['cleanup-controller']]).ttlIntervalMs, 60_000);
  // One process is all four controllers: their args together.
  const all = parseServeArgs(['--in-cluster', ...TLS, ...Object.values(CHART_ARGS).flat()]);
  assert.equal(all.maxApiCallResponseBytes, 2_000_000);
  assert.equal(new Set(all.ignoredKyvernoFlags.map((f) => f.flag)).size, all.ignoredKyvernoFlags.length, 'each flag listed once');
});

test("serve flags: Kyverno's spelling as Go reads it: -flag, --flag, =value, a separate value, Go's booleans; errors name the flag as written", () => {
  const a = parseServeArgs(['-in-cluster', ...TLS, '-webhookTimeout', '15', '--maxAPICallResponseLength', '1000', '-apiCallTimeout=5s', '--forceFailurePolicyIgnore=T', '-excludeBootstrapResources', '--openreportsEnabled=1']);
  assert.equal(a.webhookTimeoutSeconds, 15);
  assert.equal(a.maxApiCallResponseBytes, 1000);
  assert.equal(a.apiCallTimeoutMs, 5000);
  assert.equal(a.forceFailurePolicyIgnore, true);
  assert.equal(a.excludeBootstrapResources, true);
  assert.equal(a.openreports, true);
  assert.equal(parseServeArgs(['--in-cluster', ...TLS, '--webhook-timeout=20']).webhookTimeoutSeconds, 20, 'our spelling too');
  assert.equal(parseServeArgs(['--in-cluster', ...TLS, '--enablePolicyException=F']).exceptionScope.enabled, false);
  assert.throws(() => parseServeArgs(['--in-cluster', ...TLS, '--forceFailurePolicyIgnore=yes']), (e: Error) => e instanceof UsageError && e.message === 'invalid boolean value "yes" for --forceFailurePolicyIgnore');
  assert.throws(() => parseServeArgs(['--in-cluster', ...TLS, '--webhookTimeout']), (e: Error) => e instanceof UsageError && e.message === 'flag --webhookTimeout needs a value');
  assert.throws(() => parseServeArgs(['--in-cluster', ...TLS, '--maxQueuedEvents=lots']), (e: Error) => e instanceof UsageError && e.message === 'invalid value "lots" for flag -maxQueuedEvents: parse error');
  assert.throws(() => parseServeArgs(['--in-cluster', ...TLS, '--resyncPeriod=15 minutes']), /invalid value "15 minutes" for flag -resyncPeriod/);
});

test('serve flags: --webhook-timeout, --max-api-call-response-length, --api-call-timeout and the client rate limit: defaults and bounds', () => {
  const d = parseServeArgs(['--in-cluster', ...TLS]);
  assert.equal(d.webhookTimeoutSeconds, 10);
  assert.equal(d.maxApiCallResponseBytes, undefined, "absent: Kyverno's per-controller defaults");
  assert.equal(d.apiCallTimeoutMs, 30_000);
  assert.equal(d.clientRateLimit, undefined, 'no client-side limit unless asked');
  assert.deepEqual(d.ignoredKyvernoFlags, []);
  for (const bad of ['0', '31', '2.5', 'ten']) assert.throws(() => parseServeArgs(['--in-cluster', ...TLS, `--webhookTimeout=${bad}`]), /--webhook-timeout must be whole seconds from 1 to 30/);
  assert.throws(() => parseServeArgs(['--in-cluster', ...TLS, '--maxAPICallResponseLength=0']), /--max-api-call-response-length must be a number of bytes above 0 \(got 0\): responses are always bounded here/);
  assert.throws(() => parseServeArgs(['--in-cluster', ...TLS, '--apiCallTimeout=0s']), /--api-call-timeout must be above 0/);
  assert.deepEqual(parseServeArgs(['--in-cluster', ...TLS, '--clientRateLimitQPS=50']).clientRateLimit, { qps: 50, burst: 200 }, "the burst at Kyverno's default");
  assert.deepEqual(parseServeArgs(['--in-cluster', ...TLS, '--clientRateLimitQPS=0', '--clientRateLimitBurst=0']).clientRateLimit, { qps: 5, burst: 10 }, "0: client-go's defaults");
  assert.equal(parseServeArgs(['--in-cluster', ...TLS, '--clientRateLimitQPS=-1']).clientRateLimit, undefined, 'below 0: no limit');
  assert.throws(() => parseServeArgs(['--in-cluster', ...TLS, '--clientRateLimitBurst=-3']), /--client-rate-limit-burst must be a whole number/);
});

test("serve flags: a Kyverno flag with no meaning here is accepted and said so; one asking for what is not done here is refused; an unknown flag still fails", () => {
  const s = parseServeArgs(['--in-cluster', ...TLS, '--loggingFormat=json', '-v=4', '--profile', '--autoUpdateWebhooks=true']);
  assert.deepEqual(s.ignoredKyvernoFlags.map((f) => [f.flag, f.value]), [['loggingFormat', 'json'], ['v', '4'], ['profile', 'true'], ['autoUpdateWebhooks', 'true']]);
  const line = ignoredFlagsLine(s.ignoredKyvernoFlags) ?? '';
  assert.match(line, /^Kyverno flags accepted with no effect here: --loggingFormat=json \(logs here are plain lines on stderr, one level\); --v=4 \(/);
  assert.match(line, /--profile=true \(no pprof server here/);
  for (const [flag, why] of [
    ['--autoUpdateWebhooks=false', 'the webhook configurations always follow the policies here'],
    ['--protectManagedResources=true', 'resources Kyverno manages are not protected from changes here'],
    ['--httpAllowlist=https://api.example.com', 'no CEL http allowlist here'],
    ['--servicePort=8443', 'the webhook configurations call the kyverno-svc Service on port 443 here'],
    ['--imagePullSecrets=regcred', 'registry credentials come from'],
    ['--enableReporting=validate', 'the reports carry the results of every rule type here'],
    ['--backgroundScan=false', 'in-cluster, the leader always scans existing resources here'],
  ]) {
    assert.throws(() => parseServeArgs(['--in-cluster', ...TLS, flag]), (e: Error) => e instanceof UsageError && e.message.startsWith(`${flag} is not supported: ${why}`), flag);
  }
  assert.throws(() => parseServeArgs(['--in-cluster', ...TLS, '--webhookTimeouts=10']), (e: Error) => e instanceof UsageError && e.message === 'unknown flag --webhookTimeouts=10');
  assert.throws(() => parseServeArgs(['--in-cluster', ...TLS, '--constructor']), /unknown flag --constructor/);
});

test('serve logs the Kyverno flags it accepts with no effect, once, at startup', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ks-serve-flags-'));
  const certs = makeCertificates({ hosts: ['127.0.0.1'] });
  writeFileSync(join(dir, 'tls.crt'), certs.serving.certPem);
  writeFileSync(join(dir, 'tls.key'), certs.serving.keyPem);
  writeFileSync(join(dir, 'policy.yaml'), 'apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: p\nspec:\n  rules:\n    - name: r\n      match:\n        any:\n          - resources:\n              kinds: [Pod]\n      validate:\n        pattern:\n          metadata:\n            name: "?*"\n');
  const worker = join(dir, 'webhook.js');
  await build({ entryPoints: [join(__dirname, '../../webhook/main.ts')], outfile: worker, bundle: true, platform: 'node', format: 'cjs', logLevel: 'error' });
  const lines: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => (lines.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    const done = serveCommand(['--policy', join(dir, 'policy.yaml'), '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key'), '--host', '127.0.0.1', '--port', '0', '--workers', '1', '--loggingFormat=json', '-v=4', '--webhookTimeout=12'], worker);
    for (let i = 0; i < 200 && !lines.some((l) => l.includes('serving 1 policies')); i++) await new Promise((r) => setTimeout(r, 50));
    process.emit('SIGTERM');
    assert.equal(await done, 0);
  } finally {
    process.stderr.write = write;
  }
  const noted = lines.filter((l) => l.includes('Kyverno flags accepted with no effect here'));
  assert.equal(noted.length, 1, lines.join(''));
  assert.match(noted[0], /--loggingFormat=json \(logs here are plain lines on stderr, one level\); --v=4 \(logs here/);
  assert.doesNotMatch(noted[0], /webhookTimeout/, 'an honoured flag is not listed');
  assert.ok(lines.findIndex((l) => l.includes('no effect')) < lines.findIndex((l) => l.includes('serving 1 policies')), 'before serving');
});

test("serve --help lists Kyverno's spellings beside serve's flags", async () => {
  const out: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => (out.push(String(chunk)), true)) as typeof process.stdout.write;
  try {
    assert.equal(await serveCommand(['--help'], ''), 0);
  } finally {
    process.stdout.write = write;
  }
  const help = out.join('');
  assert.match(help, /--webhook-timeout N/);
  assert.match(help, /--webhookTimeout \(--webhook-timeout\)/);
  assert.match(help, /--maxAPICallResponseLength \(--max-api-call-response-length\)/);
  assert.match(help, /Accepted with no effect here[^]*--loggingFormat/);
});

test("serve flags: Kyverno's toggles take a separate value as Go's flag.Func does; the value is never a stray argument", () => {
  const off = parseServeArgs(['--in-cluster', ...TLS, '--generateValidatingAdmissionPolicy', 'false', '--forceFailurePolicyIgnore', 'true', '-allowHTTPInNamespacedPolicies', '1', '--protectManagedResources', 'false', '--dumpPatches', 'F']);
  assert.equal(off.admissionPolicyGeneration.validating, false);
  assert.equal(off.forceFailurePolicyIgnore, true);
  assert.equal(off.allowHttpInNamespacedPolicies, true);
  assert.deepEqual(off.ignoredKyvernoFlags.map((f) => `${f.flag}=${f.value}`).sort(), ['dumpPatches=false', 'protectManagedResources=false']);
  assert.throws(() => parseServeArgs(['--in-cluster', ...TLS, '--enableDeferredLoading', 'false']), (e: Error) => e instanceof UsageError && /^--enableDeferredLoading=false is not supported/.test(e.message));
  assert.throws(() => parseServeArgs(['--in-cluster', ...TLS, '--forceFailurePolicyIgnore']), (e: Error) => e instanceof UsageError && e.message === 'flag --forceFailurePolicyIgnore needs a value');
  // serve's own spelling stays a switch.
  assert.equal(parseServeArgs(['--in-cluster', ...TLS, '--force-failure-policy-ignore']).forceFailurePolicyIgnore, true);
});
