/**
 * Prometheus text exposition with Kyverno's metric names and labels (pkg/metrics), so
 * Kyverno's Grafana dashboards and alerts work unchanged:
 * - `kyverno_admission_requests_total` and `kyverno_admission_review_duration_seconds`
 *   {resource_kind, resource_namespace, resource_request_operation, request_allowed}
 *   (pkg/metrics/admission.go), one count per review answered, as Kyverno counts per handler;
 * - `kyverno_policy_results_total` {policy_validation_mode, policy_type, policy_background_mode,
 *   policy_namespace, policy_name, resource_kind, resource_namespace, resource_request_operation,
 *   rule_name, rule_result, rule_type, rule_execution_cause, dry_run} and the histogram
 *   `kyverno_policy_execution_duration_seconds` with the same labels, one observation per rule
 *   result of a ClusterPolicy or Policy (pkg/metrics/policy_engine.go RecordResponse);
 * - the CEL policies' own families, `kyverno_{validating,image_validating,mutating,generating}_policy_results_total`
 *   and `..._execution_duration_seconds` (pkg/metrics/{vpol,ivpol,mpol,gpol}.go, recorded by the
 *   engines' metric wrappers in pkg/cel/policies/<kind>/engine/metrics.go): one observation per
 *   policy, its first rule result's status; {policy_validation_mode ("Deny"/"Audit"; not for
 *   mutating and generating), policy_background_mode (not for generating), policy_name,
 *   policy_namespace ("" for cluster-wide ones), resource_kind, resource_namespace,
 *   resource_request_operation, execution_cause, result}; generating policies only from the
 *   background controller, always execution_cause="background_scan";
 * - `kyverno_policy_changes_total` {policy_validation_mode, policy_type, policy_background_mode,
 *   policy_namespace, policy_name, policy_change_type} (pkg/controllers/metrics/policy), and the
 *   gauge `kyverno_policy_rule_info_total` {rule_name, rule_type, policy_namespace, policy_name,
 *   status_ready, policy_validation_mode, policy_type, policy_background_mode}, 1 per rule (autogen
 *   rules included) of each ClusterPolicy and Policy in the cluster, observed at each scrape
 *   (pkg/metrics/policy_rule.go); both for ClusterPolicies and Policies only, as in Kyverno;
 * - histogram buckets are Kyverno's default bucketBoundaries (pkg/config/metricsconfig.go);
 * - `process_*` and `nodejs_*` of the pod (the primary plus its server processes, summed).
 * Answers that never reached a policy (bad bodies, 503 before policies, 504) have no request
 * labels to give; they are counted in `kyverno_studio_webhook_responses_total{path,code}`.
 */

import type { JsonObject } from '../engine/core/types';
import { asObject, isJsonObject, jsonEqual } from '../engine/core/json';
import { isBackground, isClassicPolicy, normalizeFailureAction, policySpec } from '../engine/policy';
import { computedRules } from '../engine/autogen';

/** Kyverno's default histogram boundaries (seconds). */
const BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 20, 25, 30];

/**
 * The family a policy's results are counted in: `kyverno_policy` for ClusterPolicies and
 * Policies, the CEL kinds' own (Kyverno's CEL engines never reach RecordResponse).
 */
export type ResultFamily = 'kyverno_policy' | 'kyverno_validating_policy' | 'kyverno_image_validating_policy' | 'kyverno_mutating_policy' | 'kyverno_generating_policy';

/** One rule result (a CEL policy: its result) with what Kyverno labels it by. */
export interface RuleOutcome {
  /** Absent: kyverno_policy. */
  family?: ResultFamily;
  policy: string;
  /** '' for cluster-wide policies (Kyverno writes "-" in the kyverno_policy family, "" in the CEL ones). */
  policyNamespace?: string;
  /** '' for CEL policies (their families have no rule labels). */
  rule: string;
  status: string;
  /** validate, mutate, generate, imageVerify, or "-" */
  ruleType?: string;
  /** 'enforce' | 'audit'; a CEL policy's 'Deny' | 'Audit', absent for the families without the label. */
  validationMode?: string;
  /** 'true' | 'false'; absent for the generating family, which has no such label. */
  backgroundMode?: string;
}

