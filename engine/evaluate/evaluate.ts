/**
 * The one evaluation path of the project: `kyverno-studio apply` and `test`, the run
 * commands and the language server's manifest diagnostics all call evaluateResource, so they
 * give one answer. It runs every policy against a resource the way the Kyverno CLI's policy
 * processor does: Kyverno mutate policies first (each sees the previous one's patched resource), then
 * verifyImages, then the other Kyverno policies, then MutatingAdmissionPolicies and then
 * MutatingPolicies (chained), then the remaining CEL kinds on the mutated resource;
 * image-validating and deleting policies last, on the resource as loaded.
 */
import { applyPolicy } from '../apply';
import type {
  AdmissionRequest,
  ClusterState,
  GroupVersionKind,
  JsonObject,
  Operation,
  PolicyRef,
  RequestInfo,
  RuleResult,
  TestValues,
} from '../core/types';
import { isObject } from '../loader/classify';
import { authzModeOf } from '../cel';
import { ImageVerificationContext } from '../cel/image-validating-policy';
import type { PolicyKindIndex } from './candidates';

/** Everything one policy produced on one resource during the run. */
export interface EngineResponse {
  policy: PolicyRef;
  /** The resource as given to the policy. */
  resource: JsonObject;
  /** The resource after the policy's mutations. */
  patchedResource: JsonObject;
  rules: RuleResult[];
  /** Annotations of the policy (for `policies.kyverno.io/scored`). */
  policyAnnotations: Record<string, string>;
  /** Set when the engine threw: the rows for this policy report an error. */
  error?: string;
}

export interface EvaluationInput {
  policies: JsonObject[];
  resources: JsonObject[];
  cluster: ClusterState;
  values?: TestValues;
  requestInfo?: RequestInfo;
  now?: Date;
  /** The engine entry point; replaceable so the run order can be tested on its own. */
  engine?: PolicyApplier;
  /**
   * Leave deleting policies out: they are not admission-driven, so the CLI runs them only in
   * its default run, not in the extra run for results that declare an `operation`.
   */
  admissionOnly?: boolean;
  /**
   * An index built over `policies`: each resource is then evaluated only against the
   * policies whose match can select its kind. Policies that cannot answer add nothing to the
   * results but an empty response, so only those empty answers go (and their cost).
   */
  candidates?: PolicyKindIndex;
}

export type PolicyApplier = typeof applyPolicy;

export interface ResourceEvaluation {
  resource: JsonObject;
  /** The resource after every mutation of the run. */
  patched: JsonObject;
  responses: EngineResponse[];
}

const KYVERNO_GROUP = 'kyverno.io/';
const MUTATING_POLICY_KINDS = new Set(['MutatingPolicy', 'NamespacedMutatingPolicy']);
/** Kinds the CLI applies after the processor, to the resource as loaded (not mutated). */
const ORIGINAL_RESOURCE_KINDS = new Set([
  'ImageValidatingPolicy',
  'NamespacedImageValidatingPolicy',
  'DeletingPolicy',
  'NamespacedDeletingPolicy',
]);

const DELETING_KINDS = new Set(['DeletingPolicy', 'NamespacedDeletingPolicy']);
const IMAGE_VALIDATING_KINDS = new Set(['ImageValidatingPolicy', 'NamespacedImageValidatingPolicy']);

function rulesOf(policy: JsonObject): JsonObject[] {
  const spec = isObject(policy.spec) ? policy.spec : {};
  return Array.isArray(spec.rules) ? spec.rules.filter(isObject) as JsonObject[] : [];
}

/** The processor's phases, in the order it runs them. */
const PHASE = {
  kyvernoMutate: 0,
  verifyImages: 1,
  kyvernoOther: 2,
  mutatingAdmissionPolicy: 3,
  mutatingPolicy: 4,
  otherCel: 5,
  /** Run on the resource as loaded, not as mutated. */
  original: 6,
} as const;

