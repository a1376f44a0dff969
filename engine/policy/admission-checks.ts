/**
 * The checks Kyverno's policy validating webhook runs when a ClusterPolicy or Policy is created
 * or updated (pkg/validation/policy Validate, and the spec's own Validate in api/kyverno/v1),
 * with Kyverno's messages, so a policy Kyverno would reject is rejected here too: by the
 * webhook's /policyvalidate, and by the CLI and the editor. Pure.
 *
 * Covered: a ClusterPolicy with a namespace; the autogen annotation `all`; names longer than
 * 63; deprecated fields set next to their replacements; mutate-existing rules without
 * targets; webhook timeouts outside 1–30 s; mutate targets and generate targets outside a
 * namespaced policy's namespace; generate patterns (one kind, required kind/name/apiVersion,
 * target namespace for the target's scope); validationFailureActionOverrides in a Policy;
 * admission and background both off; admission off for mutate, generate or verifyImages rules;
 * match/exclude subjects and roles (UserInfo.Validate), name with names and namespaced-policy
 * kinds and namespaces (ResourceDescription.Validate); wildcard kinds (validateWildcard);
 * background validate rules on subresources (validKinds); `target.` variables outside
 * mutate targets (hasInvalidVariables' targets-only substitution); podSecurity exclusions of
 * rules and PolicyExceptions (engine/pss/validation); condition operators Kyverno does not know
 * (validateResources) and celPreconditions outside validate.cel (validateActions); warnings for
 * the deprecated In/NotIn operators; webhookConfiguration.matchConditions that do not compile
 * (ValidateCustomWebhookMatchConditions).
 * Not covered here (they need Go's struct printing or the API server's discovery): duplicate
 * rule names and rule-type counts (Kyverno prints the whole rule) and kinds unknown to the
 * cluster. The type check of validate.cel expressions (warnings, with a cluster only) types
 * built-in kinds with the bundled API types and custom resources with the CRDs the caller gives.
 */
import type { JsonObject } from '../core/types';
import { asArray, asObject, formatFieldPath, isJsonObject } from '../core/json';
import { findKnownKinds, isNamespacedKind, SUBRESOURCE_KINDS } from '../kube/known-kinds';
import { findBuiltInResources, type ServedResource } from '../kube/kind-table';
import { parseKindSelector } from '../kube/selectors';
import { wildcardMatch } from '../wildcard/wildcard';
import { parseDuration } from '../units';
import { podSecurityRuleProblems, podSecurityStandardProblems } from '../pss/validation';
import { checkCelExpression, type CelCheckContext } from '../cel/diagnostics';
import { celTypeCheckWarning, classicCelTypeCheck, objectTypesWith } from '../cel/type-check';
import type { CrdSchema } from '../kube/crd';

export interface PolicyCheckOptions {
  /** Whether `apiVersion`/`kind` is cluster-scoped (the API server's discovery); default: the known-kinds table. */
  isClusterScoped?: (apiVersion: string, kind: string) => boolean;
  /** The policy as stored before this update (an UPDATE request's oldObject): generate rules may change only so far. */
  oldPolicy?: JsonObject;
  /**
   * Validation without a cluster, as Kyverno's CLI runs it (policyvalidation.Validate with
   * mock=true): discovery is empty, so no kind counts as cluster-scoped and kinds are not
   * looked up (validKinds, with its subresource check, does nothing).
   */
  withoutCluster?: boolean;
  /**
   * The resources a kind selector names, as Kyverno's discovery FindResources answers (the
   * webhook gives the cluster's discovery); default: the built-in kind table.
   */
  findResources?: ResourceFinder;
  /**
   * The CustomResourceDefinitions the CEL type check of validate.cel types custom resources
   * with (the cluster's, as Kyverno's schema resolver reads them; the editor's workspace CRDs).
   * Without them only built-in kinds are checked.
   */
  customResources?: readonly CrdSchema[];
  /**
   * Compile the CEL of ValidatingPolicies and GeneratingPolicies (default true). The editor
   * turns it off: its own CEL check reports the same errors inside the expressions, memoized.
   */
  compileCel?: boolean;
}

/** Kyverno's dclient FindResources(group, version, kind, subresource). */
export type ResourceFinder = (group: string, version: string, kind: string, subresource: string) => ServedResource[];


/** A JSON path into the checked document. */
export type FieldPath = ReadonlyArray<string | number>;

/**
 * One reason Kyverno rejects a document: Kyverno's message, and the path of the value at
 * fault in the document (Kyverno's own field path sometimes names another place, e.g.
 * `spec.rules[0].namespace` for a generate rule's target namespace: the message keeps
 * Kyverno's words, the path says where the user has to look).
 */
export interface AdmissionIssue {
  path: FieldPath;
  message: string;
  /**
   * A message with no value at fault (a CEL compiler's leading placeholder): part of the
   * webhook's answer, left out where errors are shown at a place (editor, file:line).
   */
  unplaced?: boolean;
}

/** Everything Kyverno's admission says of a document: its errors (none: accepted) and warnings. */
export interface AdmissionVerdict {
  errors: AdmissionIssue[];
  warnings: string[];
}

export interface PolicyCheckResult {
  /** Kyverno's denial message, or undefined when the policy is accepted. */
  error?: string;
  warnings: string[];
}

/** Go's %v of a field value, as apimachinery's field errors print it. */
function goValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

const at = (path: FieldPath, message: string): AdmissionIssue => ({ path, message });
const invalid = (field: string, value: unknown, detail: string) => `${field}: Invalid value: ${goValue(value)}: ${detail}`;
const forbidden = (field: string, detail: string) => `${field}: Forbidden: ${detail}`;
const required = (field: string, detail = '') => `${field}: Required value${detail ? `: ${detail}` : ''}`;
/** A field error whose Kyverno field path is where the value is. */
const invalidAt = (path: FieldPath, value: unknown, detail: string) => at(path, invalid(formatFieldPath(path), value, detail));
const forbiddenAt = (path: FieldPath, detail: string) => at(path, forbidden(formatFieldPath(path), detail));
const requiredAt = (path: FieldPath, detail = '') => at(path, required(formatFieldPath(path), detail));

/** apimachinery's ErrorList.ToAggregate().Error(): one message, or several in brackets. */
export function aggregateMessages(messages: readonly string[]): string | undefined {
  if (messages.length === 0) return undefined;
  return messages.length === 1 ? messages[0] : `[${messages.join(', ')}]`;
}

/** The verdict as Kyverno's webhook answers it: the errors aggregated into one message. */
export function verdictResult(verdict: AdmissionVerdict): PolicyCheckResult {
  const error = aggregateMessages(verdict.errors.map((e) => e.message));
  return error === undefined ? { warnings: verdict.warnings } : { error, warnings: verdict.warnings };
}

