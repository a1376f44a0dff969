/**
 * Messages between the primary process (policies, watchdog, metrics, reports) and the server
 * processes that terminate TLS and evaluate reviews inline. Connections travel as handles
 * attached to a `connection` message.
 */
import type { AdmissionRequest, ClusterState, JsonObject } from '../engine/core/types';
import type { EngineConfiguration } from '../engine/core/configuration';
import type { RuleOutcome, MetricsSnapshot, RequestLabels } from './metrics';
import type { WebhookPath } from './admission';
import type { NamespaceState } from './namespaces';
import type { LiveContextState } from './live-context';
import type { EventInfo } from './event-info';
import type { ResourceFilter } from './resource-filters';
import type { UserExclusionSettings, UserExclusions } from './user-filters';
import type { AccessAnswers } from './access-review';
import type { ApiCallSettings } from './service-calls';

/** Settings a server process needs before it serves. */
export interface ServerProcessSettings {
  tlsCertFile: string;
  tlsKeyFile: string;
  timeoutMs: number;
  /** Bounds on a connection: TLS handshake plus headers, the whole request, and idleness. */
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  idleTimeoutMs?: number;
  /** Open connections one server process accepts; more are closed at once. */
  maxConnections?: number;
  maxBodyBytes: number;
  /** Something records policy reports: send the reportable results up. */
  reports: boolean;
  heartbeatMs: number;
  /** In-cluster: run generate rules for admitted requests and send the downstream work up. */
  generate?: boolean;
  /** In-cluster: send the Kubernetes events of each review up; `successEvents` adds PolicyApplied. */
  events?: boolean;
  successEvents?: boolean;
  /** Kyverno's resource filters (ConfigMap text); requests they match are admitted unevaluated. */
  resourceFilters?: string;
  /** Kyverno's excludeUsernames/excludeGroups/excludeRoles/excludeClusterRoles (ConfigMap text). */
  userExclusions?: UserExclusionSettings;
  /** The background controller's own user (Kyverno's --backgroundServiceAccountName). */
  backgroundUser?: string;
  /** /metrics is served on a metrics port of its own (metrics-listener.ts): not on the admission port. */
  metricsElsewhere?: boolean;
  /** Kyverno's --httpBlocklist for CEL http.Get/Post (its default when absent). */
  httpBlocklist?: string[];
  /** Kyverno's --allowHTTPInNamespacedPolicies. */
  allowHttpInNamespacedPolicies?: boolean;
  /** Kyverno's --webhookTimeout: the default of the timeouts the review deadlines come from (rules.reviewDeadlinesMs). */
  webhookTimeoutSeconds?: number;
  /** Kyverno's --maxAPICallResponseLength and --apiCallTimeout. */
  apiCalls?: ApiCallSettings;
  /** The webhook's namespace (cluster mode): /verifymutate answers for its `kyverno-health` Lease. */
  namespace?: string;
  /** Kyverno's configuration the engine reads (defaultRegistry, maxContextSize...); absent: Kyverno's defaults. */
  engine?: EngineConfiguration;
}

/** The settings Kyverno's ConfigMap changes while the processes run. */
export type LiveSettings = Pick<ServerProcessSettings, 'resourceFilters' | 'userExclusions' | 'successEvents' | 'engine'>;

export interface ReviewRequest {
  path: WebhookPath;
  body: string;
  /** Evaluate only these policies (background scans). */
  only?: string[];
  /** `false`: skip the report items and the subject (nothing records them). */
  reports?: boolean;
  /** Epoch milliseconds after which the review answers 504 instead of evaluating on. */
  deadline?: number;
  /** Hand back the generate work of an admitted request (`generation` in the reply). */
  generate?: boolean;
  /** Kyverno's /validate/fail, /validate/ignore…: only the policies with this failurePolicy. */
  failurePolicy?: 'Fail' | 'Ignore';
  /**
   * A background scan's evaluation (Kyverno's reports controller): on /mutate, a MutatingPolicy
   * whose pass would still change the resource fails, "mutation is not applied".
   */
  scan?: boolean;
  /** Only policies of these kinds (a path serves the classic kinds or one CEL kind, as Kyverno's do). */
  kinds?: string[];
  /** Build the Kubernetes events of this evaluation: as admission does, or as a background scan does. */
  events?: 'admission' | 'scan';
  successEvents?: boolean;
  /** Parsed resource filters (in-process only; a background scan's are applied by the server process, as Kyverno's ScanResource does). */
  filters?: ResourceFilter[];
  /** Parsed user exclusions (in-process only; admission only, as in Kyverno). */
  exclusions?: UserExclusions;
  /** See ServerProcessSettings.backgroundUser. */
  backgroundUser?: string;
}

export type ToServerProcess =
  | { type: 'settings'; settings: ServerProcessSettings }
  | { type: 'policies'; policies: JsonObject[]; cluster: ClusterState; deadlinesMs?: Partial<Record<'validate' | 'mutate', number>> }
  /** The cluster's Namespaces; replaces the previous state, leaves the policies as they are. */
  | { type: 'namespaces'; namespaces: NamespaceState }
  /** What the served policies read from the cluster (webhook/live-context.ts); replaces the previous state. */
  | { type: 'context'; context: LiveContextState }
  /** Kyverno's ConfigMap changed (kyverno-config.ts): these settings replace the ones the process started with. */
  | { type: 'configuration'; configuration: LiveSettings }
  | { type: 'connection'; id: number }
  | { type: 'review'; id: number; review: ReviewRequest }
  | { type: 'metrics-snapshot'; id: number }
  | { type: 'metrics-text'; id: number; text: string }
  /** The API server's answers to a policy's permission questions (null: nobody can ask, no check). */
  | { type: 'access-answers'; id: number; answers: AccessAnswers | null }
  /** The API server's answer to an apiCall POST (or why it refused). */
  | { type: 'api-post-answer'; id: number; answer: { body: unknown } | { error: string } }
  | { type: 'close' };

