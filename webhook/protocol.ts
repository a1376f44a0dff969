/** Messages between the HTTPS front (main thread) and the evaluation workers. */
import type { ClusterState, JsonObject } from '../engine/core/types';
import type { RuleOutcome } from './metrics';
import type { WebhookPath } from './admission';

export type ToWorker =
  | { type: 'policies'; policies: JsonObject[]; cluster: ClusterState }
  /** `reports: false`: skip the report items and the subject (nothing records them). */
  | { type: 'review'; id: number; path: WebhookPath; body: string; only?: string[]; reports?: boolean };

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
  type: 'answer';
  id: number;
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
