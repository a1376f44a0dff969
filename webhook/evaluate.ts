/**
 * One review, start to finish, as a server process runs it: parse the body, pick the
 * candidate policies, evaluate, and shape the reply (HTTP answer, metrics outcomes, report
 * items). Pure apart from the clock: tests and background scans call it directly.
 */
import { rolesOfUser } from './user-roles';
import { answerAdmissionReview, answerText, DeadlineExceeded, readAdmissionReview } from './admission';
import type { PolicyIndex } from './prefilter';
import type { ClusterState, JsonObject } from '../engine/core/types';
import type { ReviewReply, ReviewRequest } from './protocol';
import { metricRuleType, type RuleOutcome } from './metrics';
import { asObject, isJsonObject } from '../engine/core/json';
import { isBackground, policySpec } from '../engine/policy';
import { failurePolicyOf } from './rules';
import { admissionEvents, scanEvents } from './event-info';
import { isFiltered, type FilteredRequest } from './resource-filters';
import { isExcludedUser, requestUser, withoutSkippedBackgroundRules } from './user-filters';
import { checkExceptionForAdmission, checkGlobalContextEntryForAdmission, checkPolicyForAdmission } from '../engine/policy/admission-checks';
import { isGlobalContextEntry } from '../engine/context';
import { isGenerateNonTrigger } from './clone-sources';
import { checkCleanupPolicyForAdmission, checkDeletingPolicyForAdmission, isCleanupPolicy, isDeletingPolicy, ttlLabelWarning } from '../engine/cleanup';
import { isNamespacedKind } from '../engine/kube/known-kinds';
import { parseKindSelector } from '../engine/kube/selectors';
import { checkMutatingPolicyForAdmission } from '../engine/cel/mutating-policy';
import { isMutatingPolicy } from './mutate-existing';

/** What resource filters look at in a request (unvalidated: odd shapes just match nothing). */
function filterView(request: Json): FilteredRequest {
  const k = asObject(request.kind);
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  return { group: str(k.group), version: str(k.version), kind: str(k.kind), subresource: str(request.subResource), namespace: str(request.namespace), name: str(request.name) };
}
import type { PolicyResponse } from '../engine/core/types';

type Json = Record<string, unknown>;

/** A policy's metric labels, and the outcome objects of its rule results (see ruleOutcomes). */
interface PolicyMetricLabels {
  /** Kyverno's policy_validation_mode when no rule result enforces (HasValidateEnforce). */
  mode: 'enforce' | 'audit';
  backgroundMode: string;
  /** Per rule name, one frozen outcome per (status, rule type, mode) seen. */
  outcomes: Map<string, RuleOutcome[]>;
  /** The outcome found last for each position of the response's rules (checked first: reviews repeat). */
  last: RuleOutcome[];
}

const metricLabelsOf = new WeakMap<Json, PolicyMetricLabels>();

function policyMetricLabels(policy: Json): PolicyMetricLabels {
  let labels = metricLabelsOf.get(policy);
  if (labels) return labels;
  const spec = policySpec(policy);
  const ruleEnforces = Array.isArray(spec.rules) && (spec.rules as Json[]).some((r) => /^enforce$/i.test(String(asObject(r.validate).failureAction ?? '')));
  labels = {
    mode: /^enforce$/i.test(String(spec.validationFailureAction ?? '')) || ruleEnforces ? 'enforce' : 'audit',
    backgroundMode: String(isBackground(policy)),
    outcomes: new Map(),
    last: [],
  };
  metricLabelsOf.set(policy, labels);
  return labels;
}

/**
 * The metric outcomes of one policy's response. They are the same objects review after
 * review (one per policy, rule and result, kept with the policy object), so the metrics find
 * their series without building label text per rule; nothing may change them.
 */
function ruleOutcomes(policy: Json, response: PolicyResponse, into: RuleOutcome[]): void {
  const labels = policyMetricLabels(policy);
  const rules = response.rules;
  let mode = labels.mode;
  for (let i = 0; i < rules.length; i++) if (rules[i].failureAction === 'Enforce') mode = 'enforce';
  for (let i = 0; i < rules.length; i++) {
    const x = rules[i];
    const ruleType = metricRuleType(x.type);
    const last = labels.last[i];
    if (last !== undefined && last.rule === x.name && last.status === x.status && last.ruleType === ruleType && last.validationMode === mode) {
      into.push(last);
      continue;
    }
    let known = labels.outcomes.get(x.name);
    if (!known) labels.outcomes.set(x.name, (known = []));
    let outcome: RuleOutcome | undefined;
    for (let j = 0; j < known.length && !outcome; j++) {
      const o = known[j];
      if (o.status === x.status && o.ruleType === ruleType && o.validationMode === mode) outcome = o;
    }
    if (!outcome) {
      outcome = Object.freeze({ policy: response.policy.name, policyNamespace: response.policy.namespace ?? '', rule: x.name, status: x.status, ruleType, validationMode: mode, backgroundMode: labels.backgroundMode });
      known.push(outcome);
    }
    labels.last[i] = outcome;
    into.push(outcome);
  }
}