/** Phases whose patched resource the next policies see. */
const CHAINED_PHASES: ReadonlySet<number> = new Set([PHASE.kyvernoMutate, PHASE.verifyImages, PHASE.mutatingAdmissionPolicy, PHASE.mutatingPolicy]);

/** Which processor phase evaluates the policy (lower runs first). */
export function policyPhase(policy: JsonObject): number {
  const apiVersion = String(policy.apiVersion ?? '');
  if (apiVersion.startsWith(KYVERNO_GROUP)) {
    const rules = rulesOf(policy);
    if (rules.some((r) => r.mutate !== undefined)) return PHASE.kyvernoMutate;
    if (rules.some((r) => r.verifyImages !== undefined)) return PHASE.verifyImages;
    return PHASE.kyvernoOther;
  }
  const kind = String(policy.kind);
  if (kind === 'MutatingAdmissionPolicy') return PHASE.mutatingAdmissionPolicy;
  if (MUTATING_POLICY_KINDS.has(kind)) return PHASE.mutatingPolicy;
  return ORIGINAL_RESOURCE_KINDS.has(kind) ? PHASE.original : PHASE.otherCel;
}

/**
 * Whether the CLI keeps a policy's answer without rules (the test then reports the resource
 * as excluded) or drops it (the resource is "not found" for that policy). Kyverno policies
 * and ValidatingAdmissionPolicies always answer. Validating and mutating policies answer
 * unless their matchConstraints are a plain selection of kinds (the processor's hasSelector):
 * one resourceRule without resourceNames, no exclusions and no label selectors. Other CEL
 * kinds (image-validating, deleting, generating, MutatingAdmissionPolicy) leave no trace.
 */
export function keepsUnmatchedResponse(policy: JsonObject): boolean {
  if (isKyvernoPolicy(policy)) return true;
  const kind = String(policy.kind ?? '');
  if (kind === 'ValidatingAdmissionPolicy') return true;
  if (!SELECTOR_AWARE_KINDS.has(kind)) return false;
  const spec = isObject(policy.spec) ? policy.spec : {};
  const evaluation = isObject(spec.evaluation) ? spec.evaluation : {};
  // JSON-mode policies are not matched against admission attributes at all.
  if (evaluation.mode === 'JSON') return false;
  return !isPlainKindSelection(spec.matchConstraints);
}

const SELECTOR_AWARE_KINDS = new Set(['ValidatingPolicy', 'NamespacedValidatingPolicy', 'MutatingPolicy', 'NamespacedMutatingPolicy']);

function hasLabelTerms(selector: unknown): boolean {
  if (!isObject(selector)) return false;
  const labels = isObject(selector.matchLabels) ? Object.keys(selector.matchLabels).length : 0;
  const expressions = Array.isArray(selector.matchExpressions) ? selector.matchExpressions.length : 0;
  return labels + expressions > 0;
}

/** The processor's hasSelector: matchConstraints that only name kinds (see keepsUnmatchedResponse). */
function isPlainKindSelection(constraints: unknown): boolean {
  if (!isObject(constraints)) return false;
  if (hasLabelTerms(constraints.namespaceSelector) || hasLabelTerms(constraints.objectSelector)) return false;
  if (Array.isArray(constraints.excludeResourceRules) && constraints.excludeResourceRules.length > 0) return false;
  const rules = Array.isArray(constraints.resourceRules) ? constraints.resourceRules : [];
  if (rules.length !== 1) return false;
  const rule = isObject(rules[0]) ? rules[0] : {};
  return !(Array.isArray(rule.resourceNames) && rule.resourceNames.length > 0);
}

export function isKyvernoPolicy(policy: JsonObject): boolean {
  return String(policy.apiVersion ?? '').startsWith(KYVERNO_GROUP);
}

/** `request.operation` from the values file, else CREATE (Kyverno CLI default). */
export function operationFrom(values: TestValues | undefined): Operation {
  const op = values?.globalValues?.['request.operation'];
  return op === 'UPDATE' || op === 'DELETE' || op === 'CONNECT' ? op : 'CREATE';
}

