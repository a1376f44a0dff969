/**
 * One review, start to finish, as a server process runs it: parse the body, pick the
 * candidate policies, evaluate, and shape the reply (HTTP answer, metrics outcomes, report
 * items). Pure apart from the clock: tests and background scans call it directly.
 */
import { rolesOfUser } from './user-roles';
import { answerAdmissionReview, answerText, DeadlineExceeded, readAdmissionReview, topLevelKind } from './admission';
import type { PolicyIndex } from './prefilter';
import type { ClusterState, JsonObject } from '../engine/core/types';
import type { ReviewReply, ReviewRequest } from './protocol';
import { classicPolicyInfo, metricRuleType, type ResultFamily, type RuleOutcome } from './metrics';
import { asObject, isJsonObject, jsonEqual } from '../engine/core/json';
import { admissionEvents, scanEvents } from './event-info';
import { isFiltered, type FilteredRequest } from './resource-filters';
import { isExcludedUser, requestUser, withoutSkippedBackgroundRules } from './user-filters';
import { verdictResult, type ResourceFinder } from '../engine/policy/admission-checks';
import type { CrdSchema } from '../engine/kube/crd';
import { admissionVerdict } from '../engine/policy/admission';
import { isClassicPolicy } from '../engine/policy';
import { accessCheckError, type AccessCheckOptions } from '../engine/policy/auth-checks';
import { isGenerateNonTrigger } from './clone-sources';
import { isCleanupPolicy, ttlLabelWarning } from '../engine/cleanup';
import { isCelMutatingPolicyKind } from '../engine/loader/classify';
import { namespacedHttpRefusal } from '../engine/cel/lib-cluster';
import { mutateExistingRules } from './mutate-existing';

const stringOr = (v: unknown): string => (typeof v === 'string' ? v : '');

/**
 * What resource filters look at in a request (unvalidated: odd shapes just match nothing): for a
 * subresource, the kind of the resource it belongs to (Kyverno filters after withTopLevelGVK, so
 * `[Pod/binding,*,*]` filters a Binding sent to pods/binding).
 */
function filterView(request: Json): FilteredRequest {
  // No closure per review: the bundle names every function made at run time (keepNames), a
  // property definition each.
  const k = topLevelKind(request) ?? asObject(request.kind);
  return { group: stringOr(k.group), version: stringOr(k.version), kind: stringOr(k.kind), subresource: stringOr(request.subResource), namespace: stringOr(request.namespace), name: stringOr(request.name) };
}
import type { PolicyResponse, RuleResult } from '../engine/core/types';

type Json = Record<string, unknown>;

/**
 * Where a policy's results are counted (null: nowhere, as Kyverno's GeneratingPolicy handler
 * at admission only queues work, and Kubernetes' admission policies it scans record none).
 */
const CEL_FAMILIES = new Map<string, ResultFamily>([
  ['ValidatingPolicy', 'kyverno_validating_policy'], ['NamespacedValidatingPolicy', 'kyverno_validating_policy'],
  ['ImageValidatingPolicy', 'kyverno_image_validating_policy'], ['NamespacedImageValidatingPolicy', 'kyverno_image_validating_policy'],
  ['MutatingPolicy', 'kyverno_mutating_policy'], ['NamespacedMutatingPolicy', 'kyverno_mutating_policy'],
]);

function resultFamily(policy: Json): ResultFamily | null {
  if (isClassicPolicy(policy as JsonObject)) return 'kyverno_policy';
  return String(policy.apiVersion ?? '').startsWith('policies.kyverno.io/') ? CEL_FAMILIES.get(String(policy.kind)) ?? null : null;
}

