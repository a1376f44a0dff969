/** Messages between the HTTPS front (main thread) and the evaluation workers. */
import type { ClusterState, JsonObject } from '../engine/core/types';
import type { RuleOutcome } from './metrics';
import type { WebhookPath } from './admission';

export type ToWorker =
  | { type: 'policies'; policies: JsonObject[]; cluster: ClusterState }
  | { type: 'review'; id: number; path: WebhookPath; body: string };

export interface ReviewReply {
  type: 'answer';
  id: number;
  status: number;
  body: string;
  allowed?: boolean;
  outcomes: RuleOutcome[];
  /** Audit/background results for policy reports: failing or passing rules of Audit policies. */
  reportable: Array<{ policy: string; rule: string; status: string; message: string; resource: JsonObject }>;
}