function defaultClusterScoped(apiVersion: string, kind: string): boolean {
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
  return !isNamespacedKind(group, kind);
}

type ClusterScoped = (apiVersion: string, kind: string) => boolean;

/** GeneratePattern.Validate; `field` is Kyverno's path (the rule's), `loc` where the pattern is. */
function generatePatternErrors(field: string, loc: FieldPath, g: JsonObject, namespaced: boolean, policyNamespace: string, clusterScoped: ClusterScoped): AdmissionIssue[] {
  const errs: AdmissionIssue[] = [];
  const apiVersion = typeof g.apiVersion === 'string' ? g.apiVersion : '';
  const kind = typeof g.kind === 'string' ? g.kind : '';
  const namespace = typeof g.namespace === 'string' ? g.namespace : '';
  const clone = asObject(g.clone);
  const cloneList = asObject(g.cloneList);
  const cloneKinds = asArray(cloneList.kinds).map(String);
  if (namespaced) {
    let scope: string | undefined;
    let where: FieldPath = [...loc, 'namespace'];
    if (kind && clusterScoped(apiVersion, kind)) {
      scope = `the target must be a namespaced resource: ${apiVersion}/${kind}`;
      where = [...loc, 'kind'];
    } else if (namespace !== policyNamespace) scope = `a namespaced policy cannot generate resources in other namespaces, expected: ${policyNamespace}, received: ${namespace}`;
    else if (typeof clone.name === 'string' && clone.name && String(clone.namespace ?? '') !== policyNamespace) {
      scope = `a namespaced policy cannot clone resources from other namespaces, expected: ${policyNamespace}, received: ${String(clone.namespace ?? '')}`;
      where = [...loc, 'clone', 'namespace'];
    }
    // Kyverno's message keeps the space after its %v.
    if (scope) errs.push(at(where, forbidden(`${field}.namespace`, `target resource scope mismatched: ${scope} `)));
  }
  if (kind) {
    if (!clusterScoped(apiVersion, kind)) {
      if (!namespace) errs.push(at([...loc, 'namespace'], forbidden(`${field}.namespace`, 'target namespace must be set for a namespaced resource')));
    } else if (namespace) {
      errs.push(at([...loc, 'namespace'], forbidden(`${field}.namespace`, 'target namespace must not be set for a cluster-wide resource')));
    }
  }
  if (cloneKinds.length === 0) {
    if (!kind) errs.push(at([...loc, 'kind'], forbidden(`${field}.kind`, 'kind can not be empty')));
    if (!(typeof g.name === 'string' && g.name)) errs.push(at([...loc, 'name'], forbidden(`${field}.name`, 'name can not be empty')));
    if (!apiVersion) errs.push(at([...loc, 'apiVersion'], forbidden(`${field}.apiVersion`, 'apiVersion can not be empty')));
  } else {
    const listNs = String(cloneList.namespace ?? '');
    const kindsAt: FieldPath = [...loc, 'cloneList', 'kinds'];
    const namespaceAt: FieldPath = [...loc, 'cloneList', 'namespace'];
    const scoped = (k: string) => clusterScoped(k.split('/').slice(0, -1).join('/'), k.split('/').pop() ?? k);
    if (namespaced) {
      cloneKinds.forEach((k, i) => {
        if (scoped(k)) errs.push(at([...kindsAt, i], forbidden(`${field}.cloneList.kinds`, `the source in cloneList must be a namespaced resource: ${k}`)));
        if (listNs !== policyNamespace) errs.push(at(namespaceAt, forbidden(`${field}.cloneList.namespace`, `a namespaced policy cannot clone resources from other namespace, expected: ${policyNamespace}, received: ${listNs}`)));
      });
    }
    let clusterScope = scoped(cloneKinds[0]);
    for (const [i, k] of cloneKinds.entries()) {
      if (i === 0) continue;
      if (clusterScope !== scoped(k)) {
        errs.push(at([...kindsAt, i], forbidden(`${field}.cloneList.kinds`, 'mixed scope of target resources is forbidden')));
        break;
      }
      clusterScope = clusterScope && scoped(k);
    }
    if (!clusterScope) {
      if (!listNs) errs.push(at(namespaceAt, forbidden(`${field}.cloneList.namespace`, 'namespace is required for namespaced target resources')));
    } else if (!namespaced && listNs) {
      errs.push(at(namespaceAt, forbidden(`${field}.cloneList.namespace`, 'namespace is forbidden for cluster-wide target resources')));
    }
  }
  return errs;
}

/** Generation.Validate: Kyverno names the rule's path, the values are under its `generate`. */
function generateErrors(ruleAt: FieldPath, generate: JsonObject, namespaced: boolean, policyNamespace: string, clusterScoped: ClusterScoped): AdmissionIssue[] {
  const field = formatFieldPath(ruleAt);
  const loc: FieldPath = [...ruleAt, 'generate'];
  const patterns = [generate.data !== undefined && generate.data !== null, isJsonObject(generate.clone) && Object.keys(generate.clone).length > 0, Array.isArray(asObject(generate.cloneList).kinds), Array.isArray(generate.foreach)];
  if (patterns.filter(Boolean).length > 1) return [at(loc, forbidden(field, 'only one of generate patterns(data, clone, cloneList and foreach) can be specified'))];
  if (Array.isArray(generate.foreach)) {
    return (generate.foreach as unknown[]).flatMap((f, i) => generatePatternErrors(`${field}.foreach[${i}]`, [...loc, 'foreach', i], asObject(f), namespaced, policyNamespace, clusterScoped));
  }
  return generatePatternErrors(field, loc, generate, namespaced, policyNamespace, clusterScoped);
}

/** UserInfo.Validate (api/kyverno/v1/user_info_types.go): subjects and roles of a match/exclude filter. */
function userInfoErrors(filterAt: FieldPath, info: JsonObject): AdmissionIssue[] {
  const errs: AdmissionIssue[] = [];
  asArray(info.subjects).map(asObject).forEach((subject, i) => {
    const subjectAt: FieldPath = [...filterAt, 'subjects', i];
    const kind = typeof subject.kind === 'string' ? subject.kind : '';
    if (kind === '') errs.push(requiredAt([...subjectAt, 'kind']));
    else if (kind !== 'Group' && kind !== 'ServiceAccount' && kind !== 'User') errs.push(invalidAt([...subjectAt, 'kind'], kind, "kind must be 'User', 'Group', or 'ServiceAccount'"));
    if (!(typeof subject.name === 'string' && subject.name)) errs.push(requiredAt([...subjectAt, 'name']));
    if (kind === 'ServiceAccount' && !(typeof subject.namespace === 'string' && subject.namespace)) errs.push(requiredAt([...subjectAt, 'namespace'], 'namespace is required when Kind is ServiceAccount'));
  });
  asArray(info.roles).forEach((role, i) => {
    if (String(role).split(':').length !== 2) errs.push(invalidAt([...filterAt, 'roles', i], String(role), 'Role is expected to be in namespace:name format'));
  });
  return errs;
}

