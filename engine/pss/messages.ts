/**
 * Kyverno's podSecurity rule messages: pkg/pss FormatChecksPrint for the failed checks
 * and the pass/fail/skip texts of the validate_pss handler.
 */
import type { BadValue, FieldError } from './field';

/** Go's %+v of a field error's bad value. */
function goValue(v: BadValue): string {
  return Array.isArray(v) ? `[${v.join(' ')}]` : String(v);
}

/** field.Error.Error(): `<field>: <type>` (the library leaves the detail empty). */
function fieldErrorText(err: PrintableFieldError): string {
  return `${err.field}: ${err.type === 'Required' ? 'Required value' : 'Forbidden'}`;
}

export type PrintableFieldError = Pick<FieldError, 'type' | 'field' | 'badValue'>;

export interface PrintableCheck {
  forbiddenReason: string;
  /** Field errors with their reported (template-rewritten) field text. */
  errList?: PrintableFieldError[];
}

export function formatChecks(checks: PrintableCheck[]): string {
  let out = '';
  for (const check of checks) {
    out += `(Forbidden reason: ${check.forbiddenReason}, field error list: [`;
    out += (check.errList ?? [])
      .map((err) => {
        const hasValue = !(typeof err.badValue === 'string' && err.badValue === '');
        return err.type === 'Forbidden' && hasValue
          ? `${err.field} is forbidden, forbidden values found: ${goValue(err.badValue)}`
          : fieldErrorText(err);
      })
      .join(', ');
    out += '])';
  }
  return out;
}

export function passMessage(ruleName: string): string {
  return `Validation rule '${ruleName}' passed.`;
}

export function failMessage(ruleName: string, level: string, version: string, checks: PrintableCheck[]): string {
  return `Validation rule '${ruleName}' failed. It violates PodSecurity "${level}:${version}": ${formatChecks(checks)}`;
}

/** An exception without podSecurity controls skips the rule outright. */
export function exceptionSkipMessage(exceptionKey: string): string {
  return `rule is skipped due to policy exception ${exceptionKey}`;
}

/** Exceptions whose podSecurity controls cover every failed check. */
export function exceptionsSkipMessage(exceptionKeys: string[]): string {
  return `rule is skipped due to policy exceptions ${exceptionKeys.join(', ')}`;
}
