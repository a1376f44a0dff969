/**
 * Evaluation worker: owns a copy of the policies and answers reviews. Running the engine off
 * the main thread lets the server enforce a hard per-request deadline (a stuck worker is
 * terminated) and keeps /healthz answering while a slow policy runs.
 */
import { parentPort } from 'node:worker_threads';
import { answerAdmissionReview } from './admission';
import type { ClusterState, JsonObject } from '../engine/core/types';
import type { ReviewReply, ToWorker } from './protocol';

export function runEvaluationWorker(): void {
  const port = parentPort;
  if (!port) throw new Error('runEvaluationWorker must run inside a worker thread');
  let policies: JsonObject[] = [];
  let cluster: ClusterState = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] };
  port.on('message', (msg: ToWorker) => {
    if (msg.type === 'policies') {
      policies = msg.policies;
      cluster = msg.cluster;
      return;
    }
    let reply: ReviewReply;
    try {
      const answer = answerAdmissionReview(JSON.parse(msg.body), msg.path, policies, cluster);
      const response = (answer.body.response ?? {}) as JsonObject;
      const subject = (((JSON.parse(msg.body) as JsonObject).request as JsonObject | undefined)?.object ?? {}) as JsonObject;
      reply = {
        type: 'answer',
        id: msg.id,
        status: answer.status,
        body: JSON.stringify(answer.body),
        allowed: typeof response.allowed === 'boolean' ? response.allowed : undefined,
        outcomes: answer.responses.flatMap((r) => r.rules.map((x) => ({ policy: r.policy.name, rule: x.name, status: x.status }))),
        reportable: answer.responses.flatMap((r) =>
          r.rules
            .filter((x) => x.type === 'Validation' && x.failureAction !== 'Enforce')
            .map((x) => ({ policy: r.policy.name, rule: x.name, status: x.status, message: x.message, resource: subject })),
        ),
      };
    } catch (e) {
      const message = e instanceof SyntaxError ? `body is not JSON: ${e.message}` : `evaluation failed: ${(e as Error).message}`;
      const status = e instanceof SyntaxError ? 400 : 500;
      reply = { type: 'answer', id: msg.id, status, body: JSON.stringify({ message }), outcomes: [], reportable: [] };
    }
    port.postMessage(reply);
  });
}
