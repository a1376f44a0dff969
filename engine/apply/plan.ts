/**
 * What applying a classic policy needs to know about the policy and its rules that does not
 * depend on the request, worked out once per policy object. Policies are never changed in
 * place once loaded (every engine cache relies on it: autogen, patterns, match filters), so
 * the answers live as long as the policy object.
 */
import { hasVerifyImageChecks } from '../verify-images';
import { isCelPolicy } from '../cel';
import { computedRules } from '../autogen';
import type { JsonObject, PolicyRef, RuleResult } from '../core/types';
import { isLiteralDocument, readsPlainPathsOnly } from '../variables';
import { passedMessage, patternCheck, type PatternCheck } from '../pattern';
import { isClassicPolicy, policyName, policyNamespace, policyRef, policySpec, ruleFailureAction, type FailureAction } from '../policy';

export interface PolicyPlan {
  cel: boolean;
  classic: boolean;
  name: string;
  namespace: string | undefined;
  /** `namespace/name` for a Policy, the name for a ClusterPolicy (how exceptions name it). */
  key: string;
  ref: Readonly<PolicyRef>;
  spec: JsonObject;
  /** `spec.webhookConfiguration.matchConditions` when it is a list (checked before any rule). */
  matchConditions: unknown[] | undefined;
  /** `spec.applyRules: One`. */
  applyOne: boolean;
  rules: WeakMap<JsonObject, RulePlan>;
  /** The validate rules Kyverno evaluates for a resource kind, with their plans. */
  validateRulesByKind: Map<string, ValidateRules>;
  lastKind?: string;
  lastValidateRules?: ValidateRules;
}

/** A policy's validate rules for one resource kind. */
export interface ValidateRules {
  rules: ReadonlyArray<readonly [JsonObject, RulePlan]>;
  /**
   * Every one is a literal pattern (RulePlan.literalCheck) or plain deny conditions
   * (RulePlan.plainDeny), without context entries: once such a rule matches, with no test
   * values and no policy exception, its pattern or its conditions alone decide a pass.
   */
  literalOnly: boolean;
}

export interface RulePlan {
  name: string;
  podSecurity: boolean;
  /** The validate failure action when no namespace override can change it, else null. */
  failureAction: FailureAction | null;
  /**
   * The rule's `validate.pattern` when the rule is nothing but that pattern and the pattern
   * holds no variable (no deny, preconditions, podSecurity, cel, assert or manifests): a
   * pass can then be decided by matching it alone. Undefined otherwise.
   */
  literalPattern: unknown;
  /** literalPattern compiled (pattern/compiled.ts): true only when matching it passes. */
  literalCheck: PatternCheck | undefined;
  /**
   * The rule's `validate.deny.conditions` when the rule is nothing but deny conditions whose
   * keys and values read plain paths of the scope at most (readsPlainPathsOnly: no JMESPath
   * function, nothing built, nothing scanned twice): evaluated in the request's base scope,
   * conditions that do not hold decide a pass, as the validate handler would. Undefined otherwise.
   */
  plainDeny: unknown;
  /** Some variable of plainDeny starts at `images` (the others resolve the same without it). */
  plainDenyReadsImages: boolean;
  /** Kyverno's message when the rule passes (set with literalPattern or plainDeny). */
  passedMessage: string;
  /** A verifyImages rule in the validate pass (no `validate` block). */
  imageChecks: boolean;
  /**
   * The pass result of a literal pattern, per failure action (made on first use; Enforce
   * first, then Audit: a slot by index is read faster than a property by a variable name).
   * Shared by every response that passes the rule, hence frozen: nothing may change a result
   * in place.
   */
  passed: [Readonly<RuleResult> | undefined, Readonly<RuleResult> | undefined];
  /** The same result as a policy's whole (frozen) list of results: most policies have one rule. */
  passedAlone: [readonly RuleResult[] | undefined, readonly RuleResult[] | undefined];
}

const plans = new WeakMap<JsonObject, PolicyPlan>();

export function policyPlan(policy: JsonObject): PolicyPlan {
  let plan = plans.get(policy);
  if (plan) return plan;
  const name = policyName(policy);
  const namespace = policyNamespace(policy);
  plan = {
    cel: isCelPolicy(policy),
    classic: isClassicPolicy(policy),
    name,
    namespace,
    key: namespace ? `${namespace}/${name}` : name,
    // Every response of the policy carries this ref (read-only, hence frozen).
    ref: Object.freeze(policyRef(policy)),
    spec: policySpec(policy),
    matchConditions: webhookMatchConditionsOf(policySpec(policy)),
    applyOne: policySpec(policy).applyRules === 'One',
    rules: new WeakMap(),
    validateRulesByKind: new Map(),
    lastKind: undefined,
    lastValidateRules: undefined,
  };
  plans.set(policy, plan);
  return plan;
}

function webhookMatchConditionsOf(spec: JsonObject): unknown[] | undefined {
  const conditions = asObject(spec.webhookConfiguration)?.matchConditions;
  return Array.isArray(conditions) ? conditions : undefined;
}

function asObject(v: unknown): JsonObject | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as JsonObject) : undefined;
}

