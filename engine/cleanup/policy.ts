/**
 * What Kyverno's cleanup controllers decide for one resource, and when they run:
 * - ClusterCleanupPolicy / CleanupPolicy (kyverno.io/v2, pkg/controllers/cleanup): the
 *   resource must be in a namespaced policy's namespace, selected by `match` and not by
 *   `exclude` (pkg/utils/match: any/all blocks, no user info since there is no request), and
 *   pass `conditions` (any/all, the precondition operators) in a context holding `target`
 *   (the resource), `request.namespace`, `images` and the policy's context entries;
 * - DeletingPolicy / NamespacedDeletingPolicy (policies.kyverno.io): the CEL engine's verdict
 *   (matchConstraints, CEL exceptions, conditions) as `kyverno test` reports it: pass means
 *   "delete";
 * - schedules: the next run after `status.lastExecutionTime`, or after the creation time for a
 *   policy that never ran; a run is due once the clock is past it.
 * Pure: the caller lists and deletes.
 */
import type { ClusterState, JsonObject, RuleResult } from '../core/types';
import { asArray, asObject, formatFieldPath, isJsonObject } from '../core/json';
import { aggregateMessages, verdictResult, type AdmissionIssue, type AdmissionVerdict, type PolicyCheckResult } from '../policy/admission-checks';
import { conditionBlockFailures, type MatchTarget } from '../match';
import { resourceGVK } from '../kube/selectors';
import { evaluateConditions } from '../conditions';
import { loadContextEntries } from '../context';
import { extractImages } from '../context/images';
import { applyDeletingPolicy } from '../cel/other-policies';
import { nextScheduledTime, standardCronError, parseCronExpression } from './cron';

/** Cleanup runs outside any request: no user, roles or groups. */
const NO_REQUEST_INFO = { roles: [], clusterRoles: [], userInfo: {} };

export const CLEANUP_POLICY_KINDS = new Set(['ClusterCleanupPolicy', 'CleanupPolicy']);
export const DELETING_POLICY_KINDS = new Set(['DeletingPolicy', 'NamespacedDeletingPolicy']);

export function isCleanupPolicy(policy: JsonObject): boolean {
  return CLEANUP_POLICY_KINDS.has(String(policy.kind)) && String(policy.apiVersion ?? '').startsWith('kyverno.io/');
}

export function isDeletingPolicy(policy: JsonObject): boolean {
  return DELETING_POLICY_KINDS.has(String(policy.kind)) && String(policy.apiVersion ?? '').startsWith('policies.kyverno.io/');
}

function filtersOf(block: unknown): JsonObject[] {
  const b = asObject(block);
  return [...asArray(b.any), ...asArray(b.all)].map(asObject);
}

/** The kinds a cleanup policy lists (MatchResources.GetKinds: `match` only, any then all). */
export function cleanupPolicyKinds(policy: JsonObject): string[] {
  const kinds = filtersOf(asObject(policy.spec).match).flatMap((f) => asArray(asObject(f.resources).kinds).map(String));
  return [...new Set(kinds)];
}

/** pkg/utils/match checkResourceFilter: one `any`/`all` entry against a resource. */
function filterFailures(filter: JsonObject, t: MatchTarget): string[] {
  const description = { ...asObject(filter.resources) };
  const userInfo: JsonObject = {};
  for (const f of ['roles', 'clusterRoles', 'subjects']) if (filter[f] != null) userInfo[f] = filter[f];
  const empty = (o: JsonObject) => Object.values(o).every((v) => v === null || v === undefined || (Array.isArray(v) && v.length === 0));
  if (empty(description) && empty(userInfo)) return ['statement cannot be empty'];
  // This matcher has no operations, and skips the namespace selector for Namespaces.
  delete description.operations;
  if (String(t.resource.kind ?? '') === 'Namespace' || String(t.resource.kind ?? '') === '') delete description.namespaceSelector;
  return conditionBlockFailures(description, userInfo, t);
}

/** pkg/utils/match CheckMatchesResources: any (one must select) or all (each must); neither selects. */
function matchesResources(block: JsonObject, t: MatchTarget): boolean {
  const any = asArray(block.any).map(asObject);
  const all = asArray(block.all).map(asObject);
  if (any.length > 0) return any.some((f) => filterFailures(f, t).length === 0);
  return all.every((f) => filterFailures(f, t).length === 0);
}

