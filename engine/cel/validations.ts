/**
 * The evaluation core shared by ValidatingPolicy, ValidatingAdmissionPolicy and classic
 * `validate.cel`: matchConditions, then validations in order (first failure wins, its
 * message/messageExpression), then auditAnnotations.
 */
import type { JsonObject } from '../core/types';
import { evalCel, typeOfCel } from './environment';
import type { CelActivation } from './context';

export type ValidationOutcome =
  | { kind: 'nomatch' }
  | { kind: 'pass'; auditAnnotations: Record<string, string> }
  | { kind: 'fail'; message: string; index: number; reason?: string; auditAnnotations: Record<string, string> }
  | { kind: 'error'; message: string; index?: number };

function list(v: unknown): JsonObject[] {
  return (Array.isArray(v) ? v : []) as JsonObject[];
}

/**
 * All match conditions hold → true; one is false → false. Errors: with failurePolicy Ignore
 * the policy does not apply, otherwise they are reported.
 */
export function evaluateMatchConditions(conditions: unknown, act: CelActivation, failurePolicy: unknown): { matched: boolean; error?: string } {
  const errors: string[] = [];
  for (const c of list(conditions)) {
    try {
      const out = evalCel(String(c.expression ?? ''), act.vars);
      if (typeof out !== 'boolean') { errors.push(`matchCondition '${String(c.name ?? '')}' must evaluate to bool, got ${typeOfCel(out)}`); continue; }
      if (!out) return { matched: false };
    } catch (err) {
      errors.push(`matchCondition '${String(c.name ?? '')}': ${(err as Error).message}`);
    }
  }
  if (!errors.length) return { matched: true };
  if (String(failurePolicy ?? 'Fail') === 'Ignore') return { matched: false };
  return { matched: false, error: errors.join('; ') };
}

/** A policy's auditAnnotations: key → evaluated value (empty values left out, as Kyverno does). */
export function evaluateAuditAnnotations(annotations: unknown, act: CelActivation): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of list(annotations)) {
    const key = String(a.key ?? '');
    const value = evalCel(String(a.valueExpression ?? ''), act.vars);
    if (value === null) continue;
    if (typeof value !== 'string') throw new Error(`failed to convert auditAnnotation '${key}' expression: got ${typeOfCel(value)}`);
    if (value !== '') out[key] = value;
  }
  return out;
}

/** How many validations an outcome evaluated (they run in order up to the first failure or error). */
export function validationsEvaluated(outcome: ValidationOutcome, count: number): number | undefined {
  if (outcome.kind === 'nomatch') return undefined;
  if (outcome.kind === 'pass') return count;
  return outcome.index !== undefined ? outcome.index + 1 : count;
}

export function evaluateValidations(validations: unknown, auditAnnotations: unknown, act: CelActivation): ValidationOutcome {
  const items = list(validations);
  for (let index = 0; index < items.length; index++) {
    const v = items[index];
    let out: unknown;
    try {
      out = evalCel(String(v.expression ?? ''), act.vars);
    } catch (err) {
      return { kind: 'error', message: (err as Error).message, index };
    }
    if (typeof out !== 'boolean') return { kind: 'error', message: `validation expression must evaluate to bool, got ${typeOfCel(out)}`, index };
    if (out) continue;
    let message = String(v.message ?? '');
    if (v.messageExpression) {
      try {
        const m = evalCel(String(v.messageExpression), act.vars);
        if (typeof m !== 'string') message = `failed to convert message expression to string: got ${typeOfCel(m)}`;
        else message = m;
      } catch (err) {
        message = `failed to evaluate message expression: ${(err as Error).message}`;
      }
    }
    if (!message) message = `CEL expression validation failed at index ${index}`;
    let annotations: Record<string, string> = {};
    try {
      annotations = evaluateAuditAnnotations(auditAnnotations, act);
    } catch (err) {
      return { kind: 'error', message: (err as Error).message };
    }
    return { kind: 'fail', message, index, reason: v.reason ? String(v.reason) : undefined, auditAnnotations: annotations };
  }
  try {
    return { kind: 'pass', auditAnnotations: evaluateAuditAnnotations(auditAnnotations, act) };
  } catch (err) {
    return { kind: 'error', message: (err as Error).message };
  }
}
