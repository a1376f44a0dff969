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
  PolicyResponse,
  RequestInfo,
  RuleResult,
  TestValues,
} from '../core/types';
import { isObject } from '../loader/classify';
import { isExactJson } from '../core/json';
import { authzModeOf } from '../cel';
import { IMAGE_VALIDATING_KINDS, ImageVerificationContext } from '../cel/image-validating-policy';
import type { PolicyKindIndex } from './candidates';
import { ReadRecorder, readsHold, holdsView, type ReadNode } from '../core/read-tracking';

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
  /**
   * Responses of earlier runs in the same context, reused when a policy meets an equal
   * resource again (see ResponseMemo: the caller vouches that nothing else changed).
   */
  memo?: ResponseMemo;
}

/** Responses kept per policy (the last few resources it saw). */
const MEMO_PER_POLICY = 4;

/** Fields of the cluster state that hold the evaluated resources (they change with them). */
const CLUSTER_RESOURCE_FIELDS: ReadonlySet<string | symbol> = new Set(['resources', 'parameters', 'apiCallsAllowed']);

interface MemoEntry {
  /** The resource as JSON text: the response holds for an equal resource. */
  key?: string;
  /** What the evaluation read of the resource: the response holds while these reads do. */
  reads?: ReadNode;
  /** The cluster's resources as JSON, when the evaluation looked at them. */
  clusterKey?: string;
  /** What a recorded evaluation read of the cluster's resources (ClusterResources). */
  clusterReads?: ReadNode;
  response: PolicyResponse;
}

type ClusterResources = Pick<ClusterState, 'resources' | 'parameters' | 'apiCallsAllowed'>;

/** The cluster state with its resource fields read through a recording view of them. */
function recordingCluster(cluster: ClusterState, view: ClusterResources): ClusterState {
  return new Proxy(cluster, {
    get(target, key, receiver) {
      return CLUSTER_RESOURCE_FIELDS.has(key) ? view[key as keyof ClusterResources] : Reflect.get(target, key, receiver);
    },
    has(target, key) {
      return CLUSTER_RESOURCE_FIELDS.has(key) ? key in view : Reflect.has(target, key);
    },
    getOwnPropertyDescriptor(target, key) {
      const descriptor = Reflect.getOwnPropertyDescriptor(target, key);
      if (!descriptor || !CLUSTER_RESOURCE_FIELDS.has(key) || !descriptor.configurable) return descriptor;
      return { ...descriptor, value: view[key as keyof ClusterResources] };
    },
  });
}

/**
 * A result the recording view itself caused: a view cannot be structured-cloned (V8's
 * DataCloneError), which the engine reports as the rule's error. Other errors are the
 * evaluation's own and depend on what it read like any other result.
 */
function failedOnView(rule: RuleResult): boolean {
  return rule.status === 'error' && /could not be cloned/.test(rule.message ?? '');
}

/** A view of the cluster state that notes whether an evaluation looked at its resources. */
interface WatchedCluster { view: ClusterState; readResources: boolean }

/**
 * What policies answered in earlier runs, for runs whose context is the same: the same
 * cluster state apart from the evaluated resources it holds (exceptions, bindings, registry
 * snapshot), values, request info, operation and clock. The caller keeps one memo per such
 * context and drops it when the context changes. Within it a policy's response depends on
 * the policy (objects are immutable: identity), the resource it is given and, when the
 * evaluation looked at them, the cluster's resources (compared as JSON text). A response is
 * reused for an equal resource (JSON text) or, for a validating Kyverno policy on a CREATE
 * without values, for any resource on which everything the evaluation read reads the same
 * (read-tracking.ts): an edit of a label re-evaluates only the policies that read it. So a
 * run that only adds or changes policies (a workspace scan in progress, an edited policy) or
 * edits a field few policies read evaluates only what changed, including the policies after a
 * mutation whose output changed. A resource JSON cannot carry exactly (Infinity, -0...) is
 * never looked up by its text; an exception is never kept.
 */
export class ResponseMemo {
  private readonly entries = new WeakMap<JsonObject, MemoEntry[]>();
  private readonly keys = new WeakMap<JsonObject, string | null>();
  private readonly clusterKeys = new WeakMap<ClusterState, string | null>();
  private readonly watched = new WeakMap<ClusterState, WatchedCluster>();
  private readonly held = new WeakMap<ClusterState, ClusterResources>();
  /** Policies whose recorded evaluation did not fit once: not recorded again (it costs a second evaluation). */
  private readonly unrecordable = new WeakSet<JsonObject>();
  /** Responses reused and computed, and computed ones kept with their reads (for tests and measurements). */
  hits = 0;
  misses = 0;
  tracked = 0;

  /** The resource's key, or null when it cannot have one. */
  keyOf(resource: JsonObject): string | null {
    let key = this.keys.get(resource);
    if (key === undefined) {
      key = isExactJson(resource) ? JSON.stringify(resource) : null;
      this.keys.set(resource, key);
    }
    return key;
  }

  /** The cluster's evaluated resources as JSON text, or null when they cannot have one. */
  private clusterKeyOf(cluster: ClusterState): string | null {
    let key = this.clusterKeys.get(cluster);
    if (key === undefined) {
      const held = [cluster.resources, cluster.parameters ?? null, cluster.apiCallsAllowed ?? null];
      key = isExactJson(held) ? JSON.stringify(held) : null;
      this.clusterKeys.set(cluster, key);
    }
    return key;
  }

