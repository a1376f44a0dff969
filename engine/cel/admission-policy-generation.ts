/**
 * Kubernetes-native admission policies generated from Kyverno policies, as Kyverno's admission
 * controller generates them (pkg/admissionpolicy builder.go and kyvernopolicy_checker.go,
 * pkg/controllers/admissionpolicygenerator): a ValidatingAdmissionPolicy and its binding from a
 * ClusterPolicy whose one rule is a `validate.cel` rule with `generate: true` (`cpol-<name>`) or
 * from a ValidatingPolicy with `autogen.validatingAdmissionPolicy.enabled` (`vpol-<name>`); a
 * MutatingAdmissionPolicy and its binding from a MutatingPolicy with
 * `autogen.mutatingAdmissionPolicy.enabled` (`mpol-<name>`). Bindings are `<policy>-binding`.
 *
 * Each plan either builds the objects (owned by the policy, labelled managed by Kyverno), or
 * refuses with Kyverno's reason (then any previously generated object is deleted and the
 * policy's status says why), or is `none` (Kyverno's controller leaves the policy alone).
 * Pure: kinds are resolved through the caller's discovery (`findResources`).
 */
import type { JsonObject } from '../core/types';
import { asArray, asObject, isJsonObject } from '../core/json';
import { parseKindSelector, type ServedResource } from '../kube';
import { containsWildcard, wildcardMatch } from '../wildcard/wildcard';
import { autogenConfigs } from './autogen';
import { MANAGED_BY_LABEL } from '../kube/labels';

type Json = JsonObject;

/** Kyverno's discovery FindResources, as `engine/kube`'s findResources answers it over a kind table. */
export type FindResources = (group: string, version: string, kind: string, subresource: string) => ServedResource[];

export const ADMISSION_REGISTRATION = 'admissionregistration.k8s.io';
const EXCLUDE_REPORTING_LABEL = 'reports.kyverno.io/disabled';

/** Generated objects: the policy and its binding, of one apiVersion. */
export interface GeneratedPair {
  apiVersion: string;
  policyKind: 'ValidatingAdmissionPolicy' | 'MutatingAdmissionPolicy';
  policyName: string;
  bindingName: string;
}

export type GenerationPlan =
  /** Kyverno's generator does not look at this policy (feature off, not a validate policy…). */
  | { action: 'none' }
  /** Delete whatever was generated before; the status records `generated: false` with the reason. */
  | { action: 'skip'; target: GeneratedPair; reason: string }
  /** Create or update both objects; the status records `generated: true`. */
  | { action: 'generate'; target: GeneratedPair; policy: Json; binding: Json }
  /** The objects cannot be built (a kind discovery does not resolve to one resource): retried later, status untouched. */
  | { action: 'error'; target: GeneratedPair; message: string };

const SKIP = 'skip generating ValidatingAdmissionPolicy';

function strings(v: unknown): string[] {
  return asArray(v).map(String);
}

function bindingNameOf(name: string): string {
  return `${name}-binding`;
}

function ownerReference(policy: Json, apiVersion: string): Json {
  const meta = asObject(policy.metadata);
  return { apiVersion, kind: String(policy.kind), name: String(meta.name ?? ''), uid: String(meta.uid ?? '') };
}

/** Kyverno's SetManagedByKyvernoLabel, plus reports.kyverno.io/disabled when the policy carries it (generated policies only). */
function generatedMeta(name: string, owner: Json, source: Json | undefined): Json {
  const labels: Record<string, string> = { [MANAGED_BY_LABEL]: 'kyverno' };
  if (source && EXCLUDE_REPORTING_LABEL in asObject(asObject(source.metadata).labels)) labels[EXCLUDE_REPORTING_LABEL] = 'true';
  return { name, labels, ownerReferences: [owner] };
}

// ---------------------------------------------------------------------------------------------
// ClusterPolicy → ValidatingAdmissionPolicy: the checks (kyvernopolicy_checker.go)
// ---------------------------------------------------------------------------------------------

type Verdict = string | undefined;

function userInfoEmpty(info: Json): boolean {
  return strings(info.roles).length === 0 && strings(info.clusterRoles).length === 0 && asArray(info.subjects).length === 0;
}

function checkUserInfo(block: Json): Verdict {
  return userInfoEmpty(block) ? undefined : `${SKIP}: Roles / ClusterRoles / Subjects in \`any/all\` is not applicable.`;
}

