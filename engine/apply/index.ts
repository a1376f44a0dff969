/**
 * The engine's entry point. CEL policy kinds go to the CEL engine; classic policies run as
 * Kyverno runs them: mutate rules first (each on the resource the previous one patched),
 * then verifyImages, validate rules on the patched resource, and generate rules. For every
 * rule: match/exclude, policy exceptions, rule context, preconditions, then the rule
 * itself (Kyverno's invokeRuleHandler). A rule that does not match produces no result.
 */
import { applyCelPolicy, isCelPolicy, webhookMatchConditionsHold } from '../cel';
import { evaluateConditions } from '../conditions';
import { baseScope, loadContextEntries, scopeWithoutImages, type ContextEnvironment } from '../context';
import type { AdmissionRequest, ClusterState, JsonObject, PolicyResponse, RuleResult, RuleType, TestValues } from '../core/types';
import { ruleMatchesRequest } from '../match';
import { resourceGVK } from '../kube';
import { applyGenerateRule } from '../generate';
import { applyMutateRule } from '../mutate';
import { policySpec } from '../policy';
import { validateRule, type ValidateEnvironment } from '../validate';
import { ruleError } from '../validate/results';
import type { ImageVerificationContext } from '../cel/image-validating-policy';
import { imageVerificationAnnotationPatches, matchingImages, validateImagesPass, verifyImagesPass, type ImagePatch, type VerificationStatus } from '../verify-images';
import { applyJsonPatch, type Operation } from '../mutate/jsonPatch';
import { substituteAll, VariableError, withVariables, type VariableScope } from '../variables';
import { computedRules } from '../autogen';
import { exceptionSkip, hasPodSecurity, matchingExceptions } from './exceptions';
import { podSecurityRuleResult } from '../pss';
import { providedNames, requestForValues, resourceValues, ruleValues, withRuleValues } from './values';
import { failureActionFor, literalPassResult, literalPassResults, policyPlan, rulePlan, validateRulesFor, type PolicyPlan, type RulePlan } from './plan';
import { enterJsonContext, enterRule, leaveJsonContext, withEvaluationBudget, type JsonContextSize } from '../core/budget';

export type ApplyPhase = 'mutate' | 'verifyImages' | 'validate' | 'generate';

export interface ApplyOptions {
  request: AdmissionRequest;
  cluster: ClusterState;
  /**
   * Test values (cli.kyverno.io Values), added to every rule's context before its entries;
   * entries needing a cluster keep a supplied value, `variable` entries replace it (as the CLI).
   */
  values?: TestValues;
  /** Clock for time_* functions and CEL now(); tests pin it. */
  now?: Date;
  /**
   * Which rule kinds to run (all by default). The Kyverno CLI runs every policy's mutate
   * rules before any validate rule; a caller applying several policies can do the same by
   * applying them phase by phase, feeding each patchedResource to the next.
   */
  phases?: readonly ApplyPhase[];
  /**
   * Shared by the ImageValidatingPolicies of one request (verified images, payloads, deferred
   * `required` checks); the caller calls settle() after the last policy. Without it each policy
   * stands alone.
   */
  imageVerifications?: ImageVerificationContext;
  /**
   * The JSON context sizes the classic policies of one admission review share, by phase
   * (Kyverno's webhook evaluates a review's mutate policies in one policy context, builds
   * another for its image verification, and one for its validation: resource/handlers.go).
   * A phase without one gets its own per policy, as the CLI's makePolicyContext.
   */
  contextSizes?: Partial<Record<ApplyPhase, JsonContextSize>>;
}

function meta(o: JsonObject | null | undefined): JsonObject {
  return o?.metadata && typeof o.metadata === 'object' ? (o.metadata as JsonObject) : {};
}

function buildResourceRef(obj: JsonObject | null): PolicyResponse['resource'] {
  const m = meta(obj);
  const apiVersion = String(obj?.apiVersion ?? '');
  const kind = String(obj?.kind ?? '');
  const name = String(m.name ?? '');
  // One literal per shape: adding namespace afterwards would grow the object.
  return typeof m.namespace === 'string' && m.namespace !== '' ? { apiVersion, kind, name, namespace: m.namespace } : { apiVersion, kind, name };
}

// Every policy applied to one request reports the same resource; resources are never
// changed in place and requests are evaluated one after the other, so the last answer is
// remembered. Shared between responses, hence frozen (as is each policy's ref).
let lastResource: JsonObject | null = null;
let lastResourceRef: PolicyResponse['resource'] | null = null;