/** A policy's metric labels, and the outcome objects of its rule results (see ruleOutcomes). */
interface PolicyMetricLabels {
  family: ResultFamily | null;
  /** Kyverno's policy_validation_mode when no rule result enforces (HasValidateEnforce); a CEL policy's Deny or Audit. */
  mode: string | undefined;
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
  const family = resultFamily(policy);
  let mode: string | undefined;
  let backgroundMode: string;
  if (family === 'kyverno_policy') {
    const info = classicPolicyInfo(policy as JsonObject);
    mode = info.validationMode;
    backgroundMode = info.background;
  } else {
    const spec = asObject(policy.spec);
    // GetCELPolicyInfos: Deny when validationActions has it (Deny when none is given), else Audit; no mode for mutating ones.
    const actions = Array.isArray(spec.validationActions) && spec.validationActions.length > 0 ? spec.validationActions : ['Deny'];
    mode = family === 'kyverno_mutating_policy' ? undefined : actions.includes('Deny') ? 'Deny' : 'Audit';
    backgroundMode = String(asObject(asObject(spec.evaluation).background).enabled !== false);
  }
  labels = { family, mode, backgroundMode, outcomes: new Map(), last: [] };
  metricLabelsOf.set(policy, labels);
  return labels;
}

/**
 * The metric outcomes of one policy's response, from `at` in `into`, and how long each took in
 * `seconds` (the policy's time shared by its rules: the engine times policies, Kyverno rules).
 * A ClusterPolicy or Policy gives one per rule result; a CEL policy one, its first rule's (as
 * Kyverno's CEL metric wrappers record). They are the same objects review after review (one per
 * policy, rule and result, kept with the policy object), so the metrics find their series
 * without building label text per rule; nothing may change them.
 */
function ruleOutcomes(policy: Json, response: PolicyResponse, policySeconds: number, into: RuleOutcome[], seconds: number[], at: number): number {
  const labels = policyMetricLabels(policy);
  const family = labels.family;
  const rules = response.rules;
  if (family === null || rules.length === 0) return at;
  const count = family === 'kyverno_policy' ? rules.length : 1;
  let mode = labels.mode;
  if (family === 'kyverno_policy') for (let i = 0; i < rules.length; i++) if (rules[i].failureAction === 'Enforce') mode = 'enforce';
  const share = policySeconds / count;
  for (let i = 0; i < count; i++) {
    const x = rules[i];
    const ruleType = family === 'kyverno_policy' ? metricRuleType(x.type) : '-';
    const rule = family === 'kyverno_policy' ? x.name : '';
    seconds[at] = share;
    const last = labels.last[i];
    if (last !== undefined && last.rule === rule && last.status === x.status && last.ruleType === ruleType && last.validationMode === mode) {
      into[at++] = last;
      continue;
    }
    let known = labels.outcomes.get(rule);
    if (!known) labels.outcomes.set(rule, (known = []));
    let outcome: RuleOutcome | undefined;
    for (let j = 0; j < known.length && !outcome; j++) {
      const o = known[j];
      if (o.status === x.status && o.ruleType === ruleType && o.validationMode === mode) outcome = o;
    }
    if (!outcome) {
      outcome = Object.freeze({ family, policy: response.policy.name, policyNamespace: response.policy.namespace ?? '', rule, status: x.status, ruleType, validationMode: mode, backgroundMode: labels.backgroundMode });
      known.push(outcome);
    }
    labels.last[i] = outcome;
    into[at++] = outcome;
  }
  return at;
}

/**
 * The results admission writes to reports (Kyverno's --enableReporting default: validate,
 * mutate and imageVerify from the webhooks; generate and mutateExisting come from the
 * background controller).
 */
const ADMISSION_REPORTED = new Set<string>(['Validation', 'Mutation', 'ImageVerify']);

/** The names of a ClusterPolicy's or Policy's mutate-existing rules (none for other kinds). */
function mutateExistingRuleNames(policy: JsonObject | undefined): Set<string> {
  if (!policy || (policy.kind !== 'ClusterPolicy' && policy.kind !== 'Policy')) return new Set();
  return new Set(mutateExistingRules(policy).map((r) => String(r.name ?? '')));
}

/**
 * A MutatingPolicy's background scan result (pkg/controllers/report/utils/scanner.go): a pass
 * (not an exception's) whose patched resource differs from the resource fails, "mutation is
 * not applied": the resource is not as the policy would have it.
 */