function checkResources(resource: Json, isMatch: boolean): Verdict {
  if (!isMatch && strings(resource.kinds).length !== 0 && strings(resource.namespaces).length !== 0) {
    return `${SKIP}: excluding a resource within a namespace is not applicable.`;
  }
  if (Object.keys(asObject(resource.annotations)).length !== 0) return `${SKIP}: Annotations in resource description is not applicable.`;
  const name = typeof resource.name === 'string' ? resource.name : '';
  if ((name && containsWildcard(name)) || strings(resource.names).some(containsWildcard)) return `${SKIP}: wildcards in resource name is not applicable.`;
  if (strings(resource.namespaces).some(containsWildcard)) return `${SKIP}: wildcards in namespace name is not applicable.`;
  return undefined;
}

function checkResourceFilters(filters: unknown, isMatch: boolean): Verdict {
  const list = asArray(filters).map(asObject);
  let namespaceSelector = false;
  let objectSelector = false;
  for (const f of list) {
    const verdict = checkUserInfo(f) ?? checkResources(asObject(f.resources), isMatch);
    if (verdict) return verdict;
    const resources = asObject(f.resources);
    if (isJsonObject(resources.namespaceSelector)) namespaceSelector = true;
    if (isJsonObject(resources.selector)) objectSelector = true;
  }
  if (!isMatch && (namespaceSelector || objectSelector)) return `${SKIP}: NamespaceSelector / ObjectSelector in the exclude block is not applicable.`;
  if (isMatch && list.length > 1 && (namespaceSelector || objectSelector)) {
    return `${SKIP}: NamespaceSelector / ObjectSelector across multiple resources in the match block are not applicable.`;
  }
  return undefined;
}

function checkFailureActionOverrides(overrides: unknown): Verdict {
  const list = asArray(overrides).map(asObject);
  if (list.length > 1) return `${SKIP}: multiple validationFailureActionOverrides are not applicable.`;
  if (list.length === 1 && strings(list[0].namespaces).length !== 0) return `${SKIP}: Namespaces in validationFailureActionOverrides is not applicable.`;
  return undefined;
}

function checkBlock(block: Json, isMatch: boolean, which: 'match' | 'exclude'): Verdict {
  const verdict = checkUserInfo(block) ?? checkResources(asObject(block.resources), isMatch) ?? checkResourceFilters(block.any, isMatch);
  if (verdict) return verdict;
  if (asArray(block.all).length > 1) return `${SKIP}: multiple 'all' in the ${which} block is not applicable.`;
  return checkResourceFilters(block.all, isMatch);
}

/**
 * Kyverno's checkPolicy: one validate.cel rule with `generate: true` (unless `validateOnly`:
 * the policy validation's question, whether the rule could be one), and match/exclude blocks a
 * VAP can express.
 */
function checkClusterPolicy(spec: Json, validateOnly: boolean): Verdict {
  const rules = asArray(spec.rules).map(asObject);
  if (rules.length === 0) return `${SKIP}: no rules found.`;
  if (rules.length > 1) return `${SKIP}: multiple rules are not applicable.`;
  const rule = rules[0];
  const validate = asObject(rule.validate);
  if (!isJsonObject(validate.cel)) return 'skip generating ValidatingAdmissionPolicy for non CEL rules.';
  if (!validateOnly && asObject(validate.cel).generate !== true) return `${SKIP}: validate.cel.generate is not set to true.`;
  const verdict = checkFailureActionOverrides(spec.validationFailureActionOverrides) ?? checkFailureActionOverrides(validate.failureActionOverrides);
  if (verdict) return verdict;
  return checkBlock(asObject(rule.match), true, 'match') ?? (isJsonObject(rule.exclude) ? checkBlock(rule.exclude, false, 'exclude') : undefined);
}

/** Kyverno's checkExceptions over the PolicyExceptions naming the policy's rule. */
function checkExceptions(exceptions: Json[]): Verdict {
  for (const exception of exceptions) {
    const spec = asObject(exception.spec);
    if (asArray(spec.exceptions).map(asObject).some((e) => strings(e.ruleNames).length > 1)) {
      return `${SKIP}: multiple ruleNames in PolicyException is not applicable.`;
    }
    if (spec.conditions !== undefined && spec.conditions !== null) return `${SKIP}: Conditions in PolicyException is not applicable.`;
    const match = asObject(spec.match);
    const verdict = checkResourceFilters(match.any, false);
    if (verdict) return verdict;
    if (asArray(match.all).length > 1) return `${SKIP}: multiple 'all' in the PolicyException's match block is not applicable.`;
    const all = checkResourceFilters(match.all, false);
    if (all) return all;
  }
  return undefined;
}