/** The resource labels of one result recorded outside a review (the background controller's). */
export interface ResourceLabels {
  kind: string;
  namespace: string;
  /** As the request gave it (Kyverno lower-cases it). */
  operation: string;
}

/** The request labels of an answered review. */
export interface RequestLabels {
  kind: string;
  namespace: string;
  /** Lower case, as Kyverno labels it: create, update, delete, connect. */
  operation: string;
  allowed: boolean;
  dryRun?: boolean;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** `name="value",…` without the braces: label values escaped. */
function pairsText(names: readonly string[], values: readonly string[]): string {
  return names.map((name, i) => `${name}="${escapeLabel(values[i])}"`).join(',');
}


/** Resource usage of one process, summed over the pod's processes. */
export interface ProcessStats {
  cpuUserSeconds: number;
  cpuSystemSeconds: number;
  residentBytes: number;
  heapTotalBytes: number;
  heapUsedBytes: number;
  externalBytes: number;
}

export function processStats(): ProcessStats {
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  return { cpuUserSeconds: cpu.user / 1e6, cpuSystemSeconds: cpu.system / 1e6, residentBytes: mem.rss, heapTotalBytes: mem.heapTotal, heapUsedBytes: mem.heapUsed, externalBytes: mem.external };
}

/** The observations of one results series: its count is the counter, count, sum and buckets the histogram. */
export interface SeriesStats {
  count: number;
  sum: number;
  /** Observations per bucket, not cumulative: [i] for the first boundary ≥ the value, the last for +Inf. */
  buckets: number[];
}

/** The counters of one process, as plain data (sent between processes and summed). */
export interface MetricsSnapshot {
  requests: Array<[string, number]>;
  /** Keyed by the family and its label text (`kyverno_policy{…}`). */
  results: Array<[string, SeriesStats]>;
  buckets: Array<[string, number[]]>;
  sums: Array<[string, number]>;
  responses: Array<[string, number]>;
  /** kyverno_policy_changes_total, by label text. */
  changes?: Array<[string, number]>;
  /** kyverno_policy_rule_info_total now (a gauge: the latest snapshot that has it replaces it). */
  ruleInfo?: string[];
  process?: ProcessStats;
}

function addInto<V>(target: Map<string, V>, entries: Array<[string, V]>, add: (a: V, b: V) => V): void {
  for (const [k, v] of entries) {
    const prev = target.get(k);
    target.set(k, prev === undefined ? v : add(prev, v));
  }
}

const plus = (a: number, b: number) => a + b;
const plusEach = (a: number[], b: number[]) => a.map((x, i) => x + (b[i] ?? 0));
const plusStats = (a: SeriesStats, b: SeriesStats): SeriesStats => ({ count: a.count + b.count, sum: a.sum + b.sum, buckets: plusEach(a.buckets, b.buckets) });
const copyStats = (s: SeriesStats): SeriesStats => ({ count: s.count, sum: s.sum, buckets: [...s.buckets] });
const RULE_TYPES: Record<string, string> = { Validation: 'validate', Mutation: 'mutate', Generation: 'generate', ImageVerify: 'imageVerify' };

/** Kyverno's rule_type label for our rule types. */
export function metricRuleType(type: string): string {
  return RULE_TYPES[type] ?? '-';
}

/** The bucket index of one observation (rules mostly take well under the first boundary). */
function bucketOf(seconds: number): number {
  let i = 0;
  while (i < BUCKETS_SECONDS.length && seconds > BUCKETS_SECONDS[i]) i++;
  return i;
}

// Label names of each series family, in Kyverno's order (values are passed in the same order).
const RESPONSE_LABELS = ['path', 'code'] as const;
const REQUEST_LABELS = ['resource_kind', 'resource_namespace', 'resource_request_operation', 'request_allowed'] as const;
// kyverno_policy_results_total's labels, in four runs: the policy's, the request's, the rule's, and the cause.
const RESULT_POLICY_LABELS = ['policy_validation_mode', 'policy_type', 'policy_background_mode', 'policy_namespace', 'policy_name'] as const;
const RESULT_RESOURCE_LABELS = ['resource_kind', 'resource_namespace', 'resource_request_operation'] as const;
const RESULT_RULE_LABELS = ['rule_name', 'rule_result', 'rule_type'] as const;
const CHANGE_LABELS = [...RESULT_POLICY_LABELS, 'policy_change_type'] as const;
const RULE_INFO_LABELS = ['rule_name', 'rule_type', 'policy_namespace', 'policy_name', 'status_ready', 'policy_validation_mode', 'policy_type', 'policy_background_mode'] as const;

/** The labels of one rule outcome, around the request's: `{policy,resource,rule,cause}` is the series. */
interface OutcomeSeries {
  family: ResultFamily;
  /** policy_validation_mode … policy_name (a CEL family: its policy labels) */
  policy: string;
  /** rule_name, rule_result, rule_type (a CEL family: result) */
  rule: string;
}

/** The rule results of the reviews with one request label tuple, counted per outcome series. */
interface ResultGroup {
  /** resource_kind, resource_namespace, resource_request_operation */
  resource: string;
  /** rule_execution_cause (execution_cause in the CEL families) */
  cause: string;
  dryRun: string;
  stats: Map<OutcomeSeries, SeriesStats>;
}

/** The label text of a series of `group`: the families differ in their labels after the resource's. */
function seriesLabels(s: OutcomeSeries, g: ResultGroup): string {
  return s.family === 'kyverno_policy'
    ? `{${s.policy},${g.resource},${s.rule},rule_execution_cause="${g.cause}",dry_run="${g.dryRun}"}`
    : `{${s.policy},${g.resource},execution_cause="${g.cause}",${s.rule}}`;
}

/** Bound of the label caches (label values come from requests); counting stays exact past it. */
const CACHE_LIMIT = 10_000;

export class WebhookMetrics {
  private requests = new Map<string, number>();
  /** Summed in from other processes' snapshots (the primary); this process's own are in resultGroups. */
  private results = new Map<string, SeriesStats>();
  private buckets = new Map<string, number[]>();
  private sums = new Map<string, number>();
  private responses = new Map<string, number>();
  private changes = new Map<string, number>();
  private ruleInfo: string[] | undefined;
  /** The ClusterPolicies and Policies in the cluster, read at each snapshot (Kyverno observes its listers at each scrape). */
  private ruleInfoPolicies: (() => readonly JsonObject[]) | undefined;
  private processes: ProcessStats | undefined;
  /** Label texts are built once per distinct value tuple: this runs for every request. */
  private keys = new Map<string, string>();
  /**
   * Rule results, by request label tuple and then outcome series: a review adds one observation
   * per rule, so no per-rule label text is built (the full texts are joined for snapshots and
   * /metrics). Callers that pass the same RuleOutcome objects again (webhook/evaluate.ts keeps
   * one per policy and result) find their series by identity.
   */
  private resultGroups = new Map<string, ResultGroup>();
  private seriesOf = new WeakMap<RuleOutcome, OutcomeSeries>();
  private seriesById = new Map<string, OutcomeSeries>();

