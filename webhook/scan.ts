/**
 * Background scan: when a `background: true` policy (Kyverno's default) is added or changed,
 * the existing resources of the kinds it matches are evaluated against it by the same server
 * processes (so scans share the per-review deadline), and the results go to the reports.
 * Only validation results are reported, as Kyverno's background reports do.
 */
import type { KubeClient } from '../kube-api/client';
import { kindTable } from '../kube-api/discovery';
import { policyNeeds } from './rules';
import { resolveKind } from '../engine/kube';
import type { ReportItem } from './reports';
import type { ReviewReply } from './protocol';
import { pluralOf } from '../engine/kube/known-kinds';

type Json = Record<string, unknown>;

export type Evaluate = (path: 'validate', body: string, only: string[]) => Promise<ReviewReply>;

function meta(o: Json): Json {
  return (o.metadata ?? {}) as Json;
}

/** A policy's identity for change detection: name plus generation (spec changes bump it). */
export function policyVersion(p: Json): string {
  const m = meta(p);
  return `${String(p.kind)}|${String(m.namespace ?? '')}|${String(m.name)}|${String(m.generation ?? m.resourceVersion ?? '')}`;
}

export function wantsBackground(p: Json): boolean {
  const spec = (p.spec ?? {}) as Json;
  if (spec.background === false) return false;
  if (p.kind === 'ClusterPolicy' || p.kind === 'Policy') return ((spec.rules ?? []) as Json[]).some((r) => !!r?.validate);
  if (/ValidatingPolicy$/.test(String(p.kind))) return (((spec.evaluation ?? {}) as Json).background as Json | undefined)?.enabled !== false;
  return false;
}

export class BackgroundScanner {
  private seen = new Set<string>();
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: KubeClient,
    private readonly evaluate: Evaluate,
    private readonly report: (items: ReportItem[]) => void,
    private readonly log: (line: string) => void,
    private readonly maxResources = 5000,
  ) {}

  /** Scans the policies that are new or changed since the last call. */
  onPolicies(policies: Json[]): Promise<void> {
    const changed = policies.filter((p) => wantsBackground(p) && !this.seen.has(policyVersion(p)));
    this.seen = new Set(policies.map(policyVersion));
    for (const p of changed) this.queue = this.queue.then(() => this.scan(p)).catch((e: Error) => this.log(`background scan: ${e.message}`));
    return this.queue;
  }

  private async scan(policy: Json): Promise<void> {
    const name = String(meta(policy).name);
    const table = await kindTable(this.client, [policy]);
    const targets = new Map<string, { apiVersion: string; kind: string }>();
    for (const need of policyNeeds(policy)) {
      for (const k of need.kinds) {
        for (const r of resolveKind(k, table) ?? []) {
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
    const onlyNs = policy.kind === 'Policy' ? String(meta(policy).namespace) : undefined;
    let count = 0;
    for (const t of targets.values()) {
      const items = await this.client.list(t.apiVersion, t.kind, onlyNs).catch((e: Error) => {
        this.log(`background scan ${name}: cannot list ${t.kind}: ${e.message}`);
        return [] as Json[];
      });
      for (const item of items) {
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
            namespace: meta(item).namespace,
            userInfo: {},
            object: item,
          },
        };
        const reply = await this.evaluate('validate', JSON.stringify(review), [name]);
        const now = Date.now() / 1000;
        this.report(reply.reportable.map((r) => ({ policy: r.policy, rule: r.rule, status: r.status, message: r.message, resource: item, time: now })));
      }
    }
    this.log(`background scan ${name}: ${count} resource(s) evaluated`);
  }
}
