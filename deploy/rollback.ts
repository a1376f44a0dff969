/**
 * Undoing a deploy that failed or was cancelled, so the cluster is left as the run found it.
 * Before each apply the journal reads the live object: none means this run creates it, one
 * means that copy is what a rollback puts back. The rollback goes: webhook configurations
 * first (a half-undone webhook must not stand in the way of the rest, as in undeploy), then
 * what the run created is deleted, then every object it changed gets its previous content and
 * previous field managers back; newest first within each group.
 */
import { changedFields } from './diff';
import { KubeClient, KubeError, describeRef, type JsonObject, type ObjectRef } from '../kube-api/client';
import type { Phase } from './plan';

export interface JournalEntry {
  phase: Phase;
  ref: ObjectRef;
  /** The live object before this run applied it; undefined when the run creates it. */
  previous?: JsonObject;
  /** The apply answered success; false while it runs or when it timed out (it may have landed). */
  confirmed: boolean;
}

export class DeployJournal {
  readonly entries: JournalEntry[] = [];

  /** Reads and records the object about to be applied; call right before the apply. */
  async before(client: KubeClient, phase: Phase, ref: ObjectRef): Promise<JournalEntry> {
    const previous = await client.get(ref);
    const entry: JournalEntry = { phase, ref, previous, confirmed: false };
    this.entries.push(entry);
    return entry;
  }

  /** The apply of `entry` failed: a refusal from the API server changed nothing, so forget it. */
  failed(entry: JournalEntry, error: unknown): void {
    if (error instanceof KubeError) this.entries.splice(this.entries.indexOf(entry), 1);
  }

  created(): ObjectRef[] {
    return this.entries.filter((e) => e.confirmed && !e.previous).map((e) => e.ref);
  }

  updated(): ObjectRef[] {
    return this.entries.filter((e) => e.confirmed && e.previous).map((e) => e.ref);
  }
}

export interface RollbackReport {
  deleted: ObjectRef[];
  restored: ObjectRef[];
  /** One line per object the rollback could not put back as it was, naming the object. */
  failures: string[];
}

type Log = (line: string) => void;

const RETRIES_ON_CONFLICT = 3;

/** "PUT /apis/…/name: reason" → "reason": the object is named by the caller already. */
function reason(e: unknown): string {
  return ((e as Error)?.message ?? String(e)).replace(/^(GET|PUT|POST|PATCH|DELETE) \/\S*: /, '');
}

function meta(o: JsonObject): JsonObject {
  return (o.metadata ?? {}) as JsonObject;
}

/** Field-manager entries compared as a set: the server may list them in another order. */
function sameManagers(a: JsonObject, b: JsonObject): boolean {
  const key = (o: JsonObject) => ((meta(o).managedFields ?? []) as unknown[]).map((m) => JSON.stringify(m)).sort().join('\n');
  return key(a) === key(b);
}

/**
 * The saved object as an update of `live`: its resourceVersion makes the PUT conditional (and
 * is required for custom resources, CRDs, webhook configurations and PDBs). The saved
 * managedFields go along: the API server takes managedFields from an update's body, so
 * ownership returns to what it was instead of to whoever restores.
 */
function asUpdateOf(saved: JsonObject, live: JsonObject): JsonObject {
  const managedFields = meta(saved).managedFields as unknown[] | undefined;
  return {
    ...saved,
    metadata: {
      ...meta(saved),
      resourceVersion: meta(live).resourceVersion,
      // An empty list would mean "keep the live ones"; [{}] asks the server to clear them.
      managedFields: managedFields?.length ? managedFields : [{}],
    },
  };
}

function asCreate(saved: JsonObject): JsonObject {
  const { resourceVersion: _rv, uid: _uid, creationTimestamp: _ct, generation: _g, selfLink: _sl, deletionTimestamp: _dt, deletionGracePeriodSeconds: _dg, ...rest } = meta(saved);
  return { ...saved, metadata: rest };
}

