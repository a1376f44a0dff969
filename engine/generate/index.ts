/**
 * Classic (kyverno.io) generate rules as `kyverno test` evaluates them: the generate
 * controller runs against a fake client holding the trigger and the known cluster resources,
 * and the rule reports the resources it CREATED (`generatedResource`); existing targets are
 * skipped, or updated when synchronize is on, and are not reported.
 * Covers `data`, `clone`, `cloneList` and `foreach`; match/exclude, rule preconditions and
 * rule context are the caller's.
 */
import type { JsonObject, RuleResult } from '../core/types';
import { evaluateConditions } from '../conditions';
import { jmesSearch } from '../jmespath';
import { substituteVariables, withVariables, type VariableScope } from '../variables';
import type { ContextLoader } from '../mutate/foreach';
import { loadNamedEntries } from '../context/deferred';
import { getResource, listResources, metaOf, refText, splitKind, type ResourceRef } from './resources';
import { isJsonObject } from '../core/json';
import { resourceGVK } from '../kube';
import { BudgetExceededError, chargeForeachElement, isBudgetExceeded, MAX_FOREACH_ELEMENTS } from '../core/budget';

export interface GenerateOptions {
  /** Namespace of a namespaced Policy (clone sources must live there). */
  policyNamespace?: string;
  /** Policy name, for Kyverno's generate.kyverno.io labels. */
  policyName?: string;
  /** Loads `context` entries of generate.foreach entries into a scope. */
  loadContext?: ContextLoader;
  /** spec.generateExisting of the policy (a rule's own generateExisting wins). */
  policyGenerateExisting?: boolean;
}

export interface GenerateOutcome {
  result: RuleResult;
  /** Resources the rule creates (empty when every target already exists). */
  generated: JsonObject[];
  /** generate.synchronize of the rule. */
  synchronize: boolean;
  /** generate.generateExisting of the rule, else the policy's spec.generateExisting. */
  generateExisting?: boolean;
  /** generate.orphanDownstreamOnPolicyDelete of the rule. */
  orphanDownstreamOnPolicyDelete?: boolean;
  /**
   * Set when the generate controller failed (missing clone source, substitution, foreach…).
   * The Kyverno CLI only logs that error ("failed to apply generate policy") and reports the
   * policy's generate rules as they stood before the controller ran: passed, with nothing
   * generated. The caller applies that to every generate rule of the policy.
   */
  controllerError?: string;
}

type Action = { kind: 'create'; data: JsonObject; target: ResourceRef } | { kind: 'skip' } | { kind: 'update' };

class GenerateError extends Error {}
/** A policy the CLI would refuse (clone namespace of a namespaced policy): a rule error, not a controller failure. */
class InvalidRuleError extends GenerateError {}

/** The label Kyverno puts on every clone source (value ""): its UPDATE and DELETE then reach the generate handler. */
export const CLONE_SOURCE_LABEL = 'generate.kyverno.io/clone-source';

/** The message the Kyverno CLI logs when the generate controller fails. */
export const CONTROLLER_FAILURE = 'failed to apply generate policy';

const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));

/**
 * Applies one generate rule for a trigger. clusterResources are the resources the fake
 * client knows besides the trigger (test clusterResources, cloneSourceResource files).
 */
export function applyGenerateRule(
  rule: JsonObject, trigger: JsonObject, scope: VariableScope, clusterResources: JsonObject[], options: GenerateOptions = {},
): GenerateOutcome {
  const name = str(rule.name);
  const spec = isJsonObject(rule.generate) ? rule.generate : {};
  const synchronize = spec.synchronize === true;
  const generateExisting = typeof spec.generateExisting === 'boolean' ? spec.generateExisting : options.policyGenerateExisting;
  const base = {
    synchronize,
    ...(typeof generateExisting === 'boolean' ? { generateExisting } : {}),
    ...(typeof spec.orphanDownstreamOnPolicyDelete === 'boolean' ? { orphanDownstreamOnPolicyDelete: spec.orphanDownstreamOnPolicyDelete } : {}),
  };
  // The fake client holds the trigger too, and everything this rule creates as it goes.
  const known = [trigger, ...clusterResources];
  const generated: JsonObject[] = [];
  try {
    if (Array.isArray(spec.foreach)) {
      spec.foreach.forEach((fe, i) => generateForeach(fe, i, scope, known, generated, { rule: name, synchronize, trigger, options }));
    } else {
      generatePattern(spec, scope, known, generated, { rule: name, synchronize, trigger, options });
    }
  } catch (e) {
    const message = (e as Error).message;
    if (e instanceof InvalidRuleError || isBudgetExceeded(e)) {
      return { ...base, generated: [], result: { name, type: 'Generation', status: 'error', message } };
    }
    const result: RuleResult = { name, type: 'Generation', status: 'pass', message: `${CONTROLLER_FAILURE}: ${message}`, generatedResources: [] };
    return { ...base, generated: [], result, controllerError: message };
  }
  const result: RuleResult = { name, type: 'Generation', status: 'pass', message: '', generatedResources: generated };
  return { ...base, generated, result };
}