/** ResourceDescription.Validate (api/kyverno/v1/resource_description_types.go): Kyverno names the filter, the values are under its `resources`. */
function resourceDescriptionErrors(filterAt: FieldPath, r: JsonObject, namespaced: boolean, clusterScoped: ClusterScoped): AdmissionIssue[] {
  const errs: AdmissionIssue[] = [];
  const field = formatFieldPath(filterAt);
  const resourcesAt: FieldPath = [...filterAt, 'resources'];
  if (typeof r.name === 'string' && r.name && asArray(r.names).length > 0) errs.push(at([...resourcesAt, 'names'], `${field}: Invalid value: ${JSON.stringify(r)}: Both name and names can not be specified together`));
  if (namespaced) {
    if (asArray(r.namespaces).length > 0) errs.push(at([...resourcesAt, 'namespaces'], forbidden(`${field}.namespaces`, 'Filtering namespaces not allowed in namespaced policies')));
    asArray(r.kinds).map(String).forEach((kind, i) => {
      const slash = kind.lastIndexOf('/');
      const [apiVersion, name] = slash >= 0 ? [kind.slice(0, slash), kind.slice(slash + 1)] : ['', kind];
      if (name && !name.includes('*') && !/^[a-z]/.test(name) && clusterScoped(apiVersion, name)) {
        errs.push(at([...resourcesAt, 'kinds', i], forbidden(`${field}.kinds[${i}]`, `Cluster wide resource '${kind}' not allowed in namespaced policy`)));
      }
    });
  }
  return errs;
}

interface Filter {
  /** Where the filter is: `…match.any[0]`, or the block itself for its legacy fields. */
  at: FieldPath;
  filter: JsonObject;
  resources: JsonObject;
}

/** The filters of a match or exclude block with their paths: any[i], all[i] and the block itself. */
function filtersOf(blockAt: FieldPath, block: JsonObject, order: ReadonlyArray<'any' | 'all'> = ['any', 'all']): Filter[] {
  const out: Filter[] = [];
  for (const key of order) {
    asArray(block[key]).map(asObject).forEach((f, i) => out.push({ at: [...blockAt, key, i], filter: f, resources: asObject(f.resources) }));
  }
  out.push({ at: blockAt, filter: block, resources: asObject(block.resources) });
  return out;
}

/** MatchResources.Validate for a rule's match and exclude blocks. */
function matchBlockErrors(ruleAt: FieldPath, rule: JsonObject, namespaced: boolean, clusterScoped: ClusterScoped): AdmissionIssue[] {
  const errs: AdmissionIssue[] = [];
  for (const key of ['match', 'exclude'] as const) {
    if (!isJsonObject(rule[key])) continue;
    const block = rule[key];
    const blockAt: FieldPath = [...ruleAt, key];
    if (asArray(block.any).length > 0 && asArray(block.all).length > 0) errs.push(at([...blockAt, 'all'], `${formatFieldPath(blockAt)}: Invalid value: ${JSON.stringify(block)}: Can't specify any and all together`));
    for (const f of filtersOf(blockAt, block)) {
      errs.push(...userInfoErrors(f.at, f.filter));
      errs.push(...resourceDescriptionErrors(f.at, f.resources, namespaced, clusterScoped));
    }
  }
  return errs;
}

/**
 * Whether a kind selector names a subresource: a kind served only as one (Scale), or a
 * `/sub` (`.sub`) of a wildcard or well-known kind.
 */
function namesSubresource(kind: string): boolean {
  const selector = parseKindSelector(kind);
  if (SUBRESOURCE_KINDS.has(selector.kind)) return true;
  if (selector.subresource === '') return false;
  return selector.kind.includes('*') || findKnownKinds(selector.kind).length > 0;
}

/**
 * validateKinds over every match/exclude filter (pkg/validation/policy/validate.go): the `*`
 * kind (validateWildcard) is refused in background mode, next to other kinds, and for
 * generate, verifyImages and foreach validate rules. With a cluster (validKinds, not run by
 * the CLI's mock validation) each kind is looked up: the first one discovery cannot resolve
 * admits the policy with a warning and ends the checks (Kyverno since 1.14, so a policy can
 * precede its CRD; its webhook rules then leave that kind out), and a background validate
 * rule may not match a subresource (the background scan lists resources, never subresources).
 */
/** Every `kinds` list of the rules' match and exclude filters: what the kind check reads and discovery is asked about. */
function* kindLists(rules: JsonObject[]): Generator<{ i: number; rule: JsonObject; at: FieldPath; kinds: string[] }> {
  for (const [i, rule] of rules.entries()) {
    for (const key of ['match', 'exclude'] as const) {
      if (!isJsonObject(rule[key])) continue;
      for (const f of filtersOf([key], rule[key])) yield { i, rule, at: f.at, kinds: asArray(f.resources.kinds).map(String) };
    }
  }
}

function kindCheck(rules: JsonObject[], background: boolean, find: ResourceFinder | undefined): { issue?: AdmissionIssue; warning?: string } {
  for (const { i, rule, at: filterAt, kinds } of kindLists(rules)) {
    const kindsAt: FieldPath = ['spec', 'rules', i, ...filterAt, 'resources', 'kinds'];
    const where = `path: spec.rules[${i}].${formatFieldPath(filterAt)}.kinds`;
    const wildcard = kinds.indexOf('*');
    if (wildcard >= 0) {
      const wildcardAt = [...kindsAt, wildcard];
      if (background) return { issue: at(wildcardAt, `${where}: wildcard policy not allowed in background mode. Set spec.background=false to disable background mode for this policy rule `) };
      if (kinds.length > 1) return { issue: at(wildcardAt, `${where}: wildcard policy can not deal with more than one kind`) };
      if (rule.generate || rule.verifyImages || asObject(rule.validate).foreach) return { issue: at(wildcardAt, `${where}: wildcard policy does not support rule type`) };
      continue;
    }
    if (!find) continue;
    for (const [k, kind] of kinds.entries()) {
      const s = parseKindSelector(kind);
      const served = find(s.group, s.version, s.kind, s.subresource);
      const backgroundValidate = isJsonObject(rule.validate) && background;
      // FindResources answers ErrResourceNotFound ("resource not found") when nothing matches.
      if (served.length === 0 && !(backgroundValidate && namesSubresource(kind))) {
        return { warning: `the kind defined in the all match resource is invalid: unable to convert GVK to GVR for kinds ${kind}, err: resource not found` };
      }
      // A subresource discovery does not serve (Scale, Pod/scale) is refused too: Kyverno's
      // chainsaw scenarios (policy-validation/*/background-subresource) expect it refused,
      // although validKinds as written would only warn; we keep to the scenarios.
      if (backgroundValidate && (served.length === 0 || served.some((r) => r.subresource !== ''))) {
        return { issue: at([...kindsAt, k], `${where}: background scan enabled with subresource ${kind}`) };
      }
    }
  }
  return {};
}

