/**
 * `kyverno-studio serve`: local mode (policies from files) or in-cluster mode (policies
 * watched from the API server, webhook controller, background scan, policy reports); both
 * feed the server through the same setPolicies call.
 */
import { parseArgs, single, UsageError } from '../io/args';
import { DEFAULT_KEY_ALGORITHM, parseKeyAlgorithm, RENEW_BEFORE_MS, type KeyAlgorithm } from '../tls/certificates';
import { readFileSync, statSync } from 'node:fs';
import { walkFiles } from '../io/walk';
import { dirname, join } from 'node:path';
import { classifyDocument, formatAt, formatLoadError, parseYamlDocuments } from '../engine/loader';
import { admissionVerdict } from '../engine/policy/admission';
import { asObject } from '../engine/core/json';
import { checkPolicyShape } from '../engine/testing';
import type { ClusterState, JsonObject } from '../engine/core/types';
import { startWebhookServer } from './server';
import { httpCallSettings, SERVICE_CALL_TIMEOUT_MS } from './service-calls';
import { withFailurePolicyIgnore } from './rules';
import { parseDuration } from '../engine/units';
import { DEFAULT_RETRY_PERIOD_MS } from './leader';
import { DEFAULT_BACKGROUND_SCAN_INTERVAL_MS, type AdmissionPolicyReports } from './scan';
import { ALL_RESULTS } from './reports';
import type { AdmissionPolicyGeneration } from './admission-policy-generator';
import { CERT_RENEWAL_INTERVAL_MS } from './cert-renewer';
import { startMetricsListener } from './metrics-listener';
import type { UserExclusionSettings } from './user-filters';
import type { EventReason } from './event-info';
import { defaultResourceFilters } from './resource-filters';
import { DEFAULT_TTL_INTERVAL_MS } from '../engine/cleanup/ttl';
import { CONFIG_KEYS_READ, KYVERNO_CONFIG_MAP } from './kyverno-config';
import { DEFAULT_EXCEPTION_SCOPE, type ExceptionScope } from './exception-scope';
import { DEFAULT_WEBHOOK_TIMEOUT_SECONDS, MAX_WEBHOOK_TIMEOUT_SECONDS } from './rules';
import { ignoredFlagsLine, KYVERNO_FLAG_SPEC, kyvernoFlagsHelp, kyvernoFlagsWithoutEffect, type IgnoredFlag } from './kyverno-flags';



export { runAsServerProcessIfAsked } from './server-process';

/** A file, or the YAML files below a folder (the shared walker; hidden entries skipped). */
function yamlFiles(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return walkFiles(path, { keep: (name) => !name.startsWith('.') && /\.ya?ml$/.test(name), skipDir: (name) => name.startsWith('.') }).files;
}