interface Env {
  rule: string;
  synchronize: boolean;
  trigger: JsonObject;
  options: GenerateOptions;
}

function generateForeach(fe: unknown, i: number, scope: VariableScope, known: JsonObject[], out: JsonObject[], env: Env): void {
  if (!isJsonObject(fe)) throw new GenerateError(`generate.foreach[${i}] must be a map`);
  let value: unknown;
  try {
    const unloadable = loadNamedEntries(str(fe.list), scope.deferredEntries);
    if (unloadable !== undefined) throw new Error(unloadable);
    value = jmesSearch(str(fe.list), scope.data);
  } catch (e) {
    if (isBudgetExceeded(e)) throw e;
    throw new GenerateError(`failed to evaluate ${i} foreach list: ${(e as Error).message}`);
  }
  const elements = Array.isArray(value) ? value : [value];
  if (elements.length > MAX_FOREACH_ELEMENTS) {
    throw new BudgetExceededError('foreach', MAX_FOREACH_ELEMENTS, `generate.foreach[${i}] lists ${elements.length} elements`);
  }
  elements.forEach((element, index) => {
    if (element === null || element === undefined) return;
    chargeForeachElement();
    let elementScope = withVariables(scope, { element, elementIndex: index, element0: element, elementIndex0: index });
    if (Array.isArray(fe.context) && fe.context.length > 0) {
      if (!env.options.loadContext) throw new GenerateError(`failed to process ${index} element: failed to load context: no context loader available`);
      elementScope = env.options.loadContext(fe.context, elementScope);
    }
    try {
      if (fe.preconditions !== undefined && fe.preconditions !== null) {
        const cond = evaluateConditions(fe.preconditions, elementScope);
        if (cond.error !== undefined) throw new GenerateError(`failed to evaluate preconditions: ${cond.error}`);
        if (!cond.passed) return;
      }
      generatePattern(fe, elementScope, known, out, env);
    } catch (e) {
      if (isBudgetExceeded(e)) throw e;
      throw new GenerateError(`failed to process ${i} foreach in rule ${env.rule}: failed to process ${index} element: ${(e as Error).message}`);
    }
  });
}

/** One generate pattern (the rule's, or a foreach entry's): substitution, then data/clone/cloneList. */
function generatePattern(raw: JsonObject, scope: VariableScope, known: JsonObject[], out: JsonObject[], env: Env): void {
  const { foreach: _f, preconditions: _p, context: _c, list: _l, ...patternRaw } = raw;
  const pattern = substituteVariables(patternRaw, scope) as JsonObject;
  const target: ResourceRef = {
    apiVersion: str(pattern.apiVersion), kind: str(pattern.kind), namespace: str(pattern.namespace), name: str(pattern.name),
  };
  const clone = isJsonObject(pattern.clone) ? pattern.clone : {};
  const cloneList = isJsonObject(pattern.cloneList) ? pattern.cloneList : {};
  validateCloneSources(clone, cloneList, env.options.policyNamespace);
  let actions: Action[];
  if (str(clone.name) !== '') {
    const source = { apiVersion: target.apiVersion, kind: target.kind, namespace: str(clone.namespace), name: str(clone.name) };
    actions = [manageClone(target, source, known)];
  } else if (Array.isArray(cloneList.kinds) && cloneList.kinds.length > 0) {
    actions = manageCloneList(target.namespace, cloneList, known);
  } else {
    actions = [manageData(target, pattern.data, env.synchronize, known)];
  }
  for (const action of actions) {
    if (action.kind !== 'create') continue;
    const resource = finishResource(action.data, action.target, env);
    known.push(resource);
    out.push(resource);
  }
}

function validateCloneSources(clone: JsonObject, cloneList: JsonObject, policyNamespace: string | undefined): void {
  if (policyNamespace === undefined) return;
  let path: string;
  let sourceNamespace: string;
  if (str(clone.name) !== '') [path, sourceNamespace] = ['generate.clone', str(clone.namespace)];
  else if (Array.isArray(cloneList.kinds) && cloneList.kinds.length > 0) [path, sourceNamespace] = ['generate.cloneList', str(cloneList.namespace)];
  else return;
  if (policyNamespace === '') throw new InvalidRuleError(`${path} requires a policy namespace`);
  if (sourceNamespace !== policyNamespace) {
    throw new InvalidRuleError(`${path}.namespace "${sourceNamespace}" must equal policy namespace "${policyNamespace}"`);
  }
}