export function mutationScanResponse(response: PolicyResponse, resource: JsonObject): PolicyResponse {
  const admissionPolicy = response.policy.kind === 'MutatingAdmissionPolicy';
  if (!(admissionPolicy || isCelMutatingPolicyKind(response.policy.kind)) || jsonEqual(response.patchedResource, resource)) return response;
  // A MutatingAdmissionPolicy's (pkg/admissionpolicy/mutate.go with backgroundScan) keeps its name and binding.
  const notApplied = (r: RuleResult): RuleResult => (admissionPolicy ? { ...r, status: 'fail', message: 'mutation is not applied' } : { name: '', type: 'Mutation', status: 'fail', message: 'mutation is not applied' });
  const rules = response.rules.map((r): RuleResult => (r.status === 'pass' && !r.exceptions?.length ? notApplied(r) : r));
  return { ...response, rules };
}

/** The policies of `policies` in `selected`, each without the rules that skip `username`'s background requests. */
function ownRulesOf(policies: readonly Json[], selected: ReadonlySet<JsonObject>, username: string, backgroundUser: string | undefined): JsonObject[] {
  const out: JsonObject[] = [];
  for (const p of policies) {
    if (!selected.has(p as JsonObject)) continue;
    const own = withoutSkippedBackgroundRules(p as JsonObject, username, backgroundUser);
    if (own !== undefined) out.push(own);
  }
  return out;
}

