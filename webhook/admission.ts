/**
 * AdmissionReview v1 in, AdmissionReview v1 out: the pure heart of the webhook. No sockets
 * here, so the same function serves the server processes, background scans and the tests.
 */
import { compare } from 'fast-json-patch';
import { applyPolicy, type ApplyOptions, type ApplyPhase } from '../engine/apply';
import type { AdmissionRequest, ClusterState, JsonObject, Operation, PolicyResponse, RuleResult } from '../engine/core/types';
import { isJsonObject } from '../engine/core/json';
import { deadlinePassed, withDeadline } from '../engine/core/budget';

export type WebhookPath = 'validate' | 'mutate';

export interface AdmissionAnswer {
  /** HTTP status: 200 for any review we could read, 400 for a request that is not one. */
  status: number;
  body: JsonObject;
  /** Engine results, for metrics and policy reports (empty on 400). */
  responses: PolicyResponse[];
}

export class BadReviewError extends Error {}

/**
 * The review ran past its deadline: checked between policies and by the engine's budgets
 * inside them (the watchdog covers whatever neither reaches).
 */
export class DeadlineExceeded extends Error {}

function deadlineExceeded(started: number, done: number, total: number): DeadlineExceeded {
  return new DeadlineExceeded(`policy evaluation exceeded its deadline after ${Date.now() - started} ms (${done} of ${total} policies done)`);
}

const VALIDATE_PHASES: readonly ApplyPhase[] = ['validate'];
const MUTATE_PHASES: readonly ApplyPhase[] = ['mutate', 'verifyImages'];

const OPERATIONS: readonly Operation[] = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

/** Null when `v` is an object whose `required` fields are non-empty strings (and `group` a string if present). */
function missingFields(v: unknown, required: string[]): string | null {
  if (!isJsonObject(v)) return 'is missing';
  for (const f of required) if (typeof v[f] !== 'string' || v[f] === '') return `has no ${f}`;
  if (v.group !== undefined && typeof v.group !== 'string') return 'has a group that is not a string';
  return null;
}

/** Checks the envelope and turns `request` into the engine's AdmissionRequest. */
export function readAdmissionReview(review: unknown): { uid: string; request: AdmissionRequest } {
  if (!isJsonObject(review)) throw new BadReviewError('body is not a JSON object');
  if (review.kind !== 'AdmissionReview') throw new BadReviewError(`kind is ${JSON.stringify(review.kind)}, expected "AdmissionReview"`);
  if (review.apiVersion !== 'admission.k8s.io/v1') {
    throw new BadReviewError(`apiVersion is ${JSON.stringify(review.apiVersion)}, expected "admission.k8s.io/v1"`);
  }
  const req = review.request;
  if (!isJsonObject(req)) throw new BadReviewError('request is missing');
  if (typeof req.uid !== 'string' || req.uid === '') throw new BadReviewError('request.uid is missing');
  const operation = req.operation as Operation;
  if (!OPERATIONS.includes(operation)) throw new BadReviewError(`request.operation ${JSON.stringify(req.operation)} is not one of ${OPERATIONS.join(', ')}`);
  // The API server always sends both (GroupVersionKind, GroupVersionResource): a review
  // without them is not one it wrote, and guessing the kind from the object could
  // pick the wrong policies.
  const kindProblem = missingFields(req.kind, ['kind', 'version']);
  if (kindProblem) throw new BadReviewError(`request.kind ${kindProblem}`);
  const resourceProblem = missingFields(req.resource, ['resource', 'version']);
  if (resourceProblem) throw new BadReviewError(`request.resource ${resourceProblem}`);
  const object = isJsonObject(req.object) ? req.object : null;
  const oldObject = isJsonObject(req.oldObject) ? req.oldObject : null;
  if (operation === 'DELETE' ? !oldObject : !object) {
    throw new BadReviewError(operation === 'DELETE' ? 'request.oldObject is missing' : 'request.object is missing');
  }
  const kind = isJsonObject(req.kind) ? req.kind : {};
  const userInfo = isJsonObject(req.userInfo) ? req.userInfo : {};
  return {
    uid: req.uid,
    request: {
      operation,
      object,
      oldObject,
      kind: { group: String(kind.group ?? ''), version: String(kind.version ?? ''), kind: String(kind.kind ?? '') },
      subResource: typeof req.subResource === 'string' ? req.subResource : undefined,
      namespace: typeof req.namespace === 'string' ? req.namespace : undefined,
      dryRun: req.dryRun === true,
      requestInfo: {
        roles: [],
        clusterRoles: [],
        userInfo: {
          username: typeof userInfo.username === 'string' ? userInfo.username : undefined,
          uid: typeof userInfo.uid === 'string' ? userInfo.uid : undefined,
          groups: Array.isArray(userInfo.groups) ? userInfo.groups.map(String) : [],
          extra: isJsonObject(userInfo.extra) ? (userInfo.extra as Record<string, string[]>) : undefined,
        },
      },
    },
  };
}

