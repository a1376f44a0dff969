/**
 * Rule messages for pattern and anyPattern validate rules, worded as Kyverno's validate
 * handler words them (pkg/engine/handlers/validation/validate_resource.go:
 * buildErrorMessage, buildAnyPatternErrorMessage and the anyPattern loop).
 * `customMessage` is the rule's validate.message with variables already substituted;
 * pass undefined or '' when the rule has none.
 */
import type { PatternOutcome } from './index';
import { kyvernoPath, type PathSegments } from './resource';

/** Kyverno's rendering of a failure path: "/spec/containers/0/image/" ("/" for the root). */
export function formatPatternPath(path: PathSegments): string {
  return kyvernoPath(path);
}

/**
 * The failure paths named in a rule message ("... failed at path /spec/containers/0/image/"),
 * as the segments `formatPatternPath` wrote, in order. Kyverno does not escape `/` inside keys,
 * so a segment may be part of a longer key: callers resolve them against the resource.
 */
export function failurePathsInMessage(message: string): string[][] {
  const out: string[][] = [];
  for (const m of message.matchAll(/failed at path (\/\S*)/g)) out.push(m[1].split('/').filter((s) => s !== ''));
  return out;
}

function withPeriod(message: string): string {
  return message.endsWith('.') ? message : message + '.';
}

// Every passing rule of every request gets this text: one string per rule name (bounded).
const MAX_REMEMBERED = 4096;
const passedMessages = new Map<string, string>();

/** Kyverno's message for a validate rule that passed. */
export function passedMessage(ruleName: string): string {
  let message = passedMessages.get(ruleName);
  if (message === undefined) {
    if (passedMessages.size >= MAX_REMEMBERED) passedMessages.clear();
    message = `validation rule '${ruleName}' passed.`;
    passedMessages.set(ruleName, message);
  }
  return message;
}

/**
 * The message of a `pattern` rule for an outcome: the pass text, the skip reason, or
 * "validation error: <message>. rule <rule> failed at path <path>" (and the "execution
 * error" form Kyverno uses when a failure has no path, reported as status error).
 */
export function formatPatternFailure(ruleName: string, customMessage: string | undefined, outcome: PatternOutcome): string {
  switch (outcome.status) {
    case 'pass':
      return passedMessage(ruleName);
    case 'skip':
      return outcome.message;
    case 'fail': {
      const where = `rule ${ruleName} failed at path ${formatPatternPath(outcome.path)}`;
      return customMessage ? `validation error: ${withPeriod(customMessage)} ${where}` : `validation error: ${where}`;
    }
    case 'error': {
      const what = `rule ${ruleName} execution error: ${outcome.message}`;
      return customMessage ? `validation error: ${withPeriod(customMessage)} ${what}` : `validation error: ${what}`;
    }
  }
}

/** The per-pattern line Kyverno collects for a failed or skipped anyPattern entry. */
export function formatAnyPatternEntry(ruleName: string, index: number, outcome: PatternOutcome): string {
  switch (outcome.status) {
    case 'pass':
      return `validation rule '${ruleName}' anyPattern[${index}] passed.`;
    case 'skip':
      return `rule ${ruleName}[${index}] skipped: ${outcome.message}`;
    case 'fail':
      return `rule ${ruleName}[${index}] failed at path ${formatPatternPath(outcome.path)}`;
    case 'error':
      return `rule ${ruleName}[${index}] failed: ${outcome.message}`;
  }
}

/**
 * The message of an anyPattern rule none of whose patterns passed:
 * "validation error: <message>. rule X[0] failed at path ... rule X[1] failed at path ...".
 * Only failed entries (fail or error) appear; skipped ones do not.
 */
export function formatAnyPatternFailure(ruleName: string, customMessage: string | undefined, outcomes: readonly PatternOutcome[]): string {
  const joined = anyPatternFailureEntries(ruleName, outcomes);
  if (!customMessage) return `validation error: ${joined}`;
  return customMessage.endsWith('.') ? `validation error: ${customMessage} ${joined}` : `validation error: ${customMessage}. ${joined}`;
}

/** Kyverno's entries for the failed patterns of an anyPattern, joined by spaces. */
export function anyPatternFailureEntries(ruleName: string, outcomes: readonly PatternOutcome[]): string {
  const lines: string[] = [];
  outcomes.forEach((o, i) => {
    if (o.status === 'fail' || o.status === 'error') lines.push(formatAnyPatternEntry(ruleName, i, o));
  });
  return lines.join(' ');
}

export interface AnyPatternResult {
  status: 'pass' | 'fail' | 'skip';
  message: string;
  /** Index of the pattern that passed. */
  passedIndex?: number;
  /** Failure location of each failed pattern (by index), for editors. */
  failures: Array<{ index: number; path?: PathSegments }>;
}

/**
 * Kyverno's anyPattern decision: the first passing pattern wins (later outcomes are
 * ignored, as Kyverno stops there); otherwise fail when any pattern failed, skip when all
 * were skipped. With no patterns at all the rule passes with the custom message.
 */
export function combineAnyPatternOutcomes(ruleName: string, customMessage: string | undefined, outcomes: readonly PatternOutcome[]): AnyPatternResult {
  const considered: PatternOutcome[] = [];
  for (let i = 0; i < outcomes.length; i++) {
    const o = outcomes[i];
    if (o.status === 'pass') return { status: 'pass', message: formatAnyPatternEntry(ruleName, i, o), passedIndex: i, failures: [] };
    considered.push(o);
  }
  const failures: AnyPatternResult['failures'] = [];
  const skips: string[] = [];
  considered.forEach((o, i) => {
    if (o.status === 'fail') failures.push({ index: i, path: o.path });
    else if (o.status === 'error') failures.push({ index: i });
    else if (o.status === 'skip') skips.push(formatAnyPatternEntry(ruleName, i, o));
  });
  if (failures.length > 0) return { status: 'fail', message: formatAnyPatternFailure(ruleName, customMessage, considered), failures };
  if (skips.length > 0) return { status: 'skip', message: skips.join(' '), failures };
  return { status: 'pass', message: customMessage ?? '', failures };
}
