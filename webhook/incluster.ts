/**
 * In-cluster mode: the policies come from the API server, not from files. Every policy kind
 * is watched; each change feeds the server processes (setPolicies) on every replica, since
 * every replica answers admission reviews. The work Kyverno gives to one leader per controller
 * runs here only while this replica holds that controller's Lease (webhook/leader.ts):
 * - `kyverno` (admission controller): the webhook controller keeping the configurations' rules,
 *   the policies' status (Ready condition, autogen rules, rule counts), and the Kubernetes
 *   admission policies generated from policies (admission-policy-generator.ts); a policy
 *   handed to the API server that way is no longer served, scanned or put in the webhooks;
 * - `kyverno-reports-controller`: background scans and report maintenance (prune, sweep);
 * - `kyverno-background-controller`: generate and mutate-existing work, persisted as
 *   UpdateRequests by whichever replica admitted the trigger (webhook/background.ts);
 * - `kyverno-cleanup-controller`: cleanup and deleting policies on their schedules and the
 *   `cleanup.kyverno.io/ttl` label (cleanup.ts); every replica watches those policies, so a new
 *   leader starts from the cluster's state.
 * Results of the admissions a replica answered are written by that replica (each review is
 * answered once), merged into the per-resource report with optimistic concurrency.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import type { ClusterState, JsonObject } from '../engine/core/types';
import { KubeClient } from '../kube-api/client';
import { WebhookController } from './controller';
import { withFailurePolicyIgnore } from './rules';
import { ReportWriter } from './reports';
import { BackgroundScanner, DEFAULT_ADMISSION_POLICY_REPORTS, type AdmissionPolicyReports } from './scan';
import { isAdmissionPolicy, reportable, REPORTS_DISABLED_LABEL } from './report-layout';
import { asObject } from '../engine/core/json';
import type { WebhookServer } from './server';
import { watchKinds, type WatchedKind } from '../kube-api/watch';
import { LEASE_NAMES, LeaderElector } from './leader';
import { renewPeriodically } from './cert-renewer';
import type { EventWriter } from './events';
import { PolicyStatusWriter } from './policy-status';
import { registrySecretRefs } from '../registry/prefetch';
import { CLEANUP_KINDS, CleanupController } from './cleanup';
import { parseResourceFilters, type ResourceFilter } from './resource-filters';
import type { KyvernoConfigWatcher } from './kyverno-config';
import { exceptionsInScope, type ExceptionScope } from './exception-scope';
import type { BackgroundController } from './background';
import { namespaceStateOf, type NamespaceState } from './namespaces';
import { apiServerReads, LiveContext, type LiveContextState } from './live-context';
import { GlobalContextStatusWriter } from './global-context-status';
import type { KeyAlgorithm } from '../tls/certificates';
import { AdmissionPolicyGenerator, DEFAULT_ADMISSION_POLICY_GENERATION, GENERATED_KINDS, GENERATED_SELECTOR, type AdmissionPolicyGeneration } from './admission-policy-generator';
import { discoveredKinds } from '../kube-api/discovery';
import { generatedForApiServer } from '../engine/cel/admission-policy-generation';
import { PolicyGrantCheck } from './policy-grant-check';

export const POLICY_KINDS: WatchedKind[] = [
  { apiVersion: 'kyverno.io/v1', kind: 'ClusterPolicy' },
  { apiVersion: 'kyverno.io/v1', kind: 'Policy' },
  { apiVersion: 'policies.kyverno.io/v1', kind: 'ValidatingPolicy', fallbacks: ['policies.kyverno.io/v1beta1', 'policies.kyverno.io/v1alpha1'] },
  { apiVersion: 'policies.kyverno.io/v1', kind: 'NamespacedValidatingPolicy', fallbacks: ['policies.kyverno.io/v1beta1', 'policies.kyverno.io/v1alpha1'] },
  { apiVersion: 'policies.kyverno.io/v1', kind: 'MutatingPolicy', fallbacks: ['policies.kyverno.io/v1beta1', 'policies.kyverno.io/v1alpha1'] },
  { apiVersion: 'policies.kyverno.io/v1', kind: 'NamespacedMutatingPolicy', fallbacks: ['policies.kyverno.io/v1beta1', 'policies.kyverno.io/v1alpha1'] },
  { apiVersion: 'policies.kyverno.io/v1', kind: 'ImageValidatingPolicy', fallbacks: ['policies.kyverno.io/v1beta1', 'policies.kyverno.io/v1alpha1'] },
  { apiVersion: 'policies.kyverno.io/v1', kind: 'NamespacedImageValidatingPolicy', fallbacks: ['policies.kyverno.io/v1beta1', 'policies.kyverno.io/v1alpha1'] },
];
/** How long a policy change waits for the cluster data its policies read before it is served anyway. */
const CONTEXT_SYNC_TIMEOUT_MS = 10_000;
const NAMESPACE_KIND: WatchedKind = { apiVersion: 'v1', kind: 'Namespace' };
/** Kubernetes' admission policies and their bindings, which the reports leader scans (Kyverno's reports controller informers). */
function admissionPolicyKinds(reports: AdmissionPolicyReports): WatchedKind[] {
  const map = { apiVersion: 'admissionregistration.k8s.io/v1', fallbacks: ['admissionregistration.k8s.io/v1beta1', 'admissionregistration.k8s.io/v1alpha1'] };
  return [
    ...(reports.validating ? [{ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy' }, { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding' }] : []),
    ...(reports.mutating ? [{ ...map, kind: 'MutatingAdmissionPolicy' }, { ...map, kind: 'MutatingAdmissionPolicyBinding' }] : []),
  ];
}
export const EXCEPTION_KINDS: WatchedKind[] = [
  { apiVersion: 'kyverno.io/v2', kind: 'PolicyException', fallbacks: ['kyverno.io/v2beta1'] },
  { apiVersion: 'policies.kyverno.io/v1', kind: 'PolicyException', fallbacks: ['policies.kyverno.io/v1beta1', 'policies.kyverno.io/v1alpha1'] },
];