export type FromServerProcess =
  | { type: 'ready' }
  /** A handed-over connection arrived (until then the primary keeps the right to close it). */
  | { type: 'accepted'; id: number }
  /** Sent every heartbeatMs while the event loop turns; carries the counters so far. */
  | { type: 'heartbeat'; snapshot: MetricsSnapshot }
  | { type: 'answer'; id: number; reply: ReviewReply }
  | { type: 'metrics-snapshot'; id: number; snapshot: MetricsSnapshot }
  /** A /metrics request: the primary answers with the text for all processes. */
  | { type: 'metrics-wanted'; id: number; snapshot: MetricsSnapshot }
  | { type: 'reportable'; items: ReportableWithResource[] }
  | { type: 'events'; items: EventInfo[] }
  /** Downstream objects for the primary to create or delete (generate rules). */
  | { type: 'generated'; items: GeneratedItem[] }
  | { type: 'log'; line: string }
  /** /policyvalidate: the primary asks the API server the policy's permission questions (access-review.ts). */
  | { type: 'access-wanted'; id: number; policy: JsonObject; checksAccess: boolean; warnsOfGrants: boolean }
  /** An apiCall entry's POST to the API server (a SubjectAccessReview...), made by the primary. */
  | { type: 'api-post'; id: number; path: string; body: JsonObject };

export interface Reportable {
  policy: string;
  /** The policy's kind: which Kyverno engine wrote the result (a report result's `source`). */
  policyKind?: string;
  rule: string;
  status: string;
  message: string;
  /** The PolicyExceptions that turned the result into skip (or pass), as the engine names them. */
  exceptions?: string[];
  /** The result's properties (a CEL policy's audit annotations…). */
  properties?: Record<string, string>;
  /** The admission policy binding behind an admission policy's result. */
  binding?: string;
  /** True for results of Enforce rules (their failures were denials, not findings). */
  enforce: boolean;
}

/** A result with its resource, as policy reports need it. */
export type ReportableWithResource = Reportable & { resource: JsonObject };

export interface ReviewReply {
  status: number;
  body: string;
  allowed?: boolean;
  /** The request was a dry run: no policy reports for it. */
  dryRun?: boolean;
  outcomes: RuleOutcome[];
  /** How long each outcome's rule took, in seconds (kyverno_*_execution_duration_seconds). */
  outcomeSeconds?: number[];
  /** Kubernetes events to write (when asked). */
  events?: EventInfo[];
  /** The request's metric labels, when the review was answered (status 200). */
  request?: RequestLabels;
  /** Validation results, for policy reports (the resource is `subject`, sent once). */
  reportable: Reportable[];
  subject?: JsonObject;
  /**
   * Generate rules to run for this admitted request, after the answer is sent. In-process
   * only: set when `generate` was asked, which reviews sent over IPC never do.
   */
  generation?: PendingGeneration;
}

export interface PendingGeneration {
  request: AdmissionRequest;
  /** The candidate policies that have generate rules, in policy order. */
  policies: JsonObject[];
  /** The candidate policies that have mutate-existing rules (mutate.targets). */
  mutateExisting?: JsonObject[];
  /** The request changed or deleted an object a generate rule made (Kyverno's labels on its old object). */
  downstream?: boolean;
}

/** The object whose admission fired a generate rule. */
export interface TriggerRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
}

/**
 * Work for the primary's downstream generator. `create`: objects to create when absent
 * (updated only with synchronize); `delete`: objects a synchronized rule generated for a
 * trigger that was deleted or no longer matches (deleted only if their labels say so);
 * `request`: a request to evaluate again on the primary (BackgroundRequest).
 */
export type GeneratedItem =
  | {
      action: 'create';
      policy: string;
      rule: string;
      synchronize: boolean;
      serverSideApply: boolean;
      operation: string;
      trigger: TriggerRef;
      resources: JsonObject[];
    }
  | { action: 'delete'; policy: string; rule: string; trigger: TriggerRef; resources: JsonObject[] }
  | BackgroundRequest
  /**
   * A generated object or a clone source was changed or deleted (its labels as they were, and
   * the request): when the rule synchronizes, the background controller generates the object
   * again for its trigger; for a source, every copy's trigger (or deletes the copies).
   */
  | { action: 'downstream'; labels: Record<string, string>; operation: string; request: AdmissionRequest };

/**
 * An admitted request that fired a policy's generate or mutate-existing rules: Kyverno's
 * UpdateRequest. The primary persists it (webhook/background.ts) and the background leader
 * evaluates it again against the policy as it then is, with what it needs from the cluster
 * (clone sources, mutate targets), and acts on the result.
 */
export interface BackgroundRequest {
  action: 'request';
  /** 'cel-generate': a GeneratingPolicy (Kyverno's CELGenerate UpdateRequests). */
  type: 'generate' | 'mutate' | 'cel-generate';
  policy: JsonObject;
  /** The rules it fires (generate: those with downstream work; all generate rules of a clone policy). */
  rules: string[];
  request: AdmissionRequest;
  /** cel-generate: the trigger's downstream objects are deleted instead (a synchronized trigger was deleted). */
  deleteDownstream?: boolean;
  /** cel-generate: an UPDATE of a synchronized policy's trigger (stale downstream objects go). */
  synchronize?: boolean;
}