  /** The label text of one series: cached by its family's first label name and the values. */
  private key(names: readonly string[], values: string[]): string {
    const id = `${names[0]}\u0000${values.join('\u0000')}`;
    let key = this.keys.get(id);
    if (key === undefined) {
      key = `{${pairsText(names, values)}}`;
      if (this.keys.size < CACHE_LIMIT) this.keys.set(id, key);
    }
    return key;
  }

  private outcomeSeries(o: RuleOutcome): OutcomeSeries {
    let series = this.seriesOf.get(o);
    if (series) return series;
    const family = o.family ?? 'kyverno_policy';
    let policy: string[];
    let names: string[];
    let rule: string;
    if (family === 'kyverno_policy') {
      policy = [o.validationMode ?? 'audit', o.policyNamespace ? 'namespaced' : 'cluster', o.backgroundMode ?? 'true', o.policyNamespace || '-', o.policy];
      names = [...RESULT_POLICY_LABELS];
      rule = pairsText(RESULT_RULE_LABELS, [o.rule, o.status, o.ruleType ?? '-']);
    } else {
      // vpol.go/ivpol.go have the validation mode, mpol.go not, gpol.go neither it nor the background mode.
      policy = [];
      names = [];
      if (o.validationMode !== undefined) (names.push('policy_validation_mode'), policy.push(o.validationMode));
      if (o.backgroundMode !== undefined) (names.push('policy_background_mode'), policy.push(o.backgroundMode));
      names.push('policy_name', 'policy_namespace');
      policy.push(o.policy, o.policyNamespace ?? '');
      rule = pairsText(['result'], [o.status]);
    }
    const id = `${family}\u0000${names.join(',')}\u0000${policy.join('\u0000')}\u0000${rule}`;
    series = this.seriesById.get(id);
    if (!series) {
      series = { family, policy: pairsText(names, policy), rule };
      if (this.seriesById.size < CACHE_LIMIT) this.seriesById.set(id, series);
    }
    this.seriesOf.set(o, series);
    return series;
  }