export interface InClusterOptions {
  server: WebhookServer;
  namespace: string;
  caFile: string;
  log: (line: string) => void;
  signal: AbortSignal;
  /** Tests pass a client for a kubeconfig; in a pod it comes from the service account. */
  client?: KubeClient;
  reportIntervalMs?: number;
  /** This replica's name in the Leases (default: $KYVERNO_POD_NAME, else host name and a random suffix). */
  identity?: string;
  /** Kyverno's `--leaderElectionRetryPeriod` (default 2 s; lease 6×, renew deadline 5×). */
  retryPeriodMs?: number;
  /** A Lease was lost: its elector stops campaigning and this is told (leader.ts onLost); unset, it campaigns again. */
  onLeaseLost?: (lease: string) => void;
  /** Kyverno's `--backgroundScanInterval` (default 1 h). */
  backgroundScanIntervalMs?: number;
  /** Where events of background scans go (admission events come from the server). */
  events?: EventWriter;
  successEvents?: boolean;
  /** Kyverno's resource filters (parsed): cleanup never deletes what they name. */
  resourceFilters?: ResourceFilter[];
  /** Kyverno's `--ttlReconciliationInterval` (default 1 min). */
  ttlIntervalMs?: number;
  /** Generate and mutate-existing work (the background Lease's leader processes it). */
  background?: BackgroundController;
  /** Local mode: the URL the webhook configurations call (the controller keeps it). */
  localUrl?: string;
  /** The CA to publish; read from caFile when absent. */
  caPem?: string;
  /** Kyverno's excludeRoles/excludeClusterRoles are set: the user's roles are needed for every request. */
  rolesAlways?: boolean;
  /**
   * Kyverno's ConfigMap (kyverno-config.ts), when watched: its successEvents, resource filters
   * and role exclusions replace `successEvents`, `resourceFilters` and `rolesAlways` as it
   * changes, and its webhook keys shape the webhook configurations.
   */
  config?: KyvernoConfigWatcher;
  /** Kyverno's --openreportsEnabled: reports are openreports.io Reports and ClusterReports. */
  openreports?: boolean;
  /** Kyverno's --allowedResults: the result statuses reported (default all). */
  allowedResults?: string[];
  /** Kyverno's --enablePolicyException and --exceptionNamespace (default: every exception applies). */
  exceptionScope?: ExceptionScope;
  /** Kyverno's --forceFailurePolicyIgnore: every watched policy is served as failurePolicy Ignore. */
  forceFailurePolicyIgnore?: boolean;
  /** How often the admission leader checks the serving certificates for renewal (default 12 h). */
  certRenewalIntervalMs?: number;
  /** Kyverno's --tlsKeyAlgorithm for renewed certificates (default RSA). */
  tlsKeyAlgorithm?: KeyAlgorithm;
  /** Kyverno's --renewBefore: how long before expiry the certificates are renewed (default 15 days). */
  renewBeforeMs?: number;
  /** Kyverno's --excludeBootstrapResources: the Fail resource webhooks skip Nodes and CSRs. */
  excludeBootstrapResources?: boolean;
  /** Kyverno's --webhookTimeout: the webhook configurations' timeoutSeconds before policies raise it (default 10). */
  webhookTimeoutSeconds?: number;
  /** Kyverno's `--validatingAdmissionPolicyReports` / `--mutatingAdmissionPolicyReports` (defaults: on / off). */
  admissionPolicyReports?: AdmissionPolicyReports;
  /** Kyverno's `generateValidatingAdmissionPolicy` / `generateMutatingAdmissionPolicy` features (defaults: on / off). */
  admissionPolicyGeneration?: AdmissionPolicyGeneration;
}

