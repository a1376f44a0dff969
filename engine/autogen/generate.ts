/**
 * Building the autogen-* rules from a Pod rule (pkg/autogen/v1 rule.go): kinds rewritten
 * to the controllers, patterns/patches nested under spec.template (or
 * spec.jobTemplate.spec.template for CronJob), references shifted.
 *
 * The intermediate rules share sub-objects with their source (nothing here mutates them);
 * finalizeRule's rewriteDeep produces the independent JSON copy that leaves this module.
 */
import type { JsonObject } from '../core/types';
import { containsKind } from '../kube/selectors';
import { POD_CONTROLLERS, kindsOf } from './controllers';
import { asArray, asObject } from '../core/json';
import { rewriteDeep, shiftReferences, type Target } from './rewrite';

/** The controllers whose pods sit at spec.template, in Kyverno's order (`all` means these). */
const TEMPLATE_CONTROLLERS: readonly string[] = POD_CONTROLLERS.filter((c) => c !== 'CronJob');
const NON_CRONJOB_CONTROLLERS = new Set(TEMPLATE_CONTROLLERS);

export function isAutogenRuleName(name: string): boolean {
  return name.startsWith('autogen-');
}

/** `prefix-name`, cut to 63 characters (Kubernetes' name limit, counted in bytes by Go). */
export function autogenRuleName(prefix: string, name: string): string {
  const full = `${prefix}-${name}`;
  const bytes = new TextEncoder().encode(full);
  if (bytes.length <= 63) return full;
  return new TextDecoder().decode(bytes.slice(0, 63)).replace(/\uFFFD$/, '');
}

/** Go's splitKinds: split on the separator and sort. */
export function splitKinds(controllers: string): string[] {
  return controllers.split(',').sort();
}

export function stripCronJob(controllers: string): string {
  return splitKinds(controllers)
    .filter((c) => c !== 'CronJob')
    .join(',');
}

function isSet(v: unknown): boolean {
  return v !== undefined && v !== null;
}

/** MatchResources.GetKinds: legacy kinds, then all[], then any[]. */
export function blockKinds(block: unknown): string[] {
  const b = asObject(block);
  const kinds = [...kindsOf(b.resources)];
  for (const f of asArray(b.all)) kinds.push(...kindsOf(asObject(f).resources));
  for (const f of asArray(b.any)) kinds.push(...kindsOf(asObject(f).resources));
  return kinds;
}

type FilterRewrite = (filters: unknown[], kinds: string[]) => unknown[];

/** Kyverno's PodControllerGVKMap (pkg/autogen/v1/internal/gvk.go): the group/version/kind an autogen rule names. */
const POD_CONTROLLER_GVK: Readonly<Record<string, string>> = {
  DaemonSet: 'apps/v1/DaemonSet',
  Deployment: 'apps/v1/Deployment',
  Job: 'batch/v1/Job',
  StatefulSet: 'apps/v1/StatefulSet',
  ReplicaSet: 'apps/v1/ReplicaSet',
  ReplicationController: 'v1/ReplicationController',
  CronJob: 'batch/v1/CronJob',
  Pod: 'v1/Pod',
};

/** Kyverno's ConvertKindsToGVK: the kinds an autogen rule matches, fully qualified where Kyverno knows them. */
export function kindsToGvk(kinds: string[]): string[] {
  return kinds.map((k) => POD_CONTROLLER_GVK[k] ?? k);
}

function withKinds(filter: unknown, kinds: string[]): JsonObject {
  const f = asObject(filter);
  return { ...f, resources: { ...asObject(f.resources), kinds: kindsToGvk(kinds) } };
}

const podFilters: FilterRewrite = (filters, kinds) =>
  filters.map((f) => (containsKind(kindsOf(asObject(f).resources), 'Pod') ? withKinds(f, kinds) : f));

const allFilters: FilterRewrite = (filters, kinds) => filters.map((f) => withKinds(f, kinds));

function rewriteBlock(block: JsonObject, kinds: string[], grf: FilterRewrite, legacyOnlyIfSet: boolean): JsonObject {
  if (asArray(block.any).length > 0) return { ...block, any: grf(asArray(block.any), kinds) };
  if (asArray(block.all).length > 0) return { ...block, all: grf(asArray(block.all), kinds) };
  if (legacyOnlyIfSet && kindsOf(block.resources).length === 0) return block;
  return { ...block, resources: { ...asObject(block.resources), kinds: kindsToGvk(kinds) } };
}