export function rulePlan(policy: JsonObject, plan: PolicyPlan, rule: JsonObject): RulePlan {
  let r = plan.rules.get(rule);
  if (r) return r;
  const validate = asObject(rule.validate);
  // Overrides only apply given a namespace; without any the action is the same for all.
  const overridable = Array.isArray(validate?.failureActionOverrides) || Array.isArray(plan.spec.validationFailureActionOverrides);
  r = {
    name: String(rule.name ?? ''),
    podSecurity: validate !== undefined && validate.podSecurity !== undefined,
    failureAction: overridable ? null : ruleFailureAction(policy, rule, undefined),
    literalPattern: validate && isPlainPatternRule(rule, validate) ? validate.pattern : undefined,
    literalCheck: undefined,
    plainDeny: undefined,
    plainDenyReadsImages: false,
    passedMessage: '',
    imageChecks: !rule.validate,
    passed: [undefined, undefined],
    passedAlone: [undefined, undefined],
  };
  const roots = new Set<string>();
  if (validate && isPlainDenyRule(rule, validate, roots)) {
    r.plainDeny = asObject(validate.deny)!.conditions;
    r.plainDenyReadsImages = roots.has('images');
  }
  if (r.literalPattern !== undefined || r.plainDeny !== undefined) r.passedMessage = passedMessage(r.name);
  if (r.literalPattern !== undefined) {
    if (typeof r.literalPattern === 'object' && r.literalPattern !== null) r.literalCheck = patternCheck(r.literalPattern);
  }
  plan.rules.set(rule, r);
  return r;
}

/**
 * What engine/validate runs for this rule is the pattern alone, matched as written: every
 * handler it would pick first is absent, as are preconditions (checked again there) and
 * report properties, and read-only substitution would return the pattern itself.
 */
function isPlainPatternRule(rule: JsonObject, validate: JsonObject): boolean {
  return (
    validate.manifests === undefined &&
    validate.podSecurity === undefined &&
    validate.cel === undefined &&
    validate.assert === undefined &&
    asObject(validate.deny) === undefined &&
    (rule.preconditions === undefined || rule.preconditions === null) &&
    // The shared pass results carry no properties to substitute.
    rule.reportProperties === undefined &&
    validate.pattern !== undefined &&
    validate.pattern !== null &&
    isLiteralDocument(validate.pattern)
  );
}

/**
 * What engine/validate runs for this rule is its deny conditions alone (the validator looks at
 * deny before any pattern or foreach), in the scope the rule starts from: no handler picked
 * before it, no preconditions or report properties; the conditions read plain paths at most.
 * Conditions that are absent deny, which is no pass: such a rule is left to the long way.
 */
function isPlainDenyRule(rule: JsonObject, validate: JsonObject, roots: Set<string>): boolean {
  const deny = asObject(validate.deny);
  return (
    deny !== undefined &&
    deny.conditions !== undefined &&
    deny.conditions !== null &&
    validate.manifests === undefined &&
    validate.podSecurity === undefined &&
    validate.cel === undefined &&
    validate.assert === undefined &&
    (rule.preconditions === undefined || rule.preconditions === null) &&
    rule.reportProperties === undefined &&
    readsPlainPathsOnly(deny.conditions, roots)
  );
}

/** ruleFailureAction, from the plan when the namespace cannot change it. */
export function failureActionFor(policy: JsonObject, rule: JsonObject, r: RulePlan, namespace: string | undefined, namespaceLabels?: Record<string, string>): FailureAction {
  return r.failureAction ?? ruleFailureAction(policy, rule, namespace, namespaceLabels);
}

/** The result of a rule whose literal pattern holds (what validateRule answers then), shared. */
export function literalPassResult(r: RulePlan, action: FailureAction): RuleResult {
  // The same keys in the same order as the long way's result with its action set.
  return (r.passed[action === 'Enforce' ? 0 : 1] ??= Object.freeze({ name: r.name, type: 'Validation', status: 'pass', message: r.passedMessage, failureAction: action })) as RuleResult;
}

/** [literalPassResult(r, action)], shared and frozen like it. */
export function literalPassResults(r: RulePlan, action: FailureAction): readonly RuleResult[] {
  return (r.passedAlone[action === 'Enforce' ? 0 : 1] ??= Object.freeze([literalPassResult(r, action)]));
}

/** computedRules(policy, kind) narrowed to validate rules, each with its plan. */
export function validateRulesFor(policy: JsonObject, plan: PolicyPlan, kind: string): ValidateRules {
  // Requests mostly come in one kind: the last answer is checked first (a string compare is
  // cheaper than hashing a kind string freshly parsed from each request).
  if (plan.lastKind === kind && plan.lastValidateRules) return plan.lastValidateRules;
  const rules = plan.validateRulesByKind.get(kind) ?? newValidateRules(policy, plan, kind);
  plan.lastKind = kind;
  plan.lastValidateRules = rules;
  return rules;
}

// Apart from validateRulesFor: the closures capture policy and plan, which would make every
// call allocate a context for them (at entry, before the answer kept for the last kind).
function newValidateRules(policy: JsonObject, plan: PolicyPlan, kind: string): ValidateRules {
  const list = computedRules(policy, kind)
    // verifyImages rules with digest or `required` checks run in the validate pass too.
    .filter((rule) => !!rule.validate || hasVerifyImageChecks(rule))
    .map((rule) => [rule, rulePlan(policy, plan, rule)] as const);
  const rules = { rules: list, literalOnly: list.every(([rule, r]) => (r.literalCheck !== undefined || r.plainDeny !== undefined) && rule.context === undefined) };
  plan.validateRulesByKind.set(kind, rules);
  return rules;
}