  private resultGroup(kind: string, namespace: string, operation: string, cause: string, dryRun: string): ResultGroup {
    const id = `${kind}\u0000${namespace}\u0000${operation}\u0000${cause}\u0000${dryRun}`;
    let group = this.resultGroups.get(id);
    if (!group) {
      group = { resource: pairsText(RESULT_RESOURCE_LABELS, [kind, namespace, operation]), cause, dryRun, stats: new Map() };
      this.resultGroups.set(id, group);
    }
    return group;
  }

  /** Every results series with its observations: summed-in ones and this process's, keyed `family{labels}`. */
  private resultEntries(): Array<[string, SeriesStats]> {
    const all = new Map<string, SeriesStats>();
    for (const [k, v] of this.results) all.set(k, copyStats(v));
    for (const g of this.resultGroups.values()) {
      for (const [s, n] of g.stats) {
        const key = s.family + seriesLabels(s, g);
        const prev = all.get(key);
        all.set(key, prev ? plusStats(prev, n) : copyStats(n));
      }
    }
    return [...all];
  }

  /** Adds one observation of `series` to `group`. */
  private observe(group: ResultGroup, series: OutcomeSeries, seconds: number): void {
    let stats = group.stats.get(series);
    if (!stats) group.stats.set(series, (stats = { count: 0, sum: 0, buckets: new Array<number>(BUCKETS_SECONDS.length + 1).fill(0) }));
    stats.count++;
    stats.sum += seconds;
    stats.buckets[bucketOf(seconds)]++;
  }

  /**
   * One answered review. `request` is absent when the body never became a request (then only
   * the response counter moves); `cause` says whether admission or a background scan ran the
   * rules; `outcomeSeconds[i]` is how long outcome i's rule took (0 when not given).
   */
  recordRequest(path: string, code: number, request: RequestLabels | undefined, seconds: number, outcomes: RuleOutcome[], cause: 'admission_request' | 'background_scan' = 'admission_request', outcomeSeconds?: readonly number[]): void {
    // Reviews in a row mostly share their labels: the last ones' texts are reused without joining.
    let last = this.lastResponse;
    if (last.path !== path || last.code !== code) this.lastResponse = last = { path, code, key: this.key(RESPONSE_LABELS, [path, String(code)]) };
    this.responses.set(last.key, (this.responses.get(last.key) ?? 0) + 1);
    if (!request) return;
    const labels = this.requestLabels(request, cause);
    if (cause === 'admission_request') {
      const key = labels.key;
      this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
      let counts = this.buckets.get(key);
      if (!counts) this.buckets.set(key, (counts = new Array<number>(BUCKETS_SECONDS.length).fill(0)));
      for (let i = 0; i < BUCKETS_SECONDS.length; i++) if (seconds <= BUCKETS_SECONDS[i]) counts[i]++;
      this.sums.set(key, (this.sums.get(key) ?? 0) + seconds);
    }
    for (let i = 0; i < outcomes.length; i++) this.observe(labels.group, this.outcomeSeries(outcomes[i]), outcomeSeconds?.[i] ?? 0);
  }