function wrap(tplKey: string, value: unknown): JsonObject {
  return { spec: { [tplKey]: value === undefined ? null : value } };
}

/** Fields Kyverno copies from the original validate block into the rewritten one. */
function validationCommon(v: JsonObject, message: string): JsonObject {
  const out: JsonObject = {};
  if (message !== '') out.message = message;
  for (const k of ['failureAction', 'failureActionOverrides', 'allowExistingViolations']) {
    if (isSet(v[k])) out[k] = v[k];
  }
  return out;
}

function autogenAssertion(tree: unknown, tplKey: string): unknown {
  if (!tree || typeof tree !== 'object' || Array.isArray(tree)) return tree;
  const value: JsonObject = { ...(tree as JsonObject) };
  for (const n of ['object', 'oldObject']) {
    const obj = (tree as JsonObject)[n];
    if (obj && typeof obj === 'object' && !Array.isArray(obj)) value[n] = wrap(tplKey, { ...(obj as JsonObject) });
  }
  return value;
}

function rewriteMutation(mutate: JsonObject, tplKey: string): JsonObject | undefined {
  if (isSet(mutate.patchStrategicMerge)) {
    return { patchStrategicMerge: wrap(tplKey, mutate.patchStrategicMerge) };
  }
  const foreach = asArray(mutate.foreach);
  if (foreach.length === 0) return undefined;
  return {
    foreach: foreach.map((raw) => {
      const f = asObject(raw);
      const out: JsonObject = {};
      if (isSet(f.list)) out.list = f.list;
      if (asArray(f.context).length > 0) out.context = f.context;
      if (isSet(f.preconditions)) out.preconditions = f.preconditions;
      out.patchStrategicMerge = wrap(tplKey, f.patchStrategicMerge);
      return out;
    }),
  };
}

function rewriteValidation(v: JsonObject, tplKey: string, shift: string): JsonObject | undefined {
  const message = typeof v.message === 'string' ? v.message : '';
  if (isSet(v.pattern)) {
    return { ...validationCommon(v, shiftReferences(message, shift, 'pattern')), pattern: wrap(tplKey, v.pattern) };
  }
  if (isSet(v.deny)) {
    return { ...validationCommon(v, shiftReferences(message, shift, 'deny')), deny: v.deny };
  }
  if (isSet(v.podSecurity)) {
    const ps = asObject(v.podSecurity);
    const podSecurity: JsonObject = {};
    if (isSet(ps.level)) podSecurity.level = ps.level;
    if (isSet(ps.version)) podSecurity.version = ps.version;
    if (asArray(ps.exclude).length > 0) podSecurity.exclude = ps.exclude;
    return { ...validationCommon(v, shiftReferences(message, shift, 'podSecurity')), podSecurity };
  }
  if (isSet(v.anyPattern)) {
    const patterns = asArray(v.anyPattern).map((p) => wrap(tplKey, p));
    return { ...validationCommon(v, shiftReferences(message, shift, 'anyPattern')), anyPattern: patterns };
  }
  if (asArray(v.foreach).length > 0) {
    return { ...validationCommon(v, shiftReferences(message, shift, 'pattern')), foreach: v.foreach };
  }
  if (isSet(v.cel)) return v;
  if (isSet(v.assert) && !(typeof v.assert === 'object' && Object.keys(v.assert as object).length === 0)) {
    return { ...v, assert: autogenAssertion(v.assert, tplKey) };
  }
  return undefined;
}

/**
 * Kyverno's generateRule: a copy of the rule named `name`, matching `kinds`, with its
 * mutate/validate body nested under `spec.<tplKey>`. Undefined when the rule has nothing
 * Kyverno knows how to move (then no autogen rule exists for it).
 */
export function generateRule(
  name: string,
  source: JsonObject | undefined,
  tplKey: string,
  shift: string,
  kinds: string[],
  grf: FilterRewrite,
): JsonObject | undefined {
  if (!source) return undefined;
  const rule: JsonObject = { ...source, name };
  rule.match = rewriteBlock(asObject(rule.match), kinds, grf, false);
  if (isSet(rule.exclude)) rule.exclude = rewriteBlock(asObject(rule.exclude), kinds, grf, true);
  if (isSet(rule.mutate)) {
    const mutate = rewriteMutation(asObject(rule.mutate), tplKey);
    if (mutate) return { ...rule, mutate };
  }
  if (isSet(rule.validate)) {
    const validate = rewriteValidation(asObject(rule.validate), tplKey, shift);
    if (validate) return { ...rule, validate };
  }
  if (isSet(rule.verifyImages)) return rule;
  return undefined;
}

