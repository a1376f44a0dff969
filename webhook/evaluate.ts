/**
 * One review, start to finish, as a server process runs it: parse the body, pick the
 * candidate policies, evaluate, and shape the reply (HTTP answer, metrics outcomes, report
 * items). Pure apart from the clock: tests and background scans call it directly.
 */
import { answerAdmissionReview, DeadlineExceeded, readAdmissionReview } from './admission';
import type { PolicyIndex } from './prefilter';
import type { ClusterState } from '../engine/core/types';
import type { ReviewReply, ReviewRequest } from './protocol';
import type { RuleOutcome } from './metrics';
import { asObject } from '../engine/core/json';

export function errorReply(status: number, message: string): ReviewReply {
  return { status, body: JSON.stringify({ message }), outcomes: [], reportable: [] };
}

export function evaluateReview(msg: ReviewRequest, index: PolicyIndex, cluster: ClusterState): ReviewReply {
  try {
    const review = JSON.parse(msg.body) as unknown;
    const request = asObject(asObject(review).request);
    const subject = asObject(request.object ?? request.oldObject);
    let policies = index.candidatesForReview(request);
    if (msg.only) policies = policies.filter((p) => msg.only!.includes(String(asObject(p.metadata).name)));
    const answer = answerAdmissionReview(review, msg.path, policies, cluster, msg.deadline);
    const response = asObject(answer.body.response);
    const outcomes: RuleOutcome[] = [];
    for (const r of answer.responses) for (const x of r.rules) outcomes.push({ policy: r.policy.name, rule: x.name, status: x.status });
    // Generate rules fire only for requests that were admitted and will be stored (Kyverno's
    // validating webhook hands them to its background controller the same way).
    const generating = msg.generate && msg.path === 'validate' && index.generating.size > 0 && response.allowed === true && request.dryRun !== true
      ? policies.filter((p) => index.generating.has(p))
      : [];
    // As Kyverno: no admission reports for deletions or subresources (the object itself did not change).
    const reports = msg.reports !== false && request.operation !== 'DELETE' && !request.subResource;
    return {
      status: answer.status,
      body: JSON.stringify(answer.body),
      allowed: typeof response.allowed === 'boolean' ? response.allowed : undefined,
      dryRun: request.dryRun === true,
      outcomes,
      reportable: reports
        ? answer.responses.flatMap((r) =>
            r.rules
              .filter((x) => x.type === 'Validation')
              .map((x) => ({ policy: r.policy.namespace ? `${r.policy.namespace}/${r.policy.name}` : r.policy.name, rule: x.name, status: x.status, message: x.message, enforce: x.failureAction === 'Enforce' })),
          )
        : [],
      subject: reports && request.dryRun !== true ? subject : undefined,
      generation: generating.length ? { request: readAdmissionReview(review).request, policies: generating } : undefined,
    };
  } catch (e) {
    if (e instanceof SyntaxError) return errorReply(400, `body is not JSON: ${e.message}`);
    if (e instanceof DeadlineExceeded) return errorReply(504, e.message);
    return errorReply(500, `evaluation failed: ${(e as Error).message}`);
  }
}
