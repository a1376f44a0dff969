/**
 * Policy status as Kyverno's webhook controller writes it (pkg/controllers/webhook
 * updatePolicyStatuses): a `Ready` condition (reason Succeeded, message "Ready"), the autogen
 * rules under `status.autogen.rules`, and `status.rulecount` over the policy's own rules, so
 * `kubectl get clusterpolicy` shows READY and the rule counts, and tools waiting for readiness
 * work; for CEL policies the `conditionStatus` of Kyverno's policy status controller
 * (desiredCelStatus). Written by the leader of the `kyverno` Lease, through the status subresource, only
 * when it changes. `desiredStatus` is pure.
 */
import { KubeError } from '../kube-api/errors';
import type { KubeClient } from '../kube-api/client';
import { computeRules } from '../engine/autogen';
import { autogenConfigs } from '../engine/cel/autogen';
import { asArray, asObject, jsonEqual } from '../engine/core/json';
import { isCelMutatingPolicyKind } from '../engine/loader/classify';

type Json = Record<string, unknown>;

/** Kyverno's setRuleCount: rules of each type, autogen rules not counted. */
function ruleCount(rules: Json[]): Json {
  const own = rules.filter((r) => !String(r.name ?? '').startsWith('autogen-'));
  const count = (key: string) => own.filter((r) => r[key] !== undefined && r[key] !== null).length;
  return { validate: count('validate'), generate: count('generate'), mutate: count('mutate'), verifyimages: count('verifyImages') };
}

/**
 * A rule as Go serializes kyvernov1.Rule into the status: `match` (a struct) and a set
 * `exclude` always carry their `resources` (a struct field: omitempty never drops it).
 */
function goSerializedRule(rule: Json): Json {
  const out = { ...rule };
  for (const key of ['match', 'exclude']) {
    if (rule[key] === undefined || rule[key] === null) continue;
    const m = asObject(rule[key]);
    out[key] = m.resources === undefined ? { ...m, resources: {} } : m;
  }
  return out;
}

/** The status Kyverno would write for a classic policy; the transition time is kept while the condition holds. */
export function desiredStatus(policy: Json, nowIso: string): Json {
  const current = asObject(policy.status);
  const rules = computeRules(policy);
  const previous = asArray(current.conditions).map(asObject).find((c) => c.type === 'Ready');
  const ready: Json = {
    type: 'Ready',
    status: 'True',
    reason: 'Succeeded',
    message: 'Ready',
    lastTransitionTime: previous && previous.status === 'True' && typeof previous.lastTransitionTime === 'string' ? previous.lastTransitionTime : nowIso,
  };
  if (typeof asObject(policy.metadata).generation === 'number') ready.observedGeneration = asObject(policy.metadata).generation;
  const others = asArray(current.conditions).map(asObject).filter((c) => c.type !== 'Ready');
  const autogen = rules.filter((r) => String(r.name ?? '').startsWith('autogen-')).map(goSerializedRule);
  const { ready: _deprecated, ...rest } = current;
  return { ...rest, conditions: [...others, ready], autogen: autogen.length ? { rules: autogen } : {}, rulecount: ruleCount(rules) };
}

/** The CEL policy kinds Kyverno's policy status controller reconciles (pkg/controllers/policystatus). */
const CEL_STATUS_KINDS = new Set([
  'ValidatingPolicy', 'NamespacedValidatingPolicy', 'ImageValidatingPolicy', 'NamespacedImageValidatingPolicy',
  'MutatingPolicy', 'NamespacedMutatingPolicy', 'GeneratingPolicy', 'NamespacedGeneratingPolicy',
]);

export function hasCelPolicyStatus(policy: Json): boolean {
  return policy.apiVersion !== undefined && String(policy.apiVersion).startsWith('policies.kyverno.io/') && CEL_STATUS_KINDS.has(String(policy.kind));
}

/** `spec.evaluation.<mode>.enabled`, true unless set to false (Kyverno's AdmissionEnabled/BackgroundEnabled). */
function evaluationEnabled(policy: Json, mode: 'admission' | 'background'): boolean {
  return asObject(asObject(asObject(policy.spec).evaluation)[mode]).enabled !== false;
}

