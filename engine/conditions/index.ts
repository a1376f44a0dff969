/**
 * Preconditions and deny conditions (Kyverno pkg/engine/variables/evaluate.go): `any`/`all`
 * blocks or the legacy list, each condition's key and value substituted separately, the
 * operator applied, the condition `message` collected for the outcome.
 */
import type { VariableScope } from '../variables';
import { substituteVariables, VariableError } from '../variables';
import { operatorHandler } from './operators';

export { operatorHandler } from './operators';

export interface ConditionsOutcome {
  passed: boolean;
  /** Why they did not pass (Kyverno's wording), or the error. */
  message?: string;
  /** Set when a condition could not be evaluated (unresolvable variable, bad operator): Kyverno makes the rule an error. */
  error?: string;
}

interface Condition {
  key?: unknown;
  operator?: unknown;
  value?: unknown;
  message?: unknown;
}

class ConditionError extends Error {}

function joinNonEmpty(parts: string[], sep: string): string {
  return parts.filter((p) => p !== '').join(sep);
}

function evaluateOne(condition: Condition, scope: VariableScope): { passed: boolean; message: string } {
  let key: unknown;
  let value: unknown;
  try {
    key = substituteVariables(condition.key ?? null, scope);
  } catch (e) {
    throw new ConditionError(`failed to substitute variables in condition key: ${(e as Error).message}`);
  }
  try {
    value = substituteVariables(condition.value ?? null, scope);
  } catch (e) {
    throw new ConditionError(`failed to substitute variables in condition value: ${(e as Error).message}`);
  }
  const handler = operatorHandler(condition.operator);
  if (!handler) throw new ConditionError(`failed to create handler for condition operator: unknown operator ${String(condition.operator)}`);
  const message = typeof condition.message === 'string' ? condition.message : '';
  return { passed: handler(key, value), message };
}

function evaluateAnyAll(block: { any?: unknown; all?: unknown }, scope: VariableScope): { passed: boolean; message: string } {
  let anyPassed = true;
  let allPassed = true;
  // Only non-empty messages end up in the text: lists are made for the first one.
  let falseMessages: string[] | null = null;
  let trueMessages: string[] | null = null;
  if (Array.isArray(block.any)) {
    anyPassed = false;
    for (const c of block.any as Condition[]) {
      const r = evaluateOne(c ?? {}, scope);
      if (r.passed) {
        anyPassed = true;
        if (r.message !== '') (trueMessages ??= []).push(r.message);
        break;
      }
      if (r.message !== '') (falseMessages ??= []).push(r.message);
    }
  }
  if (Array.isArray(block.all)) {
    for (const c of block.all as Condition[]) {
      const r = evaluateOne(c ?? {}, scope);
      if (!r.passed) {
        allPassed = false;
        if (r.message !== '') (falseMessages ??= []).push(r.message);
        break;
      }
      if (r.message !== '') (trueMessages ??= []).push(r.message);
    }
  }
  const passed = anyPassed && allPassed;
  const messages = passed ? trueMessages : falseMessages;
  return { passed, message: messages ? messages.join('; ') : '' };
}

function evaluateLegacy(list: Condition[], scope: VariableScope): { passed: boolean; message: string } {
  const trueMessages: string[] = [];
  for (const c of list) {
    const r = evaluateOne(c ?? {}, scope);
    if (!r.passed) return { passed: false, message: r.message };
    trueMessages.push(r.message);
  }
  return { passed: true, message: joinNonEmpty(trueMessages, ';') };
}

/**
 * Evaluates preconditions / deny conditions (any/all or the legacy list) in a scope.
 * Absent conditions pass (so an empty `deny: {}` denies, as in Kyverno).
 */
export function evaluateConditions(conditions: unknown, scope: VariableScope): ConditionsOutcome {
  try {
    let r: { passed: boolean; message: string };
    if (conditions === undefined || conditions === null) r = { passed: true, message: '' };
    else if (Array.isArray(conditions)) r = evaluateLegacy(conditions as Condition[], scope);
    else if (typeof conditions === 'object') r = evaluateAnyAll(conditions as { any?: unknown; all?: unknown }, scope);
    else return { passed: false, message: 'invalid condition', error: 'invalid condition' };
    return r.message ? { passed: r.passed, message: r.message } : { passed: r.passed };
  } catch (e) {
    if (e instanceof ConditionError || e instanceof VariableError) return { passed: false, message: e.message, error: e.message };
    const msg = `failed to evaluate conditions: ${(e as Error).message}`;
    return { passed: false, message: msg, error: msg };
  }
}