export function errorReply(status: number, message: string): ReviewReply {
  return { status, body: JSON.stringify({ message }), outcomes: [], reportable: [] };
}

export function evaluateReview(msg: ReviewRequest, index: PolicyIndex, cluster: ClusterState): ReviewReply {
  try {
    const review = JSON.parse(msg.body) as unknown;
    const request = asObject(asObject(review).request);
    const subject = asObject(request.object ?? request.oldObject);
    // Not validated yet (answerAdmissionReview does): only a string kind is a metric label.
    const kind = asObject(request.kind).kind;
    let policies = index.candidatesForReview(request);
    // Kyverno's resource filters: a filtered request is admitted without running any policy.
    const filtered = !!msg.filters && isFiltered(msg.filters, filterView(request));
    if (filtered) policies = [];
    // Kyverno's excludeUsernames/excludeGroups/…: an excluded user's request runs no rule.
    const user = requestUser(request);
    if (cluster.roleBindings) Object.assign(user, rolesOfUser(cluster.roleBindings, user.username, user.groups, typeof request.namespace === 'string' ? request.namespace : ''));
    const excluded = !!msg.exclusions && isExcludedUser(msg.exclusions, user);
    if (excluded) policies = [];
    if (msg.kinds) policies = policies.filter((p) => msg.kinds!.includes(String(p.kind)));
    if (msg.only) policies = policies.filter((p) => msg.only!.includes(String(asObject(p.metadata).name)));
    // Kyverno's /validate/fail and /validate/ignore each run the policies of that failurePolicy.
    if (msg.failurePolicy) policies = policies.filter((p) => failurePolicyOf(p) === msg.failurePolicy);
    const answer = answerAdmissionReview(review, msg.path, policies, cluster, msg.deadline);
    const response = asObject(answer.body.response);
    const outcomes: RuleOutcome[] = [];
    // answer.responses[i] is policies[i]'s.
    for (let i = 0; i < answer.responses.length; i++) ruleOutcomes(policies[i], answer.responses[i], outcomes);
    const operation = typeof request.operation === 'string' ? request.operation : '';
    const policyOf = (r: PolicyResponse): Json | undefined => policies[answer.responses.indexOf(r)];
    const exceptionOf = (name: string) => cluster.exceptions.find((e) => asObject(e.metadata).name === name);
    const events = answer.status !== 200 || !msg.events
      ? undefined
      : msg.events === 'scan'
        ? scanEvents(answer.responses, policyOf, subject, msg.successEvents === true, exceptionOf)
        : admissionEvents(answer.responses, policyOf, subject, response.allowed === false, msg.successEvents === true, exceptionOf);
    // Generate rules fire only for requests that were admitted and will be stored (Kyverno's
    // validating webhook hands them to its background controller the same way).
    const admitted = msg.generate === true && response.allowed === true && request.dryRun !== true;
    const background = admitted && msg.path === 'validate';
    // Our own background writes come back here: rules that skip background requests queue nothing for them.
    const ownRules = (p: Json) => withoutSkippedBackgroundRules(p as JsonObject, user.username, msg.backgroundUser);
    const generating = background && index.generating.size > 0 ? policies.filter((p) => index.generating.has(p)).map(ownRules).filter((p) => p !== undefined) : [];
    // Kyverno's handleNonTrigger: an UPDATE or DELETE of an object a generate rule made or of a
    // clone source; not for the background controller's own writes, nor for requests Kyverno's
    // filters drop before any handler (resource filters, excluded users).
    const ownWrite = msg.backgroundUser !== undefined && user.username === msg.backgroundUser;
    // The classic paths only: the synchronized downstream kinds are registered in their webhooks.
    const classicPath = !msg.kinds || msg.kinds.includes('ClusterPolicy');
    const downstream = background && classicPath && !ownWrite && !filtered && !excluded && (operation === 'UPDATE' || operation === 'DELETE') && isGenerateNonTrigger(asObject(request.oldObject));
    // Mutate-existing rules too (Kyverno's handleMutateExisting, beside handleGenerate).
    // A MutatingPolicy's own path (Kyverno's /mpol, in the mutating configuration) queues its work too.
    const queuesMutateExisting = background || (admitted && !!msg.kinds?.some((k) => k === 'MutatingPolicy' || k === 'NamespacedMutatingPolicy'));
    const mutating = queuesMutateExisting && index.mutatingExisting.size > 0 ? policies.filter((p) => index.mutatingExisting.has(p)).map(ownRules).filter((p) => p !== undefined) : [];
    // As Kyverno: no admission reports for deletions or subresources (the object itself did not change).
    const reports = msg.reports !== false && request.operation !== 'DELETE' && !request.subResource;
    return {
      status: answer.status,
      body: answerText(answer),
      allowed: typeof response.allowed === 'boolean' ? response.allowed : undefined,
      dryRun: request.dryRun === true,
      outcomes,
      ...(events?.length ? { events } : {}),
      request: answer.status === 200 ? { kind: typeof kind === 'string' ? kind : '', namespace: typeof request.namespace === 'string' ? request.namespace : '', operation, allowed: response.allowed === true, dryRun: request.dryRun === true } : undefined,
      reportable: reports
        ? answer.responses.flatMap((r) =>
            r.rules
              .filter((x) => x.type === 'Validation')
              .map((x) => ({ policy: r.policy.namespace ? `${r.policy.namespace}/${r.policy.name}` : r.policy.name, rule: x.name, status: x.status, message: x.message, enforce: x.failureAction === 'Enforce' })),
          )
        : [],
      subject: reports && request.dryRun !== true ? subject : undefined,
      generation: generating.length || mutating.length || downstream
        ? { request: readAdmissionReview(review).request, policies: generating, ...(mutating.length ? { mutateExisting: mutating } : {}), ...(downstream ? { downstream } : {}) }
        : undefined,
    };
  } catch (e) {
    if (e instanceof SyntaxError) return errorReply(400, `body is not JSON: ${e.message}`);
    if (e instanceof DeadlineExceeded) return errorReply(504, e.message);
    return errorReply(500, `evaluation failed: ${(e as Error).message}`);
  }
}