  /**
   * One result the background controller got (a GeneratingPolicy's generation), with what it
   * ran on and how long it took; Kyverno's gpol wrapper counts those as background_scan.
   */
  recordResult(outcome: RuleOutcome, resource: ResourceLabels, seconds: number): void {
    this.observe(this.resultGroup(resource.kind, resource.namespace, resource.operation.toLowerCase(), 'background_scan', 'false'), this.outcomeSeries(outcome), seconds);
  }

  /**
   * A ClusterPolicy or Policy event, as Kyverno's policy metrics controller counts it: a new
   * policy `created` (the initial listing included, as an informer's adds), a deleted one
   * `deleted`, and an update whose spec changed `updated` with the old policy's labels, and
   * again with the new one's when its background or enforce mode changed. Other kinds: nothing.
   */
  recordPolicyChange(next: JsonObject | undefined, previous: JsonObject | undefined): void {
    const policy = next ?? previous;
    if (!policy || !isClassicPolicy(policy)) return;
    const record = (p: JsonObject, type: string) => {
      const info = classicPolicyInfo(p);
      const key = `{${pairsText(CHANGE_LABELS, [info.validationMode, info.type, info.background, info.namespace, info.name, type])}}`;
      this.changes.set(key, (this.changes.get(key) ?? 0) + 1);
    };
    if (!previous) return record(policy, 'created');
    if (!next) return record(previous, 'deleted');
    if (jsonEqual(next.spec ?? null, previous.spec ?? null)) return;
    record(previous, 'updated');
    const [a, b] = [classicPolicyInfo(previous), classicPolicyInfo(next)];
    // Kyverno compares the spec-level action here (ValidationFailureAction.Enforce()), not the rules'.
    if (a.background !== b.background || specEnforces(previous) !== specEnforces(next)) record(next, 'updated');
  }

  /** Where kyverno_policy_rule_info_total reads the ClusterPolicies and Policies in the cluster at each snapshot. */
  observeRuleInfo(policies: () => readonly JsonObject[]): void {
    this.ruleInfoPolicies = policies;
  }

  private lastResponse = { path: '', code: 0, key: '' };
  private lastRequest: { kind: string; namespace: string; operation: string; allowed: boolean; dryRun: boolean; cause: string; key: string; group: ResultGroup } | undefined;

  /** The request series' label text and the result group of `request` (the last ones again when the labels are the same). */
  private requestLabels(request: RequestLabels, cause: 'admission_request' | 'background_scan'): { key: string; group: ResultGroup } {
    const last = this.lastRequest;
    const dryRun = request.dryRun === true;
    if (last && last.kind === request.kind && last.namespace === request.namespace && last.operation === request.operation && last.allowed === request.allowed && last.dryRun === dryRun && last.cause === cause) return last;
    const operation = request.operation.toLowerCase();
    const key = this.key(REQUEST_LABELS, [request.kind, request.namespace, operation, String(request.allowed)]);
    const group = this.resultGroup(request.kind, request.namespace, operation, cause, String(dryRun));
    this.lastRequest = { kind: request.kind, namespace: request.namespace, operation: request.operation, allowed: request.allowed, dryRun, cause, key, group };
    return this.lastRequest;
  }