/**
 * One question of Kyverno's reports permission check: may the reports controller `verb` this
 * group/version/resource (cluster-wide for a cluster policy, in its namespace for a namespaced
 * one)? Kyverno asks with a SubjectAccessReview; the in-cluster writer asks the API server
 * (SelfSubjectAccessReview: our one service account runs the reports too).
 */
export interface AccessQuestion {
  verb: string;
  group: string;
  version: string;
  resource: string;
  namespace?: string;
}

/** The answer to an AccessQuestion; true when unknown (a status computed without a cluster). */
export type AccessCheck = (q: AccessQuestion) => boolean;

const REPORT_VERBS = ['get', 'list', 'watch'];

/** Kyverno's resolveGVRs: every group × version × resource of matchConstraints.resourceRules, as written. */
function matchedResources(policy: Json): Array<{ group: string; version: string; resource: string }> {
  const out: Array<{ group: string; version: string; resource: string }> = [];
  for (const rule of asArray(asObject(asObject(policy.spec).matchConstraints).resourceRules).map(asObject)) {
    for (const group of asArray(rule.apiGroups)) for (const version of asArray(rule.apiVersions)) for (const resource of asArray(rule.resources)) {
      out.push({ group: String(group), version: String(version), resource: String(resource) });
    }
  }
  return out;
}

/** The questions the RBACPermissionsGranted condition of a CEL policy asks (none when it skips the check). */
export function accessQuestions(policy: Json): AccessQuestion[] {
  if (!hasCelPolicyStatus(policy) || !reportsNeedRead(policy)) return [];
  const ns = asObject(policy.metadata).namespace;
  const namespace = String(policy.kind).startsWith('Namespaced') && typeof ns === 'string' && ns ? ns : undefined;
  return matchedResources(policy).flatMap((gvr) => REPORT_VERBS.map((verb) => ({ verb, ...gvr, ...(namespace ? { namespace } : {}) })));
}

/** Whether background scanning (hence reporting) is on; generating policies are always checked. */
function reportsNeedRead(policy: Json): boolean {
  return /GeneratingPolicy$/.test(String(policy.kind)) || evaluationEnabled(policy, 'background');
}

/** metav1.GroupVersionResource's String(): "apps/v1, Resource=deployments", "/v1, Resource=pods". */
function gvrString(q: AccessQuestion): string {
  return `${q.group}/${q.version}, Resource=${q.resource}`;
}

/** The kinds whose status carries the autogen configs of a validating policy (vpolautogen). */
const VALIDATING_AUTOGEN_KINDS = new Set(['ValidatingPolicy', 'NamespacedValidatingPolicy']);

/**
 * The status Kyverno's policy status controller writes for a CEL policy (reconcileConditions,
 * reconcileBeta1Conditions, reconcileRBACPermissionsCondition in pkg/controllers/policystatus):
 * `conditionStatus.conditions` with WebhookConfigured (not for a background-only policy, which
 * has no webhook) and RBACPermissionsGranted: with background on, get/list/watch of every
 * matched group/version/resource must be allowed, else the condition fails and names each
 * missing permission ("get apps/v1, Resource=configmaps: "; the review's reason follows the
 * colon, empty from RBAC); `ready` when every condition is True. Each condition keeps its
 * transition time while its status holds. A background-only policy is a Validating/
 * ImageValidating one with admission off and background on, or a Mutating one with admission
 * off; generating policies always have their webhook. Validating policies also record their
 * autogen configs (`status.autogen`, `{}` when they do not autogen).
 */