/** A cleanup policy's kind (`Kind`, `group/version/Kind`) known to be cluster-scoped (the known-kinds table). */
function knownClusterScoped(selector: string): boolean {
  const s = parseKindSelector(selector);
  if (s.kind.includes('*')) return false;
  return !isNamespacedKind(s.group === '*' ? '' : s.group, s.kind);
}

/**
 * Kyverno's policy validating webhook (/policyvalidate): a ClusterPolicy or Policy that Kyverno
 * would reject is denied with Kyverno's message (engine/policy/admission-checks), and so are
 * cleanup policies (engine/cleanup; Kyverno's cleanup controller checks those on its own
 * webhook) and DeletingPolicies.
 */
export function evaluatePolicyValidation(body: string, options: { isClusterScoped?: (apiVersion: string, kind: string) => boolean } = {}): ReviewReply {
  try {
    const review = asObject(JSON.parse(body) as unknown);
    const request = asObject(review.request);
    if (review.kind !== 'AdmissionReview' || typeof request.uid !== 'string') return errorReply(400, 'bad AdmissionReview: expected an admission.k8s.io/v1 AdmissionReview with request.uid');
    const object = asObject(request.object);
    const kind = object.kind;
    const checked: { error?: string; warnings: string[] } =
      kind === 'ClusterPolicy' || kind === 'Policy'
        ? checkPolicyForAdmission(object, { ...options, ...(request.operation === 'UPDATE' && isJsonObject(request.oldObject) ? { oldPolicy: request.oldObject } : {}) })
        : kind === 'PolicyException'
          ? checkExceptionForAdmission(object)
          : isCleanupPolicy(object)
          ? { ...checkCleanupPolicyForAdmission(object, { isClusterScoped: knownClusterScoped }), warnings: [] }
          : isDeletingPolicy(object)
            ? checkDeletingPolicyForAdmission(object)
            : isMutatingPolicy(object)
              ? checkMutatingPolicyForAdmission(object)
              : isGlobalContextEntry(object)
                ? checkGlobalContextEntryForAdmission(object)
                : { warnings: [] };
    const response: Json = { uid: request.uid, allowed: checked.error === undefined };
    if (checked.error !== undefined) response.status = { status: 'Failure', message: checked.error };
    if (checked.warnings.length) response.warnings = checked.warnings;
    return { status: 200, body: JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }), allowed: checked.error === undefined, outcomes: [], reportable: [] };
  } catch (e) {
    if (e instanceof SyntaxError) return errorReply(400, `body is not JSON: ${e.message}`);
    return errorReply(500, `policy validation failed: ${(e as Error).message}`);
  }
}

/**
 * Kyverno's ttl webhook (/verifyttl): every request is allowed; a `cleanup.kyverno.io/ttl`
 * value the ttl controller cannot read earns a warning saying so.
 */
export function evaluateTtlLabel(body: string): ReviewReply {
  try {
    const review = asObject(JSON.parse(body) as unknown);
    const request = asObject(review.request);
    if (review.kind !== 'AdmissionReview' || typeof request.uid !== 'string') return errorReply(400, 'bad AdmissionReview: expected an admission.k8s.io/v1 AdmissionReview with request.uid');
    const warning = ttlLabelWarning(asObject(asObject(asObject(request.object).metadata).labels));
    const response: Json = { uid: request.uid, allowed: true, ...(warning ? { warnings: [warning] } : {}) };
    return { status: 200, body: JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }), allowed: true, outcomes: [], reportable: [] };
  } catch (e) {
    if (e instanceof SyntaxError) return errorReply(400, `body is not JSON: ${e.message}`);
    return errorReply(500, `ttl label check failed: ${(e as Error).message}`);
  }
}
