/**
 * Kyverno's controller flags in Kyverno's spelling, for `serve` (one process doing the work of
 * Kyverno's admission, background, reports and cleanup controllers), so that the args of a
 * Kyverno Deployment or its chart's `extraArgs` can be given as they are. The one table: each
 * flag of cmd/internal/flag.go (with klog's), of the four controllers' flagsets and of their
 * toggles is either
 * - the same as one of serve's own flags (`ours`: parsed as that flag, same effect),
 * - accepted with no effect here (`why`, logged in one line at startup), or
 * - refused for the values that ask for something not done here (`refuse`: the usage error),
 *   accepted with no effect for the others.
 * Nothing else: a flag no controller has stays an unknown flag.
 */
import type { FlagSpec, ParsedArgs } from '../io/args';
import { UsageError } from '../io/args';
import { parseDuration } from '../engine/units';

/**
 * The Go type of the flag: `bool` flags take no separate value; a `toggle` (pkg/toggle, a
 * flag.Func) always takes one, a Go boolean (`--enableDeferredLoading false`).
 */
type GoType = 'bool' | 'toggle' | 'int' | 'float' | 'duration' | 'string';

interface KyvernoFlag {
  type: GoType;
  /** serve's flag of the same meaning: the Kyverno spelling is parsed as it. */
  ours?: string;
  /** Why the flag has no effect here (when it is not ours). */
  why?: string;
  /** A reason to refuse this value (`true`/`false` for booleans), or undefined to accept it with no effect. */
  refuse?: (value: string) => string | undefined;
}

/** A Go int flag's value (strconv.ParseInt base 0: 0x, 0o, 0b, a leading 0 for octal, underscores). */
function goInt(v: string): number {
  const digits = v.replace(/_/g, '');
  return /^[+-]?0[0-7]+$/.test(digits) ? parseInt(digits, 8) : Number(digits);
}

const onlyIf = (bad: string, reason: string) => (v: string) => (v === bad ? reason : undefined);
const unlessEmpty = (reason: string) => (v: string) => (v.trim() !== '' ? reason : undefined);

const LOGS = 'logs here are plain lines on stderr, one level';
const PROFILING = 'no pprof server here (Node has its own --inspect and --cpu-prof)';
const TRACING = 'no OpenTelemetry tracing here';
const OTEL = '/metrics serves Prometheus text only, no OpenTelemetry exporter';
const ONE_SERVER = 'one HTTPS server serves every webhook here, the cleanup ones too (--host, --port)';
const QUEUES = 'no such queue or worker pool here: reviews run in the server processes (--workers), the rest in one event loop';
const CACHES = 'no such cache here';
const DEBUG_DUMPS = 'no request or patch dumps here';
const MEMORY = 'Node sizes its own heap (deploy sets --max-old-space-size)';

/** Kyverno's --enableReporting default: every rule type. */
const REPORTED_RULE_TYPES = ['validate', 'mutate', 'mutateExisting', 'generate', 'imageVerify'];

