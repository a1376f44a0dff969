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
 * Driven as Kyverno's controller is: the watches' changes (`observe`) queue only the policies a
 * change concerns — a policy created, deleted or whose spec changed, the policies an exception
 * names, the owner of a generated object created, deleted or whose spec changed (so a hand edit
 * or deletion is put back at once) — and a work queue (webhook/work-queue.ts: 2 workers, 10
 * retries with client-go's rate limits) reconciles each from what the watches hold, reading
 * nothing back. A deleted policy's generated objects go with it through their ownerReference
 * (the API server's garbage collector), as in Kyverno.
 */
import { createHash } from 'node:crypto';
import { KubeError } from '../kube-api/errors';
import type { WatchedKind } from '../kube-api/watch';
import { WorkQueue } from './work-queue';
import { exceptionsInScope, type ExceptionScope } from './exception-scope';
import { admissionPolicyGeneratedEvents, type EventInfo } from './event-info';
import type { KubeClient } from '../kube-api/client';
import { findResources, MANAGED_BY_LABEL, type KindTable } from '../engine/kube';
import { asArray, asObject, isJsonObject, jsonEqual } from '../engine/core/json';
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
  /** Kyverno's --enablePolicyException / --exceptionNamespace: the exceptions that count. */
  exceptionScope?: ExceptionScope;
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

/**
 * The kinds the generator writes, watched as Kyverno's admission policy informers watch them
 * (ValidatingAdmissionPolicies and their bindings; MutatingAdmissionPolicies and theirs in the
 * served version), narrowed to what carries the label the generator sets (Kyverno watches every
 * object and keeps those owned by one policy: the label selects the same ones, and an object
 * whose label is edited away leaves the selection, which the watch reports as a deletion).
 */
export const GENERATED_KINDS: WatchedKind[] = [
  { apiVersion: `${ADMISSION_REGISTRATION}/v1`, kind: 'ValidatingAdmissionPolicy' },
  { apiVersion: `${ADMISSION_REGISTRATION}/v1`, kind: 'ValidatingAdmissionPolicyBinding' },
  ...['MutatingAdmissionPolicy', 'MutatingAdmissionPolicyBinding'].map((kind) => ({
    apiVersion: `${ADMISSION_REGISTRATION}/${MAP_VERSIONS[0]}`,
    kind,
    fallbacks: MAP_VERSIONS.slice(1).map((v) => `${ADMISSION_REGISTRATION}/${v}`),
  })),
];
export const GENERATED_SELECTOR = `${MANAGED_BY_LABEL}=kyverno`;
const GENERATED_KIND_NAMES = new Set(GENERATED_KINDS.map((k) => k.kind));

/** Kyverno's controller: 2 workers, a key dropped after 10 retries. */
const WORKERS = 2;
const MAX_RETRIES = 10;

/** The policies the generator translates (cluster-scoped ClusterPolicy, ValidatingPolicy, MutatingPolicy), by `Kind/name`. */
function policyKey(o: Json): string | undefined {
  const group = String(o.apiVersion ?? '').split('/')[0];
  const known = (o.kind === 'ClusterPolicy' && group === 'kyverno.io') || ((o.kind === 'ValidatingPolicy' || o.kind === 'MutatingPolicy') && group === 'policies.kyverno.io');
  return known ? `${String(o.kind)}/${String(asObject(o.metadata).name ?? '')}` : undefined;
}

function objectKey(o: Json): string {
  const meta = asObject(o.metadata);
  return `${String(o.apiVersion ?? '').split('/')[0]}|${String(o.kind)}|${String(meta.namespace ?? '')}|${String(meta.name ?? '')}`;
}

export class AdmissionPolicyGenerator {
  /** What the watches last said (Kyverno's listers): the policies, the exceptions in scope, the generated objects. */
  private readonly policies = new Map<string, Json>();
  private readonly exceptions = new Map<string, Json>();
  private readonly generated = new Map<string, Json>();
  private readonly queue: WorkQueue;
  /** Resolves once the generated objects have been listed (Kyverno's WaitForCacheSync). */
  private generatedListed: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: GeneratorOptions) {
    this.queue = new WorkQueue({
      workers: WORKERS,
      maxRetries: MAX_RETRIES,
      process: async (key) => {
        await this.generatedListed;
        await this.reconcileKey(key);
      },
      onDropped: (key, e) => this.opts.log(`admission policy generator: ${key.replace('/', ' ')}: ${e.message} (dropped after ${MAX_RETRIES} retries)`),
    });
  }

  /**
   * A watched object changed (`deleted`: it went): a policy, a PolicyException or a generated
   * object. Queues the policies the change concerns, as Kyverno's event handlers do: a policy
   * created, deleted or whose spec changed; the policies an exception names; the owner of a
   * generated object created, deleted or whose spec changed.
   */
  observe(object: Json, deleted = false): void {
    const key = policyKey(object);
    if (key !== undefined) {
      const previous = this.policies.get(key);
      if (deleted) this.policies.delete(key);
      else this.policies.set(key, object);
      if (!deleted && previous && jsonEqual(previous.spec, object.spec)) return;
      this.queue.add(key);
      return;
    }
    if (object.kind === 'PolicyException') {
      const k = objectKey(object);
      const previous = this.exceptions.get(k);
      const next = deleted || exceptionsInScope([object], this.opts.exceptionScope).length === 0 ? undefined : object;
      if (next) this.exceptions.set(k, next);
      else this.exceptions.delete(k);
      if (previous && next && jsonEqual(previous.spec, next.spec)) return;
      // Kyverno queues what the new version names; the policies the old one named are queued too,
      // so an exception retargeted from one policy to another leaves neither out of step.
      for (const e of [previous, next]) if (e) for (const named of this.policiesNamedBy(e)) this.queue.add(named);
      return;
    }
    if (GENERATED_KIND_NAMES.has(String(object.kind))) {
      const k = `${String(object.kind)}/${String(asObject(object.metadata).name ?? '')}`;
      const previous = this.generated.get(k);
      if (deleted) this.generated.delete(k);
      else this.generated.set(k, object);
      if (!deleted && previous && jsonEqual(previous.spec, object.spec)) return;
      const owners = asArray(asObject(object.metadata).ownerReferences).map(asObject);
      // Kyverno's enqueueVAP / enqueueMutatingPolicyByOwner: exactly one owner, a policy it knows.
      const owner = owners.length === 1 ? `${String(owners[0].kind)}/${String(owners[0].name)}` : '';
      if (this.policies.has(owner)) this.queue.add(owner);
    }
  }

  /**
   * Leads until `signal` aborts (the admission Lease): every known policy is reconciled (as an
   * informer's first list adds them all), then each change `observe` queues; the work waits
   * for `generatedListed` (the generated objects listed once).
   */
  lead(signal: AbortSignal, generatedListed: Promise<unknown> = Promise.resolve()): void {
    if (signal.aborted) return;
    this.generatedListed = generatedListed;
    this.queue.start();
    signal.addEventListener('abort', () => this.queue.stop(), { once: true });
    for (const key of this.policies.keys()) this.queue.add(key);
  }

  /** Resolves once no reconcile is queued, running or waiting for a retry. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** Kyverno's enqueueException / enqueueCELException: the known policies an exception names. */
  private policiesNamedBy(exception: Json): string[] {
    const spec = asObject(exception.spec);
    const named = String(exception.apiVersion ?? '').startsWith('kyverno.io/')
      // Namespaced policies ("ns/name") and entries naming several rules are not queued, as in Kyverno.
      ? asArray(spec.exceptions).map(asObject).filter((e) => !String(e.policyName ?? '').includes('/') && asArray(e.ruleNames).length <= 1).map((e) => `ClusterPolicy/${String(e.policyName ?? '')}`)
      : asArray(spec.policyRefs).map(asObject).filter((r) => r.kind === 'ValidatingPolicy' || r.kind === 'MutatingPolicy').map((r) => `${String(r.kind)}/${String(r.name ?? '')}`);
    return named.filter((k) => this.policies.has(k));
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

  /** One queued policy; throws to be retried. A policy no longer there needs nothing: its objects go through their ownerReference. */
  private async reconcileKey(key: string): Promise<void> {
    const policy = this.policies.get(key);
    if (!policy) return;
    try {
      await this.reconcile(policy, await this.plan(policy, [...this.exceptions.values()]));
    } catch (e) {
      if (e instanceof Forbidden) await this.writeStatus(policy, false, `insufficient permissions to generate ${plural(e.kind)}`);
      else throw e;
    }
  }

  private async reconcile(policy: Json, plan: GenerationPlan): Promise<void> {
    if (plan.action === 'none') return;
    const { client } = this.opts;
    const ref = (kind: string, name: string) => ({ apiVersion: plan.target.apiVersion, kind, name });
    const policyRef = ref(plan.target.policyKind, plan.target.policyName);
    const bindingRef = ref(`${plan.target.policyKind}Binding`, plan.target.bindingName);
    // Kyverno returns the builder's error: the policy is retried (discovery may catch up), its status untouched.
    if (plan.action === 'error') throw new Error(`cannot build ${plan.target.policyKind} ${plan.target.policyName}: ${plan.message}`);
    if (plan.action === 'skip') {
      for (const r of [policyRef, bindingRef]) {
        if (!this.generated.has(`${r.kind}/${r.name}`)) continue;
        await client.delete(r);
        this.generated.delete(`${r.kind}/${r.name}`);
      }
      await this.writeStatus(policy, false, plan.reason);
      return;
    }
    // A reconcile that writes nothing (one asked by the echo of our own write) sends no event.
    let wrote = false;
    for (const desired of [plan.policy, plan.binding]) {
      const meta = asObject(desired.metadata);
      const kind = String(desired.kind);
      const key = `${kind}/${String(meta.name)}`;
      try {
        let live = this.generated.get(key);
        if (!live) {
          try {
            this.generated.set(key, await client.create({ ...desired, metadata: { ...meta, annotations: { ...asObject(meta.annotations), [SPEC_DIGEST]: specDigest(desired.spec) } } }));
            wrote = true;
            continue;
          } catch (e) {
            // There already, unseen by the watch (not labelled by us, or not listed yet): updated in place.
            if (!(e instanceof KubeError && e.status === 409)) throw e;
            live = await client.get(ref(kind, String(meta.name)));
            if (!live) throw e;
          }
        }
        const liveMeta = asObject(live.metadata);
        // `covers` sees what the plan sets; the digest of the spec last written sees what it
        // no longer sets (a dropped matchCondition or selector), as Kyverno rewrites the whole spec.
        const digest = specDigest(desired.spec);
        const annotations = { ...asObject(liveMeta.annotations), [SPEC_DIGEST]: digest };
        if (asObject(liveMeta.annotations)[SPEC_DIGEST] === digest && covers(live.spec, desired.spec) && covers(liveMeta.labels, meta.labels) && covers(liveMeta.ownerReferences, meta.ownerReferences)) continue;
        this.generated.set(key, await client.replace({ ...live, metadata: { ...liveMeta, annotations, labels: { ...asObject(liveMeta.labels), ...asObject(meta.labels) }, ownerReferences: meta.ownerReferences }, spec: desired.spec }));
        wrote = true;
      } catch (e) {
        // Kyverno asks first (HasValidatingAdmissionPolicyPermission…); here the refusal says it.
        if (e instanceof KubeError && e.status === 403) throw new Forbidden(kind);
        throw e;
      }
    }
    if ((await this.writeStatus(policy, true, '')) || wrote) this.opts.events?.add(plan.target.policyKind === 'ValidatingAdmissionPolicy' ? admissionPolicyGeneratedEvents(policy, plan.target.policyName, plan.target.bindingName) : []);
  }

  /**
   * The policy's status with the outcome, through the status subresource, only when it changes
   * (then true). Any refusal, a conflict included, is logged and given up, as Kyverno's
   * updatePolicyStatus (pkg/controllers/admissionpolicygenerator/controller.go) logs the
   * UpdateStatus error and returns: no retry; the newer version's own update queues the policy.
   */
  private async writeStatus(policy: Json, generated: boolean, message: string): Promise<boolean> {
    const key = policyKey(policy)!;
    const latest = this.policies.get(key) ?? policy;
    const status = withGenerationStatus(latest, generated, message);
    if (jsonEqual(status, latest.status ?? {})) return false;
    try {
      const written = await this.opts.client.replace({ ...latest, status }, 'status');
      // Our own write: later reconciles compare with it, not with the version before it.
      if (this.policies.get(key) === latest && isJsonObject(written) && written.status !== undefined) this.policies.set(key, { ...latest, ...written });
      return true;
    } catch (e) {
      const what = policy.kind === 'ClusterPolicy' ? 'cluster policy' : policy.kind === 'ValidatingPolicy' ? 'validating policy' : 'mutating policy';
      this.opts.log(`admission policy generator: failed to update ${what} status: ${String(asObject(latest.metadata).name ?? '')}: ${(e as Error).message}`);
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

