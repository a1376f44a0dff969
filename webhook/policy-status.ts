/**
 * Policy status as Kyverno's webhook controller writes it (pkg/controllers/webhook
 * updatePolicyStatuses): a `Ready` condition (reason Succeeded, message "Ready"), the autogen
 * rules under `status.autogen.rules`, and `status.rulecount` over the policy's own rules, so
 * `kubectl get clusterpolicy` shows READY and the rule counts, and tools waiting for readiness
 * work. Written by the leader of the `kyverno` Lease, through the status subresource, only
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
      if (policy.kind !== 'ClusterPolicy' && policy.kind !== 'Policy') continue;
      const status = desiredStatus(policy, now);
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