export const KYVERNO_FLAGS: Record<string, KyvernoFlag> = {
  // serve's own flags in Kyverno's spelling.
  webhookTimeout: { type: 'int', ours: 'webhook-timeout' },
  maxAPICallResponseLength: { type: 'int', ours: 'max-api-call-response-length' },
  apiCallTimeout: { type: 'duration', ours: 'api-call-timeout' },
  clientRateLimitQPS: { type: 'float', ours: 'client-rate-limit-qps' },
  clientRateLimitBurst: { type: 'int', ours: 'client-rate-limit-burst' },
  webhookServerHost: { type: 'string', ours: 'host' },
  webhookServerPort: { type: 'int', ours: 'port' },
  metricsPort: { type: 'int', ours: 'metrics-port' },
  kubeconfig: { type: 'string', ours: 'kubeconfig' },
  leaderElectionRetryPeriod: { type: 'duration', ours: 'leader-election-retry-period' },
  backgroundScanInterval: { type: 'duration', ours: 'background-scan-interval' },
  ttlReconciliationInterval: { type: 'duration', ours: 'ttl-reconciliation-interval' },
  renewBefore: { type: 'duration', ours: 'renew-before' },
  tlsKeyAlgorithm: { type: 'string', ours: 'tls-key-algorithm' },
  excludeBootstrapResources: { type: 'bool', ours: 'exclude-bootstrap-resources' },
  forceFailurePolicyIgnore: { type: 'toggle', ours: 'force-failure-policy-ignore' },
  generateValidatingAdmissionPolicy: { type: 'toggle', ours: 'generate-validating-admission-policy' },
  generateMutatingAdmissionPolicy: { type: 'toggle', ours: 'generate-mutating-admission-policy' },
  allowHTTPInNamespacedPolicies: { type: 'toggle', ours: 'allow-http-in-namespaced-policies' },
  httpBlocklist: { type: 'string', ours: 'http-blocklist' },
  validatingAdmissionPolicyReports: { type: 'bool', ours: 'validating-admission-policy-reports' },
  mutatingAdmissionPolicyReports: { type: 'bool', ours: 'mutating-admission-policy-reports' },
  omitEvents: { type: 'string', ours: 'omit-events' },
  backgroundServiceAccountName: { type: 'string', ours: 'background-service-account' },
  enablePolicyException: { type: 'bool', ours: 'enable-policy-exception' },
  exceptionNamespace: { type: 'string', ours: 'exception-namespace' },
  allowedResults: { type: 'string', ours: 'allowed-results' },
  openreportsEnabled: { type: 'bool', ours: 'openreports-enabled' },

  // Kyverno's logging (cmd/internal) and klog's flags.
  loggingFormat: { type: 'string', why: LOGS },
  loggingtsFormat: { type: 'string', why: LOGS },
  disableLogColor: { type: 'bool', why: LOGS },
  v: { type: 'int', why: LOGS },
  vmodule: { type: 'string', why: LOGS },
  log_dir: { type: 'string', why: LOGS },
  log_file: { type: 'string', why: LOGS },
  log_file_max_size: { type: 'int', why: LOGS },
  logtostderr: { type: 'bool', why: LOGS },
  alsologtostderr: { type: 'bool', why: LOGS },
  add_dir_header: { type: 'bool', why: LOGS },
  skip_headers: { type: 'bool', why: LOGS },
  skip_log_headers: { type: 'bool', why: LOGS },
  one_output: { type: 'bool', why: LOGS },
  stderrthreshold: { type: 'string', why: LOGS },
  log_backtrace_at: { type: 'string', why: LOGS },
  legacy_stderr_threshold_behavior: { type: 'bool', why: LOGS },
  dumpPayload: { type: 'bool', why: DEBUG_DUMPS },
  dumpPatches: { type: 'toggle', why: DEBUG_DUMPS },
  enableCosignLogging: { type: 'bool', why: DEBUG_DUMPS },
  // Memory, profiling, tracing, metrics export.
  autoMemLimitEnabled: { type: 'bool', why: MEMORY },
  autoMemLimitRatio: { type: 'float', why: MEMORY },
  profile: { type: 'bool', why: PROFILING },
  profilePort: { type: 'string', why: PROFILING },
  profileAddress: { type: 'string', why: PROFILING },
  enableTracing: { type: 'bool', why: TRACING },
  tracingPort: { type: 'string', why: TRACING },
  tracingAddress: { type: 'string', why: TRACING },
  tracingCreds: { type: 'string', why: TRACING },
  otelConfig: { type: 'string', why: OTEL },
  otelCollector: { type: 'string', why: OTEL },
  transportCreds: { type: 'string', why: OTEL },
  exemplarFilter: { type: 'string', why: OTEL },
  disableMetrics: { type: 'bool', why: 'metrics are always served (on --metricsPort, else on the HTTPS port)' },
  metricsHost: { type: 'string', why: 'metrics listen on --host' },
  metricsCASecretName: { type: 'string', refuse: unlessEmpty('/metrics is plain HTTP here, no TLS'), why: 'no TLS on /metrics' },
  metricsTLSSecretName: { type: 'string', refuse: unlessEmpty('/metrics is plain HTTP here, no TLS'), why: 'no TLS on /metrics' },
  metricsKeyAlgorithm: { type: 'string', why: 'no TLS on /metrics' },
  metricsRenewBefore: { type: 'duration', why: 'no TLS on /metrics' },
  metricsServerIP: { type: 'string', why: 'no TLS on /metrics' },
  controllerRuntimeMetricsAddress: { type: 'string', why: 'no controller-runtime here' },
  // Clients, informers, queues, workers, caches.
  eventsRateLimitQPS: { type: 'float', why: 'events go through the one API client (--clientRateLimitQPS)' },
  eventsRateLimitBurst: { type: 'int', why: 'events go through the one API client (--clientRateLimitBurst)' },
  resyncPeriod: { type: 'duration', why: 'no informer resync here: watches relist when they break' },
  crdWatcher: { type: 'bool', why: 'discovery is read again when a kind is not found' },
  maxQueuedEvents: { type: 'int', why: QUEUES },
  maxAuditWorkers: { type: 'int', why: QUEUES },
  maxAuditCapacity: { type: 'int', why: QUEUES },
  genWorkers: { type: 'int', why: QUEUES },
  aggregationWorkers: { type: 'int', why: QUEUES },
  backgroundScanWorkers: { type: 'int', why: QUEUES },
  maxAdmissionReports: { type: 'int', why: 'no ephemeral reports here: results go straight into the policy reports' },
  maxBackgroundReports: { type: 'int', why: 'no ephemeral reports here: results go straight into the policy reports' },
  reportsCRDsSanityChecks: { type: 'bool', why: 'no ephemeral report CRDs here' },
  webhookRegistrationTimeout: { type: 'duration', why: 'deploy registers the webhooks and waits for them' },
  enableConfigMapCaching: { type: 'bool', why: 'ConfigMaps a policy reads are watched either way' },
  imageVerifyCacheEnabled: { type: 'bool', why: CACHES },
  imageVerifyCacheMaxSize: { type: 'int', why: CACHES },
  imageVerifyCacheTTLDuration: { type: 'duration', why: CACHES },
  maxGlobalContextEntries: {
    type: 'int',
    refuse: (v) => (goInt(v) > 0 ? 'no bound on GlobalContextEntries here (0, unbounded, is what is done)' : undefined),
    why: 'GlobalContextEntries are unbounded here, as with 0',
  },
  registryCredentialHelpers: { type: 'string', why: "registry credentials come from the Pod's imagePullSecrets and this process's Docker config and its helpers" },
  // Certificates, Services and webhook registration.
  caSecretName: { type: 'string', why: 'the certificates are in kyverno-svc.<namespace>.svc.kyverno-tls-ca and -pair here (--tls-cert and --tls-key are the mounted pair)' },
  tlsSecretName: { type: 'string', why: 'the certificates are in kyverno-svc.<namespace>.svc.kyverno-tls-ca and -pair here (--tls-cert and --tls-key are the mounted pair)' },
  disableCertManagerController: { type: 'bool', why: "the renewer only renews the Secrets carrying Kyverno's label, never cert-manager's" },
  reportsServiceAccountName: { type: 'string', why: 'this process writes the reports, as its own service account' },
  cleanupServerHost: { type: 'string', why: ONE_SERVER },
  cleanupServerPort: { type: 'int', why: ONE_SERVER },
  servicePort: {
    type: 'int',
    refuse: (v) => (goInt(v) !== 443 ? 'the webhook configurations call the kyverno-svc Service on port 443 here' : undefined),
    why: 'the webhook configurations call the Service on 443, as given',
  },
  serverIP: { type: 'string', refuse: unlessEmpty('the webhook configurations call the in-cluster Service here (deploy --local registers a URL)'), why: 'the webhook configurations call the in-cluster Service' },
  autoUpdateWebhooks: { type: 'bool', refuse: onlyIf('false', 'the webhook configurations always follow the policies here'), why: 'the webhook configurations always follow the policies' },
  autoDeleteWebhooks: { type: 'bool', refuse: onlyIf('true', 'webhook configurations are removed by undeploy here, not by finalizers'), why: 'undeploy removes the webhook configurations' },
  // What is evaluated and reported.
  enableDeferredLoading: { type: 'toggle', refuse: onlyIf('false', 'context entries are always loaded when first used here'), why: 'context entries are loaded when first used, as given' },
  protectManagedResources: { type: 'toggle', refuse: onlyIf('true', "resources Kyverno manages are not protected from changes here"), why: 'managed resources are not protected, as given' },
  httpAllowlist: { type: 'string', refuse: unlessEmpty('no CEL http allowlist here (--httpBlocklist is)'), why: 'no allowlist, as given' },
  admissionReports: { type: 'bool', refuse: onlyIf('false', 'admission results always go into the policy reports here'), why: 'admission results go into the policy reports, as given' },
  aggregateReports: { type: 'bool', refuse: onlyIf('false', 'results are always aggregated into policy reports here'), why: 'results are aggregated into policy reports, as given' },
  policyReports: { type: 'bool', refuse: onlyIf('false', 'policy reports are always written in-cluster here'), why: 'policy reports are written, as given' },
  backgroundScan: { type: 'bool', refuse: onlyIf('false', 'in-cluster, the leader always scans existing resources here'), why: 'the leader scans existing resources, as given' },
  skipResourceFilters: { type: 'bool', refuse: onlyIf('false', 'the background scan never applies the resource filters here'), why: 'the background scan skips the resource filters, as given' },
  enableReporting: {
    type: 'string',
    refuse: (v) => {
      const given = new Set(v.split(',').map((s) => s.trim()).filter(Boolean));
      return REPORTED_RULE_TYPES.every((t) => given.has(t)) ? undefined : `the reports carry the results of every rule type here (${REPORTED_RULE_TYPES.join(',')})`;
    },
    why: 'every rule type is reported, as given',
  },
  // Registries and sigstore.
  allowInsecureRegistry: { type: 'bool', refuse: onlyIf('true', 'plain HTTP is used only for loopback and private-network registries here'), why: 'registries are reached over HTTPS, as given' },
  imagePullSecrets: { type: 'string', refuse: unlessEmpty("registry credentials come from the Pod's imagePullSecrets and this process's Docker config here, not from named Secrets"), why: 'no named Secrets' },
  enableTuf: { type: 'bool', refuse: onlyIf('true', 'no private sigstore TUF roots here'), why: 'the public sigstore roots, as given' },
  tufMirror: { type: 'string', refuse: unlessEmpty('no private sigstore TUF roots here'), why: 'the public sigstore roots' },
  tufRoot: { type: 'string', refuse: unlessEmpty('no private sigstore TUF roots here'), why: 'the public sigstore roots' },
  tufRootRaw: { type: 'string', refuse: unlessEmpty('no private sigstore TUF roots here'), why: 'the public sigstore roots' },
};