function resourceRef(obj: JsonObject | null): PolicyResponse['resource'] {
  if (obj === null) return buildResourceRef(obj);
  if (lastResource !== obj || !lastResourceRef) {
    lastResourceRef = Object.freeze(buildResourceRef(obj));
    lastResource = obj;
  }
  return lastResourceRef;
}

interface RunState {
  policy: JsonObject;
  plan: PolicyPlan;
  options: ApplyOptions;
  request: AdmissionRequest;
  scope: VariableScope;
  resourceVals: Record<string, unknown>;
  /**
   * The policy's results so far (null until the first: most policies give one). A literal
   * pattern's pass as the first result is its rule plan's shared, frozen list (sharedRules).
   */
  rules: RuleResult[] | null;
  sharedRules: boolean;
  /** What prepareRule found for the rule it last prepared (read right after it returns). */
  env: ContextEnvironment | null;
  exceptions: JsonObject[];
  /** The prepared rule's `reportProperties`, substituted once its preconditions held (undefined: it has none). */
  properties: Record<string, string> | undefined;
  /** The resource once the phases ran (undefined until then). */
  resource?: JsonObject | null;
}

/** Adds a result; the first starts a one-element list (a push onto [] would reserve room for 17). */
function addRule(st: RunState, result: RuleResult): void {
  if (st.rules === null) st.rules = [result];
  else if (st.sharedRules) {
    st.rules = [...st.rules, result];
    st.sharedRules = false;
  } else st.rules.push(result);
}

const NO_EXCEPTIONS: JsonObject[] = [];

/** A classic rule's `reportProperties` as written (Kyverno's map[string]string). */
function reportPropertiesOf(rule: JsonObject): Record<string, string> | undefined {
  const raw = rule.reportProperties;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) if (typeof v === 'string') out[k] = v;
  return Object.keys(out).length ? out : undefined;
}

/**
 * Kyverno's SubstitutePropertiesInRule, run once the rule's preconditions hold: on failure
 * (a variable that does not resolve, a value that is no longer a string) it logs and the
 * properties stay as written.
 */
function substituteReportProperties(properties: Record<string, string>, scope: VariableScope): Record<string, string> {
  let substituted: unknown;
  try {
    substituted = substituteAll(properties, scope);
  } catch (e) {
    if (e instanceof VariableError) return properties;
    throw e;
  }
  const values = Object.values(substituted as Record<string, unknown>);
  return values.every((v) => typeof v === 'string') ? (substituted as Record<string, string>) : properties;
}

/** A rule's result with its report properties (Kyverno builds every rule response with them); the handler's own come on top. */
function withProperties(result: RuleResult, properties: Record<string, string> | undefined): RuleResult {
  if (!properties) return result;
  return { ...result, properties: { ...properties, ...result.properties } };
}

// Without test values every rule of every policy sees the same (read-only) environment.
let sharedEnvironment: ContextEnvironment | null = null;

function environmentFor(cluster: ClusterState, provided: ReadonlySet<string>): ContextEnvironment {
  if (provided.size > 0) return { cluster, provided };
  if (sharedEnvironment?.cluster !== cluster || sharedEnvironment.provided !== provided) sharedEnvironment = { cluster, provided };
  return sharedEnvironment;
}

/** The exceptions naming this rule that apply (none to look at in most clusters). */
function exceptionsFor(st: RunState, name: string, request: AdmissionRequest, scope: VariableScope): JsonObject[] {
  const all = st.options.cluster.exceptions;
  if (!all || all.length === 0) return NO_EXCEPTIONS;
  return matchingExceptions(all, st.plan.key, name, request, st.options.cluster, scope);
}

/** The rule's test values (none outside `kyverno test`). */
function valuesOfRule(st: RunState, name: string) {
  return st.options.values ? ruleValues(st.options.values, st.plan.name, name) : undefined;
}

/**
 * The rule's scope when it is to run (its context environment and exceptions are left in
 * st.env and st.exceptions: no object per rule), a result when it is decided already, or
 * null when it does not apply.
 */
type Prepared = VariableScope | { result: RuleResult } | null;

const isPodSecurityRule = (rule: JsonObject): boolean =>
  !!rule.validate && typeof rule.validate === 'object' && (rule.validate as JsonObject).podSecurity !== undefined;