/** Reads policies from files and folders; a bad file is reported with its line and skipped. */
export function loadPolicyFiles(paths: string[], report: (line: string) => void): JsonObject[] {
  const policies: JsonObject[] = [];
  for (const file of paths.flatMap(yamlFiles)) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      report(`${file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      continue;
    }
    const { documents, errors } = parseYamlDocuments(text, file);
    for (const e of errors) report(formatLoadError(e));
    for (const doc of documents) {
      if (classifyDocument(doc.value) !== 'policy') continue;
      // The same shape checks as the CLI: a wrong-typed field is reported at its line, and
      // the policy is left out rather than evaluated into a misleading answer. So is a policy
      // Kyverno's policy webhook would refuse to admit (each error at its value).
      try {
        const policy = checkPolicyShape(doc);
        const refused = admissionVerdict(policy)?.errors ?? [];
        const name = String(asObject(policy.metadata).name ?? '');
        for (const e of refused.filter((r) => !r.unplaced)) report(formatAt(doc, e.path, `invalid policy ${name}: ${e.message}`));
        if (refused.length === 0) policies.push(policy);
      } catch (e) {
        report((e as Error).message);
      }
    }
  }
  return policies;
}

interface ServeArgs {
  policies: string[];
  port: number;
  host: string;
  cert: string;
  key: string;
  timeoutMs: number;
  workers: number;
  inCluster: boolean;
  namespace: string;
  caFile: string;
  /** In-cluster mode outside a pod (tests, debugging): use this kubeconfig. */
  kubeconfig: string;
  reportIntervalMs: number;
  retryPeriodMs: number;
  backgroundScanIntervalMs: number;
  ttlIntervalMs: number;
  certRenewalIntervalMs: number;
  /** Kyverno's --tlsKeyAlgorithm: the key type of certificates the in-cluster renewer makes (default RSA). */
  tlsKeyAlgorithm: KeyAlgorithm;
  /** Kyverno's --renewBefore: how long before expiry the in-cluster renewer replaces a certificate (default 15 days). */
  renewBeforeMs: number;
  /** Kyverno's --excludeBootstrapResources: the Fail resource webhooks skip Nodes and CSRs (off by default). */
  excludeBootstrapResources: boolean;
  /** Kyverno's --metricsPort: plain-HTTP /metrics on this port (and not on the admission port). */
  metricsPort?: number;
  successEvents: boolean;
  /** Kyverno's --validatingAdmissionPolicyReports (on) and --mutatingAdmissionPolicyReports (off). */
  admissionPolicyReports: AdmissionPolicyReports;
  /** Kyverno's generateValidatingAdmissionPolicy (on) and generateMutatingAdmissionPolicy (off) features. */
  admissionPolicyGeneration: AdmissionPolicyGeneration;
  /** Kyverno's --forceFailurePolicyIgnore: every policy is served as failurePolicy Ignore. */
  forceFailurePolicyIgnore: boolean;
  omitEvents: EventReason[];
  /** Kyverno's resourceFilters; default: Kyverno's defaults with our namespace. */
  resourceFilters?: string;
  /** Kyverno's excludeUsernames/excludeGroups/excludeRoles/excludeClusterRoles. */
  userExclusions: UserExclusionSettings;
  /** Kyverno's --backgroundServiceAccountName; default: the service account of our credentials. */
  backgroundUser?: string;
  /** Kyverno's --httpBlocklist (comma-separated CIDR ranges and host names; Kyverno's default when absent). */
  httpBlocklist?: string[];
  /** Kyverno's --allowHTTPInNamespacedPolicies. */
  allowHttpInNamespacedPolicies: boolean;
  /** In-cluster: the Kyverno-layout ConfigMap watched in --namespace (kyverno-config.ts). */
  configMap: string;
  /** Kyverno's --enablePolicyException / --exceptionNamespace (ours: on, every namespace). */
  exceptionScope: ExceptionScope;
  /** Kyverno's --allowedResults: result statuses written to reports (default all). */
  allowedResults: string[];
  /** Kyverno's --openreportsEnabled. */
  openreports: boolean;
  /** Kyverno's --webhookTimeout: the webhook configurations' timeoutSeconds before policies raise it. */
  webhookTimeoutSeconds: number;
  /** Kyverno's --maxAPICallResponseLength for admission and background alike; absent: Kyverno's per-controller defaults (10 MB, 2 MB). */
  maxApiCallResponseBytes?: number;
  /** Kyverno's --apiCallTimeout: each service call (apiCall.service, CEL http). */
  apiCallTimeoutMs: number;
  /** Kyverno's --clientRateLimitQPS/--clientRateLimitBurst for the API client; absent: no client-side limit. */
  clientRateLimit?: { qps: number; burst: number };
  /** Kyverno flags given that have no effect here, with why (logged at startup). */
  ignoredKyvernoFlags: IgnoredFlag[];
}

/** serve's flags, and Kyverno's controller flags in Kyverno's spelling (kyverno-flags.ts), read as Go's flag package reads booleans. */
export const SERVE_FLAGS = {
  values: ['policy'],
  scalars: ['port', 'host', 'tls-cert', 'tls-key', 'timeout-ms', 'workers', 'namespace', 'ca-file', 'kubeconfig', 'report-interval-ms', 'leader-election-retry-period', 'background-scan-interval', 'cert-renewal-interval', 'renew-before', 'tls-key-algorithm', 'metrics-port', 'ttl-reconciliation-interval', 'omit-events', 'resource-filters', 'exclude-usernames', 'exclude-groups', 'exclude-roles', 'exclude-cluster-roles', 'background-service-account', 'http-blocklist', 'config-map', 'exception-namespace', 'allowed-results', 'webhook-timeout', 'max-api-call-response-length', 'api-call-timeout', 'client-rate-limit-qps', 'client-rate-limit-burst', ...KYVERNO_FLAG_SPEC.scalars],
  booleans: ['in-cluster', 'help', 'generate-success-events', 'allow-http-in-namespaced-policies', 'validating-admission-policy-reports', 'mutating-admission-policy-reports', 'force-failure-policy-ignore', 'exclude-bootstrap-resources', 'enable-policy-exception', 'openreports-enabled', 'generate-validating-admission-policy', 'generate-mutating-admission-policy', ...KYVERNO_FLAG_SPEC.booleans],
  aliases: { h: 'help' },
  longAliases: KYVERNO_FLAG_SPEC.longAliases,
  toggles: KYVERNO_FLAG_SPEC.toggles,
  goBooleans: true,
};

/** `--webhook-timeout` (Kyverno's --webhookTimeout), serve's and deploy's: whole seconds the API server accepts. */
export function webhookTimeoutFlag(value: string | undefined): number {
  if (value === undefined) return DEFAULT_WEBHOOK_TIMEOUT_SECONDS;
  const n = Number(value);
  // Kyverno passes any int on; the API server refuses a configuration outside 1..30 s.
  if (!Number.isInteger(n) || n < 1 || n > MAX_WEBHOOK_TIMEOUT_SECONDS) throw new UsageError(`--webhook-timeout must be whole seconds from 1 to ${MAX_WEBHOOK_TIMEOUT_SECONDS}, what the API server accepts (got ${value})`);
  return n;
}

/** A Go duration flag ("2s", "1h") in milliseconds (serve's and deploy's). */
export function duration(parsed: ReturnType<typeof parseArgs>, name: string, fallback: number): number {
  const v = single(parsed, name);
  if (v === undefined) return fallback;
  const nanos = parseDuration(v);
  if (nanos === null || nanos < 0) throw new UsageError(`--${name} must be a duration such as 2s or 1h (got ${v})`);
  return nanos / 1e6;
}

/** `--tls-key-algorithm` (Kyverno's --tlsKeyAlgorithm, any case), a usage error naming the flag when unknown. */
export function keyAlgorithmFlag(value: string | undefined): KeyAlgorithm {
  try {
    return parseKeyAlgorithm(value ?? DEFAULT_KEY_ALGORITHM);
  } catch (e) {
    throw new UsageError(`--tls-key-algorithm: ${(e as Error).message}`);
  }
}

/** `--generate-validating-admission-policy[=false]` and `--generate-mutating-admission-policy` (serve's and deploy's): Kyverno's chart defaults, on and off. */
export function admissionPolicyGenerationFlags(parsed: ReturnType<typeof parseArgs>): AdmissionPolicyGeneration {
  return { validating: !parsed.negated.has('generate-validating-admission-policy'), mutating: parsed.booleans.has('generate-mutating-admission-policy') };
}

/** Kyverno's admission controller defaults for --clientRateLimitQPS and --clientRateLimitBurst (cmd/internal newOptions). */
const KYVERNO_CLIENT_QPS = 100;
const KYVERNO_CLIENT_BURST = 200;

/**
 * `--client-rate-limit-qps`/`--client-rate-limit-burst` (Kyverno's --clientRateLimitQPS/Burst):
 * when either is given, the API client is limited as client-go limits Kyverno's (the other at
 * Kyverno's default; 0 is client-go's default, 5 and 10; a QPS below 0, no limit). Without
 * either, no client-side limit, as before.
 */
function clientRateLimitFlags(parsed: ReturnType<typeof parseArgs>): { qps: number; burst: number } | undefined {
  const qpsText = single(parsed, 'client-rate-limit-qps');
  const burstText = single(parsed, 'client-rate-limit-burst');
  if (qpsText === undefined && burstText === undefined) return undefined;
  const qps = qpsText === undefined ? KYVERNO_CLIENT_QPS : Number(qpsText);
  const burst = burstText === undefined ? KYVERNO_CLIENT_BURST : Number(burstText);
  if (qpsText !== undefined && (qpsText.trim() === '' || !Number.isFinite(qps))) throw new UsageError(`--client-rate-limit-qps must be a number (got ${qpsText})`);
  if (!Number.isInteger(burst) || burst < 0) throw new UsageError(`--client-rate-limit-burst must be a whole number, 0 or more (got ${burstText})`);
  if (qps < 0) return undefined;
  return { qps: qps || 5, burst: burst || 10 };
}

/** serve's flags, read by the parser every command uses (io/args); checked here. */
export function parseServeArgs(argv: string[]): ServeArgs {
  const parsed = parseArgs(argv, SERVE_FLAGS);
  const text = (name: string, fallback: string) => single(parsed, name) ?? fallback;
  const number = (name: string, fallback: number) => {
    const v = single(parsed, name);
    return v === undefined ? fallback : Number(v);
  };
  const args: ServeArgs = {
    // `--policy a b` (paths after the flag) and `--policy a --policy b` both list policies.
    policies: [...(parsed.values.get('policy') ?? []), ...(parsed.values.has('policy') ? parsed.positionals : [])],
    port: number('port', 9443),
    host: text('host', '0.0.0.0'),
    cert: text('tls-cert', ''),
    key: text('tls-key', ''),
    timeoutMs: number('timeout-ms', 8000),
    workers: number('workers', 2),
    inCluster: parsed.booleans.has('in-cluster'),
    namespace: text('namespace', 'kyverno-studio'),
    caFile: text('ca-file', ''),
    kubeconfig: text('kubeconfig', ''),
    reportIntervalMs: number('report-interval-ms', 5000),
    retryPeriodMs: duration(parsed, 'leader-election-retry-period', DEFAULT_RETRY_PERIOD_MS),
    backgroundScanIntervalMs: duration(parsed, 'background-scan-interval', DEFAULT_BACKGROUND_SCAN_INTERVAL_MS),
    ttlIntervalMs: duration(parsed, 'ttl-reconciliation-interval', DEFAULT_TTL_INTERVAL_MS),
    certRenewalIntervalMs: duration(parsed, 'cert-renewal-interval', CERT_RENEWAL_INTERVAL_MS),
    tlsKeyAlgorithm: keyAlgorithmFlag(single(parsed, 'tls-key-algorithm')),
    renewBeforeMs: duration(parsed, 'renew-before', RENEW_BEFORE_MS),
    metricsPort: parsed.values.has('metrics-port') ? number('metrics-port', 0) : undefined,
    successEvents: parsed.booleans.has('generate-success-events'),
    admissionPolicyReports: { validating: !parsed.negated.has('validating-admission-policy-reports'), mutating: parsed.booleans.has('mutating-admission-policy-reports') },
    admissionPolicyGeneration: admissionPolicyGenerationFlags(parsed),
    forceFailurePolicyIgnore: parsed.booleans.has('force-failure-policy-ignore'),
    excludeBootstrapResources: parsed.booleans.has('exclude-bootstrap-resources'),
    resourceFilters: single(parsed, 'resource-filters'),
    userExclusions: {
      excludeUsernames: single(parsed, 'exclude-usernames'),
      excludeGroups: single(parsed, 'exclude-groups'),
      excludeRoles: single(parsed, 'exclude-roles'),
      excludeClusterRoles: single(parsed, 'exclude-cluster-roles'),
    },
    backgroundUser: single(parsed, 'background-service-account'),
    httpBlocklist: single(parsed, 'http-blocklist')?.split(',').map((s) => s.trim()).filter(Boolean),
    allowHttpInNamespacedPolicies: parsed.booleans.has('allow-http-in-namespaced-policies'),
    configMap: text('config-map', KYVERNO_CONFIG_MAP),
    exceptionScope: { enabled: !parsed.negated.has('enable-policy-exception'), namespace: text('exception-namespace', DEFAULT_EXCEPTION_SCOPE.namespace) },
    allowedResults: text('allowed-results', ALL_RESULTS.join(',')).split(',').map((s) => s.trim()).filter(Boolean),
    openreports: parsed.booleans.has('openreports-enabled'),
    omitEvents: text('omit-events', '').split(',').map((s) => s.trim()).filter(Boolean) as EventReason[],
    webhookTimeoutSeconds: webhookTimeoutFlag(single(parsed, 'webhook-timeout')),
    maxApiCallResponseBytes: parsed.values.has('max-api-call-response-length') ? number('max-api-call-response-length', 0) : undefined,
    apiCallTimeoutMs: duration(parsed, 'api-call-timeout', SERVICE_CALL_TIMEOUT_MS),
    clientRateLimit: clientRateLimitFlags(parsed),
    ignoredKyvernoFlags: kyvernoFlagsWithoutEffect(parsed),
  };
  // Kyverno reads 0 as no limit; every read and call here is bounded, so 0 is refused rather than quietly capped.
  if (args.maxApiCallResponseBytes !== undefined && !(Number.isInteger(args.maxApiCallResponseBytes) && args.maxApiCallResponseBytes > 0)) {
    throw new UsageError(`--max-api-call-response-length must be a number of bytes above 0 (got ${single(parsed, 'max-api-call-response-length')}): responses are always bounded here`);
  }
  if (args.apiCallTimeoutMs <= 0) throw new UsageError(`--api-call-timeout must be above 0 (got ${single(parsed, 'api-call-timeout')}): service calls always time out here`);
  const reasons = ['PolicyViolation', 'PolicyApplied', 'PolicyError', 'PolicySkipped'];
  for (const r of args.omitEvents) if (!reasons.includes(r)) throw new UsageError(`--omit-events takes ${reasons.join(', ')} (got ${r})`);
  for (const r of args.allowedResults) if (!ALL_RESULTS.includes(r)) throw new UsageError(`--allowed-results takes ${ALL_RESULTS.join(', ')} (got ${r})`);
  if (!args.configMap) throw new UsageError('--config-map needs a ConfigMap name');
  if (args.retryPeriodMs < 100) throw new UsageError('--leader-election-retry-period must be at least 100ms');
  if (args.metricsPort !== undefined && !(Number.isInteger(args.metricsPort) && args.metricsPort >= 0 && args.metricsPort <= 65535)) {
    throw new UsageError(`--metrics-port ${single(parsed, 'metrics-port')}: not a port number`);
  }
  if (parsed.positionals.length > 0 && !parsed.values.has('policy')) throw new UsageError(`unexpected argument ${parsed.positionals[0]}`);
  if (!args.cert || !args.key) throw new UsageError('--tls-cert and --tls-key are required (the webhook serves HTTPS only)');
  if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535) throw new UsageError('--port must be a port number');
  if (!Number.isInteger(args.workers) || args.workers < 1 || args.workers > 64) throw new UsageError('--workers must be between 1 and 64');
  if (!Number.isFinite(args.timeoutMs) || args.timeoutMs < 100) throw new UsageError('--timeout-ms must be at least 100');
  if (args.inCluster && args.policies.length) throw new UsageError('--in-cluster watches the policies in the cluster; --policy is for local mode');
  if (!args.inCluster && args.policies.length === 0) throw new UsageError('--policy PATH is required (or --in-cluster)');
  if (!args.caFile) args.caFile = join(dirname(args.cert), 'ca.crt');
  return args;
}

const EMPTY_CLUSTER: ClusterState = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] };

/** A list for the help: comma-separated, wrapped, indented (by default to the description column). */
function helpList(items: readonly string[], indent = 32): string {
  const lines: string[] = [];
  for (const item of items) {
    const last = lines.length - 1;
    if (last >= 0 && lines[last].length + item.length + 2 <= 94 - indent) lines[last] += `, ${item}`;
    else lines.push(item);
  }
  return lines.map((l, i) => `${' '.repeat(indent)}${l}${i < lines.length - 1 ? ',' : ''}`).join('\n');
}

const KYVERNO_HELP = kyvernoFlagsHelp();

const SERVE_HELP = `Usage: kyverno-studio serve --policy PATH... --tls-cert FILE --tls-key FILE [flags]
       kyverno-studio serve --in-cluster --tls-cert FILE --tls-key FILE [flags]

The admission webhook over HTTPS (TLS 1.2+): /validate and /mutate take AdmissionReview v1;
/healthz, /readyz and /metrics (Prometheus) serve probes and monitoring.

Flags:
      --policy PATH...          policy files or folders (local mode)
      --in-cluster              watch policies in the cluster, keep webhook rules in step,
                                scan existing resources, write PolicyReports
      --tls-cert FILE           serving certificate (reloaded when the file changes)
      --tls-key FILE            its private key
      --port N                  port (default 9443)
      --host ADDR               address to listen on (default 0.0.0.0)
      --timeout-ms N            deadline per review (default 8000)
      --workers N               server processes, each terminating TLS and evaluating
                                reviews (default 2; about one per core)
      --namespace NS            in-cluster: the webhook's namespace
      --ca-file FILE            in-cluster: CA bundle to publish in the webhook configurations
      --kubeconfig PATH         in-cluster: use this kubeconfig instead of the service account
      --report-interval-ms N    in-cluster: how often Audit results are flushed to reports
      --leader-election-retry-period D
                                in-cluster: Lease retry period (default 2s; the lease lasts
                                6x, the leader gives up after 5x without renewal)
      --background-scan-interval D
                                in-cluster: how often the leader rescans (default 1h)
      --ttl-reconciliation-interval D
                                in-cluster: how often the cleanup leader looks for resources
                                it may watch and delete for the cleanup.kyverno.io/ttl label
                                (default 1m)
      --metrics-port N          serve /metrics over plain HTTP on this port only (Kyverno's
                                --metricsPort; deploy uses 8000); without it, on the HTTPS port
      --cert-renewal-interval D in-cluster: how often the leader checks the serving certificates
                                (default 12h) for those to renew
      --renew-before D          in-cluster: renew a certificate this long before it expires
                                (Kyverno's --renewBefore; default 360h, 15 days)
      --tls-key-algorithm A     in-cluster: RSA, ECDSA or Ed25519, the key of the certificates
                                the leader renews (Kyverno's --tlsKeyAlgorithm; default RSA)
      --http-blocklist LIST     CIDR ranges and host names CEL http.Get/Post may not reach
                                (Kyverno's --httpBlocklist; default: loopback and the cloud
                                metadata addresses)
      --allow-http-in-namespaced-policies
                                let Namespaced* policies use CEL http.* (Kyverno's
                                --allowHTTPInNamespacedPolicies; off by default)
      --generate-success-events in-cluster: also write PolicyApplied events (Kyverno's
                                generateSuccessEvents; off by default)
      --validating-admission-policy-reports[=false]
                                in-cluster: scan ValidatingAdmissionPolicies labelled
                                reports.kyverno.io/enabled=true for reports (default on)
      --mutating-admission-policy-reports
                                in-cluster: likewise MutatingAdmissionPolicies (default off)
      --generate-validating-admission-policy[=false]
                                in-cluster: generate a ValidatingAdmissionPolicy and binding from
                                each ClusterPolicy whose validate.cel rule sets generate: true and
                                each ValidatingPolicy with autogen.validatingAdmissionPolicy
                                enabled, and leave those policies to the API server (Kyverno's
                                generateValidatingAdmissionPolicy feature; default on)
      --generate-mutating-admission-policy
                                in-cluster: likewise a MutatingAdmissionPolicy from each
                                MutatingPolicy with autogen.mutatingAdmissionPolicy enabled
                                (Kyverno's generateMutatingAdmissionPolicy; default off: only
                                policies that ask for it)
      --force-failure-policy-ignore
                                serve every policy as failurePolicy Ignore, whatever it says
                                (Kyverno's --forceFailurePolicyIgnore)
      --exclude-bootstrap-resources
                                in-cluster: the Fail resource webhooks skip Nodes and
                                CertificateSigningRequests, so a cluster restarting without the
                                webhook can register its nodes (Kyverno's
                                --excludeBootstrapResources; off by default)
      --allowed-results LIST    in-cluster: result statuses written to policy reports, of
                                pass,fail,warn,error,skip (Kyverno's --allowedResults; default all)
      --openreports-enabled     in-cluster: write openreports.io/v1alpha1 Reports and ClusterReports
                                instead of wgpolicyk8s.io PolicyReports (Kyverno's
                                --openreportsEnabled; needs their CRDs and RBAC, which deploy
                                does not grant)
      --omit-events LIST        in-cluster: event reasons never written, e.g.
                                PolicyApplied,PolicyViolation
      --resource-filters TEXT   Kyverno's resourceFilters ("[Kind,Namespace,Name]..."); default:
                                Kyverno's defaults, with --namespace in place of kyverno
      --exclude-usernames LIST  Kyverno's excludeUsernames: requests of these users (wildcards;
                                "!name" keeps one in) run no policy; likewise
      --exclude-groups LIST     excludeGroups, --exclude-roles LIST, --exclude-cluster-roles LIST
      --config-map NAME         in-cluster: the ConfigMap in --namespace laid out as Kyverno's
                                (default kyverno), read and watched; its keys apply live and a
                                key it leaves out keeps its flag's value (or Kyverno's
                                default). Keys read, all of Kyverno's:
${helpList(CONFIG_KEYS_READ)}
      --enable-policy-exception[=false]
                                apply PolicyExceptions (Kyverno's --enablePolicyException;
                                default on here, off in Kyverno's flags)
      --exception-namespace NS  only PolicyExceptions in NS apply; * for every namespace (Kyverno's
                                --exceptionNamespace; default *)
      --background-service-account USER
                                in-cluster: the user our background writes come as (Kyverno's
                                --backgroundServiceAccountName); default: the service account
                                of our credentials. Its requests queue no generate or
                                mutate-existing work for rules with skipBackgroundRequests
      --webhook-timeout N       the webhook configurations' timeoutSeconds, 1 to 30 (Kyverno's
                                --webhookTimeout; default 10): the resource webhooks start there
                                and a policy's webhookTimeoutSeconds raises theirs; a review's
                                deadline is 80% of its webhook's
      --max-api-call-response-length N
                                bytes an apiCall service or a CEL http call may answer (Kyverno's
                                --maxAPICallResponseLength; default 10000000 for admission,
                                2000000 for the background, as Kyverno's controllers)
      --api-call-timeout D      time each such call may take (Kyverno's --apiCallTimeout;
                                default 30s; an admission review's deadline bounds it too)
      --client-rate-limit-qps F in-cluster: requests per second to the API server, after a
      --client-rate-limit-burst N
                                burst of N (Kyverno's --clientRateLimitQPS/--clientRateLimitBurst,
                                100 and 200 when one is given, 0 client-go's 5 and 10); default:
                                no client-side limit
  -h, --help                    show this help

Kyverno's controller flags (of cmd/kyverno and the background, reports and cleanup controllers)
are accepted in Kyverno's spelling, as Go reads them (-flag or --flag, -flag=value, --flag value,
--flag=false). The same as the flags above:
${helpList(KYVERNO_HELP.aliases, 2)}
Accepted with no effect here (a startup log line lists them with why), or refused with a usage
error where the value given asks for what is not done here:
${helpList(KYVERNO_HELP.others, 2)}
`;

export async function serveCommand(argv: string[], workerScript: string): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h') || argv.includes('-help')) {
    process.stdout.write(SERVE_HELP);
    return 0;
  }
  let args: ServeArgs;
  try {
    args = parseServeArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`kyverno-studio serve: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
  const ignored = ignoredFlagsLine(args.ignoredKyvernoFlags);
  if (ignored) log(ignored);
  const serverOptions = {
    port: args.port,
    host: args.host,
    tlsCertFile: args.cert,
    tlsKeyFile: args.key,
    workerScript,
    workers: args.workers,
    timeoutMs: args.timeoutMs,
    resourceFilters: args.resourceFilters ?? defaultResourceFilters(args.namespace),
    userExclusions: args.userExclusions,
    backgroundUser: args.backgroundUser,
    metricsElsewhere: args.metricsPort !== undefined,
    httpBlocklist: args.httpBlocklist,
    allowHttpInNamespacedPolicies: args.allowHttpInNamespacedPolicies,
    webhookTimeoutSeconds: args.webhookTimeoutSeconds,
    apiCalls: { maxResponseBytes: args.maxApiCallResponseBytes, timeoutMs: args.apiCallTimeoutMs },
  };
  // The primary's own evaluations (generate, mutate-existing) call out under the same settings.
  httpCallSettings.blocklist = args.httpBlocklist;
  httpCallSettings.allowInNamespacedPolicies = args.allowHttpInNamespacedPolicies;
  httpCallSettings.maxResponseBytes = args.maxApiCallResponseBytes;
  httpCallSettings.timeoutMs = args.apiCallTimeoutMs;
  let stop: () => Promise<void>;
  let metricsText: () => Promise<string>;
  // Set when a Lease is lost in a pod: the process stops (handing its other Leases over) and
  // exits non-zero, and its Deployment restarts it, as Kubernetes restarts Kyverno's.
  let leaseLost: (lease: string) => void = () => undefined;
  const lostLease = new Promise<string>((resolve) => (leaseLost = resolve));
  if (args.inCluster) {
    const { inClusterClient } = await import('./incluster');
    const { KubeClient } = await import('../kube-api/client');
    const { startClusterMode, ownServiceAccount } = await import('./cluster-mode');
    const client = args.kubeconfig ? KubeClient.fromKubeconfig(args.kubeconfig) : inClusterClient();
    if (args.clientRateLimit) client.rateLimit(args.clientRateLimit.qps, args.clientRateLimit.burst);
    // Kyverno's --backgroundServiceAccountName: here one process does the background work, as itself.
    const webhook = await startClusterMode({
      client, server: { ...serverOptions, backgroundUser: args.backgroundUser ?? ownServiceAccount(client.config) }, namespace: args.namespace, caFile: args.caFile, log,
      reportIntervalMs: args.reportIntervalMs, retryPeriodMs: args.retryPeriodMs, onLeaseLost: (lease) => leaseLost(lease), backgroundScanIntervalMs: args.backgroundScanIntervalMs,
      successEvents: args.successEvents, omitEvents: args.omitEvents, admissionPolicyReports: args.admissionPolicyReports, admissionPolicyGeneration: args.admissionPolicyGeneration, holdBackground: process.env.KYVERNO_STUDIO_HOLD_BACKGROUND === '1',
      certRenewalIntervalMs: args.certRenewalIntervalMs, tlsKeyAlgorithm: args.tlsKeyAlgorithm, renewBeforeMs: args.renewBeforeMs, excludeBootstrapResources: args.excludeBootstrapResources, ttlIntervalMs: args.ttlIntervalMs, forceFailurePolicyIgnore: args.forceFailurePolicyIgnore,
      configMap: args.configMap, exceptionScope: args.exceptionScope, allowedResults: args.allowedResults, openreports: args.openreports,
    });
    stop = webhook.stop;
    metricsText = () => webhook.server.metricsText();
    log(`in-cluster mode on https://${args.host}:${webhook.server.address().port}: watching policies`);
  } else {
    // Files only, no cluster: nothing to report to or generate in.
    const loaded = loadPolicyFiles(args.policies, log);
    const policies = args.forceFailurePolicyIgnore ? loaded.map((p) => withFailurePolicyIgnore(p) as JsonObject) : loaded;
    const server = await startWebhookServer({ ...serverOptions, log, successEvents: args.successEvents });
    server.setPolicies(policies, EMPTY_CLUSTER);
    stop = () => server.close();
    metricsText = () => server.metricsText();
    log(`serving ${policies.length} policies on https://${args.host}:${server.address().port}`);
  }
  const metrics = args.metricsPort === undefined ? undefined
    : await startMetricsListener({ port: args.metricsPort, host: args.host, metricsText: () => metricsText(), log });
  if (metrics) log(`metrics on http://${args.host}:${metrics.port}/metrics`);
  const lost = await new Promise<string | undefined>((resolve) => {
    process.once('SIGINT', () => resolve(undefined));
    process.once('SIGTERM', () => resolve(undefined));
    void lostLease.then(resolve);
  });
  if (lost !== undefined) log(`lost the ${lost} Lease: exiting so that the Deployment restarts this replica (Kyverno's controllers do not campaign again in the same process)`);
  await stop();
  await metrics?.close();
  return lost === undefined ? 0 : 1;
}
