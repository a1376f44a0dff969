/**
 * Calls to services (a classic `apiCall.service`, CEL http.Get/Post) without I/O: the engine
 * looks the request up among the calls a caller already made (`ClusterState.serviceCalls`) and
 * otherwise notes it (`serviceCallMisses`) for a caller with network access to make before it
 * evaluates again (the webhook: webhook/service-calls.ts). What an outcome means, and its
 * messages, follow Kyverno: pkg/engine/apicall/executor.go (executeServiceCall) for entries,
 * kyverno/sdk extensions/cel/libs/http for the library.
 */
import type { ClusterState, ServiceCallOutcome, ServiceCallRequest } from '../core/types';
import { jsonEqual } from '../core/json';
import { certificatePool } from '../crypto/x509';

/** Whether two requests are the same call (same method, URL, body, headers, roots and caller). */
export function sameServiceCall(a: ServiceCallRequest, b: ServiceCallRequest): boolean {
  return a.method === b.method && a.url === b.url && a.caller === b.caller && a.caBundle === b.caBundle &&
    jsonEqual(a.headers, b.headers) && jsonEqual(a.body ?? null, b.body ?? null);
}

/**
 * The outcome of `request` when a caller made it; otherwise the request is noted among the
 * misses (once) when the caller listens, and the answer is undefined.
 */
export function serviceCallOutcome(cluster: ClusterState, request: ServiceCallRequest): ServiceCallOutcome | undefined {
  const made = cluster.serviceCalls?.find((c) => sameServiceCall(c.request, request));
  if (made) return made.outcome;
  const misses = cluster.serviceCallMisses;
  if (misses && !misses.some((m) => sameServiceCall(m, request))) misses.push(request);
  return undefined;
}

/** Whether a caller will make the calls nothing answered (the webhook) rather than none at all (offline). */
export function makesServiceCalls(cluster: ClusterState): boolean {
  return cluster.serviceCallMisses !== undefined;
}

/** x509.CertPool.AppendCertsFromPEM's verdict: at least one certificate in the bundle parses. */
export function caBundleParses(caBundle: string): boolean {
  let parses = CA_BUNDLE_VERDICTS.get(caBundle);
  if (parses === undefined) {
    parses = certificatePool(caBundle).length > 0;
    // Asked per rule, review and round for the same few bundles: remember the verdicts (bounded).
    if (CA_BUNDLE_VERDICTS.size >= 64) CA_BUNDLE_VERDICTS.clear();
    CA_BUNDLE_VERDICTS.set(caBundle, parses);
  }
  return parses;
}

const CA_BUNDLE_VERDICTS = new Map<string, boolean>();

/** Go's url.Error operation: the method as `Get`, `Post`. */
export function urlErrorOp(method: string): string {
  return method.charAt(0) + method.slice(1).toLowerCase();
}