  /** The response of an earlier evaluation that holds for this resource in this cluster. */
  lookup(policy: JsonObject, resource: JsonObject, cluster: ClusterState): PolicyResponse | undefined {
    for (const entry of this.entries.get(policy) ?? []) {
      if (entry.clusterKey !== undefined && entry.clusterKey !== this.clusterKeyOf(cluster)) continue;
      if (entry.clusterReads && !readsHold(entry.clusterReads, this.resourcesOf(cluster))) continue;
      if (entry.reads) {
        if (!readsHold(entry.reads, resource)) continue;
        this.hits++;
        // Validating policies hand back the resource they were given.
        return { ...entry.response, patchedResource: resource };
      }
      if (entry.key !== undefined && entry.key === this.keyOf(resource)) {
        this.hits++;
        return entry.response;
      }
    }
    this.misses++;
    return undefined;
  }

  /**
   * Evaluates and keeps the response. `trackable`: the policy does not change the resource,
   * so its reads can be recorded (a response that does not fit, one that changed the
   * resource, holds a view or failed on one, is computed again without).
   */
  evaluate(policy: JsonObject, resource: JsonObject, cluster: ClusterState, trackable: boolean, apply: (resource: JsonObject, cluster: ClusterState) => PolicyResponse): PolicyResponse {
    if (trackable && !this.unrecordable.has(policy)) {
      const recorder = new ReadRecorder(resource);
      const clusterRecorder = new ReadRecorder(this.resourcesOf(cluster));
      let response: PolicyResponse | undefined;
      try {
        response = apply(recorder.view as JsonObject, recordingCluster(cluster, clusterRecorder.view as ClusterResources));
      } catch {
        response = undefined;
      }
      recorder.stop();
      clusterRecorder.stop();
      if (response && !recorder.wrote && !clusterRecorder.wrote && response.patchedResource === recorder.view
        && !response.rules.some(failedOnView) && !holdsView(response.rules)) {
        const kept = { ...response, patchedResource: resource };
        this.store(policy, { reads: recorder.root, clusterReads: clusterRecorder.root, response: kept });
        this.tracked++;
        return kept;
      }
      this.unrecordable.add(policy);
    }
    const watch = this.watch(cluster);
    watch.readResources = false;
    const response = apply(resource, watch.view);
    const key = this.keyOf(resource);
    if (key === null) return response;
    if (!watch.readResources) this.store(policy, { key, response });
    else {
      const clusterKey = this.clusterKeyOf(cluster);
      if (clusterKey !== null) this.store(policy, { key, clusterKey, response });
    }
    return response;
  }

  /** The cluster's fields that hold evaluated resources, in one object (the same one per cluster). */
  private resourcesOf(cluster: ClusterState): ClusterResources {
    let held = this.held.get(cluster);
    if (!held) {
      const fields: Record<string, unknown> = {};
      for (const key of CLUSTER_RESOURCE_FIELDS) if (typeof key === 'string' && key in cluster) fields[key] = cluster[key as keyof ClusterResources];
      held = fields as ClusterResources;
      this.held.set(cluster, held);
    }
    return held;
  }

  private watch(cluster: ClusterState): WatchedCluster {
    let watched = this.watched.get(cluster);
    if (!watched) {
      const w: WatchedCluster = { view: cluster, readResources: false };
      w.view = new Proxy(cluster, {
        get(target, key, receiver) {
          if (CLUSTER_RESOURCE_FIELDS.has(key)) w.readResources = true;
          return Reflect.get(target, key, receiver);
        },
        has(target, key) {
          if (CLUSTER_RESOURCE_FIELDS.has(key)) w.readResources = true;
          return Reflect.has(target, key);
        },
        ownKeys(target) {
          w.readResources = true;
          return Reflect.ownKeys(target);
        },
      });
      this.watched.set(cluster, (watched = w));
    }
    return watched;
  }

  private store(policy: JsonObject, entry: MemoEntry): void {
    let list = this.entries.get(policy);
    if (!list) this.entries.set(policy, (list = []));
    list.push(entry);
    if (list.length > MEMO_PER_POLICY) list.shift();
  }
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

const GENERATING_KINDS = new Set(['GeneratingPolicy', 'NamespacedGeneratingPolicy']);

/**
 * Whether a policy's reads of the resource are recorded: not for generating policies and
 * Kyverno policies with generate rules (their results carry objects built from the
 * resource). A policy that does change the resource is recorded in vain (its response is
 * computed again without: see ResponseMemo.evaluate).
 */
function tracksReads(policy: JsonObject, phase: number): boolean {
  if (phase === PHASE.original || GENERATING_KINDS.has(String(policy.kind))) return false;
  return !rulesOf(policy).some((r) => r.generate !== undefined);
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
  // Reads are recorded on a plain CREATE: values and old objects have their own ways in.
  const trackable = operation === 'CREATE' && input.values === undefined;
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
      if (phase === PHASE.original && IMAGE_VALIDATING_KINDS.has(String(policy.kind))) imageVerifications ??= new ImageVerificationContext();
      // Image-validating policies share verdicts within a run (imageVerifications): never reused.
      const memo = IMAGE_VALIDATING_KINDS.has(String(policy.kind)) ? undefined : input.memo;
      // No defensive copy per policy: applyPolicy leaves its request untouched (guarded by
      // test/testing/evaluate-inputs.test.ts), and copying every resource for every policy
      // was a measurable share of a corpus run.
      const apply = (resource: JsonObject, cluster: ClusterState) => (input.engine ?? applyPolicy)(policy, {
        request: requestFor(resource, operation, requestInfo, input.values),
        cluster,
        values: input.values,
        now: input.now,
        ...(imageVerifications ? { imageVerifications } : {}),
      });
      const response = !memo
        ? apply(given, input.cluster)
        : memo.lookup(policy, given, input.cluster) ?? memo.evaluate(policy, given, input.cluster, trackable && tracksReads(policy, phase), apply);
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
