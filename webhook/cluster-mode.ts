/**
 * The webhook bound to a cluster: the HTTPS server plus everything `serve --in-cluster` runs
 * beside it (policies and PolicyExceptions watched from the API server, the webhook
 * controller, policy status, background scans and reports, events, generate and
 * mutate-existing work through the background controller, leader election). One path for
 * both ways of running: in a pod (the service account, the in-cluster Service) and local
 * mode (`deploy --local`: the developer's kubeconfig, the configurations calling a URL on
 * this machine). They differ only in where the server listens, where its certificates live
 * and how the API server reaches it.
 */
import { setMaxListeners } from 'node:events';
import type { KubeClient } from '../kube-api/client';
import { startWebhookServer, type WebhookServer, type WebhookServerOptions } from './server';
import { WebhookMetrics } from './metrics';
import { runInCluster, type InClusterRun } from './incluster';
import { DownstreamGenerator } from './generate';
import { EventWriter } from './events';
import { BackgroundController } from './background';
import type { EventReason } from './event-info';
import type { ReportItem } from './reports';
import { parseResourceFilters } from './resource-filters';
import { readFileSync } from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';
import { serviceAccountOfToken } from './user-filters';
import { collectAccessAnswers, resourceFromTable, type AccessReviewer } from './access-review';
import { findResources, knownKindTable, type KindTable } from '../engine/kube';
import type { AdmissionPolicyReports } from './scan';
import type { AdmissionPolicyGeneration } from './admission-policy-generator';
import { crdSchemasForPolicy, discoveredKinds, withDiscoveredKinds } from '../kube-api/discovery';
import { missingGrantWarnings } from './policy-grant-check';
import { kindLookups } from '../engine/policy/admission-checks';
import type { JsonObject } from '../engine/core/types';
import type { KeyAlgorithm } from '../tls/certificates';
import { apiServerConfigMap, configurationDefaults, KYVERNO_CONFIG_MAP, KyvernoConfigWatcher } from './kyverno-config';
import { configureEngine } from '../engine/core/configuration';
import type { ExceptionScope } from './exception-scope';

/**
 * The service account this process acts as, from its credentials: the token of its kubeconfig
 * user or the pod's token file. Undefined for other credentials (client certificates, static
 * tokens): then only `--background-service-account` names it. `serve --in-cluster` uses it;
 * local mode does not (the developer's own requests come with the same credentials).
 */
export function ownServiceAccount(config: KubeConfig): string | undefined {
  const user = config.getCurrentUser();
  if (!user) return undefined;
  let token = user.token;
  const file = (user.authProvider?.config as { tokenFile?: string } | undefined)?.tokenFile;
  if (!token && file) {
    try {
      token = readFileSync(file, 'utf8').trim();
    } catch {
      return undefined;
    }
  }
  return serviceAccountOfToken(token);
}

/**
 * Who /policyvalidate asks about: the service account the background work runs as
 * (SubjectAccessReview, as Kyverno asks about its background controller's), or, in local mode
 * where the work runs with the developer's credentials, those credentials (SelfSubjectAccessReview).
 */
export function clusterAccessReviewer(client: KubeClient, user: string | undefined, ownUser?: string): AccessReviewer {
  return {
    user,
    // This process admits policies and runs the cleanup controller: its own account answers for both.
    ...(ownUser ? { admissionUser: ownUser, cleanupUser: ownUser } : {}),
    selfName: 'the credentials the webhook runs with',
    post: (path, body) => client.request({ method: 'POST', path, body }),
    resourceOf: async (apiVersion, kind) => {
      const known = resourceFromTable(apiVersion, kind, knownKindTable());
      if (known || !apiVersion) return known;
      // A custom resource: the API server's discovery.
      const info = await client.resourceFor(apiVersion, kind);
      const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
      return info && { group, version, resource: info.plural };
    },
  };
}

/** How long a policy's admission waits for the reviews of its grants (policy-grant-check.ts). */
const GRANT_WARNINGS_WAIT_MS = 3000;

/** `work`'s value, or undefined once `ms` have passed (or it failed). */
function atMost<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  return Promise.race([work.catch(() => undefined), late]).finally(() => clearTimeout(timer));
}

/** How long start-up waits for Kyverno's ConfigMap before going on with the flags. */
const CONFIG_WAIT_MS = 5000;