export function desiredCelStatus(policy: Json, nowIso: string, access: AccessCheck = () => true): Json {
  const current = asObject(policy.status);
  const previous = asArray(asObject(current.conditionStatus).conditions).map(asObject);
  const kind = String(policy.kind);
  const generating = /GeneratingPolicy$/.test(kind);
  const background = reportsNeedRead(policy);
  const admission = generating || evaluationEnabled(policy, 'admission');
  const backgroundOnly = isCelMutatingPolicyKind(kind) ? !admission : !admission && background;
  const condition = (type: string, holds: boolean, message: string): Json => {
    const before = previous.find((c) => c.type === type);
    const status = holds ? 'True' : 'False';
    const since = before && before.status === status && typeof before.lastTransitionTime === 'string' ? before.lastTransitionTime : nowIso;
    return { type, status, reason: holds ? 'Succeeded' : 'Failed', message, lastTransitionTime: since };
  };
  const missing = accessQuestions(policy).filter((q) => !access(q));
  const rbac = !background
    ? condition('RBACPermissionsGranted', true, 'Background scanning disabled; reporting permissions not required.')
    : missing.length
      ? condition('RBACPermissionsGranted', false, `Policy is not ready for reporting, missing permissions: ${missing.map((q) => `${q.verb} ${gvrString(q)}: `).join('; ')}.`)
      : condition('RBACPermissionsGranted', true, 'Policy is ready for reporting.');
  const conditions = [...(backgroundOnly ? [] : [condition('WebhookConfigured', true, 'Webhook configured.')]), rbac];
  const status: Json = { ...current, conditionStatus: { ...asObject(current.conditionStatus), conditions, ready: conditions.every((c) => c.status === 'True') } };
  if (VALIDATING_AUTOGEN_KINDS.has(kind)) {
    const configs = autogenConfigs(asObject(policy.spec));
    status.autogen = configs && Object.keys(configs).length ? { configs } : {};
  }
  return status;
}

/** The status our controller writes for a policy of any kind it reconciles; undefined for the others. */
export function desiredPolicyStatus(policy: Json, nowIso: string, access?: AccessCheck): Json | undefined {
  if (policy.kind === 'ClusterPolicy' || policy.kind === 'Policy') return desiredStatus(policy, nowIso);
  if (hasCelPolicyStatus(policy)) return desiredCelStatus(policy, nowIso, access);
  return undefined;
}

export class PolicyStatusWriter {
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: KubeClient,
    private readonly log: (line: string) => void,
  ) {}

  /** Brings the status of every classic policy in line (serialised; never throws). */
  sync(policies: Json[]): Promise<void> {
    this.queue = this.queue.then(() => this.syncNow(policies)).catch((e: Error) => this.log(`policy status: ${e.message}`));
    return this.queue;
  }

  /**
   * The answers to the reports permission questions of these policies, one
   * SelfSubjectAccessReview per distinct question (asked again on every sync: RBAC follows the
   * policies); a question the API server does not answer counts as allowed, as Kyverno skips
   * what its checker cannot ask.
   */
  private async permissions(policies: Json[]): Promise<AccessCheck> {
    const key = (q: AccessQuestion) => [q.verb, q.group, q.version, q.resource, q.namespace ?? ''].join('|');
    const answers = new Map<string, boolean>();
    for (const q of policies.flatMap(accessQuestions)) {
      if (answers.has(key(q))) continue;
      try {
        const review = await this.client.request<Json>({
          method: 'POST',
          path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
          body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { group: q.group, version: q.version, resource: q.resource, verb: q.verb, ...(q.namespace ? { namespace: q.namespace } : {}) } } },
        });
        answers.set(key(q), asObject(review.status).allowed === true);
      } catch (e) {
        this.log(`policy status: access review ${q.verb} ${q.group}/${q.resource}: ${(e as Error).message}`);
        answers.set(key(q), true);
      }
    }
    return (q) => answers.get(key(q)) ?? true;
  }

  private async syncNow(policies: Json[]): Promise<void> {
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const access = await this.permissions(policies);
    for (const policy of policies) {
      const status = desiredPolicyStatus(policy, now, access);
      if (status === undefined) continue;
      if (jsonEqual(status, policy.status ?? {})) continue;
      const meta = asObject(policy.metadata);
      const ref = { apiVersion: String(policy.apiVersion), kind: String(policy.kind), name: String(meta.name), namespace: typeof meta.namespace === 'string' ? meta.namespace : undefined };
      try {
        await this.client.request({ method: 'PUT', path: `${await this.client.pathFor(ref)}/status`, body: { ...policy, status } });
      } catch (e) {
        // A newer version arrives through the watch and is synced then.
        if (!(e instanceof KubeError && (e.status === 409 || e.status === 404))) this.log(`policy status: ${ref.kind} ${ref.name}: ${(e as Error).message}`);
      }
    }
  }
}