function gvkOf(apiVersion: unknown, kind: unknown): GroupVersionKind {
  const api = String(apiVersion ?? '');
  const slash = api.indexOf('/');
  return { group: slash >= 0 ? api.slice(0, slash) : '', version: slash >= 0 ? api.slice(slash + 1) : api, kind: String(kind ?? '') };
}

/**
 * The values file's `subresources` (without a cluster, as the CLI runs tests): a resource of a
 * subresource's kind is requested as that subresource of its parent, e.g. a v1 Binding as
 * `pods/binding` of kind Pod.
 */
export function subresourceTarget(resource: JsonObject, values: TestValues | undefined): { kind: GroupVersionKind; subResource: string } | null {
  const own = gvkOf(resource.apiVersion, resource.kind);
  let found: { kind: GroupVersionKind; subResource: string } | null = null;
  // Kyverno keeps scanning: the last matching entry wins.
  for (const entry of values?.subresources ?? []) {
    const sub = isObject(entry.subresource) ? entry.subresource : {};
    const parent = isObject(entry.parentResource) ? entry.parentResource : {};
    if (String(sub.group ?? '') !== own.group || String(sub.version ?? '') !== own.version || String(sub.kind ?? '') !== own.kind) continue;
    const name = String(sub.name ?? '');
    found = {
      kind: { group: String(parent.group ?? ''), version: String(parent.version ?? ''), kind: String(parent.kind ?? '') },
      subResource: name.split('/')[1] ?? '',
    };
  }
  return found;
}

function requestFor(resource: JsonObject, operation: Operation, requestInfo: RequestInfo, values?: TestValues): AdmissionRequest {
  const meta = isObject(resource.metadata) ? resource.metadata : {};
  const namespace = typeof meta.namespace === 'string' ? meta.namespace : undefined;
  const copy = () => structuredClone(resource);
  const target = subresourceTarget(resource, values);
  const base = { namespace, requestInfo, ...(target ?? {}) };
  switch (operation) {
    case 'UPDATE':
      return { operation, object: resource, oldObject: copy(), ...base };
    case 'DELETE':
      return { operation, object: null, oldObject: copy(), ...base };
    case 'CONNECT':
      return { operation, object: null, oldObject: null, ...base };
    default:
      return { operation: 'CREATE', object: resource, oldObject: null, ...base };
  }
}

/** Per policy object (policies are immutable once loaded): every resource's response carries them, read-only. */
const policyAnnotations = new WeakMap<JsonObject, Record<string, string>>();

function annotationsOf(policy: JsonObject): Record<string, string> {
  let out = policyAnnotations.get(policy);
  if (out) return out;
  const meta = isObject(policy.metadata) ? policy.metadata : {};
  const ann = isObject(meta.annotations) ? meta.annotations : {};
  out = {};
  for (const [k, v] of Object.entries(ann)) if (typeof v === 'string') out[k] = v;
  policyAnnotations.set(policy, Object.freeze(out));
  return out;
}

function policyRefOf(policy: JsonObject): EngineResponse['policy'] {
  const meta = isObject(policy.metadata) ? policy.metadata : {};
  return {
    apiVersion: String(policy.apiVersion ?? ''),
    kind: String(policy.kind ?? ''),
    name: String(meta.name ?? ''),
    ...(typeof meta.namespace === 'string' ? { namespace: meta.namespace } : {}),
  };
}

function errorMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0];
}

interface OrderedPolicy { policy: JsonObject; phase: number }

/** Run orders per policy list (the same list serves many resources: a corpus, an editor's keystrokes). */
const runOrders = new WeakMap<readonly JsonObject[], { all: OrderedPolicy[]; admission: OrderedPolicy[] }>();

