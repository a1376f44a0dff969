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
import { findVariables, variableExpression } from '../variables/substitute';
import { wildcardMatch } from '../wildcard/wildcard';

export interface PolicyCheckOptions {
  /** Whether `apiVersion`/`kind` is cluster-scoped (the API server's discovery); default: the known-kinds table. */
  isClusterScoped?: (apiVersion: string, kind: string) => boolean;
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
  for (const rule of rules) {
    const invalid = invalidTargetVariables(rule, background);
    if (invalid) return { error: `policy contains invalid variables: ${invalid}`, warnings };
  }
  if (!admission && !background) return { error: 'disabling both admission and background processing is not allowed', warnings };
  if (!admission && rules.some((r) => r.mutate || r.generate || r.verifyImages)) return { error: 'disabling admission processing is only allowed with validation policies', warnings };
  return { warnings };
}

// Kyverno's variables allowed outside a mutate target (pkg/validation/policy/validate.go):
// enginecontext.ReservedKeys, or allowedVariablesBackground for a background policy.
const RESERVED_KEYS = /request|serviceAccountName|serviceAccountNamespace|element|elementIndex|@|images|image|([a-z_0-9]+\()[^{}]/;
const ALLOWED_IN_BACKGROUND = /request\.|element|elementIndex|@|images|images\.|image\.|([a-z_0-9]+\()[^{}]/;
// Go's regexp String() of each, for the message.
const RESERVED_KEYS_TEXT = 'request|serviceAccountName|serviceAccountNamespace|element|elementIndex|@|images|image|([a-z_0-9]+\\()[^{}]';
const ALLOWED_IN_BACKGROUND_TEXT = 'request\\.|element|elementIndex|@|images|images\\.|image\\.|([a-z_0-9]+\\()[^{}]';

/** The names a rule's context entries define, as Kyverno's addContextVariables adds them (wildcard patterns). */
function contextVariablePatterns(entries: unknown): string[] {
  const out: string[] = [];
  for (const e of asArray(entries).map(asObject)) {
    const name = String(e.name ?? '');
    if (e.apiCall || e.globalReference || e.imageRegistry || e.variable) out.push(`${name}*`);
    if (e.configMap) out.push(`${name}.data`, `${name}.metadata`, `${name}.data.*`, `${name}.metadata.*`);
  }
  return out;
}

function stringsOf(value: unknown, into: string[]): string[] {
  if (typeof value === 'string') into.push(value);
  else if (Array.isArray(value)) for (const v of value) stringsOf(v, into);
  else if (isJsonObject(value)) for (const v of Object.values(value)) stringsOf(v, into);
  return into;
}

/**
 * Kyverno's hasInvalidVariables for mutate targets: each target's resource spec (apiVersion,
 * kind, namespace, name, uid), with the rule's context and preconditions, may use only the
 * variables allowed outside a target (no `target.*`: the target is not known while it is
 * being looked up) or the rule's context entries.
 */
function invalidTargetVariables(rule: JsonObject, background: boolean): string | undefined {
  const targets = asArray(asObject(rule.mutate).targets).map(asObject);
  if (!targets.length) return undefined;
  const allowed = background ? ALLOWED_IN_BACKGROUND : RESERVED_KEYS;
  const patterns = contextVariablePatterns(rule.context);
  for (const [i, t] of targets.entries()) {
    const spec = { apiVersion: t.apiVersion, kind: t.kind, namespace: t.namespace, name: t.name, uid: t.uid };
    for (const text of stringsOf([spec, rule.context, rule.preconditions], [])) {
      for (const v of findVariables(text)) {
        const query = variableExpression(v).replace(/"/g, '');
        if (!query || allowed.test(query) || patterns.some((p) => wildcardMatch(p, query))) continue;
        return `invalid variables defined at mutate.targets[${i}]: variable ${query} must match regex "${background ? ALLOWED_IN_BACKGROUND_TEXT : RESERVED_KEYS_TEXT}" or patterns [${patterns.join(' ')}]`;
      }
    }
  }
  return undefined;
}