/**
 * Match, rule context, preconditions, then policy exceptions (Kyverno's invokeRuleHandler
 * and the handlers' MatchesException, in that order). podSecurity rules get their matched
 * exceptions back instead of a skip: the PSS handler decides (see runValidate).
 */
function prepareRule(rule: JsonObject, type: RuleType, st: RunState, request: AdmissionRequest, name = String(rule.name ?? '')): Prepared {
  enterRule(name);
  const { cluster } = st.options;
  if (!ruleMatchesRequest(rule, request, cluster, st.plan.namespace).matched) return null;
  const rv = valuesOfRule(st, name);
  const env = environmentFor(cluster, providedNames(rv, st.resourceVals));
  let scope = withRuleValues(st.scope, rv, 0);
  // Results decided before the preconditions hold carry the properties as written.
  let properties = reportPropertiesOf(rule);
  if (rule.context !== undefined) {
    const loaded = loadContextEntries(rule.context, scope, env);
    if (loaded.error !== undefined) return { result: withProperties(ruleError(name, 'failed to load context', loaded.error, type), properties) };
    scope = loaded.scope;
  }
  if (rule.preconditions !== undefined && rule.preconditions !== null) {
    const pre = evaluateConditions(rule.preconditions, scope);
    if (pre.error !== undefined) return { result: withProperties(ruleError(name, 'failed to evaluate preconditions', pre.error, type), properties) };
    if (!pre.passed) {
      return { result: withProperties({ name, type, status: 'skip', message: ['preconditions not met', pre.message].filter(Boolean).join('; ') }, properties) };
    }
  }
  if (properties) properties = substituteReportProperties(properties, scope);
  const exceptions = exceptionsFor(st, name, request, scope);
  if (exceptions.length > 0 && !isPodSecurityRule(rule)) {
    const exempt = exceptionSkip(name, type, exceptions);
    if (exempt) return { result: withProperties(exempt, properties) };
  }
  st.env = env;
  st.exceptions = exceptions;
  st.properties = properties;
  return scope;
}

/**
 * A generate rule as the CLI decides it (ApplyBackgroundChecks' filterRule): exceptions
 * first (before match, in the request's context), then match, rule context and
 * preconditions; preconditions not met is a skip without message and an unevaluable one is
 * "failed to evaluate conditions".
 */
function prepareGenerateRule(rule: JsonObject, st: RunState, request: AdmissionRequest): Prepared {
  const name = String(rule.name ?? '');
  enterRule(name);
  const { cluster } = st.options;
  const exempt = exceptionSkip(name, 'Generation', exceptionsFor(st, name, request, st.scope));
  if (exempt) return { result: exempt };
  if (!ruleMatchesRequest(rule, request, cluster, st.plan.namespace).matched) return null;
  const rv = valuesOfRule(st, name);
  const env = environmentFor(cluster, providedNames(rv, st.resourceVals));
  const loaded = loadContextEntries(rule.context, withRuleValues(st.scope, rv, 0), env);
  if (loaded.error !== undefined) return { result: ruleError(name, 'failed to load context', loaded.error, 'Generation') };
  const scope = loaded.scope;
  const pre = evaluateConditions(rule.preconditions, scope);
  if (pre.error !== undefined) return { result: ruleError(name, 'failed to evaluate conditions', pre.error, 'Generation') };
  if (!pre.passed) return { result: { name, type: 'Generation', status: 'skip', message: '' } };
  st.env = env;
  st.exceptions = NO_EXCEPTIONS;
  return scope;
}

function contextLoaderFor(st: RunState, env: ContextEnvironment, ruleName: string) {
  const rv = valuesOfRule(st, ruleName);
  return (entries: unknown[], scope: VariableScope): VariableScope => {
    const index = typeof scope.data.elementIndex === 'number' ? scope.data.elementIndex : 0;
    return loadContextEntries(entries, withRuleValues(scope, rv, index), env).scope;
  };
}

function withObject(scope: VariableScope, object: JsonObject): VariableScope {
  const request = { ...(scope.data.request as JsonObject), object };
  return { ...scope, data: { ...scope.data, request } };
}

