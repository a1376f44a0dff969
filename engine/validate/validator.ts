/**
 * The validate handler for pattern / anyPattern / deny / foreach rules, mirroring
 * Kyverno's validator (pkg/engine/handlers/validation/validate_resource.go): context and
 * preconditions, then deny, else patterns, else foreach, each nested foreach level a validator of its own.
 */
import { evaluateConditions } from '../conditions';
import { loadContextEntries } from '../context';
import { loadNamedEntries } from '../context/deferred';
import type { JsonObject, RuleResult } from '../core/types';
import { jmesSearch } from '../jmespath';
import { anyPatternFailureEntries, combineAnyPatternOutcomes, formatAnyPatternFailure, formatPatternFailure, passedMessage, validatePattern } from '../pattern';
import { substituteVariables, withVariables, type VariableScope } from '../variables';
import { joinNonEmpty, ruleError, ruleResult } from './results';
import type { ValidateEnvironment } from './types';
import { isJsonObject } from '../core/json';
import { BudgetExceededError, chargeForeachElement, foreachCheckpoint, foreachElementReset, foreachRestore, isBudgetExceeded, MAX_FOREACH_ELEMENTS } from '../core/budget';

/** One validation level: the rule itself, or one foreach body for one element. */
export interface ValidatorLevel {
  contextEntries?: unknown;
  preconditions?: unknown;
  pattern?: unknown;
  anyPattern?: unknown;
  deny?: JsonObject;
  forEach?: JsonObject[];
  nesting: number;
  /** The element foreach scoped validation to (patterns apply to it, not to the resource). */
  element?: JsonObject;
  /** Where the current element sits in the resource, when the foreach list is a plain path. */
  elementPath?: Array<string | number>;
}

interface LevelState {
  scope: VariableScope;
  /** The resource patterns check: the (patched) new object, or the old one when re-validating an update. */
  resource: JsonObject | null;
  isDelete: boolean;
  /** Foreach elements visited so far in this rule, nested levels included (MAX_FOREACH_ELEMENTS). */
  foreach?: { visited: number };
}

function ruleMessage(env: ValidateEnvironment): string {
  const v = env.rule.validate as JsonObject | undefined;
  return typeof v?.message === 'string' ? v.message : '';
}

function denyMessage(env: ValidateEnvironment, scope: VariableScope, deny: boolean, condMessage: string): string {
  const name = env.ruleName;
  if (!deny) return passedMessage(name);
  const message = ruleMessage(env);
  if (message === '' && condMessage === '') return `validation error: rule ${name} failed`;
  const s = joinNonEmpty([message, condMessage], '; ');
  try {
    const raw = substituteVariables(s, scope);
    return typeof raw === 'string' ? raw : "the produced message didn't resolve to a string, check your policy definition.";
  } catch {
    return condMessage;
  }
}

