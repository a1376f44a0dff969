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
 * admission and background both off; admission off for mutate, generate or verifyImages rules.
 * Not covered here (they need Go's struct printing or the API server's discovery): duplicate
 * rule names and rule-type counts (Kyverno prints the whole rule), kinds unknown to the cluster.
 */
import type { JsonObject } from '../core/types';
import { asArray, asObject, isJsonObject } from '../core/json';
import { isNamespacedKind } from '../kube/known-kinds';

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
  const rules = asArray(spec.rules).map(asObject);
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