export interface ClusterModeOptions {
  client: KubeClient;
  /** Listener, TLS files, server processes, deadline, resource filters (the sinks are set here). */
  server: Omit<WebhookServerOptions, 'onReportable' | 'onGenerated' | 'onEvents' | 'log' | 'successEvents'>;
  /** The webhook's namespace: its Leases and UpdateRequests. */
  namespace: string;
  /** The CA published in the webhook configurations: given, or read from caFile. */
  caPem?: string;
  caFile?: string;
  /** Local mode: the URL the webhook configurations call. */
  localUrl?: string;
  log: (line: string) => void;
  reportIntervalMs?: number;
  retryPeriodMs?: number;
  /**
   * A Lease was lost. `serve --in-cluster` (a Deployment's pod, which Kubernetes restarts) exits
   * then, as Kyverno's controllers are restarted; local mode leaves it unset and campaigns again.
   */
  onLeaseLost?: (lease: string) => void;
  backgroundScanIntervalMs?: number;
  successEvents?: boolean;
  /** Kyverno's --validatingAdmissionPolicyReports / --mutatingAdmissionPolicyReports. */
  admissionPolicyReports?: AdmissionPolicyReports;
  /** Kyverno's generateValidatingAdmissionPolicy / generateMutatingAdmissionPolicy features. */
  admissionPolicyGeneration?: AdmissionPolicyGeneration;
  omitEvents?: EventReason[];
  identity?: string;
  /** How often the admission leader checks the serving certificates for renewal. */
  certRenewalIntervalMs?: number;
  /** Kyverno's --tlsKeyAlgorithm for renewed certificates (serve --tls-key-algorithm). */
  tlsKeyAlgorithm?: KeyAlgorithm;
  /** Kyverno's --renewBefore (serve --renew-before). */
  renewBeforeMs?: number;
  /** Kyverno's --excludeBootstrapResources (serve --exclude-bootstrap-resources). */
  excludeBootstrapResources?: boolean;
  /** Kyverno's `--ttlReconciliationInterval` (default 1 min). */
  ttlIntervalMs?: number;
  /** Kyverno's --forceFailurePolicyIgnore (serve --force-failure-policy-ignore). */
  forceFailurePolicyIgnore?: boolean;
  /** The Kyverno-layout ConfigMap watched in `namespace` (default `kyverno`, as Kyverno's). */
  configMap?: string;
  /** Kyverno's --enablePolicyException / --exceptionNamespace. */
  exceptionScope?: ExceptionScope;
  /** Kyverno's --allowedResults. */
  allowedResults?: string[];
  /** Kyverno's --openreportsEnabled. */
  openreports?: boolean;
  /** Test hook: persist background work without processing it ($KYVERNO_STUDIO_HOLD_BACKGROUND=1). */
  holdBackground?: boolean;
}

export interface ClusterModeWebhook {
  server: WebhookServer;
  run: InClusterRun;
  background: BackgroundController;
  /**
   * Hands the Leases over and stops watching, so this process changes nothing in the cluster
   * any more (its webhook controller included) while it still answers reviews.
   */
  release(): Promise<void>;
  /** release(), then stops the work and the server (in that order). */
  stop(): Promise<void>;
}

