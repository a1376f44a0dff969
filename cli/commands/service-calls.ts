/**
 * Kyverno's CLI makes the calls to services its policies name: CEL http.Get/Post after the
 * Test's mocks (with the default --httpBlocklist), and, whenever its context loader has a
 * client (`apply` with resources, `test` with clusterResources), `apiCall.service` entries;
 * Kyverno sets no timeout or size limit there, the webhook's admission limits apply here. The
 * synchronous evaluation notes the calls nothing answered, they are made, and it runs again (a
 * call's URL may come from an earlier answer).
 */
import type { ServiceCall, ServiceCallRequest } from '../../engine/core/types';

/** Evaluations in a row that may each name new calls. */
const CALL_ROUNDS = 4;

/**
 * Runs `run` until it names no call not made yet (among those `makes` accepts); returns the
 * last run's result.
 */
export async function runCallingServices<T>(run: (calls: ServiceCall[], misses: ServiceCallRequest[]) => T, makes: (request: ServiceCallRequest) => boolean = () => true): Promise<T> {
  const calls: ServiceCall[] = [];
  for (let round = 0; ; round++) {
    const misses: ServiceCallRequest[] = [];
    const result = run(calls, misses);
    const wanted = misses.filter(makes);
    if (wanted.length === 0 || round >= CALL_ROUNDS) return result;
    // Loaded when a policy calls out: the CLI starts without the network client.
    const { makeServiceCalls } = await import('../../webhook/service-calls');
    const made = await makeServiceCalls(wanted, calls, {});
    if (made.length === 0) return result;
    calls.push(...made);
  }
}
