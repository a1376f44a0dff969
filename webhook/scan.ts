/**
 * Background scan: when a `background: true` policy (Kyverno's default) is added or changed,
 * the existing resources of the kinds it matches are evaluated against it by the same server
 * processes (so scans share the per-review deadline), and the results go to the reports.
 * As Kyverno's reports controller scans: ClusterPolicies and Policies with validate rules,
 * validating, image-validating and mutating CEL policies, and Kubernetes' admission policies
 * labelled for reports (ValidatingAdmissionPolicies by default, MutatingAdmissionPolicies when
 * their flag is on).
 *
 * In a cluster only the leader of the reports Lease scans (Kyverno's reports controller):
 * `lead(signal)` scans every background policy at once and then every `intervalMs` (Kyverno's
 * `--backgroundScanInterval`, one hour by default) until the signal aborts; a scan in progress
 * stops between resources when leadership is lost.
 */
import type { KubeClient } from '../kube-api/client';
import { withDiscoveredKinds } from '../kube-api/discovery';
import { celNeeds, policyNeeds } from './rules';
import { resolveKind, type KindTable } from '../engine/kube';
import { isAdmissionPolicy, reportable, type ReportItem } from './report-layout';
import type { Rescan } from './reports';
import type { ReviewReply } from './protocol';
import { isCelMutatingPolicy } from '../engine/policy/admission';
import type { JsonObject } from '../engine/core/types';
import { pluralOf } from '../engine/kube/known-kinds';

type Json = Record<string, unknown>;

export type Evaluate = (path: 'validate' | 'mutate', body: string, only: string[]) => Promise<ReviewReply>;

function meta(o: Json): Json {
  return (o.metadata ?? {}) as Json;
}

/** A policy's identity for change detection: name plus generation (spec changes bump it). */
export function policyVersion(p: Json): string {
  const m = meta(p);
  return `${String(p.kind)}|${String(m.namespace ?? '')}|${String(m.name)}|${String(m.generation ?? m.resourceVersion ?? '')}`;
}

/** Kyverno's reports controller flags for Kubernetes' admission policies. */
export interface AdmissionPolicyReports {
  /** `--validatingAdmissionPolicyReports` (Kyverno's default: on). */
  validating: boolean;
  /** `--mutatingAdmissionPolicyReports` (Kyverno's default: off). */
  mutating: boolean;
}

export const DEFAULT_ADMISSION_POLICY_REPORTS: AdmissionPolicyReports = { validating: true, mutating: false };

export function wantsBackground(p: Json, admissionPolicies: AdmissionPolicyReports = DEFAULT_ADMISSION_POLICY_REPORTS): boolean {
  const spec = (p.spec ?? {}) as Json;
  // Kubernetes' admission policies: scanned when their flag is on and they are labelled for reports.
  if (isAdmissionPolicy(p)) return (p.kind === 'ValidatingAdmissionPolicy' ? admissionPolicies.validating : admissionPolicies.mutating) && reportable(p);
  if (spec.background === false) return false;
  if (p.kind === 'ClusterPolicy' || p.kind === 'Policy') return ((spec.rules ?? []) as Json[]).some((r) => !!r?.validate);
  // Kyverno's reports controller also scans MutatingPolicies (RemoveNoneBackgroundPolicies).
  if (/ValidatingPolicy$/.test(String(p.kind)) || isCelMutatingPolicy(p as JsonObject)) return (((spec.evaluation ?? {}) as Json).background as Json | undefined)?.enabled !== false;
  return false;
}



/** The resourceVersions of an admission policy's bindings (those whose spec.policyName names it). */
function bindingsVersion(policy: Json, bindings: Json[]): string {
  const name = meta(policy).name;
  const kind = `${String(policy.kind)}Binding`;
  return bindings.filter((b) => b.kind === kind && ((b.spec ?? {}) as Json).policyName === name).map((b) => `${String(meta(b).name)}@${String(meta(b).resourceVersion ?? '')}`).sort().join(',');
}

/** Kyverno's default `--backgroundScanInterval`. */
export const DEFAULT_BACKGROUND_SCAN_INTERVAL_MS = 3600_000;

/**
 * The listable kinds a policy's match can select (its match kinds resolved through discovery,
 * and a CEL policy's resource rules): what a background scan evaluates, and where the
 * background controller looks for the triggers of generateExisting and mutateExisting.
 */
export async function policyKinds(client: KubeClient, policy: Json): Promise<Array<{ apiVersion: string; kind: string }>> {
  const found = await withDiscoveredKinds(client, (table) => policyKindsIn(policy, table), (f) => f.missed);
  return found.targets;
}

/** policyKinds over one kind table; `missed` when a match kind resolved to nothing there. */
function policyKindsIn(policy: Json, table: KindTable): { targets: Array<{ apiVersion: string; kind: string }>; missed: boolean } {
  let missed = false;
  const targets = new Map<string, { apiVersion: string; kind: string }>();
  // Kubernetes' admission policies have no webhook of ours; their matchConstraints say what to scan.
  for (const need of isAdmissionPolicy(policy) ? celNeeds(policy, 'validate') : policyNeeds(policy, 'reads')) {
    // What a generate rule writes is not something its match selects.
    if (need.downstream) continue;
    for (const k of need.kinds) {
      const resolved = resolveKind(k, table);
      if (!resolved) missed = true;
      for (const r of resolved ?? []) {
        if (r.resource.includes('/') || r.resource === '*') continue;
        const apiVersion = r.group ? `${r.group}/${r.version}` : r.version;
        const kind = k.split('/').pop()!;
        targets.set(`${apiVersion}|${kind}`, { apiVersion, kind });
      }
    }
    for (const d of need.direct) {
      for (const [kind, entries] of table) {
        for (const e of entries) {
          const groupOk = d.groups.includes('*') || d.groups.includes(e.group);
          if (groupOk && d.resources.includes(e.resource)) {
            targets.set(`${e.group ? `${e.group}/${e.version}` : e.version}|${kind}`, { apiVersion: e.group ? `${e.group}/${e.version}` : e.version, kind });
          }
        }
      }
    }
  }
  return { targets: [...targets.values()], missed };
}

