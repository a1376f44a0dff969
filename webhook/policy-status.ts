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
import { asArray, asObject, jsonEqual } from '../engine/core/json';

type Json = Record<string, unknown>;

/** Kyverno's setRuleCount: rules of each type, autogen rules not counted. */
function ruleCount(rules: Json[]): Json {
  const own = rules.filter((r) => !String(r.name ?? '').startsWith('autogen-'));
  const count = (key: string) => own.filter((r) => r[key] !== undefined && r[key] !== null).length;
  return { validate: count('validate'), generate: count('generate'), mutate: count('mutate'), verifyimages: count('verifyImages') };
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
  const autogen = rules.filter((r) => String(r.name ?? '').startsWith('autogen-'));
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
 * The status Kyverno's policy status controller writes for a CEL policy (reconcileConditions,
 * reconcileBeta1Conditions): `conditionStatus.conditions` with WebhookConfigured (not for a
 * background-only policy, which has no webhook) and RBACPermissionsGranted (the deploy grants
 * the reads of what the policies match, so it holds), `ready` when every condition is True.
 * Each condition keeps its transition time while its status holds. A background-only policy
 * is a Validating/ImageValidating one with admission off and background on, or a Mutating one
 * with admission off; generating policies always have their webhook.
 */
export function desiredCelStatus(policy: Json, nowIso: string): Json {
  const current = asObject(policy.status);
  const previous = asArray(asObject(current.conditionStatus).conditions).map(asObject);
  const kind = String(policy.kind);
  const generating = /GeneratingPolicy$/.test(kind);
  const background = generating || evaluationEnabled(policy, 'background');
  const admission = generating || evaluationEnabled(policy, 'admission');
  const backgroundOnly = /MutatingPolicy$/.test(kind) ? !admission : !admission && background;
  const condition = (type: string, message: string): Json => {
    const before = previous.find((c) => c.type === type);
    return { type, status: 'True', reason: 'Succeeded', message, lastTransitionTime: before && before.status === 'True' && typeof before.lastTransitionTime === 'string' ? before.lastTransitionTime : nowIso };
  };
  const conditions = [
    ...(backgroundOnly ? [] : [condition('WebhookConfigured', 'Webhook configured.')]),
    condition('RBACPermissionsGranted', background ? 'Policy is ready for reporting.' : 'Background scanning disabled; reporting permissions not required.'),
  ];
  return { ...current, conditionStatus: { ...asObject(current.conditionStatus), conditions, ready: conditions.every((c) => c.status === 'True') } };
}

/** The status our controller writes for a policy of any kind it reconciles; undefined for the others. */
export function desiredPolicyStatus(policy: Json, nowIso: string): Json | undefined {
  if (policy.kind === 'ClusterPolicy' || policy.kind === 'Policy') return desiredStatus(policy, nowIso);
  if (hasCelPolicyStatus(policy)) return desiredCelStatus(policy, nowIso);
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

  private async syncNow(policies: Json[]): Promise<void> {
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    for (const policy of policies) {
      const status = desiredPolicyStatus(policy, now);
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