/**
 * Kyverno's CanGenerateVAP: undefined when the ClusterPolicy (with the PolicyExceptions that
 * name its rule) can be expressed as a ValidatingAdmissionPolicy, else the reason it cannot.
 * `validateOnly` is its `validate` argument (the policy validation's call): `generate: true` is
 * not required.
 */
export function validatingAdmissionPolicyRefusal(policy: Json, exceptions: Json[], validateOnly = false): string | undefined {
  return checkClusterPolicy(asObject(policy.spec), validateOnly) ?? checkExceptions(exceptions);
}

/** The classic PolicyExceptions (kyverno.io) with an entry for this policy and rule (Kyverno's Exception.Contains: rule names are wildcards). */
export function classicExceptionsFor(policyName: string, ruleName: string, exceptions: Json[]): Json[] {
  return exceptions.filter((e) =>
    String(e.apiVersion ?? '').startsWith('kyverno.io/') && e.kind === 'PolicyException' &&
    asArray(asObject(e.spec).exceptions).map(asObject).some((x) => x.policyName === policyName && strings(x.ruleNames).some((r) => wildcardMatch(r, ruleName))),
  );
}

/** The CEL PolicyExceptions (policies.kyverno.io) whose policyRefs name the policy and that have not expired. */
export function celExceptionsFor(policyName: string, exceptions: Json[], nowMs: number): Json[] {
  return exceptions.filter((e) => {
    if (!String(e.apiVersion ?? '').startsWith('policies.kyverno.io/') || e.kind !== 'PolicyException') return false;
    const spec = asObject(e.spec);
    if (typeof spec.expiresAt === 'string' && Date.parse(spec.expiresAt) < nowMs) return false;
    return asArray(spec.policyRefs).map(asObject).some((r) => r.name === policyName);
  });
}

// ---------------------------------------------------------------------------------------------
// ClusterPolicy → ValidatingAdmissionPolicy: the builder (builder.go)
// ---------------------------------------------------------------------------------------------

const ALL_OPERATIONS = ['CREATE', 'UPDATE', 'CONNECT', 'DELETE'];

/** Kyverno's translateOperations: the four admission operations kept, all four when none is given. */
function translateOperations(ops: unknown): string[] {
  const kept = strings(ops).filter((o) => ALL_OPERATIONS.includes(o));
  return kept.length ? kept : [...ALL_OPERATIONS];
}

function namedRule(resourceNames: string[], group: string, version: string, operations: string[], resources: string[]): Json {
  return {
    ...(resourceNames.length ? { resourceNames } : {}),
    apiGroups: [group],
    apiVersions: [version],
    operations,
    resources: [...resources].sort(),
  };
}

/** Kyverno's constructValidatingAdmissionPolicyRules: appends the rules of one resource description. */
function addRules(rules: Json[], res: Json, isMatch: boolean, findResources: FindResources): void {
  const operations = translateOperations(res.operations);
  const resourceNames = [...strings(res.names), ...(typeof res.name === 'string' && res.name ? [res.name] : [])];
  for (const kind of strings(res.kinds)) {
    if (kind === '*') {
      rules.push(namedRule(resourceNames, '*', '*', operations, ['*']));
      continue;
    }
    const sel = parseKindSelector(kind);
    const found = findResources(sel.group, sel.version, sel.kind, sel.subresource);
    if (found.length !== 1) throw new Error(`no unique match for kind ${sel.kind}`);
    const r = found[0];
    const name = r.subresource ? `${r.resource}/${r.subresource}` : r.resource;
    const resources = name === 'pods' ? [name, 'pods/ephemeralcontainers'] : [name];
    const same = rules.find((x) => strings(x.apiGroups).includes(r.group) && strings(x.apiVersions).includes(r.version));
    if (same) same.resources = [...strings(same.resources), ...resources].sort();
    else rules.push(namedRule(resourceNames, r.group, r.version, operations, resources));
  }
  // Excluding namespaces without kinds: the Namespace objects themselves, by name.
  if (!isMatch && strings(res.namespaces).length > 0 && strings(res.kinds).length === 0) {
    rules.push({ resourceNames: strings(res.namespaces), apiGroups: [''], apiVersions: ['v1'], operations, resources: ['namespaces'] });
  }
}

