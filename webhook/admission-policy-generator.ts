/**
 * Kyverno's admission policy generator (pkg/controllers/admissionpolicygenerator), run by the
 * leader of the `kyverno` Lease in in-cluster mode: for each ClusterPolicy and ValidatingPolicy
 * (feature `--generate-validating-admission-policy`, on by default as in Kyverno's chart) and
 * each MutatingPolicy (`--generate-mutating-admission-policy`, off by default, or a policy that
 * asks for it) it creates, updates or deletes the generated Kubernetes policy and binding that
 * engine/cel/admission-policy-generation plans, and records the outcome in the policy's status
 * (`generated`, with Kyverno's reason when nothing was generated). A policy whose status says
 * generated is then left to the API server: the server processes, the webhook configurations
 * and the scans no longer see it (engine/cel's `generatedForApiServer`).
 *
 * A deleted policy's generated objects go with it through their ownerReference (the API
 * server's garbage collector), as in Kyverno.
 */
import { createHash } from 'node:crypto';
import { KubeError, refOf } from '../kube-api/errors';
import { admissionPolicyGeneratedEvents, type EventInfo } from './event-info';
import type { KubeClient } from '../kube-api/client';
import { findResources, type KindTable } from '../engine/kube';
import { asObject, isJsonObject, jsonEqual } from '../engine/core/json';
import {
  ADMISSION_REGISTRATION,
  MAP_VERSIONS,
  mutatingAdmissionPolicyPlan,
  validatingAdmissionPolicyPlan,
  withGenerationStatus,
  type GenerationPlan,
  type MapVersion,
} from '../engine/cel/admission-policy-generation';

type Json = Record<string, unknown>;

export interface AdmissionPolicyGeneration {
  /** Kyverno's generateValidatingAdmissionPolicy feature (chart default: on). */
  validating: boolean;
  /** Kyverno's generateMutatingAdmissionPolicy feature (chart default: off). */
  mutating: boolean;
}

export const DEFAULT_ADMISSION_POLICY_GENERATION: AdmissionPolicyGeneration = { validating: true, mutating: false };

export interface GeneratorOptions {
  client: KubeClient;
  log: (line: string) => void;
  features: AdmissionPolicyGeneration;
  /** The kinds the API server serves (discovery): resolves the ClusterPolicies' kinds and the MutatingAdmissionPolicy version. */
  kinds: () => Promise<KindTable>;
  now?: () => number;
  /** Where Kyverno's PolicyApplied events of a generated ValidatingAdmissionPolicy go (the event writer gates them). */
  events?: { add(events: EventInfo[]): void };
}

/** The MutatingAdmissionPolicy version Kyverno would write: the most preferred one served for both kinds (preferredMAPVersion). */
export function servedMapVersion(table: KindTable): MapVersion | undefined {
  const served = (kind: string) => {
    const e = (table.get(kind) ?? []).find((r) => r.group === ADMISSION_REGISTRATION);
    return e ? [e.version, ...(e.otherVersions ?? [])] : [];
  };
  const policies = served('MutatingAdmissionPolicy');
  const bindings = served('MutatingAdmissionPolicyBinding');
  return MAP_VERSIONS.find((v) => policies.includes(v) && bindings.includes(v));
}

/** The annotation holding the digest of the spec the generator last wrote. */
const SPEC_DIGEST = 'kyverno-studio.io/generated-spec-sha256';

function specDigest(spec: unknown): string {
  return createHash('sha256').update(JSON.stringify(spec ?? null)).digest('hex');
}

/** Whether `actual` holds every value `wanted` sets (the API server adds defaults the plan leaves out). */
function covers(actual: unknown, wanted: unknown): boolean {
  if (Array.isArray(wanted)) return Array.isArray(actual) && actual.length === wanted.length && wanted.every((w, i) => covers(actual[i], w));
  if (isJsonObject(wanted)) return isJsonObject(actual) && Object.entries(wanted).every(([k, v]) => covers(actual[k], v));
  return jsonEqual(actual, wanted);
}

