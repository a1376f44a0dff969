/**
 * Evaluation worker: owns a copy of the policies and answers reviews. Running the engine off
 * the main thread lets the server enforce a hard per-request deadline (a stuck worker is
 * terminated) and keeps /healthz answering while a slow policy runs.
 */
import { parentPort } from 'node:worker_threads';
import { answerAdmissionReview } from './admission';
import { PolicyIndex } from './prefilter';
import type { ClusterState, JsonObject } from '../engine/core/types';
import type { ReviewReply, ToWorker } from './protocol';

function obj(v: unknown): JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as JsonObject) : {};
}

/** Answers one review message (exported for tests and the background scan). */
export function evaluateReview(msg: Extract<ToWorker, { type: 'review' }>, index: PolicyIndex, cluster: ClusterState): ReviewReply {
  try {
    const review = JSON.parse(msg.body) as unknown;
    const request = obj(obj(review).request);
    const subject = obj(request.object ?? request.oldObject);
    let policies = index.candidates(String(obj(request.kind).kind ?? ''), typeof subject.kind === 'string' ? subject.kind : undefined);
    if (msg.only) policies = policies.filter((p) => msg.only!.includes(String(obj(p.metadata).name)));
    const answer = answerAdmissionReview(review, msg.path, policies, cluster);
    const response = obj(answer.body.response);
    return {
      type: 'answer',
      id: msg.id,
      status: answer.status,
      body: JSON.stringify(answer.body),
      allowed: typeof response.allowed === 'boolean' ? response.allowed : undefined,
      dryRun: request.dryRun === true,
      outcomes: answer.responses.flatMap((r) => r.rules.map((x) => ({ policy: r.policy.name, rule: x.name, status: x.status }))),
      reportable: msg.reports === false ? [] : answer.responses.flatMap((r) =>
        r.rules
          .filter((x) => x.type === 'Validation')
          .map((x) => ({ policy: r.policy.name, rule: x.name, status: x.status, message: x.message, enforce: x.failureAction === 'Enforce' })),
      ),
      subject: msg.reports === false || request.dryRun === true ? undefined : subject,
    };
  } catch (e) {
    const message = e instanceof SyntaxError ? `body is not JSON: ${e.message}` : `evaluation failed: ${(e as Error).message}`;
    const status = e instanceof SyntaxError ? 400 : 500;
    return { type: 'answer', id: msg.id, status, body: JSON.stringify({ message }), outcomes: [], reportable: [] };
  }
}

export function runEvaluationWorker(): void {
  const port = parentPort;
  if (!port) throw new Error('runEvaluationWorker must run inside a worker thread');
  let index = new PolicyIndex([]);
  let cluster: ClusterState = { resources: [], namespaceLabels: {}, apiCallResponses: [], globalContext: {}, exceptions: [] };
  port.on('message', (msg: ToWorker) => {
    if (msg.type === 'policies') {
      index = new PolicyIndex(msg.policies);
      cluster = msg.cluster;
      return;
    }
    port.postMessage(evaluateReview(msg, index, cluster));
  });
  port.postMessage({ type: 'ready' });
}