/** Kyverno's translateResource: match rules carry the (last) description's namespace and object selectors. */
function translateResource(constraints: Json, rules: Json[], res: Json, isMatch: boolean, findResources: FindResources): void {
  addRules(rules, res, isMatch, findResources);
  if (!isMatch) {
    constraints.excludeResourceRules = rules;
    return;
  }
  constraints.resourceRules = rules;
  const namespaces = strings(res.namespaces);
  if (namespaces.length > 0) constraints.namespaceSelector = { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: namespaces }] };
  else if (isJsonObject(res.namespaceSelector)) constraints.namespaceSelector = res.namespaceSelector;
  else delete constraints.namespaceSelector;
  if (isJsonObject(res.selector)) constraints.objectSelector = res.selector;
  else delete constraints.objectSelector;
}

function descriptionEmpty(res: Json): boolean {
  return Object.values(res).every((v) => v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0) || (isJsonObject(v) && Object.keys(v).length === 0));
}

function translateBlock(constraints: Json, rules: Json[], block: Json, isMatch: boolean, findResources: FindResources): void {
  const res = asObject(block.resources);
  if (!descriptionEmpty(res)) translateResource(constraints, rules, res, isMatch, findResources);
  for (const f of [...asArray(block.any), ...asArray(block.all)].map(asObject)) translateResource(constraints, rules, asObject(f.resources), isMatch, findResources);
}

/** Kyverno's mapping of a failure action to binding validationActions: Enforce → Deny, Audit → Audit + Warn. */
function validationActionsOf(action: unknown): string[] {
  const a = String(action ?? '').toLowerCase();
  if (a === 'enforce') return ['Deny'];
  if (a === 'audit') return ['Audit', 'Warn'];
  return [];
}

/**
 * Kyverno's BuildValidatingAdmissionPolicy for a ClusterPolicy's one rule (without naming or
 * owning it): what the policy validation type-checks. Throws as the builder fails (a kind
 * discovery does not resolve to exactly one resource).
 */
export function clusterPolicyAdmissionPolicySpec(policy: Json, findResources: FindResources): Json {
  const target: GeneratedPair = { apiVersion: `${ADMISSION_REGISTRATION}/v1`, policyKind: 'ValidatingAdmissionPolicy', policyName: '', bindingName: '' };
  return asObject(clusterPolicyObjects(policy, [], target, findResources).policy.spec);
}

function clusterPolicyObjects(policy: Json, exceptions: Json[], target: GeneratedPair, findResources: FindResources): { policy: Json; binding: Json } {
  const rule = asObject(asArray(asObject(policy.spec).rules)[0]);
  const cel = asObject(asObject(rule.validate).cel);
  const constraints: Json = {};
  const matchRules: Json[] = [];
  const excludeRules: Json[] = [];
  translateBlock(constraints, matchRules, asObject(rule.match), true, findResources);
  if (isJsonObject(rule.exclude)) translateBlock(constraints, excludeRules, rule.exclude, false, findResources);
  for (const exception of exceptions) {
    const match = asObject(asObject(exception.spec).match);
    for (const f of [...asArray(match.any), ...asArray(match.all)].map(asObject)) translateResource(constraints, excludeRules, asObject(f.resources), false, findResources);
  }
  const owner = ownerReference(policy, 'kyverno.io/v1');
  const spec: Json = { matchConstraints: constraints };
  if (cel.paramKind !== undefined) spec.paramKind = cel.paramKind;
  if (asArray(cel.variables).length) spec.variables = cel.variables;
  if (asArray(cel.expressions).length) spec.validations = cel.expressions;
  if (asArray(cel.auditAnnotations).length) spec.auditAnnotations = cel.auditAnnotations;
  if (asArray(rule.celPreconditions).length) spec.matchConditions = rule.celPreconditions;
  const ruleAction = asObject(rule.validate).failureAction;
  const actions = validationActionsOf(ruleAction !== undefined && ruleAction !== null ? ruleAction : asObject(policy.spec).validationFailureAction);
  const bindingSpec: Json = { policyName: target.policyName, ...(cel.paramRef !== undefined ? { paramRef: cel.paramRef } : {}), ...(actions.length ? { validationActions: actions } : {}) };
  return {
    policy: { apiVersion: target.apiVersion, kind: 'ValidatingAdmissionPolicy', metadata: generatedMeta(target.policyName, owner, policy), spec },
    binding: { apiVersion: target.apiVersion, kind: 'ValidatingAdmissionPolicyBinding', metadata: generatedMeta(target.bindingName, owner, undefined), spec: bindingSpec },
  };
}