/**
 * Discovery's answers for every kind selector the kind check may look up in `policy`, as plain
 * data (the webhook's primary asks discovery and hands them to the server process that checks
 * the policy); `lookupFinder` reads them back as a ResourceFinder.
 */
export function kindLookups(policy: JsonObject, find: ResourceFinder): Array<[string, ServedResource[]]> {
  const out = new Map<string, ServedResource[]>();
  for (const { kinds } of kindLists(asArray(asObject(policy.spec).rules).map(asObject))) {
    for (const kind of kinds) {
      const s = parseKindSelector(kind);
      const k = lookupKey(s.group, s.version, s.kind, s.subresource);
      if (!out.has(k)) out.set(k, find(s.group, s.version, s.kind, s.subresource));
    }
  }
  return [...out];
}

const lookupKey = (group: string, version: string, kind: string, subresource: string) => JSON.stringify([group, version, kind, subresource]);

/** A ResourceFinder over `kindLookups`' answers; a selector they do not cover falls back to the built-in table. */
export function lookupFinder(lookups: Array<[string, ServedResource[]]>): ResourceFinder {
  const answers = new Map(lookups);
  return (group, version, kind, subresource) => answers.get(lookupKey(group, version, kind, subresource)) ?? findBuiltInResources(group, version, kind, subresource);
}

/**
 * ValidateCustomWebhookMatchConditions: `spec.webhookConfiguration.matchConditions` go into the
 * policy's own webhook, where the API server evaluates them; Kyverno compiles them first in the
 * API server's environment (admissionpolicy.NewCompiler: Kubernetes' base environment and a
 * composited compiler's `variables`, with object, oldObject, request and namespaceObject; no
 * params, no authorizer, none of Kyverno's libraries) and refuses the policy with every
 * expression that does not compile to a bool. The detail after `compilation failed:` is our
 * checker's words, not cel-go's.
 */
const WEBHOOK_MATCH_CONDITION_CHECK: CelCheckContext = { expect: 'bool', hasParams: false, variables: [], apiServer: { authorizer: false } };

function webhookMatchConditionsError(spec: JsonObject): AdmissionIssue | undefined {
  const conditions = asArray(asObject(spec.webhookConfiguration).matchConditions).map(asObject);
  const failures: Array<{ i: number; detail: string }> = [];
  for (const [i, condition] of conditions.entries()) {
    const expression = typeof condition.expression === 'string' ? condition.expression : '';
    const problem = checkCelExpression(expression, WEBHOOK_MATCH_CONDITION_CHECK)[0];
    if (!problem) continue;
    failures.push({ i, detail: problem.message.startsWith('expression must evaluate to ') ? 'must evaluate to bool' : `compilation failed: ${problem.message}` });
  }
  if (failures.length === 0) return undefined;
  // Go's %v of the []error: the messages in brackets, separated by spaces.
  return at(['spec', 'webhookConfiguration', 'matchConditions', failures[0].i, 'expression'], `match conditions compilation errors: [${failures.map((f) => f.detail).join(' ')}]`);
}

