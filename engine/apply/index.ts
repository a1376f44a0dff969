/**
 * The engine's entry point. CEL policy kinds go to the CEL engine; classic policies run as
 * Kyverno runs them: mutate rules first (each on the resource the previous one patched),
 * then verifyImages, validate rules on the patched resource, and generate rules. For every
 * rule: match/exclude, policy exceptions, rule context, preconditions, then the rule
 * itself (Kyverno's invokeRuleHandler). A rule that does not match produces no result.
 */
import { applyCelPolicy, isCelPolicy } from '../cel';
import { evaluateConditions } from '../conditions';
import { baseScope, loadContextEntries, type ContextEnvironment } from '../context';
import type { AdmissionRequest, ClusterState, JsonObject, PolicyResponse, RuleResult, RuleType, TestValues } from '../core/types';
import { ruleMatchesRequest } from '../match';
import { applyGenerateRule } from '../generate';
import { applyMutateRule } from '../mutate';
import { isClassicPolicy, policyName, policyNamespace, policyRef, policyRules, policySpec, ruleFailureAction } from '../policy';
import { validateRule } from '../validate';
import { ruleError } from '../validate/results';
import { withVariables, type VariableScope } from '../variables';
import { computeRules } from '../autogen';
import { exceptionSkip, hasPodSecurity, matchingExceptions } from './exceptions';
import { podSecurityRuleResult } from '../pss';
import { providedNames, requestForValues, resourceValues, ruleValues, withRuleValues } from './values';

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
}

function meta(o: JsonObject | null | undefined): JsonObject {
  return o?.metadata && typeof o.metadata === 'object' ? (o.metadata as JsonObject) : {};
}

function resourceRef(obj: JsonObject | null): PolicyResponse['resource'] {
  const m = meta(obj);
  const ref: PolicyResponse['resource'] = { apiVersion: String(obj?.apiVersion ?? ''), kind: String(obj?.kind ?? ''), name: String(m.name ?? '') };
  if (typeof m.namespace === 'string' && m.namespace !== '') ref.namespace = m.namespace;
  return ref;
}

interface RunState {
  policy: JsonObject;
  options: ApplyOptions;
  request: AdmissionRequest;
  scope: VariableScope;
  resourceVals: Record<string, unknown>;
  policyKey: string;
}

type Prepared = { scope: VariableScope; env: ContextEnvironment; exceptions: JsonObject[] } | { result: RuleResult } | null;

const isPodSecurityRule = (rule: JsonObject): boolean =>
  !!rule.validate && typeof rule.validate === 'object' && (rule.validate as JsonObject).podSecurity !== undefined;

/**
 * Match, rule context, preconditions, then policy exceptions (Kyverno's invokeRuleHandler
 * and the handlers' MatchesException, in that order). podSecurity rules get their matched
 * exceptions back instead of a skip: the PSS handler decides (see runValidate).
 */
function prepareRule(rule: JsonObject, type: RuleType, st: RunState, request: AdmissionRequest): Prepared {
  const name = String(rule.name ?? '');
  const { cluster } = st.options;
  if (!ruleMatchesRequest(rule, request, cluster, policyNamespace(st.policy)).matched) return null;
  const rv = ruleValues(st.options.values, policyName(st.policy), name);
  const env: ContextEnvironment = { cluster, provided: providedNames(rv, st.resourceVals) };
  let scope = withRuleValues(st.scope, rv, 0);
  scope = loadContextEntries(rule.context, scope, env).scope;
  const pre = evaluateConditions(rule.preconditions, scope);
  if (pre.error !== undefined) return { result: ruleError(name, 'failed to evaluate preconditions', pre.error, type) };
  if (!pre.passed) {
    return { result: { name, type, status: 'skip', message: ['preconditions not met', pre.message].filter(Boolean).join('; ') } };
  }
  const exceptions = matchingExceptions(cluster.exceptions ?? [], st.policyKey, name, request, cluster, scope);
  if (!isPodSecurityRule(rule)) {
    const exempt = exceptionSkip(name, type, exceptions);
    if (exempt) return { result: exempt };
  }
  return { scope, env, exceptions };
}

/**
 * A generate rule as the CLI decides it (ApplyBackgroundChecks' filterRule): exceptions
 * first (before match, in the request's context), then match, rule context and
 * preconditions; preconditions not met is a skip without message and an unevaluable one is
 * "failed to evaluate conditions".
 */