export interface CleanupVerdict {
  /** The resource is to be deleted. */
  delete: boolean;
  /** Why it is kept (not matched, excluded, conditions false). */
  reason?: string;
  /** A condition could not be evaluated: Kyverno logs it, keeps the resource and reports the run as failed. */
  error?: string;
}

/**
 * Whether a ClusterCleanupPolicy/CleanupPolicy deletes `resource`. `namespaceLabels` holds the
 * labels of the resource's namespace; `cluster` answers context entries.
 */
export function cleanupPolicySelects(policy: JsonObject, resource: JsonObject, namespaceLabels: Record<string, string>, cluster: ClusterState, now?: Date): CleanupVerdict {
  const spec = asObject(policy.spec);
  const meta = asObject(resource.metadata);
  const namespace = typeof meta.namespace === 'string' ? meta.namespace : '';
  const policyNamespace = String(asObject(policy.metadata).namespace ?? '');
  if (policyNamespace && namespace !== policyNamespace) return { delete: false, reason: `resource namespace (${namespace}) doesn't match statement (${policyNamespace})` };
  const t: MatchTarget = { resource, gvk: resourceGVK(resource), subresource: '', operation: '', namespaceLabels, requestInfo: NO_REQUEST_INFO, noUserInfo: true };
  if (!matchesResources(asObject(spec.match), t)) return { delete: false, reason: 'not matched' };
  if (isJsonObject(spec.exclude) && matchesResources(spec.exclude, t)) return { delete: false, reason: 'excluded' };
  if (spec.conditions === undefined || spec.conditions === null) return { delete: true };
  // Kyverno loads context entries lazily, so they may refer to the target: load them per resource.
  const base = { data: { target: resource, request: { namespace }, images: extractImages(resource) } as JsonObject, now };
  const loaded = loadContextEntries(spec.context, base, { cluster, provided: new Set() });
  if (loaded.error) return { delete: false, error: loaded.error };
  const outcome = evaluateConditions(spec.conditions, loaded.scope);
  if (outcome.error) return { delete: false, error: outcome.error };
  return outcome.passed ? { delete: true } : { delete: false, reason: 'conditions did not pass' };
}

/**
 * A cleanup policy on one resource as `kyverno apply` reports it (applyCleanupPolicies): one
 * Deletion result named after the policy, pass "resource matched" when a run would delete it,
 * fail "resource did not match" otherwise, error when its conditions cannot be evaluated.
 */
export function cleanupPolicyResult(policy: JsonObject, resource: JsonObject, namespaceLabels: Record<string, string>, cluster: ClusterState, now?: Date): RuleResult {
  const name = String(asObject(policy.metadata).name ?? '');
  if (!isJsonObject(policy.spec)) return { name, type: 'Deletion', status: 'error', message: 'cleanup policy has no spec' };
  const verdict = cleanupPolicySelects(policy, resource, namespaceLabels, cluster, now);
  if (verdict.error) return { name, type: 'Deletion', status: 'error', message: verdict.error };
  return verdict.delete ? { name, type: 'Deletion', status: 'pass', message: 'resource matched' } : { name, type: 'Deletion', status: 'fail', message: 'resource did not match' };
}

/** Whether a DeletingPolicy/NamespacedDeletingPolicy deletes `resource` (the CEL engine's verdict). */
export function deletingPolicySelects(policy: JsonObject, resource: JsonObject, cluster: ClusterState, now?: Date): CleanupVerdict {
  const policyNamespace = String(asObject(policy.metadata).namespace ?? '');
  const namespace = String(asObject(resource.metadata).namespace ?? '');
  if (policyNamespace && namespace !== policyNamespace) return { delete: false, reason: 'outside the policy namespace' };
  const response = applyDeletingPolicy(policy, { request: { operation: 'CREATE', object: resource, oldObject: null, requestInfo: NO_REQUEST_INFO }, cluster, now });
  const rule = response.rules[0];
  if (!rule) return { delete: false, reason: 'not matched' };
  if (rule.status === 'error') return { delete: false, error: rule.message };
  return rule.status === 'pass' ? { delete: true } : { delete: false, reason: rule.message };
}

/** metav1.Time as the API server writes it (RFC 3339, seconds), in milliseconds. */
function timeOf(v: unknown): number | undefined {
  if (typeof v !== 'string' || v === '') return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * GetExecutionTime: the next scheduled run after the last one (status.lastExecutionTime), or
 * after the policy's creation. `time` null: no run is left (Go's zero time, so Kyverno runs it
 * at once and then every second: we keep that). An unreadable schedule is an error.
 */