const entries = Object.entries(KYVERNO_FLAGS);
const isBoolean = (type: GoType) => type === 'bool' || type === 'toggle';
const aliasEntries = entries.filter(([, f]) => f.ours !== undefined);
const ownEntries = entries.filter(([, f]) => f.ours === undefined);

/** What serve's FlagSpec adds for the table: the aliases, and the other flags under Kyverno's names. */
export const KYVERNO_FLAG_SPEC: Required<Pick<FlagSpec, 'longAliases' | 'booleans' | 'scalars' | 'toggles'>> = {
  longAliases: Object.fromEntries(aliasEntries.filter(([name, f]) => name !== f.ours).map(([name, f]) => [name, f.ours!])),
  booleans: ownEntries.filter(([, f]) => isBoolean(f.type)).map(([name]) => name),
  scalars: ownEntries.filter(([, f]) => !isBoolean(f.type)).map(([name]) => name),
  toggles: entries.filter(([, f]) => f.type === 'toggle').map(([name]) => name),
};

/** A Go value check, worded as Go's flag package words a bad value. */
function checkGoValue(name: string, type: GoType, value: string): void {
  const ok = type === 'int' ? /^[+-]?(\d[\d_]*|0[xX][\da-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+)$/.test(value)
    : type === 'float' ? value.trim() !== '' && Number.isFinite(Number(value))
    : type === 'duration' ? parseDuration(value) !== null
    : true;
  if (!ok) throw new UsageError(`invalid value "${value}" for flag -${name}: parse error`);
}

export interface IgnoredFlag {
  flag: string;
  value: string;
  why: string;
}

/**
 * The Kyverno-only flags given, checked: a refused value is a usage error, the others are
 * returned with why they have no effect here (for the startup log line).
 */
export function kyvernoFlagsWithoutEffect(parsed: ParsedArgs): IgnoredFlag[] {
  const out: IgnoredFlag[] = [];
  for (const [name, f] of ownEntries) {
    const values = isBoolean(f.type)
      ? parsed.booleans.has(name) ? ['true'] : parsed.negated.has(name) ? ['false'] : []
      : parsed.values.get(name) ?? [];
    if (values.length === 0) continue;
    for (const v of values) checkGoValue(name, f.type, v);
    // As Go's flag package: the last value given is the one.
    const value = values[values.length - 1];
    const refused = f.refuse?.(value);
    if (refused !== undefined) throw new UsageError(`--${name}=${value} is not supported: ${refused}`);
    out.push({ flag: name, value, why: f.why ?? '' });
  }
  return out;
}

/** The startup log line for the flags of `kyvernoFlagsWithoutEffect`. */
export function ignoredFlagsLine(ignored: IgnoredFlag[]): string | undefined {
  if (ignored.length === 0) return undefined;
  return `Kyverno flags accepted with no effect here: ${ignored.map((i) => `--${i.flag}=${i.value} (${i.why})`).join('; ')}`;
}

/** For serve's --help: Kyverno's spelling of each of serve's flags, and the flags accepted without effect. */
export function kyvernoFlagsHelp(): { aliases: string[]; others: string[] } {
  return {
    aliases: aliasEntries.map(([name, f]) => (name === f.ours ? `--${name}` : `--${name} (--${f.ours})`)),
    others: ownEntries.map(([name]) => `--${name}`),
  };
}