export interface InClusterRun {
  reports: ReportWriter;
  cleanup: CleanupController;
  electors: LeaderElector[];
  /** Releases every Lease this replica holds (hand-over on shutdown) and stops the leader work. */
  release(): Promise<void>;
  /** The policies and PolicyExceptions served now (from the last watch event). */
  current(): { policies: JsonObject[]; exceptions: JsonObject[]; namespaceLabels: ClusterState['namespaceLabels']; live: LiveContextState | null };
}

function ready(o: JsonObject): boolean {
  // A policy the engine should not serve yet: Kyverno marks bad ones not ready in status;
  // we accept everything the API server accepted (the CRD schema validated it).
  return !!o.spec;
}

export function inClusterClient(): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromCluster();
  return new KubeClient(kc);
}

/**
 * Kyverno names a replica by its pod ($KYVERNO_POD_NAME); outside a pod two processes on one
 * host must still differ, hence client-go's usual host name plus a unique suffix.
 */
export function replicaIdentity(): string {
  return process.env.KYVERNO_POD_NAME || `${hostname()}_${randomUUID()}`;
}

/**
 * The CA to publish in webhook configurations that have no webhook yet. Without one the
 * controller keeps the caBundle deploy wrote (it copies each configuration's clientConfig),
 * so a missing file is said once, not fatal.
 */
function readCa(file: string, log: (line: string) => void): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    log(`no CA bundle at ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); the webhook configurations keep the caBundle deploy wrote (pass --ca-file to publish another)`);
    return undefined;
  }
}

/** Starts everything and returns at once; the work runs until `signal` aborts. */
/** GETs each named secret; one that is missing or forbidden is left out (its images get no credentials) and logged. */
async function readRegistrySecrets(client: KubeClient, refs: Array<{ namespace: string; name: string }>, log: (line: string) => void): Promise<JsonObject[]> {
  const read = await Promise.all(refs.map(async ({ namespace, name }) => {
    try {
      const secret = await client.get({ apiVersion: 'v1', kind: 'Secret', namespace, name });
      if (!secret) log(`registry credentials: secret ${namespace}/${name} not found`);
      return secret;
    } catch (e) {
      log(`registry credentials: cannot read secret ${namespace}/${name}: ${(e as Error).message}`);
      return undefined;
    }
  }));
  return read.filter((s): s is JsonObject => !!s);
}

