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
 * mutate targets (hasInvalidVariables' targets-only substitution).
 * Not covered here (they need Go's struct printing or the API server's discovery): duplicate
 * rule names and rule-type counts (Kyverno prints the whole rule), kinds unknown to the cluster.
 */
import type { JsonObject } from '../core/types';
import { asArray, asObject, isJsonObject } from '../core/json';
import { findKnownKinds, isNamespacedKind, SUBRESOURCE_KINDS } from '../kube/known-kinds';
import { parseKindSelector } from '../kube/selectors';
import { wildcardMatch } from '../wildcard/wildcard';
import { parseDuration } from '../units';

export interface PolicyCheckOptions {
  /** Whether `apiVersion`/`kind` is cluster-scoped (the API server's discovery); default: the known-kinds table. */
  isClusterScoped?: (apiVersion: string, kind: string) => boolean;
  /** The policy as stored before this update (an UPDATE request's oldObject): generate rules may change only so far. */
  oldPolicy?: JsonObject;
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

const invalid = (path: string, value: unknown, detail: string) => `${path}: Invalid value: ${goValue(value)}: ${detail}`;
const forbidden = (path: string, detail: string) => `${path}: Forbidden: ${detail}`;

/** apimachinery's ErrorList.ToAggregate().Error(): one message, or several in brackets. */
function aggregate(errors: string[]): string | undefined {
  if (errors.length === 0) return undefined;
  return errors.length === 1 ? errors[0] : `[${errors.join(', ')}]`;
}

function defaultClusterScoped(apiVersion: string, kind: string): boolean {
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
  return !isNamespacedKind(group, kind);
}

function generatePatternErrors(path: string, g: JsonObject, namespaced: boolean, policyNamespace: string, clusterScoped: (a: string, k: string) => boolean): string[] {
  const errs: string[] = [];
  const apiVersion = typeof g.apiVersion === 'string' ? g.apiVersion : '';
  const kind = typeof g.kind === 'string' ? g.kind : '';
  const namespace = typeof g.namespace === 'string' ? g.namespace : '';
  const clone = asObject(g.clone);
  const cloneList = asObject(g.cloneList);
  const cloneKinds = asArray(cloneList.kinds).map(String);
  if (namespaced) {
    let scope: string | undefined;
    if (kind && clusterScoped(apiVersion, kind)) scope = `the target must be a namespaced resource: ${apiVersion}/${kind}`;
    else if (namespace !== policyNamespace) scope = `a namespaced policy cannot generate resources in other namespaces, expected: ${policyNamespace}, received: ${namespace}`;
    else if (typeof clone.name === 'string' && clone.name && String(clone.namespace ?? '') !== policyNamespace) {
      scope = `a namespaced policy cannot clone resources from other namespaces, expected: ${policyNamespace}, received: ${String(clone.namespace ?? '')}`;
    }
    // Kyverno's message keeps the space after its %v.
    if (scope) errs.push(forbidden(`${path}.namespace`, `target resource scope mismatched: ${scope} `));
  }
  if (kind) {
    if (!clusterScoped(apiVersion, kind)) {
      if (!namespace) errs.push(forbidden(`${path}.namespace`, 'target namespace must be set for a namespaced resource'));
    } else if (namespace) {
      errs.push(forbidden(`${path}.namespace`, 'target namespace must not be set for a cluster-wide resource'));
    }
  }
  if (cloneKinds.length === 0) {
    if (!kind) errs.push(forbidden(`${path}.kind`, 'kind can not be empty'));
    if (!(typeof g.name === 'string' && g.name)) errs.push(forbidden(`${path}.name`, 'name can not be empty'));
    if (!apiVersion) errs.push(forbidden(`${path}.apiVersion`, 'apiVersion can not be empty'));
  } else {
    const listNs = String(cloneList.namespace ?? '');
    const scoped = (k: string) => clusterScoped(k.split('/').slice(0, -1).join('/'), k.split('/').pop() ?? k);
    if (namespaced) {
      for (const k of cloneKinds) {
        if (scoped(k)) errs.push(forbidden(`${path}.cloneList.kinds`, `the source in cloneList must be a namespaced resource: ${k}`));
        if (listNs !== policyNamespace) errs.push(forbidden(`${path}.cloneList.namespace`, `a namespaced policy cannot clone resources from other namespace, expected: ${policyNamespace}, received: ${listNs}`));
      }
    }
    let clusterScope = scoped(cloneKinds[0]);
    for (const k of cloneKinds.slice(1)) {
      if (clusterScope !== scoped(k)) {
        errs.push(forbidden(`${path}.cloneList.kinds`, 'mixed scope of target resources is forbidden'));
        break;
      }
      clusterScope = clusterScope && scoped(k);
    }
    if (!clusterScope) {
      if (!listNs) errs.push(forbidden(`${path}.cloneList.namespace`, 'namespace is required for namespaced target resources'));
    } else if (!namespaced && listNs) {
      errs.push(forbidden(`${path}.cloneList.namespace`, 'namespace is forbidden for cluster-wide target resources'));
    }
  }
  return errs;
}

function generateErrors(path: string, generate: JsonObject, namespaced: boolean, policyNamespace: string, clusterScoped: (a: string, k: string) => boolean): string[] {
  const patterns = [generate.data !== undefined && generate.data !== null, isJsonObject(generate.clone) && Object.keys(generate.clone).length > 0, Array.isArray(asObject(generate.cloneList).kinds), Array.isArray(generate.foreach)];
  if (patterns.filter(Boolean).length > 1) return [forbidden(path, 'only one of generate patterns(data, clone, cloneList and foreach) can be specified')];
  if (Array.isArray(generate.foreach)) {
    return (generate.foreach as unknown[]).flatMap((f, i) => generatePatternErrors(`${path}.foreach[${i}]`, asObject(f), namespaced, policyNamespace, clusterScoped));
  }
  return generatePatternErrors(path, generate, namespaced, policyNamespace, clusterScoped);
}


const required = (path: string, detail = '') => `${path}: Required value${detail ? `: ${detail}` : ''}`;

/** UserInfo.Validate (api/kyverno/v1/user_info_types.go): subjects and roles of a match/exclude filter. */
function userInfoErrors(path: string, info: JsonObject): string[] {
  const errs: string[] = [];
  asArray(info.subjects).map(asObject).forEach((subject, i) => {
    const at = `${path}.subjects[${i}]`;
    const kind = typeof subject.kind === 'string' ? subject.kind : '';
    if (kind === '') errs.push(required(`${at}.kind`));
    else if (kind !== 'Group' && kind !== 'ServiceAccount' && kind !== 'User') errs.push(invalid(`${at}.kind`, kind, "kind must be 'User', 'Group', or 'ServiceAccount'"));
    if (!(typeof subject.name === 'string' && subject.name)) errs.push(required(`${at}.name`));
    if (kind === 'ServiceAccount' && !(typeof subject.namespace === 'string' && subject.namespace)) errs.push(required(`${at}.namespace`, 'namespace is required when Kind is ServiceAccount'));
  });
  asArray(info.roles).forEach((role, i) => {
    if (String(role).split(':').length !== 2) errs.push(invalid(`${path}.roles[${i}]`, String(role), 'Role is expected to be in namespace:name format'));
  });
  return errs;
}

/** ResourceDescription.Validate (api/kyverno/v1/resource_description_types.go). */
function resourceDescriptionErrors(path: string, r: JsonObject, namespaced: boolean, clusterScoped: (a: string, k: string) => boolean): string[] {
  const errs: string[] = [];
  if (typeof r.name === 'string' && r.name && asArray(r.names).length > 0) errs.push(`${path}: Invalid value: ${JSON.stringify(r)}: Both name and names can not be specified together`);
  if (namespaced) {
    if (asArray(r.namespaces).length > 0) errs.push(forbidden(`${path}.namespaces`, 'Filtering namespaces not allowed in namespaced policies'));
    asArray(r.kinds).map(String).forEach((kind, i) => {
      const slash = kind.lastIndexOf('/');
      const [apiVersion, name] = slash >= 0 ? [kind.slice(0, slash), kind.slice(slash + 1)] : ['', kind];
      if (name && !name.includes('*') && !/^[a-z]/.test(name) && clusterScoped(apiVersion, name)) errs.push(forbidden(`${path}.kinds[${i}]`, `Cluster wide resource '${kind}' not allowed in namespaced policy`));
    });
  }
  return errs;
}

/** The filters of a match or exclude block with their paths: any[i], all[i] and the block itself. */
function filtersOf(path: string, block: JsonObject): Array<{ path: string; filter: JsonObject; resources: JsonObject }> {
  const out: Array<{ path: string; filter: JsonObject; resources: JsonObject }> = [];
  for (const key of ['any', 'all'] as const) {
    asArray(block[key]).map(asObject).forEach((f, i) => out.push({ path: `${path}.${key}[${i}]`, filter: f, resources: asObject(f.resources) }));
  }
  out.push({ path, filter: block, resources: asObject(block.resources) });
  return out;
}

/** MatchResources.Validate for a rule's match and exclude blocks. */
function matchBlockErrors(rulePath: string, rule: JsonObject, namespaced: boolean, clusterScoped: (a: string, k: string) => boolean): string[] {
  const errs: string[] = [];
  for (const key of ['match', 'exclude'] as const) {
    if (!isJsonObject(rule[key])) continue;
    const block = rule[key];
    const path = `${rulePath}.${key}`;
    if (asArray(block.any).length > 0 && asArray(block.all).length > 0) errs.push(`${path}: Invalid value: ${JSON.stringify(block)}: Can't specify any and all together`);
    for (const f of filtersOf(path, block)) {
      errs.push(...userInfoErrors(f.path, f.filter));
      errs.push(...resourceDescriptionErrors(f.path, f.resources, namespaced, clusterScoped));
    }
  }
  return errs;
}

/**
 * Whether a kind selector names a subresource: a kind served only as one (Scale), or a
 * `/sub` (`.sub`) of a wildcard or well-known kind. The subresource of a kind we do not know
 * (a CRD) is left alone: Kyverno's discovery does not find it either and only warns.
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
 * generate, verifyImages and foreach validate rules; a background validate rule may not match
 * a subresource (validKinds: the background scan lists resources, never subresources).
 */
function kindErrors(rules: JsonObject[], background: boolean): string | undefined {
  for (const [i, rule] of rules.entries()) {
    for (const key of ['match', 'exclude'] as const) {
      if (!isJsonObject(rule[key])) continue;
      for (const f of filtersOf(key, rule[key])) {
        const kinds = asArray(f.resources.kinds).map(String);
        const where = `path: spec.rules[${i}].${f.path}.kinds`;
        if (kinds.includes('*')) {
          if (background) return `${where}: wildcard policy not allowed in background mode. Set spec.background=false to disable background mode for this policy rule `;
          if (kinds.length > 1) return `${where}: wildcard policy can not deal with more than one kind`;
          if (rule.generate || rule.verifyImages || asObject(rule.validate).foreach) return `${where}: wildcard policy does not support rule type`;
          continue;
        }
        if (!isJsonObject(rule.validate) || !background) continue;
        const sub = kinds.find(namesSubresource);
        if (sub !== undefined) return `${where}: background scan enabled with subresource ${sub}`;
      }
    }
  }
  return undefined;
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

/** The first `{{…}}` variable in `value` that is neither reserved nor defined, with its JSON pointer. */
function undefinedVariable(value: unknown, patterns: string[], allowed: RegExp, pointer = ''): { variable: string; pointer: string } | undefined {
  if (typeof value === 'string') {
    for (const m of value.matchAll(VARIABLE)) {
      const variable = m[0].slice(2, -2).trim().replace(/"/g, '');
      if (!allowed.test(variable) && !patterns.some((p) => wildcardMatch(p, variable))) return { variable, pointer };
    }
    return undefined;
  }
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : isJsonObject(value) ? Object.entries(value) : [];
  for (const [k, v] of entries) {
    const found = undefinedVariable(v, patterns, allowed, `${pointer}/${k}`);
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
function targetVariableError(rules: JsonObject[], background: boolean): string | undefined {
  const allowed = background ? BACKGROUND_VARIABLES : RESERVED_VARIABLES;
  for (const rule of rules) {
    const targets = asArray(asObject(rule.mutate).targets).map(asObject);
    const patterns = contextPatterns(rule.context);
    for (const [i, t] of targets.entries()) {
      const spec = Object.fromEntries(['apiVersion', 'kind', 'namespace', 'name', 'uid', 'selector'].filter((k) => t[k] !== undefined).map((k) => [k, t[k]]));
      const found = undefinedVariable({ context: rule.context, preconditions: rule.preconditions, mutate: { targets: [spec] } }, patterns, allowed);
      if (found) {
        return `policy contains invalid variables: invalid variables defined at mutate.targets[${i}]: failed to resolve ${found.variable} at path ${found.pointer}: variable ${found.variable} must match regex "${allowed.source}" or patterns [${patterns.join(' ')}]`;
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
function backgroundUserError(policy: JsonObject, rules: JsonObject[]): string | undefined {
  const prefix = 'only select variables are allowed in background mode. Set spec.background=false to disable background mode for this policy rule: ';
  for (const [i, rule] of rules.entries()) {
    for (const key of ['match', 'exclude'] as const) {
      if (!isJsonObject(rule[key])) continue;
      const block = rule[key];
      const order = key === 'match' ? [['', block], ...asArray(block.any).map((f, j) => [`any[${j}]/`, f]), ...asArray(block.all).map((f, j) => [`all[${j}]/`, f])] : [['', block], ...asArray(block.all).map((f, j) => [`all[${j}]/`, f]), ...asArray(block.any).map((f, j) => [`any[${j}]/`, f])];
      for (const [at, f] of order as Array<[string, unknown]>) {
        const field = ['roles', 'clusterRoles', 'subjects'].find((k) => asArray(asObject(f)[k]).length > 0);
        if (field) return `${prefix}invalid variable used at path: spec/rules[${i}]/${key}/${at}${field} `;
      }
    }
  }
  if (rules.some((r) => asArray(asObject(r.mutate).targets).length > 0)) return undefined;
  const meta = asObject(policy.metadata);
  const annotations = asObject(meta.annotations);
  const cleaned = { ...policy, metadata: { ...meta, ...(meta.annotations ? { annotations: { ...annotations, 'kubectl.kubernetes.io/last-applied-configuration': '' } } : {}) }, status: { ...asObject(policy.status), autogen: undefined } };
  for (const m of JSON.stringify(cleaned).matchAll(POLICY_VARIABLES)) {
    if (USER_VARIABLES.some((re) => re.test(m[2]))) return `${prefix}variable ${m[2]} is not allowed `;
  }
  return undefined;
}

/** Kyverno's verdict on a classic policy (ClusterPolicy or Policy) at creation or update. */
export function checkPolicyForAdmission(policy: JsonObject, options: PolicyCheckOptions = {}): PolicyCheckResult {
  const warnings: string[] = [];
  const kind = String(policy.kind ?? '');
  const meta = asObject(policy.metadata);
  const spec = asObject(policy.spec);
  const namespaced = kind === 'Policy';
  const policyNamespace = typeof meta.namespace === 'string' ? meta.namespace : '';
  const clusterScoped = options.isClusterScoped ?? defaultClusterScoped;
  if (kind === 'ClusterPolicy' && policyNamespace) {
    const message = 'A clusterpolicy should not have the namespace defined';
    return { error: message, warnings: [message] };
  }

  const rules = asArray(spec.rules).map(asObject);
  // ValidateVariables runs before the spec's own validation.
  const variableError = (spec.background !== false ? backgroundUserError(policy, rules) : undefined) ?? targetVariableError(rules, spec.background !== false);
  if (variableError) return { error: variableError, warnings };

  const errs: string[] = [];
  if (asObject(meta.annotations)['pod-policies.kyverno.io/autogen-controllers'] === 'all') {
    errs.push(forbidden('metadata.annotations', "Autogen annotation does not support 'all' anymore, remove the annotation or set it to a valid value"));
  }
  if (typeof meta.name === 'string' && meta.name.length > 63) errs.push('name: Too long: may not be more than 63 bytes');
  const webhookConfiguration = asObject(spec.webhookConfiguration);
  if (spec.webhookTimeoutSeconds !== undefined && webhookConfiguration.timeoutSeconds !== undefined) {
    errs.push(forbidden('spec.webhookTimeoutSeconds', 'remove the deprecated field and use spec.webhookConfiguration.timeoutSeconds instead'));
  }
  if (spec.failurePolicy !== undefined && webhookConfiguration.failurePolicy !== undefined) {
    errs.push(forbidden('spec.failurePolicy', 'remove the deprecated field and use spec.webhookConfiguration.failurePolicy instead'));
  }
  if (spec.generateExistingOnPolicyUpdate !== undefined) {
    errs.push(forbidden('spec.generateExistingOnPolicyUpdate', 'remove the deprecated field and use spec.generate[*].generateExisting instead'));
  }
  rules.forEach((rule, i) => {
    if (!isJsonObject(rule.mutate)) return;
    const mutate = rule.mutate;
    if ((spec.mutateExistingOnPolicyUpdate === true || mutate.mutateExistingOnPolicyUpdate === true) && asArray(mutate.targets).length === 0) {
      errs.push(forbidden('spec.mutateExistingOnPolicyUpdate', `rules[${i}].mutate.targets has to be specified when mutateExistingOnPolicyUpdate is set`));
    }
  });
  for (const [path, value] of [['spec.webhookTimeoutSeconds', spec.webhookTimeoutSeconds], ['spec.webhookConfiguration.timeoutSeconds', webhookConfiguration.timeoutSeconds]] as const) {
    if (typeof value === 'number' && (value < 1 || value > 30)) errs.push(invalid(path, value, 'the timeout value must be between 1 and 30 seconds'));
  }
  rules.forEach((rule, i) => {
    const path = `spec.rules[${i}]`;
    errs.push(...matchBlockErrors(path, rule, namespaced, clusterScoped));
    const mutate = asObject(rule.mutate);
    const targets = asArray(mutate.targets).map(asObject);
    if (namespaced && targets.length) {
      targets.forEach((t, j) => {
        if (typeof t.namespace === 'string' && t.namespace && t.namespace !== policyNamespace) {
          errs.push(invalid(`${path}.targets[${j}].namespace`, t.namespace, 'This field can be ignored or should have value of the namespace where the policy is being created'));
        }
      });
    }
    if (isJsonObject(rule.generate)) errs.push(...generateErrors(path, rule.generate, namespaced, policyNamespace, clusterScoped));
  });
  if (namespaced && asArray(spec.validationFailureActionOverrides).length > 0) {
    errs.push(forbidden('spec.validationFailureActionOverrides', 'Use of validationFailureActionOverrides is supported only with ClusterPolicy'));
  }
  const error = aggregate(errs);
  if (error) return { error, warnings };

  const admission = spec.admission !== false;
  const background = spec.background !== false;
  if (!admission && !background) return { error: 'disabling both admission and background processing is not allowed', warnings };
  if (!admission && rules.some((r) => r.mutate || r.generate || r.verifyImages)) return { error: 'disabling admission processing is only allowed with validation policies', warnings };
  if (options.oldPolicy) {
    const change = immutableGenerateFields(policy, options.oldPolicy);
    if (change.warning !== undefined || change.error !== undefined) {
      // As Kyverno: either outcome ends the validation (a warning admits the policy unchecked further).
      warnings.push(`no synchronization will be performed to the old target resource upon policy updates: ${change.warning ?? ''}`);
      return { ...(change.error !== undefined ? { error: change.error } : {}), warnings };
    }
  }
  const kindError = kindErrors(rules, background);
  if (kindError) return { error: kindError, warnings };
  return { warnings };
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
export function checkExceptionForAdmission(exception: JsonObject): PolicyCheckResult {
  const spec = asObject(exception.spec);
  const errs: string[] = [];
  if (String(exception.apiVersion ?? '').startsWith('policies.kyverno.io/')) {
    const refs = asArray(spec.policyRefs).map(asObject);
    if (refs.length === 0) errs.push(`spec.policyRefs: Invalid value: ${Array.isArray(spec.policyRefs) ? '[]v1beta1.PolicyRef{}' : '[]v1beta1.PolicyRef(nil)'}: must specify at least one policy ref`);
    refs.forEach((ref, i) => {
      if (!(typeof ref.name === 'string' && ref.name)) errs.push(invalid(`spec.policyRefs[${i}].name`, String(ref.name ?? ''), 'must specify policy name'));
      if (!(typeof ref.kind === 'string' && ref.kind)) errs.push(invalid(`spec.policyRefs[${i}].kind`, String(ref.kind ?? ''), 'must specify policy kind'));
    });
    return { error: aggregate(errs), warnings: [] };
  }
  const match = asObject(spec.match);
  // v2beta1 MatchResources: only any and all.
  const filters = filtersOf('spec.match', match).filter((f) => f.path !== 'spec.match');
  if (spec.background !== false) {
    for (const f of filters) {
      for (const field of ['roles', 'clusterRoles', 'subjects']) {
        if (asArray(f.filter[field]).length > 0) errs.push(forbidden(`${f.path}.${field}`, 'Usage of user info is forbidden'));
      }
    }
  }
  if (asArray(match.any).length > 0 && asArray(match.all).length > 0) errs.push(`spec.match: Invalid value: ${JSON.stringify(match)}: Can't specify any and all together`);
  for (const f of filters) {
    errs.push(...userInfoErrors(f.path, f.filter));
    errs.push(...resourceDescriptionErrors(f.path, f.resources, false, () => false));
  }
  asArray(spec.exceptions).map(asObject).forEach((e, i) => {
    if (!(typeof e.policyName === 'string' && e.policyName)) errs.push(required(`spec.exceptions[${i}].policyName`, 'An exception requires a policy name'));
  });
  return { error: aggregate(errs), warnings: [] };
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
export function checkGlobalContextEntryForAdmission(entry: JsonObject): PolicyCheckResult {
  const spec = asObject(entry.spec);
  const name = String(asObject(entry.metadata).name ?? '');
  const errs: string[] = [];
  const isResource = present(spec.kubernetesResource);
  const isApiCall = present(spec.apiCall);
  if (isResource === isApiCall) errs.push(forbidden('spec.kubernetesResource', 'A global context entry should either have KubernetesResource or APICall'));
  if (isResource) {
    const r = asObject(spec.kubernetesResource);
    const group = String(r.group ?? '');
    const version = String(r.version ?? '');
    if (group === '' && version !== 'v1') errs.push(required('spec.resource.group', 'A Resource entry requires a group'));
    if (version === '') errs.push(required('spec.resource.version', 'A Resource entry requires a version'));
    if (String(r.resource ?? '') === '') errs.push(required('spec.resource.resource', 'A Resource entry requires a resource'));
  }
  if (isApiCall) {
    const call = asObject(spec.apiCall);
    const interval = typeof call.refreshInterval === 'string' && call.refreshInterval !== '' ? parseDuration(call.refreshInterval) : undefined;
    if (interval === 0) errs.push(required('spec.apiCall.refreshIntervalSeconds', 'A Resource entry requires a refresh interval greater than 0 seconds'));
    const urlPath = String(call.urlPath ?? '');
    if (present(call.service) === (urlPath !== '')) errs.push(forbidden('spec.apiCall.service', 'An External API call should either have Service or URLPath'));
    // The CRD defaults the method to GET.
    if (present(call.data) && String(call.method ?? 'GET') !== 'POST') errs.push(forbidden('spec.apiCall.method', 'An External API call with data should have method as POST'));
  }
  asArray(spec.projections).map(asObject).forEach((p, i) => {
    const at = `spec.projections[${i}]`;
    const projection = String(p.name ?? '');
    if (projection === '') errs.push(required(`${at}.name`, 'A projection entry requires a name'));
    if (projection === name) errs.push(required(`${at}.name`, 'A projection entry requires a name different from the global context entry name'));
    if (String(p.jmesPath ?? '') === '') errs.push(required(`${at}.jmesPath`, 'A projection entry requires a JMESPath'));
  });
  return { error: aggregate(errs), warnings: [] };
}
