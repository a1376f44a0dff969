/** Server-side dry run of a plan, and the "what will be created or changed" summary. */
import { KubeClient, KubeError, conflictText, describeRef, refOf, type ObjectRef } from '../kube-api/client';
import { takesOverFields, type Plan, type Phase } from './plan';

type Json = Record<string, unknown>;

export type ChangeKind = 'create' | 'update' | 'unchanged';

export interface Change {
  phase: Phase;
  ref: ObjectRef;
  kind: ChangeKind;
  /** Top-level fields that differ, for updates. */
  fields?: string[];
  note?: string;
  existed: boolean;
}

export interface DryRunResult {
  changes: Change[];
  conflicts: string[];
  errors: string[];
}

const SERVER_META = ['managedFields', 'resourceVersion', 'generation', 'uid', 'creationTimestamp', 'selfLink'];

function normal(o: unknown): unknown {
  if (Array.isArray(o)) return o.map(normal);
  if (o && typeof o === 'object') {
    const out: Json = {};
    for (const k of Object.keys(o as Json).sort()) out[k] = normal((o as Json)[k]);
    return out;
  }
  return o;
}

function comparable(o: Json): Json {
  const { status: _s, metadata, ...rest } = o;
  const meta = { ...((metadata ?? {}) as Json) };
  for (const k of SERVER_META) delete meta[k];
  const annotations = { ...((meta.annotations ?? {}) as Json) };
  delete annotations['kubectl.kubernetes.io/last-applied-configuration'];
  meta.annotations = annotations;
  return { ...rest, metadata: meta };
}

export function changedFields(before: Json, after: Json): string[] {
  const a = comparable(before);
  const b = comparable(after);
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => JSON.stringify(normal(a[k])) !== JSON.stringify(normal(b[k]))).sort();
}

/**
 * Dry-runs every planned object with server-side apply. Objects whose namespace or CRD this
 * same deploy creates cannot be dry-run yet; they are reported as creates.
 */
export async function dryRun(client: KubeClient, plan: Plan, opts: { force?: boolean; newCrdKinds: Set<string> }): Promise<DryRunResult> {
  const result: DryRunResult = { changes: [], conflicts: [], errors: [] };
  const nsIsNew = plan.objects.some((o) => o.phase === 'namespace') && !(await client.get({ apiVersion: 'v1', kind: 'Namespace', name: plan.namespace }));
  for (const { phase, object } of plan.objects) {
    const ref = refOf(object);
    const group = ref.apiVersion.split('/')[0];
    if (opts.newCrdKinds.has(`${group}|${ref.kind}`)) {
      result.changes.push({ phase, ref, kind: 'create', existed: false, note: 'after its CRD is installed' });
      continue;
    }
    if (nsIsNew && ref.namespace === plan.namespace) {
      result.changes.push({ phase, ref, kind: 'create', existed: false, note: `in the new namespace ${plan.namespace}` });
      continue;
    }
    let existing: Json | undefined;
    try {
      existing = await client.get(ref);
      const after = await client.apply(object, { dryRun: true, force: opts.force || takesOverFields(phase, object) });
      if (!existing) result.changes.push({ phase, ref, kind: 'create', existed: false });
      else {
        const fields = changedFields(existing, after);
        result.changes.push({ phase, ref, kind: fields.length ? 'update' : 'unchanged', fields, existed: true });
      }
    } catch (e) {
      if (e instanceof KubeError && e.status === 409) {
        result.conflicts.push(`${describeRef(ref)}: ${conflictText(e)}`);
        result.changes.push({ phase, ref, kind: 'update', existed: !!existing, note: 'conflict' });
      } else {
        result.errors.push(`${describeRef(ref)}: ${(e as Error).message}`);
      }
    }
  }
  return result;
}

export function summaryText(changes: Change[]): string {
  const verb = { create: '+ create   ', update: '~ update   ', unchanged: '= unchanged' } as const;
  const lines = changes.map((c) => {
    const extra = c.note ? ` (${c.note})` : c.fields?.length ? ` (${c.fields.join(', ')})` : '';
    return `  ${verb[c.kind]} ${describeRef(c.ref)}${extra}`;
  });
  const count = (k: ChangeKind) => changes.filter((c) => c.kind === k).length;
  lines.push(`  ${count('create')} to create, ${count('update')} to change, ${count('unchanged')} unchanged`);
  return lines.join('\n');
}