/** Kyverno's generateRuleForControllers: the `autogen-<rule>` rule, or undefined. */
export function generateRuleForControllers(rule: JsonObject, controllers: string): JsonObject | undefined {
  const name = typeof rule.name === 'string' ? rule.name : '';
  if (isAutogenRuleName(name) || controllers === '') return undefined;
  const matchKinds = blockKinds(rule.match);
  const excludeKinds = isSet(rule.exclude) ? blockKinds(rule.exclude) : [];
  if (!containsKind(matchKinds, 'Pod') || (excludeKinds.length > 0 && !containsKind(excludeKinds, 'Pod'))) {
    return undefined;
  }
  let effective = controllers;
  if (controllers === 'all') {
    effective = TEMPLATE_CONTROLLERS.join(',');
  } else if (controllers !== 'none') {
    const validated = splitKinds(controllers).filter((c) => NON_CRONJOB_CONTROLLERS.has(c));
    if (validated.length > 0) effective = validated.join(',');
  }
  return generateRule(autogenRuleName('autogen', name), rule, 'template', 'spec/template', splitKinds(effective), podFilters);
}

/** Kyverno's generateCronJobRule: the `autogen-cronjob-<rule>` rule, built on the controllers rule. */
export function generateCronJobRule(rule: JsonObject, controllers: string): JsonObject | undefined {
  if (!controllers.includes('CronJob') && !controllers.includes('all')) return undefined;
  const name = typeof rule.name === 'string' ? rule.name : '';
  return generateRule(
    autogenRuleName('autogen-cronjob', name),
    generateRuleForControllers(rule, controllers),
    'jobTemplate',
    'spec/jobTemplate/spec/template',
    ['CronJob'],
    allFilters,
  );
}

function isEmptyObject(v: unknown): boolean {
  return !v || (typeof v === 'object' && Object.values(v as object).every((x) => x === undefined || x === null));
}

function hasConditions(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  return !isEmptyObject(v);
}

/**
 * Kyverno's createRule + convertRule: keep only the fields an autogen rule carries, then
 * rewrite request.object references for the target (CEL names when the rule validates with CEL).
 */
export function finalizeRule(rule: JsonObject | undefined, target: Target): JsonObject | undefined {
  if (!rule) return undefined;
  const out: JsonObject = { name: rule.name };
  if (!isEmptyObject(rule.match)) out.match = rule.match;
  if (isSet(rule.exclude) && !isEmptyObject(rule.exclude)) out.exclude = rule.exclude;
  if (asArray(rule.context).length > 0) out.context = rule.context;
  if (asArray(rule.celPreconditions).length > 0) out.celPreconditions = rule.celPreconditions;
  if (hasConditions(rule.preconditions)) out.preconditions = rule.preconditions;
  if (isSet(rule.mutate) && !isEmptyObject(rule.mutate)) out.mutate = rule.mutate;
  if (isSet(rule.validate) && !isEmptyObject(rule.validate)) out.validate = rule.validate;
  if (isSet(rule.verifyImages)) out.verifyImages = rule.verifyImages;
  if (isSet(rule.skipBackgroundRequests)) out.skipBackgroundRequests = rule.skipBackgroundRequests;
  // Carried along and rewritten for the target like the rest of the rule (createRule, convertRule).
  if (isSet(rule.reportProperties) && Object.keys(asObject(rule.reportProperties)).length > 0) out.reportProperties = rule.reportProperties;
  const cel = isSet(asObject(out.validate).cel);
  return rewriteDeep(out, target, cel) as JsonObject;
}

/** Kyverno's generateRules: for each rule, its controllers rule then its CronJob rule. */
export function generateRules(rules: JsonObject[], controllers: string): JsonObject[] {
  const out: JsonObject[] = [];
  for (const rule of rules) {
    const forControllers = finalizeRule(generateRuleForControllers(rule, stripCronJob(controllers)), 'Pod');
    if (forControllers) out.push(forControllers);
    const forCronJob = finalizeRule(generateCronJobRule(rule, controllers), 'Cronjob');
    if (forCronJob) out.push(forCronJob);
  }
  return out;
}