export async function startClusterMode(opts: ClusterModeOptions): Promise<ClusterModeWebhook> {
  const { client, log } = opts;
  const stopping = new AbortController();
  // One abort listener per open watch (a dozen kinds) and per retry wait: more than Node's
  // default warning threshold of 10 at once, none of them leaked.
  setMaxListeners(64, stopping.signal);
  // The generator tells the background controller what it created (Kyverno's generate events).
  const generator = new DownstreamGenerator({ client, log, onCreated: (policy, rule, created) => background.generated(policy, rule, created) });
  const events = new EventWriter(client, log, { omit: opts.omitEvents ?? [], successEvents: opts.successEvents === true });
  // Kyverno's ConfigMap: the flags are the defaults of the keys it leaves out.
  const config = new KyvernoConfigWatcher(configurationDefaults({
    resourceFilters: opts.server.resourceFilters ?? '',
    userExclusions: opts.server.userExclusions ?? {},
    successEvents: opts.successEvents === true,
    successEventActions: [],
  }, opts.namespace), log);
  let reports: { add(items: ReportItem[]): void } | undefined;
  let run: InClusterRun | undefined;
  // This process's own metrics: the background controller's results and the policy watch's, summed into /metrics.
  const metrics = new WebhookMetrics();
  const background = new BackgroundController({
    metrics,
    client,
    namespace: opts.namespace,
    log,
    generator,
    current: () => run?.current() ?? { policies: [], exceptions: [] },
    hold: opts.holdBackground,
    events,
    reports: { add: (items) => reports?.add(items) },
    reconcileIntervalMs: opts.backgroundScanIntervalMs,
    updateRequestThreshold: () => config.current().updateRequestThreshold,
  });
  const backgroundUser = opts.server.backgroundUser;
  // Kyverno asks a synchronizing generate rule's list/get of the admission controller's own
  // account and a cleanup policy's delete/list of the cleanup controller's: here this process's,
  // which differs from the background one when --background-service-account names another.
  const ownUser = backgroundUser ? ownServiceAccount(client.config) : undefined;
  const reviewPost = (path: string, body: JsonObject) => client.request({ method: 'POST', path, body }) as Promise<JsonObject>;
  // /policyvalidate looks a policy's kinds up in the cluster's discovery, as Kyverno's policy webhook does.
  const discoveryLookups = (policy: JsonObject) =>
    withDiscoveredKinds(
      client,
      (table: KindTable) => kindLookups(policy, (g, v, k, s) => findResources(table, g, v, k, s)),
      (lookups) => lookups.some(([, served]) => served.length === 0),
    );
  if (backgroundUser) log(`background work is written as ${backgroundUser}: its requests do not queue generate or mutate-existing work for rules with skipBackgroundRequests (the default)`);
  const server = await startWebhookServer({
    ...opts.server,
    metrics,
    namespace: opts.namespace,
    backgroundUser,
    log,
    onReportable: (items) => reports?.add(items.map((i) => ({ ...i, time: Date.now() / 1000 }))),
    onGenerated: (items) => background.submit(items),
    onEvents: (items) => events.add(items),
    successEvents: opts.successEvents,
    accessAnswers: async (policy, checksAccess, warnsOfGrants) => {
      // Without a check (a dry run, no questions) no SubjectAccessReview is posted: only discovery is read.
      const [access, kinds, grantWarnings] = await Promise.all([
        checksAccess ? collectAccessAnswers(policy, clusterAccessReviewer(client, backgroundUser, ownUser)) : { user: '', answers: [] },
        discoveryLookups(policy),
        // Local mode runs with the developer's credentials, which no deploy widens: nothing to say there.
        // Bounded well within the review's deadline, so Kyverno's own checks above are never lost
        // to it; a policy whose reviews take longer is still reported by the admission leader.
        warnsOfGrants && !opts.localUrl ? atMost(discoveredKinds(client).current().then((table) => missingGrantWarnings(policy, table, reviewPost)), GRANT_WARNINGS_WAIT_MS) : undefined,
      ]);
      // The CEL type check of a validate.cel rule types custom resources with their CRDs' schemas.
      const crds = await crdSchemasForPolicy(client, policy, kinds);
      return { ...access, kinds, ...(crds.length ? { crds } : {}), ...(grantWarnings?.length ? { grantWarnings } : {}) };
    },
    apiPost: (path, body) => client.request({ method: 'POST', path, body }),
  });
  config.onChange((c) => {
    server.setLiveSettings({ resourceFilters: c.resourceFilters, userExclusions: c.userExclusions, successEvents: c.successEvents, engine: c.engine });
    // This process evaluates too (generate, mutate-existing, cleanup).
    configureEngine(c.engine);
    events.setSuccessEvents(c.successEvents, c.successEventActions);
  });
  const configMap = opts.configMap ?? KYVERNO_CONFIG_MAP;
  config.watch(apiServerConfigMap(client, opts.namespace, configMap, log), stopping.signal);
  // As Kyverno waits for its ConfigMap informer: the controllers start with the configuration
  // read (a ConfigMap that cannot be read, RBAC say, leaves the flags after a short wait).
  const waited = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), CONFIG_WAIT_MS).unref());
  if (!(await Promise.race([config.loaded.then(() => true), waited]))) log(`configuration: ConfigMap ${opts.namespace}/${configMap} not read yet; using the flags until it is`);
  try {
    run = await runInCluster({
      server, namespace: opts.namespace, caFile: opts.caFile ?? '', caPem: opts.caPem, localUrl: opts.localUrl, log, signal: stopping.signal, client,
      reportIntervalMs: opts.reportIntervalMs, retryPeriodMs: opts.retryPeriodMs, onLeaseLost: opts.onLeaseLost, backgroundScanIntervalMs: opts.backgroundScanIntervalMs,
      events, successEvents: opts.successEvents, admissionPolicyReports: opts.admissionPolicyReports, admissionPolicyGeneration: opts.admissionPolicyGeneration, background, identity: opts.identity, certRenewalIntervalMs: opts.certRenewalIntervalMs, tlsKeyAlgorithm: opts.tlsKeyAlgorithm, renewBeforeMs: opts.renewBeforeMs, excludeBootstrapResources: opts.excludeBootstrapResources,
      webhookTimeoutSeconds: opts.server.webhookTimeoutSeconds,
      // Cleanup never deletes what Kyverno's resource filters name.
      resourceFilters: parseResourceFilters(opts.server.resourceFilters ?? ''), ttlIntervalMs: opts.ttlIntervalMs,
      rolesAlways: !!(opts.server.userExclusions?.excludeRoles || opts.server.userExclusions?.excludeClusterRoles),
      forceFailurePolicyIgnore: opts.forceFailurePolicyIgnore, config, exceptionScope: opts.exceptionScope, allowedResults: opts.allowedResults, openreports: opts.openreports,
    });
  } catch (e) {
    stopping.abort();
    await server.close();
    throw e;
  }
  reports = run.reports;
  const started = run;
  let released: Promise<void> | undefined;
  const release = () => {
    // Hand the Leases over first, so another replica takes the leader work within a retry period.
    released ??= started.release().then(() => stopping.abort());
    return released;
  };
  return {
    server,
    run: started,
    background,
    release,
    async stop() {
      await release();
      await background.close();
      await generator.close();
      await events.close();
      await started.reports.close();
      await server.close();
    },
  };
}