export function policyExecutionTime(policy: JsonObject): { time: number | null } | { error: string } {
  const reference = timeOf(asObject(policy.status).lastExecutionTime) ?? timeOf(asObject(policy.metadata).creationTimestamp);
  // A policy object without a creation time (a file, not yet in a cluster): count from the epoch's zero value.
  if (reference === undefined) return { time: null };
  return nextScheduledTime(String(asObject(policy.spec).schedule ?? ''), reference);
}

// ---------------------------------------------------------------- admission

/** Go's %v of a JSON value, roughly (Kyverno prints Go structs here: no exact rendering offline). */
const shown = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v ?? null));

export interface CleanupCheckOptions {
  /** Whether a kind (`Kind` or `group/version/Kind`) is cluster-scoped (the cluster's discovery). */
  isClusterScoped?: (kind: string) => boolean;
}

/**
 * Kyverno's admission verdict on a ClusterCleanupPolicy/CleanupPolicy (the cleanup
 * controller's validation webhook: CleanupPolicySpec.Validate). Not covered: the
 * SubjectAccessReview that the controller may list and delete the kinds (our RBAC follows the
 * policies instead), and the variable check of conditions.
 */
export function cleanupPolicyAdmissionVerdict(policy: JsonObject, options: CleanupCheckOptions = {}): AdmissionVerdict {
  const errs: AdmissionIssue[] = [];
  const meta = asObject(policy.metadata);
  const spec = asObject(policy.spec);
  const namespaced = policy.kind === 'CleanupPolicy';
  if (typeof meta.name === 'string' && meta.name.length > 63) errs.push({ path: ['metadata', 'name'], message: 'metadata.name: Too long: may not be more than 63 bytes' });
  asArray(spec.context).map(asObject).forEach((entry, i) => {
    const source = isJsonObject(entry.imageRegistry) ? 'ImageRegistry' : isJsonObject(entry.configMap) ? 'ConfigMap' : undefined;
    if (source) errs.push({ path: ['spec', 'context', i, source === 'ConfigMap' ? 'configMap' : 'imageRegistry'], message: `spec.context: Invalid value: ${shown(spec.context)}: ${source} is not allowed in CleanUp Policy` });
  });
  const schedule = String(spec.schedule ?? '');
  if (standardCronError(schedule) !== undefined) errs.push({ path: ['spec', 'schedule'], message: `spec.schedule: Invalid value: ${JSON.stringify(schedule)}: schedule spec in the cleanupPolicy is not in proper cron format` });
  const blockErrors = (blockAt: ReadonlyArray<string>, block: JsonObject): AdmissionIssue[] => {
    const path = formatFieldPath(blockAt);
    const userInfo: AdmissionIssue[] = [];
    for (const key of ['any', 'all'] as const) {
      asArray(block[key]).map(asObject).forEach((f, i) => {
        for (const field of ['roles', 'clusterRoles', 'subjects']) {
          if (asArray(f[field]).length > 0) userInfo.push({ path: [...blockAt, key, i, field], message: `${path}.${key}[${i}].${field}: Forbidden: Usage of user info is forbidden` });
        }
      });
    }
    if (userInfo.length) return userInfo;
    const out: AdmissionIssue[] = [];
    if (asArray(block.any).length > 0 && asArray(block.all).length > 0) out.push({ path: [...blockAt, 'all'], message: `${path}: Invalid value: ${shown(block)}: Can't specify any and all together` });
    for (const key of ['any', 'all'] as const) {
      asArray(block[key]).map(asObject).forEach((f, i) => {
        const r = asObject(f.resources);
        const at = `${path}.${key}[${i}]`;
        const resourcesAt = [...blockAt, key, i, 'resources'];
        if (typeof r.name === 'string' && r.name && asArray(r.names).length > 0) out.push({ path: [...resourcesAt, 'names'], message: `${at}: Invalid value: ${shown(r)}: Both name and names can not be specified together` });
        if (namespaced) {
          if (asArray(r.namespaces).length > 0) out.push({ path: [...resourcesAt, 'namespaces'], message: `${at}.namespaces: Forbidden: Filtering namespaces not allowed in namespaced policies` });
          asArray(r.kinds).map(String).forEach((kind, k) => {
            if (options.isClusterScoped?.(kind)) out.push({ path: [...resourcesAt, 'kinds', k], message: `${at}.kinds[${k}]: Forbidden: Cluster wide resource '${kind}' not allowed in namespaced policy` });
          });
        }
      });
    }
    return out;
  };
  errs.push(...blockErrors(['spec', 'match'], asObject(spec.match)));
  if (isJsonObject(spec.exclude)) errs.push(...blockErrors(['spec', 'exclude'], spec.exclude));
  errs.push(...matchExcludeConflict(spec).map((message) => ({ path: ['spec', 'exclude'], message })));
  return { errors: errs, warnings: [] };
}

