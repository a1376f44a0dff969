/**
 * One "run policy against files" execution, as the results view, the CodeLens and the test
 * scaffolder see it. Pure (no vscode): evaluation goes through engine/evaluate (the path
 * `kyverno-studio apply` and the language server use), so the order (mutate policies first, then validate...) is the one
 * `kyverno-studio test` and the Kyverno CLI use.
 */
import type { JsonObject, RuleResult, RuleStatus } from '../../../engine/core/types';
import { evaluateResources, offlineCluster, type EngineResponse } from '../../../engine/evaluate';
import { withDefaultNamespace } from '../../../engine/testing';
import type { LocatedObject } from '../policies/documents';
import type { ResourceLocation } from '../yaml/locate';

/** A document read from a file, with the file it came from. */
export interface Sourced extends LocatedObject {
  /** URI string of the file. */
  file: string;
}

export interface RunInput {
  policies: Sourced[];
  resources: Sourced[];
  exceptions?: Sourced[];
  /** ValidatingAdmissionPolicyBinding / MutatingAdmissionPolicyBinding documents. */
  bindings?: Sourced[];
  now?: Date;
}

export interface ResourceRun {
  file: string;
  location: ResourceLocation;
  /** The resource as the engine saw it (default namespace filled in, as the CLI does). */
  resource: JsonObject;
  /** After every mutation of the run. */
  patched: JsonObject;
  responses: EngineResponse[];
}

export interface RunReport {
  title: string;
  policyFiles: string[];
  runs: ResourceRun[];
}

export function runPolicies(title: string, input: RunInput): RunReport {
  const resources = input.resources.map((r) => withDefaultNamespace(r.value));
  const cluster = offlineCluster({
    exceptions: (input.exceptions ?? []).map((e) => e.value),
    bindings: (input.bindings ?? []).map((b) => b.value),
    resources,
  });
  const evaluations = evaluateResources({ policies: input.policies.map((p) => p.value), resources, cluster, now: input.now });
  return {
    title,
    policyFiles: [...new Set(input.policies.map((p) => p.file))],
    runs: evaluations.map((ev, i) => ({
      file: input.resources[i].file,
      location: input.resources[i].location,
      resource: ev.resource,
      patched: ev.patched,
      responses: ev.responses,
    })),
  };
}

/** A rule result or a policy-level engine error, flattened for display. */
export interface ResultRow {
  policy: string;
  rule: string;
  status: RuleStatus;
  message: string;
  path?: Array<string | number>;
  result?: RuleResult;
}

export function rowsOf(run: ResourceRun): ResultRow[] {
  const rows: ResultRow[] = [];
  for (const r of run.responses) {
    if (r.error !== undefined) rows.push({ policy: r.policy.name, rule: '', status: 'error', message: r.error });
    for (const rule of r.rules) {
      rows.push({ policy: r.policy.name, rule: rule.name, status: rule.status, message: rule.message, path: rule.path, result: rule });
    }
  }
  return rows;
}

export type StatusCounts = Record<RuleStatus, number>;

export function countStatuses(rows: ResultRow[]): StatusCounts {
  const counts: StatusCounts = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
  for (const r of rows) counts[r.status]++;
  return counts;
}

/** `2 pass, 1 fail` — only the statuses that occurred, worst first. */
export function summarize(counts: StatusCounts): string {
  const order: RuleStatus[] = ['error', 'fail', 'warn', 'pass', 'skip'];
  const parts = order.filter((s) => counts[s] > 0).map((s) => `${counts[s]} ${s}`);
  return parts.length ? parts.join(', ') : 'no matching rules';
}

export function worstStatus(counts: StatusCounts): RuleStatus | undefined {
  return (['error', 'fail', 'warn', 'pass', 'skip'] as RuleStatus[]).find((s) => counts[s] > 0);
}

/** Whether the run changed the resource (any mutation applied). */
export function isMutated(run: ResourceRun): boolean {
  return JSON.stringify(run.resource) !== JSON.stringify(run.patched);
}

export function generatedOf(run: ResourceRun): JsonObject[] {
  return run.responses.flatMap((r) => r.rules.flatMap((rule) => rule.generatedResources ?? []));
}