function prepareGenerateRule(rule: JsonObject, st: RunState, request: AdmissionRequest): Prepared {
  const name = String(rule.name ?? '');
  const { cluster } = st.options;
  const exempt = exceptionSkip(name, 'Generation', matchingExceptions(cluster.exceptions ?? [], st.policyKey, name, request, cluster, st.scope));
  if (exempt) return { result: exempt };
  if (!ruleMatchesRequest(rule, request, cluster, policyNamespace(st.policy)).matched) return null;
  const rv = ruleValues(st.options.values, policyName(st.policy), name);
  const env: ContextEnvironment = { cluster, provided: providedNames(rv, st.resourceVals) };
  const scope = loadContextEntries(rule.context, withRuleValues(st.scope, rv, 0), env).scope;
  const pre = evaluateConditions(rule.preconditions, scope);
  if (pre.error !== undefined) return { result: ruleError(name, 'failed to evaluate conditions', pre.error, 'Generation') };
  if (!pre.passed) return { result: { name, type: 'Generation', status: 'skip', message: '' } };
  return { scope, env, exceptions: [] };
}

function contextLoaderFor(st: RunState, env: ContextEnvironment, ruleName: string) {
  const rv = ruleValues(st.options.values, policyName(st.policy), ruleName);
  return (entries: unknown[], scope: VariableScope): VariableScope => {
    const index = typeof scope.data.elementIndex === 'number' ? scope.data.elementIndex : 0;
    return loadContextEntries(entries, withRuleValues(scope, rv, index), env).scope;
  };
}

function withObject(scope: VariableScope, object: JsonObject): VariableScope {
  const request = { ...(scope.data.request as JsonObject), object };
  return { ...scope, data: { ...scope.data, request } };
}

function runMutate(st: RunState, resource: JsonObject, out: RuleResult[]): JsonObject {
  let current = resource;
  for (const rule of policyRules(st.policy)) {
    if (!rule.mutate) continue;
    const request: AdmissionRequest = st.request.operation === 'DELETE' ? st.request : { ...st.request, object: current };
    const prepared = prepareRule(rule, 'Mutation', st, request);
    if (!prepared) continue;
    if ('result' in prepared) {
      out.push(prepared.result);
      continue;
    }
    const outcome = applyMutateRule(rule, current, prepared.scope, {
      targetResources: st.options.cluster.resources,
      policyNamespace: policyNamespace(st.policy),
      loadContext: contextLoaderFor(st, prepared.env, String(rule.name ?? '')),
    });
    if (outcome.targets && outcome.targets.length > 0) out.push(...outcome.targets.map((t) => t.result));
    else out.push(outcome.result);
    current = outcome.patched;
    st.scope = withObject(st.scope, current);
  }
  return current;
}

// Built by factories rather than inline: the bundle's keepNames would otherwise rename a
// fresh closure on every rule of every request.
function foreachValuesFor(st: RunState, name: string): (scope: VariableScope, index: number) => VariableScope {
  return (scope, index) => withRuleValues(scope, ruleValues(st.options.values, policyName(st.policy), name), index);
}

function oldObjectMatcher(st: RunState, rule: JsonObject, request: AdmissionRequest): (old: JsonObject) => boolean {
  return (old) =>
    ruleMatchesRequest(rule, { ...request, operation: 'CREATE', object: old, oldObject: null }, st.options.cluster, policyNamespace(st.policy)).matched;
}

function runValidate(st: RunState, resource: JsonObject | null, out: RuleResult[]): void {
  const applyOne = policySpec(st.policy).applyRules === 'One';
  const kind = String(resource?.kind ?? '');
  const ns = meta(resource).namespace;
  for (const rule of computeRules(st.policy, kind)) {
    if (!rule.validate) continue;
    const name = String(rule.name ?? '');
    const request: AdmissionRequest =
      st.request.operation === 'DELETE' || !resource || st.request.object === resource ? st.request : { ...st.request, object: resource };
    const prepared = prepareRule(rule, 'Validation', st, request);
    if (!prepared) continue;
    let result: RuleResult | null;
    if ('result' in prepared) result = prepared.result;
    else if (isPodSecurityRule(rule) && prepared.exceptions.some((ex) => !hasPodSecurity(ex))) {
      // validate/ hands the PSS handler only exceptions with podSecurity controls; one without
      // them skips the rule (but, as in Kyverno, gives no response on DELETE).
      // engine/pss tells the two apart by a missing podSecurity field; Kyverno by an empty one.
      const exceptions = prepared.exceptions.map((ex) => (hasPodSecurity(ex) ? ex : { ...ex, spec: { ...(ex.spec as JsonObject), podSecurity: undefined } }));
      result = podSecurityRuleResult(rule, request, resource, { exceptions });
    } else {
      result = validateRule(
        {
          policy: st.policy,
          rule,
          ruleName: name,
          context: prepared.env,
          options: st.options,
          withForeachValues: foreachValuesFor(st, name),
          exceptions: prepared.exceptions,
          oldObjectMatches: oldObjectMatcher(st, rule, request),
        },
        prepared.scope,
        request,
        resource,
      );
    }
    if (!result) continue;
    result.failureAction = ruleFailureAction(st.policy, rule, typeof ns === 'string' ? ns : undefined);
    out.push(result);
    if (applyOne && (result.status === 'pass' || result.status === 'fail')) break;
  }
}