function manageData(target: ResourceRef, data: unknown, synchronize: boolean, known: JsonObject[]): Action {
  // A rule without data still creates its target, bare: Kyverno's generator passes the
  // pattern's typed data pointer, which is never a nil interface, so manageData's nil check
  // does not fire and the target is created from an empty object (pkg/background/generate/data.go).
  if (data === undefined || data === null) data = {};
  if (!isJsonObject(data)) throw new GenerateError('generate.data must be a map');
  if (!getResource(known, target)) return { kind: 'create', data: structuredClone(data), target };
  return synchronize ? { kind: 'update' } : { kind: 'skip' };
}

function manageClone(target: ResourceRef, source: ResourceRef, known: JsonObject[]): Action {
  if (source.namespace === target.namespace && source.name === target.name) return { kind: 'skip' };
  const sourceObj = getResource(known, source);
  if (!sourceObj) throw new GenerateError(`source resource ${refText(target)} not found: ${notFoundText(source)}`);
  const copy = structuredClone(sourceObj);
  const meta = metaOf(copy);
  copy.metadata = meta;
  // Kyverno tags the source itself (updateSourceLabel) before copying it, so the copy carries
  // the clone-source label too; then addSourceLabels names the source on the copy, which is how
  // a later change of the source finds its downstream objects (the source's name is not among them).
  const { group: sourceGroup, version: sourceVersion } = resourceGVK(sourceObj);
  meta.labels = {
    ...((meta.labels ?? {}) as JsonObject),
    [CLONE_SOURCE_LABEL]: '',
    'generate.kyverno.io/source-group': sourceGroup,
    'generate.kyverno.io/source-version': sourceVersion,
    'generate.kyverno.io/source-kind': str(sourceObj.kind),
    'generate.kyverno.io/source-namespace': str(meta.namespace),
    'generate.kyverno.io/source-uid': str(meta.uid),
  };
  if (str(meta.namespace) !== target.namespace) delete meta.ownerReferences;
  for (const k of ['uid', 'selfLink', 'creationTimestamp', 'managedFields', 'resourceVersion']) delete meta[k];
  // The target always exists after generation; an existing one is only updated (not reported).
  return getResource(known, target) ? { kind: 'update' } : { kind: 'create', data: copy, target };
}

function manageCloneList(targetNamespace: string, cloneList: JsonObject, known: JsonObject[]): Action[] {
  const actions: Action[] = [];
  const sourceNamespace = str(cloneList.namespace);
  const selector = isJsonObject(cloneList.selector) ? (cloneList.selector as never) : undefined;
  for (const kindSpec of cloneList.kinds as unknown[]) {
    const { apiVersion, kind } = splitKind(str(kindSpec));
    for (const source of listResources(known, apiVersion, kind, sourceNamespace, selector)) {
      const target = { apiVersion: str(source.apiVersion), kind: str(source.kind), namespace: targetNamespace, name: str(metaOf(source).name) };
      if (str(metaOf(source).namespace) === targetNamespace) continue; // self-clone
      actions.push(manageClone(target, { ...target, namespace: str(metaOf(source).namespace) }, known));
    }
  }
  return actions;
}

/**
 * The NotFound error of the CLI's fake dynamic client: `<resource>[.<group>] "<name>" not
 * found`, its resources named as the CLI registers them (lowercase kind + "s").
 */
function notFoundText(ref: ResourceRef): string {
  const group = ref.apiVersion.includes('/') ? ref.apiVersion.slice(0, ref.apiVersion.indexOf('/')) : '';
  return `${ref.kind.toLowerCase()}s${group ? `.${group}` : ''} "${ref.name}" not found`;
}

/** The created object: target identity, and Kyverno's managed-by / generate.kyverno.io labels. */
function finishResource(data: JsonObject, target: ResourceRef, env: Env): JsonObject {
  const resource: JsonObject = { ...data };
  const meta: JsonObject = { ...metaOf(resource), name: target.name };
  if (target.namespace !== '') meta.namespace = target.namespace;
  else delete meta.namespace;
  if (str(resource.kind) === '') resource.kind = target.kind;
  resource.apiVersion = target.apiVersion;
  const triggerMeta = metaOf(env.trigger);
  const { group, version } = resourceGVK(env.trigger);
  meta.labels = {
    ...((meta.labels ?? {}) as JsonObject),
    'app.kubernetes.io/managed-by': 'kyverno',
    'generate.kyverno.io/policy-name': env.options.policyName ?? '',
    'generate.kyverno.io/policy-namespace': env.options.policyNamespace ?? '',
    'generate.kyverno.io/rule-name': env.rule,
    'generate.kyverno.io/trigger-group': group,
    'generate.kyverno.io/trigger-version': version,
    'generate.kyverno.io/trigger-kind': str(env.trigger.kind),
    'generate.kyverno.io/trigger-namespace': str(triggerMeta.namespace),
    // TriggerInfo sets the uid label even when the trigger has none (offline triggers).
    'generate.kyverno.io/trigger-uid': str(triggerMeta.uid),
  };
  resource.metadata = meta;
  return resource;
}