/** The Kubernetes events of an answered review (only asked for when the server emits events). */
function reviewEvents(msg: ReviewRequest, responses: PolicyResponse[], policies: readonly Json[], cluster: ClusterState, subject: Json, denied: boolean) {
  const policyOf = (r: PolicyResponse): Json | undefined => policies[responses.indexOf(r)];
  const exceptionOf = (name: string) => cluster.exceptions.find((e) => asObject(e.metadata).name === name);
  return msg.events === 'scan'
    ? scanEvents(responses, policyOf, subject, msg.successEvents === true, exceptionOf)
    : admissionEvents(responses, policyOf, subject, denied, msg.successEvents === true, exceptionOf);
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
    const candidates = index.candidatesForReview(request);
    // Kyverno's resource filters: a filtered request is admitted without running any policy.
    const filtered = !!msg.filters && isFiltered(msg.filters, filterView(request));
    // Kyverno's excludeUsernames/excludeGroups/…: an excluded user's request runs no rule.
    const user = requestUser(request);
    if (cluster.roleBindings) Object.assign(user, rolesOfUser(cluster.roleBindings, user.username, user.groups, typeof request.namespace === 'string' ? request.namespace : ''));
    const excluded = !!msg.exclusions && isExcludedUser(msg.exclusions, user);
    // The route's own policies (its kinds, failurePolicy…), kept with the candidate list.
    const policies = filtered || excluded ? [] : index.narrowed(candidates, msg);
    const answer = answerAdmissionReview(review, msg.path, policies, cluster, msg.deadline, !!msg.scan);
    if (msg.scan && msg.path === 'mutate') answer.responses = answer.responses.map((r) => mutationScanResponse(r, asObject(request.object)));
    const response = asObject(answer.body.response);
    // The outcomes in lists made at their most (one per rule result; grown by pushes they were
    // copied twice for 20 policies), cut to what was filled: a CEL policy gives one at most.
    let results = 0;
    for (let i = 0; i < answer.responses.length; i++) results += answer.responses[i].rules.length;
    const outcomes: RuleOutcome[] = new Array(results);
    const outcomeSeconds: number[] = new Array(results);
    let filled = 0;
    // answer.responses[i] is policies[i]'s.
    for (let i = 0; i < answer.responses.length; i++) filled = ruleOutcomes(policies[i], answer.responses[i], answer.seconds?.[i] ?? 0, outcomes, outcomeSeconds, filled);
    if (filled < results) outcomes.length = outcomeSeconds.length = filled;
    const operation = typeof request.operation === 'string' ? request.operation : '';
    const events = answer.status !== 200 || !msg.events ? undefined : reviewEvents(msg, answer.responses, policies, cluster, subject, response.allowed === false);
    // Generate rules fire only for requests that were admitted and will be stored (Kyverno's
    // validating webhook hands them to its background controller the same way).
    const admitted = msg.generate === true && response.allowed === true && request.dryRun !== true;
    const background = admitted && msg.path === 'validate';
    // Our own background writes come back here: rules that skip background requests queue nothing for them.
    const generating = background && index.generating.size > 0 ? ownRulesOf(policies, index.generating, user.username, msg.backgroundUser) : [];
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
    const mutating = queuesMutateExisting && index.mutatingExisting.size > 0 ? ownRulesOf(policies, index.mutatingExisting, user.username, msg.backgroundUser) : [];
    // As Kyverno: no admission reports for deletions or subresources (the object itself did not change).
    const reports = msg.reports !== false && request.operation !== 'DELETE' && !request.subResource;
    return {
      status: answer.status,
      body: answerText(answer),
      allowed: typeof response.allowed === 'boolean' ? response.allowed : undefined,
      dryRun: request.dryRun === true,
      outcomes,
      outcomeSeconds,
      ...(events?.length ? { events } : {}),
      request: answer.status === 200 ? { kind: typeof kind === 'string' ? kind : '', namespace: typeof request.namespace === 'string' ? request.namespace : '', operation, allowed: response.allowed === true, dryRun: request.dryRun === true } : undefined,
      reportable: reports && answer.responses.length > 0
        ? answer.responses.flatMap((r, i) => {
            // The policy's mutate-existing rule names, read once and only when a Mutation result needs them.
            let mutateExisting: Set<string> | undefined;
            return r.rules
              // Kyverno's scanner drops a skip that only says the matchConditions did not hold (filterMatchConditionSkips).
              .filter((x) => ADMISSION_REPORTED.has(x.type) && !(msg.scan && x.skipReason === 'matchConditions'))
              // A mutate-existing rule runs no handler at admission (its results are the background controller's to report, on the trigger).
              .filter((x) => msg.scan || x.type !== 'Mutation' || !(mutateExisting ??= mutateExistingRuleNames(policies[i])).has(x.name))
              .map((x) => ({
                policy: r.policy.namespace ? `${r.policy.namespace}/${r.policy.name}` : r.policy.name,
                policyKind: r.policy.kind,
                rule: x.name,
                status: x.status,
                message: x.message,
                enforce: x.failureAction === 'Enforce',
                ...(x.exceptions?.length ? { exceptions: x.exceptions } : {}),
                ...(x.properties ? { properties: x.properties } : {}),
                ...(x.binding ? { binding: x.binding } : {}),
              }));
          })
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

/**
 * The service accounts' permissions for what a ClusterPolicy's or Policy's mutate targets and
 * generate rules touch, and for what a cleanup policy deletes (engine/policy/auth-checks),
 * once it passed the other checks: answered
 * by the caller, who asked the API server (webhook/access-review.ts); without answers, no check
 * (as Kyverno's CLI, which validates with a mock).
 */
function withAccessCheck(policy: JsonObject, checked: { error?: string; warnings: string[] }, access: AccessCheckOptions | undefined): { error?: string; warnings: string[] } {
  if (checked.error !== undefined || !access || (policy.kind !== 'ClusterPolicy' && policy.kind !== 'Policy' && !isCleanupPolicy(policy))) return checked;
  const error = accessCheckError(policy, access);
  return error === undefined ? checked : { ...checked, error };
}

/**
 * Kyverno's policy validating webhook (/policyvalidate): a ClusterPolicy or Policy that Kyverno
 * would reject is denied with Kyverno's message (engine/policy/admission-checks), and so are
 * cleanup policies (engine/cleanup; Kyverno's cleanup controller checks those on its own
 * webhook) and DeletingPolicies.
 */
export function evaluatePolicyValidation(body: string, options: PolicyValidationOptions = {}): ReviewReply {
  let review: unknown;
  try {
    review = JSON.parse(body) as unknown;
  } catch (e) {
    return errorReply(400, `body is not JSON: ${(e as Error).message}`);
  }
  return policyValidationReply(review, options);
}

export interface PolicyValidationOptions {
  isClusterScoped?: (apiVersion: string, kind: string) => boolean;
  findResources?: ResourceFinder;
  /** The cluster's CRDs for the CEL type check of validate.cel (PolicyCheckOptions.customResources). */
  customResources?: readonly CrdSchema[];
  access?: AccessCheckOptions;
  allowHttpInNamespacedPolicies?: boolean;
  /** What the webhook's credentials lack of what the policy needs (policy-grant-check.ts): warnings on an admitted policy. */
  grantWarnings?: string[];
}

/** evaluatePolicyValidation on a body already parsed (the server process reads the policy before asking the primary about it). */
export function policyValidationReply(parsed: unknown, options: PolicyValidationOptions = {}): ReviewReply {
  try {
    const review = asObject(parsed);
    const request = asObject(review.request);
    if (review.kind !== 'AdmissionReview' || typeof request.uid !== 'string') return errorReply(400, 'bad AdmissionReview: expected an admission.k8s.io/v1 AdmissionReview with request.uid');
    const object = asObject(request.object);
    const kind = object.kind;
    const verdict = admissionVerdict(object, { isClusterScoped: options.isClusterScoped, findResources: options.findResources, customResources: options.customResources, ...(request.operation === 'UPDATE' && isJsonObject(request.oldObject) ? { oldPolicy: request.oldObject } : {}) });
    let checked = withAccessCheck(object, verdict ? verdictResult(verdict) : { warnings: [] as string[] }, options.access);
    // Kyverno's CEL policy validation adds the refusal to its other errors; here it stands when nothing else refused.
    const httpRefusal = options.allowHttpInNamespacedPolicies ? undefined : namespacedHttpRefusal(object);
    if (checked.error === undefined && httpRefusal !== undefined) checked = { error: httpRefusal, warnings: [...checked.warnings, httpRefusal] };
    const response: Json = { uid: request.uid, allowed: checked.error === undefined };
    if (checked.error !== undefined) response.status = { status: 'Failure', message: checked.error };
    const warnings = checked.error === undefined ? [...checked.warnings, ...(options.grantWarnings ?? [])] : checked.warnings;
    if (warnings.length) response.warnings = warnings;
    return { status: 200, body: JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }), allowed: checked.error === undefined, outcomes: [], reportable: [] };
  } catch (e) {
    return errorReply(500, `policy validation failed: ${(e as Error).message}`);
  }
}