export class BackgroundScanner {
  private seen = new Set<string>();
  private queue: Promise<void> = Promise.resolve();
  private latest: Json[] = [];
  private bindings: Json[] = [];
  /** False on a replica that does not lead: policies are remembered, nothing is scanned. */
  private active = true;
  /** Bumped when leadership ends, so a scan in progress stops. */
  private generation = 0;

  constructor(
    private readonly client: KubeClient,
    private readonly evaluate: Evaluate,
    /** Results of one policy scanned on one resource (`rescan`: they replace the policy's earlier ones there). */
    private readonly report: (items: ReportItem[], rescan: Rescan) => void,
    private readonly log: (line: string) => void,
    private readonly maxResources = 5000,
    private readonly admissionPolicies: AdmissionPolicyReports = DEFAULT_ADMISSION_POLICY_REPORTS,
  ) {}

  /** Replicas that do not lead call this first: nothing is scanned until `lead`. */
  follow(): void {
    this.active = false;
    this.generation++;
  }

  /** Leads: scans every background policy now and every `intervalMs`, until `signal` aborts. */
  lead(signal: AbortSignal, intervalMs = DEFAULT_BACKGROUND_SCAN_INTERVAL_MS): Promise<void> {
    this.active = true;
    const timer = intervalMs > 0 ? setInterval(() => void this.rescan(), intervalMs) : undefined;
    timer?.unref();
    signal.addEventListener('abort', () => (clearInterval(timer), this.follow()), { once: true });
    return this.rescan();
  }

  /** One periodic scan: every background policy over the resources it matches (only while leading). */
  rescan(): Promise<void> {
    this.seen.clear();
    return this.onPolicies(this.latest);
  }

  /**
   * Scans the policies that are new or changed since the last call. An admission policy counts
   * as changed when its bindings do (Kyverno's reports controller reconciles on binding events).
   */
  onPolicies(policies: Json[], bindings: Json[] = this.bindings): Promise<void> {
    this.latest = policies;
    this.bindings = bindings;
    if (!this.active) return this.queue;
    const version = (p: Json) => (isAdmissionPolicy(p) ? `${policyVersion(p)}|${bindingsVersion(p, bindings)}` : policyVersion(p));
    const changed = policies.filter((p) => wantsBackground(p, this.admissionPolicies) && !this.seen.has(version(p)));
    this.seen = new Set(policies.map(version));
    const generation = this.generation;
    for (const p of changed) this.queue = this.queue.then(() => this.scan(p, generation)).catch((e: Error) => this.log(`background scan: ${e.message}`));
    return this.queue;
  }

  private async scan(policy: Json, generation: number): Promise<void> {
    if (generation !== this.generation) return;
    const name = String(meta(policy).name);
    // As results name it (webhook/evaluate.ts).
    const policyKey = meta(policy).namespace ? `${String(meta(policy).namespace)}/${name}` : name;
    const targets = await policyKinds(this.client, policy);
    const onlyNs = policy.kind === 'Policy' ? String(meta(policy).namespace) : undefined;
    let count = 0;
    for (const t of targets) {
      const items = await this.client.list(t.apiVersion, t.kind, onlyNs).catch((e: Error) => {
        this.log(`background scan ${name}: cannot list ${t.kind}: ${e.message}`);
        return [] as Json[];
      });
      for (const item of items) {
        if (generation !== this.generation) return this.log(`background scan ${name}: stopped (no longer the leader)`);
        if (++count > this.maxResources) {
          this.log(`background scan ${name}: stopped after ${this.maxResources} resources`);
          return;
        }
        const [group, version] = t.apiVersion.includes('/') ? t.apiVersion.split('/') : ['', t.apiVersion];
        const review = {
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          request: {
            uid: `scan-${String(meta(item).uid ?? count)}`,
            operation: 'CREATE',
            kind: { group, version, kind: t.kind },
            resource: { group, version, resource: pluralOf(group, t.kind) },
            // Kyverno's scan request names the resource (matchConstraints' resourceNames look at it).
            name: meta(item).name,
            namespace: meta(item).namespace,
            userInfo: {},
            object: item,
          },
        };
        // A MutatingPolicy or MutatingAdmissionPolicy is scanned on /mutate (the evaluation says whether the resource is as it would have it).
        const mutating = isCelMutatingPolicy(policy as JsonObject) || policy.kind === 'MutatingAdmissionPolicy';
        const reply = await this.evaluate(mutating ? 'mutate' : 'validate', JSON.stringify(review), [name]);
        const now = Date.now() / 1000;
        if (reply.status !== 200) continue;
        this.report(reply.reportable.map(({ enforce: _enforce, ...r }) => ({ ...r, resource: item, time: now })), { resource: item, policy: policyKey, policyKind: String(policy.kind) });
      }
    }
    this.log(`background scan ${name}: ${count} resource(s) evaluated`);
  }
}