// ---------------------------------------------------------------------------------------------
// ValidatingPolicy → ValidatingAdmissionPolicy
// ---------------------------------------------------------------------------------------------

const quoted = (values: unknown) => `[${strings(values).map((v) => `'${v}'`).join(', ')}]`;

function validatingPolicyObjects(policy: Json, exceptions: Json[], target: GeneratedPair): { policy: Json; binding: Json } {
  const vspec = asObject(policy.spec);
  const matchConditions = asArray(vspec.matchConditions).map(asObject);
  const variables = asArray(vspec.variables).map(asObject);
  // CEL exceptions become negated match conditions; their images and allowed values become
  // variables the validations read in place of `exceptions.*`.
  for (const e of exceptions) {
    const espec = asObject(e.spec);
    for (const c of asArray(espec.matchConditions).map(asObject)) matchConditions.push({ name: c.name, expression: `!(${String(c.expression ?? '')})` });
    if (strings(espec.images).length) variables.push({ name: 'allowedImages', expression: quoted(espec.images) });
    if (strings(espec.allowedValues).length) variables.push({ name: 'allowedValues', expression: quoted(espec.allowedValues) });
  }
  const validations = asArray(vspec.validations).map(asObject).map((v) => ({
    ...v,
    expression: String(v.expression ?? '').split('exceptions.allowedImages').join('variables.allowedImages').split('exceptions.allowedValues').join('variables.allowedValues'),
  }));
  const owner = ownerReference(policy, 'policies.kyverno.io/v1beta1');
  const spec: Json = { matchConstraints: asObject(vspec.matchConstraints) };
  if (variables.length) spec.variables = variables;
  if (validations.length) spec.validations = validations;
  if (asArray(vspec.auditAnnotations).length) spec.auditAnnotations = vspec.auditAnnotations;
  if (matchConditions.length) spec.matchConditions = matchConditions;
  const actions = strings(vspec.validationActions);
  return {
    policy: { apiVersion: target.apiVersion, kind: 'ValidatingAdmissionPolicy', metadata: generatedMeta(target.policyName, owner, policy), spec },
    binding: { apiVersion: target.apiVersion, kind: 'ValidatingAdmissionPolicyBinding', metadata: generatedMeta(target.bindingName, owner, undefined), spec: { policyName: target.policyName, validationActions: actions.length ? actions : ['Deny'] } },
  };
}

/**
 * Whether the policy has pod-controller autogen configs: Kyverno reads them from
 * `status.autogen.configs`, which its policy status controller computes from the spec as
 * autogenConfigs does; computing them here does not depend on which controller wrote first.
 */
function autogenEnabled(spec: Json): boolean {
  return Object.keys(autogenConfigs(spec) ?? {}).length > 0;
}

function enabledIn(spec: Json, key: 'validatingAdmissionPolicy' | 'mutatingAdmissionPolicy'): boolean {
  return asObject(asObject(spec.autogen)[key]).enabled === true;
}

export interface VapGenerationOptions {
  /** Kyverno's generateValidatingAdmissionPolicy feature (the chart's default: on). */
  enabled: boolean;
  findResources: FindResources;
  /** Every PolicyException (classic and CEL); the plan picks those naming the policy. */
  exceptions: Json[];
  nowMs: number;
}

/**
 * What Kyverno's generator does for a ClusterPolicy or ValidatingPolicy
 * (handleVAPGeneration): ClusterPolicies with a validate rule and ValidatingPolicies are
 * looked at when the feature is on; other policies never.
 */