function runMutate(st: RunState, resource: JsonObject): JsonObject {
  let current = resource;
  for (const rule of computedRules(st.policy)) {
    if (!rule.mutate) continue;
    const request: AdmissionRequest = st.request.operation === 'DELETE' ? st.request : { ...st.request, object: current };
    const prepared = prepareRule(rule, 'Mutation', st, request);
    if (!prepared) continue;
    if ('result' in prepared) {
      addRule(st, prepared.result);
      continue;
    }
    const outcome = applyMutateRule(rule, current, prepared, {
      targetResources: st.options.cluster.resources,
      policyNamespace: st.plan.namespace,
      loadContext: contextLoaderFor(st, st.env!, String(rule.name ?? '')),
    });
    if (outcome.targets && outcome.targets.length > 0) for (const t of outcome.targets) addRule(st, withProperties(t.result, st.properties));
    else addRule(st, withProperties(outcome.result, st.properties));
    current = outcome.patched;
    st.scope = withObject(st.scope, current);
  }
  return current;
}

/**
 * What a validate rule needs beyond its scope. A class rather than an object literal with
 * closures: one allocation per rule, and the callbacks cost nothing unless called.
 */
class RuleEnvironment implements ValidateEnvironment {
  readonly policy: JsonObject;
  readonly options: ApplyOptions;
  constructor(
    private readonly st: RunState,
    readonly rule: JsonObject,
    readonly ruleName: string,
    readonly context: ContextEnvironment,
    readonly exceptions: JsonObject[],
    private readonly request: AdmissionRequest,
  ) {
    this.policy = st.policy;
    this.options = st.options;
  }

  withForeachValues(scope: VariableScope, index: number): VariableScope {
    return withRuleValues(scope, valuesOfRule(this.st, this.ruleName), index);
  }

  /**
   * Kyverno's validation matchResource for the old object: matched as a CREATE of its own kind
   * (no subresource: the old Scale of a `StatefulSet/scale` request is not a StatefulSet) and
   * by an identity no rule names (its current user may not be the one who made it).
   */
  oldObjectMatches(old: JsonObject): boolean {
    const { subResource: _sub, resourceKind: _parent, ...request } = this.request;
    const asCreate: AdmissionRequest = { ...request, operation: 'CREATE', object: old, oldObject: null, kind: resourceGVK(old), requestInfo: OLD_OBJECT_REQUESTER };
    return ruleMatchesRequest(this.rule, asCreate, this.st.options.cluster, this.st.plan.namespace).matched;
  }
}

/** The identity Kyverno matches an old object with (validation/utils.go matchResource). */
const OLD_OBJECT_REQUESTER: AdmissionRequest['requestInfo'] = {
  roles: ['kyverno:invalidrole'],
  clusterRoles: ['kyverno:invalidrole'],
  userInfo: { username: 'kyverno:kyverno-invalid-controller', uid: 'kyverno:invaliduid', groups: ['kyverno:invalidgroup'] },
};

function runValidate(st: RunState, resource: JsonObject | null): void {
  const kind = String(resource?.kind ?? '');
  const ns = meta(resource).namespace;
  const namespace = typeof ns === 'string' ? ns : undefined;
  const request: AdmissionRequest =
    st.request.operation === 'DELETE' || !resource || st.request.object === resource ? st.request : { ...st.request, object: resource };
  const rules = validateRulesFor(st.policy, st.plan, kind).rules;
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i][0];
    const plan = rules[i][1];
    const name = plan.name;
    // A verifyImages rule in the validate pass: only on resources with a matching image, never on DELETE.
    const imageChecks = plan.imageChecks;
    if (imageChecks && (request.operation === 'DELETE' || matchingImages(rule, resource).length === 0)) continue;
    const prepared = prepareRule(rule, 'Validation', st, request, name);
    if (!prepared) continue;
    let result: RuleResult | null;
    if ('result' in prepared) result = prepared.result;
    else if (imageChecks) result = validateImagesPass(name, rule, resource, { namespace: st.plan.namespace ?? '', name: st.plan.name });
    else if (plan.podSecurity && st.exceptions.some((ex) => !hasPodSecurity(ex))) {
      // validate/ hands the PSS handler only exceptions with podSecurity controls; one without
      // them skips the rule (but, as in Kyverno, gives no response on DELETE).
      // engine/pss tells the two apart by a missing podSecurity field; Kyverno by an empty one.
      const exceptions = st.exceptions.map((ex) => (hasPodSecurity(ex) ? ex : { ...ex, spec: { ...(ex.spec as JsonObject), podSecurity: undefined } }));
      result = podSecurityRuleResult(rule, request, resource, { exceptions });
    } else if (plan.literalCheck !== undefined && resource && request.operation !== 'DELETE' && plan.literalCheck(resource)) {
      // What validateRule answers for a plain literal pattern that holds (on UPDATE too: a
      // pass is kept whatever the old object gives), built with its failure action in place
      // (same keys, same order). Anything but a pass goes the long way (and words the failure).
      const action = failureActionFor(st.policy, rule, plan, namespace, namespace === undefined ? undefined : st.options.cluster.namespaceLabels[namespace]);
      if (st.rules === null) {
        st.rules = literalPassResults(plan, action) as RuleResult[];
        st.sharedRules = true;
      } else addRule(st, literalPassResult(plan, action));
      if (st.plan.applyOne) break;
      continue;
    } else {
      const env = new RuleEnvironment(st, rule, name, st.env!, st.exceptions, request);
      result = validateRule(env, prepared, request, resource);
    }
    if (!result) continue;
    if (!('result' in prepared)) result = withProperties(result, st.properties);
    result.failureAction = failureActionFor(st.policy, rule, plan, namespace, namespace === undefined ? undefined : st.options.cluster.namespaceLabels[namespace]);
    addRule(st, result);
    if (st.plan.applyOne && (result.status === 'pass' || result.status === 'fail')) break;
  }
}