function resourceLabel(request: AdmissionRequest): string {
  const obj = (request.object ?? request.oldObject ?? {}) as JsonObject;
  const meta = (obj.metadata ?? {}) as JsonObject;
  const ns = String(meta.namespace ?? request.namespace ?? '');
  const kind = request.kind?.kind || String(obj.kind ?? '');
  const name = String(meta.name ?? meta.generateName ?? '');
  return ns ? `${kind}/${ns}/${name}` : `${kind}//${name}`;
}

function isBlocking(rule: RuleResult): boolean {
  return (rule.status === 'fail' || rule.status === 'error') && rule.type === 'Validation' && rule.failureAction === 'Enforce';
}

function quoteYamlScalar(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** Kyverno's denial text: the resource, then each blocking policy with its rules and messages. */
export function blockedMessage(request: AdmissionRequest, responses: PolicyResponse[]): string {
  const lines: string[] = [];
  for (const r of responses) {
    const rules = r.rules.filter(isBlocking);
    if (rules.length === 0) continue;
    lines.push(`${r.policy.name}:`);
    for (const rule of rules) lines.push(`  ${rule.name}: ${quoteYamlScalar(rule.message)}`);
  }
  return `\n\nresource ${resourceLabel(request)} was blocked due to the following policies \n\n${lines.join('\n')}\n`;
}

function base64(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64');
}

/**
 * Evaluates a review against the policies. Validate: Enforce failures deny, Audit failures admit
 * (and are returned for reports). Mutate: policies chain, each seeing the previous one's output,
 * and the answer carries the difference as a JSONPatch.
 */
export function answerAdmissionReview(
  review: unknown,
  path: WebhookPath,
  policies: readonly JsonObject[],
  cluster: ClusterState,
  /** Epoch milliseconds; past it, evaluation stops with DeadlineExceeded. */
  deadline = Infinity,
): AdmissionAnswer {
  let uid: string;
  let request: AdmissionRequest;
  try {
    ({ uid, request } = readAdmissionReview(review));
  } catch (e) {
    if (e instanceof BadReviewError) {
      return { status: 400, body: { message: `bad AdmissionReview: ${e.message}` }, responses: [] };
    }
    throw e;
  }
  const responses: PolicyResponse[] = [];
  let current = request;
  // As in Kyverno, each webhook runs its own rule kinds: the API server runs every mutating
  // webhook before any validating one, so validation already sees the mutated object.
  const phases = path === 'validate' ? VALIDATE_PHASES : MUTATE_PHASES;
  const started = Date.now();
  // The engine's budgets look at the deadline as they charge (engine/core/budget), so a
  // policy that keeps building or looping ends soon after it instead of holding the process.
  withDeadline(deadline, () => {
    // One options object while the request stays the same (the engine only reads it).
    let options: ApplyOptions = { request: current, cluster, phases };
    for (const policy of policies) {
      if (deadlinePassed()) throw deadlineExceeded(started, responses.length, policies.length);
      const response = applyPolicy(policy, options);
      responses.push(response);
      // A new request only when the object changed: the engine reuses what it built per request.
      if (path === 'mutate' && current.object && response.patchedResource && response.patchedResource !== current.object) {
        current = { ...current, object: response.patchedResource };
        options = { request: current, cluster, phases };
      }
    }
    // Cut inside the last policy: its rules ended with deadline errors, which are no answer.
    if (deadlinePassed()) throw deadlineExceeded(started, responses.length - 1, policies.length);
  });
  const envelope = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' };
  // One pass over every rule result (this runs for every review).
  const warnings: string[] = [];
  let denied = false;
  for (const r of responses) {
    for (const x of r.rules) {
      if (x.status === 'warn') warnings.push(`policy ${r.policy.name}.${x.name}: ${x.message}`);
      else if (isBlocking(x)) denied = true;
    }
  }
  if (path === 'validate') {
    const response: JsonObject = { uid, allowed: !denied };
    if (denied) response.status = { code: 403, message: blockedMessage(request, responses) };
    if (warnings.length) response.warnings = warnings;
    return { status: 200, body: { ...envelope, response }, responses };
  }
  const response: JsonObject = { uid, allowed: true };
  if (request.object && current.object && current.object !== request.object) {
    const ops = compare(request.object, current.object);
    if (ops.length) {
      response.patchType = 'JSONPatch';
      response.patch = base64(JSON.stringify(ops));
    }
  }
  if (warnings.length) response.warnings = warnings;
  return { status: 200, body: { ...envelope, response }, responses };
}
