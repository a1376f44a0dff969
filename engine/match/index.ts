// STUB (owner: match helper replaces this file). Public surface other modules rely on.
import type { AdmissionRequest, ClusterState, JsonObject } from '../core/types';

export interface MatchOutcome {
  matched: boolean;
  /** Why the rule does not apply (for skip messages and debugging). */
  reason?: string;
}

/** Whether a rule's match and exclude blocks select this request (both checked). */
export function ruleMatchesRequest(
  _rule: JsonObject,
  _request: AdmissionRequest,
  _cluster: Pick<ClusterState, 'namespaceLabels'>,
  _policyNamespace?: string,
): MatchOutcome {
  return { matched: true };
}