  /** `withProcess`: a server process sends its resource usage along (accumulators do not). */
  snapshot(withProcess = false): MetricsSnapshot {
    return {
      requests: [...this.requests],
      results: this.resultEntries(),
      buckets: [...this.buckets].map(([k, v]) => [k, [...v]]),
      sums: [...this.sums],
      responses: [...this.responses],
      ...(this.changes.size ? { changes: [...this.changes] } : {}),
      ...(this.ruleInfoPolicies ? { ruleInfo: ruleInfoSeries(this.ruleInfoPolicies()) } : this.ruleInfo ? { ruleInfo: [...this.ruleInfo] } : {}),
      process: withProcess ? processStats() : undefined,
    };
  }

  /** Adds another process's counters to these (the primary sums its server processes). */
  add(s: MetricsSnapshot): void {
    addInto(this.requests, s.requests, plus);
    addInto(this.results, s.results.map(([k, v]) => [k, copyStats(v)]), plusStats);
    addInto(this.buckets, s.buckets.map(([k, v]) => [k, [...v]]), plusEach);
    addInto(this.sums, s.sums, plus);
    addInto(this.responses, s.responses ?? [], plus);
    addInto(this.changes, s.changes ?? [], plus);
    if (s.ruleInfo) this.ruleInfo = [...s.ruleInfo];
    if (s.process) this.addProcess(s.process);
  }

  /** Resource usage of a process to include in `process_*` / `nodejs_*`. */
  addProcess(p: ProcessStats): void {
    const q = this.processes;
    this.processes = q
      ? {
          cpuUserSeconds: q.cpuUserSeconds + p.cpuUserSeconds,
          cpuSystemSeconds: q.cpuSystemSeconds + p.cpuSystemSeconds,
          residentBytes: q.residentBytes + p.residentBytes,
          heapTotalBytes: q.heapTotalBytes + p.heapTotalBytes,
          heapUsedBytes: q.heapUsedBytes + p.heapUsedBytes,
          externalBytes: q.externalBytes + p.externalBytes,
        }
      : { ...p };
  }