/** Kyverno's policy mutating webhook (/policymutate): its handler admits every policy unchanged. */
export function evaluatePolicyMutation(body: string): ReviewReply {
  return answerAllowed(body, () => ({}));
}

/** The Lease Kyverno's webhook controller updates every 10 s to see its admission path answer (pkg/controllers/webhook watchdog). */
export const HEALTH_LEASE = 'kyverno-health';

/**
 * Kyverno's verify webhook (/verifymutate, handlers.Verify): an update of the `kyverno-health`
 * Lease in the webhook's namespace gets `kyverno.io/last-request-time` replaced with `now`
 * (RFC 3339, seconds); anything else is admitted unchanged.
 */
export function evaluateVerifyMutation(body: string, namespace: string | undefined, now: Date = new Date()): ReviewReply {
  return answerAllowed(body, (request) => {
    if (request.name !== HEALTH_LEASE || namespace === undefined || request.namespace !== namespace) return {};
    const patch = [{ op: 'replace', path: '/metadata/annotations/kyverno.io~1last-request-time', value: now.toISOString().replace(/\.\d{3}Z$/, 'Z') }];
    return { patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') };
  });
}

/** An AdmissionReview answered `allowed`, with what `extra` adds to the response. */
function answerAllowed(body: string, extra: (request: Json) => Json): ReviewReply {
  try {
    const review = asObject(JSON.parse(body) as unknown);
    const request = asObject(review.request);
    if (review.kind !== 'AdmissionReview' || typeof request.uid !== 'string') return errorReply(400, 'bad AdmissionReview: expected an admission.k8s.io/v1 AdmissionReview with request.uid');
    const response: Json = { uid: request.uid, allowed: true, ...extra(request) };
    return { status: 200, body: JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }), allowed: true, outcomes: [], reportable: [] };
  } catch (e) {
    if (e instanceof SyntaxError) return errorReply(400, `body is not JSON: ${e.message}`);
    return errorReply(500, `answering failed: ${(e as Error).message}`);
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