function runGenerate(st: RunState, resource: JsonObject): void {
  const results: RuleResult[] = [];
  let controllerFailed = false;
  for (const rule of computedRules(st.policy)) {
    if (!rule.generate) continue;
    const request: AdmissionRequest = st.request.operation === 'DELETE' ? st.request : { ...st.request, object: resource };
    const prepared = prepareGenerateRule(rule, st, request);
    if (!prepared) continue;
    if ('result' in prepared) {
      results.push(prepared.result);
      continue;
    }
    const outcome = applyGenerateRule(rule, resource, prepared, st.options.cluster.resources, {
      policyNamespace: st.plan.namespace,
      policyName: st.plan.name,
      loadContext: contextLoaderFor(st, st.env!, String(rule.name ?? '')),
      policyGenerateExisting: typeof policySpec(st.policy).generateExisting === 'boolean' ? (policySpec(st.policy).generateExisting as boolean) : undefined,
    });
    if (outcome.controllerError !== undefined) controllerFailed = true;
    results.push(outcome.result);
  }
  // The CLI drops every generated resource of the policy when its controller fails on one rule.
  if (controllerFailed) for (const r of results) if (r.generatedResources) r.generatedResources = [];
  for (const r of results) addRule(st, r);
}

function runVerifyImages(st: RunState, resource: JsonObject | null): JsonObject | null {
  const snapshot = st.options.cluster.imageRegistry;
  const patches: ImagePatch[] = [];
  const metadata: Record<string, Record<string, VerificationStatus>> = {};
  for (const rule of computedRules(st.policy)) {
    if (!Array.isArray(rule.verifyImages) || rule.verifyImages.length === 0) continue;
    // Kyverno builds the handler (which lists the matching images) before the rule's context
    // and preconditions; a rule whose references match no image gives no result at all.
    const images = matchingImages(rule, resource);
    if (images.length === 0) continue;
    const prepared = prepareRule(rule, 'ImageVerify', st, st.request);
    if (!prepared) continue;
    if ('result' in prepared) {
      addRule(st, prepared.result);
      continue;
    }
    const name = String(rule.name ?? '');
    const update = st.request.operation === 'UPDATE' && st.request.oldObject && typeof st.request.oldObject === 'object'
      ? { object: resource, oldObject: st.request.oldObject, policyKey: `${st.plan.namespace ?? ''}/${st.plan.name}` }
      : undefined;
    const outcome = verifyImagesPass(name, rule, images, snapshot, prepared, st.options.now, update);
    const ns = meta(resource).namespace;
    const action = failureActionFor(st.policy, rule, rulePlan(st.policy, st.plan, rule), typeof ns === 'string' ? ns : undefined, typeof ns === 'string' ? st.options.cluster.namespaceLabels[ns] : undefined);
    for (const result of outcome.results) addRule(st, withProperties({ ...result, failureAction: action }, st.properties));
    patches.push(...outcome.patches);
    for (const { image, status } of outcome.verified) (metadata[name] ??= {})[image] = status;
  }
  if (!resource || !snapshot) return resource;
  // With registry access the pass records its verdicts on the resource (Kyverno's verify-images annotations).
  const ops: unknown[] = [...patches];
  if (Object.keys(metadata).length > 0) ops.push(...imageVerificationAnnotationPatches(resource, `${st.plan.namespace ?? ''}/${st.plan.name}`, metadata));
  return ops.length > 0 ? (applyJsonPatch(resource, ops as Operation[]) as JsonObject) : resource;
}

