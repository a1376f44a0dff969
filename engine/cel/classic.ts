/**
 * Classic ClusterPolicy/Policy CEL, following Kyverno's validate_cel handler, which runs the
 * Kubernetes validating-admission validator: `celPreconditions` are its match conditions,
 * expressions fall back to the rule's `validate.message`, then to "failed expression: …";
 * with no failurePolicy, evaluation errors deny (→ fail) with "expression '…' resulted in
 * error: …". Pass message: "Validation rule '<name>' passed.".
 */
import type { ApplyOptions } from '../apply';
import type { JsonObject, RuleResult } from '../core/types';
import { buildActivation, installVariables } from './context';
import { evaluateMatchConditions, evaluateValidations, validationsEvaluated } from './validations';
import { resolveParams } from './params';
import { requestTarget } from './match';
import { toCel } from './values';
import { asObject } from '../core/json';
import { CelAuthorizer } from './lib-authorizer';

/**
 * The request's Namespace (validate_cel.go): in a cluster Kyverno reads the whole object (a
 * live cluster's namespaces are known: `namespaceObjects`); outside one (the CLI) it gives CEL
 * a Namespace carrying only the name, and so does a namespace the cluster state lacks.
 */
function classicActivation(options: ApplyOptions, params: unknown) {
  const act = buildActivation(options, { params });
  const ns = String(asObject(act.vars.request).namespace ?? '');
  const kind = asObject(asObject(act.vars.request).kind);
  const isNamespace = kind.kind === 'Namespace' && kind.group === '' && kind.version === 'v1';
  const live = options.cluster.namespaceObjects?.[ns];
  act.vars.namespaceObject = ns && !isNamespace ? toCel(live ?? { metadata: { name: ns } }) : null;
  // Kyverno's validate_cel handler gives the validator its authorizer (pkg/engine/internal/auth.go).
  act.vars.authorizer = new CelAuthorizer(options.cluster, requestTarget(options.request).kind, options.request.requestInfo?.userInfo?.username ?? '');
  return act;
}

export function validateClassicCel(rule: JsonObject, options: ApplyOptions): RuleResult {
  const name = String(rule.name ?? '');
  const validate = asObject(rule.validate);
  const cel = asObject(validate.cel);
  const result = (status: RuleResult['status'], message: string, extra: Partial<RuleResult> = {}): RuleResult => ({ name, type: 'Validation', status, message, ...extra });
  try {
    // validate_cel.go: a Namespace is its own request namespace; Kyverno unsets it.
    const target = requestTarget(options.request);
    const requestNamespace = target.kind === 'Namespace' && target.group === '' && target.version === 'v1' ? '' : String(options.request.namespace ?? '');
    const params = resolveParams(cel.paramKind, cel.paramRef, options, requestNamespace);
    if (params.error) return result('error', `error in parameterized resource: ${params.error}`);
    const act = classicActivation(options, params.value);
    installVariables(act, cel.variables);
    const match = evaluateMatchConditions(rule.celPreconditions, act, 'Fail');
    if (match.error) return result('fail', match.error);
    if (!match.matched) return result('skip', 'cel preconditions not met');
    const validations = (Array.isArray(cel.expressions) ? cel.expressions : []).map((e) => {
      const v = { ...asObject(e) };
      if (!v.message) v.message = validate.message ?? '';
      if (!v.message && !v.messageExpression) v.message = `failed expression: ${String(v.expression ?? '').trim()}`;
      return v;
    });
    const outcome = evaluateValidations(validations, cel.auditAnnotations, act);
    const reached = { validationsEvaluated: validationsEvaluated(outcome, validations.length) };
    switch (outcome.kind) {
      case 'pass': return result('pass', `Validation rule '${name}' passed.`, reached);
      case 'fail': return result('fail', outcome.message, reached);
      case 'error': {
        const expr = outcome.index !== undefined ? String(asObject(validations[outcome.index]).expression ?? '').trim() : '';
        return result('fail', expr ? `expression '${expr}' resulted in error: ${outcome.message}` : outcome.message, reached);
      }
      default: return result('skip', 'cel preconditions not met');
    }
  } catch (err) {
    return result('error', (err as Error).message);
  }
}

export function evaluateCelPreconditions(conditions: unknown, options: ApplyOptions): { pass: boolean; message?: string; error?: string } {
  try {
    const act = classicActivation(options, null);
    const match = evaluateMatchConditions(conditions, act, 'Fail');
    if (match.error) return { pass: false, error: match.error };
    return match.matched ? { pass: true } : { pass: false, message: 'cel preconditions not met' };
  } catch (err) {
    return { pass: false, error: (err as Error).message };
  }
}

/**
 * Whether a classic policy's `spec.webhookConfiguration.matchConditions` hold for the request.
 * Kyverno's engine checks them before any rule (pkg/engine/internal/match.go
 * MatchPolicyContext), over object, oldObject and request (no params); they run in the
 * engine's CEL environment, which also knows Kyverno's libraries and `authorizer` (the API
 * server's does not: admission refuses most such conditions first): a false condition, or one that cannot be evaluated (the
 * matcher's error leaves Matches false), means the policy does not apply, in admission as in a
 * background scan (whose request carries no user).
 */
export function webhookMatchConditionsHold(conditions: unknown, options: ApplyOptions): boolean {
  try {
    const act = buildActivation(options);
    const match = evaluateMatchConditions(conditions, act, 'Fail');
    return match.matched && !match.error;
  } catch {
    return false;
  }
}