export async function runInCluster(opts: InClusterOptions): Promise<InClusterRun> {
  const client = opts.client ?? inClusterClient();
  const identity = opts.identity ?? replicaIdentity();
  const reports = new ReportWriter(client, opts.log, opts.reportIntervalMs, { ...(opts.allowedResults ? { allowedResults: opts.allowedResults } : {}), openreports: opts.openreports === true });
  const controller = new WebhookController({
    client, namespace: opts.namespace, caPem: opts.caPem ?? readCa(opts.caFile, opts.log), log: opts.log, localUrl: opts.localUrl,
    // The ConfigMap's webhook keys as they are at each sync (a change serves the policies again, which syncs).
    settings: opts.config && (() => opts.config!.current().webhooks),
    excludeBootstrapResources: opts.excludeBootstrapResources,
    webhookTimeoutSeconds: opts.webhookTimeoutSeconds,
  });
  const scan = async (path: 'validate' | 'mutate', body: string, only: string[]) => {
    const successEvents = opts.config ? opts.config.current().successEvents : opts.successEvents;
    const reply = await opts.server.evaluate(path, body, only, { scan: true, ...(opts.events ? { events: 'scan' as const, successEvents } : {}) });
    if (reply.events) opts.events?.add(reply.events);
    return reply;
  };
  const admissionPolicyReports = opts.admissionPolicyReports ?? DEFAULT_ADMISSION_POLICY_REPORTS;
  const scanner = new BackgroundScanner(client, scan, (items, rescan) => reports.add(items, rescan), opts.log, undefined, admissionPolicyReports);
  scanner.follow();
  let policies: JsonObject[] | undefined;
  let exceptions: JsonObject[] = [];
  // The live context data last handed to the server processes: the background controllers read it too.
  let live: LiveContextState | null = null;
  // What is served now: one accessor for the background, generate and cleanup controllers.
  const current = () => ({ policies: policies ?? [], exceptions, namespaceLabels: namespaces?.labels ?? {}, live });

  const elector = (name: string, onStartedLeading: (signal: AbortSignal) => void) =>
    new LeaderElector({ client, name, namespace: opts.namespace, identity, retryPeriodMs: opts.retryPeriodMs, log: opts.log, onStartedLeading, ...(opts.onLeaseLost ? { onLost: () => opts.onLeaseLost!(name) } : {}) });
  const statuses = new PolicyStatusWriter(client, opts.log);
  const generator = new AdmissionPolicyGenerator({
    client,
    log: opts.log,
    features: opts.admissionPolicyGeneration ?? DEFAULT_ADMISSION_POLICY_GENERATION,
    kinds: () => discoveredKinds(client).current(),
    events: opts.events,
    exceptionScope: opts.exceptionScope,
  });
  // The objects the generator wrote, watched on every replica (as Kyverno's shared informers):
  // an edit or deletion queues their policy, which the admission leader puts back.
  const generatedListed = new Promise<void>((resolve) => {
    void watchKinds(client, GENERATED_KINDS, () => resolve(), opts.log, opts.signal, 0, (_key, next, previous) => generator.observe((next ?? previous)!, next === undefined), GENERATED_SELECTOR);
  });
  // A GlobalContextEntry's apiCall refreshes are recorded in its status by the admission leader
  // (Kyverno's admission controller writes status.lastRefreshTime; one writer here).
  const gceStatus = new GlobalContextStatusWriter(client, opts.log);
  // What a policy applied after the last deploy needs and this service account lacks, said once
  // per policy generation by the admission leader (local mode runs with the developer's credentials).
  const grantCheck = opts.localUrl ? undefined : new PolicyGrantCheck({
    kinds: () => discoveredKinds(client).current(),
    post: (path, body) => client.request({ method: 'POST', path, body }) as Promise<JsonObject>,
    log: opts.log,
    events: opts.events,
  });
  const admission = elector(LEASE_NAMES.admission, (signal) => {
    // Local mode keeps its certificates on the developer's machine: the in-cluster Secret (a
    // cluster-mode deploy's, if any) is not this server's to rotate.
    if (!opts.localUrl) renewPeriodically(client, opts.namespace, opts.log, signal, opts.certRenewalIntervalMs, (work) =>
      controller.serialized(async () => {
        const outcome = await work();
        if (outcome === 'rotated') controller.forgetClientConfigs();
        return outcome;
      }), opts.tlsKeyAlgorithm, opts.renewBeforeMs);
    void gceStatus.flush();
    generator.lead(signal, generatedListed);
    grantCheck?.forget();
    void grantCheck?.check(cleanupPolicies, 'cleanup');
    if (!policies) return;
    void controller.sync(policies.filter((p) => !generatedForApiServer(p)));
    void statuses.sync(policies);
    void grantCheck?.check(policies);
  });
  const reporting = elector(LEASE_NAMES.reports, (signal) => {
    void reports.start(signal);
    void scanner.lead(signal, opts.backgroundScanIntervalMs);
  });
  const background = elector(LEASE_NAMES.background, (signal) => opts.background?.lead(signal));
  const cleanup = new CleanupController({ client, log: opts.log, events: opts.events, resourceFilters: opts.config ? parseResourceFilters(opts.config.current().resourceFilters) : opts.resourceFilters, ttlIntervalMs: opts.ttlIntervalMs, current });
  opts.server.addMetricsSource(() => cleanup.metricsText());
  // kyverno_policy_rule_info_total: the ClusterPolicies and Policies in the cluster at each scrape.
  opts.server.metrics.observeRuleInfo(() => policies ?? []);
  // Each request's roles are needed while excludeRoles/excludeClusterRoles are set (flags, or Kyverno's ConfigMap).
  const rolesExcluded = () => {
    const u = opts.config?.current().userExclusions;
    return u ? !!(u.excludeRoles || u.excludeClusterRoles) : !!opts.rolesAlways;
  };
  opts.config?.onChange((config) => {
    cleanup.setResourceFilters(parseResourceFilters(config.resourceFilters));
    // Served again: the live context asks rolesExcluded anew.
    serveAll();
  });
  const cleaning = elector(LEASE_NAMES.cleanup, (signal) => cleanup.lead(signal));
  const electors = [admission, reporting, background, cleaning];
  // The cleanup and deleting policies read the cluster too (context entries, CEL resource.* and
  // globalContext): their reads join the admission policies' in the live context below.
  let cleanupPolicies: JsonObject[] = [];
  let servedKyverno: JsonObject[] = [];
  const readForPolicies = () => liveContext.setPolicies([...servedKyverno, ...cleanupPolicies]);
  void watchKinds(client, CLEANUP_KINDS, (store) => {
    cleanupPolicies = [...store.objects.values()] as JsonObject[];
    cleanup.setPolicies(cleanupPolicies);
    if (admission.isLeader()) void grantCheck?.check(cleanupPolicies, 'cleanup');
    readForPolicies();
  }, opts.log, opts.signal);
  // Admission sees the namespaces' labels (namespaceSelector) and objects (CEL namespaceObject),
  // as Kyverno reads them from its Namespace informer.
  let namespaces: NamespaceState | null = null;
  void watchKinds(client, [NAMESPACE_KIND], (store) => {
    namespaces = namespaceStateOf(store.objects.values());
    opts.server.setNamespaces(namespaces);
  }, opts.log, opts.signal);

  // What the policies read while evaluated (ConfigMaps, apiCall resources, global context
  // entries, CEL resource.*), watched and handed to the server processes as Kyverno reads it live.
  const liveContext = new LiveContext({ source: apiServerReads(client, opts.log), onChange: (state) => {
    live = state;
    opts.server.setContext(state);
  }, log: opts.log, rolesAlways: () => rolesExcluded(), onRefreshed: (entry, at) => void gceStatus.refreshed(entry, at, admission.isLeader()) });
  opts.signal.addEventListener('abort', () => liveContext.close(), { once: true });

  // The admission policies labelled for reports and the bindings not excluded from them (Kyverno's
  // FetchValidatingAdmissionPolicies / …Bindings): served to the server processes for scans only
  // (admission never evaluates them), their bindings in the cluster the engine reads.
  let admissionPolicies: JsonObject[] = [];
  let bindings: JsonObject[] = [];
  let serveAll: () => void = () => undefined;
  const admissionKinds = admissionPolicyKinds(admissionPolicyReports);
  if (admissionKinds.length) {
    void watchKinds(client, admissionKinds, (store) => {
      const all = [...store.objects.values()] as JsonObject[];
      admissionPolicies = all.filter((o) => isAdmissionPolicy(o) && reportable(o));
      bindings = all.filter((o) => !isAdmissionPolicy(o) && !(REPORTS_DISABLED_LABEL in asObject(asObject(o.metadata).labels)));
      serveAll();
    }, opts.log, opts.signal);
  }

  let policyGeneration = 0;
  const kinds = [...POLICY_KINDS, ...EXCEPTION_KINDS];
  const isException = (o: JsonObject) => o.kind === 'PolicyException';
  const electing = new AbortController();
  opts.signal.addEventListener('abort', () => electing.abort(), { once: true });
  let started = false;
  let runs: Promise<void>[] = [];
  void watchKinds(
    client,
    kinds,
    (store) => {
      const all = [...store.objects.values()] as JsonObject[];
      const storedPolicies = all.filter((o) => !isException(o) && ready(o));
      policies = storedPolicies.map((p) => (opts.forceFailurePolicyIgnore ? (withFailurePolicyIgnore(p) as JsonObject) : p));
      exceptions = exceptionsInScope(all.filter(isException), opts.exceptionScope);
      serveAll = () => serveWith([...(policies ?? []), ...admissionPolicies], bindings);
      serveAll();
      // Campaign once the policies are known, so a new leader starts from the cluster's state.
      if (!started) {
        started = true;
        runs = electors.map((e) => e.run(electing.signal));
      }
    },
    opts.log,
    opts.signal,
    undefined,
    // Each change, as it comes: the admission policy generator reconciles only what it concerns,
    // and kyverno_policy_changes_total counts it as Kyverno's informer handlers do.
    (_key, next, previous) => {
      generator.observe((next ?? previous)!, next === undefined);
      opts.server.metrics.recordPolicyChange(next, previous);
    },
  );
  /** Hands the policies to the server processes and the controllers: Kubernetes' admission policies only to those that scan. */
  function serveWith(all: JsonObject[], bindings: JsonObject[]): void {
    // Policies whose admission the API server now does (a generated ValidatingAdmissionPolicy
    // or MutatingAdmissionPolicy) are neither evaluated nor scanned, as in Kyverno.
    const served = all.filter((p) => !generatedForApiServer(p));
    const kyverno = served.filter((p) => !isAdmissionPolicy(p));
    const cluster: ClusterState = { resources: bindings, namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions };
    const generation = ++policyGeneration;
    // Policies that read the cluster are served once what they read is listed (the policies
    // before them keep answering meanwhile), as Kyverno serves once its caches synced.
    servedKyverno = kyverno;
    readForPolicies();
    const serve = () => {
      if (generation !== policyGeneration) return;
      opts.server.setPolicies(served, cluster);
      // The pull secrets the policies name for registry credentials, read as Kyverno's secret lister would.
      const refs = registrySecretRefs(kyverno, opts.namespace);
      if (refs.length > 0) {
        void readRegistrySecrets(client, refs, opts.log).then((secrets) => {
          if (generation === policyGeneration) opts.server.setPolicies(served, { ...cluster, registrySecrets: { namespace: opts.namespace, secrets } });
        });
      }
      void reports.retainPolicies(served);
      opts.log(`serving ${kyverno.length} policies from the cluster${served.length > kyverno.length ? ` (and scanning ${served.length - kyverno.length} admission policies)` : ''}`);
      if (admission.isLeader()) {
        void controller.sync(kyverno);
        void statuses.sync(policies ?? []);
        void grantCheck?.check(policies ?? []);
      }
      void scanner.onPolicies(served, bindings);
      void opts.background?.onPolicies(kyverno);
    };
    if (liveContext.isSynced()) serve();
    else void liveContext.whenSynced(CONTEXT_SYNC_TIMEOUT_MS).then(serve);
  }
  return {
    reports,
    cleanup,
    electors,
    current,
    async release() {
      electing.abort();
      // A renewal in flight finishes first, so the release is the last write.
      await Promise.all(runs);
      await Promise.all(electors.map((e) => e.release()));
    },
  };
}
