/**
 * The admission webhook over HTTPS: /validate and /mutate take AdmissionReview v1; /healthz,
 * /readyz and /metrics serve the cluster's probes and Prometheus. This process (the primary)
 * only accepts TCP connections and hands them to server processes, which terminate TLS and
 * evaluate reviews (webhook/server-process.ts); it also holds the policies, the watchdog,
 * the summed metrics and the report sink.
 */
import type { AccessAnswers } from './access-review';
import { createServer as createNetServer, type Server } from 'node:net';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { ClusterState, JsonObject } from '../engine/core/types';
import { ServerProcesses } from './processes';
import { WebhookMetrics } from './metrics';
import type { NamespaceState } from './namespaces';
import type { LiveContextState } from './live-context';
import type { GeneratedItem, LiveSettings, ReportableWithResource, ReviewReply, ReviewRequest } from './protocol';
import type { EventInfo } from './event-info';
import type { UserExclusionSettings } from './user-filters';
import type { ApiCallSettings } from './service-calls';

export interface WebhookServerOptions {
  port: number;
  host?: string;
  tlsCertFile: string;
  tlsKeyFile: string;
  /** The bundle that runs a server process when forked (dist/webhook.js). */
  workerScript: string;
  /** Server processes (each terminates TLS and evaluates; default 2). */
  workers?: number;
  /** Deadline per review. */
  timeoutMs?: number;
  maxBodyBytes?: number;
  /** Connection bounds per server process (defaults in server-process.ts). */
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  idleTimeoutMs?: number;
  maxConnectionsPerProcess?: number;
  /** Called with the validation results of every admitted (non dry-run) request, for policy reports. */
  onReportable?: (items: ReportableWithResource[]) => void;
  /** Called with the Kubernetes events of answered reviews; without it none are built. */
  onEvents?: (items: EventInfo[]) => void;
  /** Also build PolicyApplied events (Kyverno's generateSuccessEvents). */
  successEvents?: boolean;
  /** Kyverno's resource filters (ConfigMap syntax); none when absent. */
  resourceFilters?: string;
  /** Kyverno's user exclusions (excludeUsernames…); none when absent. */
  userExclusions?: UserExclusionSettings;
  /** The background controller's own user: its writes skip rules with skipBackgroundRequests. */
  backgroundUser?: string;
  /** /metrics only on a metrics port of its own (see metrics-listener.ts), not on this one. */
  metricsElsewhere?: boolean;
  /** Kyverno's --httpBlocklist: CIDR ranges and host names CEL http.Get/Post may not call (Kyverno's default when absent). */
  httpBlocklist?: string[];
  /** Kyverno's --allowHTTPInNamespacedPolicies: Namespaced* policies may call CEL http.* (refused by default). */
  allowHttpInNamespacedPolicies?: boolean;
  /** Kyverno's --webhookTimeout: the review deadlines follow the webhook configurations' timeouts (default 10 s). */
  webhookTimeoutSeconds?: number;
  /** Kyverno's --maxAPICallResponseLength and --apiCallTimeout for service calls (Kyverno's defaults when absent). */
  apiCalls?: ApiCallSettings;
  /** The webhook's namespace (cluster mode), where /verifymutate's `kyverno-health` Lease lives. */
  namespace?: string;
  /** Called with the downstream work of generate rules for admitted requests; without it, generate rules are not run. */
  onGenerated?: (items: GeneratedItem[]) => void;
  /**
   * /policyvalidate's permission questions asked of the API server (cluster mode), when
   * `checksAccess` (else only discovery's answers for its kinds); without it, no check.
   */
  accessAnswers?: (policy: JsonObject, checksAccess: boolean, warnsOfGrants: boolean) => Promise<AccessAnswers>;
  /** apiCall POSTs to the API server (cluster mode); without it they are refused. */
  apiPost?: (path: string, body: JsonObject) => Promise<unknown>;
  /** Where this process records its own metrics (policy changes, rule info, the background controller's results); one is made when absent. */
  metrics?: WebhookMetrics;
  log?: (line: string) => void;
}

export interface WebhookServer {
  setPolicies(policies: JsonObject[], cluster: ClusterState): void;
  /** The cluster's Namespaces (labels and objects), merged into the policies' cluster state. */
  setNamespaces(namespaces: NamespaceState): void;
  /** What the policies read from the cluster (ConfigMaps, apiCall resources, global context), merged likewise. */
  setContext(context: LiveContextState): void;
  /** Kyverno's ConfigMap changed (kyverno-config.ts): resource filters, user exclusions, success events. */
  setLiveSettings(live: LiveSettings): void;
  /** Evaluates a review without HTTP (background scans); `only` limits the policies. */
  evaluate(path: 'validate' | 'mutate', body: string, only?: string[], extra?: Pick<ReviewRequest, 'events' | 'successEvents' | 'scan'>): Promise<ReviewReply>;
  /** Prometheus text summed over the server processes (what /metrics answers). */
  metricsText(): Promise<string>;
  /** Adds metric families rendered in this process (the cleanup controller's) to /metrics. */
  addMetricsSource(source: () => string): void;
  /** This process's own recordings, summed with the server processes' in /metrics. */
  readonly metrics: WebhookMetrics;
  close(): Promise<void>;
  address(): { port: number };
}