type RestoreOutcome = 'content' | 'managers' | 'recreated' | 'unchanged';

async function restore(client: KubeClient, ref: ObjectRef, saved: JsonObject): Promise<RestoreOutcome> {
  for (let attempt = 1; ; attempt++) {
    try {
      const live = await client.get(ref);
      if (!live) {
        await client.create(asCreate(saved));
        return 'recreated';
      }
      if (meta(saved).uid && meta(live).uid && meta(saved).uid !== meta(live).uid) {
        throw new Error('someone deleted and re-created it during the deploy; left as it is');
      }
      const contentChanged = changedFields(saved, live).length > 0;
      let current = live;
      // A content change makes the restoring manager own the fields it put back; the second
      // PUT (content now equal) hands them back to the managers saved with the object.
      if (contentChanged) current = await client.replace(asUpdateOf(saved, current));
      if (sameManagers(saved, current)) return contentChanged ? 'content' : 'unchanged';
      await client.replace(asUpdateOf(saved, current));
      return contentChanged ? 'content' : 'managers';
    } catch (e) {
      // Someone (a controller, our own webhook) wrote in between: read again and retry.
      if (e instanceof KubeError && e.status === 409 && attempt < RETRIES_ON_CONFLICT) continue;
      throw e;
    }
  }
}

async function undoCreate(client: KubeClient, entry: JournalEntry, report: RollbackReport, log: Log): Promise<void> {
  const name = describeRef(entry.ref);
  try {
    if (!(await client.delete(entry.ref))) {
      if (entry.confirmed) log(`  ${name} was already gone`);
      return;
    }
    // Finalized kinds: wait, so a retry does not run into a terminating object.
    if ((entry.ref.kind === 'Namespace' || entry.ref.kind === 'CustomResourceDefinition') && !(await client.waitGone(entry.ref, 60_000))) {
      log(`  ${name} is still terminating`);
    }
    report.deleted.push(entry.ref);
    log(`  rolled back: deleted ${name}`);
  } catch (e) {
    report.failures.push(`${name}: could not delete it (${reason(e)})`);
    log(`  rollback could not delete ${name}: ${reason(e)}`);
  }
}

async function undoUpdate(client: KubeClient, entry: JournalEntry, saved: JsonObject, report: RollbackReport, log: Log): Promise<void> {
  const name = describeRef(entry.ref);
  try {
    const outcome = await restore(client, entry.ref, saved);
    if (outcome === 'unchanged') return;
    report.restored.push(entry.ref);
    log(
      outcome === 'content'
        ? `  rolled back: restored ${name} to its previous version`
        : outcome === 'managers'
          ? `  rolled back: gave the fields of ${name} back to their previous field managers (its content was unchanged)`
          : `  rolled back: re-created ${name} as it was (it had been deleted since the deploy changed it)`,
    );
  } catch (e) {
    report.failures.push(`${name}: could not restore its previous version (${reason(e)})`);
    log(`  rollback could not restore ${name}: ${reason(e)}`);
  }
}

/** Undoes every journal entry; a step that fails is reported and the rest still run. */
export async function rollback(client: KubeClient, journal: DeployJournal, log: Log): Promise<RollbackReport> {
  const report: RollbackReport = { deleted: [], restored: [], failures: [] };
  const newestFirst = [...journal.entries].reverse();
  const rest = newestFirst.filter((e) => e.phase !== 'webhooks');
  const order = [...newestFirst.filter((e) => e.phase === 'webhooks'), ...rest.filter((e) => !e.previous), ...rest.filter((e) => e.previous)];
  for (const entry of order) {
    if (entry.previous) await undoUpdate(client, entry, entry.previous, report, log);
    else await undoCreate(client, entry, report, log);
  }
  if (report.failures.length) {
    log(`Rollback incomplete: ${report.failures.length} object(s) are not as they were before this deploy:`);
    for (const f of report.failures) log(`  - ${f}`);
  }
  return report;
}