/** The rule's message with variables substituted, or the error text Kyverno falls back to. */
function substitutedMessage(env: ValidateEnvironment, scope: VariableScope): { text?: string; error?: string } {
  const message = ruleMessage(env);
  if (message === '') return {};
  try {
    const raw = substituteVariables(message, scope);
    return { text: typeof raw === 'string' ? raw : JSON.stringify(raw) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** A pattern failure whose rule message has a variable that cannot be substituted (Kyverno's wording). */
function substitutionFailure(ruleName: string, failures: string): string {
  return `validation error: variables substitution error in rule ${ruleName} execution error: ${failures}`;
}

function validatePatterns(level: ValidatorLevel, env: ValidateEnvironment, st: LevelState, pattern: unknown, anyPattern: unknown): RuleResult | null {
  const name = env.ruleName;
  const target = level.element ?? st.resource;
  if (!level.element && st.isDelete) return null;
  if (pattern !== undefined && pattern !== null) {
    const outcome = validatePattern(target ?? {}, pattern);
    if (outcome.status === 'pass') return ruleResult(name, 'pass', formatPatternFailure(name, undefined, outcome));
    if (outcome.status === 'skip') return ruleResult(name, 'skip', outcome.message);
    const msg = substitutedMessage(env, st.scope);
    const text = msg.error !== undefined ? substitutionFailure(name, outcome.message) : formatPatternFailure(name, msg.text, outcome);
    const result = ruleResult(name, outcome.status === 'fail' ? 'fail' : 'error', text);
    if (outcome.status === 'fail') result.path = resourcePath(level, outcome.path);
    return result;
  }
  if (!Array.isArray(anyPattern)) return ruleError(name, 'failed to deserialize anyPattern, expected type array');
  const outcomes = [];
  for (const p of anyPattern) {
    const o = validatePattern(target ?? {}, p);
    outcomes.push(o);
    if (o.status === 'pass') break;
  }
  const combined = combineAnyPatternOutcomes(name, ruleMessage(env) || undefined, outcomes);
  let message = combined.message;
  if (combined.status === 'fail') {
    // Kyverno (buildAnyPatternErrorMessage) words a failure with the rule message's variables
    // substituted; the raw message stays only for the pass without patterns.
    const msg = substitutedMessage(env, st.scope);
    message = msg.error !== undefined ? substitutionFailure(name, anyPatternFailureEntries(name, outcomes)) : formatAnyPatternFailure(name, msg.text, outcomes);
  }
  const result = ruleResult(name, combined.status, message);
  const firstPath = combined.failures.find((f) => f.path)?.path;
  if (combined.status === 'fail' && firstPath) result.path = resourcePath(level, firstPath);
  return result;
}

/** A pattern failure path made absolute: element-scoped patterns are relative to their element. */
function resourcePath(level: ValidatorLevel, path: Array<string | number>): Array<string | number> | undefined {
  if (!level.element) return path;
  return level.elementPath ? [...level.elementPath, ...path] : undefined;
}

/**
 * The resource path of a foreach list when it is a plain field path (`request.object.spec.containers`,
 * or `element.ports` inside a parent element), so failures can point into the resource.
 */
function listPath(list: unknown, parent: ValidatorLevel): Array<string | number> | undefined {
  if (typeof list !== 'string') return undefined;
  const m = /^\s*(request\.object|element)((?:\.[A-Za-z_][A-Za-z0-9_]*)+)\s*$/.exec(list);
  if (!m) return undefined;
  const fields = m[2].slice(1).split('.');
  if (m[1] === 'request.object') return fields;
  return parent.elementPath ? [...parent.elementPath, ...fields] : undefined;
}

function evaluateList(list: unknown, scope: VariableScope): unknown[] | null {
  if (typeof list !== 'string') return null;
  let v: unknown;
  try {
    const unloadable = loadNamedEntries(list, scope.deferredEntries);
    if (unloadable !== undefined) throw new Error(unloadable);
    v = jmesSearch(list.trim(), scope.data, { now: scope.now });
  } catch (e) {
    // Kyverno passes over a list it cannot evaluate; a spent budget is an error instead.
    if (isBudgetExceeded(e)) throw e;
    return null;
  }
  return Array.isArray(v) ? v : [v];
}

function foreachLevel(fe: JsonObject, nesting: number): Omit<ValidatorLevel, 'element'> {
  return {
    contextEntries: fe.context,
    preconditions: fe.preconditions,
    pattern: fe.pattern,
    anyPattern: fe.anyPattern,
    deny: isJsonObject(fe.deny) ? fe.deny : undefined,
    forEach: Array.isArray(fe.foreach) ? (fe.foreach as JsonObject[]) : undefined,
    nesting,
  };
}

/** Kyverno's validateElements: skips and errors (but the last) are passed over; the first failure ends the loop. */
function validateElements(
  fe: JsonObject,
  elements: unknown[],
  parent: ValidatorLevel,
  env: ValidateEnvironment,
  st: LevelState,
): { result: RuleResult; applied: number } {
  // Kyverno's validateElements checkpoints the JSON context, resets it per element and restores
  // it on return: each counts the entries loaded around the list again (context size).
  foreachCheckpoint();
  try {
    return visitElements(fe, elements, parent, env, st);
  } finally {
    foreachRestore();
  }
}

function visitElements(
  fe: JsonObject,
  elements: unknown[],
  parent: ValidatorLevel,
  env: ValidateEnvironment,
  st: LevelState,
): { result: RuleResult; applied: number } {
  const name = env.ruleName;
  let applied = 0;
  for (let index = 0; index < elements.length; index++) {
    const element = elements[index];
    if (element === null || element === undefined) continue;
    chargeForeachElement();
    foreachElementReset();
    const n = parent.nesting;
    let scope = withVariables(st.scope, {});
    scope.data = { ...scope.data, element, [`element${n}`]: element, elementIndex: index, [`elementIndex${n}`]: index };
    const scoped = typeof fe.elementScope === 'boolean' ? fe.elementScope : isJsonObject(element);
    if (scoped && !isJsonObject(element)) {
      return {
        result: ruleError(name, 'failed to process foreach', `cannot use elementScope=true foreach rules for elements that are not maps, expected type=map got type=${goTypeOf(element)}`),
        applied,
      };
    }
    scope = env.withForeachValues(scope, index);
    const base = listPath(fe.list, parent);
    const level: ValidatorLevel = {
      ...foreachLevel(fe, n + 1),
      element: scoped ? (element as JsonObject) : parent.element,
      elementPath: scoped ? (base ? [...base, index] : undefined) : parent.elementPath,
    };
    const r = runLevel(level, env, { ...st, scope });
    if (!r || r.status === 'skip') continue;
    if (r.status !== 'pass') {
      if (r.status === 'error' && index < elements.length - 1) continue;
      const out = ruleResult(name, r.status, `validation failure: ${r.message}`);
      const where = r.path ?? (base ? [...base, index] : undefined);
      if (where && r.status === 'fail') out.path = where;
      return { result: out, applied };
    }
    applied++;
  }
  return { result: ruleResult(name, 'pass', ''), applied };
}

function goTypeOf(v: unknown): string {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'float64';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return '[]interface {}';
  return 'map[string]interface {}';
}

function validateForEach(level: ValidatorLevel, env: ValidateEnvironment, st: LevelState): RuleResult | null {
  let applied = 0;
  for (const fe of level.forEach ?? []) {
    const elements = evaluateList(fe.list, st.scope);
    if (!elements) continue;
    const counter = (st.foreach ??= { visited: 0 });
    counter.visited += elements.length;
    if (counter.visited > MAX_FOREACH_ELEMENTS) {
      throw new BudgetExceededError('foreach', MAX_FOREACH_ELEMENTS, `the rule's foreach lists have more elements than that`);
    }
    const { result, applied: count } = validateElements(fe, elements, level, env, st);
    if (result.status !== 'pass') return result;
    applied += count;
  }
  if (applied === 0) return ruleResult(env.ruleName, 'skip', 'rule skipped');
  return ruleResult(env.ruleName, 'pass', 'rule passed');
}

const READ_ONLY = Object.freeze({ readOnly: true });

/** One validator level (Kyverno's validator.validate). Null means "no response". */
export function runLevel(level: ValidatorLevel, env: ValidateEnvironment, state: LevelState): RuleResult | null {
  const name = env.ruleName;
  // Most levels have neither context entries nor preconditions: nothing to copy or evaluate.
  const st: LevelState =
    level.contextEntries === undefined ? state : { ...state, scope: loadContextEntries(level.contextEntries, state.scope, env.context).scope };
  if (level.preconditions !== undefined && level.preconditions !== null) {
    const pre = evaluateConditions(level.preconditions, st.scope);
    if (pre.error !== undefined) return ruleError(name, 'failed to evaluate preconditions', pre.error);
    if (!pre.passed) return ruleResult(name, 'skip', joinNonEmpty(['preconditions not met', pre.message], '; '));
  }

  if (level.deny) {
    const d = evaluateConditions(level.deny.conditions, st.scope);
    if (d.error !== undefined) return ruleError(name, 'failed to check deny conditions', d.error);
    return ruleResult(name, d.passed ? 'fail' : 'pass', denyMessage(env, st.scope, d.passed, d.message ?? ''));
  }

  if ((level.pattern !== undefined && level.pattern !== null) || (level.anyPattern !== undefined && level.anyPattern !== null)) {
    let pattern: unknown = level.pattern;
    let anyPattern: unknown = level.anyPattern;
    try {
      // Pattern matching only reads the pattern: a policy's literal pattern is used as is.
      if (level.pattern !== undefined && level.pattern !== null) pattern = substituteVariables(level.pattern, st.scope, READ_ONLY);
      else anyPattern = substituteVariables(level.anyPattern, st.scope, READ_ONLY);
    } catch (e) {
      return ruleError(name, 'variable substitution failed', (e as Error).message);
    }
    return validatePatterns(level, env, st, pattern, anyPattern);
  }

  if (level.forEach) return validateForEach(level, env, st);
  return null;
}

export type { LevelState };