export function validatingAdmissionPolicyPlan(policy: Json, opts: VapGenerationOptions): GenerationPlan {
  if (!opts.enabled || !String(policy.apiVersion ?? '').includes('kyverno.io/')) return { action: 'none' };
  const name = String(asObject(policy.metadata).name ?? '');
  const spec = asObject(policy.spec);
  const apiVersion = `${ADMISSION_REGISTRATION}/v1`;
  if (policy.kind === 'ClusterPolicy') {
    const rules = asArray(spec.rules).map(asObject);
    if (!rules.some((r) => isJsonObject(r.validate))) return { action: 'none' };
    const target: GeneratedPair = { apiVersion, policyKind: 'ValidatingAdmissionPolicy', policyName: `cpol-${name}`, bindingName: bindingNameOf(`cpol-${name}`) };
    const exceptions = classicExceptionsFor(name, String(rules[0]?.name ?? ''), opts.exceptions);
    const refusal = validatingAdmissionPolicyRefusal(policy, exceptions);
    if (refusal !== undefined) return { action: 'skip', target, reason: refusal || `${SKIP}: a policy exception is configured.` };
    try {
      return { action: 'generate', target, ...clusterPolicyObjects(policy, exceptions, target, opts.findResources) };
    } catch (e) {
      return { action: 'error', target, message: (e as Error).message };
    }
  }
  if (policy.kind === 'ValidatingPolicy') {
    const target: GeneratedPair = { apiVersion, policyKind: 'ValidatingAdmissionPolicy', policyName: `vpol-${name}`, bindingName: bindingNameOf(`vpol-${name}`) };
    if (!enabledIn(spec, 'validatingAdmissionPolicy')) return { action: 'skip', target, reason: `${SKIP}: not enabled.` };
    if (autogenEnabled(spec)) {
      return { action: 'skip', target, reason: `${SKIP}: pod controllers autogen is enabled.` };
    }
    return { action: 'generate', target, ...validatingPolicyObjects(policy, celExceptionsFor(name, opts.exceptions, opts.nowMs), target) };
  }
  return { action: 'none' };
}

// ---------------------------------------------------------------------------------------------
// MutatingPolicy → MutatingAdmissionPolicy (generate-map.go, BuildMutatingAdmissionPolicy*)
// ---------------------------------------------------------------------------------------------

/** The MutatingAdmissionPolicy versions Kyverno can write, most preferred first (preferredMAPVersion). */
export const MAP_VERSIONS = ['v1', 'v1beta1', 'v1alpha1'] as const;
export type MapVersion = (typeof MAP_VERSIONS)[number];

export interface MapGenerationOptions {
  /** Kyverno's generateMutatingAdmissionPolicy feature (the chart's default: off). */
  enabled: boolean;
  /** The version the cluster serves (both kinds), undefined when none. */
  version: MapVersion | undefined;
  exceptions: Json[];
  nowMs: number;
}

const MAP_SKIP = 'skip generating MutatingAdmissionPolicy';

/** Kyverno's mapGenerationSkipReason. */
function mapSkipReason(policy: Json): string | undefined {
  const spec = asObject(policy.spec);
  if (!enabledIn(spec, 'mutatingAdmissionPolicy')) return `${MAP_SKIP}: not enabled.`;
  if (asObject(spec.evaluation).useServerSideApply === true) {
    return `${MAP_SKIP}: useServerSideApply is enabled, which mutates atomic fields that a native MutatingAdmissionPolicy rejects.`;
  }
  if (autogenEnabled(spec)) return `${MAP_SKIP}: pod controllers autogen is enabled.`;
  return undefined;
}