  render(): string {
    const out: string[] = [];
    const family = (name: string, type: string, help: string) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    family('kyverno_admission_requests_total', 'counter', 'can be used to track the number of admission requests encountered by Kyverno in the cluster');
    for (const [k, v] of this.requests) out.push(`kyverno_admission_requests_total${k} ${v}`);
    family('kyverno_admission_review_duration_seconds', 'histogram', 'can be used to track the latencies (in seconds) associated with the entire individual admission review');
    for (const [key, counts] of this.buckets) {
      const inner = key.slice(1, -1);
      BUCKETS_SECONDS.forEach((le, i) => out.push(`kyverno_admission_review_duration_seconds_bucket{${inner},le="${le}"} ${counts[i]}`));
      const total = this.requests.get(key) ?? 0;
      out.push(`kyverno_admission_review_duration_seconds_bucket{${inner},le="+Inf"} ${total}`);
      out.push(`kyverno_admission_review_duration_seconds_sum${key} ${this.sums.get(key)}`);
      out.push(`kyverno_admission_review_duration_seconds_count${key} ${total}`);
    }
    // Each family's series, in first-seen order; the histogram shares the counter's labels.
    const byFamily = new Map<ResultFamily, Array<[string, SeriesStats]>>(RESULT_FAMILIES.map((f) => [f.family, []]));
    for (const [key, stats] of this.resultEntries()) {
      const at = key.indexOf('{');
      byFamily.get(key.slice(0, at) as ResultFamily)?.push([key.slice(at), stats]);
    }
    for (const f of RESULT_FAMILIES) {
      const series = byFamily.get(f.family)!;
      family(`${f.family}_results_total`, 'counter', f.results);
      for (const [labels, stats] of series) out.push(`${f.family}_results_total${labels} ${stats.count}`);
      const histogram = `${f.family}_execution_duration_seconds`;
      family(histogram, 'histogram', f.duration);
      for (const [labels, stats] of series) {
        const inner = labels.slice(1, -1);
        let cumulative = 0;
        BUCKETS_SECONDS.forEach((le, i) => out.push(`${histogram}_bucket{${inner},le="${le}"} ${(cumulative += stats.buckets[i])}`));
        out.push(`${histogram}_bucket{${inner},le="+Inf"} ${stats.count}`);
        out.push(`${histogram}_sum${labels} ${stats.sum}`);
        out.push(`${histogram}_count${labels} ${stats.count}`);
      }
    }
    family('kyverno_policy_changes_total', 'counter', 'can be used to track all the changes associated with the Kyverno policies present on the cluster such as creation, updates and deletions');
    for (const [k, v] of this.changes) out.push(`kyverno_policy_changes_total${k} ${v}`);
    const ruleInfo = this.ruleInfoPolicies ? ruleInfoSeries(this.ruleInfoPolicies()) : this.ruleInfo;
    if (ruleInfo) {
      family('kyverno_policy_rule_info_total', 'gauge', "can be used to track the info of the rules or/and policies present in the cluster. 0 means the rule doesn't exist and has been deleted, 1 means the rule is currently existent in the cluster");
      for (const labels of ruleInfo) out.push(`kyverno_policy_rule_info_total${labels} 1`);
    }
    family('kyverno_studio_webhook_responses_total', 'counter', 'HTTP answers of the webhook by path and status code (including bad requests that never reached a policy)');
    for (const [k, v] of this.responses) out.push(`kyverno_studio_webhook_responses_total${k} ${v}`);
    const p = this.processes;
    if (p) {
      family('process_cpu_user_seconds_total', 'counter', 'Total user CPU time spent in seconds.');
      out.push(`process_cpu_user_seconds_total ${p.cpuUserSeconds}`);
      family('process_cpu_system_seconds_total', 'counter', 'Total system CPU time spent in seconds.');
      out.push(`process_cpu_system_seconds_total ${p.cpuSystemSeconds}`);
      family('process_cpu_seconds_total', 'counter', 'Total user and system CPU time spent in seconds.');
      out.push(`process_cpu_seconds_total ${p.cpuUserSeconds + p.cpuSystemSeconds}`);
      family('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.');
      out.push(`process_resident_memory_bytes ${p.residentBytes}`);
      family('process_start_time_seconds', 'gauge', 'Start time of the process since unix epoch in seconds.');
      out.push(`process_start_time_seconds ${Math.round(Date.now() / 1000 - process.uptime())}`);
      family('nodejs_heap_size_total_bytes', 'gauge', 'Process heap size from Node.js in bytes.');
      out.push(`nodejs_heap_size_total_bytes ${p.heapTotalBytes}`);
      family('nodejs_heap_size_used_bytes', 'gauge', 'Process heap size used from Node.js in bytes.');
      out.push(`nodejs_heap_size_used_bytes ${p.heapUsedBytes}`);
      family('nodejs_external_memory_bytes', 'gauge', 'Node.js external memory size in bytes.');
      out.push(`nodejs_external_memory_bytes ${p.externalBytes}`);
      family('nodejs_version_info', 'gauge', 'Node.js version info.');
      const [major, minor, patch] = process.versions.node.split('.');
      out.push(`nodejs_version_info{version="v${process.versions.node}",major="${major}",minor="${minor}",patch="${patch}"} 1`);
    }
    return out.join('\n') + '\n';
  }
}

/** The results families with Kyverno's descriptions (pkg/metrics/policy_engine.go, vpol.go, ivpol.go, mpol.go, gpol.go). */
const RESULT_FAMILIES: ReadonlyArray<{ family: ResultFamily; results: string; duration: string }> = [
  { family: 'kyverno_policy', results: "can be used to track the results associated with the policies applied in the user's cluster, at the level from rule to policy to admission requests", duration: 'can be used to track the latencies (in seconds) associated with the execution/processing of the individual rules under Kyverno policies whenever they evaluate incoming resource requests' },
  { family: 'kyverno_validating_policy', results: "can be used to track the results associated with the validating policies applied in the user's cluster, at the level from rule to policy to admission requests.", duration: 'can be used to track the latencies (in seconds) associated with the execution/processing of individual validation policies when they evaluate incoming resource requests.' },
  { family: 'kyverno_image_validating_policy', results: "can be used to track the results associated with the image validating policies applied in the user's cluster, at the level from rule to policy to admission requests.", duration: 'can be used to track the latencies (in seconds) associated with the execution/processing of individual validation policies when they evaluate incoming resource requests.' },
  { family: 'kyverno_mutating_policy', results: "can be used to track the results associated with the mutating policies applied in the user's cluster, at the level from rule to policy to admission requests.", duration: 'can be used to track the latencies (in seconds) associated with the execution/processing of individual mutating policies when they evaluate incoming resource requests.' },
  { family: 'kyverno_generating_policy', results: "can be used to track the results associated with the generating policies applied in the user's cluster, at the level from rule to policy to admission requests.", duration: 'can be used to track the latencies (in seconds) associated with the execution/processing of individual generating policies when they evaluate incoming resource requests.' },
];

/** Kyverno's ValidationFailureAction.Enforce() of the spec. */
function specEnforces(policy: JsonObject): boolean {
  return normalizeFailureAction(policySpec(policy).validationFailureAction) === 'Enforce';
}

/**
 * Kyverno's GetPolicyInfos as its metrics label a ClusterPolicy or Policy: the namespace "-"
 * for a ClusterPolicy, background unless `background: false`, enforce when the spec or a
 * validate rule's failureAction enforces (HasValidateEnforce).
 */
export function classicPolicyInfo(policy: JsonObject): { name: string; namespace: string; type: 'cluster' | 'namespaced'; background: string; validationMode: 'enforce' | 'audit' } {
  const metadata = asObject(policy.metadata);
  const namespaced = policy.kind === 'Policy';
  const rules = policySpec(policy).rules;
  const ruleEnforces = Array.isArray(rules) && rules.some((r) => isJsonObject(r) && isJsonObject(r.validate) && normalizeFailureAction(r.validate.failureAction) === 'Enforce');
  return {
    name: String(metadata.name ?? ''),
    namespace: namespaced ? String(metadata.namespace ?? '') : '-',
    type: namespaced ? 'namespaced' : 'cluster',
    background: String(isBackground(policy)),
    validationMode: ruleEnforces || specEnforces(policy) ? 'enforce' : 'audit',
  };
}

/** Kyverno's ParseRuleType: the first of validate, mutate, generate (when not empty) and verifyImages a rule has. */
function ruleInfoType(rule: JsonObject): string {
  const given = (v: unknown) => isJsonObject(v) && Object.keys(v).length > 0;
  if (given(rule.validate)) return 'validate';
  if (given(rule.mutate)) return 'mutate';
  if (given(rule.generate)) return 'generate';
  if (Array.isArray(rule.verifyImages) && rule.verifyImages.length > 0) return 'imageVerify';
  return '-';
}

/** Kyverno's PolicyStatus.IsReady: a Ready condition with status True. */
function statusReady(policy: JsonObject): boolean {
  const conditions = asObject(policy.status).conditions;
  return Array.isArray(conditions) && conditions.some((c) => isJsonObject(c) && c.type === 'Ready' && c.status === 'True');
}

/** The label texts of kyverno_policy_rule_info_total for `policies` (RecordPolicyRuleInfo: each rule autogen computes). */
export function ruleInfoSeries(policies: readonly JsonObject[]): string[] {
  const out: string[] = [];
  for (const policy of policies) {
    if (!isClassicPolicy(policy)) continue;
    const info = classicPolicyInfo(policy);
    const ready = String(statusReady(policy));
    for (const rule of computedRules(policy)) {
      out.push(`{${pairsText(RULE_INFO_LABELS, [String(rule.name ?? ''), ruleInfoType(rule), info.namespace, info.name, ready, info.validationMode, info.type, info.background])}}`);
    }
  }
  return out;
}