const ALL_PHASES: readonly ApplyPhase[] = ['mutate', 'verifyImages', 'validate', 'generate'];

type PhaseSet = Readonly<Record<ApplyPhase, boolean> & { validateOnly: boolean }>;

// Callers pass the same phase list for every policy of a request: the last one's set is kept.
let lastPhases: readonly ApplyPhase[] | null = null;
let lastPhaseSet: PhaseSet = { mutate: false, verifyImages: false, validate: false, generate: false, validateOnly: false };

function phaseSet(phases: readonly ApplyPhase[]): PhaseSet {
  if (phases !== lastPhases) {
    const set = { mutate: phases.includes('mutate'), verifyImages: phases.includes('verifyImages'), validate: phases.includes('validate'), generate: phases.includes('generate') };
    lastPhaseSet = { ...set, validateOnly: set.validate && !set.mutate && !set.verifyImages && !set.generate };
    lastPhases = phases;
  }
  return lastPhaseSet;
}
const NO_VALUES: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

/** Applies one policy (any supported kind) to the request's resource. */
export function applyPolicy(policy: JsonObject, options: ApplyOptions): PolicyResponse {
  const plan = policyPlan(policy);
  return withEvaluationBudget(plan.key, evaluatePolicy, policy, plan, options);
}

/**
 * Whether a rule's plain deny conditions (RulePlan.plainDeny) do not hold for the request:
 * evaluated in the scope the long way would give the rule (the request's base scope: no test
 * values, no context entries; without `images` when no variable reads it), where they read
 * plain paths only, so evaluating them twice (here, then the long way for anything but a
 * pass) changes nothing. An error is no pass either.
 */
function plainDenyPasses(r: RulePlan, request: AdmissionRequest, now: Date | undefined): boolean {
  const outcome = evaluateConditions(r.plainDeny, r.plainDenyReadsImages ? baseScope(request, now) : scopeWithoutImages(request, now));
  return outcome.error === undefined && !outcome.passed;
}

/**
 * The validate pass of a policy whose rules for the resource's kind are all literal patterns
 * or plain deny conditions without context entries (the webhook's common case), when nothing
 * else can decide a rule: no test values, no policy exception in the cluster, a CREATE or
 * UPDATE with an object. Each matching rule's pattern must hold, or its deny conditions must
 * not; the results are then what runValidate gives (prepareRule would only match the rule,
 * and the validate handler passes it), without building the run's state. Null when any of
 * this does not hold or a rule does not pass: the long way runs from the start and decides
 * (and words a failure).
 */
function literalPasses(policy: JsonObject, plan: PolicyPlan, options: ApplyOptions): RuleResult[] | null {
  const { request, cluster } = options;
  const resource = request.object;
  if (options.values || !phaseSet(options.phases ?? ALL_PHASES).validateOnly || request.operation === 'DELETE' || !resource || typeof resource !== 'object') return null;
  if (cluster.exceptions && cluster.exceptions.length > 0) return null;
  const validate = validateRulesFor(policy, plan, String(resource.kind ?? ''));
  if (!validate.literalOnly) return null;
  const rules = validate.rules;
  // A shared list is frozen (a change in place throws), as runValidate's first result.
  let out: RuleResult[] | null = null;
  let namespace: string | undefined;
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i][0];
    const r = rules[i][1];
    enterRule(r.name);
    if (!ruleMatchesRequest(rule, request, cluster, plan.namespace).matched) continue;
    if (r.literalCheck !== undefined ? !r.literalCheck(resource) : !plainDenyPasses(r, request, options.now)) return null;
    if (out === null) {
      const ns = meta(resource).namespace;
      namespace = typeof ns === 'string' ? ns : undefined;
    }
    const action = failureActionFor(policy, rule, r, namespace, namespace === undefined ? undefined : cluster.namespaceLabels[namespace]);
    // One result: the rule plan's shared list (as runValidate's first result); more: a new list.
    out = out === null ? (literalPassResults(r, action) as RuleResult[]) : [...out, literalPassResult(r, action)];
    if (plan.applyOne) break;
  }
  return out ?? [];
}

