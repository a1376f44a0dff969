/**
 * One podSecurity rule on one admission request, as the validate_pss handler runs it
 * around the evaluation: nothing on DELETE, the old object when there is no new one, and
 * for Enforce rules on UPDATE (allowExistingViolations, on by default) a failure the old
 * object already had becomes a skip.
 */
import type { AdmissionRequest, JsonObject, RuleResult } from '../core/types';
import { type PodSecurityEvaluation, evaluatePodSecurity } from './evaluate';
import { goJson } from '../variables/gojson';
import { asObject } from '../core/json';

export interface PodSecurityRuleOptions {
  /** PolicyExceptions matched to this rule and request (see PodSecurityOptions). */
  exceptions?: JsonObject[];
  /** The policy's validationFailureAction, used when the rule has no failureAction. */
  policyFailureAction?: string;
  /**
   * Whether the rule's match/exclude select the old object as a CREATE (Kyverno's
   * matchResource in validateOldObject). Without it the old object is not re-checked.
   */
  oldObjectMatches?: (oldObject: JsonObject) => boolean;
}

function toResult(name: string, r: PodSecurityEvaluation, settings: JsonObject): RuleResult {
  const result: RuleResult = { name, type: 'Validation', status: r.status, message: r.message };
  if (r.path) result.path = r.path;
  if (r.exceptions) result.exceptions = r.exceptions;
  if (r.status === 'fail' && r.checks.length > 0) {
    const text = (v: unknown) => (typeof v === 'string' ? v : '');
    // The failed checks (Kyverno's RuleResponse.PodSecurityChecks, which `apply --generate-exceptions`
    // reads) and what reports say of them.
    result.podSecurity = { level: text(settings.level), version: text(settings.version), checks: r.checks.map((c) => ({ id: c.id, controlName: c.controlName, images: c.images })) };
    result.properties = podSecurityProperties(result.podSecurity);
  }
  return result;
}

/**
 * What Kyverno's reports say of the failed checks (pkg/utils/report addPodSecurityProperties):
 * the rule's level and version as written, the check ids, and the controls as Go marshals its
 * Control struct (fields in declaration order, `null` images when the detail names no container).
 */
export function podSecurityProperties(podSecurity: NonNullable<RuleResult['podSecurity']>): Record<string, string> {
  const controls = podSecurity.checks.map((c) => `{"ID":${goJson(c.id)},"Name":${goJson(c.controlName)},"Images":${goJson(c.images.length ? c.images : null)}}`);
  return {
    standard: podSecurity.level,
    version: podSecurity.version,
    controls: podSecurity.checks.map((c) => c.id).join(','),
    controlsJSON: `[${controls.join(',')}]`,
  };
}

function isEnforce(action: unknown): boolean {
  return typeof action === 'string' && action.toLowerCase() === 'enforce';
}

/** Runs `rule.validate.podSecurity`; null when Kyverno gives no response (DELETE). */
export function podSecurityRuleResult(
  rule: JsonObject,
  request: AdmissionRequest,
  resource: JsonObject | null,
  options: PodSecurityRuleOptions = {},
): RuleResult | null {
  if (request.operation === 'DELETE') return null;
  const name = typeof rule.name === 'string' ? rule.name : '';
  const validate = asObject(rule.validate);
  const run = (target: JsonObject): PodSecurityEvaluation =>
    evaluatePodSecurity(validate.podSecurity, target, { ruleName: name, exceptions: options.exceptions });
  const current = run(resource ?? request.oldObject ?? {});
  const settings = asObject(validate.podSecurity);
  if (current.status !== 'fail') return toResult(name, current, settings);

  const action = validate.failureAction ?? options.policyFailureAction;
  const allowExisting = validate.allowExistingViolations !== false;
  const old = request.oldObject;
  if (isEnforce(action) && allowExisting && request.operation === 'UPDATE' && old && options.oldObjectMatches?.(old)) {
    if (run(old).status === 'fail') {
      return { name, type: 'Validation', status: 'skip', message: 'skipping the rule evaluation as pre-existing violations are allowed' };
    }
  }
  return toResult(name, current, settings);
}
