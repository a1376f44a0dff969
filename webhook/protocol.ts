/**
 * Messages between the primary process (policies, watchdog, metrics, reports) and the server
 * processes that terminate TLS and evaluate reviews inline. Connections travel as handles
 * attached to a `connection` message.
 */
import type { ClusterState, JsonObject } from '../engine/core/types';
import type { RuleOutcome, MetricsSnapshot } from './metrics';
import type { WebhookPath } from './admission';

/** Settings a server process needs before it serves. */
export interface ServerProcessSettings {
  tlsCertFile: string;
  tlsKeyFile: string;
  timeoutMs: number;
  maxBodyBytes: number;
  /** Something records policy reports: send the reportable results up. */
  reports: boolean;
  heartbeatMs: number;
}

export interface ReviewRequest {
  path: WebhookPath;
  body: string;
  /** Evaluate only these policies (background scans). */
  only?: string[];
  /** `false`: skip the report items and the subject (nothing records them). */
  reports?: boolean;
  /** Epoch milliseconds after which the review answers 504 instead of evaluating on. */
  deadline?: number;
}

export type ToServerProcess =
  | { type: 'settings'; settings: ServerProcessSettings }
  | { type: 'policies'; policies: JsonObject[]; cluster: ClusterState }
  | { type: 'connection' }
  | { type: 'review'; id: number; review: ReviewRequest }
  | { type: 'metrics-snapshot'; id: number }
  | { type: 'metrics-text'; id: number; text: string }
  | { type: 'close' };

export type FromServerProcess =
  | { type: 'ready' }
  /** Sent every heartbeatMs while the event loop turns; carries the counters so far. */
  | { type: 'heartbeat'; snapshot: MetricsSnapshot }
  | { type: 'answer'; id: number; reply: ReviewReply }
  | { type: 'metrics-snapshot'; id: number; snapshot: MetricsSnapshot }
  /** A /metrics request: the primary answers with the text for all processes. */
  | { type: 'metrics-wanted'; id: number; snapshot: MetricsSnapshot }
  | { type: 'reportable'; items: ReportableWithResource[] }
  | { type: 'log'; line: string };

export interface Reportable {
  policy: string;
  rule: string;
  status: string;
  message: string;
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
  /** Validation results, for policy reports (the resource is `subject`, sent once). */
  reportable: Reportable[];
  subject?: JsonObject;
}