/** Like the CLI, later phases start from a context built on the patched resource (images included). */
function rebaseOn(st: RunState, patched: JsonObject | null): void {
  const patchedRequest = { ...st.request, object: patched };
  st.request = patchedRequest;
  st.scope = withVariables(baseScope(patchedRequest, st.options.now), st.resourceVals);
}

function evaluatePolicy(policy: JsonObject, plan: PolicyPlan, options: ApplyOptions): PolicyResponse {
  if (plan.cel) return applyCelPolicy(policy, options);
  const original = (options.request.operation === 'DELETE' ? options.request.oldObject : options.request.object) ?? options.request.oldObject ?? options.request.object;
  if (!plan.classic) {
    const message = `unsupported policy kind ${String(policy.apiVersion)}/${String(policy.kind)}`;
    return { policy: plan.ref, resource: resourceRef(original), rules: [{ name: '', type: 'Validation', status: 'error', message }], patchedResource: original ?? {} };
  }
  // The policy's webhook matchConditions, which Kyverno's engine checks before any rule: when
  // they do not hold, the policy answers with no rule at all.
  if (plan.matchConditions !== undefined && !webhookMatchConditionsHold(plan.matchConditions, options)) {
    return { policy: plan.ref, resource: resourceRef(original), rules: [], patchedResource: original ?? {} };
  }
  const passed = literalPasses(policy, plan, options);
  if (passed !== null) return { policy: plan.ref, resource: resourceRef(original), rules: passed, patchedResource: original! };
  // Without test values (the webhook) there is nothing to merge into any scope.
  const vals = options.values ? resourceValues(options.values, plan.name, String(meta(original).name ?? '')) : NO_VALUES;
  const request = vals === NO_VALUES ? options.request : requestForValues(options.request, vals);
  // Scopes are never changed in place, so without values the request's shared scope serves as is.
  const scope = vals === NO_VALUES || Object.keys(vals).length === 0 ? baseScope(request, options.now) : withVariables(baseScope(request, options.now), vals);
  // Values may rewrite request.object (the CLI reads the resource back from its context).
  const req = scope.data.request as JsonObject;
  let resource = (request.operation === 'DELETE' ? req.oldObject : req.object) as JsonObject | null | undefined;
  if (!resource || typeof resource !== 'object') resource = null;
  const st: RunState = { policy, plan, options, request, scope, resourceVals: vals, rules: null, sharedRules: false, env: null, exceptions: NO_EXCEPTIONS, properties: undefined, resource: undefined };
  // Each phase enters its own (phaseContext); this keeps the outer one to put back.
  const outer = enterJsonContext(null);
  try {
    runPhases(st, resource, req);
  } finally {
    leaveJsonContext(outer);
  }
  // The policy's ref and the resource's are shared between responses (frozen, read-only).
  return { policy: plan.ref, resource: resourceRef(original), rules: st.rules ?? [], patchedResource: st.resource ?? original ?? {} };
}

/** The phase's JSON context: the review's for that phase, else its own (the CLI builds one per policy and phase). */
function phaseContext(st: RunState, phase: ApplyPhase): void {
  enterJsonContext(st.options.contextSizes?.[phase] ?? { bytes: 0 });
}

function runPhases(st: RunState, start: JsonObject | null, req: JsonObject): void {
  const { request, options } = st;
  let resource = start;
  const phases = phaseSet(options.phases ?? ALL_PHASES);
  // A DELETE carries no new object, so nothing to mutate; except in the background, where
  // Kyverno's mutate-existing runs a DELETE's rules with the deleted trigger as the new
  // resource (pkg/background/common/context.go: WithNewResource(trigger)).
  if (phases.mutate && resource && (request.operation !== 'DELETE' || (req.object !== null && typeof req.object === 'object'))) {
    phaseContext(st, 'mutate');
    const before = resource;
    resource = runMutate(st, resource);
    if (resource !== before) rebaseOn(st, resource);
  }
  if (phases.verifyImages && request.operation !== 'DELETE') {
    phaseContext(st, 'verifyImages');
    const before = resource;
    resource = runVerifyImages(st, resource);
    if (resource !== before) rebaseOn(st, resource);
  }
  if (phases.validate) {
    phaseContext(st, 'validate');
    runValidate(st, resource);
  }
  if (phases.generate && resource) {
    phaseContext(st, 'generate');
    runGenerate(st, resource);
  }
  st.resource = resource;
}
