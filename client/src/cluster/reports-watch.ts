/**
 * Feeds a ReportsModel from a cluster: PolicyReports and ClusterPolicyReports listed, then
 * watched from the list's resourceVersion, relisted after a backoff when the watch breaks
 * (kube-api/watch.ts, the loop the in-cluster webhook watches policies with). Each report
 * change updates the model at once (incremental counts); `onChange` is debounced, so a burst
 * of thousands of events costs one view refresh. No vscode: the cluster test drives it too.
 */
import type { KubeClient } from '../../../kube-api/client';
import { watchKinds, type WatchedKind } from '../../../kube-api/watch';
import { REPORT_API_VERSION } from '../../../webhook/report-layout';
import type { ReportsModel } from './reports-model';

export const REPORT_KINDS: WatchedKind[] = [
  { apiVersion: REPORT_API_VERSION, kind: 'PolicyReport' },
  { apiVersion: REPORT_API_VERSION, kind: 'ClusterPolicyReport' },
];

export interface ReportWatchOptions {
  /** Called (debounced) after changes, and once when both kinds have been listed. */
  onChange: () => void;
  log: (line: string) => void;
  signal: AbortSignal;
  debounceMs?: number;
}

/** Runs until `signal` aborts; never rejects (errors are logged and retried). */
export function watchReports(client: KubeClient, model: ReportsModel, o: ReportWatchOptions): Promise<void> {
  return watchKinds(
    client,
    REPORT_KINDS,
    () => o.onChange(),
    o.log,
    o.signal,
    o.debounceMs ?? 250,
    (key, next) => model.setReport(key, next),
  );
}