const DEFAULT_MAX_BODY = 3 * 1024 * 1024;

/** Fails here, with the file names, rather than in every server process after start. */
function checkTls(certFile: string, keyFile: string): void {
  try {
    createSecureContext({ cert: readFileSync(certFile), key: readFileSync(keyFile) });
  } catch (e) {
    throw new Error(`cannot use the TLS certificate ${certFile} and key ${keyFile}: ${(e as Error).message}`);
  }
}

export async function startWebhookServer(opts: WebhookServerOptions): Promise<WebhookServer> {
  checkTls(opts.tlsCertFile, opts.tlsKeyFile);
  const timeoutMs = opts.timeoutMs ?? 8000;
  const metrics = opts.metrics ?? new WebhookMetrics();
  const processes = new ServerProcesses({
    metrics,
    script: opts.workerScript,
    count: opts.workers ?? 2,
    log: opts.log ?? (() => {}),
    onReportable: opts.onReportable,
    onEvents: opts.onEvents,
    onGenerated: opts.onGenerated,
    accessAnswers: opts.accessAnswers,
    apiPost: opts.apiPost,
    settings: {
      tlsCertFile: opts.tlsCertFile,
      tlsKeyFile: opts.tlsKeyFile,
      timeoutMs,
      maxBodyBytes: opts.maxBodyBytes ?? DEFAULT_MAX_BODY,
      headersTimeoutMs: opts.headersTimeoutMs,
      requestTimeoutMs: opts.requestTimeoutMs,
      idleTimeoutMs: opts.idleTimeoutMs,
      maxConnections: opts.maxConnectionsPerProcess,
      reports: opts.onReportable !== undefined,
      events: opts.onEvents !== undefined,
      successEvents: opts.successEvents === true,
      resourceFilters: opts.resourceFilters,
      userExclusions: opts.userExclusions,
      backgroundUser: opts.backgroundUser,
      metricsElsewhere: opts.metricsElsewhere,
      httpBlocklist: opts.httpBlocklist,
      allowHttpInNamespacedPolicies: opts.allowHttpInNamespacedPolicies,
      webhookTimeoutSeconds: opts.webhookTimeoutSeconds,
      apiCalls: opts.apiCalls,
      namespace: opts.namespace,
      generate: opts.onGenerated !== undefined,
      // Several beats per deadline, so a stuck process is found soon after its deadline.
      heartbeatMs: Math.max(20, Math.min(1000, Math.floor(timeoutMs / 4))),
    },
  });
  // The primary never reads from a connection: it only passes it on. TCP_NODELAY is set here,
  // on the descriptor the server processes inherit: an HTTPS server sets it on the sockets it
  // accepts itself, a plain net server does not, and with Nagle's algorithm a reply written
  // in two TLS records waits for the client's delayed ACK (tens of milliseconds).
  const server: Server = createNetServer({ pauseOnConnect: true, noDelay: true }, (socket) => processes.dispatch(socket));
  return new Promise((resolve, reject) => {
    server.once('error', (e) => {
      void processes.close();
      reject(e);
    });
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => {
      server.removeAllListeners('error');
      server.on('error', (e) => opts.log?.(`listener error: ${e.message}`));
      resolve({
        setPolicies: (policies, cluster) => processes.setPolicies(policies, cluster),
        setNamespaces: (namespaces) => processes.setNamespaces(namespaces),
        setContext: (context) => processes.setContext(context),
        setLiveSettings: (live) => processes.setLiveSettings(live),
        evaluate: (path, body, only, extra) => processes.review({ path, body, only, ...extra }),
        metricsText: () => processes.metricsText(),
        addMetricsSource: (source) => void processes.metricsSources.push(source),
        metrics,
        async close() {
          // Refuse new connections now, and make the server processes close their idle
          // keep-alive connections and finish what is in flight at the same time: waiting
          // for the listener first would leave the API server's pooled connections answered
          // by the old policy set until they idle out.
          const listening = new Promise<void>((r) => server.close(() => r()));
          await processes.close();
          await listening;
        },
        address() {
          const a = server.address();
          return { port: typeof a === 'object' && a ? a.port : opts.port };
        },
      });
    });
  });
}