export class AdmissionPolicyGenerator {
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly opts: GeneratorOptions) {}

  /** Brings the generated objects and the policies' generation status in line (serialised; never throws). */
  sync(policies: Json[], exceptions: Json[]): Promise<void> {
    this.queue = this.queue.then(() => this.syncNow(policies, exceptions)).catch((e: Error) => this.opts.log(`admission policy generator: ${e.message}`));
    return this.queue;
  }

  /** The plan for one policy, as Kyverno's reconcile decides it. */
  async plan(policy: Json, exceptions: Json[]): Promise<GenerationPlan> {
    const { features } = this.opts;
    const nowMs = (this.opts.now ?? Date.now)();
    if (policy.kind === 'MutatingPolicy') {
      return mutatingAdmissionPolicyPlan(policy, { enabled: features.mutating, version: servedMapVersion(await this.opts.kinds()), exceptions, nowMs });
    }
    if (policy.kind !== 'ClusterPolicy' && policy.kind !== 'ValidatingPolicy') return { action: 'none' };
    if (!features.validating) return { action: 'none' };
    const table = await this.opts.kinds();
    return validatingAdmissionPolicyPlan(policy, { enabled: true, exceptions, nowMs, findResources: (g, v, k, s) => findResources(table, g, v, k, s) });
  }

  private async syncNow(policies: Json[], exceptions: Json[]): Promise<void> {
    for (const policy of policies) {
      const name = String(asObject(policy.metadata).name ?? '');
      try {
        // Inside the try: a discovery failure for one policy leaves the others reconciled.
        await this.reconcile(policy, await this.plan(policy, exceptions));
      } catch (e) {
        if (e instanceof Forbidden) await this.writeStatus(policy, false, `insufficient permissions to generate ${plural(e.kind)}`);
        else this.opts.log(`admission policy generator: ${String(policy.kind)} ${name}: ${(e as Error).message}`);
      }
    }
  }

  private async reconcile(policy: Json, plan: GenerationPlan): Promise<void> {
    if (plan.action === 'none') return;
    const { client } = this.opts;
    const ref = (kind: string, name: string) => ({ apiVersion: plan.target.apiVersion, kind, name });
    const policyRef = ref(plan.target.policyKind, plan.target.policyName);
    const bindingRef = ref(`${plan.target.policyKind}Binding`, plan.target.bindingName);
    if (plan.action === 'error') {
      this.opts.log(`admission policy generator: cannot build ${plan.target.policyKind} ${plan.target.policyName}: ${plan.message}`);
      return;
    }
    if (plan.action === 'skip') {
      for (const r of [policyRef, bindingRef]) if (await client.get(r)) await client.delete(r);
      await this.writeStatus(policy, false, plan.reason);
      return;
    }
    // Kyverno reconciles a policy when it (or an exception, or a generated object) changes; here
    // every policy is looked at on every change, so only an actual write counts as a reconcile.
    let wrote = false;
    for (const desired of [plan.policy, plan.binding]) {
      const meta = asObject(desired.metadata);
      const kind = String(desired.kind);
      try {
        const live = await client.get(ref(kind, String(meta.name)));
        if (!live) {
          await client.create({ ...desired, metadata: { ...meta, annotations: { ...asObject(meta.annotations), [SPEC_DIGEST]: specDigest(desired.spec) } } });
          wrote = true;
          continue;
        }
        const liveMeta = asObject(live.metadata);
        // `covers` sees what the plan sets; the digest of the spec last written sees what it
        // no longer sets (a dropped matchCondition or selector), as Kyverno rewrites the whole spec.
        const digest = specDigest(desired.spec);
        const annotations = { ...asObject(liveMeta.annotations), [SPEC_DIGEST]: digest };
        if (asObject(liveMeta.annotations)[SPEC_DIGEST] === digest && covers(live.spec, desired.spec) && covers(liveMeta.labels, meta.labels) && covers(liveMeta.ownerReferences, meta.ownerReferences)) continue;
        await client.replace({ ...live, metadata: { ...liveMeta, annotations, labels: { ...asObject(liveMeta.labels), ...asObject(meta.labels) }, ownerReferences: meta.ownerReferences }, spec: desired.spec });
        wrote = true;
      } catch (e) {
        // Kyverno asks first (HasValidatingAdmissionPolicyPermission…); here the refusal says it.
        if (e instanceof KubeError && e.status === 403) throw new Forbidden(kind);
        throw e;
      }
    }
    if ((await this.writeStatus(policy, true, '')) || wrote) this.opts.events?.add(plan.target.policyKind === 'ValidatingAdmissionPolicy' ? admissionPolicyGeneratedEvents(policy, plan.target.policyName, plan.target.bindingName) : []);
  }

  /** The policy's status with the outcome, through the status subresource, only when it changes (then true). */
  private async writeStatus(policy: Json, generated: boolean, message: string): Promise<boolean> {
    const latest = (await this.opts.client.get(refOf(policy))) ?? policy;
    const status = withGenerationStatus(latest, generated, message);
    if (jsonEqual(status, latest.status ?? {})) return false;
    try {
      await this.opts.client.replace({ ...latest, status }, 'status');
      return true;
    } catch (e) {
      // A newer version arrives through the watch and is synced then.
      if (!(e instanceof KubeError && (e.status === 409 || e.status === 404))) throw e;
      return false;
    }
  }
}

/** Our service account may not write this kind of generated object. */
class Forbidden extends Error {
  constructor(readonly kind: string) {
    super(`forbidden to write ${kind}`);
  }
}

/** Kyverno's wording of the kinds: ValidatingAdmissionPolicies, ValidatingAdmissionPolicyBindings. */
function plural(kind: string): string {
  return kind.endsWith('Policy') ? `${kind.slice(0, -1)}ies` : `${kind}s`;
}

