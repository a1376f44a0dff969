/**
 * Kyverno's CLI makes the calls to services its policies name: CEL http.Get/Post after the
 * Test's mocks (with the default --httpBlocklist), and, whenever its context loader has a
 * client (`apply` with resources, `test` with clusterResources), `apiCall.service` entries;
 * Kyverno sets no timeout or size limit there, the webhook's admission limits apply here. The
 * synchronous evaluation notes the calls nothing answered, they are made, and it runs again (a
 * call's URL may come from an earlier answer): the webhook's loop (evaluatePostingApiCalls),
 * without API-server POSTs.
 */
import type { ClusterState, ServiceCallRequest } from '../../engine/core/types';

/**
 * Evaluates with `cluster` (a copy holding the calls made so far) until the evaluation names
 * no call not made yet among those `makes` accepts; returns the last evaluation's result.
 */
export async function runCallingServices<T>(cluster: ClusterState, evaluate: (cluster: ClusterState) => T, makes: (request: ServiceCallRequest) => boolean = () => true): Promise<T> {
  // Loaded when apply or test runs: other commands start without the network client.
  const [{ evaluatePostingApiCalls }, { makeServiceCalls }] = await Promise.all([import('../../webhook/cluster-reads'), import('../../webhook/service-calls')]);
  return evaluatePostingApiCalls(cluster, evaluate, undefined, async (requests, made) => {
    const wanted = requests.filter(makes);
    return wanted.length > 0 ? makeServiceCalls(wanted, made, {}) : [];
  });
}