/** Kyverno's enginecontext.ReservedKeys: the variables always defined. */
const RESERVED_VARIABLES = /request|serviceAccountName|serviceAccountNamespace|element|elementIndex|@|images|image|([a-z_0-9]+\()[^{}]/;
/** allowedVariablesBackground (pkg/validation/policy/validate.go): a background policy has no user to read. */
const BACKGROUND_VARIABLES = /request\.|element|elementIndex|@|images|images\.|image\.|([a-z_0-9]+\()[^{}]/;
const VARIABLE = /\{\{[^{}]*\}\}/g;

/** The variable names context entries define (addContextVariables). */
function contextPatterns(entries: unknown): string[] {
  return asArray(entries).map(asObject).flatMap((e) => {
    const name = String(e.name ?? '');
    if (isJsonObject(e.apiCall) || isJsonObject(e.globalReference) || isJsonObject(e.imageRegistry) || isJsonObject(e.variable)) return [`${name}*`];
    if (isJsonObject(e.configMap)) return [`${name}.data`, `${name}.metadata`, `${name}.data.*`, `${name}.metadata.*`];
    return [];
  });
}

/** The entries of a JSON collection as [key, value] with the key as a path step. */
function entriesOf(value: unknown): Array<readonly [string | number, unknown]> {
  return Array.isArray(value) ? value.map((v, i) => [i, v] as const) : isJsonObject(value) ? Object.entries(value) : [];
}

/** The first `{{…}}` variable in `value` that is neither reserved nor defined, with its path. */
function undefinedVariable(value: unknown, patterns: string[], allowed: RegExp, path: Array<string | number> = []): { variable: string; path: Array<string | number> } | undefined {
  if (typeof value === 'string') {
    for (const m of value.matchAll(VARIABLE)) {
      const variable = m[0].slice(2, -2).trim().replace(/"/g, '');
      if (!allowed.test(variable) && !patterns.some((p) => wildcardMatch(p, variable))) return { variable, path };
    }
    return undefined;
  }
  for (const [k, v] of entriesOf(value)) {
    const found = undefinedVariable(v, patterns, allowed, [...path, k]);
    if (found) return found;
  }
  return undefined;
}

/** The path of the first string under `value` that `test` accepts. */
function pathOfString(value: unknown, test: (s: string) => boolean, path: Array<string | number> = []): Array<string | number> | undefined {
  if (typeof value === 'string') return test(value) ? path : undefined;
  for (const [k, v] of entriesOf(value)) {
    const found = pathOfString(v, test, [...path, k]);
    if (found) return found;
  }
  return undefined;
}

/**
 * hasInvalidVariables' check of mutate-existing rules: the rule's context and preconditions
 * and each target's resource spec are resolved before any target exists, so there only the
 * reserved variables (fewer in background mode) and the rule's context names are defined
 * (`target.` is not).
 */
function targetVariableError(rules: JsonObject[], background: boolean): AdmissionIssue | undefined {
  const allowed = background ? BACKGROUND_VARIABLES : RESERVED_VARIABLES;
  for (const [r, rule] of rules.entries()) {
    const targets = asArray(asObject(rule.mutate).targets).map(asObject);
    const patterns = contextPatterns(rule.context);
    for (const [i, t] of targets.entries()) {
      const spec = Object.fromEntries(['apiVersion', 'kind', 'namespace', 'name', 'uid', 'selector'].filter((k) => t[k] !== undefined).map((k) => [k, t[k]]));
      const found = undefinedVariable({ context: rule.context, preconditions: rule.preconditions, mutate: { targets: [spec] } }, patterns, allowed);
      if (found) {
        // The checked copy holds this one target at index 0; the rule holds it at i.
        const inRule = found.path[0] === 'mutate' ? ['mutate', 'targets', i, ...found.path.slice(3)] : found.path;
        return at(['spec', 'rules', r, ...inRule], `policy contains invalid variables: invalid variables defined at mutate.targets[${i}]: failed to resolve ${found.variable} at path /${found.path.join('/')}: variable ${found.variable} must match regex "${allowed.source}" or patterns [${patterns.join(' ')}]`);
      }
    }
  }
  return undefined;
}

/** Kyverno's RegexVariables: `{{…}}` not escaped with a backslash (group 2 is the variable with its braces). */
const POLICY_VARIABLES = /(^|[^\\])(\{\{(?:\{[^{}]*\}|[^{}])*\}\})/g;
/** ForbiddenUserVariables (pkg/validation/policy/background.go): what a background scan has no value for. */
const USER_VARIABLES = [/[^.](serviceAccountName)\b/, /[^.](serviceAccountNamespace)\b/, /[^.](request.userInfo)\b/, /[^.](request.roles)\b/, /[^.](request.clusterRoles)\b/];

/**
 * containsUserVariables: in background mode no match/exclude filter may select on user info
 * (roles, clusterRoles, subjects), and unless a rule mutates existing resources no variable
 * may read the requesting user.
 */
function backgroundUserError(policy: JsonObject, rules: JsonObject[]): AdmissionIssue | undefined {
  const prefix = 'only select variables are allowed in background mode. Set spec.background=false to disable background mode for this policy rule: ';
  for (const [i, rule] of rules.entries()) {
    for (const key of ['match', 'exclude'] as const) {
      if (!isJsonObject(rule[key])) continue;
      // Kyverno looks at the block, then a match's any before all and an exclude's all before any.
      const filters = filtersOf([key], rule[key], key === 'match' ? ['any', 'all'] : ['all', 'any']);
      for (const f of [filters[filters.length - 1], ...filters.slice(0, -1)]) {
        const field = ['roles', 'clusterRoles', 'subjects'].find((k) => asArray(f.filter[k]).length > 0);
        if (field) {
          const shown = f.at.slice(1).map((s) => (typeof s === 'number' ? `[${s}]/` : s)).join('');
          return at(['spec', 'rules', i, ...f.at, field], `${prefix}invalid variable used at path: spec/rules[${i}]/${key}/${shown}${field} `);
        }
      }
    }
  }
  if (rules.some((r) => asArray(asObject(r.mutate).targets).length > 0)) return undefined;
  const meta = asObject(policy.metadata);
  const annotations = asObject(meta.annotations);
  const cleaned = { ...policy, metadata: { ...meta, ...(meta.annotations ? { annotations: { ...annotations, 'kubectl.kubernetes.io/last-applied-configuration': '' } } : {}) }, status: { ...asObject(policy.status), autogen: undefined } };
  for (const m of JSON.stringify(cleaned).matchAll(POLICY_VARIABLES)) {
    if (!USER_VARIABLES.some((re) => re.test(m[2]))) continue;
    const variable = m[2];
    return at(pathOfString(cleaned, (s) => s.includes(variable)) ?? ['spec'], `${prefix}variable ${variable} is not allowed `);
  }
  return undefined;
}

/** Kyverno's verdict on a classic policy (ClusterPolicy or Policy) at creation or update, with the path of each error. */
export function policyAdmissionVerdict(policy: JsonObject, options: PolicyCheckOptions = {}): AdmissionVerdict {
  const warnings: string[] = [];
  const fail = (issue: AdmissionIssue): AdmissionVerdict => ({ errors: [issue], warnings });
  const kind = String(policy.kind ?? '');
  const meta = asObject(policy.metadata);
  const spec = asObject(policy.spec);
  const namespaced = kind === 'Policy';
  const policyNamespace = typeof meta.namespace === 'string' ? meta.namespace : '';
  const clusterScoped: ClusterScoped = options.withoutCluster ? () => false : options.isClusterScoped ?? defaultClusterScoped;
  if (kind === 'ClusterPolicy' && policyNamespace) {
    const message = 'A clusterpolicy should not have the namespace defined';
    return { errors: [at(['metadata', 'namespace'], message)], warnings: [message] };
  }

  if (options.compileCel !== false) {
    const conditionsError = webhookMatchConditionsError(spec);
    if (conditionsError) return fail(conditionsError);
  }

  const rules = asArray(spec.rules).map(asObject);
  // ValidateVariables runs before the spec's own validation.
  const variableError = (spec.background !== false ? backgroundUserError(policy, rules) : undefined) ?? targetVariableError(rules, spec.background !== false);
  if (variableError) return fail(variableError);

  const errs: AdmissionIssue[] = [];
  if (asObject(meta.annotations)['pod-policies.kyverno.io/autogen-controllers'] === 'all') {
    errs.push(at(['metadata', 'annotations', 'pod-policies.kyverno.io/autogen-controllers'], forbidden('metadata.annotations', "Autogen annotation does not support 'all' anymore, remove the annotation or set it to a valid value")));
  }
  if (typeof meta.name === 'string' && meta.name.length > 63) errs.push(at(['metadata', 'name'], 'name: Too long: may not be more than 63 bytes'));
  const webhookConfiguration = asObject(spec.webhookConfiguration);
  if (spec.webhookTimeoutSeconds !== undefined && webhookConfiguration.timeoutSeconds !== undefined) {
    errs.push(forbiddenAt(['spec', 'webhookTimeoutSeconds'], 'remove the deprecated field and use spec.webhookConfiguration.timeoutSeconds instead'));
  }
  if (spec.failurePolicy !== undefined && webhookConfiguration.failurePolicy !== undefined) {
    errs.push(forbiddenAt(['spec', 'failurePolicy'], 'remove the deprecated field and use spec.webhookConfiguration.failurePolicy instead'));
  }
  if (spec.generateExistingOnPolicyUpdate !== undefined) {
    errs.push(forbiddenAt(['spec', 'generateExistingOnPolicyUpdate'], 'remove the deprecated field and use spec.generate[*].generateExisting instead'));
  }
  rules.forEach((rule, i) => {
    if (!isJsonObject(rule.mutate)) return;
    const mutate = rule.mutate;
    if ((spec.mutateExistingOnPolicyUpdate === true || mutate.mutateExistingOnPolicyUpdate === true) && asArray(mutate.targets).length === 0) {
      const where: FieldPath = mutate.mutateExistingOnPolicyUpdate === true ? ['spec', 'rules', i, 'mutate', 'mutateExistingOnPolicyUpdate'] : ['spec', 'mutateExistingOnPolicyUpdate'];
      errs.push(at(where, forbidden('spec.mutateExistingOnPolicyUpdate', `rules[${i}].mutate.targets has to be specified when mutateExistingOnPolicyUpdate is set`)));
    }
  });
  for (const [path, value] of [[['spec', 'webhookTimeoutSeconds'], spec.webhookTimeoutSeconds], [['spec', 'webhookConfiguration', 'timeoutSeconds'], webhookConfiguration.timeoutSeconds]] as const) {
    if (typeof value === 'number' && (value < 1 || value > 30)) errs.push(invalidAt(path, value, 'the timeout value must be between 1 and 30 seconds'));
  }
  rules.forEach((rule, i) => {
    const ruleAt: FieldPath = ['spec', 'rules', i];
    errs.push(...matchBlockErrors(ruleAt, rule, namespaced, clusterScoped));
    const mutate = asObject(rule.mutate);
    const targets = asArray(mutate.targets).map(asObject);
    if (namespaced && targets.length) {
      targets.forEach((t, j) => {
        if (typeof t.namespace === 'string' && t.namespace && t.namespace !== policyNamespace) {
          errs.push(at([...ruleAt, 'mutate', 'targets', j, 'namespace'], invalid(`spec.rules[${i}].targets[${j}].namespace`, t.namespace, 'This field can be ignored or should have value of the namespace where the policy is being created')));
        }
      });
    }
    errs.push(...podSecurityRuleProblems(ruleAt, asObject(rule.validate).podSecurity));
    if (isJsonObject(rule.generate)) errs.push(...generateErrors(ruleAt, rule.generate, namespaced, policyNamespace, clusterScoped));
  });
  if (namespaced && asArray(spec.validationFailureActionOverrides).length > 0) {
    errs.push(forbiddenAt(['spec', 'validationFailureActionOverrides'], 'Use of validationFailureActionOverrides is supported only with ClusterPolicy'));
  }
  if (errs.length > 0) return { errors: errs, warnings };

  const admission = spec.admission !== false;
  const background = spec.background !== false;
  if (!admission && !background) return fail(at(['spec', 'admission'], 'disabling both admission and background processing is not allowed'));
  if (!admission && rules.some((r) => r.mutate || r.generate || r.verifyImages)) return fail(at(['spec', 'admission'], 'disabling admission processing is only allowed with validation policies'));
  if (options.oldPolicy) {
    const change = immutableGenerateFields(policy, options.oldPolicy);
    if (change.warning !== undefined || change.error !== undefined) {
      // As Kyverno: either outcome ends the validation (a warning admits the policy unchecked further).
      warnings.push(`no synchronization will be performed to the old target resource upon policy updates: ${change.warning ?? ''}`);
      return { errors: change.error !== undefined ? [at(['spec', 'rules'], change.error)] : [], warnings };
    }
  }
  const kinds = kindCheck(rules, background, options.withoutCluster ? undefined : (options.findResources ?? findBuiltInResources));
  if (kinds.issue) return fail(kinds.issue);
  // As Kyverno: an unresolved kind admits the policy with a warning, unchecked further.
  if (kinds.warning !== undefined) return { errors: [], warnings: [...warnings, kinds.warning] };
  // Per rule, as Kyverno's loop: the condition operators (validateResources), then the
  // action checkers (validateActions).
  for (const [i, rule] of rules.entries()) {
    const ruleIssue = conditionOperatorError(rule, i) ?? celPreconditionError(rule, i, !options.withoutCluster);
    if (ruleIssue) return fail(ruleIssue);
  }
  warnings.push(...rules.flatMap(deprecatedOperatorWarnings));
  // The end of Kyverno's Validate, with a cluster only: the CEL of a rule that could be a
  // ValidatingAdmissionPolicy, type-checked against the matched kinds' schemas; a policy whose
  // ValidatingAdmissionPolicy cannot be built is rejected with the builder's error.
  if (!options.withoutCluster) {
    const checked = classicCelTypeCheck(policy, options.findResources ?? findBuiltInResources, objectTypesWith(options.customResources ?? []));
    // Validate returns the builder's error alone: the warnings gathered so far are not answered.
    if (checked && 'buildError' in checked) return { errors: [at(['spec', 'rules', 0, 'match'], checked.buildError)], warnings: [] };
    if (checked) warnings.push(...checked.results.map(celTypeCheckWarning));
  }
  return { errors: [], warnings };
}

/**
 * validateActions' check that `celPreconditions` go with validate.cel only (the mutate,
 * validate and generate checkers of pkg/policy): a mutate rule without foreach, a validate
 * rule without cel, and (with a cluster: the CLI's fake generate checker sees the generate
 * block alone) a generate rule.
 */
function celPreconditionError(rule: JsonObject, i: number, withCluster: boolean): AdmissionIssue | undefined {
  if (!present(rule.celPreconditions)) return undefined;
  const message = 'celPrecondition can only be used with validate.cel';
  const where: FieldPath = ['spec', 'rules', i, 'celPreconditions'];
  // The mutate checker answers a foreach (or both patch kinds) before looking at celPreconditions.
  const mutate = asObject(rule.mutate);
  if (isJsonObject(rule.mutate) && !present(mutate.foreach) && !(present(mutate.patchStrategicMerge) && present(mutate.patchesJson6902))) return at(where, `path: spec.rules[${i}].mutate..: ${message}`);
  if (isJsonObject(rule.validate) && !present(rule.validate.cel)) return at(where, `path: spec.rules[${i}].validate..: ${message}`);
  if (withCluster && isJsonObject(rule.generate)) return at(where, `path: spec.rules[${i}].generate..: ${message}`);
  return undefined;
}

// api/kyverno/v1 ConditionOperators, case-sensitive as Kyverno's admission compares them
// (evaluation is case-insensitive: engine/conditions), in their declaration order (Kyverno
// prints its map, in Go's random order).
const CONDITION_OPERATORS = [
  'Equal', 'Equals', 'NotEqual', 'NotEquals', 'In', 'AnyIn', 'AllIn', 'NotIn', 'AnyNotIn', 'AllNotIn', 'GreaterThanOrEquals', 'GreaterThan',
  'LessThanOrEquals', 'LessThan', 'DurationGreaterThanOrEquals', 'DurationGreaterThan', 'DurationLessThanOrEquals', 'DurationLessThan',
];

/**
 * validateResources' operator checks: the first condition whose operator is not one of
 * Kyverno's, in the rule's preconditions, validate.deny, validate.foreach (preconditions,
 * deny, nested foreach) and mutate.foreach preconditions, and verifyImages attestation
 * conditions. Kyverno's path names `any[i]` for `all` conditions too, and nested foreach
 * paths repeat their prefix; both kept.
 */
function conditionOperatorError(rule: JsonObject, i: number): AdmissionIssue | undefined {
  const check = (value: unknown, schemaKey: string, loc: FieldPath): AdmissionIssue | undefined => {
    const invalidAt = (list: unknown[], key: string, shown: string): AdmissionIssue | undefined => {
      const j = list.map(asObject).findIndex((c) => !CONDITION_OPERATORS.includes(String(c.operator ?? '')));
      if (j < 0) return undefined;
      return at(['spec', 'rules', i, ...loc, ...(key ? [key] : []), j, 'operator'], `path: spec.rules[${i}].${schemaKey}${shown}[${j}].: entered value of \`operator\` is invalid. valid values: [${CONDITION_OPERATORS.map((o) => JSON.stringify(o)).join(' ')}]`);
    };
    if (Array.isArray(value)) return invalidAt(value, '', '');
    const block = asObject(value);
    return invalidAt(asArray(block.any), 'any', '.any') ?? invalidAt(asArray(block.all), 'all', '.any');
  };
  const validate = asObject(rule.validate);
  const validationForeach = (list: unknown, prefix: string, loc: FieldPath): AdmissionIssue | undefined => {
    for (const [j, fe] of asArray(list).map(asObject).entries()) {
      const issue = (isJsonObject(fe.preconditions) ? check(fe.preconditions, `${prefix}.conditions`, [...loc, j, 'preconditions']) : undefined)
        ?? check(asObject(fe.deny).conditions, `${prefix}.deny.conditions`, [...loc, j, 'deny', 'conditions'])
        ?? validationForeach(fe.foreach, `validate.foreach.${prefix}`, [...loc, j, 'foreach']);
      if (issue) return issue;
    }
    return undefined;
  };
  const mutationForeach = (list: unknown, prefix: string, loc: FieldPath): AdmissionIssue | undefined => {
    for (const [j, fe] of asArray(list).map(asObject).entries()) {
      const issue = (isJsonObject(fe.preconditions) ? check(fe.preconditions, `${prefix}.conditions`, [...loc, j, 'preconditions']) : undefined)
        ?? mutationForeach(fe.foreach, `mutate.foreach.${prefix}`, [...loc, j, 'foreach']);
      if (issue) return issue;
    }
    return undefined;
  };
  return check(rule.preconditions, 'validate.preconditions', ['preconditions'])
    ?? check(asObject(validate.deny).conditions, 'validate.deny.conditions', ['validate', 'deny', 'conditions'])
    ?? validationForeach(validate.foreach, 'validate.foreach', ['validate', 'foreach'])
    ?? mutationForeach(asObject(rule.mutate).foreach, 'mutate.foreach', ['mutate', 'foreach'])
    ?? asArray(rule.verifyImages).map(asObject).flatMap((vi, v) => asArray(vi.attestations).map(asObject).flatMap((a, k) => asArray(a.conditions).map((c, n) => check(c, 'verifyImages.attestations.conditions', ['verifyImages', v, 'attestations', k, 'conditions', n])))).find(Boolean);
}

// pkg/engine/variables/operator: the deprecated condition operators and what replaces them.
const DEPRECATED_OPERATORS: Readonly<Record<string, readonly string[]>> = { In: ['AllIn', 'AnyIn'], NotIn: ['AllNotIn', 'AnyNotIn'] };

/** The conditions of a `conditions`/`preconditions` value: an any/all block or the old bare list. */
function conditionsOf(value: unknown): JsonObject[] {
  if (Array.isArray(value)) return value.map(asObject);
  const block = asObject(value);
  return [...asArray(block.any), ...asArray(block.all)].map(asObject);
}

/**
 * checkForDeprecatedOperatorsInRule: a warning per deprecated operator in a validate rule's
 * deny conditions, its foreach preconditions and deny conditions, and verifyImages
 * attestation conditions (not in rule preconditions). Go's %+q prints the alternatives.
 */
function deprecatedOperatorWarnings(rule: JsonObject): string[] {
  const validate = asObject(rule.validate);
  const conditions = [
    ...conditionsOf(asObject(validate.deny).conditions),
    ...asArray(validate.foreach).map(asObject).flatMap((fe) => [...conditionsOf(fe.preconditions), ...conditionsOf(asObject(fe.deny).conditions)]),
    ...asArray(rule.verifyImages).map(asObject).flatMap((vi) => asArray(vi.attestations).map(asObject).flatMap((a) => asArray(a.conditions).flatMap(conditionsOf))),
  ];
  return conditions.flatMap((c) => {
    const alternatives = typeof c.operator === 'string' ? DEPRECATED_OPERATORS[c.operator] : undefined;
    return alternatives ? [`Operator ${c.operator as string} has been deprecated and will be removed soon. Use these instead: [${alternatives.map((a) => JSON.stringify(a)).join(' ')}]`] : [];
  });
}

/** Kyverno's verdict on a classic policy, as its webhook answers it (one aggregated message). */
export function checkPolicyForAdmission(policy: JsonObject, options: PolicyCheckOptions = {}): PolicyCheckResult {
  return verdictResult(policyAdmissionVerdict(policy, options));
}

/** JSON with object keys sorted: equal values give equal text (Kyverno hashes Go's marshalling of the typed rule). */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isJsonObject(v)) {
    return `{${Object.keys(v).filter((k) => v[k] !== undefined && v[k] !== null).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

/**
 * Kyverno's buildHashes/resetMutableFields: per generate rule, the rule without its generate
 * block (and without its match when the old policy has no synchronizing rule), and the
 * generate block without the fields that may change (synchronize, data, foreach,
 * orphanDownstreamOnPolicyDelete, generateExisting).
 */
function generateRuleHashes(rules: JsonObject[], oldHasSynchronizingRule: boolean): { rules: Set<string>; generations: Set<string> } {
  const out = { rules: new Set<string>(), generations: new Set<string>() };
  for (const rule of rules) {
    if (!isJsonObject(rule.generate)) continue;
    const { generate, ...rest } = rule;
    if (!oldHasSynchronizingRule) delete rest.match;
    const { synchronize: _s, data: _d, foreach: _f, orphanDownstreamOnPolicyDelete: _o, generateExisting: _g, ...fixed } = generate;
    out.generations.add(canonical(fixed));
    out.rules.add(canonical(rest));
  }
  return out;
}

/**
 * Kyverno's immutableGenerateFields (pkg/validation/policy/generate.go) on a policy update: a
 * generate pattern changed in its target or source is allowed with a warning (its old
 * targets are no longer synchronized); any other change of a generate rule (name, match when
 * a rule synchronizes, exclude, preconditions, context...) is refused.
 */
export function immutableGenerateFields(policy: JsonObject, oldPolicy: JsonObject): { warning?: string; error?: string } {
  const rulesOf = (p: JsonObject) => asArray(asObject(p.spec).rules).map(asObject) as JsonObject[];
  const oldRules = rulesOf(oldPolicy);
  const oldHasSynchronizingRule = oldRules.some((r) => isJsonObject(r.generate) && r.generate.synchronize === true);
  const before = generateRuleHashes(oldRules, oldHasSynchronizingRule);
  const after = generateRuleHashes(rulesOf(policy), oldHasSynchronizingRule);
  const superset = (a: Set<string>, b: Set<string>) => [...b].every((h) => a.has(h));
  if (!superset(after.generations, before.generations)) return { warning: 'changes in the generate rule pattern could result in stale targets' };
  if (!superset(after.rules, before.rules)) return { error: 'changes of immutable fields of a rule spec in a generate rule is disallowed' };
  return {};
}

/**
 * Kyverno's exception webhooks at creation or update: a kyverno.io PolicyException
 * (PolicyExceptionSpec.Validate, api/kyverno/v2) may not use user info in background mode
 * (the default), its match filters are validated like a policy's, and every exception names
 * its policy; a policies.kyverno.io PolicyException (the CEL one, api/policies.kyverno.io
 * v1beta1) names at least one policy, each with a name and a kind.
 */
export function exceptionAdmissionVerdict(exception: JsonObject): AdmissionVerdict {
  const spec = asObject(exception.spec);
  const errs: AdmissionIssue[] = [];
  if (String(exception.apiVersion ?? '').startsWith('policies.kyverno.io/')) {
    const refs = asArray(spec.policyRefs).map(asObject);
    if (refs.length === 0) errs.push(at(['spec', 'policyRefs'], `spec.policyRefs: Invalid value: ${Array.isArray(spec.policyRefs) ? '[]v1beta1.PolicyRef{}' : '[]v1beta1.PolicyRef(nil)'}: must specify at least one policy ref`));
    refs.forEach((ref, i) => {
      if (!(typeof ref.name === 'string' && ref.name)) errs.push(invalidAt(['spec', 'policyRefs', i, 'name'], String(ref.name ?? ''), 'must specify policy name'));
      if (!(typeof ref.kind === 'string' && ref.kind)) errs.push(invalidAt(['spec', 'policyRefs', i, 'kind'], String(ref.kind ?? ''), 'must specify policy kind'));
    });
    return { errors: errs, warnings: [] };
  }
  const match = asObject(spec.match);
  // v2beta1 MatchResources: only any and all.
  const filters = filtersOf(['spec', 'match'], match).slice(0, -1);
  if (spec.background !== false) {
    for (const f of filters) {
      for (const field of ['roles', 'clusterRoles', 'subjects']) {
        if (asArray(f.filter[field]).length > 0) errs.push(forbiddenAt([...f.at, field], 'Usage of user info is forbidden'));
      }
    }
  }
  if (asArray(match.any).length > 0 && asArray(match.all).length > 0) errs.push(at(['spec', 'match', 'all'], `spec.match: Invalid value: ${JSON.stringify(match)}: Can't specify any and all together`));
  for (const f of filters) {
    errs.push(...userInfoErrors(f.at, f.filter));
    errs.push(...resourceDescriptionErrors(f.at, f.resources, false, () => false));
  }
  asArray(spec.exceptions).map(asObject).forEach((e, i) => {
    if (!(typeof e.policyName === 'string' && e.policyName)) errs.push(requiredAt(['spec', 'exceptions', i, 'policyName'], 'An exception requires a policy name'));
  });
  errs.push(...podSecurityStandardProblems(spec.podSecurity, 'spec.podSecurity', ['spec', 'podSecurity']));
  return { errors: errs, warnings: [] };
}

/** Kyverno's verdict on a PolicyException, as its webhook answers it. */
export function checkExceptionForAdmission(exception: JsonObject): PolicyCheckResult {
  return verdictResult(exceptionAdmissionVerdict(exception));
}

/** A field the API server decodes into a pointer or slice: present and not null. */
const present = (v: unknown) => v !== undefined && v !== null;

/**
 * Kyverno's GlobalContextEntry webhook at creation or update (pkg/webhooks/globalcontext,
 * GlobalContextEntry.Validate in api/kyverno/v2beta1): exactly one of kubernetesResource and
 * apiCall; a resource names its version and resource (and a group unless it is core v1); an
 * apiCall has a refreshInterval above zero (the CRD defaults it to 10m), either a service or a
 * urlPath, and data only with POST; each projection has a name, other than the entry's, and a
 * JMESPath. The paths and messages are Kyverno's (including `spec.resource` and
 * `refreshIntervalSeconds`).
 */
export function globalContextEntryAdmissionVerdict(entry: JsonObject): AdmissionVerdict {
  const spec = asObject(entry.spec);
  const name = String(asObject(entry.metadata).name ?? '');
  const errors: AdmissionIssue[] = [];
  const isResource = present(spec.kubernetesResource);
  const isApiCall = present(spec.apiCall);
  if (isResource === isApiCall) errors.push(at(['spec'], forbidden('spec.kubernetesResource', 'A global context entry should either have KubernetesResource or APICall')));
  if (isResource) {
    const r = asObject(spec.kubernetesResource);
    const loc = ['spec', 'kubernetesResource'];
    const group = String(r.group ?? '');
    const version = String(r.version ?? '');
    if (group === '' && version !== 'v1') errors.push(at(loc, required('spec.resource.group', 'A Resource entry requires a group')));
    if (version === '') errors.push(at(loc, required('spec.resource.version', 'A Resource entry requires a version')));
    if (String(r.resource ?? '') === '') errors.push(at(loc, required('spec.resource.resource', 'A Resource entry requires a resource')));
  }
  if (isApiCall) {
    const call = asObject(spec.apiCall);
    const loc = ['spec', 'apiCall'];
    const interval = typeof call.refreshInterval === 'string' && call.refreshInterval !== '' ? parseDuration(call.refreshInterval) : undefined;
    if (interval === 0) errors.push(at([...loc, 'refreshInterval'], required('spec.apiCall.refreshIntervalSeconds', 'A Resource entry requires a refresh interval greater than 0 seconds')));
    const urlPath = String(call.urlPath ?? '');
    if (present(call.service) === (urlPath !== '')) errors.push(at(loc, forbidden('spec.apiCall.service', 'An External API call should either have Service or URLPath')));
    // The CRD defaults the method to GET.
    if (present(call.data) && String(call.method ?? 'GET') !== 'POST') errors.push(at(loc, forbidden('spec.apiCall.method', 'An External API call with data should have method as POST')));
  }
  asArray(spec.projections).map(asObject).forEach((p, i) => {
    const loc = ['spec', 'projections', i];
    const projection = String(p.name ?? '');
    if (projection === '') errors.push(requiredAt([...loc, 'name'], 'A projection entry requires a name'));
    if (projection === name) errors.push(requiredAt([...loc, 'name'], 'A projection entry requires a name different from the global context entry name'));
    if (String(p.jmesPath ?? '') === '') errors.push(requiredAt([...loc, 'jmesPath'], 'A projection entry requires a JMESPath'));
  });
  return { errors, warnings: [] };
}