function runGenerate(st: RunState, resource: JsonObject, out: RuleResult[]): void {
  const results: RuleResult[] = [];
  let controllerFailed = false;
  for (const rule of policyRules(st.policy)) {
    if (!rule.generate) continue;
    const request: AdmissionRequest = st.request.operation === 'DELETE' ? st.request : { ...st.request, object: resource };
    const prepared = prepareGenerateRule(rule, st, request);
    if (!prepared) continue;
    if ('result' in prepared) {
      results.push(prepared.result);
      continue;
    }
    const outcome = applyGenerateRule(rule, resource, prepared.scope, st.options.cluster.resources, {
      policyNamespace: policyNamespace(st.policy),
      policyName: policyName(st.policy),
      loadContext: contextLoaderFor(st, prepared.env, String(rule.name ?? '')),
      policyGenerateExisting: typeof policySpec(st.policy).generateExisting === 'boolean' ? (policySpec(st.policy).generateExisting as boolean) : undefined,
    });
    if (outcome.controllerError !== undefined) controllerFailed = true;
    results.push(outcome.result);
  }
  // The CLI drops every generated resource of the policy when its controller fails on one rule.
  if (controllerFailed) for (const r of results) if (r.generatedResources) r.generatedResources = [];
  out.push(...results);
}

function runVerifyImages(st: RunState, out: RuleResult[]): void {
  for (const rule of policyRules(st.policy)) {
    if (!Array.isArray(rule.verifyImages) || rule.verifyImages.length === 0) continue;
    const prepared = prepareRule(rule, 'ImageVerify', st, st.request);
    if (!prepared) continue;
    if ('result' in prepared) out.push(prepared.result);
    else out.push(ruleError(String(rule.name ?? ''), 'image verification needs registry access, which is not available offline', undefined, 'ImageVerify'));
  }
}

/** Applies one policy (any supported kind) to the request's resource. */
export function applyPolicy(policy: JsonObject, options: ApplyOptions): PolicyResponse {
  if (isCelPolicy(policy)) return applyCelPolicy(policy, options);
  const original = (options.request.operation === 'DELETE' ? options.request.oldObject : options.request.object) ?? options.request.oldObject ?? options.request.object;
  const response: PolicyResponse = { policy: policyRef(policy), resource: resourceRef(original), rules: [], patchedResource: original ?? {} };
  if (!isClassicPolicy(policy)) {
    response.rules.push({ name: '', type: 'Validation', status: 'error', message: `unsupported policy kind ${String(policy.apiVersion)}/${String(policy.kind)}` });
    return response;
  }
  const vals = resourceValues(options.values, policyName(policy), String(meta(original).name ?? ''));
  const request = requestForValues(options.request, vals);
  // Scopes are never changed in place, so without values the request's shared scope serves as is.
  let scope = Object.keys(vals).length === 0 ? baseScope(request, options.now) : withVariables(baseScope(request, options.now), vals);
  // Values may rewrite request.object (the CLI reads the resource back from its context).
  const req = scope.data.request as JsonObject;
  let resource = (request.operation === 'DELETE' ? req.oldObject : req.object) as JsonObject | null | undefined;
  if (!resource || typeof resource !== 'object') resource = null;
  const st: RunState = { policy, options, request, scope, resourceVals: vals, policyKey: policyKeyOf(policy) };
  const phases = new Set<ApplyPhase>(options.phases ?? ['mutate', 'verifyImages', 'validate', 'generate']);
  if (phases.has('mutate') && resource && request.operation !== 'DELETE') {
    const before = resource;
    resource = runMutate(st, resource, response.rules);
    // Like the CLI, later phases start from a context built on the mutated resource (images included).
    if (resource !== before) {
      const patchedRequest = { ...request, object: resource };
      st.request = patchedRequest;
      st.scope = withVariables(baseScope(patchedRequest, options.now), vals);
    }
  }
  if (phases.has('verifyImages')) runVerifyImages(st, response.rules);
  if (phases.has('validate')) runValidate(st, resource, response.rules);
  if (phases.has('generate') && resource) runGenerate(st, resource, response.rules);
  response.patchedResource = resource ?? original ?? {};
  return response;
}

function policyKeyOf(policy: JsonObject): string {
  const ns = policyNamespace(policy);
  return ns ? `${ns}/${policyName(policy)}` : policyName(policy);
}