function runOrder(policies: readonly JsonObject[], admissionOnly: boolean): OrderedPolicy[] {
  let orders = runOrders.get(policies);
  if (!orders) {
    const all = policies
      // Envoy/HTTP policies answer authorization requests only (the CLI loads them apart).
      .filter((policy) => authzModeOf(policy) === null)
      .map((policy, index) => ({ policy, index, phase: policyPhase(policy) }))
      .sort((a, b) => a.phase - b.phase || a.index - b.index)
      .map(({ policy, phase }) => ({ policy, phase }));
    orders = { all, admission: all.filter(({ policy }) => !DELETING_KINDS.has(String(policy.kind))) };
    runOrders.set(policies, orders);
  }
  return admissionOnly ? orders.admission : orders.all;
}

function sameKind(a: JsonObject, b: JsonObject): boolean {
  return a === b || (a.kind === b.kind && a.apiVersion === b.apiVersion);
}

export function evaluateResource(input: EvaluationInput, resource: JsonObject): ResourceEvaluation {
  const operation = operationFrom(input.values);
  const requestInfo = input.requestInfo ?? { roles: [], clusterRoles: [], userInfo: {} };
  const ordered = runOrder(input.policies, input.admissionOnly === true);
  // Policies that cannot select the resource's kind are skipped, as long as no mutation has
  // changed that kind (then every policy runs, as without an index).
  const candidates = input.candidates
    ? input.candidates.selectsForRequest(subresourceTarget(resource, input.values)?.kind, resource)
    : undefined;
  let current = resource;
  const responses: EngineResponse[] = [];
  // The CLI runs all MutatingPolicies in one engine call: each answer reports the resource
  // as that call received it and the patched resource after all of them.
  let mutatingPoliciesInput: JsonObject | null = null;
  const mutatingPolicyAnswers: EngineResponse[] = [];
  // Made at the first ImageValidatingPolicy: the request's policies share their image verifications.
  let imageVerifications: ImageVerificationContext | undefined;
  for (const { policy, phase } of ordered) {
    const given = phase === PHASE.original ? resource : current;
    if (candidates && !candidates.has(policy) && sameKind(given, resource)) continue;
    if (phase === PHASE.mutatingPolicy) mutatingPoliciesInput ??= current;
    const base: EngineResponse = {
      policy: policyRefOf(policy),
      resource: given,
      patchedResource: given,
      rules: [],
      policyAnnotations: annotationsOf(policy),
    };
    try {
      // No defensive copy per policy: applyPolicy leaves its request untouched (guarded by
      // test/testing/evaluate-inputs.test.ts), and copying every resource for every policy
      // was a measurable share of a corpus run.
      if (phase === PHASE.original && IMAGE_VALIDATING_KINDS.has(String(policy.kind))) imageVerifications ??= new ImageVerificationContext();
      const response = (input.engine ?? applyPolicy)(policy, {
        request: requestFor(given, operation, requestInfo, input.values),
        cluster: input.cluster,
        values: input.values,
        now: input.now,
        ...(imageVerifications ? { imageVerifications } : {}),
      });
      const patched = isObject(response.patchedResource) ? response.patchedResource : given;
      if (response.rules.length === 0 && !keepsUnmatchedResponse(policy)) continue;
      const answer: EngineResponse = { ...base, rules: response.rules, patchedResource: patched };
      responses.push(answer);
      if (phase === PHASE.mutatingPolicy) mutatingPolicyAnswers.push(answer);
      if (CHAINED_PHASES.has(phase)) current = patched;
    } catch (err) {
      responses.push({ ...base, error: errorMessage(err) });
    }
  }
  // Kyverno settles `required` once every ImageValidatingPolicy of the request has run.
  imageVerifications?.settle();
  for (const answer of mutatingPolicyAnswers) {
    answer.resource = mutatingPoliciesInput ?? answer.resource;
    answer.patchedResource = current;
  }
  return { resource, patched: current, responses };
}

export function evaluateResources(input: EvaluationInput): ResourceEvaluation[] {
  return input.resources.map((r) => evaluateResource(input, r));
}