/** The cleanup controller's answer: one aggregated message. */
export function checkCleanupPolicyForAdmission(policy: JsonObject, options: CleanupCheckOptions = {}): { error?: string } {
  const error = aggregateMessages(cleanupPolicyAdmissionVerdict(policy, options).errors.map((e) => e.message));
  return error === undefined ? {} : { error };
}

/** ValidateMatchExcludeConflict: an exclude that removes everything the match selects. */
function matchExcludeConflict(spec: JsonObject): string[] {
  if (!isJsonObject(spec.exclude)) return [];
  const match = asObject(spec.match);
  const exclude = spec.exclude;
  if (asArray(exclude.all).length > 0 || asArray(match.all).length > 0) return [];
  const conflict = [`spec: Invalid value: ${shown(spec)}: CleanupPolicy is matching an empty set`];
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  if (asArray(match.any).length > 0 && asArray(exclude.any).length > 0) {
    return asArray(match.any).some((m) => asArray(exclude.any).some((e) => same(m, e))) ? conflict : [];
  }
  // An exclude block with nothing in it leaves the match alone; any other excludes everything.
  if (Object.values(exclude).every((v) => v === null || v === undefined || (Array.isArray(v) && v.length === 0))) return [];
  return conflict;
}

/**
 * What every CEL policy webhook checks first (pkg/cel/policies/{mpol,dpol,...}/validate.go): a spec, and
 * matchConstraints with at least one resource rule. The spec with the errors so far, or the
 * verdict when there is no spec.
 */
export function celPolicySpecErrors(policy: JsonObject): { spec?: JsonObject; errors: AdmissionIssue[] } {
  const spec = policy.spec;
  if (!isJsonObject(spec)) return { errors: [{ path: ['spec'], message: 'spec: Required value: spec must not be nil' }] };
  const errors: AdmissionIssue[] = [];
  if (asArray(asObject(spec.matchConstraints).resourceRules).length === 0) {
    errors.push({ path: ['spec', 'matchConstraints'], message: 'spec.matchConstraints: Required value: a matchConstraints with at least one resource rule is required' });
  }
  return { spec, errors };
}

/** A CEL policy webhook's verdict: Kyverno answers each error as a warning too. */
export function celPolicyVerdict(errors: AdmissionIssue[]): AdmissionVerdict {
  return { errors, warnings: errors.map((e) => e.message) };
}

/**
 * Kyverno's admission verdict on a DeletingPolicy/NamespacedDeletingPolicy (pkg/cel/policies/dpol
 * Validate), for the parts readable without compiling: matchConstraints with a resource rule,
 * and the schedule as the deleting controller parses it. Not covered: CEL compilation errors
 * and the http.* check of namespaced policies.
 */
export function deletingPolicyAdmissionVerdict(policy: JsonObject): AdmissionVerdict {
  const { spec, errors } = celPolicySpecErrors(policy);
  if (!spec) return celPolicyVerdict(errors);
  const schedule = typeof spec.schedule === 'string' ? spec.schedule : '';
  if (schedule === '') errors.push({ path: ['spec', 'schedule'], message: 'spec.schedule: Required value: schedule is required' });
  else {
    const parsed = parseCronExpression(schedule);
    if ('error' in parsed) errors.push({ path: ['spec', 'schedule'], message: `spec.schedule: Invalid value: ${JSON.stringify(schedule)}: schedule spec in the deletingPolicy is not in proper cron format: ${parsed.error}` });
  }
  return celPolicyVerdict(errors);
}

/** The DeletingPolicy webhook's answer: one aggregated message, each error a warning too. */
export function checkDeletingPolicyForAdmission(policy: JsonObject): PolicyCheckResult {
  return verdictResult(deletingPolicyAdmissionVerdict(policy));
}