function mutatingPolicyObjects(policy: Json, exceptions: Json[], target: GeneratedPair, version: MapVersion): { policy: Json; binding: Json } {
  const mspec = asObject(policy.spec);
  const matchConditions = [
    ...exceptions.flatMap((e) => asArray(asObject(e.spec).matchConditions).map(asObject).map((c) => ({ name: c.name, expression: `!(${String(c.expression ?? '')})` }))),
    ...asArray(mspec.matchConditions).map(asObject),
  ];
  // Only the resource rules carry over (names and rule with operations), not selectors.
  const resourceRules = asArray(asObject(mspec.matchConstraints).resourceRules).map(asObject).map((r) => {
    const { resourceNames, apiGroups, apiVersions, resources, operations, scope } = r;
    return Object.fromEntries(Object.entries({ resourceNames, operations, apiGroups, apiVersions, resources, scope }).filter(([, v]) => v !== undefined));
  });
  const mutations = asArray(mspec.mutations).map(asObject).map((m) => {
    if (version === 'v1alpha1') return m;
    return {
      patchType: m.patchType,
      ...(isJsonObject(m.applyConfiguration) ? { applyConfiguration: { expression: m.applyConfiguration.expression } } : {}),
      ...(isJsonObject(m.jsonPatch) ? { jsonPatch: { expression: m.jsonPatch.expression } } : {}),
    };
  });
  const spec: Json = { matchConstraints: { resourceRules }, mutations, reinvocationPolicy: typeof mspec.reinvocationPolicy === 'string' ? mspec.reinvocationPolicy : 'Never' };
  if (matchConditions.length) spec.matchConditions = matchConditions;
  if (asArray(mspec.variables).length) spec.variables = mspec.variables;
  if (mspec.failurePolicy !== undefined && mspec.failurePolicy !== null) spec.failurePolicy = mspec.failurePolicy;
  const owner = ownerReference(policy, 'policies.kyverno.io/v1beta1');
  return {
    policy: { apiVersion: target.apiVersion, kind: 'MutatingAdmissionPolicy', metadata: generatedMeta(target.policyName, owner, policy), spec },
    binding: { apiVersion: target.apiVersion, kind: 'MutatingAdmissionPolicyBinding', metadata: generatedMeta(target.bindingName, owner, undefined), spec: { policyName: target.policyName } },
  };
}

/**
 * What Kyverno's generator does for a (cluster-scoped) MutatingPolicy (handleMAPGeneration):
 * with the feature off only a policy that asks for it is looked at; without a served
 * MutatingAdmissionPolicy version a policy asking for one records why nothing was generated.
 */
export function mutatingAdmissionPolicyPlan(policy: Json, opts: MapGenerationOptions): GenerationPlan {
  if (policy.kind !== 'MutatingPolicy' || !String(policy.apiVersion ?? '').startsWith('policies.kyverno.io/')) return { action: 'none' };
  const spec = asObject(policy.spec);
  const wanted = enabledIn(spec, 'mutatingAdmissionPolicy');
  if (!opts.enabled && !wanted) return { action: 'none' };
  const name = String(asObject(policy.metadata).name ?? '');
  const version = opts.version;
  const target: GeneratedPair = { apiVersion: `${ADMISSION_REGISTRATION}/${version ?? 'v1'}`, policyKind: 'MutatingAdmissionPolicy', policyName: `mpol-${name}`, bindingName: bindingNameOf(`mpol-${name}`) };
  if (version === undefined) {
    return wanted ? { action: 'skip', target, reason: `${MAP_SKIP}: requested but no MutatingAdmissionPolicy API/informers are available.` } : { action: 'none' };
  }
  const reason = mapSkipReason(policy);
  if (reason !== undefined) return { action: 'skip', target, reason };
  return { action: 'generate', target, ...mutatingPolicyObjects(policy, celExceptionsFor(name, opts.exceptions, opts.nowMs), target, version) };
}

// ---------------------------------------------------------------------------------------------
// Status and delegation
// ---------------------------------------------------------------------------------------------

/**
 * The policy's status with the generation's outcome, as Kyverno's updatePolicyStatus writes
 * it: `status.validatingadmissionpolicy.{generated,message}` for a ClusterPolicy,
 * `status.generated` and `status.conditionStatus.message` for a CEL policy.
 */
export function withGenerationStatus(policy: Json, generated: boolean, message: string): Json {
  const status = asObject(policy.status);
  if (policy.kind === 'ClusterPolicy') return { ...status, validatingadmissionpolicy: { generated, message } };
  const conditionStatus = asObject(status.conditionStatus);
  const { message: _old, ...rest } = conditionStatus;
  return { ...status, generated, conditionStatus: message ? { ...rest, message } : rest };
}

/**
 * Whether the policy's admission work has been handed to a generated Kubernetes policy: Kyverno
 * then leaves it out of its webhooks and its engines (the webhook controller's getAllPolicies,
 * the validate.cel handler, the vpol/mpol reconcilers) and out of background scans.
 */
export function generatedForApiServer(policy: Json): boolean {
  const status = asObject(policy.status);
  if (policy.kind === 'ClusterPolicy') return asObject(status.validatingadmissionpolicy).generated === true;
  if (policy.kind === 'ValidatingPolicy' || policy.kind === 'MutatingPolicy') return String(policy.apiVersion ?? '').startsWith('policies.kyverno.io/') && status.generated === true;
  return false;
}
